/*
 * hc.cu - hyper-connection kernels (see hc.cuh).
 *
 * mHC pre: the 24 mixes are a weight product (matmul.cu); one block per token then takes
 * the RMS of the token's streams (double accumulation), and one thread runs the tiny
 * Sinkhorn projection in exactly the CPU's operation order (unfused), while the block
 * forms u = sum_j pre_j X_j.
 */
#include "hc.cuh"
#include "matmul.cuh"
#include "ops.cuh"

__global__ void hc_expand_kernel(const float *e, float *X, int n, int hc, int64_t D)
{
    const int64_t id = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, total = (int64_t)n * hc * D;
    if (id >= total) return;
    const int64_t i = id % D, t = id / ((int64_t)hc * D);
    X[id] = e[t * D + i];
}

void dsv4_cuda_hc_expand(cudaStream_t s, const float *e, float *X, int n, int hc, int64_t D)
{
    const int64_t total = (int64_t)n * hc * D;
    if (total > 0) CUDA_LAUNCH(hc_expand_kernel<<<nblocks(total, 256), 256, 0, s>>>(e, X, n, hc, D));
}

static __device__ __forceinline__ float sigm(float x) { return __fdiv_rn(1.0f, add(1.0f, expf(-x))); }

__global__ void hc_finish_kernel(const float *X, int hc, int64_t D, const float *mix, const float *scale,
                                 const float *base, float rms_eps, float hc_eps, int iters, float *u, float *post,
                                 float *comb, int head)
{
    __shared__ double sh[32];
    __shared__ float pre[DSV4_CUDA_MAX_HC];
    const int t = blockIdx.x, nmix = head ? hc : (2 + hc) * hc;
    const int64_t W = (int64_t)hc * D;
    const float *x = X + t * W;
    double ss = 0;
    for (int64_t i = threadIdx.x; i < W; i += blockDim.x) ss += (double)x[i] * x[i];
    ss = block_sum_d(ss, sh);
    if (threadIdx.x == 0) {
        const float r = __fdiv_rn(1.0f, __fsqrt_rn(add((float)(ss / (double)W), rms_eps)));
        float mx[(2 + DSV4_CUDA_MAX_HC) * DSV4_CUDA_MAX_HC];
        for (int j = 0; j < nmix; j++) mx[j] = mul(mix[(int64_t)t * nmix + j], r);
        for (int j = 0; j < hc; j++) pre[j] = add(sigm(add(mul(mx[j], scale[0]), base[j])), hc_eps);
        if (!head) {
            float A[DSV4_CUDA_MAX_HC * DSV4_CUDA_MAX_HC];
            for (int j = 0; j < hc; j++)
                post[t * hc + j] = mul(2.0f, sigm(add(mul(mx[hc + j], scale[1]), base[hc + j])));
            for (int j = 0; j < hc; j++) {
                float *row = A + j * hc, mxv = -INFINITY, sum = 0;
                for (int k = 0; k < hc; k++) {
                    row[k] = add(mul(mx[2 * hc + j * hc + k], scale[2]), base[2 * hc + j * hc + k]);
                    mxv = fmaxf(mxv, row[k]);
                }
                for (int k = 0; k < hc; k++) sum = add(sum, row[k] = expf(sub(row[k], mxv)));
                for (int k = 0; k < hc; k++) row[k] = add(__fdiv_rn(row[k], sum), hc_eps);
            }
            for (int it = 0; it < iters; it++) {
                if (it > 0)
                    for (int j = 0; j < hc; j++) {
                        float sm = 0;
                        for (int k = 0; k < hc; k++) sm = add(sm, A[j * hc + k]);
                        for (int k = 0; k < hc; k++) A[j * hc + k] = __fdiv_rn(A[j * hc + k], add(sm, hc_eps));
                    }
                for (int k = 0; k < hc; k++) {
                    float sm = 0;
                    for (int j = 0; j < hc; j++) sm = add(sm, A[j * hc + k]);
                    for (int j = 0; j < hc; j++) A[j * hc + k] = __fdiv_rn(A[j * hc + k], add(sm, hc_eps));
                }
            }
            for (int j = 0; j < hc * hc; j++) comb[(int64_t)t * hc * hc + j] = A[j];
        }
    }
    __syncthreads();
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
        float sm = 0;
        for (int j = 0; j < hc; j++) sm = add(sm, mul(pre[j], x[j * D + i]));
        u[(int64_t)t * D + i] = sm;
    }
}

void dsv4_cuda_hc_finish(cudaStream_t s, const struct dsv4_hc_args *a, const float *mix, int head)
{
    if (a->n <= 0) return;
    CUDA_LAUNCH(hc_finish_kernel<<<(unsigned)a->n, 256, 0, s>>>(a->X, a->hc, a->D, mix, a->scale, a->base, a->rms_eps,
                                                                a->hc_eps, a->iters, a->u, a->post, a->comb, head));
}

__global__ void hc_post_kernel(const float *X, const float *f, const float *post, const float *comb, int n, int hc,
                               int64_t D, float *Xout)
{
    const int64_t id = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, total = (int64_t)n * hc * D;
    if (id >= total) return;
    const int64_t i = id % D, tk = id / D, t = tk / hc;
    const int k = (int)(tk % hc);
    const float *Xt = X + t * hc * D, *cb = comb + t * hc * hc;
    float sm = mul(post[t * hc + k], f[t * D + i]);
    for (int j = 0; j < hc; j++) sm = add(sm, mul(cb[j * hc + k], Xt[j * D + i]));
    Xout[id] = sm;
}

void dsv4_cuda_hc_post(cudaStream_t s, const float *X, const float *f, const float *post, const float *comb, int n,
                       int hc, int64_t D, float *Xout)
{
    const int64_t total = (int64_t)n * hc * D;
    if (total > 0) CUDA_LAUNCH(hc_post_kernel<<<nblocks(total, 256), 256, 0, s>>>(X, f, post, comb, n, hc, D, Xout));
}

/* ---- op entries ------------------------------------------------------------------------------ */

static void check_hc(int hc)
{
    if (hc < 1 || hc > DSV4_CUDA_MAX_HC) {
        fprintf(stderr, "dsv4: CUDA backend supports 1..%d hyper-connection streams, not %d\n", DSV4_CUDA_MAX_HC, hc);
        abort();
    }
}

static void hc_common(struct dsv4_backend *b, const struct dsv4_hc_args *a, int head)
{
    check_hc(a->hc);
    if (a->n <= 0) return;
    struct dsv4_cuda *c = CU(b);
    const int nmix = head ? a->hc : (2 + a->hc) * a->hc;
    float *mix = (float *)dsv4_cuda_scratch(c, (size_t)a->n * nmix * sizeof(float));
    dsv4_cuda_matmul(c->stream, TABS(b), a->fn, 0, nmix, a->X, (int64_t)a->hc * a->D, mix, nmix, a->n);
    dsv4_cuda_hc_finish(c->stream, a, mix, head);
}

void dsv4_cuda_op_hc_pre(struct dsv4_backend *b, const struct dsv4_hc_args *a) { hc_common(b, a, 0); }

void dsv4_cuda_op_hc_head(struct dsv4_backend *b, const struct dsv4_hc_args *a) { hc_common(b, a, 1); }

void dsv4_cuda_op_hc_expand(struct dsv4_backend *b, const float *e, float *X, int n, int hc, int64_t D)
{
    dsv4_cuda_hc_expand(CU(b)->stream, e, X, n, hc, D);
}

void dsv4_cuda_op_hc_post(struct dsv4_backend *b, const float *X, const float *f, const float *post,
                          const float *comb, int n, int hc, int64_t D, float *Xout)
{
    check_hc(hc);
    dsv4_cuda_hc_post(CU(b)->stream, X, f, post, comb, n, hc, D, Xout);
}
