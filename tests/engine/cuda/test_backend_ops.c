/*
 * test_backend_ops.c - the CUDA backend against the CPU reference backend.
 *
 *   dsv4-cuda-tests probe              exit status 0 when a CUDA device is usable
 *   dsv4-cuda-tests ops [-o NAME]      every GPU operation vs the CPU one over several
 *                                      shapes and every weight type: normalised mean
 *                                      squared error and max abs error against a per-op
 *                                      tolerance (ids and sampled tokens: exact); -o
 *                                      filters by op name
 *   dsv4-cuda-tests model FILE [--tokens N] [--gen N] [--topk K] [--sim] [--tol T]
 *                                      whole-model logits: GPU prefill and GPU
 *                                      token-by-token decode vs CPU prefill, per-position
 *                                      relative error; then N greedy steps on each
 *                                      backend must pick the same tokens
 *
 * Without a usable CUDA device every command prints one "skipped" line (probe then exits
 * with status 1, the others with 0), so the suite runs on CI machines that only compile
 * CUDA code.
 */
#include "backend.h"
#include "forward.h"
#include "model.h"
#include "quant.h"
#include "sample.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct dsv4_backend *CPU, *GPU;
static const char *filter;
static int n_pass, n_fail;

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t rng_state = 0x1234567;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float rndu(void) { return (float)(rnd() >> 40) * 0x1p-24f; }
static float rndn(void) { return (rndu() + rndu() + rndu() + rndu() - 2.0f) * 1.7320508f; }

static float *randv(size_t n, float sd)
{
    float *v = malloc(n * sizeof *v);
    if (!v) abort();
    for (size_t i = 0; i < n; i++) v[i] = sd * rndn();
    return v;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* A buffer present on both backends with the same contents. */
struct pair {
    void *c, *g;
    size_t bytes;
};

static struct pair mk(size_t bytes, const void *host)
{
    struct pair p = {CPU->ops->alloc(CPU, bytes), GPU->ops->alloc(GPU, bytes), bytes};
    if (!p.c || !p.g) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    if (host) {
        CPU->ops->set(CPU, p.c, host, bytes);
        GPU->ops->set(GPU, p.g, host, bytes);
    }
    return p;
}

static struct pair mkf(size_t n, const float *host) { return mk(n * sizeof(float), host); }

static void drop(struct pair p)
{
    CPU->ops->free(CPU, p.c);
    GPU->ops->free(GPU, p.g);
}

/* Both copies to host (malloc'ed). */
static void fetch(struct pair p, void **c, void **g)
{
    *c = xmalloc(p.bytes);
    *g = xmalloc(p.bytes);
    CPU->ops->get(CPU, *c, p.c, p.bytes);
    GPU->ops->get(GPU, *g, p.g, p.bytes);
}

static int want(const char *op) { return !filter || strstr(op, filter); }

/* Compare GPU (got) against CPU (ref); tol bounds the normalised MSE. */
static void report_f(const char *op, const char *desc, const float *ref, const float *got, size_t n, double tol)
{
    double num = 0, den = 0, mx = 0;
    int nan = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]) != isnan(ref[i]) || isinf(got[i]) != isinf(ref[i])) nan = 1;
        if (!isfinite(ref[i]) || !isfinite(got[i])) continue;
        double d = (double)got[i] - ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
        if (fabs(d) > mx) mx = fabs(d);
    }
    const double nmse = den > 0 ? num / den : num;
    const int ok = !nan && nmse <= tol;
    printf("  %-14s %-46s nmse %9.2e  max %9.2e  tol %7.0e  %s\n", op, desc, nmse, mx, tol, ok ? "ok" : "FAIL");
    ok ? n_pass++ : n_fail++;
}

static void report_pair(const char *op, const char *desc, struct pair p, double tol)
{
    void *c, *g;
    fetch(p, &c, &g);
    report_f(op, desc, c, g, p.bytes / sizeof(float), tol);
    free(c);
    free(g);
}

static void report_ids(const char *op, const char *desc, struct pair p)
{
    int32_t *c, *g;
    fetch(p, (void **)&c, (void **)&g);
    size_t bad = 0, n = p.bytes / 4;
    for (size_t i = 0; i < n; i++) bad += c[i] != g[i];
    printf("  %-14s %-46s %zu of %zu ids differ %24s\n", op, desc, bad, n, bad ? "FAIL" : "ok");
    bad ? n_fail++ : n_pass++;
    free(c);
    free(g);
}

/* A weight of `type` with rows of random values (std sd), on both backends. */
struct weight {
    struct dsv4_tensor c, g;
    void *data;
    struct dsv4_model m;
};

static void mkweight(struct weight *w, uint32_t type, int64_t ne0, int64_t ne1, int64_t ne2, float sd,
                     const float *values)
{
    memset(w, 0, sizeof *w);
    const int64_t rows = ne1 * ne2;
    const size_t rb = dsv4_row_bytes(type, ne0);
    w->data = xmalloc(rb * (size_t)rows);
    float *row = xmalloc((size_t)ne0 * sizeof *row);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < ne0; i++) row[i] = values ? values[r * ne0 + i] : sd * rndn();
        if (type == DSV4_TYPE_I32)
            for (int64_t i = 0; i < ne0; i++) ((int32_t *)w->data)[r * ne0 + i] = (int32_t)row[i];
        else dsv4_quantize_row(type, row, (uint8_t *)w->data + (size_t)r * rb, ne0);
    }
    free(row);
    struct dsv4_tensor *t = &w->c;
    snprintf(t->name, sizeof t->name, "test.%s", dsv4_type_name(type));
    t->type = type;
    t->n_dims = ne2 > 1 ? 3 : 2;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->ne[2] = ne2;
    t->ne[3] = 1;
    t->data = w->data;
    t->nbytes = rb * (size_t)rows;
    t->nb1 = rb;
    w->g = w->c;
    char err[256];
    w->m.tensors = &w->c;
    w->m.n_tensors = 1;
    if (CPU->ops->load_weights(CPU, &w->m, NULL, NULL, err, sizeof err)) abort();
    w->m.tensors = &w->g;
    if (GPU->ops->load_weights(GPU, &w->m, NULL, NULL, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
}

static const uint32_t WTYPES[] = {DSV4_TYPE_F32, DSV4_TYPE_F16, DSV4_TYPE_BF16, DSV4_TYPE_Q8_0,
                                  DSV4_TYPE_Q2_K, DSV4_TYPE_Q4_K, DSV4_TYPE_IQ2_XXS};
#define N_WTYPES (int)(sizeof WTYPES / sizeof WTYPES[0])

/* ---- op tests -------------------------------------------------------------------------------- */

static void t_matmul(void)
{
    if (!want("matmul")) return;
    struct { int64_t ne0, rows, row0, nr; int n; int64_t xpad, ypad; } S[] = {
        {256, 40, 3, 33, 1, 0, 0}, {1024, 130, 0, 130, 5, 32, 7}, {512, 64, 0, 64, 64, 0, 0}, {2048, 17, 1, 9, 3, 0, 2},
    };
    for (int ti = 0; ti < N_WTYPES; ti++)
        for (unsigned si = 0; si < sizeof S / sizeof S[0]; si++) {
            const uint32_t ty = WTYPES[ti];
            struct weight w;
            mkweight(&w, ty, S[si].ne0, S[si].rows, 1, 0.05f, NULL);
            const int64_t xs = S[si].ne0 + S[si].xpad, ys = S[si].nr + S[si].ypad;
            float *xh = randv((size_t)(xs * S[si].n), 1.0f);
            struct pair x = mkf((size_t)(xs * S[si].n), xh), y = mkf((size_t)(ys * S[si].n), NULL);
            CPU->ops->matmul(CPU, &w.c, S[si].row0, S[si].nr, x.c, xs, y.c, ys, S[si].n);
            GPU->ops->matmul(GPU, &w.g, S[si].row0, S[si].nr, x.g, xs, y.g, ys, S[si].n);
            char d[96];
            snprintf(d, sizeof d, "%s ne0=%lld nr=%lld n=%d", dsv4_type_name(ty), (long long)S[si].ne0,
                     (long long)S[si].nr, S[si].n);
            report_pair("matmul", d, y, 1e-10);
            drop(x);
            drop(y);
            free(xh);
            free(w.data);
        }
    /* plain types with rows that are not a multiple of 32 */
    const uint32_t plain[] = {DSV4_TYPE_F32, DSV4_TYPE_F16, DSV4_TYPE_BF16};
    for (int ti = 0; ti < 3; ti++) {
        struct weight w;
        mkweight(&w, plain[ti], 100, 11, 1, 0.1f, NULL);
        float *xh = randv(300, 1.0f);
        struct pair x = mkf(300, xh), y = mkf(33, NULL);
        CPU->ops->matmul(CPU, &w.c, 0, 11, x.c, 100, y.c, 11, 3);
        GPU->ops->matmul(GPU, &w.g, 0, 11, x.g, 100, y.g, 11, 3);
        char d[96];
        snprintf(d, sizeof d, "%s ne0=100 nr=11 n=3 (unaligned)", dsv4_type_name(plain[ti]));
        report_pair("matmul", d, y, 1e-10);
        drop(x);
        drop(y);
        free(xh);
        free(w.data);
    }
}

static void t_get_rows(void)
{
    if (!want("get_rows")) return;
    for (int ti = 0; ti < N_WTYPES; ti++) {
        struct weight w;
        mkweight(&w, WTYPES[ti], 512, 20, 1, 0.5f, NULL);
        const int32_t ids[] = {3, 0, 19, 5, 5};
        struct pair y = mkf(5 * 512, NULL);
        CPU->ops->get_rows(CPU, &w.c, ids, 5, y.c);
        GPU->ops->get_rows(GPU, &w.g, ids, 5, y.g);
        char d[96];
        snprintf(d, sizeof d, "%s ne0=512 n=5", dsv4_type_name(WTYPES[ti]));
        report_pair("get_rows", d, y, 0);
        drop(y);
        free(w.data);
    }
}

static void t_rms_norm(void)
{
    if (!want("rms_norm")) return;
    struct { int64_t dim, rows; int weighted, inplace; } S[] = {{512, 7, 1, 0}, {100, 3, 0, 0}, {4096, 2, 1, 1}, {64, 33, 1, 1}};
    for (unsigned si = 0; si < sizeof S / sizeof S[0]; si++) {
        const size_t n = (size_t)(S[si].dim * S[si].rows);
        float *xh = randv(n, 2.0f), *wh = randv((size_t)S[si].dim, 1.0f);
        struct pair x = mkf(n, xh), y = mkf(n, NULL), w = mkf((size_t)S[si].dim, wh);
        struct pair out = S[si].inplace ? x : y;
        CPU->ops->rms_norm(CPU, x.c, out.c, S[si].weighted ? w.c : NULL, S[si].dim, S[si].rows, 1e-6f);
        GPU->ops->rms_norm(GPU, x.g, out.g, S[si].weighted ? w.g : NULL, S[si].dim, S[si].rows, 1e-6f);
        char d[96];
        snprintf(d, sizeof d, "dim=%lld rows=%lld%s%s", (long long)S[si].dim, (long long)S[si].rows,
                 S[si].weighted ? " weighted" : "", S[si].inplace ? " in-place" : "");
        report_pair("rms_norm", d, out, 1e-12);
        drop(x);
        drop(y);
        drop(w);
        free(xh);
        free(wh);
    }
}

static void freqs_host(float *f, int n_rot, float base)
{
    for (int p = 0; p < n_rot / 2; p++) f[p] = 1.0f / powf(base, (float)(2 * p) / (float)n_rot);
}

static void t_rope(void)
{
    if (!want("rope")) return;
    struct { int64_t row_len; int rpt, n; int64_t off; int n_rot; int64_t pos0, step; int inv; } S[] = {
        {128, 4, 6, 64, 64, 1000, 1, 0}, {128, 4, 6, 64, 64, 1000, 1, 1}, {512, 8, 3, 448, 64, 7, 4, 0},
        {64, 1, 65, 0, 64, 100000, 1, 0},
    };
    for (unsigned si = 0; si < sizeof S / sizeof S[0]; si++) {
        const size_t n = (size_t)(S[si].row_len * S[si].rpt * S[si].n);
        float *xh = randv(n, 1.0f), fh[64];
        freqs_host(fh, S[si].n_rot, 160000.0f);
        struct pair x = mkf(n, xh), fr = mkf((size_t)S[si].n_rot / 2, fh);
        CPU->ops->rope(CPU, x.c, S[si].row_len, S[si].rpt, S[si].n, S[si].off, S[si].n_rot, S[si].pos0, S[si].step,
                       fr.c, S[si].inv);
        GPU->ops->rope(GPU, x.g, S[si].row_len, S[si].rpt, S[si].n, S[si].off, S[si].n_rot, S[si].pos0, S[si].step,
                       fr.g, S[si].inv);
        char d[96];
        snprintf(d, sizeof d, "row=%lld rows=%d n=%d pos0=%lld step=%lld%s", (long long)S[si].row_len, S[si].rpt,
                 S[si].n, (long long)S[si].pos0, (long long)S[si].step, S[si].inv ? " inverse" : "");
        report_pair("rope", d, x, 1e-12);
        drop(x);
        drop(fr);
        free(xh);
    }
}

static void t_hc(void)
{
    const int hc = 4, nmix = (2 + hc) * hc;
    const int64_t D = 256;
    const int ns[] = {1, 5};
    const uint32_t ftypes[] = {DSV4_TYPE_F32, DSV4_TYPE_F16};
    for (int ni = 0; ni < 2; ni++) {
        const int n = ns[ni];
        const size_t nx = (size_t)n * hc * D;
        float *Xh = randv(nx, 1.0f), *eh = randv((size_t)n * D, 1.0f), *fh = randv((size_t)n * D, 1.0f);
        float sc[3] = {1.1f, 0.9f, 1.2f}, *bh = randv((size_t)nmix, 0.5f);
        struct pair X = mkf(nx, Xh), e = mkf((size_t)n * D, eh), f = mkf((size_t)n * D, fh);
        struct pair s = mkf(3, sc), bs = mkf((size_t)nmix, bh);
        struct pair u = mkf((size_t)n * D, NULL), post = mkf((size_t)n * hc, NULL), comb = mkf((size_t)n * hc * hc, NULL);
        struct pair Xo = mkf(nx, NULL);
        char d[96];
        if (want("hc_expand")) {
            CPU->ops->hc_expand(CPU, e.c, Xo.c, n, hc, D);
            GPU->ops->hc_expand(GPU, e.g, Xo.g, n, hc, D);
            snprintf(d, sizeof d, "hc=%d D=%lld n=%d", hc, (long long)D, n);
            report_pair("hc_expand", d, Xo, 0);
        }
        for (int fi = 0; fi < 2; fi++) {
            struct weight fn, fnh;
            mkweight(&fn, ftypes[fi], hc * D, nmix, 1, 1.0f / 32, NULL);
            mkweight(&fnh, ftypes[fi], hc * D, hc, 1, 1.0f / 32, NULL);
            struct dsv4_hc_args ac = {.X = X.c, .n = n, .hc = hc, .D = D, .fn = &fn.c, .scale = s.c, .base = bs.c,
                                      .rms_eps = 1e-6f, .hc_eps = 1e-6f, .iters = 20, .u = u.c, .post = post.c,
                                      .comb = comb.c};
            struct dsv4_hc_args ag = {.X = X.g, .n = n, .hc = hc, .D = D, .fn = &fn.g, .scale = s.g, .base = bs.g,
                                      .rms_eps = 1e-6f, .hc_eps = 1e-6f, .iters = 20, .u = u.g, .post = post.g,
                                      .comb = comb.g};
            if (want("hc_pre")) {
                CPU->ops->hc_pre(CPU, &ac);
                GPU->ops->hc_pre(GPU, &ag);
                snprintf(d, sizeof d, "fn %s hc=%d D=%lld n=%d: u", dsv4_type_name(ftypes[fi]), hc, (long long)D, n);
                report_pair("hc_pre", d, u, 1e-10);
                snprintf(d, sizeof d, "fn %s hc=%d D=%lld n=%d: post", dsv4_type_name(ftypes[fi]), hc, (long long)D, n);
                report_pair("hc_pre", d, post, 1e-10);
                snprintf(d, sizeof d, "fn %s hc=%d D=%lld n=%d: comb", dsv4_type_name(ftypes[fi]), hc, (long long)D, n);
                report_pair("hc_pre", d, comb, 1e-10);
            }
            if (want("hc_head")) {
                ac.fn = &fnh.c;
                ag.fn = &fnh.g;
                CPU->ops->hc_head(CPU, &ac);
                GPU->ops->hc_head(GPU, &ag);
                snprintf(d, sizeof d, "fn %s hc=%d D=%lld n=%d", dsv4_type_name(ftypes[fi]), hc, (long long)D, n);
                report_pair("hc_head", d, u, 1e-10);
            }
            free(fn.data);
            free(fnh.data);
        }
        if (want("hc_post")) {
            float *ph = randv((size_t)n * hc, 1.0f), *ch = randv((size_t)n * hc * hc, 0.3f);
            CPU->ops->set(CPU, post.c, ph, post.bytes);
            GPU->ops->set(GPU, post.g, ph, post.bytes);
            CPU->ops->set(CPU, comb.c, ch, comb.bytes);
            GPU->ops->set(GPU, comb.g, ch, comb.bytes);
            CPU->ops->hc_post(CPU, X.c, f.c, post.c, comb.c, n, hc, D, Xo.c);
            GPU->ops->hc_post(GPU, X.g, f.g, post.g, comb.g, n, hc, D, Xo.g);
            snprintf(d, sizeof d, "hc=%d D=%lld n=%d", hc, (long long)D, n);
            report_pair("hc_post", d, Xo, 1e-12);
            free(ph);
            free(ch);
        }
        struct pair all[] = {X, e, f, s, bs, u, post, comb, Xo};
        for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) drop(all[i]);
        free(Xh);
        free(eh);
        free(fh);
        free(bh);
    }
}

static void t_compress(void)
{
    if (!want("compress")) return;
    struct { int m; int64_t c; int sim; uint32_t ape_type; } S[] = {
        {4, 128, DSV4_SIM_NONE, DSV4_TYPE_F32},    {4, 128, DSV4_SIM_FP4_HADA, DSV4_TYPE_F16},
        {4, 512, DSV4_SIM_FP8_KV, DSV4_TYPE_F16},  {4, 512, DSV4_SIM_NONE, DSV4_TYPE_F16},
        {128, 256, DSV4_SIM_NONE, DSV4_TYPE_F32},  {128, 512, DSV4_SIM_FP8_KV, DSV4_TYPE_F16},
        {16, 64, DSV4_SIM_NONE, DSV4_TYPE_F32},
    };
    const int T = 300, chunk = 64, n_rot = 64;
    for (unsigned si = 0; si < sizeof S / sizeof S[0]; si++) {
        const int m = S[si].m, ov = m == 4, coff = ov ? 2 : 1;
        const int64_t c = S[si].c, w = coff * c, rowlen = 2 * w, cap = T / m + 1;
        float *ah = randv((size_t)(T * w), 1.0f), *zh = randv((size_t)(T * w), 1.0f), *nh = randv((size_t)c, 0.1f);
        for (int64_t i = 0; i < c; i++) nh[i] += 1.0f;
        float fh[32];
        freqs_host(fh, n_rot, 160000.0f);
        struct weight ape;
        mkweight(&ape, S[si].ape_type, w, m, 1, 0.5f, NULL);
        float *st0 = xmalloc((size_t)(coff * m * rowlen) * sizeof *st0);
        for (int64_t i = 0; i < coff * m * rowlen; i++) st0[i] = 0;
        if (ov)
            for (int r = 0; r < m; r++)
                for (int64_t j = 0; j < w; j++) st0[r * rowlen + w + j] = -INFINITY;
        struct pair a = mkf((size_t)(T * w), ah), z = mkf((size_t)(T * w), zh), nrm = mkf((size_t)c, nh);
        struct pair fr = mkf(n_rot / 2, fh), st = mkf((size_t)(coff * m * rowlen), st0), ent = mkf((size_t)(cap * c), NULL);
        for (int p0 = 0; p0 < T; p0 += chunk) {
            const int n = T - p0 < chunk ? T - p0 : chunk;
            struct dsv4_compress_args ac = {.a = (float *)a.c + p0 * w, .z = (float *)z.c + p0 * w, .n = n, .pos0 = p0,
                                            .ratio = m, .overlap = ov, .c = c, .ape = &ape.c, .norm = nrm.c,
                                            .eps = 1e-6f, .state = st.c, .entries = ent.c, .freqs = fr.c,
                                            .n_rot = n_rot, .sim = S[si].sim};
            struct dsv4_compress_args ag = ac;
            ag.a = (float *)a.g + p0 * w;
            ag.z = (float *)z.g + p0 * w;
            ag.ape = &ape.g;
            ag.norm = nrm.g;
            ag.state = st.g;
            ag.entries = ent.g;
            ag.freqs = fr.g;
            CPU->ops->compress(CPU, &ac);
            GPU->ops->compress(GPU, &ag);
        }
        const char *sn = S[si].sim == DSV4_SIM_FP8_KV ? " fp8" : S[si].sim == DSV4_SIM_FP4_HADA ? " hadamard+fp4" : "";
        char d[96];
        snprintf(d, sizeof d, "ratio=%d c=%lld ape %s%s 300 tok: entries", m, (long long)c,
                 dsv4_type_name(S[si].ape_type), sn);
        report_pair("compress", d, ent, S[si].sim ? 1e-6 : 1e-10);
        snprintf(d, sizeof d, "ratio=%d c=%lld ape %s%s 300 tok: state", m, (long long)c,
                 dsv4_type_name(S[si].ape_type), sn);
        report_pair("compress", d, st, 1e-10);
        struct pair all[] = {a, z, nrm, fr, st, ent};
        for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) drop(all[i]);
        free(ah);
        free(zh);
        free(nh);
        free(st0);
        free(ape.data);
    }
}

static void t_indexer(void)
{
    if (!want("indexer_topk")) return;
    struct { int n, nI; int64_t cI, pos0; int topk, ties; } S[] = {
        {8, 4, 64, 200, 16, 0}, {8, 4, 64, 200, 16, 1}, {5, 8, 128, 0, 16, 0}, {3, 64, 128, 2100, 512, 0}, {64, 2, 32, 40, 8, 1},
    };
    for (unsigned si = 0; si < sizeof S / sizeof S[0]; si++) {
        const int n = S[si].n, nI = S[si].nI, topk = S[si].topk;
        const int64_t cI = S[si].cI, ne = (S[si].pos0 + n) / 4 + 1;
        float *qh = randv((size_t)(n * nI * cI), 1.0f), *wh = randv((size_t)(n * nI), 0.2f);
        float *kh = randv((size_t)(ne * cI), 1.0f);
        if (S[si].ties) /* every third key repeats an earlier one: equal scores */
            for (int64_t i = 3; i < ne; i += 3) memcpy(kh + i * cI, kh + (i / 3) * cI, (size_t)cI * sizeof *kh);
        struct pair q = mkf((size_t)(n * nI * cI), qh), w = mkf((size_t)(n * nI), wh), k = mkf((size_t)(ne * cI), kh);
        struct pair out = mk((size_t)n * topk * 4, NULL);
        struct dsv4_index_args ac = {.q = q.c, .w = w.c, .keys = k.c, .n = n, .nI = nI, .cI = cI, .pos0 = S[si].pos0,
                                     .ratio = 4, .topk = topk, .out = out.c};
        struct dsv4_index_args ag = ac;
        ag.q = q.g;
        ag.w = w.g;
        ag.keys = k.g;
        ag.out = out.g;
        CPU->ops->indexer_topk(CPU, &ac);
        GPU->ops->indexer_topk(GPU, &ag);
        char d[96];
        snprintf(d, sizeof d, "n=%d heads=%d x %lld pos0=%lld top %d%s", n, nI, (long long)cI,
                 (long long)S[si].pos0, topk, S[si].ties ? " ties" : "");
        report_ids("indexer_topk", d, out);
        drop(q);
        drop(w);
        drop(k);
        drop(out);
        free(qh);
        free(wh);
        free(kh);
    }
}

static void t_attention(void)
{
    if (!want("attention")) return;
    struct { int n, H; int64_t d, pos0; int window, comp, ratio, sel, topk; } S[] = {
        {5, 4, 128, 150, 16, 0, 0, 0, 0},   {5, 4, 128, 150, 16, 1, 128, 0, 0}, {5, 4, 128, 150, 16, 1, 4, 0, 0},
        {5, 4, 128, 150, 16, 1, 4, 1, 12},  {1, 64, 512, 3000, 128, 1, 4, 1, 512}, {64, 2, 64, 0, 16, 1, 4, 0, 0},
        {3, 8, 512, 700, 128, 1, 128, 0, 0},
    };
    for (unsigned si = 0; si < sizeof S / sizeof S[0]; si++) {
        const int n = S[si].n, H = S[si].H;
        const int64_t d = S[si].d, cap = S[si].window + 64, ncomp = (S[si].pos0 + n) / (S[si].ratio ? S[si].ratio : 1) + 2;
        float *qh = randv((size_t)(n * H * d), 0.2f), *wh = randv((size_t)(cap * d), 1.0f);
        float *ch = randv((size_t)(ncomp * d), 1.0f), *sk = randv((size_t)H, 0.5f);
        int32_t *selh = xmalloc((size_t)(n * (S[si].topk ? S[si].topk : 1)) * sizeof *selh);
        for (int t = 0; t < n; t++)
            for (int k = 0; k < S[si].topk; k++) {
                const int64_t nv = (S[si].pos0 + t + 1) / S[si].ratio;
                const uint64_t r = rnd() % 10;
                selh[t * S[si].topk + k] = r == 0 ? -1 : r == 1 ? (int32_t)(nv + 3) : (int32_t)(rnd() % (uint64_t)nv);
            }
        struct pair q = mkf((size_t)(n * H * d), qh), o = mkf((size_t)(n * H * d), NULL), win = mkf((size_t)(cap * d), wh);
        struct pair comp = mkf((size_t)(ncomp * d), ch), sinks = mkf((size_t)H, sk);
        struct pair sel = mk((size_t)(n * (S[si].topk ? S[si].topk : 1)) * 4, selh);
        struct dsv4_attn_args ac = {.q = q.c, .o = o.c, .n = n, .H = H, .d = d, .pos0 = S[si].pos0, .win = win.c,
                                    .win_cap = cap, .window = S[si].window, .comp = S[si].comp ? comp.c : NULL,
                                    .ratio = S[si].ratio, .sel = S[si].sel ? sel.c : NULL, .topk = S[si].topk,
                                    .sinks = sinks.c, .scale = 1.0f / sqrtf((float)d)};
        struct dsv4_attn_args ag = ac;
        ag.q = q.g;
        ag.o = o.g;
        ag.win = win.g;
        ag.comp = S[si].comp ? comp.g : NULL;
        ag.sel = S[si].sel ? sel.g : NULL;
        ag.sinks = sinks.g;
        CPU->ops->attention(CPU, &ac);
        GPU->ops->attention(GPU, &ag);
        char d_[96];
        snprintf(d_, sizeof d_, "n=%d H=%d d=%lld pos0=%lld W=%d%s%s", n, H, (long long)d, (long long)S[si].pos0,
                 S[si].window, S[si].comp ? (S[si].ratio == 4 ? " +ratio4" : " +ratio128") : "",
                 S[si].sel ? " selected" : "");
        report_pair("attention", d_, o, 1e-10);
        struct pair all[] = {q, o, win, comp, sinks, sel};
        for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) drop(all[i]);
        free(qh);
        free(wh);
        free(ch);
        free(sk);
        free(selh);
    }
}

static void t_route(void)
{
    if (!want("route")) return;
    struct { int n, E, k, hash, bias, norm; float scale; } S[] = {
        {7, 16, 4, 0, 1, 1, 1.5f}, {7, 16, 4, 0, 0, 0, 1.0f}, {1, 256, 6, 0, 1, 1, 1.5f}, {9, 8, 2, 1, 0, 1, 1.5f},
        {64, 256, 6, 0, 1, 1, 1.5f},
    };
    for (unsigned si = 0; si < sizeof S / sizeof S[0]; si++) {
        const int n = S[si].n, E = S[si].E, k = S[si].k, V = 50;
        float *lh = randv((size_t)(n * E), 2.0f), *bh = randv((size_t)E, 0.1f);
        int32_t tok[64];
        for (int t = 0; t < n; t++) tok[t] = (int32_t)(rnd() % V);
        float *tv = xmalloc((size_t)(k * V) * sizeof *tv);
        for (int v = 0; v < V; v++)
            for (int j = 0; j < k; j++) tv[v * k + j] = (float)((v * 7 + j * 3) % E);
        struct weight tid;
        mkweight(&tid, DSV4_TYPE_I32, k, V, 1, 0, tv);
        struct pair l = mkf((size_t)(n * E), lh), b = mkf((size_t)E, bh), tk = mk((size_t)n * 4, tok);
        struct pair ids = mk((size_t)(n * k) * 4, NULL), w = mkf((size_t)(n * k), NULL);
        struct dsv4_route_args ac = {.logits = l.c, .n = n, .E = E, .k = k, .bias = S[si].bias ? b.c : NULL,
                                     .tid2eid = S[si].hash ? &tid.c : NULL, .tokens = tk.c, .norm = S[si].norm,
                                     .scale = S[si].scale, .ids = ids.c, .weights = w.c};
        struct dsv4_route_args ag = ac;
        ag.logits = l.g;
        ag.bias = S[si].bias ? b.g : NULL;
        ag.tid2eid = S[si].hash ? &tid.g : NULL;
        ag.tokens = tk.g;
        ag.ids = ids.g;
        ag.weights = w.g;
        CPU->ops->route(CPU, &ac);
        GPU->ops->route(GPU, &ag);
        char d[96];
        snprintf(d, sizeof d, "n=%d E=%d k=%d%s%s%s: ids", n, E, k, S[si].hash ? " hash" : "",
                 S[si].bias ? " bias" : "", S[si].norm ? " norm" : "");
        report_ids("route", d, ids);
        snprintf(d, sizeof d, "n=%d E=%d k=%d%s%s%s: weights", n, E, k, S[si].hash ? " hash" : "",
                 S[si].bias ? " bias" : "", S[si].norm ? " norm" : "");
        report_pair("route", d, w, 1e-12);
        struct pair all[] = {l, b, tk, ids, w};
        for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) drop(all[i]);
        free(lh);
        free(bh);
        free(tv);
        free(tid.data);
    }
}

static void t_moe(void)
{
    if (!want("moe")) return;
    struct { uint32_t gu, dn; } T[] = {
        {DSV4_TYPE_F32, DSV4_TYPE_F32}, {DSV4_TYPE_F16, DSV4_TYPE_F16}, {DSV4_TYPE_Q8_0, DSV4_TYPE_Q8_0},
        {DSV4_TYPE_IQ2_XXS, DSV4_TYPE_Q2_K}, {DSV4_TYPE_Q4_K, DSV4_TYPE_Q4_K},
    };
    const int64_t D = 256, I = 512;
    const int E = 8, k = 3;
    for (unsigned ti = 0; ti < sizeof T / sizeof T[0]; ti++) {
        struct weight g, u, dn;
        mkweight(&g, T[ti].gu, D, I, E, 1.0f / 16, NULL);
        mkweight(&u, T[ti].gu, D, I, E, 1.0f / 16, NULL);
        mkweight(&dn, T[ti].dn, I, D, E, 1.0f / 22, NULL);
        const int ns[] = {1, 9};
        for (int ni = 0; ni < 2; ni++)
            for (int sim = 0; sim < 2; sim++) {
                const int n = ns[ni];
                float *xh = randv((size_t)(n * D), 1.0f), *wh = randv((size_t)(n * k), 0.3f);
                int32_t ids[64 * 3];
                for (int t = 0; t < n; t++)
                    for (int j = 0; j < k; j++) ids[t * k + j] = (int32_t)((t + 3 * j + (int)(rnd() % 2)) % E);
                struct pair x = mkf((size_t)(n * D), xh), w = mkf((size_t)(n * k), wh), id = mk((size_t)(n * k) * 4, ids);
                struct pair y = mkf((size_t)(n * D), NULL);
                struct dsv4_moe_args ac = {.x = x.c, .n = n, .k = k, .D = D, .I = I, .ids = id.c, .weights = w.c,
                                           .gate = &g.c, .up = &u.c, .down = &dn.c, .limit = 3.0f, .sim_fp8 = sim,
                                           .y = y.c};
                struct dsv4_moe_args ag = ac;
                ag.x = x.g;
                ag.ids = id.g;
                ag.weights = w.g;
                ag.gate = &g.g;
                ag.up = &u.g;
                ag.down = &dn.g;
                ag.y = y.g;
                CPU->ops->moe(CPU, &ac);
                GPU->ops->moe(GPU, &ag);
                char d[96];
                snprintf(d, sizeof d, "%s/%s D=%lld I=%lld E=%d k=%d n=%d%s", dsv4_type_name(T[ti].gu),
                         dsv4_type_name(T[ti].dn), (long long)D, (long long)I, E, k, n, sim ? " fp8" : "");
                report_pair("moe", d, y, sim ? 1e-6 : 1e-10);
                drop(x);
                drop(w);
                drop(id);
                drop(y);
                free(xh);
                free(wh);
            }
        free(g.data);
        free(u.data);
        free(dn.data);
    }
}

static void t_elementwise(void)
{
    const int64_t n = 1000;
    float *ah = randv((size_t)n, 3.0f), *bh = randv((size_t)n, 3.0f);
    struct pair a = mkf((size_t)n, ah), b = mkf((size_t)n, bh), h = mkf((size_t)n, NULL);
    if (want("swiglu")) {
        CPU->ops->swiglu(CPU, a.c, b.c, h.c, n, 2.5f);
        GPU->ops->swiglu(GPU, a.g, b.g, h.g, n, 2.5f);
        report_pair("swiglu", "n=1000 limit=2.5", h, 1e-12);
    }
    float *hh = randv((size_t)n, 2.0f);
    CPU->ops->set(CPU, h.c, hh, h.bytes);
    GPU->ops->set(GPU, h.g, hh, h.bytes);
    if (want("add")) {
        CPU->ops->add(CPU, h.c, a.c, n);
        GPU->ops->add(GPU, h.g, a.g, n);
        report_pair("add", "n=1000", h, 0);
    }
    if (want("scale")) {
        CPU->ops->scale(CPU, h.c, 0.37f, n);
        GPU->ops->scale(GPU, h.g, 0.37f, n);
        report_pair("scale", "n=1000", h, 0);
    }
    if (want("fill")) {
        CPU->ops->fill(CPU, h.c, -INFINITY, 17);
        GPU->ops->fill(GPU, h.g, -INFINITY, 17);
        CPU->ops->fill(CPU, (float *)h.c + 17, 2.5f, 100);
        GPU->ops->fill(GPU, (float *)h.g + 17, 2.5f, 100);
        report_pair("fill", "n=17 -inf, n=100 2.5", h, 0);
    }
    if (want("copy")) {
        CPU->ops->copy(CPU, h.c, b.c, (size_t)n * 4);
        GPU->ops->copy(GPU, h.g, b.g, (size_t)n * 4);
        report_pair("copy", "n=1000 (set, copy, get)", h, 0);
    }
    if (want("fp8_round")) {
        struct { int64_t row, rows, nround; int block; } S[] = {{300, 3, 256, 128}, {512, 2, 448, 64}, {4096, 1, 4096, 128}};
        for (unsigned si = 0; si < 3; si++) {
            const size_t m = (size_t)(S[si].row * S[si].rows);
            float *xh = randv(m, 5.0f);
            struct pair x = mkf(m, xh);
            CPU->ops->fp8_round(CPU, x.c, S[si].row, S[si].rows, S[si].nround, S[si].block);
            GPU->ops->fp8_round(GPU, x.g, S[si].row, S[si].rows, S[si].nround, S[si].block);
            char d[96];
            snprintf(d, sizeof d, "row=%lld rows=%lld first %lld, blocks of %d", (long long)S[si].row,
                     (long long)S[si].rows, (long long)S[si].nround, S[si].block);
            report_pair("fp8_round", d, x, 0);
            drop(x);
            free(xh);
        }
    }
    if (want("fp4_hadamard")) {
        const int64_t rows[] = {5, 64};
        for (int si = 0; si < 2; si++) {
            const size_t m = (size_t)(128 * rows[si]);
            float *xh = randv(m, 1.0f);
            struct pair x = mkf(m, xh);
            CPU->ops->fp4_hadamard(CPU, x.c, 128, rows[si], 32);
            GPU->ops->fp4_hadamard(GPU, x.g, 128, rows[si], 32);
            char d[96];
            snprintf(d, sizeof d, "row=128 rows=%lld blocks of 32", (long long)rows[si]);
            report_pair("fp4_hadamard", d, x, 0);
            drop(x);
            free(xh);
        }
    }
    drop(a);
    drop(b);
    drop(h);
    free(ah);
    free(bh);
    free(hh);
}

/* Sampling: the GPU must choose the CPU's token for every logits row, setting and draw. */
static void t_sample(void)
{
    if (!want("sample")) return;
    const int VS[] = {1, 7, 1000, 32000, 129280};
    const char *KINDS[] = {"normal", "ties", "flat", "-inf/nan", "peaked"};
    struct { float temp; int top_k; float top_p; } S[] = {
        {0, 0, 1},       {1.0f, 0, 1},      {0.7f, 40, 1},     {1.0f, 0, 0.9f},
        {0.8f, 50, 0.95f}, {1.5f, 1, 1},    {0.3f, 0, 0.5f},   {2.0f, 1000, 0.99f},
    };
    const int NS = (int)(sizeof S / sizeof S[0]), ND = 10;
    for (unsigned vi = 0; vi < sizeof VS / sizeof VS[0]; vi++)
        for (int kind = 0; kind < 5; kind++) {
            const int V = VS[vi];
            float *lh = randv((size_t)V, 3.0f);
            for (int i = 0; i < V; i++) {
                if (kind == 1) lh[i] = floorf(lh[i] * 2.0f) * 0.5f; /* many equal logits */
                else if (kind == 2) lh[i] = 0.25f;
                else if (kind == 3 && rnd() % 5 == 0) lh[i] = rnd() % 4 ? -INFINITY : NAN;
                else if (kind == 4 && i == V / 3) lh[i] = 40.0f;
            }
            struct pair l = mkf((size_t)V, lh), out = mk(4, NULL);
            int same = 0, total = 0, distinct = 0;
            int32_t seen[64];
            for (int si = 0; si < NS; si++) {
                struct dsv4_sampler smp;
                dsv4_sampler_init(&smp, S[si].temp, S[si].top_k, S[si].top_p, 1000u + (unsigned)si);
                for (int d = 0; d < ND; d++) {
                    /* the extremes of the draw, then the generator's */
                    const uint64_t draw = S[si].temp <= 0 ? 0
                                          : d == 0        ? 0
                                          : d == 1        ? (1ull << 53) - 1
                                                          : dsv4_sampler_draw(&smp);
                    int32_t tc = -2, tg = -3;
                    CPU->ops->sample(CPU, l.c, V, S[si].temp, S[si].top_k, S[si].top_p, draw, out.c);
                    GPU->ops->sample(GPU, l.g, V, S[si].temp, S[si].top_k, S[si].top_p, draw, out.g);
                    CPU->ops->get(CPU, &tc, out.c, 4);
                    GPU->ops->get(GPU, &tg, out.g, 4);
                    total++;
                    if (tc == tg && tc >= 0 && tc < V) same++;
                    else if (total - same <= 3)
                        printf("  sample: V=%d %s temp=%g top_k=%d top_p=%g draw=%llu: cpu %d, gpu %d\n", V, KINDS[kind],
                               S[si].temp, S[si].top_k, S[si].top_p, (unsigned long long)draw, tc, tg);
                    int known = 0;
                    for (int j = 0; j < distinct; j++) known |= seen[j] == tc;
                    if (!known && distinct < 64) seen[distinct++] = tc;
                }
            }
            char desc[96];
            snprintf(desc, sizeof desc, "V=%d %s: %d settings x %d draws", V, KINDS[kind], NS, ND);
            printf("  %-14s %-46s %d of %d tokens equal (%d distinct) %8s\n", "sample", desc, same, total, distinct,
                   same == total ? "ok" : "FAIL");
            same == total ? n_pass++ : n_fail++;
            drop(l);
            drop(out);
            free(lh);
        }
}

static int cmd_ops(void)
{
    printf("op tests: CUDA backend vs CPU reference (nmse = sum (gpu-cpu)^2 / sum cpu^2)\n");
    t_matmul();
    t_get_rows();
    t_rms_norm();
    t_rope();
    t_hc();
    t_compress();
    t_indexer();
    t_attention();
    t_route();
    t_moe();
    t_elementwise();
    t_sample();
    printf("op tests: %d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}

/* ---- whole model ----------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double rel_err(const float *got, const float *ref, size_t V)
{
    double num = 0, den = 0;
    for (size_t v = 0; v < V; v++) {
        if (!isfinite(got[v])) return INFINITY;
        const double d = (double)got[v] - ref[v];
        num += d * d;
        den += (double)ref[v] * ref[v];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

static int argmax(const float *l, size_t V)
{
    size_t b = 0;
    for (size_t v = 1; v < V; v++)
        if (l[v] > l[b]) b = v;
    return (int)b;
}

struct side {
    struct dsv4_model m;
    struct dsv4_backend *b;
    struct dsv4_ctx *ctx;
};

static int open_side(struct side *s, const char *path, struct dsv4_backend *b, const struct dsv4_ctx_params *p)
{
    char err[512];
    memset(s, 0, sizeof *s);
    s->b = b;
    if (dsv4_model_load(&s->m, path, err, sizeof err) ||
        b->ops->load_weights(b, &s->m, NULL, NULL, err, sizeof err) ||
        dsv4_ctx_new(&s->ctx, &s->m, b, p, err, sizeof err)) {
        fprintf(stderr, "model: %s\n", err);
        return -1;
    }
    return 0;
}

static int eval(struct side *s, const int32_t *tok, int n, int step, float *lg, int all)
{
    char err[512];
    const size_t V = s->m.hp.n_vocab;
    for (int i = 0; i < n; i += step) {
        const int cnt = n - i < step ? n - i : step;
        float *out = all ? lg + (size_t)i * V : (i + cnt == n ? lg : NULL);
        if (dsv4_eval(s->ctx, tok + i, cnt, out, all, err, sizeof err)) {
            fprintf(stderr, "model: %s\n", err);
            return -1;
        }
    }
    return 0;
}

static int cmd_model(int argc, char **argv)
{
    const char *path = NULL;
    int N = 300, gen = 64, topk = 0, sim = 0;
    double tol = 1e-3;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--tokens") && i + 1 < argc) N = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--gen") && i + 1 < argc) gen = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--topk") && i + 1 < argc) topk = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tol") && i + 1 < argc) tol = atof(argv[++i]);
        else if (!strcmp(argv[i], "--sim")) sim = 1;
        else path = argv[i];
    }
    if (!path || N < 2) {
        fprintf(stderr, "usage: model FILE [--tokens N] [--gen N] [--topk K] [--sim] [--tol T]\n");
        return 2;
    }
    struct dsv4_ctx_params p = {.n_ctx = N + gen + 8, .n_ubatch = 64, .sim = sim, .topk = topk};
    struct side c, g;
    if (open_side(&c, path, CPU, &p) || open_side(&g, path, GPU, &p)) return 1;
    const size_t V = c.m.hp.n_vocab;
    int32_t *tok = xmalloc((size_t)(N + gen) * sizeof *tok);
    tok[0] = 0;
    rng_state = 99;
    for (int i = 1; i < N; i++) tok[i] = (int32_t)(rnd() % V);
    float *ref = xmalloc((size_t)N * V * sizeof *ref), *got = xmalloc((size_t)N * V * sizeof *got);
    double t0 = now_s();
    if (eval(&c, tok, N, 64, ref, 1)) return 1;
    const double tc = now_s() - t0;
    double pre = 0, dec = 0;
    int pre_at = 0, dec_at = 0, over = 0, first_over = -1;
    t0 = now_s();
    if (eval(&g, tok, N, 64, got, 1)) return 1;
    const double tg = now_s() - t0;
    for (int t = 0; t < N; t++) {
        const double e = rel_err(got + (size_t)t * V, ref + (size_t)t * V, V);
        if (!(e <= pre)) pre = e, pre_at = t;
        if (!(e <= tol)) over++, first_over = first_over < 0 ? t : first_over;
    }
    dsv4_ctx_reset(g.ctx);
    t0 = now_s();
    if (eval(&g, tok, N, 1, got, 1)) return 1;
    const double td = now_s() - t0;
    for (int t = 0; t < N; t++) {
        const double e = rel_err(got + (size_t)t * V, ref + (size_t)t * V, V);
        if (!(e <= dec)) dec = e, dec_at = t;
    }
    /* greedy continuation on each backend from the same prompt */
    int32_t *gc = xmalloc((size_t)gen * sizeof *gc), *gg = xmalloc((size_t)gen * sizeof *gg);
    float *lc = xmalloc(V * sizeof *lc), *lgg = xmalloc(V * sizeof *lgg);
    dsv4_ctx_reset(c.ctx);
    dsv4_ctx_reset(g.ctx);
    if (eval(&c, tok, N, 64, lc, 0) || eval(&g, tok, N, 64, lgg, 0)) return 1;
    int same = 0;
    double step_err = 0;
    for (int s = 0; s < gen; s++) {
        step_err = fmax(step_err, rel_err(lgg, lc, V));
        gc[s] = argmax(lc, V);
        gg[s] = argmax(lgg, V);
        if (gc[s] != gg[s]) break;
        same++;
        if (s + 1 < gen && (eval(&c, &gc[s], 1, 1, lc, 0) || eval(&g, &gg[s], 1, 1, lgg, 0))) return 1;
    }
    const int ok = pre <= tol && dec <= tol && same == gen;
    printf("model %s (%s%s, %d tokens): prefill rel %.2e (pos %d), decode rel %.2e (pos %d), greedy %d/%d same "
           "(step rel %.2e); cpu prefill %.2f s, gpu prefill %.3f s, gpu decode %.1f tok/s  %s\n",
           path, sim ? "simulation" : "exact", topk ? ", topk override" : "", N, pre, pre_at, dec, dec_at, same, gen,
           step_err, tc, tg, N / td, ok ? "ok" : "FAIL");
    if (same < gen) printf("  first differing greedy step %d: cpu %d, gpu %d\n", same, gc[same], gg[same]);
    if (over) printf("  prefill: %d of %d positions over %.0e, the first at position %d\n", over, N, tol, first_over);
    free(tok);
    free(ref);
    free(got);
    free(gc);
    free(gg);
    free(lc);
    free(lgg);
    dsv4_ctx_free(c.ctx);
    dsv4_ctx_free(g.ctx);
    dsv4_model_free(&c.m);
    dsv4_model_free(&g.m);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "ops") && strcmp(argv[1], "model") && strcmp(argv[1], "probe"))) {
        fprintf(stderr,
                "usage: %s probe | ops [-o NAME] | model FILE [--tokens N] [--gen N] [--topk K] [--sim] [--tol T]\n",
                argv[0]);
        return 2;
    }
    char err[512], desc[256];
    struct dsv4_cuda_params cp = {0};
    GPU = dsv4_backend_cuda_new(&cp, err, sizeof err);
    if (!GPU) { /* probe: status 1 tells the caller to skip the rest */
        printf("cuda tests skipped: %s\n", err);
        return strcmp(argv[1], "probe") ? 0 : 1;
    }
    if (!strcmp(argv[1], "probe")) {
        if (!dsv4_cuda_describe(0, desc, sizeof desc)) printf("device: %s\n", desc);
        GPU->ops->destroy(GPU);
        return 0;
    }
    CPU = dsv4_backend_cpu_new(0);
    if (!CPU) return 1;
    if (!dsv4_cuda_describe(0, desc, sizeof desc)) printf("device: %s\n", desc);
    int rc;
    if (!strcmp(argv[1], "ops")) {
        for (int i = 2; i < argc; i++)
            if (!strcmp(argv[i], "-o") && i + 1 < argc) filter = argv[++i];
        rc = cmd_ops();
    } else {
        rc = cmd_model(argc - 2, argv + 2);
    }
    GPU->ops->destroy(GPU);
    CPU->ops->destroy(CPU);
    return rc;
}
