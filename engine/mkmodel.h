/*
 * mkmodel.h - random-weight DeepSeek-V4 models with the real GGUF layout (names, shapes,
 * metadata keys, per-tensor types of the public q2/q4 files), a small BPE vocabulary with
 * DeepSeek's special tokens, and optionally the same weights as a safetensors file with
 * the official checkpoint names plus an official-style config.json (for the oracle).
 *
 * Output is a pure function of (preset, quant, seed, overrides): no floating-point
 * operation depends on libm, so files are byte-identical on every machine.
 */
#ifndef DSV4_MKMODEL_H
#define DSV4_MKMODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dsv4_mkmodel_opts {
    const char *preset;      /* "tiny", "small" or "flash" */
    const char *quant;       /* "f32", "f16", "q8", "q2" or "q4" */
    uint64_t seed;
    const char *out;         /* GGUF path */
    const char *st_dir;      /* directory for model.safetensors + config.json, or NULL */
    int zeros;               /* write the header only (sparse file of zeros) */
    int index_topk;          /* override the preset's indexer top-k (0 = keep) */
    int quiet;               /* no progress on stderr */
};

/* Write the model. Returns 0, or -1 with a one-line message. */
int dsv4_mkmodel(const struct dsv4_mkmodel_opts *o, char *err, size_t errlen);

/* Names of the presets, NULL-terminated. */
extern const char *const dsv4_mkmodel_presets[];

/* The built-in training text of the BPE vocabularies (corpus.c). */
extern const char dsv4_corpus[];

#ifdef __cplusplus
}
#endif
#endif
