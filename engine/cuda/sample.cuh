/*
 * sample.cuh - next-token sampling on the GPU (sample.h's definition, the arithmetic of
 * sample_math.h): greedy argmax, or temperature weights, a stable sort by weight and one
 * block's exact integer prefix sums for top-k, top-p and the draw.
 */
#ifndef DSV4_CUDA_SAMPLE_CUH
#define DSV4_CUDA_SAMPLE_CUH

#include "common.cuh"

/* Device scratch bytes dsv4_cuda_sample needs for n logits (0 < n <= DSV4_SAMPLE_MAX_N). */
size_t dsv4_cuda_sample_scratch(int n);

/* Choose the token for n logits (0 < n <= DSV4_SAMPLE_MAX_N) into out[0], as
 * dsv4_sample_pick does; scratch: dsv4_cuda_sample_scratch(n) bytes, 256-byte aligned. */
void dsv4_cuda_sample(cudaStream_t s, const float *logits, int n, float temp, int top_k, float top_p, uint64_t draw,
                      void *scratch, int32_t *out);

#endif
