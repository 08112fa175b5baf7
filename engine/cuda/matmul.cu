/*
 * matmul.cu - weight products and row decoding (see matmul.cuh).
 *
 * Kernel shape: blocks of 8 warps, one warp per output row; lane l takes chunks l, l+32,
 * ... of the row, decodes each chunk once and accumulates it against NT token rows of x;
 * the warp then reduces its lanes. For one token (decode, expert products) the block first
 * stages its x row in shared memory, padded by one float per 32 so that the 32 lanes,
 * each reading its own chunk, hit 32 different banks (read straight from global memory,
 * every load instruction of the warp touched 32 cache lines). Plain types whose rows are not a multiple of 32 take a
 * per-element path (GENERIC). Rows of a gathered product (experts) come from an id array
 * in device memory, so routing never returns to the host.
 */
#include "matmul.cuh"

enum { GENERIC = -1 };
#define MM_WARPS 8

#define MM_STAGE_MAX 10240 /* x elements staged in shared memory: 42 KB with the padding (IQ2 tables add 2.2 KB) */

template <int T, int NT, bool SX>
__global__ void __launch_bounds__(MM_WARPS * 32)
mm_kernel(uint32_t type, const uint8_t *w, size_t nb1, int64_t row0, int64_t nr, int64_t ne0, const float *x,
          int64_t xs, float *y, int64_t ys, int n, const int32_t *ids, int64_t id_rows, int64_t id_max, int xdiv,
          iq2_tabs tb)
{
    extern __shared__ float sx[];
    if constexpr (T == DSV4_TYPE_IQ2_XXS) { /* tables in shared memory: random lookups */
        __shared__ uint64_t g[256];
        __shared__ uint8_t sg[128];
        for (int i = threadIdx.x; i < 256; i += blockDim.x) g[i] = tb.grid[i];
        for (int i = threadIdx.x; i < 128; i += blockDim.x) sg[i] = tb.signs[i];
        __syncthreads();
        tb.grid = g;
        tb.signs = sg;
    }
    const int lane = threadIdx.x & 31;
    const int64_t r = (int64_t)blockIdx.x * MM_WARPS + (threadIdx.x >> 5);
    const int t0 = (int)blockIdx.y * NT;
    const float *xb = ids ? x + (int64_t)(t0 / xdiv) * xs : x + (int64_t)t0 * xs;
    if constexpr (SX) { /* NT == 1 */
        for (int64_t i = threadIdx.x; i < ne0; i += blockDim.x) sx[i + (i >> 5)] = xb[i];
        __syncthreads();
    }
    if (r >= nr) return;
    int64_t wrow = row0 + r;
    float *yb = y + (int64_t)t0 * ys + r;
    if (ids) { /* NT == 1: pair t0 */
        const int32_t e = ids[t0];
        if (e < 0 || e >= id_max) {
            if (lane == 0) *yb = 0.0f;
            return;
        }
        wrow = (int64_t)e * id_rows + r;
    }
    const uint8_t *wr = w + (size_t)wrow * nb1;
    float acc[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) acc[t] = 0.0f;
    if constexpr (T == GENERIC) {
        for (int64_t i = lane; i < ne0; i += 32) {
            const float v = dq_plain(type, wr, i);
#pragma unroll
            for (int t = 0; t < NT; t++)
                if (t0 + t < n) acc[t] += v * xb[(int64_t)t * xs + i];
        }
    } else {
        const int64_t nch = ne0 >> 5;
        for (int64_t c = lane; c < nch; c += 32) {
            float v[32];
            dq_chunk<T>(wr, c, v, tb);
            if constexpr (SX) {
                const float *xc = sx + c * 33;
                float a = 0.0f;
#pragma unroll
                for (int i = 0; i < 32; i++) a += v[i] * xc[i];
                acc[0] += a;
            } else {
#pragma unroll
                for (int t = 0; t < NT; t++) {
                    if (t0 + t >= n) break;
                    const float *xt = xb + (int64_t)t * xs + c * 32;
                    float a = 0.0f;
#pragma unroll
                    for (int i = 0; i < 32; i++) a += v[i] * xt[i];
                    acc[t] += a;
                }
            }
        }
    }
#pragma unroll
    for (int t = 0; t < NT; t++) {
        const float v = warp_sum(acc[t]);
        if (lane == 0 && t0 + t < n) yb[(int64_t)t * ys] = v;
    }
}

/* The kernel instantiation for a weight: its type, or GENERIC for plain types whose rows are
 * not whole 32-element chunks (and I32). */
static int kernel_kind(const struct dsv4_tensor *w)
{
    if (is_plain(w->type) && (w->ne[0] % 32 || w->type == DSV4_TYPE_I32)) return GENERIC;
    return (int)w->type;
}

template <int NT>
static void mm_launch(cudaStream_t s, iq2_tabs tb, const struct dsv4_tensor *w, int64_t row0, int64_t nr,
                      const float *x, int64_t xs, float *y, int64_t ys, int n, const int32_t *ids, int64_t id_rows,
                      int64_t id_max, int xdiv)
{
    if (nr <= 0 || n <= 0) return;
    const dim3 grid(nblocks(nr, MM_WARPS), nblocks(n, NT)), block(MM_WARPS * 32);
    const uint8_t *wd = (const uint8_t *)w->bdata;
    const int64_t ne0 = w->ne[0];
    const int t = kernel_kind(w);
    const bool sx = NT == 1 && t != GENERIC && ne0 <= MM_STAGE_MAX;
    const size_t shm = sx ? (size_t)(ne0 + ne0 / 32) * sizeof(float) : 0;
#define MM_CASE(TY)                                                                                              \
    case TY:                                                                                                     \
        if (sx)                                                                                                  \
            CUDA_LAUNCH(mm_kernel<TY, NT, true><<<grid, block, shm, s>>>(w->type, wd, w->nb1, row0, nr, ne0, x, xs, y, \
                                                                         ys, n, ids, id_rows, id_max, xdiv, tb));   \
        else                                                                                                     \
            CUDA_LAUNCH(mm_kernel<TY, NT, false><<<grid, block, 0, s>>>(w->type, wd, w->nb1, row0, nr, ne0, x, xs, y,  \
                                                                        ys, n, ids, id_rows, id_max, xdiv, tb));    \
        break
    switch (t) {
        MM_CASE(DSV4_TYPE_F32);
        MM_CASE(DSV4_TYPE_F16);
        MM_CASE(DSV4_TYPE_BF16);
        MM_CASE(DSV4_TYPE_Q8_0);
        MM_CASE(DSV4_TYPE_Q2_K);
        MM_CASE(DSV4_TYPE_Q4_K);
        MM_CASE(DSV4_TYPE_IQ2_XXS);
        MM_CASE(GENERIC);
    default:
        fprintf(stderr, "dsv4: CUDA matmul: unsupported weight type %s (%s)\n", dsv4_type_name(w->type), w->name);
        abort();
    }
#undef MM_CASE
}

void dsv4_cuda_matmul(cudaStream_t s, iq2_tabs tb, const struct dsv4_tensor *w, int64_t row0, int64_t nr,
                      const float *x, int64_t xs, float *y, int64_t ys, int n)
{
    if (n == 1) mm_launch<1>(s, tb, w, row0, nr, x, xs, y, ys, n, NULL, 0, 0, 1);
    else mm_launch<8>(s, tb, w, row0, nr, x, xs, y, ys, n, NULL, 0, 0, 1);
}

void dsv4_cuda_matmul_ids(cudaStream_t s, iq2_tabs tb, const struct dsv4_tensor *w, const int32_t *ids,
                          int64_t id_rows, int64_t id_max, int64_t nr, const float *x, int64_t xs, int xdiv,
                          float *y, int64_t ys, int npairs)
{
    mm_launch<1>(s, tb, w, 0, nr, x, xs, y, ys, npairs, ids, id_rows, id_max, xdiv);
}

/* ---- row decoding ------------------------------------------------------------------------- */

template <int T>
__global__ void rows_kernel(uint32_t type, const uint8_t *w, size_t nb1, int64_t ne0, const int32_t *ids,
                            int64_t first, float *out, iq2_tabs tb)
{
    const int i = blockIdx.y;
    const int64_t row = ids ? ids[i] : first + i;
    const uint8_t *wr = w + (size_t)row * nb1;
    float *o = out + (int64_t)i * ne0;
    const int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if constexpr (T == GENERIC) {
        if (c < ne0) o[c] = dq_plain(type, wr, c);
    } else {
        if (c >= (ne0 >> 5)) return;
        float v[32];
        dq_chunk<T>(wr, c, v, tb);
#pragma unroll
        for (int k = 0; k < 32; k++) o[c * 32 + k] = v[k];
    }
}

void dsv4_cuda_get_rows(cudaStream_t s, iq2_tabs tb, const struct dsv4_tensor *w, const int32_t *ids,
                        int64_t first, int n, float *out)
{
    if (n <= 0) return;
    const int64_t ne0 = w->ne[0];
    const uint8_t *wd = (const uint8_t *)w->bdata;
    const int t = kernel_kind(w);
    const int64_t items = t == GENERIC ? ne0 : ne0 / 32;
    const dim3 grid(nblocks(items, 128), (unsigned)n), block(128);
#define ROWS_CASE(TY)                                                                                     \
    case TY:                                                                                              \
        CUDA_LAUNCH(rows_kernel<TY><<<grid, block, 0, s>>>(w->type, wd, w->nb1, ne0, ids, first, out, tb)); \
        break
    switch (t) {
        ROWS_CASE(DSV4_TYPE_F32);
        ROWS_CASE(DSV4_TYPE_F16);
        ROWS_CASE(DSV4_TYPE_BF16);
        ROWS_CASE(DSV4_TYPE_Q8_0);
        ROWS_CASE(DSV4_TYPE_Q2_K);
        ROWS_CASE(DSV4_TYPE_Q4_K);
        ROWS_CASE(DSV4_TYPE_IQ2_XXS);
        ROWS_CASE(GENERIC);
    default:
        fprintf(stderr, "dsv4: CUDA get_rows: unsupported weight type %s (%s)\n", dsv4_type_name(w->type), w->name);
        abort();
    }
#undef ROWS_CASE
}

/* ---- op entries ------------------------------------------------------------------------------ */

#include "ops.cuh"

void dsv4_cuda_op_matmul(struct dsv4_backend *b, const struct dsv4_tensor *w, int64_t row0, int64_t nr,
                         const float *x, int64_t xs, float *y, int64_t ys, int n)
{
    dsv4_cuda_matmul(CU(b)->stream, TABS(b), w, row0, nr, x, xs, y, ys, n);
}

void dsv4_cuda_op_get_rows(struct dsv4_backend *b, const struct dsv4_tensor *w, const int32_t *ids, int n, float *out)
{
    if (n <= 0) return;
    struct dsv4_cuda *c = CU(b);
    int32_t *dids = (int32_t *)dsv4_cuda_scratch(c, (size_t)n * sizeof *dids);
    CUDA_CHECK(cudaMemcpyAsync(dids, ids, (size_t)n * sizeof *dids, cudaMemcpyHostToDevice, c->stream));
    dsv4_cuda_get_rows(c->stream, TABS(b), w, dids, 0, n, out);
}
