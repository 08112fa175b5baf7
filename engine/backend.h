/*
 * backend.h - the operations a compute backend provides to run DeepSeek-V4.
 *
 * forward.c writes the model once, as a sequence of calls to these operations; a backend
 * (cpu.c; cuda/ in builds made with `make cuda`) implements them over its own memory.
 * Every pointer passed to an operation is backend memory obtained from alloc() (or an
 * offset into it), except where a parameter says "host". Weights are struct dsv4_tensor:
 * the backend reads t->bdata (set by load_weights) in the tensor's own storage type -
 * quantised weights are never expanded.
 *
 * Layout conventions (all fp32 unless stated):
 *  - activations of a chunk of n tokens are row-major [n, width]; "stride" arguments are
 *    in elements between consecutive token rows;
 *  - hyper-connection state X is [n, hc, D] (stream-major within a token);
 *  - a weight matrix [ne0 = in, ne1 = out] has rows of nb1 bytes; output r of a matmul is
 *    row (row0 + r); a 3-D expert tensor [in, out, E] is addressed with row0 = e * out;
 *  - positions of a chunk are pos0, pos0+1, ... (host integers);
 *  - index buffers are int32.
 * Operations run in submission order; only get() (device-to-host) synchronises.
 * Determinism: for the same inputs an operation must return the same bits whatever the
 * chunking of the tokens (prefill in one call, or one token at a time).
 */
#ifndef DSV4_BACKEND_H
#define DSV4_BACKEND_H

#include "model.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dsv4_backend;

/* Which FP8/FP4 rounding a compressor applies to its new entries. */
enum dsv4_sim_kind {
    DSV4_SIM_NONE = 0,
    DSV4_SIM_FP8_KV = 1,   /* e4m3 on the first (width - n_rot) dims, blocks of 64 */
    DSV4_SIM_FP4_HADA = 2, /* Walsh-Hadamard over the whole row, then e2m1 blocks of 32 */
};

struct dsv4_hc_args {
    const float *X;               /* [n, hc, D] */
    int n, hc;
    int64_t D;
    const struct dsv4_tensor *fn; /* [hc*D, (2+hc)*hc] (or [hc*D, hc] for the head) */
    const float *scale;           /* [3] (head: [1]) */
    const float *base;            /* [(2+hc)*hc] (head: [hc]) */
    float rms_eps, hc_eps;
    int iters;                    /* Sinkhorn iterations */
    float *u;                     /* out [n, D]: sum_j pre_j X_j */
    float *post;                  /* out [n, hc]      (hc_pre only) */
    float *comb;                  /* out [n, hc, hc]  (hc_pre only) */
};

struct dsv4_compress_args {
    const float *a, *z;            /* [n, coff*c]: kv and gate projections of the chunk */
    int n;
    int64_t pos0;
    int ratio;                     /* m */
    int overlap;                   /* m == 4: two series, coff = 2 */
    int64_t c;                     /* entry width */
    const struct dsv4_tensor *ape; /* [coff*c, m], row = position mod m */
    const float *norm;             /* [c] */
    float eps;
    float *state;                  /* [coff*m, 2*coff*c]: per slot (a | z); see forward.c */
    float *entries;                /* [capacity, c]; entry i at row i */
    const float *freqs;            /* [n_rot/2] */
    int n_rot;
    int sim;                       /* enum dsv4_sim_kind */
};

struct dsv4_index_args {
    const float *q;     /* [n, nI, cI] (RoPE applied) */
    const float *w;     /* [n, nI] head weights, already scaled */
    const float *keys;  /* [entries, cI] */
    int n, nI;
    int64_t cI, pos0;
    int ratio, topk;
    int32_t *out;       /* [n, topk]: selected entry ids, -1 padded */
};

struct dsv4_attn_args {
    const float *q;      /* [n, H, d] */
    float *o;            /* [n, H, d] */
    int n, H;
    int64_t d, pos0;
    const float *win;    /* ring of raw kv rows: position p at row p % win_cap */
    int64_t win_cap;
    int window;          /* rows visible: positions max(0, p-window+1) .. p */
    const float *comp;   /* compressed entries [*, d], or NULL */
    int ratio;           /* entries visible to position p: floor((p+1)/ratio) */
    const int32_t *sel;  /* [n, topk] selected entries (-1 = none), or NULL for all visible */
    int topk;
    const float *sinks;  /* [H] */
    float scale;
};

struct dsv4_route_args {
    const float *logits;             /* [n, E] router logits */
    int n, E, k;
    const float *bias;               /* [E] selection bias, or NULL */
    const struct dsv4_tensor *tid2eid; /* hash routing table [k, V] I32, or NULL */
    const int32_t *tokens;           /* [n] token ids (hash routing) */
    int norm;                        /* normalise the k weights to sum 1 */
    float scale;
    int32_t *ids;                    /* out [n, k] */
    float *weights;                  /* out [n, k] */
};

struct dsv4_moe_args {
    const float *x;                  /* [n, D] */
    int n, k;
    int64_t D, I;
    const int32_t *ids;              /* [n, k] */
    const float *weights;            /* [n, k] */
    const struct dsv4_tensor *gate, *up, *down; /* [D, I, E], [D, I, E], [I, D, E] */
    float limit;                     /* SwiGLU clamp */
    int sim_fp8;                     /* round expert inputs through FP8 (blocks of 128) */
    float *y;                        /* out [n, D] (overwritten) */
};

struct dsv4_backend_ops {
    const char *name;
    void (*destroy)(struct dsv4_backend *b);

    /* ---- memory ---- */
    void *(*alloc)(struct dsv4_backend *b, size_t bytes); /* zero-filled; NULL on failure */
    void (*free)(struct dsv4_backend *b, void *p);
    void (*set)(struct dsv4_backend *b, void *dst, const void *host, size_t n);  /* host -> backend */
    void (*get)(struct dsv4_backend *b, void *host, const void *src, size_t n);  /* backend -> host */
    void (*copy)(struct dsv4_backend *b, void *dst, const void *src, size_t n);
    void (*fill)(struct dsv4_backend *b, float *dst, float v, size_t n);
    /* Make every tensor of m usable (set t->bdata). progress(ud, done, total) may be NULL.
     * Returns 0 or -1 with a message. */
    int (*load_weights)(struct dsv4_backend *b, struct dsv4_model *m,
                        void (*progress)(void *ud, size_t done, size_t total), void *ud, char *err,
                        size_t errlen);

    /* ---- operations ---- */
    /* out[i] = row ids[i] of w, decoded (host ids). */
    void (*get_rows)(struct dsv4_backend *b, const struct dsv4_tensor *w, const int32_t *ids, int n, float *out);
    /* y[t*ys + r] = w[row0 + r] . x[t*xs + 0 .. ne0) for t < n, r < nr. */
    void (*matmul)(struct dsv4_backend *b, const struct dsv4_tensor *w, int64_t row0, int64_t nr, const float *x,
                   int64_t xs, float *y, int64_t ys, int n);
    /* rows of dim: y = x / sqrt(mean(x^2) + eps) (* w if w); x == y allowed. */
    void (*rms_norm)(struct dsv4_backend *b, const float *x, float *y, const float *w, int64_t dim,
                     int64_t rows, float eps);
    /* Rotate pairs (2i, 2i+1) of dims [off, off+n_rot) of each of the rows_per_tok rows of
     * row_len of token t by angle (pos0 + t*pos_step) * freqs[i] (negated if inverse). */
    void (*rope)(struct dsv4_backend *b, float *x, int64_t row_len, int rows_per_tok, int n, int64_t off,
                 int n_rot, int64_t pos0, int64_t pos_step, const float *freqs, int inverse);
    /* X[t, s, :] = e[t, :] for every stream s. */
    void (*hc_expand)(struct dsv4_backend *b, const float *e, float *X, int n, int hc, int64_t D);
    /* mHC pre with Sinkhorn (u, post, comb). */
    void (*hc_pre)(struct dsv4_backend *b, const struct dsv4_hc_args *a);
    /* X'[t, k] = post[t, k] f[t] + sum_j comb[t, j, k] X[t, j]. */
    void (*hc_post)(struct dsv4_backend *b, const float *X, const float *f, const float *post, const float *comb,
                    int n, int hc, int64_t D, float *Xout);
    /* Head collapse: u = sum_j (sigmoid(mix_j scale + base_j) + hc_eps) X_j. */
    void (*hc_head)(struct dsv4_backend *b, const struct dsv4_hc_args *a);
    /* Feed n tokens to a compressor; append the entries whose window completes. */
    void (*compress)(struct dsv4_backend *b, const struct dsv4_compress_args *a);
    /* Lightning-indexer scores and top-k of the visible entries. */
    void (*indexer_topk)(struct dsv4_backend *b, const struct dsv4_index_args *a);
    /* Sliding window + compressed entries attention with sinks. */
    void (*attention)(struct dsv4_backend *b, const struct dsv4_attn_args *a);
    /* sqrt(softplus) router: hash table or biased top-k; weights from unbiased scores. */
    void (*route)(struct dsv4_backend *b, const struct dsv4_route_args *a);
    /* Routed experts: y = sum_k W2_e (w_k * swiglu(W1_e x, W3_e x)). */
    void (*moe)(struct dsv4_backend *b, const struct dsv4_moe_args *a);
    /* h = silu(min(g, limit)) * clamp(u, -limit, limit), n elements. */
    void (*swiglu)(struct dsv4_backend *b, const float *g, const float *u, float *h, int64_t n, float limit);
    /* y += x (n elements). */
    void (*add)(struct dsv4_backend *b, float *y, const float *x, int64_t n);
    /* x *= s (n elements). */
    void (*scale)(struct dsv4_backend *b, float *x, float s, int64_t n);
    /* FP8 round the first nround elements of each row (row_len apart) in blocks. */
    void (*fp8_round)(struct dsv4_backend *b, float *x, int64_t row_len, int64_t rows, int64_t nround, int block);
    /* Hadamard-rotate each row (row_len a power of two), then FP4-round in blocks. */
    void (*fp4_hadamard)(struct dsv4_backend *b, float *x, int64_t row_len, int64_t rows, int block);
    /* Choose the next token from n logits as sample.h's dsv4_sample_pick does (greedy when
     * temp <= 0, else temperature / top-k / top-p with the host's draw, a value < 2^53 from
     * dsv4_sampler_draw) and write its id to out[0] (int32; -1 when n is out of range or the
     * host is out of memory). Every backend chooses the same token for the same logits and
     * draw, so only out[0] needs to come back to the host. */
    void (*sample)(struct dsv4_backend *b, const float *logits, int n, float temp, int top_k, float top_p,
                   uint64_t draw, int32_t *out);
};

struct dsv4_backend {
    const struct dsv4_backend_ops *ops;
    void *impl;
};

/* The CPU reference backend with n_threads worker threads (0 = number of CPUs). Returns
 * NULL when out of memory. */
struct dsv4_backend *dsv4_backend_cpu_new(int n_threads);

/* Options of the CUDA backend. */
struct dsv4_cuda_params {
    int device;           /* CUDA device ordinal */
    uint64_t random_seed; /* nonzero: load_weights fills every weight on the device with random
                           * values of its type (seeded by this) instead of reading the file -
                           * full-size runs from a header-only (mkmodel --zeros) file */
};

/* The CUDA backend (engine/cuda/; only in builds made with `make cuda`, which define
 * DSV4_HAVE_CUDA). Returns NULL with a one-line message when no device is usable. A
 * device fault during an operation prints the failing call, file and line and aborts. */
struct dsv4_backend *dsv4_backend_cuda_new(const struct dsv4_cuda_params *p, char *err, size_t errlen);

/* One line describing CUDA device `device` (name, architecture, memory) into out.
 * Returns 0, or -1 when the device cannot be queried. CUDA builds only. */
int dsv4_cuda_describe(int device, char *out, size_t len);

#ifdef __cplusplus
}
#endif
#endif
