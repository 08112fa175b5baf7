/*
 * attention.cu - attention with sinks (see attention.cuh).
 *
 * One block per (token, head): the query sits in shared memory; each warp scores rows
 * (window rows from the ring, then compressed entries - all visible ones, or the
 * indexer's selection where -1 and not-yet-visible ids are masked); the block takes the
 * softmax with the sink as an extra logit that carries no value; each thread then
 * accumulates its output dims over the rows.
 */
#include "attention.cuh"
#include "ops.cuh"

#define ATT_THREADS 128

__global__ void __launch_bounds__(ATT_THREADS)
attn_kernel(const float *q, float *o, int H, int64_t d, int64_t pos0, const float *win, int64_t win_cap,
            int window, const float *comp, int ratio, const int32_t *sel, int topk, const float *sinks, float scale,
            float *lgbuf, int64_t maxrows)
{
    extern __shared__ float qs[];
    __shared__ float sh[32];
    const int64_t item = blockIdx.x, t = item / H, h = item % H, p = pos0 + t;
    const float *qh = q + item * d;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) qs[i] = qh[i];
    const int64_t lo = p - window + 1 > 0 ? p - window + 1 : 0, nwin = p - lo + 1;
    const int64_t nv = comp && ratio ? (p + 1) / ratio : 0;
    const int32_t *st = sel ? sel + t * topk : NULL;
    const int64_t ncomp = comp ? (st ? topk : nv) : 0, R = nwin + ncomp;
    float *lg = lgbuf + item * maxrows;
    __syncthreads();
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int64_t r = wid; r < R; r += nw) {
        const float *kv;
        if (r < nwin) kv = win + ((lo + r) % win_cap) * d;
        else {
            const int64_t e = st ? st[r - nwin] : r - nwin;
            if (e < 0 || e >= nv) {
                if (lane == 0) lg[r] = -INFINITY;
                continue;
            }
            kv = comp + e * d;
        }
        float acc = 0;
        for (int64_t i = lane; i < d; i += 32) acc += qs[i] * kv[i];
        acc = warp_sum(acc);
        if (lane == 0) lg[r] = mul(acc, scale);
    }
    __syncthreads();
    float mx = sinks[h];
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) mx = fmaxf(mx, lg[r]);
    mx = block_max(mx, sh);
    float part = 0;
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) {
        const float e = expf(sub(lg[r], mx));
        lg[r] = e;
        part += e;
    }
    const float sum = add(expf(sub(sinks[h], mx)), block_sum(part, sh));
    __syncthreads();
    float *oh = o + item * d;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
        float acc = 0;
        for (int64_t r = 0; r < R; r++) {
            const float pr = lg[r];
            if (pr == 0) continue;
            const float *kv = r < nwin ? win + ((lo + r) % win_cap) * d : comp + (int64_t)(st ? st[r - nwin] : r - nwin) * d;
            acc += __fdiv_rn(pr, sum) * kv[i];
        }
        oh[i] = acc;
    }
}

int64_t dsv4_cuda_attn_max_rows(const struct dsv4_attn_args *a)
{
    int64_t rows = a->window;
    if (a->comp) rows += a->sel ? a->topk : (a->ratio ? (a->pos0 + a->n) / a->ratio : 0);
    return rows > 0 ? rows : 1;
}

void dsv4_cuda_attention(cudaStream_t s, const struct dsv4_attn_args *a, float *lg)
{
    if (a->n <= 0 || a->H <= 0) return;
    if (a->d > 12288) {
        fprintf(stderr, "dsv4: CUDA attention: head dim %lld is too large\n", (long long)a->d);
        abort();
    }
    const int64_t items = (int64_t)a->n * a->H;
    CUDA_LAUNCH(attn_kernel<<<(unsigned)items, ATT_THREADS, (size_t)a->d * sizeof(float), s>>>(
        a->q, a->o, a->H, a->d, a->pos0, a->win, a->win_cap, a->window, a->comp, a->ratio, a->sel, a->topk, a->sinks,
        a->scale, lg, dsv4_cuda_attn_max_rows(a)));
}

/* ---- op entry -------------------------------------------------------------------------------- */

void dsv4_cuda_op_attention(struct dsv4_backend *b, const struct dsv4_attn_args *a)
{
    if (a->n <= 0) return;
    struct dsv4_cuda *c = CU(b);
    const size_t bytes = (size_t)a->n * (size_t)a->H * (size_t)dsv4_cuda_attn_max_rows(a) * sizeof(float);
    dsv4_cuda_attention(c->stream, a, (float *)dsv4_cuda_scratch(c, bytes));
}
