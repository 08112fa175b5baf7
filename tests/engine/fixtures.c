/*
 * fixtures.c - engine test fixtures (see fixtures.h).
 */
#include "fixtures.h"

#include "mkmodel.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *t_tmpdir(void)
{
    const char *d = getenv("DSV4_TEST_TMP");
    return d && *d ? d : "/tmp";
}

const char *t_datadir(void)
{
    const char *d = getenv("DSV4_TEST_DATA");
    return d && *d ? d : "tests";
}

int t_quick(void)
{
    const char *q = getenv("DSV4_TEST_QUICK");
    return q && *q && strcmp(q, "0");
}

char *t_mkmodel(const char *preset, const char *quant, int index_topk, int zeros, const char *st_dir)
{
    static int counter;
    char *path = malloc(4096);
    cr_assert(path);
    snprintf(path, 4096, "%s/%s-%s-%d-%d.gguf", t_tmpdir(), preset, quant, (int)getpid(), counter++);
    struct dsv4_mkmodel_opts o = {.preset = preset, .quant = quant, .seed = 1, .out = path, .st_dir = st_dir,
                                  .zeros = zeros, .index_topk = index_topk, .quiet = 1};
    char err[512];
    int rc = dsv4_mkmodel(&o, err, sizeof err);
    cr_assert_eq(rc, 0, "mkmodel %s %s: %s", preset, quant, err);
    return path;
}

void *t_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) {
        p[n] = 0;
        *len = (size_t)n;
    }
    return p;
}

void t_engine_open(struct t_engine *e, const char *quant, int index_topk, int threads, int ubatch, int sim)
{
    memset(e, 0, sizeof *e);
    char err[512];
    e->path = t_mkmodel("tiny", quant, index_topk, 0, NULL);
    cr_assert_eq(dsv4_model_load(&e->m, e->path, err, sizeof err), 0, "%s", err);
    e->b = dsv4_backend_cpu_new(threads);
    cr_assert(e->b);
    cr_assert_eq(e->b->ops->load_weights(e->b, &e->m, NULL, NULL, err, sizeof err), 0, "%s", err);
    t_engine_ctx(e, 0, ubatch, sim, 0);
}

void t_engine_ctx(struct t_engine *e, int64_t n_ctx, int ubatch, int sim, int topk)
{
    char err[512];
    dsv4_ctx_free(e->ctx);
    struct dsv4_ctx_params p = {.n_ctx = n_ctx ? n_ctx : 1024, .n_ubatch = ubatch, .sim = sim, .topk = topk};
    cr_assert_eq(dsv4_ctx_new(&e->ctx, &e->m, e->b, &p, err, sizeof err), 0, "%s", err);
}

void t_engine_close(struct t_engine *e)
{
    dsv4_ctx_free(e->ctx);
    if (e->b) e->b->ops->destroy(e->b);
    dsv4_model_free(&e->m);
    if (e->path) unlink(e->path);
    free(e->path);
    memset(e, 0, sizeof *e);
}

/* ---- SHA-256 (FIPS 180-4) ------------------------------------------------------------- */

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void t_sha256(const void *data, size_t n, unsigned char out[32])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const unsigned char *p = data;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) block(h, p + i);
    unsigned char tail[128] = {0};
    size_t r = n - i;
    memcpy(tail, p + i, r);
    tail[r] = 0x80;
    size_t tl = r + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int k = 0; k < 8; k++) tail[tl - 1 - k] = (unsigned char)(bits >> 8 * k);
    block(h, tail);
    if (tl == 128) block(h, tail + 64);
    for (int k = 0; k < 8; k++)
        for (int j = 0; j < 4; j++) out[4 * k + j] = (unsigned char)(h[k] >> (24 - 8 * j));
}

void t_hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

uint64_t t_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float t_randn(uint64_t *s)
{
    double u1 = ((t_rand(s) >> 11) + 1) * 0x1p-53, u2 = (t_rand(s) >> 11) * 0x1p-53;
    return (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
}
