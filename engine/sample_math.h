/*
 * sample_math.h - the arithmetic of token sampling, shared by the CPU (sample.c) and the
 * GPU (cuda/sample.cu) so that both compute the same bits and choose the same token.
 *
 * A token's weight is an integer: floor(2^30 * exp((logit - max) / temp)), with exp
 * evaluated by a fixed sequence of correctly rounded float operations (range reduction by
 * ln 2 and a degree-7 polynomial; relative error below 3e-7). Integer weights make every
 * sum exact, so a parallel prefix sum gives the sequential one. Tokens whose probability
 * relative to the most likely one is below 2^-30 get weight 0 and are never sampled.
 *
 * Every operation is written out separately; on the device they are the explicitly
 * rounded intrinsics, on the host sample.c is compiled with -ffp-contract=off (no fused
 * multiply-add), so both evaluate the same expression tree with IEEE rounding.
 */
#ifndef DSV4_SAMPLE_MATH_H
#define DSV4_SAMPLE_MATH_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define DSV4_HD static __host__ __device__ __forceinline__
#else
#define DSV4_HD static inline
#endif

#if defined(__CUDA_ARCH__)
#define DSV4_SM_MUL(a, b) __fmul_rn((a), (b))
#define DSV4_SM_ADD(a, b) __fadd_rn((a), (b))
#define DSV4_SM_SUB(a, b) __fsub_rn((a), (b))
#define DSV4_SM_DIV(a, b) __fdiv_rn((a), (b))
#define DSV4_SM_DMUL(a, b) __dmul_rn((a), (b))
#else
#define DSV4_SM_MUL(a, b) ((a) * (b))
#define DSV4_SM_ADD(a, b) ((a) + (b))
#define DSV4_SM_SUB(a, b) ((a) - (b))
#define DSV4_SM_DIV(a, b) ((a) / (b))
#define DSV4_SM_DMUL(a, b) ((a) * (b))
#endif

/* Weight of the most likely token (exp(0) = 1). */
#define DSV4_SAMPLE_ONE (1u << 30)
/* Largest vocabulary the sampler accepts: sums of weights stay below 2^53 (exact as doubles). */
#define DSV4_SAMPLE_MAX_N (1 << 23)

/* The value a logit is ranked by: NaN counts as -inf. */
DSV4_HD float dsv4_sample_key(float x) { return x != x ? -INFINITY : x; }

/* floor(2^30 * exp((logit - mx) / temp)) for logit <= mx, temp > 0; 0 when the exponent is
 * below -32 or not a number (NaN logits, -inf logits). */
DSV4_HD uint32_t dsv4_sample_weight(float logit, float mx, float temp)
{
    const float x = DSV4_SM_DIV(DSV4_SM_SUB(logit, mx), temp);
    if (!(x >= -32.0f)) return 0;
    /* x = k ln2 + r, |r| <= ln2 / 2; ln2 split so that k * LN2_HI is exact */
    const float k = rintf(DSV4_SM_MUL(x, 1.44269502f));
    const float r = DSV4_SM_SUB(DSV4_SM_SUB(x, DSV4_SM_MUL(k, 0.693145751953125f)), DSV4_SM_MUL(k, 1.42860677e-6f));
    float p = 1.98412701e-4f; /* 1/7! ... 1/0! (Horner) */
    p = DSV4_SM_ADD(DSV4_SM_MUL(p, r), 1.38888892e-3f);
    p = DSV4_SM_ADD(DSV4_SM_MUL(p, r), 8.33333377e-3f);
    p = DSV4_SM_ADD(DSV4_SM_MUL(p, r), 4.16666679e-2f);
    p = DSV4_SM_ADD(DSV4_SM_MUL(p, r), 1.66666672e-1f);
    p = DSV4_SM_ADD(DSV4_SM_MUL(p, r), 0.5f);
    p = DSV4_SM_ADD(DSV4_SM_MUL(p, r), 1.0f);
    p = DSV4_SM_ADD(DSV4_SM_MUL(p, r), 1.0f);
    /* p * 2^(k+30): a power-of-two scaling (exact; k >= -47, so the result is normal) */
    return (uint32_t)ldexpf(p, (int)k + 30);
}

/* Whether the cumulative weight acc has reached the top-p share of total (0 < top_p < 1). */
DSV4_HD int dsv4_sample_top_p_reached(uint64_t acc, uint64_t total, float top_p)
{
    return (double)acc >= DSV4_SM_DMUL((double)top_p, (double)total);
}

/* Whether the token (w, id) is kept by top-k / top-p whose last kept candidate in the
 * (weight desc, id asc) ranking is (tw, tid); (0, -1) keeps every token of nonzero weight. */
DSV4_HD int dsv4_sample_kept(uint32_t w, int32_t id, uint32_t tw, int32_t tid)
{
    return w > tw || (w == tw && id <= tid);
}

/* floor(draw * total / 2^53) for draw < 2^53 and total < 2^64 / 2^11: the position of the
 * uniform draw (draw / 2^53 in [0, 1)) within the total weight, exact (128-bit product from
 * 32-bit halves). The token chosen is the first kept one, in id order, whose cumulative
 * weight exceeds it. */
DSV4_HD uint64_t dsv4_sample_target(uint64_t draw, uint64_t total)
{
    const uint64_t rl = draw & 0xffffffffu, rh = draw >> 32, tl = total & 0xffffffffu, th = total >> 32;
    const uint64_t ll = rl * tl, lh = rl * th, hl = rh * tl, hh = rh * th;
    const uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    const uint64_t lo = (ll & 0xffffffffu) | (mid << 32), hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return (hi << 11) | (lo >> 53);
}

#endif
