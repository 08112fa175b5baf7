/*
 * test_quant.c - element formats: exact decoding of hand-built blocks, conversions,
 * quantise/dequantise accuracy, dot products, FP8/FP4 rounding, format tables.
 */
#include "fixtures.h"
#include "quant.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i);
}

static float *gaussian(int n, uint64_t seed)
{
    float *x = malloc((size_t)n * sizeof *x);
    for (int i = 0; i < n; i++) x[i] = t_randn(&seed);
    return x;
}

/* ---- scalar conversions ----------------------------------------------------------------- */

Test(quant, f16_round_trips_every_value)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = dsv4_f16_to_f32((uint16_t)h);
        uint16_t back = dsv4_f32_to_f16(f);
        if (isnan(f)) cr_assert(isnan(dsv4_f16_to_f32(back)), "NaN 0x%04x", h);
        else cr_assert_eq(back, h, "0x%04x -> %g -> 0x%04x", h, f, back);
    }
}

Test(quant, f16_rounds_to_nearest_even_and_handles_range_ends)
{
    cr_assert_eq(dsv4_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);          /* tie -> even */
    cr_assert_eq(dsv4_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);      /* tie -> even (up) */
    cr_assert_eq(dsv4_f32_to_f16(65504.0f), 0x7bff);
    cr_assert_eq(dsv4_f32_to_f16(65519.0f), 0x7bff);
    cr_assert_eq(dsv4_f32_to_f16(65520.0f), 0x7c00);                 /* rounds to infinity */
    cr_assert_eq(dsv4_f32_to_f16(-1e9f), 0xfc00);
    cr_assert_eq(dsv4_f32_to_f16(0x1p-24f), 0x0001);                 /* smallest subnormal */
    cr_assert_eq(dsv4_f32_to_f16(0x1p-25f), 0x0000);                 /* tie -> even zero */
    cr_assert_eq(dsv4_f32_to_f16(3 * 0x1p-25f), 0x0002);
    cr_assert_eq(dsv4_f32_to_f16(-0.0f), 0x8000);
    cr_assert_eq(dsv4_f16_to_f32(0x3555), 0.333251953125f);
}

Test(quant, bf16_rounds_to_nearest_even)
{
    cr_assert_eq(dsv4_f32_to_bf16(1.0f), 0x3f80);
    cr_assert_eq(dsv4_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);          /* tie -> even */
    cr_assert_eq(dsv4_f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
    cr_assert_eq(dsv4_bf16_to_f32(0xc040), -3.0f);
    cr_assert(isnan(dsv4_bf16_to_f32(dsv4_f32_to_bf16(NAN))));
}

/* ---- hand-built blocks -------------------------------------------------------------------- */

Test(quant, q8_0_block_decodes_to_exact_values)
{
    uint8_t b[34];
    put16(b, 0x3800); /* d = 0.5 */
    for (int i = 0; i < 32; i++) b[2 + i] = (uint8_t)(int8_t)(i * 8 - 128);
    float y[32];
    dsv4_dequantize_row(DSV4_TYPE_Q8_0, b, y, 32);
    for (int i = 0; i < 32; i++) cr_assert_eq(y[i], 0.5f * (float)(i * 8 - 128), "element %d", i);
}

Test(quant, q2_k_block_decodes_to_exact_values)
{
    uint8_t b[84];
    for (int sb = 0; sb < 16; sb++) b[sb] = (uint8_t)(sb | (15 - sb) << 4); /* scale sb, min 15-sb */
    for (int k = 0; k < 64; k++) b[16 + k] = (uint8_t)(k * 37 + 11);
    put16(b + 80, 0x4000); /* d = 2 */
    put16(b + 82, 0x3400); /* dmin = 0.25 */
    float y[256];
    dsv4_dequantize_row(DSV4_TYPE_Q2_K, b, y, 256);
    for (int i = 0; i < 256; i++) {
        int h = i / 128, j = (i % 128) / 32, l = i % 32;
        int q = (b[16 + 32 * h + l] >> 2 * j) & 3, sb = i / 16;
        cr_assert_eq(y[i], 2.0f * (float)sb * (float)q - 0.25f * (float)(15 - sb), "element %d", i);
    }
}

Test(quant, q4_k_block_decodes_six_bit_scales_exactly)
{
    static const int sc[8] = {1, 17, 33, 63, 50, 37, 5, 62}, mn[8] = {63, 2, 40, 7, 49, 16, 33, 60};
    uint8_t b[144] = {0};
    put16(b, 0x3800);     /* d = 0.5 */
    put16(b + 2, 0x3000); /* dmin = 0.125 */
    for (int k = 0; k < 4; k++) {
        b[4 + k] = (uint8_t)((sc[k] & 63) | (sc[k + 4] >> 4) << 6);
        b[4 + k + 4] = (uint8_t)((mn[k] & 63) | (mn[k + 4] >> 4) << 6);
        b[4 + k + 8] = (uint8_t)((sc[k + 4] & 15) | (mn[k + 4] & 15) << 4);
    }
    for (int k = 0; k < 128; k++) b[16 + k] = (uint8_t)(k * 53 + 7);
    float y[256];
    dsv4_dequantize_row(DSV4_TYPE_Q4_K, b, y, 256);
    for (int i = 0; i < 256; i++) {
        int c = i / 64, half = (i % 64) / 32, l = i % 32, sub = i / 32;
        int q = half ? b[16 + 32 * c + l] >> 4 : b[16 + 32 * c + l] & 15;
        cr_assert_eq(y[i], 0.5f * (float)sc[sub] * (float)q - 0.125f * (float)mn[sub], "element %d", i);
    }
}

Test(quant, iq2_xxs_block_decodes_grid_signs_and_scales_exactly)
{
    uint8_t b[66];
    put16(b, 0x3c00); /* d = 1 */
    for (int g = 0; g < 8; g++) {
        uint8_t *p = b + 2 + 8 * g;
        uint32_t a1 = (uint32_t)(2 * g % 16) << 28;
        for (int l = 0; l < 4; l++) {
            p[l] = (uint8_t)((g * 4 + l) * 7 % 256);
            a1 |= (uint32_t)((g * 13 + l * 29) % 128) << 7 * l;
        }
        put32(p + 4, a1);
    }
    float y[256];
    dsv4_dequantize_row(DSV4_TYPE_IQ2_XXS, b, y, 256);
    for (int g = 0; g < 8; g++)
        for (int l = 0; l < 4; l++) {
            int si = (g * 13 + l * 29) % 128;
            unsigned sign = (unsigned)si | (__builtin_popcount((unsigned)si) & 1 ? 0x80u : 0); /* even parity */
            uint64_t row = dsv4_iq2xxs_grid[(g * 4 + l) * 7 % 256];
            for (int j = 0; j < 8; j++) {
                float mag = (float)((row >> 8 * j) & 0xFF);
                float want = (0.5f + (float)(2 * g % 16)) * 0.25f * mag * (sign >> j & 1 ? -1.f : 1.f);
                cr_assert_eq(y[32 * g + 8 * l + j], want, "group %d sub %d elem %d", g, l, j);
            }
        }
}

Test(quant, iq2_tables_match_their_published_checksums)
{
    uint8_t grid[2048];
    for (int i = 0; i < 256; i++)
        for (int k = 0; k < 8; k++) grid[8 * i + k] = (uint8_t)(dsv4_iq2xxs_grid[i] >> 8 * k);
    unsigned char h[32];
    char hex[65];
    t_sha256(grid, sizeof grid, h);
    t_hex(h, 32, hex);
    cr_assert_str_eq(hex, "05826b5d3e472a3a78f196be62ac78acf81df0f909626e12ab9fa2a5d490dd54");
    t_sha256(dsv4_ksigns_iq2xs, 128, h);
    t_hex(h, 32, hex);
    cr_assert_str_eq(hex, "a76742a603f8beca5212ecce0f1f02f11a4887fd2f7c8b15aca0ea3eb3380c31");
    for (int k = 0; k < 128; k++) {
        cr_assert_eq(dsv4_ksigns_iq2xs[k] & 127, k);
        cr_assert_eq(__builtin_popcount(dsv4_ksigns_iq2xs[k]) % 2, 0, "KSIGNS[%d] parity", k);
    }
    for (int i = 0; i < 2048; i++) cr_assert(grid[i] == 8 || grid[i] == 25 || grid[i] == 43);
}

Test(quant, i32_rows_convert_to_float)
{
    int32_t v[4] = {-7, 0, 5, 1 << 20};
    float y[4];
    dsv4_dequantize_row(DSV4_TYPE_I32, v, y, 4);
    cr_assert(y[0] == -7 && y[1] == 0 && y[2] == 5 && y[3] == (float)(1 << 20));
}

Test(quant, q8_k_quantiser_maps_the_largest_magnitude_to_minus_127)
{
    float x[256];
    for (int i = 0; i < 256; i++) x[i] = 0.01f * (float)(i % 17) - 0.05f;
    x[77] = 3.0f;
    uint8_t b[DSV4_Q8_K_BYTES];
    dsv4_quantize_row_q8_k(x, b, 256);
    float d;
    memcpy(&d, b, 4);
    cr_assert_eq((int8_t)b[4 + 77], -127);
    cr_assert(d < 0, "d carries the opposite sign of the max (d = %g)", d);
    for (int g = 0; g < 16; g++) {
        int s = 0;
        for (int i = 0; i < 16; i++) s += (int8_t)b[4 + 16 * g + i];
        int16_t bs;
        memcpy(&bs, b + 260 + 2 * g, 2);
        cr_assert_eq(bs, s, "bsum %d", g);
    }
    float zero[256] = {0};
    dsv4_quantize_row_q8_k(zero, b, 256);
    memcpy(&d, b, 4);
    cr_assert_eq(d, 0.0f);
}

/* ---- round trips -------------------------------------------------------------------------- */

struct rt {
    uint32_t type;
    double max_rel_rmse; /* over N(0,1) data */
};

static const struct rt ROUND_TRIPS[] = {
    {DSV4_TYPE_F32, 0},       {DSV4_TYPE_F16, 5e-4},  {DSV4_TYPE_BF16, 4e-3},    {DSV4_TYPE_Q8_0, 8e-3},
    {DSV4_TYPE_Q8_K, 1e-2},   {DSV4_TYPE_Q4_K, 0.11}, {DSV4_TYPE_Q2_K, 0.40},    {DSV4_TYPE_IQ2_XXS, 0.42},
};

Test(quant, round_trips_stay_within_each_formats_error)
{
    const int n = 256 * 64;
    float *x = gaussian(n, 7), *y = malloc(n * sizeof *y);
    uint8_t *b = malloc((size_t)n * 4);
    for (size_t k = 0; k < sizeof ROUND_TRIPS / sizeof ROUND_TRIPS[0]; k++) {
        const struct rt *r = &ROUND_TRIPS[k];
        memset(b, 0, (size_t)n * 4);
        dsv4_quantize_row(r->type, x, b, n);
        dsv4_dequantize_row(r->type, b, y, n);
        double e = 0, s = 0;
        for (int i = 0; i < n; i++) {
            e += (double)(x[i] - y[i]) * (x[i] - y[i]);
            s += (double)x[i] * x[i];
        }
        double rel = sqrt(e / s);
        cr_assert(rel <= r->max_rel_rmse, "%s: relative RMS error %g > %g", dsv4_type_name(r->type), rel,
                  r->max_rel_rmse);
        cr_assert_eq(dsv4_row_bytes(r->type, n), (size_t)n / dsv4_type_get(r->type)->block_elems *
                                                     (size_t)dsv4_type_get(r->type)->block_bytes);
    }
    free(x);
    free(y);
    free(b);
}

Test(quant, q8_0_error_is_at_most_half_a_step_per_element)
{
    const int n = 32 * 50;
    float *x = gaussian(n, 3), y[32 * 50];
    uint8_t b[34 * 50];
    dsv4_quantize_row(DSV4_TYPE_Q8_0, x, b, n);
    dsv4_dequantize_row(DSV4_TYPE_Q8_0, b, y, n);
    for (int blk = 0; blk < 50; blk++) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[32 * blk + i]));
        for (int i = 0; i < 32; i++) {
            float err = fabsf(x[32 * blk + i] - y[32 * blk + i]);
            cr_assert(err <= amax / 254.f + amax * 0x1p-10f, "block %d elem %d err %g", blk, i, err);
        }
    }
    free(x);
}

Test(quant, quantisers_handle_all_zero_and_constant_blocks)
{
    uint32_t types[] = {DSV4_TYPE_Q8_0, DSV4_TYPE_Q4_K, DSV4_TYPE_Q2_K, DSV4_TYPE_IQ2_XXS, DSV4_TYPE_Q8_K};
    float z[256] = {0}, c[256], y[256];
    for (int i = 0; i < 256; i++) c[i] = 0.75f;
    uint8_t b[512];
    for (size_t k = 0; k < 5; k++) {
        dsv4_quantize_row(types[k], z, b, 256);
        dsv4_dequantize_row(types[k], b, y, 256);
        for (int i = 0; i < 256; i++) cr_assert(isfinite(y[i]) && fabsf(y[i]) < 1e-3f, "%s zero", dsv4_type_name(types[k]));
        dsv4_quantize_row(types[k], c, b, 256);
        dsv4_dequantize_row(types[k], b, y, 256);
        for (int i = 0; i < 256; i++) cr_assert(fabsf(y[i] - 0.75f) < 0.2f, "%s constant: %g", dsv4_type_name(types[k]), y[i]);
    }
}

/* ---- dot products -------------------------------------------------------------------------- */

Test(quant, fused_dot_equals_dequantise_then_dot_bit_for_bit)
{
    const int n = 1024;
    float *w = gaussian(n, 11), *x = gaussian(n, 12), y[1024];
    uint8_t b[4096];
    uint32_t types[] = {DSV4_TYPE_F32, DSV4_TYPE_F16, DSV4_TYPE_BF16, DSV4_TYPE_Q8_0,
                        DSV4_TYPE_Q2_K, DSV4_TYPE_Q4_K, DSV4_TYPE_IQ2_XXS};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        dsv4_quantize_row(types[k], w, b, n);
        dsv4_dequantize_row(types[k], b, y, n);
        float a = dsv4_dot(types[k], b, x, n), r = dsv4_dot_f32(y, x, n);
        cr_assert(memcmp(&a, &r, 4) == 0, "%s: %.9g vs %.9g", dsv4_type_name(types[k]), a, r);
        double exact = 0;
        for (int i = 0; i < n; i++) exact += (double)y[i] * x[i];
        cr_assert(fabs(a - exact) <= 1e-5 * n, "%s: %.9g vs exact %.9g", dsv4_type_name(types[k]), a, exact);
    }
    free(w);
    free(x);
}

/* |a - b| within rel * sum |w_i x_i| */
static void assert_close_dot(const char *what, double a, double b, const float *w, const float *x, int n, double rel)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += fabs((double)w[i] * x[i]);
    cr_assert(fabs(a - b) <= rel * s + 1e-6, "%s: %.9g vs %.9g (scale %g)", what, a, b, s);
}

Test(quant, activation_quantised_dots_equal_dequantised_dots)
{
    const int n = 512;
    float *w = gaussian(n, 21), *x = gaussian(n, 22), wd[512], xd[512];
    uint8_t bw[2048], bx[2048];
    /* Q8_0 x Q8_0 */
    dsv4_quantize_row(DSV4_TYPE_Q8_0, w, bw, n);
    dsv4_quantize_row_q8_0(x, bx, n);
    dsv4_dequantize_row(DSV4_TYPE_Q8_0, bw, wd, n);
    dsv4_dequantize_row(DSV4_TYPE_Q8_0, bx, xd, n);
    double ref = 0;
    for (int i = 0; i < n; i++) ref += (double)wd[i] * xd[i];
    assert_close_dot("q8_0 x q8_0", dsv4_vec_dot_q8_0_q8_0(bw, bx, n), ref, wd, xd, n, 1e-5);
    /* K-quants and IQ2 x Q8_K */
    dsv4_quantize_row_q8_k(x, bx, n);
    dsv4_dequantize_row(DSV4_TYPE_Q8_K, bx, xd, n);
    struct {
        uint32_t t;
        float (*f)(const void *, const void *, int64_t);
    } k[] = {{DSV4_TYPE_Q2_K, dsv4_vec_dot_q2_k_q8_k}, {DSV4_TYPE_Q4_K, dsv4_vec_dot_q4_k_q8_k},
             {DSV4_TYPE_IQ2_XXS, dsv4_vec_dot_iq2_xxs_q8_k}};
    for (int j = 0; j < 3; j++) {
        dsv4_quantize_row(k[j].t, w, bw, n);
        dsv4_dequantize_row(k[j].t, bw, wd, n);
        ref = 0;
        for (int i = 0; i < n; i++) ref += (double)wd[i] * xd[i];
        assert_close_dot(dsv4_type_name(k[j].t), k[j].f(bw, bx, n), ref, wd, xd, n, 1e-5);
    }
    free(w);
    free(x);
}

/* ---- FP8 / FP4 ------------------------------------------------------------------------------- */

static float e4m3_value(int code)
{
    int e = code >> 3, m = code & 7;
    return e == 0 ? (float)m * 0x1p-9f : (1.f + (float)m / 8.f) * ldexpf(1.f, e - 7);
}

Test(fp8, e4m3_values_are_fixed_points_and_midpoints_round_to_even)
{
    for (int c = 0; c < 127; c++) {
        float v = e4m3_value(c);
        cr_assert_eq(dsv4_round_e4m3(v), v, "code %d", c);
        cr_assert_eq(dsv4_round_e4m3(-v), -v, "code -%d", c);
        if (c + 1 < 127) {
            float mid = (v + e4m3_value(c + 1)) / 2, want = (c % 2 == 0) ? v : e4m3_value(c + 1);
            cr_assert_eq(dsv4_round_e4m3(mid), want, "midpoint after code %d", c);
        }
    }
    cr_assert_eq(dsv4_round_e4m3(1000.f), 448.f);
    cr_assert_eq(dsv4_round_e4m3(-460.f), -448.f);
}

Test(fp8, e2m1_rounds_to_nearest_with_ties_to_even_codes)
{
    static const float in[] = {0.2f, 0.25f, 0.3f, 0.75f, 1.25f, 1.3f, 1.75f, 2.5f, 2.6f, 3.5f, 4.9f, 5.0f, 5.1f, 9.f};
    static const float out[] = {0, 0, 0.5f, 1, 1, 1.5f, 2, 2, 3, 4, 4, 4, 6, 6};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        cr_assert_eq(dsv4_round_e2m1(in[i]), out[i], "%g", in[i]);
        cr_assert_eq(dsv4_round_e2m1(-in[i]), -out[i], "-%g", in[i]);
    }
}

Test(fp8, block_rounding_uses_power_of_two_scales)
{
    float x[128];
    uint64_t s = 5;
    for (int i = 0; i < 128; i++) x[i] = 3.f * t_randn(&s);
    float y[128];
    memcpy(y, x, sizeof x);
    dsv4_fp8_round_blocks(y, 128, 128);
    float amax = 0;
    for (int i = 0; i < 128; i++) amax = fmaxf(amax, fabsf(x[i]));
    float sc = ldexpf(1.f, (int)ceil(log2((double)amax / 448.0)));
    for (int i = 0; i < 128; i++) cr_assert_eq(y[i], dsv4_round_e4m3(x[i] / sc) * sc, "elem %d", i);
    memcpy(y, x, sizeof x);
    dsv4_fp4_round_blocks(y, 128, 32);
    for (int b = 0; b < 4; b++) {
        float am = 0;
        for (int i = 0; i < 32; i++) am = fmaxf(am, fabsf(x[32 * b + i]));
        float s4 = ldexpf(1.f, (int)ceil(log2((double)am / 6.0)));
        for (int i = 0; i < 32; i++) cr_assert_eq(y[32 * b + i], dsv4_round_e2m1(x[32 * b + i] / s4) * s4);
    }
}

Test(fp8, hadamard_is_orthonormal)
{
    float x[128], y[128];
    uint64_t s = 9;
    for (int i = 0; i < 128; i++) x[i] = t_randn(&s);
    memcpy(y, x, sizeof x);
    dsv4_hadamard(y, 128);
    /* row 1 of the Sylvester matrix: (-1)^popcount(1 & j) */
    double r1 = 0;
    for (int j = 0; j < 128; j++) r1 += (__builtin_popcount(1 & j) & 1 ? -1 : 1) * x[j];
    cr_assert(fabs(y[1] - r1 / sqrt(128.0)) < 1e-5);
    dsv4_hadamard(y, 128);
    for (int i = 0; i < 128; i++) cr_assert(fabsf(y[i] - x[i]) < 1e-5f, "elem %d", i);
}
