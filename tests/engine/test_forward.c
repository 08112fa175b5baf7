/*
 * test_forward.c - the forward pass and its operations: prefill equals decode bit for
 * bit, chunking and thread count do not matter, state reset, errors, the quantisation
 * simulation, indexer top-k selection on constructed scores (ties included), attention
 * with sinks, RoPE/YaRN frequencies, and the Sinkhorn projection.
 */
#include "fixtures.h"

#include "backend.h"
#include "forward.h"
#include "model.h"
#include "quant.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int n_tokens(void) { return t_quick() ? 140 : 300; }

static int32_t *tokens(int n, uint32_t vocab)
{
    int32_t *t = malloc((size_t)n * sizeof *t);
    uint64_t s = 77;
    t[0] = 0;
    for (int i = 1; i < n; i++) t[i] = (int32_t)(t_rand(&s) % vocab);
    return t;
}

static float *run(struct t_engine *e, const int32_t *tok, int n, int step)
{
    const size_t V = e->m.hp.n_vocab;
    float *lg = malloc((size_t)n * V * sizeof *lg);
    char err[256];
    dsv4_ctx_reset(e->ctx);
    for (int i = 0; i < n; i += step) {
        int cnt = n - i < step ? n - i : step;
        cr_assert_eq(dsv4_eval(e->ctx, tok + i, cnt, lg + (size_t)i * V, 1, err, sizeof err), 0, "%s", err);
    }
    return lg;
}

static double max_rel(const float *a, const float *b, int n, size_t V)
{
    double worst = 0;
    for (int t = 0; t < n; t++) {
        double num = 0, den = 0;
        for (size_t v = 0; v < V; v++) {
            double d = (double)a[t * V + v] - b[t * V + v];
            num += d * d;
            den += (double)b[t * V + v] * b[t * V + v];
        }
        worst = fmax(worst, sqrt(num / den));
    }
    return worst;
}

Test(forward, prefill_equals_token_by_token_decode_bit_for_bit)
{
    struct t_engine e;
    t_engine_open(&e, "f32", 0, 2, 64, 0);
    t_engine_ctx(&e, 0, 64, 0, 8); /* indexer top-k 8: selection runs from position 35 on */
    const int n = n_tokens();
    int32_t *tok = tokens(n, e.m.hp.n_vocab);
    float *pre = run(&e, tok, n, n), *dec = run(&e, tok, n, 1);
    const size_t V = e.m.hp.n_vocab;
    for (int t = 0; t < n; t++)
        cr_assert(!memcmp(pre + t * V, dec + t * V, V * sizeof(float)), "position %d differs (rel %g)", t,
                  max_rel(dec + t * V, pre + t * V, 1, V));
    for (size_t i = 0; i < (size_t)n * V; i++) cr_assert(isfinite(pre[i]));
    free(pre);
    free(dec);
    /* the same with the quantisation simulation */
    t_engine_ctx(&e, 0, 64, 1, 8);
    pre = run(&e, tok, n, n);
    dec = run(&e, tok, n, 1);
    cr_assert(!memcmp(pre, dec, (size_t)n * V * sizeof(float)), "simulation: prefill and decode differ");
    free(pre);
    free(dec);
    free(tok);
    t_engine_close(&e);
}

Test(forward, chunk_size_and_thread_count_do_not_change_logits)
{
    struct t_engine a, b;
    const char *q = t_quick() ? "q8" : "q2"; /* q2 generation is slow under the sanitizers */
    t_engine_open(&a, q, 0, 1, 7, 0);
    t_engine_open(&b, q, 0, 3, 64, 0);
    const int n = t_quick() ? 40 : 150;
    int32_t *tok = tokens(n, a.m.hp.n_vocab);
    float *x = run(&a, tok, n, 23), *y = run(&b, tok, n, n);
    cr_assert(!memcmp(x, y, (size_t)n * a.m.hp.n_vocab * sizeof(float)));
    free(x);
    free(y);
    free(tok);
    t_engine_close(&a);
    t_engine_close(&b);
}

Test(forward, reset_replays_the_sequence_and_last_logits_match_all_logits)
{
    struct t_engine e;
    t_engine_open(&e, "q8", 0, 2, 16, 0);
    const int n = 40;
    const size_t V = e.m.hp.n_vocab;
    int32_t *tok = tokens(n, e.m.hp.n_vocab);
    float *all = run(&e, tok, n, n), *again = run(&e, tok, n, n), *last = malloc(V * sizeof *last);
    cr_assert(!memcmp(all, again, (size_t)n * V * sizeof(float)));
    char err[256];
    dsv4_ctx_reset(e.ctx);
    cr_assert_eq(dsv4_eval(e.ctx, tok, n, last, 0, err, sizeof err), 0, "%s", err);
    cr_assert(!memcmp(last, all + (size_t)(n - 1) * V, V * sizeof(float)));
    cr_assert_eq(dsv4_ctx_pos(e.ctx), n);
    free(all);
    free(again);
    free(last);
    free(tok);
    t_engine_close(&e);
}

Test(forward, rejects_bad_token_ids_and_a_full_context)
{
    struct t_engine e;
    t_engine_open(&e, "f32", 0, 1, 8, 0);
    t_engine_ctx(&e, 100, 8, 0, 0);
    char err[256];
    int32_t bad[2] = {3, 100000};
    cr_assert_eq(dsv4_eval(e.ctx, bad, 2, NULL, 0, err, sizeof err), -1);
    cr_assert(strstr(err, "token 100000 at index 1"), "%s", err);
    cr_assert_eq(dsv4_ctx_pos(e.ctx), 0, "a rejected call changes nothing");
    int32_t *tok = tokens(100, e.m.hp.n_vocab);
    cr_assert_eq(dsv4_eval(e.ctx, tok, 90, NULL, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dsv4_eval(e.ctx, tok, 11, NULL, 0, err, sizeof err), -1);
    cr_assert(strstr(err, "11 tokens at position 90 exceed the context of 100"), "%s", err);
    cr_assert_eq(dsv4_eval(e.ctx, tok, 10, NULL, 0, err, sizeof err), 0, "the last positions still fit: %s", err);
    free(tok);
    t_engine_close(&e);
}

Test(forward, quantisation_simulation_moves_logits_a_little)
{
    struct t_engine e;
    t_engine_open(&e, "f32", 0, 2, 64, 0);
    const int n = 64;
    int32_t *tok = tokens(n, e.m.hp.n_vocab);
    float *exact = run(&e, tok, n, n);
    t_engine_ctx(&e, 0, 64, 1, 0);
    float *sim = run(&e, tok, n, n);
    double r = max_rel(sim, exact, n, e.m.hp.n_vocab);
    cr_assert(r > 1e-5 && r < 0.5, "relative change %g", r);
    free(exact);
    free(sim);
    free(tok);
    t_engine_close(&e);
}

/* ---- operations on constructed inputs -------------------------------------------------------- */

static void run_indexer(struct dsv4_backend *b, const float *scores, int nv, int64_t pos0, int topk, int32_t *out)
{
    /* one head, cI = 4: key i = (score_i, 0, 0, 0), q = (1, 0, 0, 0), weight 1 */
    float keys[4 * 64] = {0}, q[4] = {1, 0, 0, 0}, w[1] = {1};
    for (int i = 0; i < nv; i++) keys[4 * i] = scores[i];
    struct dsv4_index_args a = {.q = q, .w = w, .keys = keys, .n = 1, .nI = 1, .cI = 4, .pos0 = pos0,
                                .ratio = 4, .topk = topk, .out = out};
    b->ops->indexer_topk(b, &a);
}

Test(ops, indexer_selects_the_top_scores_and_breaks_ties_by_lower_index)
{
    struct dsv4_backend *b = dsv4_backend_cpu_new(1);
    const float s[10] = {0.5f, 2, 2, -1, 3, 0.1f, 2, 0, 0, 1};
    int32_t out[8];
    run_indexer(b, s, 10, 39, 4, out); /* position 39 sees 10 entries */
    int32_t want4[4] = {4, 1, 2, 6};
    cr_assert(!memcmp(out, want4, sizeof want4), "got %d %d %d %d", out[0], out[1], out[2], out[3]);
    run_indexer(b, s, 10, 39, 3, out); /* a tie at the boundary: lower indices win */
    cr_assert(out[0] == 4 && out[1] == 1 && out[2] == 2);
    run_indexer(b, s, 10, 38, 3, out); /* position 38 sees only 9 entries */
    cr_assert(out[0] == 4 && out[1] == 1 && out[2] == 2);
    run_indexer(b, s, 10, 7, 4, out); /* 2 visible entries <= top-k: all of them, then -1 */
    cr_assert(out[0] == 0 && out[1] == 1 && out[2] == -1 && out[3] == -1);
    /* negative scores all become 0 (ReLU): a 9-way tie at the boundary */
    const float neg[10] = {-1, -2, -3, 5, -4, -5, -6, -7, -8, -9};
    run_indexer(b, neg, 10, 39, 3, out);
    cr_assert(out[0] == 3 && out[1] == 0 && out[2] == 1, "got %d %d %d", out[0], out[1], out[2]);
    b->ops->destroy(b);
}

Test(ops, indexer_choice_is_tie_aware_on_random_scores)
{
    struct dsv4_backend *b = dsv4_backend_cpu_new(2);
    uint64_t r = 3;
    for (int trial = 0; trial < 200; trial++) {
        float s[64];
        for (int i = 0; i < 64; i++) s[i] = (t_rand(&r) % 3 == 0) ? 0.f : (float)((int)(t_rand(&r) % 7) - 3);
        int topk = 1 + (int)(t_rand(&r) % 20);
        int32_t out[32];
        run_indexer(b, s, 64, 255, topk, out);
        unsigned char chosen[64] = {0};
        for (int k = 0; k < topk; k++) {
            cr_assert(out[k] >= 0 && out[k] < 64 && !chosen[out[k]]);
            chosen[out[k]] = 1;
        }
        for (int i = 0; i < 64; i++)
            for (int j = 0; j < 64; j++)
                if (chosen[i] && !chosen[j]) cr_assert_geq(fmaxf(s[i], 0), fmaxf(s[j], 0), "trial %d", trial);
    }
    b->ops->destroy(b);
}

Test(ops, attention_weighs_rows_against_the_sink)
{
    struct dsv4_backend *b = dsv4_backend_cpu_new(1);
    enum { D = 8 };
    float q[D] = {1, 0, 0, 0, 0, 0, 0, 0}, win[4 * D] = {0}, o[D];
    for (int i = 0; i < D; i++) win[i] = (float)(i + 1); /* position 0's row; q.kv = 1 */
    float sinks[1] = {-1e30f};
    struct dsv4_attn_args a = {.q = q, .o = o, .n = 1, .H = 1, .d = D, .pos0 = 0, .win = win, .win_cap = 4,
                               .window = 4, .sinks = sinks, .scale = 1.0f};
    b->ops->attention(b, &a);
    for (int i = 0; i < D; i++) cr_assert_float_eq(o[i], (float)(i + 1), 1e-6f);
    sinks[0] = 1.0f; /* the sink has the same logit as the row: half the weight, no value */
    b->ops->attention(b, &a);
    for (int i = 0; i < D; i++) cr_assert_float_eq(o[i], 0.5f * (float)(i + 1), 1e-6f);
    /* a compressed entry joins the same softmax; position 3 with ratio 4 sees entry 0 */
    float comp[D] = {0, 2, 0, 0, 0, 0, 0, 0};
    for (int p = 1; p < 4; p++)
        for (int i = 0; i < D; i++) win[p * D + i] = 0; /* rows with logit 0 */
    sinks[0] = -1e30f;
    a.pos0 = 3;
    a.comp = comp;
    a.ratio = 4;
    b->ops->attention(b, &a);
    double e1 = exp(1.0), z = e1 + 3 + 1; /* row 0 (logit 1), rows 1-3 and the entry (logit 0) */
    cr_assert_float_eq(o[0], (float)(e1 / z), 1e-6f);
    cr_assert_float_eq(o[1], (float)(2 * e1 / z + 2.0 / z), 1e-6f);
    b->ops->destroy(b);
}

Test(ops, rope_frequencies_match_the_flash_reference_table)
{
    static const double base[8] = {1.0, 0.7498942, 0.5623413, 0.4216965, 0.3162278, 0.2371374, 0.1778279, 0.1333521};
    static const double yarn[32] = {
        1.000000, 0.6876560, 0.4728708, 0.3251725, 0.2236068, 0.1537646, 0.1057371, 7.271077e-2,
        5.000000e-2, 3.438280e-2, 2.364354e-2, 1.625862e-2, 1.118034e-2, 7.688228e-3, 5.286857e-3, 3.635539e-3,
        2.265625e-3, 1.396801e-3, 8.496897e-4, 5.080820e-4, 2.969778e-4, 1.681800e-4, 9.086784e-5, 4.544423e-5,
        1.953125e-5, 5.372312e-6, 3.694303e-6, 2.540410e-6, 1.746928e-6, 1.201286e-6, 8.260713e-7, 5.680529e-7};
    struct dsv4_hparams hp = {.n_rot = 64, .rope_base = 10000, .compress_rope_base = 160000, .yarn = 1,
                              .yarn_factor = 16, .yarn_orig_ctx = 65536, .yarn_beta_fast = 32, .yarn_beta_slow = 1};
    float f[32];
    dsv4_rope_freqs(&hp, 0, f);
    for (int p = 0; p < 8; p++) cr_assert(fabs(f[p] / base[p] - 1) < 2e-6, "base pair %d: %g", p, f[p]);
    cr_assert(fabs(f[16] / 1e-2 - 1) < 2e-6);
    dsv4_rope_freqs(&hp, 1, f);
    for (int p = 0; p < 32; p++) cr_assert(fabs(f[p] / yarn[p] - 1) < 2e-6, "yarn pair %d: %g vs %g", p, f[p], yarn[p]);
}

Test(ops, rope_inverse_undoes_the_rotation)
{
    struct dsv4_backend *b = dsv4_backend_cpu_new(1);
    float x[2 * 8], y[2 * 8], fr[2] = {1.0f, 0.01f};
    uint64_t s = 1;
    for (int i = 0; i < 16; i++) x[i] = y[i] = t_randn(&s);
    b->ops->rope(b, y, 8, 1, 2, 4, 4, 1000, 1, fr, 0);
    cr_assert(y[0] == x[0] && fabsf(y[4] - x[4]) > 1e-3f, "only the trailing pairs rotate");
    b->ops->rope(b, y, 8, 1, 2, 4, 4, 1000, 1, fr, 1);
    for (int i = 0; i < 16; i++) cr_assert_float_eq(y[i], x[i], 1e-4f);
    b->ops->destroy(b);
}

Test(ops, hc_pre_follows_the_reference_equations_with_sinkhorn)
{
    struct dsv4_backend *b = dsv4_backend_cpu_new(1);
    enum { HC = 4, D = 32, MIX = 24, N = 3 };
    static float fn[MIX * HC * D], X[N * HC * D], u[N * D], post[N * HC], comb[N * HC * HC];
    uint64_t s = 5;
    for (int i = 0; i < MIX * HC * D; i++) fn[i] = t_randn(&s) * 0.3f;
    for (int i = 0; i < N * HC * D; i++) X[i] = t_randn(&s);
    float scale[3] = {1.1f, 0.9f, 1.3f}, base[MIX];
    for (int i = 0; i < MIX; i++) base[i] = 0.5f * t_randn(&s);
    struct dsv4_tensor t = {.type = DSV4_TYPE_F32, .n_dims = 2, .ne = {HC * D, MIX, 1, 1}, .data = fn,
                            .nb1 = HC * D * 4, .bdata = fn};
    struct dsv4_hc_args a = {.X = X, .n = N, .hc = HC, .D = D, .fn = &t, .scale = scale, .base = base,
                             .rms_eps = 1e-6f, .hc_eps = 1e-6f, .iters = 20, .u = u, .post = post, .comb = comb};
    b->ops->hc_pre(b, &a);
    for (int n = 0; n < N; n++) {
        /* the reference equations in double precision */
        const float *x = X + n * HC * D;
        double ss = 0, mix[MIX], A[HC][HC], pre[HC];
        for (int i = 0; i < HC * D; i++) ss += (double)x[i] * x[i];
        const double r = 1 / sqrt(ss / (HC * D) + 1e-6);
        for (int j = 0; j < MIX; j++) {
            double d = 0;
            for (int i = 0; i < HC * D; i++) d += (double)fn[j * HC * D + i] * x[i];
            mix[j] = d * r;
        }
        for (int j = 0; j < HC; j++) {
            pre[j] = 1 / (1 + exp(-(mix[j] * scale[0] + base[j]))) + 1e-6;
            double post_j = 2 / (1 + exp(-(mix[HC + j] * scale[1] + base[HC + j])));
            cr_assert_float_eq(post[n * HC + j], post_j, 1e-5, "post %d", j);
            double mx = -1e300, sum = 0;
            for (int k = 0; k < HC; k++) mx = fmax(mx, A[j][k] = mix[2 * HC + j * HC + k] * scale[2] + base[2 * HC + j * HC + k]);
            for (int k = 0; k < HC; k++) sum += (A[j][k] = exp(A[j][k] - mx));
            for (int k = 0; k < HC; k++) A[j][k] = A[j][k] / sum + 1e-6;
        }
        for (int it = 0; it < 20; it++) {
            for (int j = 0; j < HC && it > 0; j++) {
                double rs = 0;
                for (int k = 0; k < HC; k++) rs += A[j][k];
                for (int k = 0; k < HC; k++) A[j][k] /= rs + 1e-6;
            }
            for (int k = 0; k < HC; k++) {
                double cs = 0;
                for (int j = 0; j < HC; j++) cs += A[j][k];
                for (int j = 0; j < HC; j++) A[j][k] /= cs + 1e-6;
            }
        }
        for (int j = 0; j < HC; j++) {
            double c = 0;
            for (int k = 0; k < HC; k++) {
                cr_assert_float_eq(comb[n * 16 + j * HC + k], A[j][k], 1e-5, "comb[%d][%d]", j, k);
                c += comb[n * 16 + k * HC + j];
            }
            cr_assert_float_eq(c, 1.0, 1e-5, "column %d sums to %g", j, c);
        }
        for (int i = 0; i < D; i++) {
            double u_i = 0;
            for (int j = 0; j < HC; j++) u_i += pre[j] * x[j * D + i];
            cr_assert_float_eq(u[n * D + i], u_i, 1e-4, "u[%d]", i);
        }
    }
    b->ops->destroy(b);
}
