/*
 * matmul.cuh - weight products and row decoding on the GPU, for every weight type
 * (F32, F16, BF16, Q8_0, Q2_K, Q4_K, IQ2_XXS; plain types of any row length).
 *
 * Weights stay in their stored format: each warp decodes its row chunk by chunk in
 * registers (32 elements at a time, common.cuh's dq_chunk) and dots it with fp32
 * activations. One launch serves a single token (decode) or a chunk of tokens (prefill:
 * up to 8 tokens per pass over a row).
 */
#ifndef DSV4_CUDA_MATMUL_CUH
#define DSV4_CUDA_MATMUL_CUH

#include "common.cuh"

/* y[t*ys + r] = w[row0 + r] . x[t*xs + 0 .. ne0) for t < n, r < nr (device pointers). */
void dsv4_cuda_matmul(cudaStream_t s, iq2_tabs tb, const struct dsv4_tensor *w, int64_t row0, int64_t nr,
                      const float *x, int64_t xs, float *y, int64_t ys, int n);

/* Gathered rows (expert products): for each of npairs pairs p, with e = ids[p]:
 * y[p*ys + r] = w[e*id_rows + r] . x[(p / xdiv)*xs ..] for r < nr; y is 0 when e is not
 * in [0, id_max). ids is device memory. */
void dsv4_cuda_matmul_ids(cudaStream_t s, iq2_tabs tb, const struct dsv4_tensor *w, const int32_t *ids,
                          int64_t id_rows, int64_t id_max, int64_t nr, const float *x, int64_t xs, int xdiv,
                          float *y, int64_t ys, int npairs);

/* out[i*ne0 ..] = row (ids ? ids[i] : first + i) of w decoded, i < n. ids is device
 * memory (or NULL). */
void dsv4_cuda_get_rows(cudaStream_t s, iq2_tabs tb, const struct dsv4_tensor *w, const int32_t *ids,
                        int64_t first, int n, float *out);

#endif
