/*
 * test_sample.c - token sampling (sample.h) and the CPU backend's sample op: greedy ties,
 * the integer weights and their exp, the exact draw position, top-k / top-p restriction,
 * frequencies against the softmax, seeds, and sampling on the backend after a forward pass
 * against sampling the host copy of the same logits.
 */
#include "fixtures.h"

#include "backend.h"
#include "forward.h"
#include "sample.h"
#include "sample_math.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t DRAW_MAX = (1ull << 53) - 1;

Test(sample, greedy_takes_the_highest_logit_and_the_lowest_id_on_ties)
{
    const float a[] = {1, 3, 3, 2}, b[] = {NAN, 1, 2, NAN}, c[] = {-INFINITY, -INFINITY}, d[] = {NAN, NAN};
    cr_assert_eq(dsv4_sample_pick(a, 4, 0, 0, 1, 0), 1);
    cr_assert_eq(dsv4_sample_pick(b, 4, 0, 0, 1, 0), 2, "NaN counts as -inf");
    cr_assert_eq(dsv4_sample_pick(c, 2, 0, 0, 1, 0), 0);
    cr_assert_eq(dsv4_sample_pick(d, 2, 0.8f, 0, 1, 12345), 0, "no finite logit: greedy");
    const float e[] = {0, INFINITY, 5};
    cr_assert_eq(dsv4_sample_pick(e, 3, 0.8f, 0, 1, DRAW_MAX), 1, "an infinite maximum is taken greedily");
    struct dsv4_sampler s;
    dsv4_sampler_init(&s, 0, 0, 1, 9);
    uint64_t before[4];
    memcpy(before, s.s, sizeof before);
    for (int i = 0; i < 10; i++) cr_assert_eq(dsv4_sample(&s, a, 4), 1);
    cr_assert_eq(memcmp(before, s.s, sizeof before), 0, "greedy sampling does not advance the generator");
}

Test(sample, rejects_empty_and_oversized_vocabularies)
{
    const float a[] = {1};
    cr_assert_eq(dsv4_sample_pick(a, 0, 1, 0, 1, 0), -1);
    cr_assert_eq(dsv4_sample_pick(a, -3, 1, 0, 1, 0), -1);
    cr_assert_eq(dsv4_sample_pick(a, DSV4_SAMPLE_MAX_N + 1, 1, 0, 1, 0), -1);
    struct dsv4_sampler s;
    dsv4_sampler_init(&s, 1, 0, 1, 1);
    cr_assert_eq(dsv4_sample(&s, a, 0), -1);
}

Test(sample, weights_are_exp_in_fixed_point)
{
    cr_assert_eq(dsv4_sample_weight(2.5f, 2.5f, 0.7f), DSV4_SAMPLE_ONE, "the maximum weighs exactly 2^30");
    cr_assert_eq(dsv4_sample_weight(-INFINITY, 1.0f, 1.0f), 0u);
    cr_assert_eq(dsv4_sample_weight(NAN, 1.0f, 1.0f), 0u);
    cr_assert_eq(dsv4_sample_weight(-40.0f, 0.0f, 1.0f), 0u);
    uint64_t r = 5;
    for (int i = 0; i < 200000; i++) {
        const float x = -25.0f * (float)(t_rand(&r) >> 40) * 0x1p-24f, temp = 0.25f + (float)(i % 7);
        const uint32_t w = dsv4_sample_weight(x * temp, 0.0f, temp);
        const double want = ldexp(exp((double)((x * temp) / temp)), 30);
        cr_assert(fabs((double)w - want) <= 1.0 + 3e-7 * want, "x %g temp %g: weight %u, exp gives %.1f", x, temp, w,
                  want);
    }
}

Test(sample, draw_position_is_exact)
{
    uint64_t r = 11;
    for (int i = 0; i < 100000; i++) {
        const uint64_t draw = t_rand(&r) >> 11, total = (t_rand(&r) >> (11 + i % 40)) + 1;
        const unsigned __int128 p = (unsigned __int128)draw * total;
        cr_assert_eq(dsv4_sample_target(draw, total), (uint64_t)(p >> 53), "draw %llu total %llu",
                     (unsigned long long)draw, (unsigned long long)total);
        cr_assert_lt(dsv4_sample_target(draw, total), total);
    }
    cr_assert_eq(dsv4_sample_target(0, 12345), 0u);
    cr_assert_eq(dsv4_sample_target(DRAW_MAX, 1ull << 40), (1ull << 40) - 1);
}

Test(sample, the_draw_walks_the_kept_tokens_in_id_order)
{
    /* probabilities 0.2, 0.5, 0.3: cumulative in id order 0.2, 0.7, 1.0 */
    const float l[] = {logf(0.2f), logf(0.5f), logf(0.3f)};
    cr_assert_eq(dsv4_sample_pick(l, 3, 1, 0, 1, 0), 0, "draw 0: the first id");
    cr_assert_eq(dsv4_sample_pick(l, 3, 1, 0, 1, (uint64_t)(0.19 * 0x1p53)), 0);
    cr_assert_eq(dsv4_sample_pick(l, 3, 1, 0, 1, (uint64_t)(0.21 * 0x1p53)), 1);
    cr_assert_eq(dsv4_sample_pick(l, 3, 1, 0, 1, (uint64_t)(0.69 * 0x1p53)), 1);
    cr_assert_eq(dsv4_sample_pick(l, 3, 1, 0, 1, (uint64_t)(0.71 * 0x1p53)), 2);
    cr_assert_eq(dsv4_sample_pick(l, 3, 1, 0, 1, DRAW_MAX), 2, "the largest draw: the last id");
    /* top-k 2 and top-p 0.6 keep tokens 1 and 2 (0.5 + 0.3): cumulative 0.625, 1.0 */
    for (int c = 0; c < 2; c++) {
        const int k = c ? 0 : 2;
        const float p = c ? 0.6f : 1;
        cr_assert_eq(dsv4_sample_pick(l, 3, 1, k, p, 0), 1);
        cr_assert_eq(dsv4_sample_pick(l, 3, 1, k, p, (uint64_t)(0.6 * 0x1p53)), 1);
        cr_assert_eq(dsv4_sample_pick(l, 3, 1, k, p, (uint64_t)(0.65 * 0x1p53)), 2);
        cr_assert_eq(dsv4_sample_pick(l, 3, 1, k, p, DRAW_MAX), 2);
    }
    cr_assert_eq(dsv4_sample_pick(l, 3, 1, 0, 0.45f, DRAW_MAX), 1, "top-p 0.45 keeps the most likely only");
    cr_assert_eq(dsv4_sample_pick(l, 3, 1, 1, 1, 0), 1, "top-k 1 keeps the most likely only");
    /* ties at the top-k cut: the lower ids are kept */
    const float flat[] = {7, 7, 7, 7};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(dsv4_sample_pick(flat, 4, 1, 0, 1, (uint64_t)((i + 0.5) / 4 * 0x1p53)), i);
    cr_assert_eq(dsv4_sample_pick(flat, 4, 1, 2, 1, DRAW_MAX), 1, "top-k 2 of four equal tokens keeps ids 0 and 1");
}

Test(sample, top_k_and_top_p_restrict_the_candidates)
{
    float l[100];
    for (int i = 0; i < 100; i++) l[i] = (float)((i * 37) % 100) * -1.0f; /* token 0 best, then 73, 46, ... */
    struct dsv4_sampler s;
    dsv4_sampler_init(&s, 1, 1, 1, 3);
    for (int i = 0; i < 200; i++) cr_assert_eq(dsv4_sample(&s, l, 100), 0, "top-k 1 is greedy");
    /* probabilities ~ e^-rank: top-p 0.9 keeps ranks 0..2 (0.632, 0.865, 0.950) */
    int seen[100] = {0};
    dsv4_sampler_init(&s, 1, 0, 0.9f, 4);
    for (int i = 0; i < 4000; i++) {
        const int32_t t = dsv4_sample(&s, l, 100);
        cr_assert(t >= 0 && t < 100);
        seen[t]++;
    }
    const int rank2[3] = {0, 73, 46}; /* rank r is token 73 r mod 100 */
    int kept = 0;
    for (int j = 0; j < 3; j++) kept += seen[rank2[j]];
    cr_assert_eq(kept, 4000, "top-p 0.9 sampled outside the three most likely tokens");
    for (int j = 0; j < 3; j++) cr_assert_gt(seen[rank2[j]], 0, "token %d never sampled", rank2[j]);
    memset(seen, 0, sizeof seen);
    dsv4_sampler_init(&s, 2, 5, 1, 5);
    for (int i = 0; i < 4000; i++) seen[dsv4_sample(&s, l, 100)]++;
    int in5 = 0;
    for (int r = 0; r < 5; r++) in5 += seen[(r * 73) % 100]; /* rank r: i*37 = r mod 100 */
    cr_assert_eq(in5, 4000, "top-k 5 sampled outside the five most likely tokens");
}

Test(sample, frequencies_follow_the_tempered_softmax)
{
    const float l[] = {0, 1, 2, -1, 0.5f};
    const float temp = 0.7f;
    double p[5], z = 0;
    for (int i = 0; i < 5; i++) z += p[i] = exp(l[i] / temp);
    struct dsv4_sampler s;
    dsv4_sampler_init(&s, temp, 0, 1, 42);
    int cnt[5] = {0};
    const int N = 50000;
    for (int i = 0; i < N; i++) cnt[dsv4_sample(&s, l, 5)]++;
    for (int i = 0; i < 5; i++)
        cr_assert(fabs((double)cnt[i] / N - p[i] / z) < 0.01, "token %d: %.4f sampled, %.4f expected", i,
                  (double)cnt[i] / N, p[i] / z);
}

Test(sample, same_seed_same_tokens_and_the_cpu_op_equals_pick)
{
    const int V = 5000;
    float *l = malloc(V * sizeof *l);
    uint64_t r = 8;
    for (int i = 0; i < V; i++) l[i] = 3 * t_randn(&r);
    struct dsv4_sampler a, b, c;
    dsv4_sampler_init(&a, 0.9f, 50, 0.95f, 77);
    dsv4_sampler_init(&b, 0.9f, 50, 0.95f, 77);
    dsv4_sampler_init(&c, 0.9f, 50, 0.95f, 78);
    struct dsv4_backend *be = dsv4_backend_cpu_new(1);
    cr_assert(be);
    float *bl = be->ops->alloc(be, V * sizeof *bl);
    int32_t *out = be->ops->alloc(be, sizeof *out);
    be->ops->set(be, bl, l, V * sizeof *bl);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        const int32_t ta = dsv4_sample(&a, l, V);
        const uint64_t draw = dsv4_sampler_draw(&b);
        int32_t tb = -1;
        be->ops->sample(be, bl, V, b.temp, b.top_k, b.top_p, draw, out);
        be->ops->get(be, &tb, out, sizeof tb);
        cr_assert_eq(ta, tb, "step %d", i);
        cr_assert_eq(ta, dsv4_sample_pick(l, V, 0.9f, 50, 0.95f, draw));
        differ += dsv4_sample(&c, l, V) != ta;
    }
    cr_assert_gt(differ, 10, "another seed gives other tokens");
    be->ops->free(be, bl);
    be->ops->free(be, out);
    be->ops->destroy(be);
    free(l);
}

Test(sample, eval_sample_picks_what_sampling_the_logits_picks, .timeout = 120)
{
    struct t_engine e;
    t_engine_open(&e, "q8", 0, 2, 16, 0);
    const int V = (int)e.m.hp.n_vocab, n = 20;
    int32_t prompt[20];
    uint64_t r = 3;
    for (int i = 0; i < n; i++) prompt[i] = (int32_t)(t_rand(&r) % (uint64_t)V);
    float *lg = malloc((size_t)V * sizeof *lg);
    char err[256];
    for (int mode = 0; mode < 2; mode++) {
        struct dsv4_sampler host, dev;
        dsv4_sampler_init(&host, mode ? 0.8f : 0, 40, 0.9f, 5);
        dsv4_sampler_init(&dev, mode ? 0.8f : 0, 40, 0.9f, 5);
        /* host: logits back, sampled here */
        dsv4_ctx_reset(e.ctx);
        int32_t th[8], td[8];
        cr_assert_eq(dsv4_eval(e.ctx, prompt, n, lg, 0, err, sizeof err), 0, "%s", err);
        for (int s = 0; s < 8; s++) {
            th[s] = dsv4_sample(&host, lg, V);
            cr_assert_eq(dsv4_eval(e.ctx, &th[s], 1, lg, 0, err, sizeof err), 0, "%s", err);
        }
        /* backend: the op chooses, only the id comes back */
        dsv4_ctx_reset(e.ctx);
        cr_assert_eq(dsv4_eval_sample(e.ctx, prompt, n, &dev, &td[0], err, sizeof err), 0, "%s", err);
        for (int s = 1; s < 8; s++)
            cr_assert_eq(dsv4_eval_sample(e.ctx, &td[s - 1], 1, &dev, &td[s], err, sizeof err), 0, "%s", err);
        for (int s = 0; s < 8; s++) cr_assert_eq(td[s], th[s], "%s step %d", mode ? "sampled" : "greedy", s);
    }
    cr_assert_neq(dsv4_eval_sample(e.ctx, prompt, 0, NULL, NULL, err, sizeof err), 0);
    free(lg);
    t_engine_close(&e);
}
