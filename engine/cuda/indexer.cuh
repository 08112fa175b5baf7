/*
 * indexer.cuh - the lightning indexer on the GPU: scores of the visible compressed
 * entries and their top-k.
 */
#ifndef DSV4_CUDA_INDEXER_CUH
#define DSV4_CUDA_INDEXER_CUH

#include "common.cuh"

/* scores[t*stride + i] = sum_h w[t,h] * relu(q[t,h] . keys[i]) for the entries i visible to
 * token t (i < (pos0+t+1)/ratio). Computed in quant.c's dsv4_dot_f32 order, so equal
 * inputs give the CPU's scores bit for bit. */
void dsv4_cuda_index_scores(cudaStream_t s, const struct dsv4_index_args *a, float *scores, int64_t stride);

/* out[t, 0..topk) = the topk visible entries by (score desc, index asc), or all visible
 * entries followed by -1 when at most topk are visible. */
void dsv4_cuda_index_topk(cudaStream_t s, const struct dsv4_index_args *a, const float *scores, int64_t stride);

#endif
