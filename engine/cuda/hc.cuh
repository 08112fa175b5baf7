/*
 * hc.cuh - hyper-connections (mHC) on the GPU: stream expansion, the "pre" mix with the
 * Sinkhorn projection, the "post" recombination and the head collapse.
 */
#ifndef DSV4_CUDA_HC_CUH
#define DSV4_CUDA_HC_CUH

#include "common.cuh"

#define DSV4_CUDA_MAX_HC 16 /* hyper-connection streams supported */

/* X[t, s, :] = e[t, :] for every stream s. */
void dsv4_cuda_hc_expand(cudaStream_t s, const float *e, float *X, int n, int hc, int64_t D);

/* Given mix[n, nmix] = fn . X (unscaled), finish mHC pre (head = 0: nmix = (2+hc)*hc,
 * writes u, post, comb) or the head collapse (head = 1: nmix = hc, writes u). */
void dsv4_cuda_hc_finish(cudaStream_t s, const struct dsv4_hc_args *a, const float *mix, int head);

/* X'[t, k] = post[t, k] f[t] + sum_j comb[t, j, k] X[t, j]. */
void dsv4_cuda_hc_post(cudaStream_t s, const float *X, const float *f, const float *post, const float *comb, int n,
                       int hc, int64_t D, float *Xout);

#endif
