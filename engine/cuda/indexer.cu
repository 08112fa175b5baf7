/*
 * indexer.cu - lightning-indexer scores and top-k (see indexer.cuh).
 *
 * Scores: one thread per (token, entry), in the CPU's exact operation order (8-lane dot,
 * ReLU, weighted sum over heads, unfused), so the selection is the CPU's whenever the
 * inputs are equal - ties included. Top-k: one block per token; entry i's rank is the
 * number of entries ahead of it in (score desc, index asc) order, and i lands at out[rank]
 * when rank < topk.
 */
#include "indexer.cuh"
#include "ops.cuh"

__global__ void index_scores_kernel(const float *q, const float *w, const float *keys, int nI, int64_t cI,
                                    int64_t pos0, int ratio, float *scores, int64_t stride)
{
    const int t = blockIdx.y;
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, nv = (pos0 + t + 1) / ratio;
    if (i >= nv) return;
    const float *qt = q + (int64_t)t * nI * cI, *wt = w + (int64_t)t * nI, *k = keys + i * cI;
    float s = 0;
    for (int h = 0; h < nI; h++) {
        const float *qh = qt + h * cI;
        float l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t e = 0;
        for (; e + 8 <= cI; e += 8)
#pragma unroll
            for (int j = 0; j < 8; j++) l[j] = add(l[j], mul(qh[e + j], k[e + j]));
        for (int j = 0; e < cI; e++, j++) l[j] = add(l[j], mul(qh[e], k[e]));
        const float d = add(add(add(l[0], l[1]), add(l[2], l[3])), add(add(l[4], l[5]), add(l[6], l[7])));
        s = add(s, mul(wt[h], d > 0 ? d : 0));
    }
    scores[t * stride + i] = s;
}

void dsv4_cuda_index_scores(cudaStream_t s, const struct dsv4_index_args *a, float *scores, int64_t stride)
{
    if (a->n <= 0 || stride <= 0) return;
    const dim3 grid(nblocks(stride, 128), (unsigned)a->n);
    CUDA_LAUNCH(index_scores_kernel<<<grid, 128, 0, s>>>(a->q, a->w, a->keys, a->nI, a->cI, a->pos0, a->ratio,
                                                          scores, stride));
}

__global__ void index_topk_kernel(const float *scores, int64_t stride, int64_t pos0, int ratio, int topk,
                                  int32_t *out)
{
    const int t = blockIdx.x;
    const int64_t nv = (pos0 + t + 1) / ratio;
    int32_t *o = out + (int64_t)t * topk;
    if (nv <= topk) {
        for (int k = threadIdx.x; k < topk; k += blockDim.x) o[k] = k < nv ? k : -1;
        return;
    }
    const float *sc = scores + t * stride;
    for (int64_t i = threadIdx.x; i < nv; i += blockDim.x) {
        const float si = sc[i];
        int64_t rank = 0;
        for (int64_t j = 0; j < nv && rank < topk; j++) {
            const float sj = sc[j];
            rank += sj > si || (sj == si && j < i);
        }
        if (rank < topk) o[rank] = (int32_t)i;
    }
}

void dsv4_cuda_index_topk(cudaStream_t s, const struct dsv4_index_args *a, const float *scores, int64_t stride)
{
    if (a->n <= 0) return;
    CUDA_LAUNCH(index_topk_kernel<<<(unsigned)a->n, 256, 0, s>>>(scores, stride, a->pos0, a->ratio, a->topk, a->out));
}

/* ---- op entry -------------------------------------------------------------------------------- */

void dsv4_cuda_op_indexer_topk(struct dsv4_backend *b, const struct dsv4_index_args *a)
{
    if (a->n <= 0) return;
    struct dsv4_cuda *c = CU(b);
    const int64_t stride = (a->pos0 + a->n) / a->ratio; /* entries visible to the last token */
    float *scores = NULL;
    if (stride > a->topk) {
        scores = (float *)dsv4_cuda_scratch(c, (size_t)(a->n * stride) * sizeof(float));
        dsv4_cuda_index_scores(c->stream, a, scores, stride);
    }
    dsv4_cuda_index_topk(c->stream, a, scores, stride);
}
