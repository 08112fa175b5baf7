/*
 * norm.cuh - RMSNorm and RoPE/YaRN rotation on the GPU.
 */
#ifndef DSV4_CUDA_NORM_CUH
#define DSV4_CUDA_NORM_CUH

#include "common.cuh"

/* rows of dim: y = x / sqrt(mean(x^2) + eps) (* w if w); x == y allowed. The sum of
 * squares is accumulated in double, as on the CPU. */
void dsv4_cuda_rms_norm(cudaStream_t s, const float *x, float *y, const float *w, int64_t dim, int64_t rows,
                        float eps);

/* backend.h's rope: pairs (2i, 2i+1) of dims [off, off+n_rot) of rows_per_tok rows of
 * row_len per token, angle (pos0 + t*pos_step) * freqs[i] (negated if inverse). Angles are
 * float, cos/sin in double, as on the CPU. */
void dsv4_cuda_rope(cudaStream_t s, float *x, int64_t row_len, int rows_per_tok, int n, int64_t off, int n_rot,
                    int64_t pos0, int64_t pos_step, const float *freqs, int inverse);

#endif
