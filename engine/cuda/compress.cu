/*
 * compress.cu - the compressor (see compress.cuh).
 *
 * Tokens of a chunk depend on each other through the slot state, so one block walks the
 * chunk in order: it stores token s in its slot, and when s completes a window it pools
 * every channel over the window's slots (softmax of the gate scores), normalises the new
 * entry, rotates its trailing n_rot dims to position i*m and applies the simulation
 * rounding, all in shared memory, then (overlap) moves the current window's slots into
 * the previous-window half. Per channel the arithmetic is the CPU's, in its order.
 */
#include "compress.cuh"
#include "matmul.cuh"
#include "ops.cuh"

#define COMP_THREADS 256

__global__ void __launch_bounds__(COMP_THREADS)
compress_kernel(const float *A, const float *Z, int n, int64_t pos0, int m, int overlap, int64_t c,
                const float *ape, const float *norm, float eps, float *state, float *entries, const float *freqs,
                int n_rot, int sim)
{
    extern __shared__ float srow[];
    __shared__ double sh[32];
    const int coff = overlap ? 2 : 1;
    const int64_t w = coff * c, rowlen = 2 * w;
    for (int i = 0; i < n; i++) {
        const int64_t s = pos0 + i;
        const int slot = (overlap ? m : 0) + (int)(s % m);
        float *row = state + slot * rowlen;
        const float *ap = ape + (s % m) * w;
        for (int64_t j = threadIdx.x; j < w; j += blockDim.x) {
            row[j] = A[(int64_t)i * w + j];
            row[w + j] = add(Z[(int64_t)i * w + j], ap[j]);
        }
        __syncthreads();
        if ((s + 1) % m) continue;
        const int64_t e = s / m;
        const int nslots = coff * m;
        double ss = 0;
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
            float mx = -INFINITY, sum = 0, acc = 0;
            for (int k = 0; k < nslots; k++) {
                const int64_t ch = overlap && k >= m ? c + j : j;
                mx = fmaxf(mx, state[k * rowlen + w + ch]);
            }
            for (int k = 0; k < nslots; k++) {
                const int64_t ch = overlap && k >= m ? c + j : j;
                const float p = expf(sub(state[k * rowlen + w + ch], mx));
                sum = add(sum, p);
                acc = add(acc, mul(p, state[k * rowlen + ch]));
            }
            const float v = __fdiv_rn(acc, sum);
            srow[j] = v;
            ss += (double)v * v;
        }
        ss = block_sum_d(ss, sh);
        const float r = __fdiv_rn(1.0f, __fsqrt_rn(add((float)(ss / (double)c), eps)));
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) srow[j] = mul(norm[j], mul(srow[j], r));
        __syncthreads();
        for (int p = threadIdx.x; p < n_rot / 2; p += blockDim.x) {
            float *x = srow + c - n_rot + 2 * p;
            const float ang = mul((float)(double)(e * m), freqs[p]);
            const float cs = (float)cos((double)ang), sn = (float)sin((double)ang);
            const float a = x[0], b = x[1];
            x[0] = sub(mul(a, cs), mul(b, sn));
            x[1] = add(mul(a, sn), mul(b, cs));
        }
        __syncthreads();
        if (sim == DSV4_SIM_FP8_KV) {
            const int64_t nr = c - n_rot, nb = (nr + 63) / 64;
            for (int64_t k = threadIdx.x; k < nb; k += blockDim.x)
                fp8_block(srow + 64 * k, nr - 64 * k < 64 ? nr - 64 * k : 64);
        } else if (sim == DSV4_SIM_FP4_HADA) {
            block_hadamard(srow, (int)c);
            const int64_t nb = (c + 31) / 32;
            for (int64_t k = threadIdx.x; k < nb; k += blockDim.x) fp4_block(srow + 32 * k, c - 32 * k < 32 ? c - 32 * k : 32);
        }
        __syncthreads();
        float *out = entries + e * c;
        for (int64_t j = threadIdx.x; j < c; j += blockDim.x) out[j] = srow[j];
        if (overlap)
            for (int64_t k = threadIdx.x; k < (int64_t)m * rowlen; k += blockDim.x) state[k] = state[m * rowlen + k];
        __syncthreads();
    }
}

void dsv4_cuda_compress(cudaStream_t s, const struct dsv4_compress_args *a, const float *ape)
{
    if (a->n <= 0) return;
    if (a->c > 8192 || (a->sim == DSV4_SIM_FP4_HADA && (a->c & (a->c - 1)))) {
        fprintf(stderr, "dsv4: CUDA compress: unsupported entry width %lld\n", (long long)a->c);
        abort();
    }
    CUDA_LAUNCH(compress_kernel<<<1, COMP_THREADS, (size_t)a->c * sizeof(float), s>>>(
        a->a, a->z, a->n, a->pos0, a->ratio, a->overlap, a->c, ape, a->norm, a->eps, a->state, a->entries, a->freqs,
        a->n_rot, a->sim));
}

/* ---- op entry -------------------------------------------------------------------------------- */

void dsv4_cuda_op_compress(struct dsv4_backend *b, const struct dsv4_compress_args *a)
{
    if (a->n <= 0) return;
    struct dsv4_cuda *c = CU(b);
    const int64_t w = (a->overlap ? 2 : 1) * a->c;
    float *ape = (float *)dsv4_cuda_scratch(c, (size_t)(a->ratio * w) * sizeof(float));
    dsv4_cuda_get_rows(c->stream, TABS(b), a->ape, NULL, 0, a->ratio, ape);
    dsv4_cuda_compress(c->stream, a, ape);
}
