/*
 * mkmodel.c - random-weight model generator (GGUF + optional safetensors/config.json).
 *
 * Tensor order and types follow the public Flash files. Each tensor's values come from its
 * own generator seeded by (seed, GGUF name), so a tensor does not change when others are
 * added. Normal variates are Irwin-Hall sums of four 24-bit uniforms (no libm), values are
 * quantised with quant.c's encoders, and the safetensors copy holds the dequantised values
 * of exactly what the GGUF stores - the oracle runs the same model the engine reads.
 * The flash preset writes quantised tensors as random valid blocks instead (quantising
 * 10^11 values would take hours); it cannot write safetensors.
 *
 * The vocabulary: BOS, EOS, the 256 byte symbols, BPE merges learned from corpus.c with
 * DeepSeek's pre-tokenizer, filler tokens up to the preset's size, then the special tokens.
 */
#include "mkmodel.h"
#include "err.h"

#include "gguf.h"
#include "quant.h"
#include "tokenizer.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


const char *const dsv4_mkmodel_presets[] = {"tiny", "small", "flash", NULL};

/* ---- presets -------------------------------------------------------------------------------- */

struct preset {
    const char *name;
    uint32_t n_layer, n_embd, n_vocab, n_head, head_dim, n_rot, q_lora, o_lora, o_groups;
    uint32_t n_expert, n_expert_used, n_ff_exp, n_hash, n_swa, idx_head, idx_dim, idx_topk;
    float swiglu, yarn_factor;
    uint32_t yarn_orig, ctx;
    int fast_blocks; /* quantised tensors as random blocks */
};

static const struct preset PRESETS[] = {
    {"tiny", 5, 256, 384, 4, 128, 64, 64, 32, 2, 4, 2, 256, 3, 16, 4, 128, 128, 3.0f, 4, 256, 1024, 0},
    {"small", 8, 512, 2048, 8, 256, 64, 128, 64, 4, 16, 4, 512, 3, 32, 8, 128, 64, 3.0f, 8, 1024, 8192, 0},
    {"flash", 43, 4096, 129280, 64, 512, 64, 1024, 1024, 8, 256, 6, 2048, 3, 128, 64, 128, 512, 10.0f, 16, 65536,
     1048576, 1},
};

static uint32_t ratio_of(const struct preset *p, uint32_t l)
{
    (void)p; /* every preset uses Flash's schedule */
    if (l < 2) return 0;
    return l % 2 == 0 ? 4 : 128;
}

/* ---- random numbers --------------------------------------------------------------------------- */

struct rng {
    uint64_t s[4];
};

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, const char *name)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    uint64_t x = seed ^ h;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

static inline float uniform(struct rng *r) { return (float)(rng_next(r) >> 40) * 0x1p-24f; }

/* Approximately N(0, 1): mean 0, variance 1, support [-2*sqrt(3), 2*sqrt(3)]. */
static inline float normal(struct rng *r)
{
    float s = uniform(r) + uniform(r) + uniform(r) + uniform(r);
    return (s - 2.0f) * 1.7320508f;
}

/* ---- tensor specs ------------------------------------------------------------------------------- */

enum role { R_VEC, R_EMB, R_OUT, R_HC, R_ATTN, R_COMP, R_IDX, R_ROUTER, R_EXP_GU, R_EXP_D, R_SHEXP, R_TID };
enum init { I_NORMAL, I_TID2EID };

struct spec {
    char gguf[64];
    char official[80]; /* experts: contains %d for the expert index */
    int role, n_dims, init, split_experts;
    int64_t ne[3];
    uint32_t type;
    float mean, std;
    int gidx; /* index in the GGUF writer */
};

struct specs {
    struct spec *v;
    int n, cap;
};

static struct spec *add_spec(struct specs *S, int role, int nd, int64_t ne0, int64_t ne1, int64_t ne2, float mean,
                             float std, const char *gguf, const char *official)
{
    if (S->n == S->cap) {
        S->cap = S->cap ? 2 * S->cap : 256;
        struct spec *q = realloc(S->v, (size_t)S->cap * sizeof *q);
        if (!q) return NULL;
        S->v = q;
    }
    struct spec *s = &S->v[S->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->gguf, sizeof s->gguf, "%s", gguf);
    snprintf(s->official, sizeof s->official, "%s", official);
    s->role = role;
    s->n_dims = nd;
    s->ne[0] = ne0;
    s->ne[1] = ne1;
    s->ne[2] = ne2;
    s->mean = mean;
    s->std = std;
    s->init = role == R_TID ? I_TID2EID : I_NORMAL;
    return s;
}

static uint32_t type_for(int role, const char *quant)
{
    int q8 = !strcmp(quant, "q8"), q2 = !strcmp(quant, "q2"), q4 = !strcmp(quant, "q4");
    if (role == R_TID) return DSV4_TYPE_I32;
    if (role == R_VEC || !strcmp(quant, "f32")) return DSV4_TYPE_F32;
    if (!strcmp(quant, "f16")) return DSV4_TYPE_F16;
    switch (role) { /* the public files' mix */
    case R_OUT: case R_ATTN: case R_SHEXP: return DSV4_TYPE_Q8_0;
    case R_EXP_GU: return q2 ? DSV4_TYPE_IQ2_XXS : q4 ? DSV4_TYPE_Q4_K : DSV4_TYPE_Q8_0;
    case R_EXP_D: return q2 ? DSV4_TYPE_Q2_K : q4 ? DSV4_TYPE_Q4_K : DSV4_TYPE_Q8_0;
    default: (void)q8; return DSV4_TYPE_F16; /* embedding, HC, compressor, indexer, router */
    }
}

static float rsq(int64_t n) { return 1.0f / sqrtf((float)n); } /* IEEE sqrt: exact everywhere */

#define S(...) do { if (!add_spec(__VA_ARGS__)) return -1; } while (0)

static int build_specs(struct specs *Sp, const struct preset *p)
{
    const int64_t D = p->n_embd, V = p->n_vocab, H = p->n_head, d = p->head_dim, hc = 4, mix = 24;
    const int64_t ql = p->q_lora, og = p->o_groups, ol = p->o_lora, E = p->n_expert, I = p->n_ff_exp;
    const int64_t cI = p->idx_dim, nI = p->idx_head;
    char g[64], o[80];
    S(Sp, R_EMB, 2, D, V, 1, 0, 1, "token_embd.weight", "embed.weight");
    for (uint32_t l = 0; l < p->n_layer; l++) {
        const int il = (int)l;
        const uint32_t r = ratio_of(p, l);
#define L(role, nd, a, b_, c_, mean, std, gn, on)                  \
        snprintf(g, sizeof g, "blk.%d." gn, il);                  \
        snprintf(o, sizeof o, "layers.%d." on, il);               \
        S(Sp, role, nd, a, b_, c_, mean, std, g, o)
        L(R_HC, 2, hc * D, mix, 1, 0, rsq(hc * D), "hc_attn_fn.weight", "hc_attn_fn");
        L(R_VEC, 1, 3, 1, 1, 1, 0.2f, "hc_attn_scale.weight", "hc_attn_scale");
        L(R_VEC, 1, mix, 1, 1, 0, 0.5f, "hc_attn_base.weight", "hc_attn_base");
        L(R_VEC, 1, D, 1, 1, 1, 0.1f, "attn_norm.weight", "attn_norm.weight");
        L(R_ATTN, 2, D, ql, 1, 0, rsq(D), "attn_q_a.weight", "attn.wq_a.weight");
        L(R_VEC, 1, ql, 1, 1, 1, 0.1f, "attn_q_a_norm.weight", "attn.q_norm.weight");
        L(R_ATTN, 2, ql, H * d, 1, 0, rsq(ql), "attn_q_b.weight", "attn.wq_b.weight");
        L(R_ATTN, 2, D, d, 1, 0, rsq(D), "attn_kv.weight", "attn.wkv.weight");
        L(R_VEC, 1, d, 1, 1, 1, 0.1f, "attn_kv_a_norm.weight", "attn.kv_norm.weight");
        L(R_VEC, 1, H, 1, 1, 0, 0.5f, "attn_sinks.weight", "attn.attn_sink");
        L(R_ATTN, 2, H * d / og, og * ol, 1, 0, rsq(H * d / og), "attn_output_a.weight", "attn.wo_a.weight");
        L(R_ATTN, 2, og * ol, D, 1, 0, rsq(og * ol), "attn_output_b.weight", "attn.wo_b.weight");
        if (r) {
            const int64_t w = (r == 4 ? 2 : 1) * d;
            L(R_COMP, 2, w, r, 1, 0, 0.5f, "attn_compressor_ape.weight", "attn.compressor.ape");
            L(R_COMP, 2, D, w, 1, 0, rsq(D), "attn_compressor_kv.weight", "attn.compressor.wkv.weight");
            L(R_COMP, 2, D, w, 1, 0, rsq(D), "attn_compressor_gate.weight", "attn.compressor.wgate.weight");
            L(R_VEC, 1, d, 1, 1, 1, 0.1f, "attn_compressor_norm.weight", "attn.compressor.norm.weight");
        }
        if (r == 4) {
            L(R_IDX, 2, ql, nI * cI, 1, 0, rsq(ql), "indexer.attn_q_b.weight", "attn.indexer.wq_b.weight");
            L(R_IDX, 2, D, nI, 1, 0, rsq(D), "indexer.proj.weight", "attn.indexer.weights_proj.weight");
            L(R_IDX, 2, 2 * cI, 4, 1, 0, 0.5f, "indexer_compressor_ape.weight", "attn.indexer.compressor.ape");
            L(R_IDX, 2, D, 2 * cI, 1, 0, rsq(D), "indexer_compressor_kv.weight", "attn.indexer.compressor.wkv.weight");
            L(R_IDX, 2, D, 2 * cI, 1, 0, rsq(D), "indexer_compressor_gate.weight",
              "attn.indexer.compressor.wgate.weight");
            L(R_VEC, 1, cI, 1, 1, 1, 0.1f, "indexer_compressor_norm.weight", "attn.indexer.compressor.norm.weight");
        }
        L(R_HC, 2, hc * D, mix, 1, 0, rsq(hc * D), "hc_ffn_fn.weight", "hc_ffn_fn");
        L(R_VEC, 1, 3, 1, 1, 1, 0.2f, "hc_ffn_scale.weight", "hc_ffn_scale");
        L(R_VEC, 1, mix, 1, 1, 0, 0.5f, "hc_ffn_base.weight", "hc_ffn_base");
        L(R_VEC, 1, D, 1, 1, 1, 0.1f, "ffn_norm.weight", "ffn_norm.weight");
        L(R_ROUTER, 2, D, E, 1, 0, rsq(D), "ffn_gate_inp.weight", "ffn.gate.weight");
        if (l >= p->n_hash) {
            L(R_VEC, 1, E, 1, 1, 0, 0.1f, "exp_probs_b.bias", "ffn.gate.bias");
        } else {
            L(R_TID, 2, p->n_expert_used, V, 1, 0, 0, "ffn_gate_tid2eid.weight", "ffn.gate.tid2eid");
        }
        L(R_EXP_GU, 3, D, I, E, 0, rsq(D), "ffn_gate_exps.weight", "ffn.experts.%%d.w1.weight");
        Sp->v[Sp->n - 1].split_experts = 1;
        L(R_EXP_GU, 3, D, I, E, 0, rsq(D), "ffn_up_exps.weight", "ffn.experts.%%d.w3.weight");
        Sp->v[Sp->n - 1].split_experts = 1;
        L(R_EXP_D, 3, I, D, E, 0, rsq(I), "ffn_down_exps.weight", "ffn.experts.%%d.w2.weight");
        Sp->v[Sp->n - 1].split_experts = 1;
        L(R_SHEXP, 2, D, I, 1, 0, rsq(D), "ffn_gate_shexp.weight", "ffn.shared_experts.w1.weight");
        L(R_SHEXP, 2, D, I, 1, 0, rsq(D), "ffn_up_shexp.weight", "ffn.shared_experts.w3.weight");
        L(R_SHEXP, 2, I, D, 1, 0, rsq(I), "ffn_down_shexp.weight", "ffn.shared_experts.w2.weight");
#undef L
    }
    S(Sp, R_VEC, 1, hc, 1, 1, 0, 0.5f, "output_hc_base.weight", "hc_head_base");
    S(Sp, R_HC, 2, hc * D, hc, 1, 0, rsq(hc * D), "output_hc_fn.weight", "hc_head_fn");
    S(Sp, R_VEC, 1, 1, 1, 1, 1, 0.2f, "output_hc_scale.weight", "hc_head_scale");
    S(Sp, R_VEC, 1, D, 1, 1, 1, 0.1f, "output_norm.weight", "norm.weight");
    S(Sp, R_OUT, 2, D, V, 1, 0, rsq(D), "output.weight", "head.weight");
    return 0;
}
#undef S

/* ---- vocabulary ------------------------------------------------------------------------------------ */

static const char *const SPECIALS[] = {
    "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>", "｜DSML｜", "<｜latest_reminder｜>",
    "<｜action｜>", "<｜query｜>", "<｜authority｜>", "<｜domain｜>", "<｜title｜>", "<｜read_url｜>",
    "<｜extracted_url｜>", "<｜▁pad▁｜>", "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>",
    "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>", "<｜tool▁sep｜>", "<｜tool▁output▁begin｜>",
    "<｜tool▁output▁end｜>", "<｜tool▁outputs▁begin｜>", "<｜tool▁outputs▁end｜>",
};
#define N_SPECIALS ((int)(sizeof SPECIALS / sizeof SPECIALS[0]))
static const char BOS[] = "<｜begin▁of▁sentence｜>", EOS[] = "<｜end▁of▁sentence｜>";

struct vocab {
    char **tok; /* token strings */
    size_t *len;
    int32_t *type;
    int n;
    char **merges; /* "left right" */
    int n_merges;
};

static void vocab_free(struct vocab *v)
{
    for (int i = 0; i < v->n; i++) free(v->tok[i]);
    for (int i = 0; i < v->n_merges; i++) free(v->merges[i]);
    free(v->tok);
    free(v->len);
    free(v->type);
    free(v->merges);
    memset(v, 0, sizeof *v);
}

/* byte string -> byte-level symbol string (malloc) */
static char *to_symbols(const unsigned char *b, size_t n, size_t *outlen)
{
    char *s = malloc(2 * n + 1), *q = s;
    *outlen = 0;
    if (!s) return NULL;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = dsv4_byte_to_symbol(b[i]);
        if (cp < 0x80) *q++ = (char)cp;
        else {
            *q++ = (char)(0xC0 | cp >> 6);
            *q++ = (char)(0x80 | (cp & 63));
        }
    }
    *q = 0;
    *outlen = (size_t)(q - s);
    return s;
}

/* BPE training state: unique pieces as symbol-id sequences with counts. Symbols are
 * byte strings (sym_b / sym_n). */
struct trainer {
    unsigned char **sym_b;
    size_t *sym_n;
    int n_sym, cap_sym;
    int32_t **piece; /* symbol ids, -1 terminated */
    int *plen, *pcount;
    int n_piece, cap_piece;
    const char *text;
};

static void tr_piece(void *ud, size_t off, size_t len)
{
    struct trainer *T = ud;
    for (int i = 0; i < T->n_piece; i++) { /* linear: the corpus has a few thousand pieces */
        if ((size_t)T->plen[i] == len) {
            int same = 1;
            for (size_t k = 0; k < len && same; k++)
                same = T->piece[i][k] == (unsigned char)T->text[off + k];
            if (same) {
                T->pcount[i]++;
                return;
            }
        }
    }
    if (T->n_piece == T->cap_piece) {
        T->cap_piece = T->cap_piece ? 2 * T->cap_piece : 1024;
        T->piece = realloc(T->piece, (size_t)T->cap_piece * sizeof *T->piece);
        T->plen = realloc(T->plen, (size_t)T->cap_piece * sizeof *T->plen);
        T->pcount = realloc(T->pcount, (size_t)T->cap_piece * sizeof *T->pcount);
        if (!T->piece || !T->plen || !T->pcount) abort();
    }
    int32_t *p = malloc((len + 1) * sizeof *p);
    if (!p) abort();
    for (size_t k = 0; k < len; k++) p[k] = (unsigned char)T->text[off + k];
    p[len] = -1;
    T->piece[T->n_piece] = p;
    T->plen[T->n_piece] = (int)len;
    T->pcount[T->n_piece] = 1;
    T->n_piece++;
}

static int pair_cmp_bytes(const struct trainer *T, int a1, int b1, int a2, int b2)
{
    /* compare concatenations sym(a1)sym(b1) vs sym(a2)sym(b2), then the split point */
    size_t n1 = T->sym_n[a1] + T->sym_n[b1], n2 = T->sym_n[a2] + T->sym_n[b2];
    unsigned char x[64], y[64];
    if (n1 > 64 || n2 > 64) return n1 < n2 ? -1 : n1 > n2;
    memcpy(x, T->sym_b[a1], T->sym_n[a1]);
    memcpy(x + T->sym_n[a1], T->sym_b[b1], T->sym_n[b1]);
    memcpy(y, T->sym_b[a2], T->sym_n[a2]);
    memcpy(y + T->sym_n[a2], T->sym_b[b2], T->sym_n[b2]);
    int c = memcmp(x, y, n1 < n2 ? n1 : n2);
    if (c) return c;
    if (n1 != n2) return n1 < n2 ? -1 : 1;
    return (a1 > a2) - (a1 < a2);
}

/* Learn up to max_merges merges; returns the number learned. Merged symbols longer than
 * 48 bytes are not formed. */
static int train_bpe(struct trainer *T, int max_merges, int32_t (*merge_out)[2])
{
    T->text = dsv4_corpus;
    for (int b = 0; b < 256; b++) {
        if (T->n_sym == T->cap_sym) {
            T->cap_sym = T->cap_sym ? 2 * T->cap_sym : 1024;
            T->sym_b = realloc(T->sym_b, (size_t)T->cap_sym * sizeof *T->sym_b);
            T->sym_n = realloc(T->sym_n, (size_t)T->cap_sym * sizeof *T->sym_n);
            if (!T->sym_b || !T->sym_n) abort();
        }
        T->sym_b[T->n_sym] = malloc(1);
        T->sym_b[T->n_sym][0] = (unsigned char)b;
        T->sym_n[T->n_sym++] = 1;
    }
    dsv4_pretokenize(dsv4_corpus, strlen(dsv4_corpus), tr_piece, T);
    int done = 0;
    int *cnt = NULL;
    int32_t *pa = NULL, *pb = NULL;
    while (done < max_merges) {
        /* count pairs with a simple open-addressing table sized for this round */
        size_t total = 0;
        for (int i = 0; i < T->n_piece; i++) total += (size_t)T->plen[i];
        size_t cap = 16;
        while (cap < 2 * total + 16) cap *= 2;
        cnt = realloc(cnt, cap * sizeof *cnt);
        pa = realloc(pa, cap * sizeof *pa);
        pb = realloc(pb, cap * sizeof *pb);
        if (!cnt || !pa || !pb) abort();
        memset(cnt, 0, cap * sizeof *cnt);
        int best = -1;
        for (int i = 0; i < T->n_piece; i++)
            for (int k = 0; k + 1 < T->plen[i]; k++) {
                int32_t a = T->piece[i][k], b = T->piece[i][k + 1];
                if (T->sym_n[a] + T->sym_n[b] > 48) continue;
                size_t h = (((uint64_t)(uint32_t)a * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)(uint32_t)b * 0xc2b2ae3d27d4eb4full)) &
                           (cap - 1);
                while (cnt[h] && !(pa[h] == a && pb[h] == b)) h = (h + 1) & (cap - 1);
                pa[h] = a;
                pb[h] = b;
                cnt[h] += T->pcount[i];
                if (best < 0 || cnt[h] > cnt[best] ||
                    (cnt[h] == cnt[best] && (size_t)best != h && pair_cmp_bytes(T, a, b, pa[best], pb[best]) < 0))
                    best = (int)h;
            }
        if (best < 0) break;
        int32_t a = pa[best], b = pb[best];
        if (T->n_sym == T->cap_sym) {
            T->cap_sym *= 2;
            T->sym_b = realloc(T->sym_b, (size_t)T->cap_sym * sizeof *T->sym_b);
            T->sym_n = realloc(T->sym_n, (size_t)T->cap_sym * sizeof *T->sym_n);
            if (!T->sym_b || !T->sym_n) abort();
        }
        int32_t id = T->n_sym++;
        T->sym_n[id] = T->sym_n[a] + T->sym_n[b];
        T->sym_b[id] = malloc(T->sym_n[id]);
        memcpy(T->sym_b[id], T->sym_b[a], T->sym_n[a]);
        memcpy(T->sym_b[id] + T->sym_n[a], T->sym_b[b], T->sym_n[b]);
        merge_out[done][0] = a;
        merge_out[done][1] = b;
        done++;
        for (int i = 0; i < T->n_piece; i++) { /* apply left to right */
            int w = 0;
            for (int k = 0; k < T->plen[i]; k++) {
                if (k + 1 < T->plen[i] && T->piece[i][k] == a && T->piece[i][k + 1] == b) {
                    T->piece[i][w++] = id;
                    k++;
                } else {
                    T->piece[i][w++] = T->piece[i][k];
                }
            }
            T->plen[i] = w;
            T->piece[i][w] = -1;
        }
    }
    free(cnt);
    free(pa);
    free(pb);
    return done;
}

static void trainer_free(struct trainer *T)
{
    for (int i = 0; i < T->n_sym; i++) free(T->sym_b[i]);
    for (int i = 0; i < T->n_piece; i++) free(T->piece[i]);
    free(T->sym_b);
    free(T->sym_n);
    free(T->piece);
    free(T->plen);
    free(T->pcount);
}

static int vocab_add(struct vocab *v, char *s, size_t len, int32_t type)
{
    if (!s) return -1;
    v->tok[v->n] = s;
    v->len[v->n] = len;
    v->type[v->n] = type;
    v->n++;
    return 0;
}

static int build_vocab(struct vocab *v, int target)
{
    memset(v, 0, sizeof *v);
    int max_merges = target - 2 - 256 - N_SPECIALS;
    if (max_merges < 0) return -1;
    v->tok = calloc((size_t)target, sizeof *v->tok);
    v->len = calloc((size_t)target, sizeof *v->len);
    v->type = calloc((size_t)target, sizeof *v->type);
    int32_t(*mg)[2] = calloc((size_t)max_merges + 1, sizeof *mg);
    if (!v->tok || !v->len || !v->type || !mg) return -1;
    vocab_add(v, strdup(BOS), strlen(BOS), 3);
    vocab_add(v, strdup(EOS), strlen(EOS), 3);
    struct trainer T = {0};
    int nm = max_merges > 0 ? train_bpe(&T, max_merges, mg) : 0;
    if (nm == 0) {
        for (int b = 0; b < 256; b++) { /* train_bpe not run: byte symbols only */
            unsigned char c = (unsigned char)b;
            size_t l = 0;
            char *sym = to_symbols(&c, 1, &l);
            vocab_add(v, sym, l, 1);
        }
    } else {
        for (int s = 0; s < 256 + nm; s++) {
            size_t l = 0;
            char *sym = to_symbols(T.sym_b[s], T.sym_n[s], &l);
            vocab_add(v, sym, l, 1);
        }
        v->merges = calloc((size_t)nm, sizeof *v->merges);
        if (!v->merges) return -1;
        for (int i = 0; i < nm; i++) {
            size_t la, lb;
            char *a = to_symbols(T.sym_b[mg[i][0]], T.sym_n[mg[i][0]], &la);
            char *b = to_symbols(T.sym_b[mg[i][1]], T.sym_n[mg[i][1]], &lb);
            v->merges[i] = malloc(la + lb + 2);
            if (!a || !b || !v->merges[i]) return -1;
            memcpy(v->merges[i], a, la);
            v->merges[i][la] = ' ';
            memcpy(v->merges[i] + la + 1, b, lb + 1);
            free(a);
            free(b);
        }
        v->n_merges = nm;
    }
    trainer_free(&T);
    free(mg);
    for (int i = 0; v->n < target - N_SPECIALS; i++) {
        char buf[32];
        int l = snprintf(buf, sizeof buf, "<synthetic_%d>", i);
        vocab_add(v, strdup(buf), (size_t)l, 1);
    }
    for (int i = 0; i < N_SPECIALS; i++) vocab_add(v, strdup(SPECIALS[i]), strlen(SPECIALS[i]), 3);
    return 0;
}

/* ---- random quantised blocks (flash preset) ---------------------------------------------------------- */

static void random_blocks(struct rng *r, uint32_t type, uint8_t *dst, int64_t nblocks, float target)
{
    const struct dsv4_type_info *ti = dsv4_type_get(type);
    static const float unit[] = {[DSV4_TYPE_Q8_0] = 73.6f, [DSV4_TYPE_IQ2_XXS] = 67.0f, [DSV4_TYPE_Q2_K] = 13.9f,
                                 [DSV4_TYPE_Q4_K] = 257.0f};
    for (int64_t i = 0; i < nblocks; i++) {
        uint8_t *b = dst + i * ti->block_bytes;
        for (int k = 0; k < ti->block_bytes; k += 8) {
            uint64_t x = rng_next(r);
            int m = ti->block_bytes - k < 8 ? ti->block_bytes - k : 8;
            memcpy(b + k, &x, (size_t)m);
        }
        float d = target / unit[type] * (0.5f + uniform(r));
        if (d < 6.2e-5f) d = 6.2e-5f;
        uint16_t dh = dsv4_f32_to_f16(d);
        switch (type) {
        case DSV4_TYPE_Q8_0:
            memcpy(b, &dh, 2);
            for (int k = 2; k < 34; k++)
                if (b[k] == 0x80) b[k] = 0x81; /* keep q in [-127, 127] */
            break;
        case DSV4_TYPE_IQ2_XXS: memcpy(b, &dh, 2); break;
        case DSV4_TYPE_Q2_K: {
            uint16_t dm = dsv4_f32_to_f16(1.5f * d);
            memcpy(b + 80, &dh, 2);
            memcpy(b + 82, &dm, 2);
            break;
        }
        case DSV4_TYPE_Q4_K: {
            uint16_t dm = dsv4_f32_to_f16(7.5f * d);
            memcpy(b, &dh, 2);
            memcpy(b + 2, &dm, 2);
            break;
        }
        default: break;
        }
    }
}

/* ---- writers --------------------------------------------------------------------------------------- */

static int pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
    const char *p = buf;
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

struct st_entry {
    char name[96];
    const char *dtype;
    int nd;
    int64_t shape[3];
    uint64_t off, size;
};

struct progress {
    uint64_t done, total;
    time_t last;
    int quiet;
};

static void progress_add(struct progress *pg, uint64_t n)
{
    pg->done += n;
    if (pg->quiet) return;
    time_t now = time(NULL);
    if (now != pg->last || pg->done == pg->total) {
        pg->last = now;
        fprintf(stderr, "\rmkmodel: %8.1f / %.1f MB (%3.0f%%)", (double)pg->done / 1e6, (double)pg->total / 1e6,
                pg->total ? 100.0 * (double)pg->done / (double)pg->total : 100.0);
        if (pg->done == pg->total) fputc('\n', stderr);
    }
}

/* A JSON number that reads back as a float (always has a '.' or an exponent). */
static void json_f(FILE *f, const char *k, double v, int last)
{
    char b[64];
    snprintf(b, sizeof b, "%.9g", v);
    if (!strpbrk(b, ".eEn")) strcat(b, ".0");
    fprintf(f, "  \"%s\": %s%s\n", k, b, last ? "" : ",");
}
static void json_i(FILE *f, const char *k, long long v) { fprintf(f, "  \"%s\": %lld,\n", k, v); }

static int write_config(const char *dir, const struct preset *p, int topk, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        dsv4_seterr(err, errlen, "mkmodel: %s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "{\n  \"architectures\": [\"DeepseekV4ForCausalLM\"],\n  \"model_type\": \"deepseek_v4\",\n");
    json_i(f, "vocab_size", p->n_vocab);
    json_i(f, "hidden_size", p->n_embd);
    json_i(f, "num_hidden_layers", p->n_layer);
    json_i(f, "num_attention_heads", p->n_head);
    json_i(f, "num_key_value_heads", 1);
    json_i(f, "head_dim", p->head_dim);
    json_i(f, "qk_rope_head_dim", p->n_rot);
    json_i(f, "q_lora_rank", p->q_lora);
    json_i(f, "o_groups", p->o_groups);
    json_i(f, "o_lora_rank", p->o_lora);
    json_i(f, "n_routed_experts", p->n_expert);
    json_i(f, "num_experts_per_tok", p->n_expert_used);
    json_i(f, "n_shared_experts", 1);
    json_i(f, "moe_intermediate_size", p->n_ff_exp);
    fprintf(f, "  \"scoring_func\": \"sqrtsoftplus\",\n  \"norm_topk_prob\": true,\n");
    json_f(f, "routed_scaling_factor", 1.5, 0);
    json_f(f, "swiglu_limit", p->swiglu, 0);
    json_i(f, "num_hash_layers", p->n_hash);
    fprintf(f, "  \"compress_ratios\": [");
    for (uint32_t l = 0; l <= p->n_layer; l++) fprintf(f, "%s%u", l ? ", " : "", l < p->n_layer ? ratio_of(p, l) : 0);
    fprintf(f, "],\n");
    json_i(f, "sliding_window", p->n_swa);
    json_i(f, "index_n_heads", p->idx_head);
    json_i(f, "index_head_dim", p->idx_dim);
    json_i(f, "index_topk", topk);
    json_i(f, "hc_mult", 4);
    json_i(f, "hc_sinkhorn_iters", 20);
    json_f(f, "hc_eps", 1e-6, 0);
    json_f(f, "rms_norm_eps", 1e-6, 0);
    json_f(f, "rope_theta", 10000.0, 0);
    json_f(f, "compress_rope_theta", 160000.0, 0);
    fprintf(f,
            "  \"rope_scaling\": {\"type\": \"yarn\", \"factor\": %.1f, \"original_max_position_embeddings\": %u, "
            "\"beta_fast\": 32.0, \"beta_slow\": 1.0},\n",
            (double)p->yarn_factor, p->yarn_orig);
    json_i(f, "max_position_embeddings", (long long)(p->yarn_factor * (float)p->yarn_orig));
    fprintf(f, "  \"tie_word_embeddings\": false,\n  \"bos_token_id\": 0,\n  \"eos_token_id\": 1,\n");
    json_i(f, "num_nextn_predict_layers", 1);
    fprintf(f, "  \"hidden_act\": \"silu\",\n  \"attention_bias\": false,\n  \"torch_dtype\": \"float32\"\n}\n");
    if (fclose(f)) {
        dsv4_seterr(err, errlen, "mkmodel: %s: write failed", path);
        return -1;
    }
    return 0;
}

/* ---- main entry -------------------------------------------------------------------------------------- */

int dsv4_mkmodel(const struct dsv4_mkmodel_opts *o, char *err, size_t errlen)
{
    const struct preset *p = NULL;
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++)
        if (!strcmp(PRESETS[i].name, o->preset)) p = &PRESETS[i];
    if (!p) {
        dsv4_seterr(err, errlen, "mkmodel: unknown preset '%s' (tiny, small, flash)", o->preset);
        return -1;
    }
    const char *qs[] = {"f32", "f16", "q8", "q2", "q4"};
    int qok = 0;
    for (int i = 0; i < 5; i++) qok |= !strcmp(o->quant, qs[i]);
    if (!qok) {
        dsv4_seterr(err, errlen, "mkmodel: unknown quantisation '%s' (f32, f16, q8, q2, q4)", o->quant);
        return -1;
    }
    if (o->st_dir && p->fast_blocks && strcmp(o->quant, "f32") && strcmp(o->quant, "f16")) {
        dsv4_seterr(err, errlen, "mkmodel: the %s preset cannot write safetensors", p->name);
        return -1;
    }
    const int topk = o->index_topk > 0 ? o->index_topk : (int)p->idx_topk;

    struct specs S = {0};
    struct vocab voc = {0};
    struct dsv4_gguf_writer *w = NULL;
    struct st_entry *ste = NULL;
    int n_ste = 0, fd = -1, sfd = -1, rc = -1;
    uint8_t *hdr = NULL, *qbuf = NULL;
    float *fbuf = NULL, *dbuf = NULL;
    char *sthdr = NULL;
    if (build_specs(&S, p) || build_vocab(&voc, (int)p->n_vocab)) {
        dsv4_seterr(err, errlen, "mkmodel: out of memory");
        goto done;
    }
    for (int i = 0; i < S.n; i++) {
        struct spec *s = &S.v[i];
        s->type = type_for(s->role, o->quant);
        const struct dsv4_type_info *ti = dsv4_type_get(s->type);
        if (s->ne[0] % ti->block_elems) {
            dsv4_seterr(err, errlen,
                        "mkmodel: tensor '%s' (ne0 = %lld) cannot be stored as %s in the %s preset", s->gguf,
                        (long long)s->ne[0], ti->name, p->name);
            goto done;
        }
    }

    /* metadata */
    w = dsv4_gguf_writer_new(32);
    if (!w) goto oom;
    const char *A = "deepseek4.";
    char key[128];
#define K(k) (snprintf(key, sizeof key, "%s%s", A, k), key)
    dsv4_gguf_writer_add_str(w, "general.architecture", "deepseek4");
    dsv4_gguf_writer_add_str(w, "general.type", "model");
    char nm[128];
    snprintf(nm, sizeof nm, "DeepSeek V4 %s (random weights, seed %llu, %s)", p->name, (unsigned long long)o->seed,
             o->quant);
    dsv4_gguf_writer_add_str(w, "general.name", nm);
    dsv4_gguf_writer_add_u32(w, "general.alignment", 32);
    dsv4_gguf_writer_add_u32(w, "general.quantization_version", 2);
    dsv4_gguf_writer_add_u32(w, K("context_length"), p->ctx);
    dsv4_gguf_writer_add_u32(w, K("block_count"), p->n_layer);
    dsv4_gguf_writer_add_u32(w, K("embedding_length"), p->n_embd);
    dsv4_gguf_writer_add_u32(w, K("vocab_size"), p->n_vocab);
    dsv4_gguf_writer_add_u32(w, K("attention.head_count"), p->n_head);
    dsv4_gguf_writer_add_u32(w, K("attention.head_count_kv"), 1);
    dsv4_gguf_writer_add_u32(w, K("attention.key_length"), p->head_dim);
    dsv4_gguf_writer_add_u32(w, K("attention.value_length"), p->head_dim);
    dsv4_gguf_writer_add_u32(w, K("rope.dimension_count"), p->n_rot);
    dsv4_gguf_writer_add_u32(w, K("attention.q_lora_rank"), p->q_lora);
    dsv4_gguf_writer_add_u32(w, K("attention.output_lora_rank"), p->o_lora);
    dsv4_gguf_writer_add_u32(w, K("attention.output_group_count"), p->o_groups);
    dsv4_gguf_writer_add_u32(w, K("expert_count"), p->n_expert);
    dsv4_gguf_writer_add_u32(w, K("expert_used_count"), p->n_expert_used);
    dsv4_gguf_writer_add_u32(w, K("expert_feed_forward_length"), p->n_ff_exp);
    dsv4_gguf_writer_add_u32(w, K("expert_shared_count"), 1);
    dsv4_gguf_writer_add_u32(w, K("hash_layer_count"), p->n_hash);
    dsv4_gguf_writer_add_u32(w, K("attention.sliding_window"), p->n_swa);
    dsv4_gguf_writer_add_u32(w, K("attention.indexer.head_count"), p->idx_head);
    dsv4_gguf_writer_add_u32(w, K("attention.indexer.key_length"), p->idx_dim);
    dsv4_gguf_writer_add_u32(w, K("attention.indexer.top_k"), (uint32_t)topk);
    dsv4_gguf_writer_add_u32(w, K("hyper_connection.count"), 4);
    dsv4_gguf_writer_add_u32(w, K("hyper_connection.sinkhorn_iterations"), 20);
    dsv4_gguf_writer_add_f32(w, K("hyper_connection.epsilon"), 1e-6f);
    dsv4_gguf_writer_add_f32(w, K("attention.layer_norm_rms_epsilon"), 1e-6f);
    {
        int32_t *r = malloc((p->n_layer + 1) * sizeof *r);
        float *sw = malloc(p->n_layer * sizeof *sw);
        if (!r || !sw) {
            free(r);
            free(sw);
            goto oom;
        }
        for (uint32_t l = 0; l <= p->n_layer; l++) r[l] = l < p->n_layer ? (int32_t)ratio_of(p, l) : 0;
        for (uint32_t l = 0; l < p->n_layer; l++) sw[l] = p->swiglu;
        dsv4_gguf_writer_add_arr(w, K("attention.compress_ratios"), DSV4_GGUF_I32, r, p->n_layer + 1);
        dsv4_gguf_writer_add_f32(w, K("attention.compress_rope_freq_base"), 160000.0f);
        dsv4_gguf_writer_add_f32(w, K("rope.freq_base"), 10000.0f);
        dsv4_gguf_writer_add_str(w, K("rope.scaling.type"), "yarn");
        dsv4_gguf_writer_add_f32(w, K("rope.scaling.factor"), p->yarn_factor);
        dsv4_gguf_writer_add_u32(w, K("rope.scaling.original_context_length"), p->yarn_orig);
        dsv4_gguf_writer_add_f32(w, K("rope.scaling.yarn_beta_fast"), 32.0f);
        dsv4_gguf_writer_add_f32(w, K("rope.scaling.yarn_beta_slow"), 1.0f);
        dsv4_gguf_writer_add_f32(w, K("expert_weights_scale"), 1.5f);
        dsv4_gguf_writer_add_bool(w, K("expert_weights_norm"), 1);
        dsv4_gguf_writer_add_arr(w, K("swiglu_clamp_exp"), DSV4_GGUF_F32, sw, p->n_layer);
        dsv4_gguf_writer_add_u32(w, K("nextn_predict_layers"), 1);
        free(r);
        free(sw);
    }
#undef K
    dsv4_gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2");
    dsv4_gguf_writer_add_str(w, "tokenizer.ggml.pre", "joyai-llm");
    dsv4_gguf_writer_add_str_arr(w, "tokenizer.ggml.tokens", (const char *const *)voc.tok, voc.len, (uint64_t)voc.n);
    dsv4_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", DSV4_GGUF_I32, voc.type, (uint64_t)voc.n);
    dsv4_gguf_writer_add_str_arr(w, "tokenizer.ggml.merges", (const char *const *)voc.merges, NULL,
                                 (uint64_t)voc.n_merges);
    dsv4_gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 0);
    dsv4_gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 1);
    dsv4_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", 0);
    dsv4_gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token", 0);
    for (int i = 0; i < S.n; i++) {
        S.v[i].gidx = dsv4_gguf_writer_add_tensor(w, S.v[i].gguf, S.v[i].type, S.v[i].n_dims, S.v[i].ne);
        if (S.v[i].gidx < 0) goto oom;
    }
    size_t hlen;
    hdr = dsv4_gguf_writer_header(w, &hlen);
    if (!hdr) goto oom;
    const uint64_t fsize = dsv4_gguf_writer_file_size(w);

    fd = open(o->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        dsv4_seterr(err, errlen, "mkmodel: %s: %s", o->out, strerror(errno));
        goto done;
    }
    if (pwrite_all(fd, hdr, hlen, 0) || ftruncate(fd, (off_t)fsize)) {
        dsv4_seterr(err, errlen, "mkmodel: %s: %s", o->out, strerror(errno));
        goto done;
    }

    /* safetensors layout */
    uint64_t st_data = 0;
    if (o->st_dir) {
        if (mkdir(o->st_dir, 0755) && errno != EEXIST) {
            dsv4_seterr(err, errlen, "mkmodel: %s: %s", o->st_dir, strerror(errno));
            goto done;
        }
        int cap = 0;
        for (int i = 0; i < S.n; i++) cap += S.v[i].split_experts ? (int)S.v[i].ne[2] : 1;
        ste = calloc((size_t)cap, sizeof *ste);
        if (!ste) goto oom;
        uint64_t off = 0;
        for (int i = 0; i < S.n; i++) {
            const struct spec *s = &S.v[i];
            int parts = s->split_experts ? (int)s->ne[2] : 1;
            for (int e = 0; e < parts; e++) {
                struct st_entry *t = &ste[n_ste++];
                if (s->split_experts) snprintf(t->name, sizeof t->name, s->official, e);
                else snprintf(t->name, sizeof t->name, "%s", s->official);
                t->dtype = s->role == R_TID ? "I64" : "F32";
                /* torch order = reversed GGUF dims; 1-D stays 1-D; experts drop ne2 */
                if (s->n_dims == 1) {
                    t->nd = 1;
                    t->shape[0] = s->ne[0];
                } else {
                    t->nd = 2;
                    t->shape[0] = s->ne[1];
                    t->shape[1] = s->ne[0];
                }
                t->size = (uint64_t)(s->ne[0] * s->ne[1]) * 4u * (s->role == R_TID ? 2u : 1u);
                t->off = off;
                off += t->size;
            }
        }
        size_t cap_h = 256 + (size_t)n_ste * 200;
        sthdr = malloc(cap_h);
        if (!sthdr) goto oom;
        size_t k = (size_t)snprintf(sthdr, cap_h, "{\"__metadata__\":{\"format\":\"pt\"}");
        for (int i = 0; i < n_ste; i++) {
            const struct st_entry *t = &ste[i];
            k += (size_t)snprintf(sthdr + k, cap_h - k, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t->name, t->dtype);
            for (int j = 0; j < t->nd; j++) k += (size_t)snprintf(sthdr + k, cap_h - k, "%s%lld", j ? "," : "", (long long)t->shape[j]);
            k += (size_t)snprintf(sthdr + k, cap_h - k, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)t->off,
                                  (unsigned long long)(t->off + t->size));
        }
        k += (size_t)snprintf(sthdr + k, cap_h - k, "}");
        while (k % 8) sthdr[k++] = ' ';
        char path[4096];
        snprintf(path, sizeof path, "%s/model.safetensors", o->st_dir);
        sfd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        uint64_t hl = k;
        if (sfd < 0 || pwrite_all(sfd, &hl, 8, 0) || pwrite_all(sfd, sthdr, k, 8) ||
            ftruncate(sfd, (off_t)(8 + k + off))) {
            dsv4_seterr(err, errlen, "mkmodel: %s: %s", path, strerror(errno));
            goto done;
        }
        st_data = 8 + k;
        if (write_config(o->st_dir, p, topk, err, errlen)) goto done;
    }

    if (o->zeros) {
        rc = 0;
        goto done;
    }

    /* tensor data */
    struct progress pg = {0, fsize - hlen, 0, o->quiet};
    int ste_i = 0;
    for (int i = 0; i < S.n; i++) {
        const struct spec *s = &S.v[i];
        const int64_t ne0 = s->ne[0], rows = s->ne[1] * s->ne[2];
        const size_t rb = dsv4_row_bytes(s->type, ne0);
        const uint64_t goff = dsv4_gguf_writer_tensor_offset(w, s->gidx);
        struct rng r;
        rng_seed(&r, o->seed, s->gguf);
        /* rows per batch: about 4 MB of output */
        int64_t batch = (int64_t)((4u << 20) / (rb ? rb : 1));
        if (batch < 1) batch = 1;
        if (batch > rows) batch = rows;
        free(qbuf);
        free(fbuf);
        free(dbuf);
        qbuf = malloc((size_t)batch * rb);
        fbuf = malloc((size_t)ne0 * sizeof *fbuf);
        dbuf = o->st_dir ? malloc((size_t)(batch * ne0) * 8) : NULL;
        if (!qbuf || !fbuf || (o->st_dir && !dbuf)) goto oom;
        const int fast = p->fast_blocks && dsv4_type_get(s->type)->block_elems > 1;
        for (int64_t r0 = 0; r0 < rows; r0 += batch) {
            int64_t nb = rows - r0 < batch ? rows - r0 : batch;
            for (int64_t rr = 0; rr < nb; rr++) {
                uint8_t *q = qbuf + (size_t)rr * rb;
                if (s->init == I_TID2EID) {
                    int32_t *ids = (int32_t *)fbuf, perm[1024];
                    int E = (int)p->n_expert;
                    for (int e = 0; e < E && e < 1024; e++) perm[e] = e;
                    for (int64_t j = 0; j < ne0; j++) { /* partial Fisher-Yates */
                        int pick = (int)j + (int)(rng_next(&r) % (uint64_t)(E - j));
                        int32_t t = perm[j];
                        perm[j] = perm[pick];
                        perm[pick] = t;
                        ids[j] = perm[j];
                    }
                    memcpy(q, ids, (size_t)ne0 * 4);
                    if (dbuf)
                        for (int64_t j = 0; j < ne0; j++) ((int64_t *)dbuf)[rr * ne0 + j] = ids[j];
                    continue;
                }
                if (fast) {
                    random_blocks(&r, s->type, q, ne0 / dsv4_type_get(s->type)->block_elems, s->std);
                } else {
                    for (int64_t j = 0; j < ne0; j++) fbuf[j] = s->mean + s->std * normal(&r);
                    dsv4_quantize_row(s->type, fbuf, q, ne0);
                }
                if (dbuf) dsv4_dequantize_row(s->type, q, dbuf + rr * ne0, ne0);
            }
            if (pwrite_all(fd, qbuf, (size_t)nb * rb, goff + (uint64_t)r0 * rb)) {
                dsv4_seterr(err, errlen, "mkmodel: %s: %s", o->out, strerror(errno));
                goto done;
            }
            if (dbuf) { /* experts: rows r0.. may span several per-expert entries */
                const int64_t esz = s->ne[1];
                const size_t eb = s->role == R_TID ? 8 : 4;
                for (int64_t rr = 0; rr < nb;) {
                    int64_t row = r0 + rr, e = s->split_experts ? row / esz : 0, within = s->split_experts ? row % esz : row;
                    int64_t cnt = s->split_experts ? esz - within : nb - rr;
                    if (cnt > nb - rr) cnt = nb - rr;
                    const struct st_entry *t = &ste[ste_i + e];
                    if (pwrite_all(sfd, (const char *)dbuf + (size_t)(rr * ne0) * eb, (size_t)(cnt * ne0) * eb,
                                   st_data + t->off + (uint64_t)(within * ne0) * eb)) {
                        dsv4_seterr(err, errlen, "mkmodel: safetensors: %s", strerror(errno));
                        goto done;
                    }
                    rr += cnt;
                }
            }
            progress_add(&pg, (uint64_t)nb * rb);
        }
        ste_i += s->split_experts ? (int)s->ne[2] : 1;
        /* padding between tensors counts towards the total */
        if (i + 1 < S.n) {
            uint64_t next = dsv4_gguf_writer_tensor_offset(w, S.v[i + 1].gidx);
            progress_add(&pg, next - goff - (uint64_t)rows * rb);
        }
    }
    rc = 0;
    goto done;
oom:
    dsv4_seterr(err, errlen, "mkmodel: out of memory");
done:
    if (fd >= 0 && close(fd) && rc == 0) {
        dsv4_seterr(err, errlen, "mkmodel: %s: %s", o->out, strerror(errno));
        rc = -1;
    }
    if (sfd >= 0) close(sfd);
    free(hdr);
    free(qbuf);
    free(fbuf);
    free(dbuf);
    free(sthdr);
    free(ste);
    free(S.v);
    vocab_free(&voc);
    dsv4_gguf_writer_free(w);
    return rc;
}
