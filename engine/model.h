/*
 * model.h - the DeepSeek-V4 architecture as read from a GGUF file: hyperparameters from
 * the deepseek4.* metadata keys, and every weight tensor bound by name with its shape and
 * type checked against those hyperparameters.
 *
 * Any dimensions are accepted, from a tiny test model to full Flash; nothing is a
 * compile-time constant. Weights stay where the file put them (mmap, quantised formats);
 * only 1-D vectors stored as F16/BF16 get a small f32 copy (field f32).
 */
#ifndef DSV4_MODEL_H
#define DSV4_MODEL_H

#include "gguf.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dsv4_hparams {
    uint32_t n_layer;       /* block_count */
    uint32_t n_embd;        /* D */
    uint32_t n_vocab;       /* V */
    uint32_t n_head;        /* H */
    uint32_t head_dim;      /* d (key_length = value_length) */
    uint32_t n_rot;         /* trailing RoPE dims of each head */
    uint32_t q_lora;        /* query low rank */
    uint32_t o_lora;        /* output low rank per group */
    uint32_t o_groups;      /* output groups */
    uint32_t n_expert;      /* routed experts E */
    uint32_t n_expert_used; /* k */
    uint32_t n_ff_exp;      /* expert FFN width I */
    uint32_t n_hash_layer;  /* layers [0, n_hash_layer) are hash-routed */
    uint32_t n_swa;         /* sliding window W (rows including the current one) */
    uint32_t idx_head;      /* indexer heads */
    uint32_t idx_dim;       /* indexer head dim */
    uint32_t idx_topk;      /* indexer top-k */
    uint32_t n_hc;          /* hyper-connection streams */
    uint32_t hc_iters;      /* Sinkhorn iterations */
    float hc_eps;
    float rms_eps;
    float rope_base;          /* sliding-only layers */
    float compress_rope_base; /* compressed layers (with YaRN) */
    int yarn;                 /* rope.scaling.type == "yarn" */
    float yarn_factor, yarn_beta_fast, yarn_beta_slow;
    uint64_t yarn_orig_ctx;
    float expert_scale; /* expert_weights_scale */
    int expert_norm;    /* expert_weights_norm */
    uint64_t context_length;
    uint32_t *ratio;     /* [n_layer] compress ratio: 0, 4 (overlap + indexer) or other */
    float *swiglu_limit; /* [n_layer] */
};

/* A weight as stored in the file. */
struct dsv4_tensor {
    char name[64];
    uint32_t type;
    int n_dims;
    int64_t ne[4];
    const void *data; /* in the mapping */
    size_t nbytes;
    size_t nb1;         /* bytes per row of ne0 elements */
    const float *f32;   /* 1-D vectors only: data as f32 (a copy unless stored F32) */
    int f32_owned;      /* f32 is a malloc'ed copy */
    void *bdata;        /* backend copy or alias, set by the backend's load_weights */
};

struct dsv4_layer {
    uint32_t ratio; /* 0, 4 or other */
    int hash;       /* hash-routed */
    const struct dsv4_tensor *hc_attn_fn, *hc_attn_scale, *hc_attn_base, *attn_norm;
    const struct dsv4_tensor *q_a, *q_a_norm, *q_b, *kv, *kv_norm, *sinks, *o_a, *o_b;
    const struct dsv4_tensor *c_ape, *c_kv, *c_gate, *c_norm;               /* ratio > 0 */
    const struct dsv4_tensor *i_q_b, *i_proj, *i_ape, *i_kv, *i_gate, *i_norm; /* ratio 4 */
    const struct dsv4_tensor *hc_ffn_fn, *hc_ffn_scale, *hc_ffn_base, *ffn_norm, *gate_inp;
    const struct dsv4_tensor *exp_bias; /* score-routed layers; NULL = zero bias */
    const struct dsv4_tensor *tid2eid;  /* hash layers */
    const struct dsv4_tensor *gate_exps, *up_exps, *down_exps;
    const struct dsv4_tensor *gate_sh, *up_sh, *down_sh;
};

struct dsv4_model {
    struct dsv4_gguf gguf;
    struct dsv4_hparams hp;
    struct dsv4_tensor *tensors; /* one per bound tensor */
    int n_tensors;
    int n_unused; /* tensors in the file that are not part of the architecture */
    const struct dsv4_tensor *tok_embd, *out_hc_fn, *out_hc_scale, *out_hc_base, *out_norm, *output;
    struct dsv4_layer *layers;
};

/* Read hyperparameters from metadata. Returns 0 or -1 (err names the key). Allocates the
 * per-layer arrays (free with dsv4_hparams_free). */
int dsv4_hparams_read(struct dsv4_hparams *hp, const struct dsv4_gguf *g, char *err, size_t errlen);
/* Release the per-layer arrays of hp. */
void dsv4_hparams_free(struct dsv4_hparams *hp);

/* Open a GGUF file (mmap) and bind the model. Returns 0 or -1 with a one-line error
 * naming the file and the key or tensor. */
int dsv4_model_load(struct dsv4_model *m, const char *path, char *err, size_t errlen);

/* Bind a model on an already-parsed GGUF (ownership of g moves into m on success; on
 * failure g is left to the caller). */
int dsv4_model_bind(struct dsv4_model *m, struct dsv4_gguf *g, char *err, size_t errlen);

/* Release everything of a bound model (the mapping included). Zeroes m. */
void dsv4_model_free(struct dsv4_model *m);

/* Validate a complete model image in memory: container, hyperparameters, every tensor and
 * the tokenizer. Returns 0 or -1 with a one-line message. Safe on arbitrary bytes (this is
 * the entry point the GGUF fuzzer drives). */
int dsv4_validate_buffer(const void *buf, size_t len, char *err, size_t errlen);

/* RoPE frequencies of a layer kind (n_rot/2 floats): compressed = 0 gives base rope_base
 * without scaling, 1 gives compress_rope_base with YaRN when enabled. */
void dsv4_rope_freqs(const struct dsv4_hparams *hp, int compressed, float *out);

#ifdef __cplusplus
}
#endif
#endif
