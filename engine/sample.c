/*
 * sample.c - greedy / temperature / top-k / top-p sampling with xoshiro256**.
 */
#include "sample.h"

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

struct cand {
    float p;
    int32_t id;
};

static int cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int32_t dsv4_sample(struct dsv4_sampler *s, const float *logits, int n)
{
    if (n <= 0) return -1;
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (logits[i] > logits[best]) best = i;
    if (s->temp <= 0) return best;
    struct cand *c = malloc((size_t)n * sizeof *c);
    if (!c) return -1;
    const float mx = logits[best];
    for (int i = 0; i < n; i++) c[i] = (struct cand){expf((logits[i] - mx) / s->temp), i};
    qsort(c, (size_t)n, sizeof *c, cand_cmp);
    int k = s->top_k > 0 && s->top_k < n ? s->top_k : n;
    double total = 0;
    for (int i = 0; i < k; i++) total += c[i].p;
    if (s->top_p > 0 && s->top_p < 1) {
        double acc = 0;
        for (int i = 0; i < k; i++) {
            acc += c[i].p;
            if (acc >= s->top_p * total) {
                k = i + 1;
                total = acc;
                break;
            }
        }
    }
    double u = (double)(next(s->s) >> 11) * 0x1p-53 * total, acc = 0;
    int32_t id = c[k - 1].id;
    for (int i = 0; i < k; i++) {
        acc += c[i].p;
        if (u < acc) {
            id = c[i].id;
            break;
        }
    }
    free(c);
    return id;
}
