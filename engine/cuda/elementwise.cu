/*
 * elementwise.cu - elementwise kernels and simulation rounding (see elementwise.cuh).
 * SwiGLU is computed unfused in the CPU's order; the rounding helpers are common.cuh's.
 */
#include "elementwise.cuh"
#include "ops.cuh"

__global__ void fill_kernel(float *d, float v, size_t n)
{
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) d[i] = v;
}

void dsv4_cuda_fill(cudaStream_t s, float *dst, float v, size_t n)
{
    if (n) CUDA_LAUNCH(fill_kernel<<<nblocks((int64_t)n, 256), 256, 0, s>>>(dst, v, n));
}

__global__ void add_kernel(float *y, const float *x, int64_t n)
{
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = add(y[i], x[i]);
}

void dsv4_cuda_add(cudaStream_t s, float *y, const float *x, int64_t n)
{
    if (n > 0) CUDA_LAUNCH(add_kernel<<<nblocks(n, 256), 256, 0, s>>>(y, x, n));
}

__global__ void scale_kernel(float *x, float v, int64_t n)
{
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = mul(x[i], v);
}

void dsv4_cuda_scale(cudaStream_t s, float *x, float v, int64_t n)
{
    if (n > 0) CUDA_LAUNCH(scale_kernel<<<nblocks(n, 256), 256, 0, s>>>(x, v, n));
}

__global__ void swiglu_kernel(const float *g, const float *u, float *h, int64_t n, float limit, const float *w,
                              int64_t per)
{
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float gg = fminf(g[i], limit), uu = fminf(fmaxf(u[i], -limit), limit);
    float v = mul(__fdiv_rn(gg, add(1.0f, expf(-gg))), uu);
    if (w) v = mul(v, w[i / per]);
    h[i] = v;
}

void dsv4_cuda_swiglu(cudaStream_t s, const float *g, const float *u, float *h, int64_t n, float limit,
                      const float *w, int64_t per)
{
    if (n > 0) CUDA_LAUNCH(swiglu_kernel<<<nblocks(n, 256), 256, 0, s>>>(g, u, h, n, limit, w, per));
}

/* One warp per rounding block: the lanes share the block's absolute maximum (a max, so
 * the order does not matter) and round their elements as fp8_block does. */
__global__ void fp8_kernel(float *x, int64_t row_len, int64_t rows, int64_t nround, int block, int64_t nb)
{
    const int64_t id = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (id >= rows * nb) return;
    const int64_t r = id / nb, k = id % nb, i0 = k * block;
    const int64_t m = nround - i0 < block ? nround - i0 : block;
    float *xb = x + r * row_len + i0;
    float amax = 1e-4f;
    for (int64_t j = lane; j < m; j += 32) amax = fmaxf(amax, fabsf(xb[j]));
    amax = warp_max(amax);
    const float sc = pow2_ceil(__fdiv_rn(amax, 448.f));
    for (int64_t j = lane; j < m; j += 32) xb[j] = mul(round_e4m3(__fdiv_rn(xb[j], sc)), sc);
}

void dsv4_cuda_fp8_round(cudaStream_t s, float *x, int64_t row_len, int64_t rows, int64_t nround, int block)
{
    const int64_t nb = (nround + block - 1) / block;
    if (rows <= 0 || nb <= 0) return;
    CUDA_LAUNCH(fp8_kernel<<<nblocks(rows * nb * 32, 128), 128, 0, s>>>(x, row_len, rows, nround, block, nb));
}

__global__ void fp4h_kernel(float *x, int64_t row_len, int block)
{
    extern __shared__ float row[];
    float *xr = x + (int64_t)blockIdx.x * row_len;
    for (int64_t i = threadIdx.x; i < row_len; i += blockDim.x) row[i] = xr[i];
    block_hadamard(row, (int)row_len);
    const int64_t nb = (row_len + block - 1) / block;
    for (int64_t k = threadIdx.x; k < nb; k += blockDim.x) {
        const int64_t i0 = k * block, m = row_len - i0 < block ? row_len - i0 : block;
        fp4_block(row + i0, m);
    }
    __syncthreads();
    for (int64_t i = threadIdx.x; i < row_len; i += blockDim.x) xr[i] = row[i];
}

void dsv4_cuda_fp4_hadamard(cudaStream_t s, float *x, int64_t row_len, int64_t rows, int block)
{
    if (rows <= 0) return;
    if (row_len & (row_len - 1) || row_len > 8192) {
        fprintf(stderr, "dsv4: CUDA fp4_hadamard: row length %lld is not a power of two up to 8192\n",
                (long long)row_len);
        abort();
    }
    CUDA_LAUNCH(fp4h_kernel<<<(unsigned)rows, 128, (size_t)row_len * sizeof(float), s>>>(x, row_len, block));
}

/* ---- op entries ------------------------------------------------------------------------------ */

void dsv4_cuda_op_fill(struct dsv4_backend *b, float *dst, float v, size_t n) { dsv4_cuda_fill(CU(b)->stream, dst, v, n); }

void dsv4_cuda_op_swiglu(struct dsv4_backend *b, const float *g, const float *u, float *h, int64_t n, float limit)
{
    dsv4_cuda_swiglu(CU(b)->stream, g, u, h, n, limit, NULL, 1);
}

void dsv4_cuda_op_add(struct dsv4_backend *b, float *y, const float *x, int64_t n) { dsv4_cuda_add(CU(b)->stream, y, x, n); }

void dsv4_cuda_op_scale(struct dsv4_backend *b, float *x, float s, int64_t n) { dsv4_cuda_scale(CU(b)->stream, x, s, n); }

void dsv4_cuda_op_fp8_round(struct dsv4_backend *b, float *x, int64_t row_len, int64_t rows, int64_t nround,
                            int block)
{
    dsv4_cuda_fp8_round(CU(b)->stream, x, row_len, rows, nround, block);
}

void dsv4_cuda_op_fp4_hadamard(struct dsv4_backend *b, float *x, int64_t row_len, int64_t rows, int block)
{
    dsv4_cuda_fp4_hadamard(CU(b)->stream, x, row_len, rows, block);
}
