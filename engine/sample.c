/*
 * sample.c - greedy / temperature / top-k / top-p sampling with xoshiro256**, on the host
 * (also the CPU backend's sample op). The definition is in sample.h; the arithmetic it
 * shares with the GPU in sample_math.h (this file is compiled with -ffp-contract=off).
 */
#include "sample.h"

#include "sample_math.h"

#include <math.h>
#include <stdlib.h>

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(uint64_t *s)
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

void dsv4_sampler_init(struct dsv4_sampler *s, float temp, int top_k, float top_p, uint64_t seed)
{
    s->temp = temp;
    s->top_k = top_k;
    s->top_p = top_p;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        s->s[i] = z ^ (z >> 31);
    }
}

uint64_t dsv4_sampler_draw(struct dsv4_sampler *s) { return s->temp > 0 ? next(s->s) >> 11 : 0; }

struct cand {
    uint32_t w;
    int32_t id;
};

static int cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->w != y->w) return x->w > y->w ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int32_t dsv4_sample_pick(const float *logits, int n, float temp, int top_k, float top_p, uint64_t draw)
{
    if (n <= 0 || n > DSV4_SAMPLE_MAX_N) return -1;
    int32_t best = 0;
    float mx = dsv4_sample_key(logits[0]);
    for (int i = 1; i < n; i++) {
        const float v = dsv4_sample_key(logits[i]);
        if (v > mx) {
            mx = v;
            best = i;
        }
    }
    if (!(temp > 0) || !isfinite(mx)) return best;
    /* the last kept candidate of the ranking: (0, -1) keeps every nonzero weight */
    uint32_t tw = 0;
    int32_t tid = -1;
    if (top_k > 0 || (top_p > 0 && top_p < 1)) {
        struct cand *c = malloc((size_t)n * sizeof *c);
        if (!c) return -1;
        /* zero weights rank last and add nothing: leaving them out changes no cut */
        int m = 0;
        for (int i = 0; i < n; i++) {
            const uint32_t w = dsv4_sample_weight(logits[i], mx, temp);
            if (w) c[m++] = (struct cand){w, i};
        }
        qsort(c, (size_t)m, sizeof *c, cand_cmp);
        int k = top_k > 0 && top_k < m ? top_k : m;
        uint64_t total = 0, acc = 0;
        for (int i = 0; i < k; i++) total += c[i].w;
        if (top_p > 0 && top_p < 1)
            for (int i = 0; i < k; i++) {
                acc += c[i].w;
                if (dsv4_sample_top_p_reached(acc, total, top_p)) {
                    k = i + 1;
                    break;
                }
            }
        tw = c[k - 1].w;
        tid = c[k - 1].id;
        free(c);
    }
    /* the kept tokens in id order (weights recomputed: the same bits) */
    uint64_t total = 0, acc = 0;
    for (int i = 0; i < n; i++) {
        const uint32_t w = dsv4_sample_weight(logits[i], mx, temp);
        if (dsv4_sample_kept(w, i, tw, tid)) total += w;
    }
    const uint64_t target = dsv4_sample_target(draw, total);
    for (int i = 0; i < n; i++) {
        const uint32_t w = dsv4_sample_weight(logits[i], mx, temp);
        if (dsv4_sample_kept(w, i, tw, tid) && (acc += w) > target) return i;
    }
    return best; /* not reached: the kept total exceeds the target */
}

int32_t dsv4_sample(struct dsv4_sampler *s, const float *logits, int n)
{
    if (n <= 0) return -1;
    return dsv4_sample_pick(logits, n, s->temp, s->top_k, s->top_p, dsv4_sampler_draw(s));
}
