/*
 * compress.cuh - the KV compressor on the GPU (ratio 4 with overlapping windows, and any
 * other ratio without overlap), including the entry's RMSNorm, RoPE and the optional
 * FP8 / Hadamard+FP4 rounding of the quantisation simulation.
 */
#ifndef DSV4_CUDA_COMPRESS_CUH
#define DSV4_CUDA_COMPRESS_CUH

#include "common.cuh"

/* backend.h's compress, with the ape rows already decoded: ape [ratio, coff*c] fp32. */
void dsv4_cuda_compress(cudaStream_t s, const struct dsv4_compress_args *a, const float *ape);

#endif
