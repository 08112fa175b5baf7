/*
 * forward.c - the DeepSeek-V4 forward pass over backend operations, and sequence state.
 *
 * One chunk of n tokens at positions pos0.. goes through:
 *   embedding -> X (hc identical streams)
 *   per layer: mHC pre -> RMSNorm -> attention -> mHC post
 *              mHC pre -> RMSNorm -> MoE (routed + shared) -> mHC post
 *   head: HC collapse -> RMSNorm -> output projection.
 * Attention: low-rank q with per-head RMSNorm and RoPE on the trailing n_rot dims; one
 * shared K=V row per token (RMSNorm, RoPE) stored in a ring of win_cap >= W + n_ubatch rows;
 * compressed layers feed their compressor (ratio 4: overlapping windows + a second,
 * smaller compressor whose entries are the indexer keys) whose entries join the window
 * rows in one softmax with a per-head sink; the output's RoPE dims are rotated back by the
 * query position, then the grouped output projection.
 *
 * State per layer: ring `win`; for ratio m > 0 the compressed entries (capacity n_ctx/m)
 * and the compressor slots [coff*m rows of (a | z)]: slot (overlap ? m : 0) + s mod m holds
 * token s; with overlap, slots 0..m-1 hold the previous window (z = -inf before the first
 * window) and are refreshed from m..2m-1 after each entry.
 *
 * Quantisation simulation (params.sim), following the official runtime: inputs of the
 * FP8/FP4 linears (wq_a, wkv, wq_b, indexer wq_b, wo_b, shared and routed experts) are
 * rounded through e4m3 in blocks of 128; window rows and compressed entries through e4m3
 * on their first d - n_rot dims (blocks of 64); indexer queries and keys are
 * Hadamard-rotated and rounded through e2m1 (blocks of 32). bf16 storage of activations
 * and of attention probabilities is not simulated.
 */
#include "forward.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct lstate {
    float *win;      /* [win_cap, d] */
    float *comp;     /* [cap_comp, d] */
    float *cstate;   /* [coff*m, 2*coff*d] */
    float *ikeys;    /* [cap_comp, cI] (ratio 4) */
    float *istate;   /* [8, 4*cI] */
    int64_t cap_comp;
};

struct dsv4_ctx {
    const struct dsv4_model *m;
    struct dsv4_backend *b;
    const struct dsv4_backend_ops *op;
    struct dsv4_ctx_params p;
    int64_t pos, win_cap;
    int topk;
    float *freq_main, *freq_comp;
    struct lstate *ls;
    /* chunk scratch (backend memory) */
    float *X, *X2, *emb, *u, *xn, *xs, *post, *comb;
    float *qa, *qr, *qrs, *q, *o, *kv, *ca, *cz, *ia, *iz, *qi, *iw;
    float *z, *zs, *f, *rl, *rw, *g, *up, *h, *fs, *y, *logits;
    int32_t *sel, *ids, *tok, *next;
    float *host_X;
    void (*trace)(void *ud, int layer, int64_t pos0, int n, const float *X);
    void *trace_ud;
    void **allocs;
    int n_allocs;
};

static void *balloc(struct dsv4_ctx *c, size_t bytes, int *fail)
{
    void *p = c->op->alloc(c->b, bytes);
    if (!p) {
        *fail = 1;
        return NULL;
    }
    c->allocs[c->n_allocs++] = p;
    return p;
}

void dsv4_ctx_free(struct dsv4_ctx *c)
{
    if (!c) return;
    for (int i = 0; i < c->n_allocs; i++) c->op->free(c->b, c->allocs[i]);
    free(c->allocs);
    free(c->ls);
    free(c->host_X);
    free(c);
}

/* Initial compressor slots: previous-window z = -inf (a = 0) so it gets no weight. */
static void init_state(struct dsv4_ctx *c)
{
    const struct dsv4_hparams *hp = &c->m->hp;
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const uint32_t m = hp->ratio[l];
        struct lstate *s = &c->ls[l];
        if (!m) continue;
        const int coff = m == 4 ? 2 : 1;
        const int64_t w = coff * (int64_t)hp->head_dim;
        c->op->fill(c->b, s->cstate, 0, (size_t)(coff * m) * 2 * w);
        if (m == 4) {
            for (uint32_t r = 0; r < m; r++) c->op->fill(c->b, s->cstate + r * 2 * w + w, -INFINITY, (size_t)w);
            const int64_t wi = 2 * (int64_t)hp->idx_dim;
            c->op->fill(c->b, s->istate, 0, (size_t)8 * 2 * wi);
            for (int r = 0; r < 4; r++) c->op->fill(c->b, s->istate + r * 2 * wi + wi, -INFINITY, (size_t)wi);
        }
    }
}

int dsv4_ctx_new(struct dsv4_ctx **out, const struct dsv4_model *m, struct dsv4_backend *b,
                 const struct dsv4_ctx_params *p, char *err, size_t errlen)
{
    *out = NULL;
    const struct dsv4_hparams *hp = &m->hp;
    if (!m->tok_embd->bdata) {
        dsv4_seterr(err, errlen, "forward: the backend has not loaded the weights");
        return -1;
    }
    struct dsv4_ctx *c = calloc(1, sizeof *c);
    if (!c) goto oom;
    c->m = m;
    c->b = b;
    c->op = b->ops;
    c->p = *p;
    if (c->p.n_ctx <= 0) c->p.n_ctx = 4096;
    if (c->p.n_ubatch <= 0) c->p.n_ubatch = 64;
    c->topk = c->p.topk > 0 ? c->p.topk : (int)hp->idx_topk;
    c->win_cap = (int64_t)hp->n_swa + c->p.n_ubatch;
    c->ls = calloc(hp->n_layer, sizeof *c->ls);
    c->allocs = calloc(64 + 8 * (size_t)hp->n_layer, sizeof *c->allocs);
    if (!c->ls || !c->allocs) goto oom;

    const int64_t U = c->p.n_ubatch, D = hp->n_embd, hc = hp->n_hc, d = hp->head_dim, H = hp->n_head;
    const int64_t cI = hp->idx_dim, nI = hp->idx_head, I = hp->n_ff_exp, E = hp->n_expert;
    const int64_t k = hp->n_expert_used, V = hp->n_vocab, gl = (int64_t)hp->o_groups * hp->o_lora;
    const size_t F = sizeof(float);
    int fail = 0;
    c->freq_main = balloc(c, (size_t)hp->n_rot / 2 * F, &fail);
    c->freq_comp = balloc(c, (size_t)hp->n_rot / 2 * F, &fail);
    for (uint32_t l = 0; l < hp->n_layer && !fail; l++) {
        struct lstate *s = &c->ls[l];
        const uint32_t r = hp->ratio[l];
        s->win = balloc(c, (size_t)(c->win_cap * d) * F, &fail);
        if (!r) continue;
        const int coff = r == 4 ? 2 : 1;
        s->cap_comp = c->p.n_ctx / r + 1;
        s->comp = balloc(c, (size_t)(s->cap_comp * d) * F, &fail);
        s->cstate = balloc(c, (size_t)(coff * r) * 2 * coff * (size_t)d * F, &fail);
        if (r == 4) {
            s->ikeys = balloc(c, (size_t)(s->cap_comp * cI) * F, &fail);
            s->istate = balloc(c, (size_t)8 * 4 * (size_t)cI * F, &fail);
        }
    }
#define A(field, count) c->field = balloc(c, (size_t)(count) * F, &fail)
    A(X, U * hc * D);
    A(X2, U * hc * D);
    A(emb, U * D);
    A(u, U * D);
    A(xn, U * D);
    A(xs, U * D);
    A(post, U * hc);
    A(comb, U * hc * hc);
    A(qa, U * hp->q_lora);
    A(qr, U * hp->q_lora);
    A(qrs, U * hp->q_lora);
    A(q, U * H * d);
    A(o, U * H * d);
    A(kv, U * d);
    A(ca, U * 2 * d);
    A(cz, U * 2 * d);
    A(ia, U * 2 * cI);
    A(iz, U * 2 * cI);
    A(qi, U * nI * cI);
    A(iw, U * nI);
    A(z, U * gl);
    A(zs, U * gl);
    A(f, U * D);
    A(rl, U * E);
    A(rw, U * k);
    A(g, U * I);
    A(up, U * I);
    A(h, U * I);
    A(fs, U * D);
    A(y, U * D);
    A(logits, U * V);
#undef A
    c->sel = balloc(c, (size_t)(U * c->topk) * sizeof(int32_t), &fail);
    c->ids = balloc(c, (size_t)(U * k) * sizeof(int32_t), &fail);
    c->tok = balloc(c, (size_t)U * sizeof(int32_t), &fail);
    c->next = balloc(c, sizeof(int32_t), &fail);
    if (fail) {
        dsv4_ctx_free(c);
        dsv4_seterr(err, errlen, "forward: out of %s memory for a context of %lld positions", b->ops->name,
                    (long long)c->p.n_ctx);
        return -1;
    }
    float *fr = malloc((size_t)hp->n_rot / 2 * F);
    if (!fr) goto oom;
    dsv4_rope_freqs(hp, 0, fr);
    c->op->set(b, c->freq_main, fr, (size_t)hp->n_rot / 2 * F);
    dsv4_rope_freqs(hp, 1, fr);
    c->op->set(b, c->freq_comp, fr, (size_t)hp->n_rot / 2 * F);
    free(fr);
    init_state(c);
    *out = c;
    return 0;
oom:
    dsv4_ctx_free(c);
    dsv4_seterr(err, errlen, "forward: out of memory");
    return -1;
}

void dsv4_ctx_reset(struct dsv4_ctx *c)
{
    c->pos = 0;
    init_state(c);
}

int64_t dsv4_ctx_pos(const struct dsv4_ctx *c) { return c->pos; }

void dsv4_ctx_set_trace(struct dsv4_ctx *c, void (*cb)(void *ud, int layer, int64_t pos0, int n, const float *X),
                        void *ud)
{
    c->trace = cb;
    c->trace_ud = ud;
}

static const float *VEC(const struct dsv4_tensor *t) { return (const float *)t->bdata; }

/* x or, with simulation, its FP8-rounded copy in dst (activation of an FP8/FP4 linear). */
static const float *act(struct dsv4_ctx *c, const float *x, float *dst, int64_t width, int n)
{
    if (!c->p.sim) return x;
    c->op->copy(c->b, dst, x, (size_t)(width * n) * sizeof(float));
    c->op->fp8_round(c->b, dst, width, n, width, 128);
    return dst;
}

static void mm(struct dsv4_ctx *c, const struct dsv4_tensor *w, const float *x, float *y, int n)
{
    c->op->matmul(c->b, w, 0, w->ne[1], x, w->ne[0], y, w->ne[1], n);
}

static void attention_block(struct dsv4_ctx *c, int il, int n, int64_t pos0)
{
    const struct dsv4_hparams *hp = &c->m->hp;
    const struct dsv4_layer *L = &c->m->layers[il];
    struct lstate *s = &c->ls[il];
    const struct dsv4_backend_ops *op = c->op;
    struct dsv4_backend *b = c->b;
    const int64_t D = hp->n_embd, d = hp->head_dim, H = hp->n_head, ql = hp->q_lora;
    const int nr = (int)hp->n_rot;
    const float *freqs = L->ratio ? c->freq_comp : c->freq_main;

    const float *xs = act(c, c->xn, c->xs, D, n);
    mm(c, L->q_a, xs, c->qa, n);
    op->rms_norm(b, c->qa, c->qr, VEC(L->q_a_norm), ql, n, hp->rms_eps);
    const float *qrs = act(c, c->qr, c->qrs, ql, n);
    mm(c, L->q_b, qrs, c->q, n);
    op->rms_norm(b, c->q, c->q, NULL, d, (int64_t)n * H, hp->rms_eps);
    op->rope(b, c->q, d, (int)H, n, d - nr, nr, pos0, 1, freqs, 0);

    mm(c, L->kv, xs, c->kv, n);
    op->rms_norm(b, c->kv, c->kv, VEC(L->kv_norm), d, n, hp->rms_eps);
    op->rope(b, c->kv, d, 1, n, d - nr, nr, pos0, 1, freqs, 0);
    if (c->p.sim) op->fp8_round(b, c->kv, d, n, d - nr, 64);
    for (int i = 0; i < n;) { /* store into the ring, split at the wrap */
        int64_t r0 = (pos0 + i) % c->win_cap, cnt = c->win_cap - r0;
        if (cnt > n - i) cnt = n - i;
        op->copy(b, s->win + r0 * d, c->kv + (int64_t)i * d, (size_t)(cnt * d) * sizeof(float));
        i += (int)cnt;
    }

    const int32_t *sel = NULL;
    if (L->ratio) {
        const int m = (int)L->ratio, ov = m == 4;
        mm(c, L->c_kv, c->xn, c->ca, n);
        mm(c, L->c_gate, c->xn, c->cz, n);
        struct dsv4_compress_args ca = {
            .a = c->ca, .z = c->cz, .n = n, .pos0 = pos0, .ratio = m, .overlap = ov, .c = d,
            .ape = L->c_ape, .norm = VEC(L->c_norm), .eps = hp->rms_eps, .state = s->cstate,
            .entries = s->comp, .freqs = c->freq_comp, .n_rot = nr,
            .sim = c->p.sim ? DSV4_SIM_FP8_KV : DSV4_SIM_NONE,
        };
        op->compress(b, &ca);
        if (ov) {
            const int64_t cI = hp->idx_dim, nI = hp->idx_head;
            mm(c, L->i_kv, c->xn, c->ia, n);
            mm(c, L->i_gate, c->xn, c->iz, n);
            struct dsv4_compress_args ia = {
                .a = c->ia, .z = c->iz, .n = n, .pos0 = pos0, .ratio = 4, .overlap = 1, .c = cI,
                .ape = L->i_ape, .norm = VEC(L->i_norm), .eps = hp->rms_eps, .state = s->istate,
                .entries = s->ikeys, .freqs = c->freq_comp, .n_rot = nr,
                .sim = c->p.sim ? DSV4_SIM_FP4_HADA : DSV4_SIM_NONE,
            };
            op->compress(b, &ia);
            const int64_t nv_last = (pos0 + n) / 4; /* entries visible to the last token */
            if (nv_last > c->topk) {
                mm(c, L->i_q_b, qrs, c->qi, n);
                op->rope(b, c->qi, cI, (int)nI, n, cI - nr, nr, pos0, 1, c->freq_comp, 0);
                if (c->p.sim) op->fp4_hadamard(b, c->qi, cI, (int64_t)n * nI, 32);
                mm(c, L->i_proj, c->xn, c->iw, n);
                op->scale(b, c->iw, 1.0f / sqrtf((float)(cI * nI)), (int64_t)n * nI);
                struct dsv4_index_args xa = {
                    .q = c->qi, .w = c->iw, .keys = s->ikeys, .n = n, .nI = (int)nI, .cI = cI,
                    .pos0 = pos0, .ratio = 4, .topk = c->topk, .out = c->sel,
                };
                op->indexer_topk(b, &xa);
                sel = c->sel;
            }
        }
    }

    struct dsv4_attn_args aa = {
        .q = c->q, .o = c->o, .n = n, .H = (int)H, .d = d, .pos0 = pos0, .win = s->win,
        .win_cap = c->win_cap, .window = (int)hp->n_swa, .comp = L->ratio ? s->comp : NULL,
        .ratio = (int)L->ratio, .sel = sel, .topk = c->topk, .sinks = VEC(L->sinks),
        .scale = 1.0f / sqrtf((float)d),
    };
    op->attention(b, &aa);
    op->rope(b, c->o, d, (int)H, n, d - nr, nr, pos0, 1, freqs, 1);

    const int64_t G = hp->o_groups, ol = hp->o_lora, gin = H * d / G, gl = G * ol;
    for (int64_t g = 0; g < G; g++)
        op->matmul(b, L->o_a, g * ol, ol, c->o + g * gin, H * d, c->z + g * ol, gl, n);
    const float *zs = act(c, c->z, c->zs, gl, n);
    mm(c, L->o_b, zs, c->f, n);
}

static void moe_block(struct dsv4_ctx *c, int il, int n)
{
    const struct dsv4_hparams *hp = &c->m->hp;
    const struct dsv4_layer *L = &c->m->layers[il];
    const struct dsv4_backend_ops *op = c->op;
    struct dsv4_backend *b = c->b;
    const int64_t D = hp->n_embd, I = hp->n_ff_exp;
    const float limit = hp->swiglu_limit[il];

    mm(c, L->gate_inp, c->xn, c->rl, n);
    struct dsv4_route_args ra = {
        .logits = c->rl, .n = n, .E = (int)hp->n_expert, .k = (int)hp->n_expert_used,
        .bias = L->exp_bias ? VEC(L->exp_bias) : NULL, .tid2eid = L->hash ? L->tid2eid : NULL,
        .tokens = c->tok, .norm = hp->expert_norm, .scale = hp->expert_scale, .ids = c->ids, .weights = c->rw,
    };
    op->route(b, &ra);
    struct dsv4_moe_args ma = {
        .x = c->xn, .n = n, .k = (int)hp->n_expert_used, .D = D, .I = I, .ids = c->ids, .weights = c->rw,
        .gate = L->gate_exps, .up = L->up_exps, .down = L->down_exps, .limit = limit, .sim_fp8 = c->p.sim,
        .y = c->f,
    };
    op->moe(b, &ma);
    const float *xs = act(c, c->xn, c->xs, D, n);
    mm(c, L->gate_sh, xs, c->g, n);
    mm(c, L->up_sh, xs, c->up, n);
    op->swiglu(b, c->g, c->up, c->h, (int64_t)n * I, limit);
    const float *hs = act(c, c->h, c->g, I, n);
    mm(c, L->down_sh, hs, c->fs, n);
    op->add(b, c->f, c->fs, (int64_t)n * D);
}

static void hc_site(struct dsv4_ctx *c, const struct dsv4_tensor *fn, const struct dsv4_tensor *scale,
                    const struct dsv4_tensor *base, const struct dsv4_tensor *norm, int n)
{
    const struct dsv4_hparams *hp = &c->m->hp;
    struct dsv4_hc_args a = {
        .X = c->X, .n = n, .hc = (int)hp->n_hc, .D = hp->n_embd, .fn = fn, .scale = VEC(scale),
        .base = VEC(base), .rms_eps = hp->rms_eps, .hc_eps = hp->hc_eps, .iters = (int)hp->hc_iters,
        .u = c->u, .post = c->post, .comb = c->comb,
    };
    c->op->hc_pre(c->b, &a);
    c->op->rms_norm(c->b, c->u, c->xn, VEC(norm), hp->n_embd, n, hp->rms_eps);
}

static void hc_finish(struct dsv4_ctx *c, int n)
{
    const struct dsv4_hparams *hp = &c->m->hp;
    c->op->hc_post(c->b, c->X, c->f, c->post, c->comb, n, (int)hp->n_hc, hp->n_embd, c->X2);
    float *t = c->X;
    c->X = c->X2;
    c->X2 = t;
}

static void trace(struct dsv4_ctx *c, int layer, int64_t pos0, int n)
{
    if (!c->trace) return;
    const struct dsv4_hparams *hp = &c->m->hp;
    size_t bytes = (size_t)n * hp->n_hc * hp->n_embd * sizeof(float);
    float *h = realloc(c->host_X, bytes);
    if (!h) return;
    c->host_X = h;
    c->op->get(c->b, h, c->X, bytes);
    c->trace(c->trace_ud, layer, pos0, n, h);
}

/* One chunk; with head, its logits (all rows, or the last token's) into c->logits. */
static void eval_chunk(struct dsv4_ctx *c, const int32_t *tokens, int n, int head, int all_logits)
{
    const struct dsv4_model *m = c->m;
    const struct dsv4_hparams *hp = &m->hp;
    const struct dsv4_backend_ops *op = c->op;
    struct dsv4_backend *b = c->b;
    const int64_t pos0 = c->pos, D = hp->n_embd;

    op->set(b, c->tok, tokens, (size_t)n * sizeof(int32_t));
    op->get_rows(b, m->tok_embd, tokens, n, c->emb);
    op->hc_expand(b, c->emb, c->X, n, (int)hp->n_hc, D);
    trace(c, -1, pos0, n);
    for (int il = 0; il < (int)hp->n_layer; il++) {
        const struct dsv4_layer *L = &m->layers[il];
        hc_site(c, L->hc_attn_fn, L->hc_attn_scale, L->hc_attn_base, L->attn_norm, n);
        attention_block(c, il, n, pos0);
        hc_finish(c, n);
        hc_site(c, L->hc_ffn_fn, L->hc_ffn_scale, L->hc_ffn_base, L->ffn_norm, n);
        moe_block(c, il, n);
        hc_finish(c, n);
        trace(c, il, pos0, n);
    }
    c->pos += n;
    if (!head) return;
    struct dsv4_hc_args ha = {
        .X = c->X, .n = n, .hc = (int)hp->n_hc, .D = D, .fn = m->out_hc_fn, .scale = VEC(m->out_hc_scale),
        .base = VEC(m->out_hc_base), .rms_eps = hp->rms_eps, .hc_eps = hp->hc_eps, .u = c->u,
    };
    op->hc_head(b, &ha);
    op->rms_norm(b, c->u, c->y, VEC(m->out_norm), D, n, hp->rms_eps);
    if (all_logits) mm(c, m->output, c->y, c->logits, n);
    else mm(c, m->output, c->y + (int64_t)(n - 1) * D, c->logits, 1);
}

static int check_tokens(struct dsv4_ctx *c, const int32_t *tokens, int n, char *err, size_t errlen)
{
    const struct dsv4_hparams *hp = &c->m->hp;
    if (c->pos + n > c->p.n_ctx) {
        dsv4_seterr(err, errlen, "forward: %d tokens at position %lld exceed the context of %lld positions", n,
                    (long long)c->pos, (long long)c->p.n_ctx);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= hp->n_vocab) {
            dsv4_seterr(err, errlen, "forward: token %d at index %d is outside the vocabulary (%u)", tokens[i], i,
                        hp->n_vocab);
            return -1;
        }
    return 0;
}

int dsv4_eval(struct dsv4_ctx *c, const int32_t *tokens, int n, float *logits, int all_logits, char *err,
              size_t errlen)
{
    const size_t V = c->m->hp.n_vocab;
    if (n <= 0) return 0;
    if (check_tokens(c, tokens, n, err, errlen)) return -1;
    for (int i = 0; i < n; i += c->p.n_ubatch) {
        const int cnt = n - i < c->p.n_ubatch ? n - i : c->p.n_ubatch, last = i + cnt == n;
        const int head = logits && (all_logits || last);
        eval_chunk(c, tokens + i, cnt, head, all_logits);
        if (head && all_logits) c->op->get(c->b, logits + (size_t)i * V, c->logits, (size_t)cnt * V * sizeof(float));
        else if (head) c->op->get(c->b, logits, c->logits, V * sizeof(float));
    }
    return 0;
}

int dsv4_eval_sample(struct dsv4_ctx *c, const int32_t *tokens, int n, struct dsv4_sampler *s, int32_t *next,
                     char *err, size_t errlen)
{
    if (n <= 0) {
        dsv4_seterr(err, errlen, "forward: no tokens to sample after");
        return -1;
    }
    if (check_tokens(c, tokens, n, err, errlen)) return -1;
    for (int i = 0; i < n; i += c->p.n_ubatch) {
        const int cnt = n - i < c->p.n_ubatch ? n - i : c->p.n_ubatch;
        eval_chunk(c, tokens + i, cnt, i + cnt == n, 0);
    }
    const uint64_t draw = dsv4_sampler_draw(s);
    c->op->sample(c->b, c->logits, (int)c->m->hp.n_vocab, s->temp, s->top_k, s->top_p, draw, c->next);
    c->op->get(c->b, next, c->next, sizeof *next);
    return 0;
}
