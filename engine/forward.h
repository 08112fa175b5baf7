/*
 * forward.h - running a DeepSeek-V4 model: per-sequence state (sliding-window rows,
 * compressed rows, indexer keys, compressor slots of every layer) and the forward pass,
 * written once over the operations of backend.h.
 *
 * A context evaluates tokens at consecutive positions: a call with n tokens is a prefill
 * (processed in chunks of n_ubatch), a call with one token is a decode step; both give the
 * same logits. Positions are limited to n_ctx (the compressed-row buffers are sized by it).
 */
#ifndef DSV4_FORWARD_H
#define DSV4_FORWARD_H

#include "backend.h"
#include "model.h"
#include "sample.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dsv4_ctx_params {
    int64_t n_ctx;  /* maximum number of positions (default 4096 when 0) */
    int n_ubatch;   /* tokens per forward chunk (default 64 when 0) */
    int sim;        /* simulate the official FP8/FP4 quantisation (see forward.c) */
    int topk;       /* indexer top-k override (0 = the model's) */
};

struct dsv4_ctx;

/* Create a context for model m on backend b (whose load_weights must have run on m).
 * Returns 0 or -1 with a message (out of backend memory). */
int dsv4_ctx_new(struct dsv4_ctx **out, const struct dsv4_model *m, struct dsv4_backend *b,
                 const struct dsv4_ctx_params *p, char *err, size_t errlen);
/* Release a context and its backend memory (NULL is allowed). */
void dsv4_ctx_free(struct dsv4_ctx *c);

/* Forget the sequence (next token is at position 0). */
void dsv4_ctx_reset(struct dsv4_ctx *c);

/* Position of the next token. */
int64_t dsv4_ctx_pos(const struct dsv4_ctx *c);

/* Evaluate n tokens (host ids) at the current position and advance it. logits (host) gets
 * n x n_vocab floats when all_logits, else the n_vocab logits of the last token; NULL
 * skips the output head. Returns 0, or -1 with a message (bad token id, context full). */
int dsv4_eval(struct dsv4_ctx *c, const int32_t *tokens, int n, float *logits, int all_logits, char *err,
              size_t errlen);

/* Evaluate n tokens like dsv4_eval, then choose the next token from the last token's logits
 * with the backend's sample op and s's settings and draw (dsv4_sampler_draw: one draw when
 * s->temp > 0). The logits stay in backend memory; only the token id comes back. Returns 0
 * with *next set (-1 if the backend could not sample), or -1 with a message as dsv4_eval. */
int dsv4_eval_sample(struct dsv4_ctx *c, const int32_t *tokens, int n, struct dsv4_sampler *s, int32_t *next,
                     char *err, size_t errlen);

/* Debugging hook: called after every layer with the host copy of the hyper-connection
 * state X [n, hc, D] of the chunk (layer = -1 for the embedding). NULL disables. */
void dsv4_ctx_set_trace(struct dsv4_ctx *c, void (*cb)(void *ud, int layer, int64_t pos0, int n, const float *X),
                        void *ud);

#ifdef __cplusplus
}
#endif
#endif
