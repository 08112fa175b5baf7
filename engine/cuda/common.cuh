/*
 * common.cuh - what every CUDA source of the engine shares: the backend object, the one
 * error path, scratch memory, warp/block reductions, weight block decoders and the
 * FP8/FP4 rounding of the quantisation simulation.
 *
 * Layering (as in ggml-cuda): each op family has a .cu file with its kernels (static), a
 * launcher that takes a cudaStream_t and plain device pointers, and an op entry with the
 * signature of struct dsv4_backend_ops that finds the stream and scratch in the backend.
 * The launchers are declared in the family's .cuh; the op entries in ops.cuh.
 *
 * Errors: every CUDA runtime call goes through CUDA_CHECK and every launch through
 * CUDA_LAUNCH; both end in dsv4_cuda_fail, which prints the failing statement, file
 * and line with the CUDA error and aborts (operations have no error return: the forward
 * pass cannot continue after a device fault).
 *
 * Numerics: decoders compute each weight with the same float operations as quant.c
 * (products and differences rounded separately, never fused), so a decoded weight is the
 * CPU's bit for bit; sums may be ordered differently (parallel reductions).
 */
#ifndef DSV4_CUDA_COMMON_CUH
#define DSV4_CUDA_COMMON_CUH

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "quant.h"

/* ---- the backend object ----------------------------------------------------------------- */

struct dsv4_cuda {
    struct dsv4_backend base;
    int device;
    cudaStream_t stream;
    void *scratch; /* grows on demand; used within one operation */
    size_t scratch_cap;
    uint64_t *iq2_grid; /* device copies of the IQ2_XXS tables */
    uint8_t *iq2_signs;
    void **weights; /* device allocations made by load_weights */
    int n_weights, cap_weights;
    uint64_t random_seed; /* load_weights fills random weights on the device when nonzero */
    int verbose;
};

static inline struct dsv4_cuda *CU(struct dsv4_backend *b) { return (struct dsv4_cuda *)b; }

/* ---- the error path ---------------------------------------------------------------------- */

#ifdef __cplusplus
extern "C" {
#endif
/* Report "CUDA error: <what> (<code>) in <stmt> at <file>:<line>" on stderr and abort. */
__attribute__((noreturn)) void dsv4_cuda_fail(const char *stmt, const char *file, int line, cudaError_t e);
#ifdef __cplusplus
}
#endif

#define CUDA_CHECK(stmt)                                                       \
    do {                                                                       \
        cudaError_t e_ = (stmt);                                               \
        if (e_ != cudaSuccess) dsv4_cuda_fail(#stmt, __FILE__, __LINE__, e_); \
    } while (0)

/* CUDA_LAUNCH(kernel<<<grid, block, shmem, stream>>>(args)): launch, then check. */
#define CUDA_LAUNCH(...)                                                                 \
    do {                                                                                 \
        __VA_ARGS__;                                                                     \
        cudaError_t e_ = cudaGetLastError();                                             \
        if (e_ != cudaSuccess) dsv4_cuda_fail(#__VA_ARGS__, __FILE__, __LINE__, e_);     \
    } while (0)

/* Device scratch of at least bytes (contents undefined); valid until the next call. Stream
 * ordered: a smaller buffer is released only after the stream drained. */
void *dsv4_cuda_scratch(struct dsv4_cuda *c, size_t bytes);

/* Blocks needed to cover n items with per items each. */
static inline unsigned nblocks(int64_t n, int64_t per) { return (unsigned)((n + per - 1) / per); }

/* ---- reductions ----------------------------------------------------------------------------- */

static __device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

static __device__ __forceinline__ double warp_sum_d(double v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

static __device__ __forceinline__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
 * sh: 32 doubles of shared memory. Contains __syncthreads: call from all threads. */
static __device__ __forceinline__ double block_sum_d(double v, double *sh)
{
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum_d(v);
    __syncthreads();
    if (lane == 0) sh[wid] = v;
    __syncthreads();
    double t = lane < nw ? sh[lane] : 0.0;
    return warp_sum_d(t);
}

static __device__ __forceinline__ float block_max(float v, float *sh)
{
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) sh[wid] = v;
    __syncthreads();
    float t = lane < nw ? sh[lane] : -INFINITY;
    return warp_max(t);
}

static __device__ __forceinline__ float block_sum(float v, float *sh)
{
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) sh[wid] = v;
    __syncthreads();
    float t = lane < nw ? sh[lane] : 0.0f;
    return warp_sum(t);
}

/* ---- scalar helpers (unfused, as the CPU computes them) --------------------------------------- */

static __device__ __forceinline__ float h2f(uint16_t h) { return __half2float(__ushort_as_half(h)); }
static __device__ __forceinline__ float bf2f(uint16_t h) { return __uint_as_float((uint32_t)h << 16); }
static __device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
static __device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
static __device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }

/* ---- weight decoders ----------------------------------------------------------------------------- */

/* IQ2_XXS lookup tables (device or shared memory). */
struct iq2_tabs {
    const uint64_t *grid;
    const uint8_t *signs;
};

/* Decode chunk c (elements 32c .. 32c+31) of a row of type T into v. Rows of quantised
 * types start at their natural alignment (cudaMalloc base + whole rows); plain types need
 * ne0 % 32 == 0 for this path (16-byte loads). */
template <int T>
static __device__ __forceinline__ void dq_chunk(const uint8_t *row, int64_t c, float *v, iq2_tabs tb)
{
    if constexpr (T == DSV4_TYPE_F32) {
        const float4 *p = (const float4 *)(row + c * 128);
#pragma unroll
        for (int k = 0; k < 8; k++) {
            float4 f = p[k];
            v[4 * k] = f.x;
            v[4 * k + 1] = f.y;
            v[4 * k + 2] = f.z;
            v[4 * k + 3] = f.w;
        }
    } else if constexpr (T == DSV4_TYPE_F16 || T == DSV4_TYPE_BF16) {
        const uint4 *p = (const uint4 *)(row + c * 64);
#pragma unroll
        for (int k = 0; k < 4; k++) {
            uint4 u = p[k];
            uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
            for (int j = 0; j < 4; j++) {
                uint16_t lo = (uint16_t)(w[j] & 0xffff), hi = (uint16_t)(w[j] >> 16);
                v[8 * k + 2 * j] = T == DSV4_TYPE_F16 ? h2f(lo) : bf2f(lo);
                v[8 * k + 2 * j + 1] = T == DSV4_TYPE_F16 ? h2f(hi) : bf2f(hi);
            }
        }
    } else if constexpr (T == DSV4_TYPE_Q8_0) {
        const uint16_t *h = (const uint16_t *)(row + c * DSV4_Q8_0_BYTES);
        const float d = h2f(h[0]);
#pragma unroll
        for (int k = 0; k < 16; k++) {
            uint16_t u = h[1 + k];
            v[2 * k] = mul((float)(int8_t)(u & 0xff), d);
            v[2 * k + 1] = mul((float)(int8_t)(u >> 8), d);
        }
    } else if constexpr (T == DSV4_TYPE_Q2_K) {
        const uint8_t *b = row + (c >> 3) * DSV4_Q2_K_BYTES;
        const int cc = (int)(c & 7), h = cc >> 2, j = cc & 3;
        const uint32_t dd = *(const uint32_t *)(b + 80);
        const float d = h2f((uint16_t)(dd & 0xffff)), dmin = h2f((uint16_t)(dd >> 16));
        const uint16_t sc2 = *(const uint16_t *)(b + 8 * h + 2 * j);
        const uint32_t *q = (const uint32_t *)(b + 16 + 32 * h);
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const uint8_t s = (uint8_t)(half ? sc2 >> 8 : sc2 & 0xff);
            const float dl = mul(d, (float)(s & 0xF)), ml = mul(dmin, (float)(s >> 4));
#pragma unroll
            for (int w = 0; w < 4; w++) {
                uint32_t qq = q[4 * half + w];
#pragma unroll
                for (int k = 0; k < 4; k++) {
                    int qv = (int)((qq >> (8 * k + 2 * j)) & 3);
                    v[16 * half + 4 * w + k] = sub(mul(dl, (float)qv), ml);
                }
            }
        }
    } else if constexpr (T == DSV4_TYPE_Q4_K) {
        const uint8_t *b = row + (c >> 3) * DSV4_Q4_K_BYTES;
        const int cc = (int)(c & 7), p = cc >> 1, hi = cc & 1;
        const uint32_t dd = *(const uint32_t *)b;
        const float d = h2f((uint16_t)(dd & 0xffff)), dmin = h2f((uint16_t)(dd >> 16));
        const uint8_t *s = b + 4;
        uint8_t sc, m;
        if (cc < 4) {
            sc = s[cc] & 63;
            m = s[cc + 4] & 63;
        } else {
            sc = (uint8_t)((s[cc + 4] & 0xF) | ((s[cc - 4] >> 6) << 4));
            m = (uint8_t)((s[cc + 4] >> 4) | ((s[cc] >> 6) << 4));
        }
        const float d1 = mul(d, (float)sc), m1 = mul(dmin, (float)m);
        const uint4 *q = (const uint4 *)(b + 16 + 32 * p);
#pragma unroll
        for (int k = 0; k < 2; k++) {
            uint4 u = q[k];
            uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
            for (int j = 0; j < 4; j++)
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    int byte = (int)((w[j] >> (8 * e)) & 0xff);
                    int qv = hi ? byte >> 4 : byte & 0xF;
                    v[16 * k + 4 * j + e] = sub(mul(d1, (float)qv), m1);
                }
        }
    } else if constexpr (T == DSV4_TYPE_IQ2_XXS) {
        const uint8_t *b = row + (c >> 3) * DSV4_IQ2_XXS_BYTES;
        const int g = (int)(c & 7);
        const uint16_t *h = (const uint16_t *)b;
        const float d = h2f(h[0]);
        const uint16_t *p = h + 1 + 4 * g;
        const uint32_t a0 = (uint32_t)p[0] | (uint32_t)p[1] << 16, a1 = (uint32_t)p[2] | (uint32_t)p[3] << 16;
        const float db = mul(mul(d, add(0.5f, (float)(a1 >> 28))), 0.25f);
#pragma unroll
        for (int l = 0; l < 4; l++) {
            const uint64_t grid = tb.grid[(a0 >> (8 * l)) & 0xff];
            const uint8_t signs = tb.signs[(a1 >> (7 * l)) & 127];
#pragma unroll
            for (int j = 0; j < 8; j++) {
                float x = mul(db, (float)((grid >> (8 * j)) & 0xFF));
                v[8 * l + j] = signs & (1u << j) ? -x : x;
            }
        }
    }
}

/* One element of a row of a plain type (F32, F16, BF16, I32), any alignment. */
static __device__ __forceinline__ float dq_plain(uint32_t type, const uint8_t *row, int64_t i)
{
    switch (type) {
    case DSV4_TYPE_F32: return ((const float *)row)[i];
    case DSV4_TYPE_F16: return h2f((uint16_t)(row[2 * i] | row[2 * i + 1] << 8));
    case DSV4_TYPE_BF16: return bf2f((uint16_t)(row[2 * i] | row[2 * i + 1] << 8));
    case DSV4_TYPE_I32: return (float)((const int32_t *)row)[i];
    default: return 0.0f;
    }
}

static inline int is_plain(uint32_t type)
{
    return type == DSV4_TYPE_F32 || type == DSV4_TYPE_F16 || type == DSV4_TYPE_BF16 || type == DSV4_TYPE_I32;
}

/* ---- FP8 / FP4 rounding (quant.c's dsv4_round_e4m3 / _e2m1 / _blocks, same results) -------- */

static __device__ __forceinline__ float round_e4m3(float x)
{
    float a = fabsf(x);
    if (isnan(x)) return x;
    if (a >= 448.f) a = 448.f;
    else if (a < 0x1p-6f) a = mul(rintf(mul(a, 0x1p9f)), 0x1p-9f);
    else {
        int e;
        frexpf(a, &e);
        const float step = ldexpf(1.f, e - 1 - 3);
        a = mul(rintf(__fdiv_rn(a, step)), step);
        if (a > 448.f) a = 448.f;
    }
    return x < 0 ? -a : a;
}

static __device__ __forceinline__ float round_e2m1(float x)
{
    float a = fabsf(x), r;
    if (isnan(x)) return x;
    if (a <= 0.25f) r = 0;
    else if (a < 0.75f) r = 0.5f;
    else if (a <= 1.25f) r = 1;
    else if (a < 1.75f) r = 1.5f;
    else if (a <= 2.5f) r = 2;
    else if (a < 3.5f) r = 3;
    else if (a <= 5.f) r = 4;
    else r = 6;
    return x < 0 ? -r : r;
}

static __device__ __forceinline__ float pow2_ceil(float r)
{
    int e;
    const float m = frexpf(r, &e);
    return ldexpf(1.f, m == 0.5f ? e - 1 : e);
}

/* One thread rounds x[0..m) (one block) through e4m3 with a power-of-two scale. */
static __device__ __forceinline__ void fp8_block(float *x, int64_t m)
{
    float amax = 1e-4f;
    for (int64_t j = 0; j < m; j++) amax = fmaxf(amax, fabsf(x[j]));
    const float s = pow2_ceil(__fdiv_rn(amax, 448.f));
    for (int64_t j = 0; j < m; j++) x[j] = mul(round_e4m3(__fdiv_rn(x[j], s)), s);
}

/* One thread rounds x[0..m) (one block) through e2m1 with a power-of-two scale. */
static __device__ __forceinline__ void fp4_block(float *x, int64_t m)
{
    float amax = 6.f * 0x1p-126f;
    for (int64_t j = 0; j < m; j++) amax = fmaxf(amax, fabsf(x[j]));
    const float s = pow2_ceil(__fdiv_rn(amax, 6.f));
    for (int64_t j = 0; j < m; j++) x[j] = mul(round_e2m1(__fdiv_rn(x[j], s)), s);
}

/* In-place Walsh-Hadamard of x[0..n) (n a power of two, shared memory) by the whole block,
 * scaled by 1/sqrt(n) as quant.c's dsv4_hadamard. Contains __syncthreads. */
static __device__ __forceinline__ void block_hadamard(float *x, int n)
{
    for (int h = 1; h < n; h *= 2) {
        __syncthreads();
        for (int p = threadIdx.x; p < n / 2; p += blockDim.x) {
            const int i = (p / h) * 2 * h + (p % h);
            const float a = x[i], b = x[i + h];
            x[i] = add(a, b);
            x[i + h] = sub(a, b);
        }
    }
    __syncthreads();
    const float s = __fdiv_rn(1.f, __fsqrt_rn((float)n));
    for (int i = threadIdx.x; i < n; i += blockDim.x) x[i] = mul(x[i], s);
    __syncthreads();
}

#endif
