/*
 * ops.cuh - the op entries of the CUDA backend: one function per member of struct
 * dsv4_backend_ops, each defined in the .cu file of its family and collected into the
 * ops table by backend.cu. An entry takes the stream and scratch from the backend and
 * calls its family's launchers.
 */
#ifndef DSV4_CUDA_OPS_CUH
#define DSV4_CUDA_OPS_CUH

#include "common.cuh"

/* IQ2 tables of a backend, for the launchers. */
static inline iq2_tabs TABS(struct dsv4_backend *b)
{
    iq2_tabs t = {CU(b)->iq2_grid, CU(b)->iq2_signs};
    return t;
}

/* matmul.cu */
void dsv4_cuda_op_get_rows(struct dsv4_backend *b, const struct dsv4_tensor *w, const int32_t *ids, int n, float *out);
void dsv4_cuda_op_matmul(struct dsv4_backend *b, const struct dsv4_tensor *w, int64_t row0, int64_t nr,
                         const float *x, int64_t xs, float *y, int64_t ys, int n);
/* norm.cu */
void dsv4_cuda_op_rms_norm(struct dsv4_backend *b, const float *x, float *y, const float *w, int64_t dim,
                           int64_t rows, float eps);
void dsv4_cuda_op_rope(struct dsv4_backend *b, float *x, int64_t row_len, int rows_per_tok, int n, int64_t off,
                       int n_rot, int64_t pos0, int64_t pos_step, const float *freqs, int inverse);
/* hc.cu */
void dsv4_cuda_op_hc_expand(struct dsv4_backend *b, const float *e, float *X, int n, int hc, int64_t D);
void dsv4_cuda_op_hc_pre(struct dsv4_backend *b, const struct dsv4_hc_args *a);
void dsv4_cuda_op_hc_post(struct dsv4_backend *b, const float *X, const float *f, const float *post,
                          const float *comb, int n, int hc, int64_t D, float *Xout);
void dsv4_cuda_op_hc_head(struct dsv4_backend *b, const struct dsv4_hc_args *a);
/* compress.cu */
void dsv4_cuda_op_compress(struct dsv4_backend *b, const struct dsv4_compress_args *a);
/* indexer.cu */
void dsv4_cuda_op_indexer_topk(struct dsv4_backend *b, const struct dsv4_index_args *a);
/* attention.cu */
void dsv4_cuda_op_attention(struct dsv4_backend *b, const struct dsv4_attn_args *a);
/* moe.cu */
void dsv4_cuda_op_route(struct dsv4_backend *b, const struct dsv4_route_args *a);
void dsv4_cuda_op_moe(struct dsv4_backend *b, const struct dsv4_moe_args *a);
/* elementwise.cu */
void dsv4_cuda_op_fill(struct dsv4_backend *b, float *dst, float v, size_t n);
void dsv4_cuda_op_swiglu(struct dsv4_backend *b, const float *g, const float *u, float *h, int64_t n, float limit);
void dsv4_cuda_op_add(struct dsv4_backend *b, float *y, const float *x, int64_t n);
void dsv4_cuda_op_scale(struct dsv4_backend *b, float *x, float s, int64_t n);
void dsv4_cuda_op_fp8_round(struct dsv4_backend *b, float *x, int64_t row_len, int64_t rows, int64_t nround,
                            int block);
void dsv4_cuda_op_fp4_hadamard(struct dsv4_backend *b, float *x, int64_t row_len, int64_t rows, int block);
/* sample.cu */
void dsv4_cuda_op_sample(struct dsv4_backend *b, const float *logits, int n, float temp, int top_k, float top_p,
                         uint64_t draw, int32_t *out);

#endif
