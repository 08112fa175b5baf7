/*
 * attention.cuh - mixed sliding-window + compressed-entry attention with per-head sinks
 * on the GPU (one shared K = V row per position, multi-query).
 */
#ifndef DSV4_CUDA_ATTENTION_CUH
#define DSV4_CUDA_ATTENTION_CUH

#include "common.cuh"

/* Rows a query of the chunk may see at most (window + compressed). */
int64_t dsv4_cuda_attn_max_rows(const struct dsv4_attn_args *a);

/* backend.h's attention; lg is scratch of n*H*dsv4_cuda_attn_max_rows(a) floats. */
void dsv4_cuda_attention(cudaStream_t s, const struct dsv4_attn_args *a, float *lg);

#endif
