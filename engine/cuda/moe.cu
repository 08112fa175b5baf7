/*
 * moe.cu - routing and routed experts (see moe.cuh).
 *
 * Routing: one block per token computes the E scores; one thread selects the top k by
 * (biased score desc, expert id asc) - the CPU's insertion order - or reads the token's
 * row of the hash table, then normalises the weights. Experts: the gate, up and down
 * products are gathered weight products (matmul.cu) indexed by the routed ids, which stay
 * in device memory; the SwiGLU, routing weight and simulation rounding sit between them.
 */
#include "elementwise.cuh"
#include "matmul.cuh"
#include "moe.cuh"
#include "ops.cuh"

__global__ void route_kernel(const float *logits, int E, int k, const float *bias, const int32_t *tid2eid,
                             int64_t tid_stride, const int32_t *tokens, int norm, float scale, int32_t *ids,
                             float *weights)
{
    extern __shared__ float s[];
    __shared__ int32_t sid[64]; /* the selection (k <= 64), kept out of global memory */
    const int t = blockIdx.x;
    const float *l = logits + (int64_t)t * E;
    for (int e = threadIdx.x; e < E; e += blockDim.x) {
        const float sp = l[e] > 20.f ? l[e] : log1pf(expf(l[e]));
        s[e] = __fsqrt_rn(sp);
    }
    __syncthreads();
    if (threadIdx.x) return;
    int32_t *id = sid;
    float *w = weights + (int64_t)t * k;
    if (tid2eid) {
        const int32_t *row = tid2eid + (int64_t)tokens[t] * tid_stride;
        for (int j = 0; j < k; j++) id[j] = row[j];
    } else {
        int n = 0;
        for (int e = 0; e < E; e++) {
            const float v = bias ? add(s[e], bias[e]) : s[e];
            if (n == k) {
                const int32_t last = id[n - 1];
                if (!(v > (bias ? add(s[last], bias[last]) : s[last]))) continue;
                n--;
            }
            int j = n;
            while (j > 0 && v > (bias ? add(s[id[j - 1]], bias[id[j - 1]]) : s[id[j - 1]])) {
                id[j] = id[j - 1];
                j--;
            }
            id[j] = e;
            n++;
        }
    }
    float sum = 0;
    for (int j = 0; j < k; j++) {
        const int32_t e = id[j];
        w[j] = e >= 0 && e < E ? s[e] : 0.0f;
        sum = add(sum, w[j]);
    }
    for (int j = 0; j < k; j++) w[j] = mul(norm ? __fdiv_rn(w[j], add(sum, 1e-20f)) : w[j], scale);
    for (int j = 0; j < k; j++) ids[(int64_t)t * k + j] = id[j];
}

void dsv4_cuda_route(cudaStream_t s, const struct dsv4_route_args *a)
{
    if (a->n <= 0) return;
    if (a->k > 64) {
        fprintf(stderr, "dsv4: CUDA route: at most 64 experts per token, not %d\n", a->k);
        abort();
    }
    const int32_t *tid = a->tid2eid ? (const int32_t *)a->tid2eid->bdata : NULL;
    const int64_t tid_stride = a->tid2eid ? (int64_t)(a->tid2eid->nb1 / 4) : 0;
    CUDA_LAUNCH(route_kernel<<<(unsigned)a->n, 128, (size_t)a->E * sizeof(float), s>>>(
        a->logits, a->E, a->k, a->bias, tid, tid_stride, a->tokens, a->norm, a->scale, a->ids, a->weights));
}

__global__ void moe_sum_kernel(const float *Y, int n, int k, int64_t D, float *y)
{
    const int64_t id = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (id >= (int64_t)n * D) return;
    const int64_t t = id / D, r = id % D;
    float sm = 0;
    for (int j = 0; j < k; j++) sm = add(sm, Y[(t * k + j) * D + r]);
    y[id] = sm;
}

void dsv4_cuda_moe_sum(cudaStream_t s, const float *Y, int n, int k, int64_t D, float *y)
{
    if (n > 0) CUDA_LAUNCH(moe_sum_kernel<<<nblocks((int64_t)n * D, 256), 256, 0, s>>>(Y, n, k, D, y));
}

/* ---- op entries ------------------------------------------------------------------------------ */

void dsv4_cuda_op_route(struct dsv4_backend *b, const struct dsv4_route_args *a) { dsv4_cuda_route(CU(b)->stream, a); }

void dsv4_cuda_op_moe(struct dsv4_backend *b, const struct dsv4_moe_args *a)
{
    if (a->n <= 0) return;
    struct dsv4_cuda *c = CU(b);
    cudaStream_t s = c->stream;
    const int n = a->n, k = a->k;
    const int64_t D = a->D, I = a->I, nk = (int64_t)n * k, E = a->gate->ne[2];
    const size_t xq_n = a->sim_fp8 ? (size_t)(n * D) : 0;
    float *buf = (float *)dsv4_cuda_scratch(c, (xq_n + (size_t)(2 * nk * I) + (size_t)(nk * D)) * sizeof(float));
    float *xq = buf, *G = buf + xq_n, *U = G + nk * I, *Y = U + nk * I;
    const float *xin = a->x;
    if (a->sim_fp8) {
        CUDA_CHECK(cudaMemcpyAsync(xq, a->x, (size_t)(n * D) * sizeof(float), cudaMemcpyDeviceToDevice, s));
        dsv4_cuda_fp8_round(s, xq, D, n, D, 128);
        xin = xq;
    }
    dsv4_cuda_matmul_ids(s, TABS(b), a->gate, a->ids, I, E, I, xin, D, k, G, I, (int)nk);
    dsv4_cuda_matmul_ids(s, TABS(b), a->up, a->ids, I, E, I, xin, D, k, U, I, (int)nk);
    dsv4_cuda_swiglu(s, G, U, G, nk * I, a->limit, a->weights, I);
    if (a->sim_fp8) dsv4_cuda_fp8_round(s, G, I, nk, I, 128);
    dsv4_cuda_matmul_ids(s, TABS(b), a->down, a->ids, D, E, D, G, I, 1, Y, D, (int)nk);
    dsv4_cuda_moe_sum(s, Y, n, k, D, a->y);
}
