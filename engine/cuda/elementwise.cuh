/*
 * elementwise.cuh - elementwise operations and the quantisation-simulation rounding on
 * the GPU: fill, add, scale, clamped SwiGLU, FP8 block rounding, Hadamard + FP4 rounding.
 */
#ifndef DSV4_CUDA_ELEMENTWISE_CUH
#define DSV4_CUDA_ELEMENTWISE_CUH

#include "common.cuh"

void dsv4_cuda_fill(cudaStream_t s, float *dst, float v, size_t n);
/* y += x */
void dsv4_cuda_add(cudaStream_t s, float *y, const float *x, int64_t n);
/* x *= v */
void dsv4_cuda_scale(cudaStream_t s, float *x, float v, int64_t n);
/* h = silu(min(g, limit)) * clamp(u, -limit, limit) (* w[i / per] if w) */
void dsv4_cuda_swiglu(cudaStream_t s, const float *g, const float *u, float *h, int64_t n, float limit,
                      const float *w, int64_t per);
/* FP8 (e4m3) rounding of the first nround elements of each row, in blocks. */
void dsv4_cuda_fp8_round(cudaStream_t s, float *x, int64_t row_len, int64_t rows, int64_t nround, int block);
/* Walsh-Hadamard of each row (row_len a power of two), then FP4 (e2m1) rounding in blocks. */
void dsv4_cuda_fp4_hadamard(cudaStream_t s, float *x, int64_t row_len, int64_t rows, int block);

#endif
