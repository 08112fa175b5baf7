/*
 * moe.cuh - mixture of experts on the GPU: sqrt(softplus) routing (hash-table layers and
 * biased top-k layers) and the routed expert FFN with clamped SwiGLU, reading the expert
 * weights in their stored formats.
 */
#ifndef DSV4_CUDA_MOE_CUH
#define DSV4_CUDA_MOE_CUH

#include "common.cuh"

/* backend.h's route (tokens, ids and weights are device memory). */
void dsv4_cuda_route(cudaStream_t s, const struct dsv4_route_args *a);

/* y[t, r] = sum_j Y[(t*k + j)*D + r] for t < n (the k expert outputs of each token). */
void dsv4_cuda_moe_sum(cudaStream_t s, const float *Y, int n, int k, int64_t D, float *y);

#endif
