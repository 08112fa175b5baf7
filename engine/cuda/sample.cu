/*
 * sample.cu - next-token sampling on the GPU (see sample.cuh and sample.h).
 *
 * Kernels, in order:
 *  1. argmax (one block): the highest logit, lowest id on ties (NaN as -inf), written to
 *     out[0]; a state word says whether the choice is final (greedy, or a max that is not
 *     finite);
 *  2. weights: w_i = dsv4_sample_weight(l_i, max, temp) and ids 0..n-1;
 *  3. only with top-k or top-p: CUB's radix sort of (w, id) pairs by w descending - stable,
 *     so equal weights keep their ids ascending: sample.h's ranking - and the cut (one
 *     block): exact integer prefix sums of the first k, the top-p cut as the first position
 *     reaching the share (block minimum), and the last kept candidate (w, id) into the state;
 *  4. walk (one block): the kept weights in id order; each thread takes a contiguous run,
 *     an exclusive scan of the runs' sums gives every cumulative weight exactly, and the
 *     first id whose cumulative weight exceeds the draw's target goes to out[0].
 * The CPU (sample.c) computes the same weights, cut and sums sequentially, so both choose
 * the same token. Everything stays on the device; the caller fetches out[0] only.
 */
#include "ops.cuh"
#include "sample.cuh"
#include "sample_math.h"

#include <cub/device/device_radix_sort.cuh>
#include <limits.h>

#define SELECT_THREADS 1024

struct pick_state {
    float mx;
    int done;     /* out[0] already holds the answer */
    uint32_t tw;  /* last kept candidate of the ranking: (0, -1) keeps every nonzero weight */
    int32_t tid;
};

static size_t align256(size_t x) { return (x + 255) & ~(size_t)255; }

__global__ void sample_argmax_kernel(const float *l, int n, float temp, pick_state *st, int32_t *out)
{
    __shared__ float sv[32];
    __shared__ int si[32];
    float bv = -INFINITY;
    int bi = n; /* sentinel: loses every tie against a real index */
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float v = dsv4_sample_key(l[i]);
        if (v > bv || (v == bv && i < bi)) bv = v, bi = i;
    }
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
        const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (ov > bv || (ov == bv && oi < bi)) bv = ov, bi = oi;
    }
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
    if (lane == 0) sv[wid] = bv, si[wid] = bi;
    __syncthreads();
    if (wid) return;
    const int nw = blockDim.x >> 5;
    bv = lane < nw ? sv[lane] : -INFINITY;
    bi = lane < nw ? si[lane] : n;
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
        const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (ov > bv || (ov == bv && oi < bi)) bv = ov, bi = oi;
    }
    if (lane == 0) {
        out[0] = bi;
        st->mx = bv;
        st->done = !(temp > 0) || !isfinite(bv);
        st->tw = 0;
        st->tid = -1;
    }
}

__global__ void sample_weights_kernel(const float *l, int n, float temp, const pick_state *st, uint32_t *w,
                                      int32_t *ids)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    w[i] = dsv4_sample_weight(l[i], st->mx, temp);
    ids[i] = i;
}

/* Exclusive prefix sum over the block (blockDim.x a multiple of 32); *total gets the sum.
 * sh: 32 words of shared memory. Call from all threads. */
static __device__ uint64_t block_exclusive_sum(uint64_t v, uint64_t *sh, uint64_t *total)
{
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    uint64_t inc = v;
    for (int o = 1; o < 32; o <<= 1) {
        const uint64_t t = __shfl_up_sync(0xffffffffu, inc, o);
        if (lane >= o) inc += t;
    }
    __syncthreads();
    if (lane == 31) sh[wid] = inc;
    __syncthreads();
    uint64_t before = 0, all = 0;
    for (int w = 0; w < nw; w++) {
        if (w < wid) before += sh[w];
        all += sh[w];
    }
    *total = all;
    return before + inc - v;
}

/* Minimum over the block; every thread gets it. sh: 32 ints of shared memory. */
static __device__ int block_min(int v, int *sh)
{
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v = min(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if (lane == 0) sh[wid] = v;
    __syncthreads();
    int m = INT_MAX;
    for (int w = 0; w < nw; w++) m = min(m, sh[w]);
    return m;
}

/* Top-k / top-p over the ranking (w, ids sorted): the last kept candidate into st. */
__global__ void sample_cut_kernel(const uint32_t *w, const int32_t *ids, int n, int top_k, float top_p,
                                  pick_state *st)
{
    __shared__ uint64_t sh64[32];
    __shared__ int shi[32];
    if (st->done) return; /* the same for the whole block */
    const int k = top_k > 0 && top_k < n ? top_k : n;
    const int per = (k + (int)blockDim.x - 1) / (int)blockDim.x;
    const int lo = min(k, (int)threadIdx.x * per), hi = min(k, lo + per);
    uint64_t run = 0, total;
    for (int i = lo; i < hi; i++) run += w[i];
    const uint64_t before = block_exclusive_sum(run, sh64, &total);
    int kk = k;
    if (top_p > 0 && top_p < 1) {
        int first = INT_MAX;
        uint64_t acc = before;
        for (int i = lo; i < hi; i++) {
            acc += w[i];
            if (dsv4_sample_top_p_reached(acc, total, top_p)) {
                first = i;
                break;
            }
        }
        const int cut = block_min(first, shi);
        if (cut != INT_MAX) kk = cut + 1; /* always found: the full sum reaches any share below 1 */
    }
    if (threadIdx.x == 0) {
        st->tw = w[kk - 1];
        st->tid = ids[kk - 1];
    }
}

/* The kept tokens in id order: out[0] = the first whose cumulative weight exceeds the
 * draw's target within the kept total. */
__global__ void sample_walk_kernel(const uint32_t *w, int n, uint64_t draw, const pick_state *st, int32_t *out)
{
    __shared__ uint64_t sh64[32];
    __shared__ int shi[32];
    if (st->done) return;
    const uint32_t tw = st->tw;
    const int32_t tid = st->tid;
    const int per = (n + (int)blockDim.x - 1) / (int)blockDim.x;
    const int lo = min(n, (int)threadIdx.x * per), hi = min(n, lo + per);
    uint64_t run = 0, total;
    for (int i = lo; i < hi; i++)
        if (dsv4_sample_kept(w[i], i, tw, tid)) run += w[i];
    const uint64_t before = block_exclusive_sum(run, sh64, &total);
    const uint64_t target = dsv4_sample_target(draw, total);
    int first = INT_MAX;
    uint64_t acc = before;
    for (int i = lo; i < hi; i++)
        if (dsv4_sample_kept(w[i], i, tw, tid) && (acc += w[i]) > target) {
            first = i;
            break;
        }
    const int pick = block_min(first, shi);
    if (threadIdx.x == 0 && pick != INT_MAX) out[0] = pick; /* always found: target < total */
}

/* Scratch layout: state | w in | w out | ids in | ids out | CUB temporary storage. */
static size_t cub_bytes(int n)
{
    size_t bytes = 0;
    CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(nullptr, bytes, (const uint32_t *)nullptr,
                                                         (uint32_t *)nullptr, (const int32_t *)nullptr,
                                                         (int32_t *)nullptr, n));
    return bytes;
}

size_t dsv4_cuda_sample_scratch(int n) { return 256 + 4 * align256((size_t)n * 4) + align256(cub_bytes(n)); }

void dsv4_cuda_sample(cudaStream_t s, const float *logits, int n, float temp, int top_k, float top_p, uint64_t draw,
                      void *scratch, int32_t *out)
{
    uint8_t *p = (uint8_t *)scratch;
    pick_state *st = (pick_state *)p;
    p += 256;
    const size_t vec = align256((size_t)n * 4);
    uint32_t *w_in = (uint32_t *)p, *w_out = (uint32_t *)(p + vec);
    int32_t *id_in = (int32_t *)(p + 2 * vec), *id_out = (int32_t *)(p + 3 * vec);
    void *tmp = p + 4 * vec;
    CUDA_LAUNCH(sample_argmax_kernel<<<1, 1024, 0, s>>>(logits, n, temp, st, out));
    if (!(temp > 0)) return;
    CUDA_LAUNCH(sample_weights_kernel<<<nblocks(n, 256), 256, 0, s>>>(logits, n, temp, st, w_in, id_in));
    if (top_k > 0 || (top_p > 0 && top_p < 1)) {
        size_t tmp_bytes = cub_bytes(n);
        CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(tmp, tmp_bytes, w_in, w_out, id_in, id_out, n, 0, 32, s));
        CUDA_LAUNCH(sample_cut_kernel<<<1, SELECT_THREADS, 0, s>>>(w_out, id_out, n, top_k, top_p, st));
    }
    CUDA_LAUNCH(sample_walk_kernel<<<1, SELECT_THREADS, 0, s>>>(w_in, n, draw, st, out));
}

/* ---- op entry -------------------------------------------------------------------------------- */

void dsv4_cuda_op_sample(struct dsv4_backend *b, const float *logits, int n, float temp, int top_k, float top_p,
                         uint64_t draw, int32_t *out)
{
    struct dsv4_cuda *c = CU(b);
    if (n <= 0 || n > DSV4_SAMPLE_MAX_N) {
        CUDA_CHECK(cudaMemsetAsync(out, 0xff, sizeof *out, c->stream)); /* -1 */
        return;
    }
    void *scratch = dsv4_cuda_scratch(c, dsv4_cuda_sample_scratch(n));
    dsv4_cuda_sample(c->stream, logits, n, temp, top_k, top_p, draw, scratch, out);
}
