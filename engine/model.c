/*
 * model.c - hyperparameters from deepseek4.* metadata and tensor binding/validation.
 *
 * Invariant: after dsv4_model_bind succeeds, every pointer in struct dsv4_model and its
 * layers refers to a tensor whose shape and type were checked against the hyperparameters,
 * whose data lies inside the file, and (for hash tables) whose values are valid expert ids.
 * Consumers never re-check.
 */
#include "model.h"
#include "err.h"

#include "quant.h"
#include "tokenizer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define ARCH "deepseek4."

/* ---- hyperparameters ------------------------------------------------------------------ */

struct hpctx {
    const struct dsv4_gguf *g;
    char *err;
    size_t errlen;
};

/* Integer key in [lo, hi]. required=0: absent gives def. */
static int key_u32(struct hpctx *c, const char *key, uint32_t *out, int required, uint32_t def,
                   uint64_t lo, uint64_t hi)
{
    const struct dsv4_gguf_kv *kv = dsv4_gguf_find_kv(c->g, key);
    if (!kv) {
        if (required) {
            dsv4_seterr(c->err, c->errlen, "model: missing metadata key '%s'", key);
            return -1;
        }
        *out = def;
        return 0;
    }
    uint64_t v;
    if (dsv4_gguf_kv_u64(kv, &v)) {
        dsv4_seterr(c->err, c->errlen, "model: key '%s': expected a non-negative integer, got %s", key,
                    dsv4_gguf_vtype_name(kv->type));
        return -1;
    }
    if (v < lo || v > hi) {
        dsv4_seterr(c->err, c->errlen, "model: key '%s' = %llu out of range [%llu, %llu]", key,
                    (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int key_f32(struct hpctx *c, const char *key, float *out, int required, float def, double lo,
                   double hi)
{
    const struct dsv4_gguf_kv *kv = dsv4_gguf_find_kv(c->g, key);
    if (!kv) {
        if (required) {
            dsv4_seterr(c->err, c->errlen, "model: missing metadata key '%s'", key);
            return -1;
        }
        *out = def;
        return 0;
    }
    double v;
    if (dsv4_gguf_kv_f64(kv, &v)) {
        dsv4_seterr(c->err, c->errlen, "model: key '%s': expected a number, got %s", key,
                    dsv4_gguf_vtype_name(kv->type));
        return -1;
    }
    if (!(v >= lo && v <= hi)) {
        dsv4_seterr(c->err, c->errlen, "model: key '%s' = %g out of range [%g, %g]", key, v, lo, hi);
        return -1;
    }
    *out = (float)v;
    return 0;
}

void dsv4_hparams_free(struct dsv4_hparams *hp)
{
    free(hp->ratio);
    free(hp->swiglu_limit);
    hp->ratio = NULL;
    hp->swiglu_limit = NULL;
}

int dsv4_hparams_read(struct dsv4_hparams *hp, const struct dsv4_gguf *g, char *err, size_t errlen)
{
    struct hpctx c = {g, err, errlen};
    memset(hp, 0, sizeof *hp);
    const struct dsv4_gguf_kv *kv = dsv4_gguf_find_kv(g, "general.architecture");
    struct dsv4_gguf_str s;
    if (!kv) {
        dsv4_seterr(err, errlen, "model: missing metadata key 'general.architecture'");
        return -1;
    }
    if (dsv4_gguf_kv_str(kv, &s) || s.len != 9 || memcmp(s.ptr, "deepseek4", 9)) {
        char v[80];
        dsv4_gguf_kv_format(kv, v, sizeof v);
        dsv4_seterr(err, errlen, "model: key 'general.architecture' = %s, expected \"deepseek4\"", v);
        return -1;
    }
    const uint32_t BIG = 1u << 20;
    uint32_t kvh, vlen, shared, grp, grp_used;
#define U32(key, dst, lo, hi) if (key_u32(&c, ARCH key, dst, 1, 0, lo, hi)) goto fail
    U32("block_count", &hp->n_layer, 1, 4096);
    U32("embedding_length", &hp->n_embd, 1, 1u << 16);
    U32("vocab_size", &hp->n_vocab, 1, 1u << 24);
    U32("attention.head_count", &hp->n_head, 1, 4096);
    U32("attention.head_count_kv", &kvh, 1, 1);
    U32("attention.key_length", &hp->head_dim, 2, 1u << 16);
    U32("attention.value_length", &vlen, 2, 1u << 16);
    U32("rope.dimension_count", &hp->n_rot, 2, 1u << 16);
    U32("attention.q_lora_rank", &hp->q_lora, 1, 1u << 16);
    U32("attention.output_lora_rank", &hp->o_lora, 1, 1u << 16);
    U32("attention.output_group_count", &hp->o_groups, 1, 4096);
    U32("expert_count", &hp->n_expert, 1, 1u << 16);
    U32("expert_used_count", &hp->n_expert_used, 1, 1u << 16);
    U32("expert_feed_forward_length", &hp->n_ff_exp, 1, BIG);
    U32("expert_shared_count", &shared, 1, 1);
    U32("hash_layer_count", &hp->n_hash_layer, 0, 4096);
    U32("attention.sliding_window", &hp->n_swa, 1, BIG);
    U32("attention.indexer.head_count", &hp->idx_head, 1, 4096);
    U32("attention.indexer.key_length", &hp->idx_dim, 2, 1u << 16);
    U32("attention.indexer.top_k", &hp->idx_topk, 1, BIG);
    U32("hyper_connection.count", &hp->n_hc, 1, 64);
    U32("hyper_connection.sinkhorn_iterations", &hp->hc_iters, 1, 10000);
#undef U32
    if (key_u32(&c, ARCH "expert_group_count", &grp, 0, 0, 0, 0)) goto fail;
    if (key_u32(&c, ARCH "expert_group_used_count", &grp_used, 0, 0, 0, 0)) goto fail;
    (void)grp;
    (void)grp_used;
    if (key_f32(&c, ARCH "hyper_connection.epsilon", &hp->hc_eps, 1, 0, 1e-30, 1)) goto fail;
    if (key_f32(&c, ARCH "attention.layer_norm_rms_epsilon", &hp->rms_eps, 1, 0, 1e-30, 1)) goto fail;
    if (key_f32(&c, ARCH "rope.freq_base", &hp->rope_base, 1, 0, 1.0001, 1e12)) goto fail;
    if (key_f32(&c, ARCH "attention.compress_rope_freq_base", &hp->compress_rope_base, 1, 0, 1.0001, 1e12))
        goto fail;
    if (key_f32(&c, ARCH "expert_weights_scale", &hp->expert_scale, 1, 0, 1e-6, 1e6)) goto fail;

    kv = dsv4_gguf_find_kv(g, ARCH "expert_weights_norm");
    if (!kv) {
        dsv4_seterr(err, errlen, "model: missing metadata key '" ARCH "expert_weights_norm'");
        goto fail;
    } else {
        uint64_t b;
        if (dsv4_gguf_kv_u64(kv, &b) || b > 1) {
            dsv4_seterr(err, errlen, "model: key '" ARCH "expert_weights_norm': expected a bool");
            goto fail;
        }
        hp->expert_norm = (int)b;
    }

    kv = dsv4_gguf_find_kv(g, ARCH "context_length");
    hp->context_length = 0;
    if (kv && dsv4_gguf_kv_u64(kv, &hp->context_length)) {
        dsv4_seterr(err, errlen, "model: key '" ARCH "context_length': expected an integer");
        goto fail;
    }

    kv = dsv4_gguf_find_kv(g, ARCH "rope.scaling.type");
    hp->yarn = 0;
    hp->yarn_factor = 1;
    if (kv) {
        if (dsv4_gguf_kv_str(kv, &s)) {
            dsv4_seterr(err, errlen, "model: key '" ARCH "rope.scaling.type': expected a string");
            goto fail;
        }
        if (s.len == 4 && !memcmp(s.ptr, "yarn", 4)) hp->yarn = 1;
        else if (!(s.len == 4 && !memcmp(s.ptr, "none", 4))) {
            char v[80];
            dsv4_gguf_kv_format(kv, v, sizeof v);
            dsv4_seterr(err, errlen, "model: key '" ARCH "rope.scaling.type' = %s (\"yarn\" or \"none\")", v);
            goto fail;
        }
    }
    if (hp->yarn) {
        uint32_t orig;
        if (key_f32(&c, ARCH "rope.scaling.factor", &hp->yarn_factor, 1, 0, 1, 1e6)) goto fail;
        if (key_u32(&c, ARCH "rope.scaling.original_context_length", &orig, 1, 0, 1, 1u << 31)) goto fail;
        hp->yarn_orig_ctx = orig;
        if (key_f32(&c, ARCH "rope.scaling.yarn_beta_fast", &hp->yarn_beta_fast, 0, 32, 1e-6, 1e6)) goto fail;
        if (key_f32(&c, ARCH "rope.scaling.yarn_beta_slow", &hp->yarn_beta_slow, 0, 1, 1e-6, 1e6)) goto fail;
    }

    if (vlen != hp->head_dim) {
        dsv4_seterr(err, errlen, "model: key '" ARCH "attention.value_length' = %u differs from key_length %u",
                    vlen, hp->head_dim);
        goto fail;
    }
    if (hp->n_rot % 2 || hp->n_rot > hp->head_dim || hp->n_rot > hp->idx_dim) {
        dsv4_seterr(err, errlen,
                    "model: key '" ARCH "rope.dimension_count' = %u must be even and <= key_length %u and "
                    "indexer key_length %u",
                    hp->n_rot, hp->head_dim, hp->idx_dim);
        goto fail;
    }
    if (hp->n_head % hp->o_groups) {
        dsv4_seterr(err, errlen, "model: key '" ARCH "attention.output_group_count' = %u does not divide head_count %u",
                    hp->o_groups, hp->n_head);
        goto fail;
    }
    if (hp->n_expert_used > hp->n_expert) {
        dsv4_seterr(err, errlen, "model: key '" ARCH "expert_used_count' = %u exceeds expert_count %u",
                    hp->n_expert_used, hp->n_expert);
        goto fail;
    }
    if (hp->n_hash_layer > hp->n_layer) {
        dsv4_seterr(err, errlen, "model: key '" ARCH "hash_layer_count' = %u exceeds block_count %u",
                    hp->n_hash_layer, hp->n_layer);
        goto fail;
    }
    if ((uint64_t)hp->n_head * hp->head_dim > (1u << 24) || (uint64_t)hp->n_hc * hp->n_embd > (1u << 24) ||
        (uint64_t)hp->idx_head * hp->idx_dim > (1u << 24) || (uint64_t)hp->o_groups * hp->o_lora > (1u << 24)) {
        dsv4_seterr(err, errlen, "model: attention dimensions too large");
        goto fail;
    }

    hp->ratio = calloc(hp->n_layer, sizeof *hp->ratio);
    hp->swiglu_limit = calloc(hp->n_layer, sizeof *hp->swiglu_limit);
    if (!hp->ratio || !hp->swiglu_limit) {
        dsv4_seterr(err, errlen, "model: out of memory");
        goto fail;
    }
    kv = dsv4_gguf_find_kv(g, ARCH "attention.compress_ratios");
    if (!kv) {
        dsv4_seterr(err, errlen, "model: missing metadata key '" ARCH "attention.compress_ratios'");
        goto fail;
    }
    if (kv->type != DSV4_GGUF_ARRAY || kv->arr_n < hp->n_layer) {
        dsv4_seterr(err, errlen,
                    "model: key '" ARCH "attention.compress_ratios': expected an integer array of >= %u entries",
                    hp->n_layer);
        goto fail;
    }
    int any4 = 0;
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        int64_t r;
        if (dsv4_gguf_arr_i64(kv, l, &r) || r < 0 || r == 1 || r > 65536) {
            dsv4_seterr(err, errlen,
                        "model: key '" ARCH "attention.compress_ratios': entry %u is not 0 or an integer in "
                        "2..65536", l);
            goto fail;
        }
        hp->ratio[l] = (uint32_t)r;
        any4 |= r == 4;
    }
    if (any4 && (hp->idx_dim & (hp->idx_dim - 1))) {
        dsv4_seterr(err, errlen, "model: key '" ARCH "attention.indexer.key_length' = %u is not a power of two",
                    hp->idx_dim);
        goto fail;
    }
    kv = dsv4_gguf_find_kv(g, ARCH "swiglu_clamp_exp");
    if (!kv) {
        dsv4_seterr(err, errlen, "model: missing metadata key '" ARCH "swiglu_clamp_exp'");
        goto fail;
    }
    if (kv->type != DSV4_GGUF_ARRAY || kv->arr_n < hp->n_layer) {
        dsv4_seterr(err, errlen, "model: key '" ARCH "swiglu_clamp_exp': expected a float array of >= %u entries",
                    hp->n_layer);
        goto fail;
    }
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        double v;
        if (dsv4_gguf_arr_f64(kv, l, &v) || !(v > 0 && v < 1e30)) {
            dsv4_seterr(err, errlen, "model: key '" ARCH "swiglu_clamp_exp': entry %u is not a positive number", l);
            goto fail;
        }
        hp->swiglu_limit[l] = (float)v;
    }
    return 0;
fail:
    dsv4_hparams_free(hp);
    return -1;
}

void dsv4_rope_freqs(const struct dsv4_hparams *hp, int compressed, float *out)
{
    const int dim = (int)hp->n_rot, half = dim / 2;
    const float base = compressed ? hp->compress_rope_base : hp->rope_base;
    for (int p = 0; p < half; p++) {
        float pos_freq = powf(base, (float)(2 * p) / (float)dim);
        out[p] = 1.0f / pos_freq;
    }
    if (!compressed || !hp->yarn) return;
    /* YaRN as in the official code and HF: correction range from the original context,
     * linear ramp between the truncated bounds, no magnitude scaling. */
    const double orig = (double)hp->yarn_orig_ctx, b = base;
    double lo = floor(dim * log(orig / (hp->yarn_beta_fast * 2 * M_PI)) / (2 * log(b)));
    double hi = ceil(dim * log(orig / (hp->yarn_beta_slow * 2 * M_PI)) / (2 * log(b)));
    if (lo < 0) lo = 0;
    if (hi > dim - 1) hi = dim - 1;
    if (lo == hi) hi += 0.001;
    for (int p = 0; p < half; p++) {
        float pos_freq = powf(base, (float)(2 * p) / (float)dim);
        float extra = 1.0f / pos_freq, inter = 1.0f / (hp->yarn_factor * pos_freq);
        float ramp = ((float)p - (float)lo) / (float)(hi - lo);
        ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
        float ef = 1 - ramp;
        out[p] = inter * (1 - ef) + extra * ef;
    }
}

/* ---- tensor binding -------------------------------------------------------------------- */

enum { CLS_MAT, CLS_VEC, CLS_IDS };

struct binder {
    const struct dsv4_gguf *g;
    struct dsv4_model *m;
    unsigned char *used; /* per gguf tensor */
    char *err;
    size_t errlen;
};

static const char *cls_types(int cls)
{
    return cls == CLS_VEC ? "F32, F16 or BF16" : cls == CLS_IDS ? "I32" : "a float or quantised type";
}

static int type_ok(int cls, uint32_t type)
{
    const struct dsv4_type_info *t = dsv4_type_get(type);
    if (!t) return 0;
    if (cls == CLS_IDS) return type == DSV4_TYPE_I32;
    if (cls == CLS_VEC) return type == DSV4_TYPE_F32 || type == DSV4_TYPE_F16 || type == DSV4_TYPE_BF16;
    return t->is_float_weight;
}

static void fmt_shape(char *buf, size_t n, int nd, const int64_t *ne)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < nd && k < n; i++) k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)ne[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

static const struct dsv4_tensor *bind(struct binder *b, int optional, int cls, int nd, int64_t ne0,
                                      int64_t ne1, int64_t ne2, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
static const struct dsv4_tensor *bind(struct binder *b, int optional, int cls, int nd, int64_t ne0,
                                      int64_t ne1, int64_t ne2, const char *fmt, ...)
{
    char name[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const struct dsv4_gguf_tensor *gt = dsv4_gguf_find_tensor(b->g, name);
    if (!gt) {
        if (!optional) dsv4_seterr(b->err, b->errlen, "model: missing tensor '%s'", name);
        return NULL;
    }
    int64_t want[4] = {ne0, ne1, ne2, 1};
    int got_nd = (int)gt->n_dims;
    while (got_nd > 1 && gt->ne[got_nd - 1] == 1) got_nd--; /* trailing 1s are equivalent */
    int ok = got_nd <= nd;
    for (int i = 0; i < 4 && ok; i++) ok = gt->ne[i] == want[i];
    if (!ok) {
        char a[96], e[96];
        fmt_shape(a, sizeof a, (int)gt->n_dims, gt->ne);
        fmt_shape(e, sizeof e, nd, want);
        dsv4_seterr(b->err, b->errlen, "model: tensor '%s': shape %s, expected %s", name, a, e);
        return NULL;
    }
    if (!type_ok(cls, gt->type)) {
        dsv4_seterr(b->err, b->errlen, "model: tensor '%s': type %s not allowed here (expected %s)", name,
                    dsv4_type_name(gt->type), cls_types(cls));
        return NULL;
    }
    struct dsv4_tensor *t = &b->m->tensors[b->m->n_tensors++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = gt->type;
    t->n_dims = nd;
    memcpy(t->ne, want, sizeof want);
    t->data = gt->data;
    t->nbytes = gt->nbytes;
    t->nb1 = dsv4_row_bytes(gt->type, gt->ne[0]);
    b->used[gt - b->g->tensors] = 1;
    if (cls == CLS_VEC) {
        if (gt->type == DSV4_TYPE_F32 && ((uintptr_t)gt->data & 3) == 0) {
            t->f32 = (const float *)gt->data;
        } else { /* a small copy, sized by a tensor that exists in the file */
            float *dst = malloc((size_t)ne0 * sizeof *dst);
            if (!dst) {
                dsv4_seterr(b->err, b->errlen, "model: out of memory at '%s'", name);
                return NULL;
            }
            dsv4_dequantize_row(gt->type, gt->data, dst, ne0);
            t->f32 = dst;
            t->f32_owned = 1;
        }
    }
    return t;
}

static void free_tensors(struct dsv4_model *m)
{
    for (int i = 0; m->tensors && i < m->n_tensors; i++)
        if (m->tensors[i].f32_owned) free((void *)m->tensors[i].f32);
    free(m->tensors);
    m->tensors = NULL;
}

void dsv4_model_free(struct dsv4_model *m)
{
    free_tensors(m);
    dsv4_gguf_close(&m->gguf);
    dsv4_hparams_free(&m->hp);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

static int check_tid2eid(struct binder *b, const struct dsv4_tensor *t, uint32_t n_expert)
{
    const uint8_t *p = t->data;
    int64_t n = t->ne[0] * t->ne[1];
    for (int64_t i = 0; i < n; i++) {
        int32_t v;
        memcpy(&v, p + 4 * i, 4);
        if (v < 0 || (uint32_t)v >= n_expert) {
            dsv4_seterr(b->err, b->errlen, "model: tensor '%s': token %lld routes to expert %d (valid 0..%u)", t->name,
                        (long long)(i / t->ne[0]), v, n_expert - 1);
            return -1;
        }
    }
    return 0;
}

int dsv4_model_bind(struct dsv4_model *m, struct dsv4_gguf *g, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    struct dsv4_hparams *hp = &m->hp;
    if (dsv4_hparams_read(hp, g, err, errlen)) return -1;
    struct binder b = {.g = g, .m = m, .err = err, .errlen = errlen};
    const int64_t L = hp->n_layer, D = hp->n_embd, V = hp->n_vocab, H = hp->n_head, d = hp->head_dim;
    const int64_t hc = hp->n_hc, mix = (2 + hc) * hc, E = hp->n_expert, I = hp->n_ff_exp;
    const int64_t ql = hp->q_lora, og = hp->o_groups, ol = hp->o_lora, nI = hp->idx_head, cI = hp->idx_dim;
    size_t max_t = 6 + (size_t)L * 40; /* upper bound of bound tensors */
    m->tensors = calloc(max_t, sizeof *m->tensors);
    m->layers = calloc((size_t)L, sizeof *m->layers);
    b.used = calloc(g->n_tensors ? g->n_tensors : 1, 1);
    if (!m->tensors || !m->layers || !b.used) {
        dsv4_seterr(err, errlen, "model: out of memory");
        goto fail;
    }

#define REQ(dst, cls, nd, a0, a1, a2, ...) \
    if (!((dst) = bind(&b, 0, cls, nd, a0, a1, a2, __VA_ARGS__))) goto fail
    REQ(m->tok_embd, CLS_MAT, 2, D, V, 1, "token_embd.weight");
    REQ(m->out_hc_fn, CLS_MAT, 2, hc * D, hc, 1, "output_hc_fn.weight");
    REQ(m->out_hc_scale, CLS_VEC, 1, 1, 1, 1, "output_hc_scale.weight");
    REQ(m->out_hc_base, CLS_VEC, 1, hc, 1, 1, "output_hc_base.weight");
    REQ(m->out_norm, CLS_VEC, 1, D, 1, 1, "output_norm.weight");
    REQ(m->output, CLS_MAT, 2, D, V, 1, "output.weight");
    for (int64_t l = 0; l < L; l++) {
        struct dsv4_layer *ly = &m->layers[l];
        const int il = (int)l;
        ly->ratio = hp->ratio[l];
        ly->hash = l < hp->n_hash_layer;
        REQ(ly->hc_attn_fn, CLS_MAT, 2, hc * D, mix, 1, "blk.%d.hc_attn_fn.weight", il);
        REQ(ly->hc_attn_scale, CLS_VEC, 1, 3, 1, 1, "blk.%d.hc_attn_scale.weight", il);
        REQ(ly->hc_attn_base, CLS_VEC, 1, mix, 1, 1, "blk.%d.hc_attn_base.weight", il);
        REQ(ly->attn_norm, CLS_VEC, 1, D, 1, 1, "blk.%d.attn_norm.weight", il);
        REQ(ly->q_a, CLS_MAT, 2, D, ql, 1, "blk.%d.attn_q_a.weight", il);
        REQ(ly->q_a_norm, CLS_VEC, 1, ql, 1, 1, "blk.%d.attn_q_a_norm.weight", il);
        REQ(ly->q_b, CLS_MAT, 2, ql, H * d, 1, "blk.%d.attn_q_b.weight", il);
        REQ(ly->kv, CLS_MAT, 2, D, d, 1, "blk.%d.attn_kv.weight", il);
        REQ(ly->kv_norm, CLS_VEC, 1, d, 1, 1, "blk.%d.attn_kv_a_norm.weight", il);
        REQ(ly->sinks, CLS_VEC, 1, H, 1, 1, "blk.%d.attn_sinks.weight", il);
        REQ(ly->o_a, CLS_MAT, 2, H * d / og, og * ol, 1, "blk.%d.attn_output_a.weight", il);
        REQ(ly->o_b, CLS_MAT, 2, og * ol, D, 1, "blk.%d.attn_output_b.weight", il);
        if (ly->ratio) {
            const int64_t m_ = ly->ratio, w = (ly->ratio == 4 ? 2 : 1) * d;
            REQ(ly->c_ape, CLS_MAT, 2, w, m_, 1, "blk.%d.attn_compressor_ape.weight", il);
            REQ(ly->c_kv, CLS_MAT, 2, D, w, 1, "blk.%d.attn_compressor_kv.weight", il);
            REQ(ly->c_gate, CLS_MAT, 2, D, w, 1, "blk.%d.attn_compressor_gate.weight", il);
            REQ(ly->c_norm, CLS_VEC, 1, d, 1, 1, "blk.%d.attn_compressor_norm.weight", il);
        }
        if (ly->ratio == 4) {
            REQ(ly->i_q_b, CLS_MAT, 2, ql, nI * cI, 1, "blk.%d.indexer.attn_q_b.weight", il);
            REQ(ly->i_proj, CLS_MAT, 2, D, nI, 1, "blk.%d.indexer.proj.weight", il);
            REQ(ly->i_ape, CLS_MAT, 2, 2 * cI, 4, 1, "blk.%d.indexer_compressor_ape.weight", il);
            REQ(ly->i_kv, CLS_MAT, 2, D, 2 * cI, 1, "blk.%d.indexer_compressor_kv.weight", il);
            REQ(ly->i_gate, CLS_MAT, 2, D, 2 * cI, 1, "blk.%d.indexer_compressor_gate.weight", il);
            REQ(ly->i_norm, CLS_VEC, 1, cI, 1, 1, "blk.%d.indexer_compressor_norm.weight", il);
        }
        REQ(ly->hc_ffn_fn, CLS_MAT, 2, hc * D, mix, 1, "blk.%d.hc_ffn_fn.weight", il);
        REQ(ly->hc_ffn_scale, CLS_VEC, 1, 3, 1, 1, "blk.%d.hc_ffn_scale.weight", il);
        REQ(ly->hc_ffn_base, CLS_VEC, 1, mix, 1, 1, "blk.%d.hc_ffn_base.weight", il);
        REQ(ly->ffn_norm, CLS_VEC, 1, D, 1, 1, "blk.%d.ffn_norm.weight", il);
        REQ(ly->gate_inp, CLS_MAT, 2, D, E, 1, "blk.%d.ffn_gate_inp.weight", il);
        if (ly->hash) {
            REQ(ly->tid2eid, CLS_IDS, 2, hp->n_expert_used, V, 1, "blk.%d.ffn_gate_tid2eid.weight", il);
            if (check_tid2eid(&b, ly->tid2eid, hp->n_expert)) goto fail;
        } else {
            char bn[64];
            snprintf(bn, sizeof bn, "blk.%d.exp_probs_b.bias", il);
            if (dsv4_gguf_find_tensor(g, bn)) REQ(ly->exp_bias, CLS_VEC, 1, E, 1, 1, "%s", bn);
        }
        REQ(ly->gate_exps, CLS_MAT, 3, D, I, E, "blk.%d.ffn_gate_exps.weight", il);
        REQ(ly->up_exps, CLS_MAT, 3, D, I, E, "blk.%d.ffn_up_exps.weight", il);
        REQ(ly->down_exps, CLS_MAT, 3, I, D, E, "blk.%d.ffn_down_exps.weight", il);
        REQ(ly->gate_sh, CLS_MAT, 2, D, I, 1, "blk.%d.ffn_gate_shexp.weight", il);
        REQ(ly->up_sh, CLS_MAT, 2, D, I, 1, "blk.%d.ffn_up_shexp.weight", il);
        REQ(ly->down_sh, CLS_MAT, 2, I, D, 1, "blk.%d.ffn_down_shexp.weight", il);
    }
#undef REQ
    for (uint64_t i = 0; i < g->n_tensors; i++) m->n_unused += !b.used[i];
    free(b.used);
    m->gguf = *g;
    return 0;
fail:
    free(b.used);
    free_tensors(m);
    free(m->layers);
    dsv4_hparams_free(hp);
    memset(m, 0, sizeof *m);
    return -1;
}

int dsv4_model_load(struct dsv4_model *m, const char *path, char *err, size_t errlen)
{
    struct dsv4_gguf g;
    if (dsv4_gguf_open(&g, path, err, errlen)) return -1;
    char e[512] = "";
    if (dsv4_model_bind(m, &g, e, sizeof e)) {
        dsv4_seterr(err, errlen, "%s: %s", path, e);
        dsv4_gguf_close(&g);
        return -1;
    }
    return 0;
}

int dsv4_validate_buffer(const void *buf, size_t len, char *err, size_t errlen)
{
    struct dsv4_gguf g;
    struct dsv4_model m;
    if (dsv4_gguf_parse(&g, buf, len, err, errlen)) return -1;
    if (dsv4_model_bind(&m, &g, err, errlen)) {
        dsv4_gguf_close(&g);
        return -1;
    }
    struct dsv4_tokenizer *tok = NULL;
    int rc = dsv4_tokenizer_load(&tok, &m.gguf, m.hp.n_vocab, err, errlen);
    dsv4_tokenizer_free(tok);
    dsv4_model_free(&m);
    return rc;
}
