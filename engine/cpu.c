/*
 * cpu.c - the CPU reference backend: every operation of backend.h in fp32, multi-threaded
 * with a pthread pool.
 *
 * Determinism: work is split by output element (matmul rows, tokens, heads); each output
 * is computed by exactly one thread with a fixed summation order that does not depend on
 * the number of tokens in the call, so prefill and token-by-token decode give identical
 * bits, and so does any thread count. Weight rows are decoded block by block from their
 * stored format (dsv4_dot); when several tokens share a row it is decoded once into a
 * per-thread buffer and dotted with dsv4_dot_f32, which is bit-identical by construction.
 */
#include "backend.h"
#include "quant.h"
#include "sample.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- thread pool --------------------------------------------------------------------------- */

typedef void (*range_fn)(void *ctx, int64_t i0, int64_t i1);

struct pool {
    int n_workers; /* threads besides the caller */
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    range_fn fn;
    void *ctx;
    int64_t n_items, grain;
    int64_t next; /* atomic */
    unsigned gen;
    int active, stop;
};

static void run_chunks(struct pool *p)
{
    for (;;) {
        int64_t i0 = __atomic_fetch_add(&p->next, p->grain, __ATOMIC_RELAXED);
        if (i0 >= p->n_items) break;
        int64_t i1 = i0 + p->grain < p->n_items ? i0 + p->grain : p->n_items;
        p->fn(p->ctx, i0, i1);
    }
}

static void scratch_release(void);

static void *worker(void *arg)
{
    struct pool *p = arg;
    unsigned seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->stop) pthread_cond_wait(&p->cv_work, &p->mu);
        if (p->stop) break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        run_chunks(p);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0) pthread_cond_signal(&p->cv_done);
    }
    pthread_mutex_unlock(&p->mu);
    scratch_release();
    return NULL;
}

static int pool_init(struct pool *p, int n_threads)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    p->n_workers = n_threads > 1 ? n_threads - 1 : 0;
    if (!p->n_workers) return 0;
    p->th = calloc((size_t)p->n_workers, sizeof *p->th);
    if (!p->th) return -1;
    for (int i = 0; i < p->n_workers; i++)
        if (pthread_create(&p->th[i], NULL, worker, p)) {
            p->n_workers = i;
            break;
        }
    return 0;
}

static void pool_destroy(struct pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->th[i], NULL);
    free(p->th);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_done);
}

/* Run fn over [0, n) in chunks of grain on all threads; returns when all are done. */
static void parallel_for(struct pool *p, int64_t n, int64_t grain, range_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (!p->n_workers || n <= grain) {
        fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n_items = n;
    p->grain = grain;
    p->next = 0;
    p->active = p->n_workers;
    p->gen++;
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    run_chunks(p);
    pthread_mutex_lock(&p->mu);
    while (p->active) pthread_cond_wait(&p->cv_done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* Grain giving each thread a few chunks. */
static int64_t grain_for(const struct pool *p, int64_t n)
{
    int64_t g = n / (4 * (p->n_workers + 1));
    return g < 1 ? 1 : g;
}

/* Per-thread scratch (grows, never shrinks; freed at thread exit by the OS for workers). */
static _Thread_local float *tl_buf;
static _Thread_local size_t tl_cap;

static float *scratch(size_t n)
{
    if (n > tl_cap) {
        float *q = realloc(tl_buf, n * sizeof *q);
        if (!q) {
            fprintf(stderr, "dsv4: out of memory (thread scratch of %zu floats)\n", n);
            abort();
        }
        tl_buf = q;
        tl_cap = n;
    }
    return tl_buf;
}

static void scratch_release(void)
{
    free(tl_buf);
    tl_buf = NULL;
    tl_cap = 0;
}

struct cpu {
    struct dsv4_backend base;
    struct pool pool;
};

static struct pool *POOL(struct dsv4_backend *b) { return &((struct cpu *)b)->pool; }

/* ---- memory -------------------------------------------------------------------------------- */

static void cpu_destroy(struct dsv4_backend *b)
{
    struct cpu *c = (struct cpu *)b;
    pool_destroy(&c->pool);
    free(c);
}

static void *cpu_alloc(struct dsv4_backend *b, size_t n)
{
    (void)b;
    return calloc(1, n ? n : 1);
}

static void cpu_free(struct dsv4_backend *b, void *p)
{
    (void)b;
    free(p);
}

static void cpu_memcpy(struct dsv4_backend *b, void *dst, const void *src, size_t n)
{
    (void)b;
    if (n) memmove(dst, src, n);
}

static void cpu_fill(struct dsv4_backend *b, float *dst, float v, size_t n)
{
    (void)b;
    for (size_t i = 0; i < n; i++) dst[i] = v;
}

static int cpu_load_weights(struct dsv4_backend *b, struct dsv4_model *m,
                            void (*progress)(void *ud, size_t done, size_t total), void *ud, char *err,
                            size_t errlen)
{
    (void)b;
    (void)err;
    (void)errlen;
    for (int i = 0; i < m->n_tensors; i++) {
        struct dsv4_tensor *t = &m->tensors[i];
        t->bdata = t->f32 ? (void *)t->f32 : (void *)t->data;
    }
    if (progress) progress(ud, (size_t)m->n_tensors, (size_t)m->n_tensors);
    return 0;
}

/* ---- matmul -------------------------------------------------------------------------------- */

struct mm {
    const struct dsv4_tensor *w;
    int64_t row0;
    const float *x;
    int64_t xs;
    float *y;
    int64_t ys;
    int n;
};

static void mm_rows(void *vctx, int64_t r0, int64_t r1)
{
    const struct mm *c = vctx;
    const struct dsv4_tensor *w = c->w;
    const int64_t ne0 = w->ne[0];
    const uint8_t *base = (const uint8_t *)w->bdata;
    float *row = c->n > 1 && w->type != DSV4_TYPE_F32 ? scratch((size_t)ne0) : NULL;
    for (int64_t r = r0; r < r1; r++) {
        const void *wr = base + (size_t)(c->row0 + r) * w->nb1;
        if (c->n == 1) {
            c->y[r] = dsv4_dot(w->type, wr, c->x, ne0);
            continue;
        }
        const float *rf = wr;
        if (row) {
            dsv4_dequantize_row(w->type, wr, row, ne0);
            rf = row;
        }
        for (int t = 0; t < c->n; t++) c->y[(int64_t)t * c->ys + r] = dsv4_dot_f32(rf, c->x + (int64_t)t * c->xs, ne0);
    }
}

static void cpu_matmul(struct dsv4_backend *b, const struct dsv4_tensor *w, int64_t row0, int64_t nr, const float *x,
                       int64_t xs, float *y, int64_t ys, int n)
{
    struct mm c = {w, row0, x, xs, y, ys, n};
    parallel_for(POOL(b), nr, grain_for(POOL(b), nr), mm_rows, &c);
}

static void cpu_get_rows(struct dsv4_backend *b, const struct dsv4_tensor *w, const int32_t *ids, int n, float *out)
{
    (void)b;
    for (int i = 0; i < n; i++)
        dsv4_dequantize_row(w->type, (const uint8_t *)w->bdata + (size_t)ids[i] * w->nb1, out + (int64_t)i * w->ne[0],
                            w->ne[0]);
}

/* ---- elementwise ---------------------------------------------------------------------------- */

static void rms_row(const float *x, float *y, const float *w, int64_t dim, float eps)
{
    double ss = 0;
    for (int64_t i = 0; i < dim; i++) ss += (double)x[i] * x[i];
    const float r = 1.0f / sqrtf((float)(ss / (double)dim) + eps);
    if (w)
        for (int64_t i = 0; i < dim; i++) y[i] = w[i] * (x[i] * r);
    else
        for (int64_t i = 0; i < dim; i++) y[i] = x[i] * r;
}

struct rn {
    const float *x;
    float *y;
    const float *w;
    int64_t dim;
    float eps;
};

static void rn_rows(void *vc, int64_t r0, int64_t r1)
{
    const struct rn *c = vc;
    for (int64_t r = r0; r < r1; r++) rms_row(c->x + r * c->dim, c->y + r * c->dim, c->w, c->dim, c->eps);
}

static void cpu_rms_norm(struct dsv4_backend *b, const float *x, float *y, const float *w, int64_t dim, int64_t rows,
                         float eps)
{
    struct rn c = {x, y, w, dim, eps};
    parallel_for(POOL(b), rows, rows * dim < 65536 ? rows : grain_for(POOL(b), rows), rn_rows, &c);
}

static void rope_row(float *x, int n_rot, double pos, const float *freqs, int inverse)
{
    for (int i = 0; i < n_rot / 2; i++) {
        float ang = (float)pos * freqs[i];
        float c = (float)cos((double)ang), s = (float)sin((double)ang);
        if (inverse) s = -s;
        float a = x[2 * i], bb = x[2 * i + 1];
        x[2 * i] = a * c - bb * s;
        x[2 * i + 1] = a * s + bb * c;
    }
}

static void cpu_rope(struct dsv4_backend *b, float *x, int64_t row_len, int rows_per_tok, int n, int64_t off,
                     int n_rot, int64_t pos0, int64_t pos_step, const float *freqs, int inverse)
{
    (void)b;
    for (int t = 0; t < n; t++)
        for (int r = 0; r < rows_per_tok; r++)
            rope_row(x + ((int64_t)t * rows_per_tok + r) * row_len + off, n_rot, (double)(pos0 + t * pos_step), freqs,
                     inverse);
}

static void cpu_hc_expand(struct dsv4_backend *b, const float *e, float *X, int n, int hc, int64_t D)
{
    (void)b;
    for (int t = 0; t < n; t++)
        for (int s = 0; s < hc; s++) memcpy(X + ((int64_t)t * hc + s) * D, e + (int64_t)t * D, (size_t)D * sizeof *X);
}

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* mix[t, j] = (fn_j . X[t]) / rms(X[t]) for all tokens, rows of fn in parallel. */
static float *hc_mix(struct dsv4_backend *b, const struct dsv4_hc_args *a, int nmix)
{
    const int64_t W = (int64_t)a->hc * a->D;
    float *mix = malloc((size_t)a->n * (size_t)nmix * sizeof *mix);
    if (!mix) {
        fprintf(stderr, "dsv4: out of memory\n");
        abort();
    }
    cpu_matmul(b, a->fn, 0, nmix, a->X, W, mix, nmix, a->n);
    for (int t = 0; t < a->n; t++) {
        const float *x = a->X + t * W;
        double ss = 0;
        for (int64_t i = 0; i < W; i++) ss += (double)x[i] * x[i];
        const float r = 1.0f / sqrtf((float)(ss / (double)W) + a->rms_eps);
        for (int j = 0; j < nmix; j++) mix[t * nmix + j] *= r;
    }
    return mix;
}

static void collapse(const float *X, const float *pre, int hc, int64_t D, float *u)
{
    for (int64_t i = 0; i < D; i++) {
        float s = 0;
        for (int j = 0; j < hc; j++) s += pre[j] * X[j * D + i];
        u[i] = s;
    }
}

static void cpu_hc_pre(struct dsv4_backend *b, const struct dsv4_hc_args *a)
{
    const int hc = a->hc, nmix = (2 + hc) * hc;
    float *mix = hc_mix(b, a, nmix);
    float pre[64], A[64 * 64];
    for (int t = 0; t < a->n; t++) {
        const float *mx = mix + t * nmix;
        for (int j = 0; j < hc; j++) {
            pre[j] = sigmoidf(mx[j] * a->scale[0] + a->base[j]) + a->hc_eps;
            a->post[t * hc + j] = 2.0f * sigmoidf(mx[hc + j] * a->scale[1] + a->base[hc + j]);
        }
        for (int j = 0; j < hc; j++) { /* row softmax + eps */
            float *row = A + j * hc, mxv = -INFINITY, sum = 0;
            for (int k = 0; k < hc; k++) {
                row[k] = mx[2 * hc + j * hc + k] * a->scale[2] + a->base[2 * hc + j * hc + k];
                mxv = fmaxf(mxv, row[k]);
            }
            for (int k = 0; k < hc; k++) sum += (row[k] = expf(row[k] - mxv));
            for (int k = 0; k < hc; k++) row[k] = row[k] / sum + a->hc_eps;
        }
        for (int it = 0; it < a->iters; it++) {
            if (it > 0)
                for (int j = 0; j < hc; j++) {
                    float s = 0;
                    for (int k = 0; k < hc; k++) s += A[j * hc + k];
                    for (int k = 0; k < hc; k++) A[j * hc + k] /= s + a->hc_eps;
                }
            for (int k = 0; k < hc; k++) {
                float s = 0;
                for (int j = 0; j < hc; j++) s += A[j * hc + k];
                for (int j = 0; j < hc; j++) A[j * hc + k] /= s + a->hc_eps;
            }
        }
        memcpy(a->comb + (int64_t)t * hc * hc, A, (size_t)hc * hc * sizeof *A);
        collapse(a->X + (int64_t)t * hc * a->D, pre, hc, a->D, a->u + (int64_t)t * a->D);
    }
    free(mix);
}

static void cpu_hc_head(struct dsv4_backend *b, const struct dsv4_hc_args *a)
{
    const int hc = a->hc;
    float *mix = hc_mix(b, a, hc);
    float pre[64];
    for (int t = 0; t < a->n; t++) {
        for (int j = 0; j < hc; j++) pre[j] = sigmoidf(mix[t * hc + j] * a->scale[0] + a->base[j]) + a->hc_eps;
        collapse(a->X + (int64_t)t * hc * a->D, pre, hc, a->D, a->u + (int64_t)t * a->D);
    }
    free(mix);
}

static void cpu_hc_post(struct dsv4_backend *b, const float *X, const float *f, const float *post, const float *comb,
                        int n, int hc, int64_t D, float *Xout)
{
    (void)b;
    for (int t = 0; t < n; t++) {
        const float *Xt = X + (int64_t)t * hc * D, *ft = f + (int64_t)t * D, *cb = comb + (int64_t)t * hc * hc;
        for (int k = 0; k < hc; k++) {
            float *o = Xout + ((int64_t)t * hc + k) * D;
            const float pk = post[t * hc + k];
            for (int64_t i = 0; i < D; i++) {
                float s = pk * ft[i];
                for (int j = 0; j < hc; j++) s += cb[j * hc + k] * Xt[j * D + i];
                o[i] = s;
            }
        }
    }
}

/* ---- compressor ------------------------------------------------------------------------------ */

static void sim_row(float *x, int64_t c, int n_rot, int sim)
{
    if (sim == DSV4_SIM_FP8_KV) dsv4_fp8_round_blocks(x, c - n_rot, 64);
    else if (sim == DSV4_SIM_FP4_HADA) {
        dsv4_hadamard(x, (int)c);
        dsv4_fp4_round_blocks(x, c, 32);
    }
}

static void cpu_compress(struct dsv4_backend *b, const struct dsv4_compress_args *a)
{
    (void)b;
    const int m = a->ratio, coff = a->overlap ? 2 : 1;
    const int64_t c = a->c, w = coff * c, rowlen = 2 * w;
    float *ape = scratch((size_t)w);
    for (int i = 0; i < a->n; i++) {
        const int64_t s = a->pos0 + i;
        const int slot = (a->overlap ? m : 0) + (int)(s % m);
        float *row = a->state + slot * rowlen;
        memcpy(row, a->a + (int64_t)i * w, (size_t)w * sizeof *row);
        dsv4_dequantize_row(a->ape->type, (const uint8_t *)a->ape->bdata + (size_t)(s % m) * a->ape->nb1, ape, w);
        for (int64_t j = 0; j < w; j++) row[w + j] = a->z[(int64_t)i * w + j] + ape[j];
        if ((s + 1) % m) continue;
        const int64_t e = s / m;
        float *out = a->entries + e * c;
        const int nslots = coff * m;
        for (int64_t j = 0; j < c; j++) {
            float mx = -INFINITY, sum = 0, acc = 0;
            for (int k = 0; k < nslots; k++) {
                const int64_t ch = a->overlap && k >= m ? c + j : j;
                mx = fmaxf(mx, a->state[k * rowlen + w + ch]);
            }
            for (int k = 0; k < nslots; k++) {
                const int64_t ch = a->overlap && k >= m ? c + j : j;
                float p = expf(a->state[k * rowlen + w + ch] - mx);
                sum += p;
                acc += p * a->state[k * rowlen + ch];
            }
            out[j] = acc / sum;
        }
        rms_row(out, out, a->norm, c, a->eps);
        rope_row(out + c - a->n_rot, a->n_rot, (double)(e * m), a->freqs, 0);
        sim_row(out, c, a->n_rot, a->sim);
        if (a->overlap) memcpy(a->state, a->state + (int64_t)m * rowlen, (size_t)m * rowlen * sizeof *a->state);
    }
}

/* ---- indexer ----------------------------------------------------------------------------------- */

struct ix {
    const struct dsv4_index_args *a;
};

static void ix_tokens(void *vc, int64_t t0, int64_t t1)
{
    const struct dsv4_index_args *a = ((const struct ix *)vc)->a;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t p = a->pos0 + t, nv = (p + 1) / a->ratio;
        int32_t *out = a->out + t * a->topk;
        if (nv <= a->topk) {
            for (int k = 0; k < a->topk; k++) out[k] = k < nv ? k : -1;
            continue;
        }
        float *score = scratch((size_t)nv);
        const float *q = a->q + t * a->nI * a->cI, *w = a->w + t * a->nI;
        for (int64_t i = 0; i < nv; i++) {
            float s = 0;
            for (int h = 0; h < a->nI; h++) {
                float d = dsv4_dot_f32(q + h * a->cI, a->keys + i * a->cI, a->cI);
                s += w[h] * (d > 0 ? d : 0);
            }
            score[i] = s;
        }
        /* top-k by insertion into out[], kept sorted by (score desc, index asc); a
         * candidate only enters when strictly better than the current k-th */
        int k = 0;
        for (int64_t i = 0; i < nv; i++) {
            /* insert i into out[0..k) kept sorted by (score desc, index asc) */
            if (k == a->topk) {
                int32_t last = out[k - 1];
                if (!(score[i] > score[last])) continue; /* ties keep the lower index */
                k--;
            }
            int j = k;
            while (j > 0 && score[i] > score[out[j - 1]]) {
                out[j] = out[j - 1];
                j--;
            }
            out[j] = (int32_t)i;
            k++;
        }
    }
}

static void cpu_indexer_topk(struct dsv4_backend *b, const struct dsv4_index_args *a)
{
    struct ix c = {a};
    parallel_for(POOL(b), a->n, 1, ix_tokens, &c);
}

/* ---- attention ---------------------------------------------------------------------------------- */

struct at {
    const struct dsv4_attn_args *a;
};

static void at_items(void *vc, int64_t i0, int64_t i1)
{
    const struct dsv4_attn_args *a = ((const struct at *)vc)->a;
    const int64_t d = a->d;
    for (int64_t it = i0; it < i1; it++) {
        const int64_t t = it / a->H, h = it % a->H, p = a->pos0 + t;
        const float *q = a->q + (t * a->H + h) * d;
        float *o = a->o + (t * a->H + h) * d;
        const int64_t lo = p - a->window + 1 > 0 ? p - a->window + 1 : 0;
        const int64_t nwin = p - lo + 1;
        int64_t ncomp = 0;
        const int64_t nv = a->comp && a->ratio ? (p + 1) / a->ratio : 0;
        const int32_t *sel = a->sel ? a->sel + t * a->topk : NULL;
        if (a->comp) ncomp = sel ? a->topk : nv;
        float *lg = scratch((size_t)(nwin + ncomp));
        float mx = a->sinks[h];
        for (int64_t r = 0; r < nwin; r++) {
            lg[r] = dsv4_dot_f32(q, a->win + ((lo + r) % a->win_cap) * d, d) * a->scale;
            mx = fmaxf(mx, lg[r]);
        }
        for (int64_t r = 0; r < ncomp; r++) {
            int64_t e = sel ? sel[r] : r;
            if (e < 0 || e >= nv) {
                lg[nwin + r] = -INFINITY;
                continue;
            }
            lg[nwin + r] = dsv4_dot_f32(q, a->comp + e * d, d) * a->scale;
            mx = fmaxf(mx, lg[nwin + r]);
        }
        float sum = expf(a->sinks[h] - mx);
        for (int64_t r = 0; r < nwin + ncomp; r++) sum += (lg[r] = expf(lg[r] - mx));
        for (int64_t i = 0; i < d; i++) o[i] = 0;
        for (int64_t r = 0; r < nwin + ncomp; r++) {
            if (lg[r] == 0) continue;
            const float pr = lg[r] / sum;
            const float *kv = r < nwin ? a->win + ((lo + r) % a->win_cap) * d
                                       : a->comp + (int64_t)(sel ? sel[r - nwin] : r - nwin) * d;
            for (int64_t i = 0; i < d; i++) o[i] += pr * kv[i];
        }
    }
}

static void cpu_attention(struct dsv4_backend *b, const struct dsv4_attn_args *a)
{
    struct at c = {a};
    int64_t n = (int64_t)a->n * a->H;
    parallel_for(POOL(b), n, 1, at_items, &c);
}

/* ---- routing and experts ------------------------------------------------------------------------- */

static void cpu_route(struct dsv4_backend *b, const struct dsv4_route_args *a)
{
    (void)b;
    float *s = scratch((size_t)a->E);
    for (int t = 0; t < a->n; t++) {
        const float *l = a->logits + (int64_t)t * a->E;
        int32_t *ids = a->ids + t * a->k;
        float *w = a->weights + t * a->k;
        for (int e = 0; e < a->E; e++) {
            float sp = l[e] > 20.f ? l[e] : log1pf(expf(l[e]));
            s[e] = sqrtf(sp);
        }
        if (a->tid2eid) {
            const uint8_t *row = (const uint8_t *)a->tid2eid->bdata + (size_t)a->tokens[t] * a->tid2eid->nb1;
            for (int k = 0; k < a->k; k++) memcpy(&ids[k], row + 4 * k, 4);
        } else {
            int k = 0;
            for (int e = 0; e < a->E; e++) { /* sorted insert, ties keep the lower expert id */
                float v = s[e] + (a->bias ? a->bias[e] : 0);
                if (k == a->k) {
                    int32_t last = ids[k - 1];
                    if (!(v > s[last] + (a->bias ? a->bias[last] : 0))) continue;
                    k--;
                }
                int j = k;
                while (j > 0 && v > s[ids[j - 1]] + (a->bias ? a->bias[ids[j - 1]] : 0)) {
                    ids[j] = ids[j - 1];
                    j--;
                }
                ids[j] = e;
                k++;
            }
        }
        float sum = 0;
        for (int k = 0; k < a->k; k++) sum += (w[k] = s[ids[k]]);
        for (int k = 0; k < a->k; k++) w[k] = (a->norm ? w[k] / (sum + 1e-20f) : w[k]) * a->scale;
    }
}

static inline float swiglu1(float g, float u, float limit)
{
    g = fminf(g, limit);
    u = fminf(fmaxf(u, -limit), limit);
    return g / (1.0f + expf(-g)) * u;
}

static void cpu_swiglu(struct dsv4_backend *b, const float *g, const float *u, float *h, int64_t n, float limit)
{
    (void)b;
    for (int64_t i = 0; i < n; i++) h[i] = swiglu1(g[i], u[i], limit);
}

struct moe_ctx {
    const struct dsv4_moe_args *a;
    const float *xin;   /* [n, D] expert input (possibly FP8-rounded) */
    float *G, *U;       /* [n*k, I] */
    float *H;           /* [n*k, I] */
    float *Y;           /* [n*k, D] */
    int32_t *order;     /* (t*k+slot) grouped by expert */
    int32_t *estart;    /* [E+1] */
    int32_t *active;    /* active experts */
    int n_active;
};

static void moe_up(void *vc, int64_t r0, int64_t r1)
{
    const struct moe_ctx *c = vc;
    const struct dsv4_moe_args *a = c->a;
    const int64_t D = a->D, I = a->I;
    float *rg = scratch((size_t)(2 * D));
    float *ru = rg + D;
    for (int ai = 0; ai < c->n_active; ai++) {
        const int e = c->active[ai];
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *wg = (const uint8_t *)a->gate->bdata + (size_t)((int64_t)e * I + r) * a->gate->nb1;
            const uint8_t *wu = (const uint8_t *)a->up->bdata + (size_t)((int64_t)e * I + r) * a->up->nb1;
            const int many = c->estart[e + 1] - c->estart[e] > 1;
            if (many) {
                dsv4_dequantize_row(a->gate->type, wg, rg, D);
                dsv4_dequantize_row(a->up->type, wu, ru, D);
            }
            for (int32_t q = c->estart[e]; q < c->estart[e + 1]; q++) {
                const int32_t ts = c->order[q];
                const float *x = c->xin + (int64_t)(ts / a->k) * D;
                c->G[(int64_t)ts * I + r] = many ? dsv4_dot_f32(rg, x, D) : dsv4_dot(a->gate->type, wg, x, D);
                c->U[(int64_t)ts * I + r] = many ? dsv4_dot_f32(ru, x, D) : dsv4_dot(a->up->type, wu, x, D);
            }
        }
    }
}

static void moe_down(void *vc, int64_t r0, int64_t r1)
{
    const struct moe_ctx *c = vc;
    const struct dsv4_moe_args *a = c->a;
    const int64_t D = a->D, I = a->I;
    float *rd = scratch((size_t)I);
    for (int ai = 0; ai < c->n_active; ai++) {
        const int e = c->active[ai];
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *wd = (const uint8_t *)a->down->bdata + (size_t)((int64_t)e * D + r) * a->down->nb1;
            const int many = c->estart[e + 1] - c->estart[e] > 1;
            if (many) dsv4_dequantize_row(a->down->type, wd, rd, I);
            for (int32_t q = c->estart[e]; q < c->estart[e + 1]; q++) {
                const int32_t ts = c->order[q];
                const float *h = c->H + (int64_t)ts * I;
                c->Y[(int64_t)ts * D + r] = many ? dsv4_dot_f32(rd, h, I) : dsv4_dot(a->down->type, wd, h, I);
            }
        }
    }
}

static void cpu_moe(struct dsv4_backend *b, const struct dsv4_moe_args *a)
{
    const int n = a->n, k = a->k, E = (int)a->gate->ne[2];
    const int64_t D = a->D, I = a->I, nk = (int64_t)n * k;
    struct moe_ctx c = {.a = a};
    float *xq = NULL;
    c.xin = a->x;
    if (a->sim_fp8) {
        xq = malloc((size_t)(n * D) * sizeof *xq);
        if (!xq) abort();
        memcpy(xq, a->x, (size_t)(n * D) * sizeof *xq);
        for (int t = 0; t < n; t++) dsv4_fp8_round_blocks(xq + t * D, D, 128);
        c.xin = xq;
    }
    c.G = malloc((size_t)(nk * I) * sizeof(float));
    c.U = malloc((size_t)(nk * I) * sizeof(float));
    c.H = malloc((size_t)(nk * I) * sizeof(float));
    c.Y = malloc((size_t)(nk * D) * sizeof(float));
    c.order = malloc((size_t)nk * sizeof(int32_t));
    c.estart = calloc((size_t)E + 1, sizeof(int32_t));
    c.active = malloc((size_t)E * sizeof(int32_t));
    if (!c.G || !c.U || !c.H || !c.Y || !c.order || !c.estart || !c.active) {
        fprintf(stderr, "dsv4: out of memory in moe\n");
        abort();
    }
    /* group (token, slot) by expert, in token order within each expert */
    for (int64_t i = 0; i < nk; i++) c.estart[a->ids[i] + 1]++;
    for (int e = 0; e < E; e++) c.estart[e + 1] += c.estart[e];
    int32_t *fill = malloc((size_t)E * sizeof(int32_t));
    if (!fill) abort();
    memcpy(fill, c.estart, (size_t)E * sizeof(int32_t));
    for (int64_t i = 0; i < nk; i++) c.order[fill[a->ids[i]]++] = (int32_t)i;
    free(fill);
    for (int e = 0; e < E; e++)
        if (c.estart[e + 1] > c.estart[e]) c.active[c.n_active++] = e;

    parallel_for(POOL(b), I, grain_for(POOL(b), I), moe_up, &c);
    for (int64_t i = 0; i < nk; i++) {
        const float w = a->weights[i];
        float *h = c.H + i * I;
        for (int64_t r = 0; r < I; r++) h[r] = swiglu1(c.G[i * I + r], c.U[i * I + r], a->limit) * w;
        if (a->sim_fp8) dsv4_fp8_round_blocks(h, I, 128);
    }
    parallel_for(POOL(b), D, grain_for(POOL(b), D), moe_down, &c);
    for (int t = 0; t < n; t++) {
        float *y = a->y + (int64_t)t * D;
        for (int64_t r = 0; r < D; r++) {
            float s = 0;
            for (int j = 0; j < k; j++) s += c.Y[((int64_t)t * k + j) * D + r];
            y[r] = s;
        }
    }
    free(xq);
    free(c.G);
    free(c.U);
    free(c.H);
    free(c.Y);
    free(c.order);
    free(c.estart);
    free(c.active);
}

static void cpu_add(struct dsv4_backend *b, float *y, const float *x, int64_t n)
{
    (void)b;
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

static void cpu_scale(struct dsv4_backend *b, float *x, float s, int64_t n)
{
    (void)b;
    for (int64_t i = 0; i < n; i++) x[i] *= s;
}

static void cpu_fp8_round(struct dsv4_backend *b, float *x, int64_t row_len, int64_t rows, int64_t nround, int block)
{
    (void)b;
    for (int64_t r = 0; r < rows; r++) dsv4_fp8_round_blocks(x + r * row_len, nround, block);
}

static void cpu_fp4_hadamard(struct dsv4_backend *b, float *x, int64_t row_len, int64_t rows, int block)
{
    (void)b;
    for (int64_t r = 0; r < rows; r++) {
        dsv4_hadamard(x + r * row_len, (int)row_len);
        dsv4_fp4_round_blocks(x + r * row_len, row_len, block);
    }
}

static void cpu_sample(struct dsv4_backend *b, const float *logits, int n, float temp, int top_k, float top_p,
                       uint64_t draw, int32_t *out)
{
    (void)b;
    *out = dsv4_sample_pick(logits, n, temp, top_k, top_p, draw);
}

static const struct dsv4_backend_ops CPU_OPS = {
    .name = "cpu",
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .set = cpu_memcpy,
    .get = cpu_memcpy,
    .copy = cpu_memcpy,
    .fill = cpu_fill,
    .load_weights = cpu_load_weights,
    .get_rows = cpu_get_rows,
    .matmul = cpu_matmul,
    .rms_norm = cpu_rms_norm,
    .rope = cpu_rope,
    .hc_expand = cpu_hc_expand,
    .hc_pre = cpu_hc_pre,
    .hc_post = cpu_hc_post,
    .hc_head = cpu_hc_head,
    .compress = cpu_compress,
    .indexer_topk = cpu_indexer_topk,
    .attention = cpu_attention,
    .route = cpu_route,
    .moe = cpu_moe,
    .swiglu = cpu_swiglu,
    .add = cpu_add,
    .scale = cpu_scale,
    .fp8_round = cpu_fp8_round,
    .fp4_hadamard = cpu_fp4_hadamard,
    .sample = cpu_sample,
};

struct dsv4_backend *dsv4_backend_cpu_new(int n_threads)
{
    struct cpu *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)n : 1;
    }
    if (pool_init(&c->pool, n_threads)) {
        free(c);
        return NULL;
    }
    c->base.ops = &CPU_OPS;
    c->base.impl = c;
    return &c->base;
}
