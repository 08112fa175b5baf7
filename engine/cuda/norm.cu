/*
 * norm.cu - RMSNorm (one block per row, double accumulation) and RoPE (one thread per
 * rotated pair; the rotation is computed unfused so it equals the CPU's bit for bit).
 */
#include "norm.cuh"
#include "ops.cuh"

__global__ void rms_kernel(const float *x, float *y, const float *w, int64_t dim, float eps)
{
    __shared__ double sh[32];
    const float *xr = x + (int64_t)blockIdx.x * dim;
    float *yr = y + (int64_t)blockIdx.x * dim;
    double ss = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) ss += (double)xr[i] * xr[i];
    ss = block_sum_d(ss, sh);
    const float r = __fdiv_rn(1.0f, __fsqrt_rn(add((float)(ss / (double)dim), eps)));
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = w ? mul(w[i], mul(xr[i], r)) : mul(xr[i], r);
}

void dsv4_cuda_rms_norm(cudaStream_t s, const float *x, float *y, const float *w, int64_t dim, int64_t rows,
                        float eps)
{
    if (rows <= 0) return;
    const int threads = dim >= 1024 ? 256 : dim >= 256 ? 128 : 32;
    CUDA_LAUNCH(rms_kernel<<<(unsigned)rows, threads, 0, s>>>(x, y, w, dim, eps));
}

__global__ void rope_kernel(float *x, int64_t row_len, int rows_per_tok, int n, int64_t off, int half, int64_t pos0,
                            int64_t pos_step, const float *freqs, int inverse)
{
    const int64_t id = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t total = (int64_t)n * rows_per_tok * half;
    if (id >= total) return;
    const int i = (int)(id % half);
    const int64_t row = id / half, t = row / rows_per_tok;
    float *p = x + row * row_len + off + 2 * i;
    const double pos = (double)(pos0 + t * pos_step);
    const float ang = mul((float)pos, freqs[i]);
    const float c = (float)cos((double)ang);
    float sn = (float)sin((double)ang);
    if (inverse) sn = -sn;
    const float a = p[0], b = p[1];
    p[0] = sub(mul(a, c), mul(b, sn));
    p[1] = add(mul(a, sn), mul(b, c));
}

void dsv4_cuda_rope(cudaStream_t s, float *x, int64_t row_len, int rows_per_tok, int n, int64_t off, int n_rot,
                    int64_t pos0, int64_t pos_step, const float *freqs, int inverse)
{
    const int64_t total = (int64_t)n * rows_per_tok * (n_rot / 2);
    if (total <= 0) return;
    CUDA_LAUNCH(rope_kernel<<<nblocks(total, 256), 256, 0, s>>>(x, row_len, rows_per_tok, n, off, n_rot / 2, pos0,
                                                                 pos_step, freqs, inverse));
}

/* ---- op entries ------------------------------------------------------------------------------ */

void dsv4_cuda_op_rms_norm(struct dsv4_backend *b, const float *x, float *y, const float *w, int64_t dim,
                           int64_t rows, float eps)
{
    dsv4_cuda_rms_norm(CU(b)->stream, x, y, w, dim, rows, eps);
}

void dsv4_cuda_op_rope(struct dsv4_backend *b, float *x, int64_t row_len, int rows_per_tok, int n, int64_t off,
                       int n_rot, int64_t pos0, int64_t pos_step, const float *freqs, int inverse)
{
    dsv4_cuda_rope(CU(b)->stream, x, row_len, rows_per_tok, n, off, n_rot, pos0, pos_step, freqs, inverse);
}
