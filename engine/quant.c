/*
 * quant.c - element formats: conversions, block decoders and encoders, dot products,
 * FP8/FP4 rounding.
 *
 * Invariants:
 *  - decoders compute in the same float operation order as ggml's reference dequantisers
 *    (dequantize_row_q8_0 / _q2_K / _q4_K / _iq2_xxs), so values are bit-identical to what
 *    other GGUF readers produce;
 *  - every fp32 dot product (dsv4_dot, dsv4_dot_f32) accumulates element i into lane i % 8
 *    and reduces the 8 lanes in one fixed order, so a fused "decode and dot" equals
 *    "decode the row, then dot" bit for bit; block sizes are multiples of 8, which keeps
 *    the lane of an element independent of how a row is cut into blocks.
 */
#include "quant.h"

#include <math.h>
#include <string.h>
#include <strings.h>

/* ---- type table ---------------------------------------------------------------------- */

static const struct dsv4_type_info TYPES[] = {
    [DSV4_TYPE_F32] = {"F32", 1, 4, 1},
    [DSV4_TYPE_F16] = {"F16", 1, 2, 1},
    [DSV4_TYPE_Q8_0] = {"Q8_0", DSV4_QK8_0, DSV4_Q8_0_BYTES, 1},
    [DSV4_TYPE_Q2_K] = {"Q2_K", DSV4_QK_K, DSV4_Q2_K_BYTES, 1},
    [DSV4_TYPE_Q4_K] = {"Q4_K", DSV4_QK_K, DSV4_Q4_K_BYTES, 1},
    [DSV4_TYPE_Q8_K] = {"Q8_K", DSV4_QK_K, DSV4_Q8_K_BYTES, 0},
    [DSV4_TYPE_IQ2_XXS] = {"IQ2_XXS", DSV4_QK_K, DSV4_IQ2_XXS_BYTES, 1},
    [DSV4_TYPE_I32] = {"I32", 1, 4, 0},
    [DSV4_TYPE_BF16] = {"BF16", 1, 2, 1},
};

const struct dsv4_type_info *dsv4_type_get(uint32_t type)
{
    if (type >= sizeof TYPES / sizeof TYPES[0] || !TYPES[type].name) return NULL;
    return &TYPES[type];
}

const char *dsv4_type_name(uint32_t type)
{
    const struct dsv4_type_info *t = dsv4_type_get(type);
    return t ? t->name : "?";
}

int dsv4_type_from_name(const char *name)
{
    for (unsigned i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (TYPES[i].name && !strcasecmp(TYPES[i].name, name)) return (int)i;
    return -1;
}

size_t dsv4_row_bytes(uint32_t type, int64_t n)
{
    const struct dsv4_type_info *t = dsv4_type_get(type);
    if (!t || n < 0) return 0;
    return (size_t)(n / t->block_elems) * (size_t)t->block_bytes;
}

/* ---- scalar conversions ---------------------------------------------------------------- */

static inline float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i);
}

float dsv4_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0) {
        float f = (float)man * 0x1p-24f; /* zero or subnormal, exact */
        return sign ? -f : f;
    }
    if (exp == 31) return bits_f32(sign | 0x7f800000u | man << 13);
    return bits_f32(sign | (exp + 112) << 23 | man << 13);
}

uint16_t dsv4_f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00; /* NaN */
    if (ax >= 0x47800000u) return sign | 0x7c00; /* >= 65536 (and inf): infinity */
    if (ax < 0x38800000u) {                      /* below 2^-14: subnormal or zero */
        float v = bits_f32(ax) * 0x1p24f;        /* exact scaling */
        return sign | (uint16_t)nearbyintf(v);   /* 1024 becomes the smallest normal */
    }
    uint32_t e = (ax >> 23) - 112, m = ax & 0x7fffffu;
    uint32_t r = e << 10 | m >> 13, rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++; /* may carry into inf: correct */
    return sign | (uint16_t)r;
}

float dsv4_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t dsv4_f32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fffu + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

/* ---- block decoders -------------------------------------------------------------------- */

static void dec_q8_0(const uint8_t *b, float *y)
{
    const float d = dsv4_f16_to_f32(rd16(b));
    for (int i = 0; i < 32; i++) y[i] = (float)(int8_t)b[2 + i] * d;
}

static void dec_q2_k(const uint8_t *b, float *y)
{
    const uint8_t *sc = b, *qs = b + 16;
    const float d = dsv4_f16_to_f32(rd16(b + 80)), dmin = dsv4_f16_to_f32(rd16(b + 82));
    int is = 0;
    for (int h = 0; h < 2; h++) {
        const uint8_t *q = qs + 32 * h;
        for (int j = 0; j < 4; j++) {
            for (int half = 0; half < 2; half++) {
                uint8_t s = sc[is++];
                float dl = d * (float)(s & 0xF), ml = dmin * (float)(s >> 4);
                for (int l = 16 * half; l < 16 * half + 16; l++)
                    *y++ = dl * (float)((int8_t)((q[l] >> 2 * j) & 3)) - ml;
            }
        }
    }
}

static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

static void dec_q4_k(const uint8_t *b, float *y)
{
    const float d = dsv4_f16_to_f32(rd16(b)), dmin = dsv4_f16_to_f32(rd16(b + 2));
    const uint8_t *scales = b + 4, *q = b + 16;
    for (int c = 0; c < 4; c++) {
        uint8_t sc, m;
        scale_min_k4(2 * c, scales, &sc, &m);
        const float d1 = d * sc, m1 = dmin * m;
        scale_min_k4(2 * c + 1, scales, &sc, &m);
        const float d2 = d * sc, m2 = dmin * m;
        for (int l = 0; l < 32; l++) y[l] = d1 * (q[l] & 0xF) - m1;
        for (int l = 0; l < 32; l++) y[32 + l] = d2 * (q[l] >> 4) - m2;
        q += 32;
        y += 64;
    }
}

static void dec_iq2_xxs(const uint8_t *b, float *y)
{
    const float d = dsv4_f16_to_f32(rd16(b));
    for (int g = 0; g < 8; g++) {
        const uint8_t *p = b + 2 + 8 * g;
        uint32_t a1 = rd32(p + 4);
        const float db = d * (0.5f + (float)(a1 >> 28)) * 0.25f;
        for (int l = 0; l < 4; l++) {
            uint64_t grid = dsv4_iq2xxs_grid[p[l]];
            uint8_t signs = dsv4_ksigns_iq2xs[(a1 >> 7 * l) & 127];
            for (int j = 0; j < 8; j++) {
                float mag = (float)((grid >> 8 * j) & 0xFF);
                y[j] = db * mag * (signs & (1u << j) ? -1.f : 1.f);
            }
            y += 8;
        }
    }
}

static void dec_q8_k(const uint8_t *b, float *y)
{
    float d;
    memcpy(&d, b, 4);
    for (int i = 0; i < 256; i++) y[i] = d * (float)(int8_t)b[4 + i];
}

/* Decode elements [i0, i0+n) of a row (i0 and n multiples of the block size). */
static void decode_span(uint32_t type, const void *src, float *dst, int64_t i0, int64_t n)
{
    const uint8_t *s = src;
    switch (type) {
    case DSV4_TYPE_F32: memcpy(dst, s + 4 * i0, (size_t)n * 4); break;
    case DSV4_TYPE_F16:
        for (int64_t i = 0; i < n; i++) dst[i] = dsv4_f16_to_f32(rd16(s + 2 * (i0 + i)));
        break;
    case DSV4_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) dst[i] = dsv4_bf16_to_f32(rd16(s + 2 * (i0 + i)));
        break;
    case DSV4_TYPE_I32:
        for (int64_t i = 0; i < n; i++) dst[i] = (float)(int32_t)rd32(s + 4 * (i0 + i));
        break;
    case DSV4_TYPE_Q8_0:
        for (int64_t i = 0; i < n; i += 32) dec_q8_0(s + (i0 + i) / 32 * DSV4_Q8_0_BYTES, dst + i);
        break;
    case DSV4_TYPE_Q2_K:
        for (int64_t i = 0; i < n; i += 256) dec_q2_k(s + (i0 + i) / 256 * DSV4_Q2_K_BYTES, dst + i);
        break;
    case DSV4_TYPE_Q4_K:
        for (int64_t i = 0; i < n; i += 256) dec_q4_k(s + (i0 + i) / 256 * DSV4_Q4_K_BYTES, dst + i);
        break;
    case DSV4_TYPE_IQ2_XXS:
        for (int64_t i = 0; i < n; i += 256)
            dec_iq2_xxs(s + (i0 + i) / 256 * DSV4_IQ2_XXS_BYTES, dst + i);
        break;
    case DSV4_TYPE_Q8_K:
        for (int64_t i = 0; i < n; i += 256) dec_q8_k(s + (i0 + i) / 256 * DSV4_Q8_K_BYTES, dst + i);
        break;
    default: memset(dst, 0, (size_t)n * sizeof *dst); break;
    }
}

void dsv4_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n)
{
    decode_span(type, src, dst, 0, n);
}

/* ---- fp32 dot products ----------------------------------------------------------------- */

struct lanes {
    float a[8];
};

static inline void lanes_add(struct lanes *acc, const float *x, const float *y, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc->a[j] += x[i + j] * y[i + j];
    for (int j = 0; i < n; i++, j++) acc->a[j] += x[i] * y[i];
}

static inline float lanes_sum(const struct lanes *acc)
{
    const float *a = acc->a;
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

float dsv4_dot_f32(const float *a, const float *b, int64_t n)
{
    struct lanes acc = {{0}};
    lanes_add(&acc, a, b, n);
    return lanes_sum(&acc);
}

float dsv4_dot(uint32_t type, const void *w, const float *x, int64_t n)
{
    if (type == DSV4_TYPE_F32) return dsv4_dot_f32(w, x, n);
    struct lanes acc = {{0}};
    float buf[256];
    const struct dsv4_type_info *t = dsv4_type_get(type);
    int64_t step = t && t->block_elems > 1 ? t->block_elems : 256;
    for (int64_t i = 0; i < n; i += step) {
        int64_t m = n - i < step ? n - i : step;
        decode_span(type, w, buf, i, m);
        lanes_add(&acc, buf, x + i, m);
    }
    return lanes_sum(&acc);
}

/* ---- quantisers ------------------------------------------------------------------------ */

static void enc_q8_0(const float *x, uint8_t *b)
{
    float amax = 0;
    for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[i]));
    const float d = amax / 127.f, id = d != 0 ? 1.f / d : 0.f;
    wr16(b, dsv4_f32_to_f16(d));
    for (int i = 0; i < 32; i++) b[2 + i] = (uint8_t)(int8_t)roundf(x[i] * id);
}

static void enc_q8_k(const float *x, uint8_t *b)
{
    float amax = 0, max = 0;
    for (int i = 0; i < 256; i++) {
        float a = fabsf(x[i]);
        if (a > amax) {
            amax = a;
            max = x[i];
        }
    }
    memset(b, 0, DSV4_Q8_K_BYTES);
    if (amax == 0) return;
    const float iscale = -127.f / max;
    int8_t q[256];
    for (int i = 0; i < 256; i++) {
        int v = (int)nearbyintf(iscale * x[i]);
        q[i] = (int8_t)(v > 127 ? 127 : v);
        b[4 + i] = (uint8_t)q[i];
    }
    for (int g = 0; g < 16; g++) {
        int s = 0;
        for (int i = 0; i < 16; i++) s += q[16 * g + i];
        wr16(b + 260 + 2 * g, (uint16_t)(int16_t)s);
    }
    float d = 1.f / iscale;
    memcpy(b, &d, 4);
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Shared by Q2_K (16 sub-blocks of 16, 2-bit quants, 4-bit scales) and Q4_K (8 of 32,
 * 4-bit quants, 6-bit scales): per sub-block range [lo, hi] with lo <= 0 gives
 * scale = (hi-lo)/qmax and min = -lo; both are then quantised against the block's
 * largest, and each element to the nearest level. */
static void kquant_params(const float *x, int nsub, int sublen, int qmax, int smax,
                          float *d_out, float *dmin_out, int *ls, int *lm)
{
    float scale[16], mn[16], maxs = 0, maxm = 0;
    for (int s = 0; s < nsub; s++) {
        float lo = 0, hi = 0;
        for (int i = 0; i < sublen; i++) {
            float v = x[s * sublen + i];
            lo = fminf(lo, v);
            hi = fmaxf(hi, v);
        }
        scale[s] = (hi - lo) / (float)qmax;
        mn[s] = -lo;
        maxs = fmaxf(maxs, scale[s]);
        maxm = fmaxf(maxm, mn[s]);
    }
    float d = dsv4_f16_to_f32(dsv4_f32_to_f16(maxs / (float)smax));
    float dmin = dsv4_f16_to_f32(dsv4_f32_to_f16(maxm / (float)smax));
    for (int s = 0; s < nsub; s++) {
        ls[s] = d > 0 ? clampi((int)roundf(scale[s] / d), scale[s] > 0 ? 1 : 0, smax) : 0;
        lm[s] = dmin > 0 ? clampi((int)roundf(mn[s] / dmin), 0, smax) : 0;
    }
    *d_out = d;
    *dmin_out = dmin;
}

static inline int kquant_level(float v, float dl, float ml, int qmax)
{
    return dl > 0 ? clampi((int)roundf((v + ml) / dl), 0, qmax) : 0;
}

static void enc_q2_k(const float *x, uint8_t *b)
{
    float d, dmin;
    int ls[16], lm[16];
    kquant_params(x, 16, 16, 3, 15, &d, &dmin, ls, lm);
    memset(b, 0, DSV4_Q2_K_BYTES);
    for (int s = 0; s < 16; s++) b[s] = (uint8_t)(ls[s] | lm[s] << 4);
    for (int i = 0; i < 256; i++) {
        int h = i / 128, j = (i % 128) / 32, l = i % 32, s = i / 16;
        int q = kquant_level(x[i], d * (float)ls[s], dmin * (float)lm[s], 3);
        b[16 + 32 * h + l] |= (uint8_t)(q << 2 * j);
    }
    wr16(b + 80, dsv4_f32_to_f16(d));
    wr16(b + 82, dsv4_f32_to_f16(dmin));
}

static void enc_q4_k(const float *x, uint8_t *b)
{
    float d, dmin;
    int ls[16], lm[16];
    kquant_params(x, 8, 32, 15, 63, &d, &dmin, ls, lm);
    memset(b, 0, DSV4_Q4_K_BYTES);
    wr16(b, dsv4_f32_to_f16(d));
    wr16(b + 2, dsv4_f32_to_f16(dmin));
    uint8_t *sc = b + 4;
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            sc[j] = (uint8_t)(ls[j] & 63);
            sc[j + 4] = (uint8_t)(lm[j] & 63);
        } else {
            sc[j + 4] = (uint8_t)((ls[j] & 0xF) | (lm[j] & 0xF) << 4);
            sc[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            sc[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
    for (int i = 0; i < 256; i++) {
        int c = i / 64, half = (i % 64) / 32, l = i % 32, s = i / 32;
        int q = kquant_level(x[i], d * (float)ls[s], dmin * (float)lm[s], 15);
        b[16 + 32 * c + l] |= (uint8_t)(half ? q << 4 : q);
    }
}

/* IQ2_XXS: for each sub-group of 8, the magnitude index (0,1,2 for 8,25,43) of every grid
 * row element, built once. */
static uint8_t iq2_mag_idx[256][8];
static int iq2_mag_ready;

static void iq2_init(void)
{
    if (iq2_mag_ready) return; /* benign race: every thread writes the same bytes */
    for (int r = 0; r < 256; r++)
        for (int j = 0; j < 8; j++) {
            unsigned m = (unsigned)(dsv4_iq2xxs_grid[r] >> 8 * j) & 0xFF;
            iq2_mag_idx[r][j] = m == 8 ? 0 : m == 25 ? 1 : 2;
        }
    __atomic_store_n(&iq2_mag_ready, 1, __ATOMIC_RELEASE);
}

/* Best grid row for targets v[8] (already sign-adjusted) at step db. */
static int iq2_best_row(const float *v, float db, float *err_out)
{
    static const float mags[3] = {8, 25, 43};
    float e[8][3];
    for (int j = 0; j < 8; j++)
        for (int k = 0; k < 3; k++) {
            float t = v[j] - db * mags[k];
            e[j][k] = t * t;
        }
    int best = 0;
    float beste = INFINITY;
    for (int r = 0; r < 256; r++) {
        float s = 0;
        for (int j = 0; j < 8; j++) s += e[j][iq2_mag_idx[r][j]];
        if (s < beste) {
            beste = s;
            best = r;
        }
    }
    *err_out = beste;
    return best;
}

static void enc_iq2_xxs(const float *x, uint8_t *b)
{
    iq2_init();
    float v[256];      /* sign-adjusted targets */
    uint8_t sidx[32];  /* sign index per sub-group */
    float gdb[8];      /* preferred step per group */
    for (int sg = 0; sg < 32; sg++) {
        const float *xs = x + 8 * sg;
        unsigned bits = 0;
        int jmin = 0;
        for (int j = 0; j < 8; j++) {
            if (xs[j] < 0) bits |= 1u << j;
            if (fabsf(xs[j]) < fabsf(xs[jmin])) jmin = j;
        }
        if (__builtin_popcount(bits) & 1) bits ^= 1u << jmin; /* even parity required */
        for (int j = 0; j < 8; j++) v[8 * sg + j] = bits & (1u << j) ? -xs[j] : xs[j];
        sidx[sg] = (uint8_t)(bits & 127);
    }
    static const float mags[3] = {8, 25, 43};
    float dmax = 0;
    for (int g = 0; g < 8; g++) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(v[32 * g + i]));
        /* start the step where the largest value maps to each magnitude, refit the step to
         * the chosen rows twice, keep the start with the smallest error */
        float best_db = amax / 43.f, best_err = INFINITY;
        for (int start = 0; start < 3 && amax > 0; start++) {
            float db = amax / mags[2 - start], err_total = 0;
            for (int pass = 0; pass < 3; pass++) {
                float num = 0, den = 0, err;
                err_total = 0;
                for (int l = 0; l < 4; l++) {
                    const float *vs = v + 32 * g + 8 * l;
                    int r = iq2_best_row(vs, db, &err);
                    err_total += err;
                    for (int j = 0; j < 8; j++) {
                        float m = mags[iq2_mag_idx[r][j]];
                        num += vs[j] * m;
                        den += m * m;
                    }
                }
                if (pass < 2 && num > 0) db = num / den;
            }
            if (err_total < best_err) {
                best_err = err_total;
                best_db = db;
            }
        }
        gdb[g] = best_db;
        dmax = fmaxf(dmax, best_db);
    }
    float d = dsv4_f16_to_f32(dsv4_f32_to_f16(dmax * 8.f / 31.f));
    wr16(b, dsv4_f32_to_f16(d));
    for (int g = 0; g < 8; g++) {
        int s = d > 0 ? clampi((int)roundf((gdb[g] * 8.f / d - 1.f) / 2.f), 0, 15) : 0;
        const float db = d * (0.5f + (float)s) * 0.25f;
        uint8_t *p = b + 2 + 8 * g;
        uint32_t a1 = (uint32_t)s << 28;
        for (int l = 0; l < 4; l++) {
            float err;
            p[l] = (uint8_t)iq2_best_row(v + 32 * g + 8 * l, db, &err);
            a1 |= (uint32_t)sidx[4 * g + l] << 7 * l;
        }
        wr32(p + 4, a1);
    }
}

void dsv4_quantize_row(uint32_t type, const float *src, void *dst, int64_t n)
{
    uint8_t *d = dst;
    switch (type) {
    case DSV4_TYPE_F32: memcpy(d, src, (size_t)n * 4); break;
    case DSV4_TYPE_F16:
        for (int64_t i = 0; i < n; i++) wr16(d + 2 * i, dsv4_f32_to_f16(src[i]));
        break;
    case DSV4_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) wr16(d + 2 * i, dsv4_f32_to_bf16(src[i]));
        break;
    case DSV4_TYPE_Q8_0:
        for (int64_t i = 0; i < n; i += 32) enc_q8_0(src + i, d + i / 32 * DSV4_Q8_0_BYTES);
        break;
    case DSV4_TYPE_Q2_K:
        for (int64_t i = 0; i < n; i += 256) enc_q2_k(src + i, d + i / 256 * DSV4_Q2_K_BYTES);
        break;
    case DSV4_TYPE_Q4_K:
        for (int64_t i = 0; i < n; i += 256) enc_q4_k(src + i, d + i / 256 * DSV4_Q4_K_BYTES);
        break;
    case DSV4_TYPE_IQ2_XXS:
        for (int64_t i = 0; i < n; i += 256) enc_iq2_xxs(src + i, d + i / 256 * DSV4_IQ2_XXS_BYTES);
        break;
    case DSV4_TYPE_Q8_K:
        for (int64_t i = 0; i < n; i += 256) enc_q8_k(src + i, d + i / 256 * DSV4_Q8_K_BYTES);
        break;
    case DSV4_TYPE_I32:
        for (int64_t i = 0; i < n; i++) wr32(d + 4 * i, (uint32_t)(int32_t)src[i]);
        break;
    default: break;
    }
}

void dsv4_quantize_row_q8_0(const float *x, void *dst, int64_t n)
{
    dsv4_quantize_row(DSV4_TYPE_Q8_0, x, dst, n);
}

void dsv4_quantize_row_q8_k(const float *x, void *dst, int64_t n)
{
    dsv4_quantize_row(DSV4_TYPE_Q8_K, x, dst, n);
}

/* ---- activation-quantised dot products -------------------------------------------------- */

float dsv4_vec_dot_q8_0_q8_0(const void *w, const void *x, int64_t n)
{
    const uint8_t *a = w, *b = x;
    float sum = 0;
    for (int64_t i = 0; i < n / 32; i++, a += DSV4_Q8_0_BYTES, b += DSV4_Q8_0_BYTES) {
        int s = 0;
        for (int j = 0; j < 32; j++) s += (int8_t)a[2 + j] * (int8_t)b[2 + j];
        sum += dsv4_f16_to_f32(rd16(a)) * dsv4_f16_to_f32(rd16(b)) * (float)s;
    }
    return sum;
}

static inline float q8k_d(const uint8_t *y)
{
    float d;
    memcpy(&d, y, 4);
    return d;
}

float dsv4_vec_dot_q2_k_q8_k(const void *w, const void *x, int64_t n)
{
    const uint8_t *a = w, *y = x;
    float sum = 0;
    for (int64_t i = 0; i < n / 256; i++, a += DSV4_Q2_K_BYTES, y += DSV4_Q8_K_BYTES) {
        const int8_t *q8 = (const int8_t *)(y + 4);
        int isum = 0, summ = 0;
        for (int sb = 0; sb < 16; sb++) summ += (a[sb] >> 4) * (int16_t)rd16(y + 260 + 2 * sb);
        for (int e = 0; e < 256; e++) {
            int h = e / 128, j = (e % 128) / 32, l = e % 32;
            int q = (a[16 + 32 * h + l] >> 2 * j) & 3;
            isum += (a[e / 16] & 0xF) * q * q8[e];
        }
        const float d = dsv4_f16_to_f32(rd16(a + 80)), dmin = dsv4_f16_to_f32(rd16(a + 82));
        sum += q8k_d(y) * (d * (float)isum - dmin * (float)summ);
    }
    return sum;
}

float dsv4_vec_dot_q4_k_q8_k(const void *w, const void *x, int64_t n)
{
    const uint8_t *a = w, *y = x;
    float sum = 0;
    for (int64_t i = 0; i < n / 256; i++, a += DSV4_Q4_K_BYTES, y += DSV4_Q8_K_BYTES) {
        const int8_t *q8 = (const int8_t *)(y + 4);
        int isum = 0, summ = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            scale_min_k4(j, a + 4, &sc, &m);
            int bs = (int16_t)rd16(y + 260 + 4 * j) + (int16_t)rd16(y + 262 + 4 * j);
            summ += m * bs;
            int s = 0;
            for (int l = 0; l < 32; l++) {
                int e = 32 * j + l, c = e / 64, half = (e % 64) / 32;
                int q = half ? a[16 + 32 * c + l] >> 4 : a[16 + 32 * c + l] & 0xF;
                s += q * q8[e];
            }
            isum += sc * s;
        }
        const float d = dsv4_f16_to_f32(rd16(a)), dmin = dsv4_f16_to_f32(rd16(a + 2));
        sum += q8k_d(y) * (d * (float)isum - dmin * (float)summ);
    }
    return sum;
}

float dsv4_vec_dot_iq2_xxs_q8_k(const void *w, const void *x, int64_t n)
{
    const uint8_t *a = w, *y = x;
    float sum = 0;
    for (int64_t i = 0; i < n / 256; i++, a += DSV4_IQ2_XXS_BYTES, y += DSV4_Q8_K_BYTES) {
        const int8_t *q8 = (const int8_t *)(y + 4);
        int bsum = 0;
        for (int g = 0; g < 8; g++) {
            const uint8_t *p = a + 2 + 8 * g;
            uint32_t a1 = rd32(p + 4);
            int s = 0;
            for (int l = 0; l < 4; l++) {
                uint64_t grid = dsv4_iq2xxs_grid[p[l]];
                uint8_t signs = dsv4_ksigns_iq2xs[(a1 >> 7 * l) & 127];
                for (int j = 0; j < 8; j++) {
                    int m = (int)((grid >> 8 * j) & 0xFF) * q8[32 * g + 8 * l + j];
                    s += signs & (1u << j) ? -m : m;
                }
            }
            bsum += s * (2 * (int)(a1 >> 28) + 1);
        }
        sum += dsv4_f16_to_f32(rd16(a)) * q8k_d(y) * (float)bsum * 0.125f;
    }
    return sum;
}

/* ---- FP8 / FP4 --------------------------------------------------------------------------- */

float dsv4_round_e4m3(float x)
{
    float a = fabsf(x);
    if (isnan(x)) return x;
    if (a >= 448.f) a = 448.f;
    else if (a < 0x1p-6f) a = nearbyintf(a * 0x1p9f) * 0x1p-9f; /* subnormal step 2^-9 */
    else {
        int e;
        frexpf(a, &e); /* a = m * 2^e, m in [0.5, 1): exponent of a is e-1 */
        float step = ldexpf(1.f, e - 1 - 3);
        a = nearbyintf(a / step) * step; /* ties to even mantissa = even code */
        if (a > 448.f) a = 448.f;
    }
    return x < 0 ? -a : a;
}

float dsv4_round_e2m1(float x)
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

/* 2^ceil(log2(r)) for r > 0, exact. */
static float pow2_ceil(float r)
{
    int e;
    float m = frexpf(r, &e); /* r = m * 2^e */
    return ldexpf(1.f, m == 0.5f ? e - 1 : e);
}

void dsv4_fp8_round_blocks(float *x, int64_t n, int block)
{
    for (int64_t i = 0; i < n; i += block) {
        int64_t m = n - i < block ? n - i : block;
        float amax = 1e-4f;
        for (int64_t j = 0; j < m; j++) amax = fmaxf(amax, fabsf(x[i + j]));
        const float s = pow2_ceil(amax / 448.f);
        for (int64_t j = 0; j < m; j++) x[i + j] = dsv4_round_e4m3(x[i + j] / s) * s;
    }
}

void dsv4_fp4_round_blocks(float *x, int64_t n, int block)
{
    for (int64_t i = 0; i < n; i += block) {
        int64_t m = n - i < block ? n - i : block;
        float amax = 6.f * 0x1p-126f;
        for (int64_t j = 0; j < m; j++) amax = fmaxf(amax, fabsf(x[i + j]));
        const float s = pow2_ceil(amax / 6.f);
        for (int64_t j = 0; j < m; j++) x[i + j] = dsv4_round_e2m1(x[i + j] / s) * s;
    }
}

void dsv4_hadamard(float *x, int n)
{
    for (int h = 1; h < n; h *= 2)
        for (int i = 0; i < n; i += 2 * h)
            for (int j = i; j < i + h; j++) {
                float a = x[j], b = x[j + h];
                x[j] = a + b;
                x[j + h] = a - b;
            }
    const float s = 1.f / sqrtf((float)n);
    for (int i = 0; i < n; i++) x[i] *= s;
}
