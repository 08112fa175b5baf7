/*
 * quant.h - tensor element formats of the GGUF files the engine reads: type table,
 * dequantisation, quantisation, dot products, and the FP8/FP4 rounding used to simulate
 * the official runtime's numerics.
 *
 * Formats (ggml type ids): F32 (0), F16 (1), Q8_0 (8), Q2_K (10), Q4_K (12), Q8_K (15,
 * activations only), IQ2_XXS (16), I32 (26), BF16 (30). Block layouts are the ggml ones;
 * all multi-byte fields are little-endian. A "row" is ne0 consecutive elements; its length
 * must be a multiple of the type's block size.
 *
 * Every function here is pure (no global state besides constant tables) and thread-safe.
 */
#ifndef DSV4_QUANT_H
#define DSV4_QUANT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum dsv4_type {
    DSV4_TYPE_F32 = 0,
    DSV4_TYPE_F16 = 1,
    DSV4_TYPE_Q8_0 = 8,
    DSV4_TYPE_Q2_K = 10,
    DSV4_TYPE_Q4_K = 12,
    DSV4_TYPE_Q8_K = 15,
    DSV4_TYPE_IQ2_XXS = 16,
    DSV4_TYPE_I32 = 26,
    DSV4_TYPE_BF16 = 30,
};

#define DSV4_QK_K 256 /* elements per K-quant / IQ2 super-block */
#define DSV4_QK8_0 32 /* elements per Q8_0 block */

/* Block sizes in bytes. */
#define DSV4_Q8_0_BYTES 34
#define DSV4_Q2_K_BYTES 84
#define DSV4_Q4_K_BYTES 144
#define DSV4_Q8_K_BYTES 292
#define DSV4_IQ2_XXS_BYTES 66

struct dsv4_type_info {
    const char *name;    /* "F32", "Q8_0", ... */
    int block_elems;     /* elements per block (1 for plain types) */
    int block_bytes;     /* bytes per block */
    int is_float_weight; /* usable as a weight (dequantises to float); 0 for I32 and Q8_K */
};

/* The description of a type, or NULL if the engine does not support it. */
const struct dsv4_type_info *dsv4_type_get(uint32_t type);

/* Name of a type ("F32", ...), or "?" if unsupported. Never NULL. */
const char *dsv4_type_name(uint32_t type);

/* Type id for a name as printed by dsv4_type_name (case-insensitive), or -1. */
int dsv4_type_from_name(const char *name);

/* Bytes of a row of n elements. n must be a multiple of the block size (checked by the
 * callers that validate files; returns 0 for unsupported types). */
size_t dsv4_row_bytes(uint32_t type, int64_t n);

/* ---- scalar conversions ------------------------------------------------------------- */

/* IEEE binary16 <-> binary32. The f32->f16 direction rounds to nearest even, overflows to
 * infinity, keeps NaN a NaN and produces subnormals. */
float dsv4_f16_to_f32(uint16_t h);
uint16_t dsv4_f32_to_f16(float f);
/* bfloat16 (upper half of a binary32) <-> binary32; f32->bf16 rounds to nearest even. */
float dsv4_bf16_to_f32(uint16_t h);
uint16_t dsv4_f32_to_bf16(float f);

/* ---- rows --------------------------------------------------------------------------- */

/* Decode n elements of a row of `type` into dst. I32 rows convert each integer to float.
 * Q8_K rows decode as d*q. */
void dsv4_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);

/* Encode n floats as a row of `type` (every type above except I32). The quantisers are
 * simple deterministic ones (per-block min/max and nearest-value search); their accuracy
 * is what test_quant.c checks. Q8_K follows ggml's reference quantiser. */
void dsv4_quantize_row(uint32_t type, const float *src, void *dst, int64_t n);

/* Dot product of a weight row of `type` with an fp32 vector: the exact sum of
 * dequantised(w)[i] * x[i], accumulated in fp32 in 8 interleaved lanes (element i goes to
 * lane i % 8, lanes are summed pairwise at the end). dsv4_dot_f32 over a dequantised row
 * gives bit-identical results. */
float dsv4_dot(uint32_t type, const void *w, const float *x, int64_t n);

/* The same lane order for two fp32 vectors. */
float dsv4_dot_f32(const float *a, const float *b, int64_t n);

/* ---- activation-quantised dot products (what fast decode kernels compute) ----------- */

/* x (n floats, n % 32 == 0) -> Q8_0 blocks: d = amax/127 (stored f16), q = round(x/d). */
void dsv4_quantize_row_q8_0(const float *x, void *dst, int64_t n);
/* x (n floats, n % 256 == 0) -> Q8_K blocks (ggml's reference: the largest-magnitude
 * element maps to -127; d carries the opposite sign; bsums = sums of 16 quants). */
void dsv4_quantize_row_q8_k(const float *x, void *dst, int64_t n);

/* Q8_0 weights x Q8_0 activations: sum over blocks of d_w*d_x*sum(qw*qx). */
float dsv4_vec_dot_q8_0_q8_0(const void *w, const void *x, int64_t n);
/* K-quant / IQ2 weights x Q8_K activations (n % 256 == 0). */
float dsv4_vec_dot_q2_k_q8_k(const void *w, const void *x, int64_t n);
float dsv4_vec_dot_q4_k_q8_k(const void *w, const void *x, int64_t n);
float dsv4_vec_dot_iq2_xxs_q8_k(const void *w, const void *x, int64_t n);

/* ---- FP8 / FP4 rounding (official runtime's quantisation simulation) ---------------- */

/* Round to the nearest e4m3 value (max 448, ties to the even code); |x| > 448 saturates. */
float dsv4_round_e4m3(float x);
/* Round to the nearest e2m1 value {0,.5,1,1.5,2,3,4,6} (ties to the even code). */
float dsv4_round_e2m1(float x);
/* In place: blocks of `block` elements (the last may be shorter) get a power-of-two scale
 * s = 2^ceil(log2(max(amax, 1e-4) / 448)) and each element becomes s*e4m3(x/s). */
void dsv4_fp8_round_blocks(float *x, int64_t n, int block);
/* In place: blocks of `block` elements, s = 2^ceil(log2(max(amax, 6*2^-126) / 6)),
 * each element becomes s*e2m1(x/s). */
void dsv4_fp4_round_blocks(float *x, int64_t n, int block);
/* In place: x <- H x / sqrt(n), H the Sylvester-order Walsh-Hadamard matrix
 * (H[i][j] = (-1)^popcount(i&j)); n must be a power of two. */
void dsv4_hadamard(float *x, int n);

/* IQ2_XXS tables (iq2_tables.c). */
extern const uint64_t dsv4_iq2xxs_grid[256];
extern const uint8_t dsv4_ksigns_iq2xs[128];

#ifdef __cplusplus
}
#endif
#endif
