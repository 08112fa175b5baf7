/*
 * fixtures.h - shared fixtures of the engine tests: paths, generated models, an engine
 * instance, SHA-256.
 */
#ifndef DSV4_TEST_FIXTURES_H
#define DSV4_TEST_FIXTURES_H

#include "backend.h"
#include "forward.h"
#include "model.h"

#include <stddef.h>
#include <stdint.h>

/* Scratch directory for generated files (DSV4_TEST_TMP, else /tmp). */
const char *t_tmpdir(void);
/* Repository's tests/ directory (DSV4_TEST_DATA, else "tests"). */
const char *t_datadir(void);
/* 1 under the sanitizer pass (DSV4_TEST_QUICK set): skip the slowest cases. */
int t_quick(void);

/* Generate a model (mkmodel) into a fresh file; returns its malloc'ed path (the caller
 * unlinks and frees it). st_dir: also write safetensors there (NULL: no). */
char *t_mkmodel(const char *preset, const char *quant, int index_topk, int zeros, const char *st_dir);

/* Read a whole file (malloc'ed); NULL on failure. */
void *t_read_file(const char *path, size_t *len);

struct t_engine {
    struct dsv4_model m;
    struct dsv4_backend *b;
    struct dsv4_ctx *ctx;
    char *path;
};

/* A tiny model of the given quantisation on the CPU backend. */
void t_engine_open(struct t_engine *e, const char *quant, int index_topk, int threads, int ubatch, int sim);
/* A new context on an open engine (the old one is freed); n_ctx 0 = 1024 positions. */
void t_engine_ctx(struct t_engine *e, int64_t n_ctx, int ubatch, int sim, int topk);
void t_engine_close(struct t_engine *e);

void t_sha256(const void *data, size_t n, unsigned char out[32]);
void t_hex(const unsigned char *b, size_t n, char *out);

/* Deterministic pseudo-random numbers for test data. */
uint64_t t_rand(uint64_t *s);
float t_randn(uint64_t *s);

#endif
