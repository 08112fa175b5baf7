/*
 * test_gguf.c - the GGUF reader and the model loader on good and bad files: every
 * truncation, corrupted headers, wrong metadata, wrong tensor shapes and types, random
 * byte flips, and the full Flash layouts.
 */
#include "fixtures.h"

#include "gguf.h"
#include "model.h"
#include "quant.h"
#include "tokenizer.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a small synthetic container ---------------------------------------------------------- */

static uint8_t *small_file(size_t *len)
{
    struct dsv4_gguf_writer *w = dsv4_gguf_writer_new(32);
    dsv4_gguf_writer_add_str(w, "general.architecture", "test");
    dsv4_gguf_writer_add_u32(w, "t.u32", 7);
    dsv4_gguf_writer_add_f32(w, "t.f32", 1.5f);
    dsv4_gguf_writer_add_bool(w, "t.bool", 1);
    int32_t arr[3] = {-1, 2, 3};
    dsv4_gguf_writer_add_arr(w, "t.arr", DSV4_GGUF_I32, arr, 3);
    const char *strs[] = {"a", "bc", ""};
    dsv4_gguf_writer_add_str_arr(w, "t.strs", strs, NULL, 3);
    int64_t ne_a[1] = {8}, ne_b[2] = {64, 2}, ne_c[2] = {4, 3};
    dsv4_gguf_writer_add_tensor(w, "a", DSV4_TYPE_F32, 1, ne_a);
    dsv4_gguf_writer_add_tensor(w, "b", DSV4_TYPE_Q8_0, 2, ne_b);
    dsv4_gguf_writer_add_tensor(w, "c", DSV4_TYPE_F16, 2, ne_c);
    size_t hl;
    uint8_t *h = dsv4_gguf_writer_header(w, &hl);
    *len = dsv4_gguf_writer_file_size(w);
    uint8_t *f = calloc(1, *len);
    memcpy(f, h, hl);
    for (size_t i = hl; i < *len; i++) f[i] = (uint8_t)(i * 7);
    free(h);
    dsv4_gguf_writer_free(w);
    return f;
}

static void expect_error(const uint8_t *buf, size_t len, const char *needle)
{
    struct dsv4_gguf g;
    char err[512] = "";
    int rc = dsv4_gguf_parse(&g, buf, len, err, sizeof err);
    cr_assert_eq(rc, -1, "accepted a bad file (expected '%s')", needle);
    cr_assert(strstr(err, needle), "error '%s' does not mention '%s'", err, needle);
    cr_assert(!strchr(err, '\n'), "error is not one line: %s", err);
}

Test(gguf, parses_a_valid_file_and_reads_typed_values)
{
    size_t len;
    uint8_t *f = small_file(&len);
    struct dsv4_gguf g;
    char err[256];
    cr_assert_eq(dsv4_gguf_parse(&g, f, len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(g.n_kv, 6);
    cr_assert_eq(g.n_tensors, 3);
    uint64_t u;
    double d;
    int64_t i;
    cr_assert_eq(dsv4_gguf_kv_u64(dsv4_gguf_find_kv(&g, "t.u32"), &u), 0);
    cr_assert_eq(u, 7);
    cr_assert_eq(dsv4_gguf_kv_f64(dsv4_gguf_find_kv(&g, "t.f32"), &d), 0);
    cr_assert_eq(d, 1.5);
    cr_assert_neq(dsv4_gguf_kv_u64(dsv4_gguf_find_kv(&g, "t.f32"), &u), 0, "a float is not an integer");
    const struct dsv4_gguf_kv *arr = dsv4_gguf_find_kv(&g, "t.arr");
    cr_assert_eq(dsv4_gguf_arr_i64(arr, 0, &i), 0);
    cr_assert_eq(i, -1);
    cr_assert_neq(dsv4_gguf_arr_i64(arr, 3, &i), 0, "index past the end");
    struct dsv4_gguf_str s[3];
    cr_assert_eq(dsv4_gguf_arr_strs(dsv4_gguf_find_kv(&g, "t.strs"), s), 0);
    cr_assert(s[1].len == 2 && !memcmp(s[1].ptr, "bc", 2) && s[2].len == 0);
    const struct dsv4_gguf_tensor *b = dsv4_gguf_find_tensor(&g, "b");
    cr_assert(b && b->type == DSV4_TYPE_Q8_0 && b->ne[0] == 64 && b->ne[1] == 2 && b->nbytes == 4 * 34);
    cr_assert_eq((b->data - f) % 32, 0);
    cr_assert_null(dsv4_gguf_find_tensor(&g, "missing"));
    dsv4_gguf_close(&g);
    free(f);
}

Test(gguf, rejects_every_truncation_without_reading_past_the_end)
{
    size_t len;
    uint8_t *f = small_file(&len);
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact-size heap copy: ASan sees any over-read */
        memcpy(copy, f, n);
        struct dsv4_gguf g;
        char err[512] = "";
        cr_assert_eq(dsv4_gguf_parse(&g, copy, n, err, sizeof err), -1, "accepted %zu of %zu bytes", n, len);
        cr_assert(err[0], "no message at length %zu", n);
        free(copy);
    }
    free(f);
}

/* Offsets inside small_file's header, found by scanning for encoded bytes. */
static size_t find_mem(const uint8_t *f, size_t len, const void *s, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (!memcmp(f + i, s, n)) return i;
    cr_assert_fail("pattern not in the file");
    return 0;
}

static size_t find(const uint8_t *f, size_t len, const char *s) { return find_mem(f, len, s, strlen(s)); }

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

Test(gguf, names_the_problem_in_corrupted_headers)
{
    size_t len;
    uint8_t *f = small_file(&len), *c = malloc(len);
#define CASE(edit, needle)          \
    memcpy(c, f, len);              \
    edit;                           \
    expect_error(c, len, needle)
    CASE(c[0] = 'X', "bad magic");
    CASE(put32(c + 4, 2), "unsupported version 2");
    CASE(put64(c + 16, 1ull << 60), "key count");
    CASE(put64(c + 8, 1ull << 60), "tensor count");
    CASE(put64(c + 24, 1ull << 40), "name runs past the end");
    /* value type of t.u32 (after its 8-byte length and 5-byte name) */
    size_t u = find(f, len, "t.u32");
    CASE(put32(c + u + 5, 77), "key 't.u32': unknown value type 77");
    size_t a = find(f, len, "t.arr");
    CASE(put32(c + a + 5 + 4, DSV4_GGUF_ARRAY), "nested arrays");
    CASE(put32(c + a + 5 + 4, 99), "unknown array element type");
    CASE(put64(c + a + 5 + 8, 1ull << 61), "exceeds the file size");
    size_t s = find(f, len, "t.strs");
    CASE(put64(c + s + 6 + 4 + 12, 1ull << 50), "runs past the end");
    CASE(memcpy(c + find(f, len, "t.f32"), "t.u32", 5), "appears twice");
    /* tensor b: name, n_dims, ne0, ne1, type, offset */
    size_t b = find_mem(f, len, "\x01\x00\x00\x00\x00\x00\x00\x00" "b", 9) + 9;
    CASE(put32(c + b, 0), "tensor 'b': 0 dimensions");
    CASE(put32(c + b, 5), "tensor 'b': 5 dimensions");
    CASE(put64(c + b + 4, 0), "tensor 'b': dimension 0 is 0");
    CASE(put64(c + b + 4, 48), "not a multiple of the Q8_0 block size");
    CASE(put32(c + b + 20, 99), "tensor 'b': unsupported ggml type 99");
    CASE(put64(c + b + 24, 33), "tensor 'b': data offset 33 is not aligned");
    CASE(put64(c + b + 24, 1u << 20), "tensor 'b': data");
    CASE(put64(c + b + 24, 0), "overlaps");
    CASE(c[b - 1] = 'a', "tensor 'a' appears twice");
#undef CASE
    free(c);
    free(f);
}

Test(gguf, honours_and_checks_general_alignment)
{
    struct dsv4_gguf_writer *w = dsv4_gguf_writer_new(64);
    dsv4_gguf_writer_add_u32(w, "general.alignment", 64);
    int64_t ne[1] = {3};
    dsv4_gguf_writer_add_tensor(w, "x", DSV4_TYPE_F32, 1, ne);
    dsv4_gguf_writer_add_tensor(w, "y", DSV4_TYPE_F32, 1, ne);
    size_t hl;
    uint8_t *h = dsv4_gguf_writer_header(w, &hl);
    size_t len = dsv4_gguf_writer_file_size(w);
    uint8_t *f = calloc(1, len);
    memcpy(f, h, hl);
    struct dsv4_gguf g;
    char err[256];
    cr_assert_eq(dsv4_gguf_parse(&g, f, len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(g.alignment, 64);
    cr_assert_eq(dsv4_gguf_find_tensor(&g, "y")->offset, 64);
    dsv4_gguf_close(&g);
    put32(f + find(f, len, "general.alignment") + 17 + 4, 48);
    expect_error(f, len, "general.alignment");
    free(h);
    free(f);
    dsv4_gguf_writer_free(w);
}

/* ---- model-level checks on the tiny model ---------------------------------------------------- */

struct edit {
    const char *drop_key;     /* remove this key */
    const char *key;          /* replace (or add) this key ... */
    uint32_t vtype;           /* ... with this encoded value */
    const void *val;
    size_t val_len;
    const char *drop_tensor;  /* remove this tensor */
    const char *tensor;       /* change this tensor's type/shape */
    int32_t new_type;         /* -1 keep */
    int new_nd;               /* 0 keep */
    int64_t new_ne[4];
    const char *poke_tensor;  /* write poke[0..poke_len) at the start of this tensor's data */
    const void *poke;
    size_t poke_len;
};

static uint8_t *rewrite(const uint8_t *src, size_t srclen, const struct edit *e, size_t *len)
{
    struct dsv4_gguf g;
    char err[512];
    cr_assert_eq(dsv4_gguf_parse(&g, src, srclen, err, sizeof err), 0, "%s", err);
    struct dsv4_gguf_writer *w = dsv4_gguf_writer_new(g.alignment);
    int replaced = 0;
    for (uint64_t i = 0; i < g.n_kv; i++) {
        char name[300];
        snprintf(name, sizeof name, "%.*s", (int)g.kv[i].key.len, g.kv[i].key.ptr);
        if (e->drop_key && !strcmp(name, e->drop_key)) continue;
        if (e->key && !strcmp(name, e->key)) {
            dsv4_gguf_writer_add_raw(w, name, e->vtype, e->val, e->val_len);
            replaced = 1;
            continue;
        }
        dsv4_gguf_writer_add_raw(w, name, g.kv[i].type, g.kv[i].raw, g.kv[i].raw_len);
    }
    if (e->key && !replaced) dsv4_gguf_writer_add_raw(w, e->key, e->vtype, e->val, e->val_len);
    int *map = calloc(g.n_tensors, sizeof *map);
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const struct dsv4_gguf_tensor *t = &g.tensors[i];
        char name[300];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        map[i] = -1;
        if (e->drop_tensor && !strcmp(name, e->drop_tensor)) continue;
        uint32_t type = t->type;
        int nd = (int)t->n_dims;
        int64_t ne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
        if (e->tensor && !strcmp(name, e->tensor)) {
            if (e->new_type >= 0) type = (uint32_t)e->new_type;
            if (e->new_nd) {
                nd = e->new_nd;
                memcpy(ne, e->new_ne, sizeof ne);
            }
        }
        map[i] = dsv4_gguf_writer_add_tensor(w, name, type, nd, ne);
    }
    size_t hl;
    uint8_t *h = dsv4_gguf_writer_header(w, &hl);
    *len = dsv4_gguf_writer_file_size(w);
    uint8_t *out = calloc(1, *len);
    memcpy(out, h, hl);
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        if (map[i] < 0) continue;
        uint64_t off = dsv4_gguf_writer_tensor_offset(w, map[i]), n = dsv4_gguf_writer_tensor_bytes(w, map[i]);
        memcpy(out + off, g.tensors[i].data, n < g.tensors[i].nbytes ? n : g.tensors[i].nbytes);
        char name[300];
        snprintf(name, sizeof name, "%.*s", (int)g.tensors[i].name.len, g.tensors[i].name.ptr);
        if (e->poke_tensor && !strcmp(name, e->poke_tensor)) memcpy(out + off, e->poke, e->poke_len);
    }
    free(map);
    free(h);
    dsv4_gguf_writer_free(w);
    dsv4_gguf_close(&g);
    return out;
}

static uint8_t *tiny;
static size_t tiny_len;

static void load_tiny(void)
{
    char *p = t_mkmodel("tiny", "q8", 0, 0, NULL);
    tiny = t_read_file(p, &tiny_len);
    cr_assert(tiny);
    unlink(p);
    free(p);
}

static void free_tiny(void)
{
    free(tiny);
    tiny = NULL;
}

static void expect_model_error(const struct edit *e, const char *needle)
{
    size_t len;
    uint8_t *f = rewrite(tiny, tiny_len, e, &len);
    char err[512] = "";
    int rc = dsv4_validate_buffer(f, len, err, sizeof err);
    cr_assert_eq(rc, -1, "accepted (expected '%s')", needle);
    cr_assert(strstr(err, needle), "error '%s' does not mention '%s'", err, needle);
    free(f);
}

TestSuite(model, .init = load_tiny, .fini = free_tiny);

Test(model, the_generated_tiny_model_validates)
{
    char err[512];
    cr_assert_eq(dsv4_validate_buffer(tiny, tiny_len, err, sizeof err), 0, "%s", err);
    struct edit none = {0};
    size_t len;
    uint8_t *f = rewrite(tiny, tiny_len, &none, &len);
    cr_assert_eq(dsv4_validate_buffer(f, len, err, sizeof err), 0, "rewritten copy: %s", err);
    free(f);
}

Test(model, names_missing_and_wrong_metadata)
{
    struct edit e = {.drop_key = "deepseek4.expert_count"};
    expect_model_error(&e, "missing metadata key 'deepseek4.expert_count'");
    e = (struct edit){.drop_key = "deepseek4.attention.compress_ratios"};
    expect_model_error(&e, "deepseek4.attention.compress_ratios");
    uint8_t s[8 + 5];
    uint64_t n5 = 5;
    memcpy(s, &n5, 8);
    memcpy(s + 8, "llama", 5);
    e = (struct edit){.key = "general.architecture", .vtype = DSV4_GGUF_STRING, .val = s, .val_len = 13};
    expect_model_error(&e, "general.architecture");
    e = (struct edit){.key = "deepseek4.block_count", .vtype = DSV4_GGUF_STRING, .val = s, .val_len = 13};
    expect_model_error(&e, "'deepseek4.block_count': expected a non-negative integer");
    uint32_t two = 2;
    e = (struct edit){.key = "deepseek4.attention.head_count_kv", .vtype = DSV4_GGUF_U32, .val = &two, .val_len = 4};
    expect_model_error(&e, "deepseek4.attention.head_count_kv");
    uint32_t three = 3;
    e = (struct edit){.key = "deepseek4.attention.output_group_count", .vtype = DSV4_GGUF_U32, .val = &three,
                      .val_len = 4};
    expect_model_error(&e, "does not divide head_count");
    uint8_t ratios[4 + 8 + 4 * 6];
    uint32_t et = DSV4_GGUF_I32;
    uint64_t cnt = 6;
    int32_t r[6] = {0, 0, 4, 1, 4, 0};
    memcpy(ratios, &et, 4);
    memcpy(ratios + 4, &cnt, 8);
    memcpy(ratios + 12, r, sizeof r);
    e = (struct edit){.key = "deepseek4.attention.compress_ratios", .vtype = DSV4_GGUF_ARRAY, .val = ratios,
                      .val_len = sizeof ratios};
    expect_model_error(&e, "entry 3");
    uint32_t one = 1;
    e = (struct edit){.key = "deepseek4.expert_group_count", .vtype = DSV4_GGUF_U32, .val = &one, .val_len = 4};
    expect_model_error(&e, "deepseek4.expert_group_count");
}

Test(model, names_missing_and_misshapen_tensors)
{
    struct edit e = {.drop_tensor = "blk.2.indexer.proj.weight"};
    expect_model_error(&e, "missing tensor 'blk.2.indexer.proj.weight'");
    e = (struct edit){.tensor = "blk.0.attn_q_b.weight", .new_type = -1, .new_nd = 2, .new_ne = {64, 256, 1, 1}};
    expect_model_error(&e, "tensor 'blk.0.attn_q_b.weight': shape [64, 256], expected [64, 512]");
    e = (struct edit){.tensor = "blk.4.ffn_down_exps.weight", .new_type = -1, .new_nd = 3, .new_ne = {256, 256, 3, 1}};
    expect_model_error(&e, "blk.4.ffn_down_exps.weight");
    e = (struct edit){.tensor = "blk.1.attn_norm.weight", .new_type = DSV4_TYPE_Q8_0};
    expect_model_error(&e, "tensor 'blk.1.attn_norm.weight': type Q8_0 not allowed");
    e = (struct edit){.tensor = "blk.0.ffn_gate_tid2eid.weight", .new_type = DSV4_TYPE_F32};
    expect_model_error(&e, "ffn_gate_tid2eid");
    int32_t bad = 9;
    e = (struct edit){.poke_tensor = "blk.1.ffn_gate_tid2eid.weight", .poke = &bad, .poke_len = 4};
    expect_model_error(&e, "routes to expert 9");
}

Test(model, accepts_any_weight_type_for_matrices)
{
    struct edit e = {.tensor = "blk.3.attn_q_a.weight", .new_type = DSV4_TYPE_Q4_K};
    size_t len;
    uint8_t *f = rewrite(tiny, tiny_len, &e, &len);
    char err[512];
    cr_assert_eq(dsv4_validate_buffer(f, len, err, sizeof err), 0, "%s", err);
    free(f);
}

Test(model, names_tokenizer_problems)
{
    struct edit e = {.drop_key = "tokenizer.ggml.tokens"};
    expect_model_error(&e, "tokenizer.ggml.tokens");
    uint8_t s[8 + 5];
    uint64_t n5 = 5;
    memcpy(s, &n5, 8);
    memcpy(s + 8, "llama", 5);
    e = (struct edit){.key = "tokenizer.ggml.pre", .vtype = DSV4_GGUF_STRING, .val = s, .val_len = 13};
    expect_model_error(&e, "tokenizer.ggml.pre");
    uint8_t m[4 + 8 + 8 + 3];
    uint32_t et = DSV4_GGUF_STRING;
    uint64_t one = 1, l3 = 3;
    memcpy(m, &et, 4);
    memcpy(m + 4, &one, 8);
    memcpy(m + 12, &l3, 8);
    memcpy(m + 20, "q z", 3);
    e = (struct edit){.key = "tokenizer.ggml.merges", .vtype = DSV4_GGUF_ARRAY, .val = m, .val_len = sizeof m};
    expect_model_error(&e, "tokenizer.ggml.merges': entry 0");
    uint32_t big = 999999;
    e = (struct edit){.key = "tokenizer.ggml.eos_token_id", .vtype = DSV4_GGUF_U32, .val = &big, .val_len = 4};
    expect_model_error(&e, "eos_token_id");
}

Test(model, survives_random_byte_flips_in_the_header)
{
    struct dsv4_gguf g;
    char err[512];
    cr_assert_eq(dsv4_gguf_parse(&g, tiny, tiny_len, err, sizeof err), 0);
    size_t hdr = g.data_offset;
    dsv4_gguf_close(&g);
    uint64_t s = 42;
    int rejected = 0, n = t_quick() ? 150 : 1500;
    for (int k = 0; k < n; k++) {
        uint8_t *c = malloc(tiny_len);
        memcpy(c, tiny, tiny_len);
        for (int j = 0; j < 3; j++) c[t_rand(&s) % hdr] ^= (uint8_t)(1u << (t_rand(&s) % 8));
        rejected += dsv4_validate_buffer(c, tiny_len, err, sizeof err) != 0;
        free(c);
    }
    cr_assert(rejected > n / 3, "only %d of %d corrupted headers were rejected", rejected, n);
}

Test(model, rejects_every_truncation_of_the_header)
{
    struct dsv4_gguf g;
    char err[512];
    cr_assert_eq(dsv4_gguf_parse(&g, tiny, tiny_len, err, sizeof err), 0);
    size_t hdr = g.data_offset;
    dsv4_gguf_close(&g);
    size_t step = t_quick() ? 61 : 7;
    for (size_t n = 0; n < hdr + 64; n += step) {
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, tiny, n);
        cr_assert_eq(dsv4_validate_buffer(c, n, err, sizeof err), -1, "accepted a %zu-byte prefix", n);
        free(c);
    }
    uint8_t *c = malloc(tiny_len - 1);
    memcpy(c, tiny, tiny_len - 1);
    cr_assert_eq(dsv4_validate_buffer(c, tiny_len - 1, err, sizeof err), -1);
    cr_assert(strstr(err, "output.weight") && strstr(err, "truncated"), "%s", err);
    free(c);
}

/* ---- the Flash layouts --------------------------------------------------------------------- */

static void check_flash(const char *quant, uint32_t gate_type, uint32_t down_type)
{
    char *p = t_mkmodel("flash", quant, 0, 1, NULL);
    struct dsv4_model m;
    char err[512];
    int rc = dsv4_model_load(&m, p, err, sizeof err);
    unlink(p);
    free(p);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(m.gguf.n_tensors, 1328);
    cr_assert_eq(m.n_tensors, 1328);
    cr_assert_eq(m.hp.n_layer, 43);
    cr_assert_eq(m.hp.n_vocab, 129280);
    cr_assert_eq(m.layers[2].ratio, 4);
    cr_assert_eq(m.layers[3].ratio, 128);
    cr_assert_eq(m.layers[7].gate_exps->type, gate_type);
    cr_assert_eq(m.layers[7].down_exps->type, down_type);
    cr_assert_eq(m.layers[7].q_b->type, DSV4_TYPE_Q8_0);
    cr_assert_eq(m.layers[7].c_kv->type, DSV4_TYPE_F16);
    cr_assert_eq(m.tok_embd->type, DSV4_TYPE_F16);
    cr_assert_eq(m.layers[1].tid2eid->type, DSV4_TYPE_I32);
    size_t total = 0;
    for (uint64_t i = 0; i < m.gguf.n_tensors; i++) total += m.gguf.tensors[i].nbytes;
    cr_log_info("flash %s: %llu bytes of tensors", quant, (unsigned long long)total);
    struct dsv4_tokenizer *tok;
    cr_assert_eq(dsv4_tokenizer_load(&tok, &m.gguf, m.hp.n_vocab, err, sizeof err), 0, "%s", err);
    cr_assert_geq(dsv4_token_find(tok, "<｜User｜>", strlen("<｜User｜>")), 0);
    dsv4_tokenizer_free(tok);
    dsv4_model_free(&m);
}

Test(model, loads_the_full_flash_q2_and_q4_layouts)
{
    check_flash("q2", DSV4_TYPE_IQ2_XXS, DSV4_TYPE_Q2_K);
    check_flash("q4", DSV4_TYPE_Q4_K, DSV4_TYPE_Q4_K);
}
