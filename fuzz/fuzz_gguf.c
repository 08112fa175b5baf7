/*
 * fuzz_gguf.c - harness 6c: the engine's GGUF reader and model validation on arbitrary
 * bytes.
 *
 * Input: a GGUF image (no option bytes).
 *
 * Invariants:
 *   - dsv4_gguf_parse either fails with a message or returns an index whose every pointer
 *     stays inside the buffer: keys, string values, raw value bytes, tensor data (inside
 *     the data section, aligned, as long as the type's row size says); tensors have 1..4
 *     dimensions, none zero, a supported type; lookups by name find the same entry; the
 *     typed accessors and the formatter work on every value;
 *   - dsv4_validate_buffer (container, hyperparameters, tensors, tokenizer) returns 0 or
 *     fails with a message; never reads outside the buffer (ASan) or hangs.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gguf.h"
#include "model.h"
#include "quant.h"

static int inside(const uint8_t *base, size_t size, const void *p, uint64_t n)
{
    const uint8_t *q = p;
    return q >= base && (uint64_t)(q - base) <= size && n <= size - (size_t)(q - base);
}

static void check_kv(const struct dsv4_gguf *g, const struct dsv4_gguf_kv *kv)
{
    FZ_CHECK(inside(g->base, g->size, kv->key.ptr, kv->key.len), "key outside the buffer");
    FZ_CHECK(kv->key.len <= DSV4_GGUF_MAX_NAME, "key of %llu bytes accepted",
             (unsigned long long)kv->key.len);
    FZ_CHECK(inside(g->base, g->size, kv->raw, kv->raw_len), "value of %s outside the buffer",
             fz_show(kv->key.ptr, kv->key.len));
    char name[DSV4_GGUF_MAX_NAME + 1];
    memcpy(name, kv->key.ptr, kv->key.len);
    name[kv->key.len] = 0;
    if (!memchr(kv->key.ptr, 0, kv->key.len))
        FZ_CHECK(dsv4_gguf_find_kv(g, name) == kv, "lookup of key %s finds another entry",
                 fz_show(name, kv->key.len));
    char out[256];
    memset(out, 'x', sizeof out);
    dsv4_gguf_kv_format(kv, out, sizeof out);
    FZ_CHECK(memchr(out, 0, sizeof out), "formatted value not NUL-terminated");
    uint64_t u;
    int64_t i;
    double f;
    struct dsv4_gguf_str s;
    dsv4_gguf_kv_u64(kv, &u);
    dsv4_gguf_kv_i64(kv, &i);
    dsv4_gguf_kv_f64(kv, &f);
    if (!dsv4_gguf_kv_str(kv, &s))
        FZ_CHECK(inside(g->base, g->size, s.ptr, s.len), "string value outside the buffer");
    if (kv->type != DSV4_GGUF_ARRAY || !kv->arr_n) return;
    uint64_t idx[3] = {0, kv->arr_n / 2, kv->arr_n - 1};
    for (int k = 0; k < 3; k++) {
        dsv4_gguf_arr_i64(kv, idx[k], &i);
        dsv4_gguf_arr_f64(kv, idx[k], &f);
    }
    if (kv->arr_type == DSV4_GGUF_STRING) {
        FZ_CHECK(kv->arr_n <= g->size / 8, "%llu strings in a %zu-byte file",
                 (unsigned long long)kv->arr_n, g->size);
        struct dsv4_gguf_str *strs = malloc(kv->arr_n * sizeof *strs);
        FZ_CHECK(strs, "out of memory");
        if (!dsv4_gguf_arr_strs(kv, strs))
            for (uint64_t k = 0; k < kv->arr_n; k++)
                FZ_CHECK(inside(g->base, g->size, strs[k].ptr, strs[k].len),
                         "array string %llu outside the buffer", (unsigned long long)k);
        free(strs);
    }
}

static void check_tensor(const struct dsv4_gguf *g, const struct dsv4_gguf_tensor *t)
{
    FZ_CHECK(inside(g->base, g->size, t->name.ptr, t->name.len), "tensor name outside the buffer");
    FZ_CHECK(t->n_dims >= 1 && t->n_dims <= DSV4_GGUF_MAX_DIMS, "tensor with %u dims", t->n_dims);
    uint64_t elems = 1;
    for (int d = 0; d < DSV4_GGUF_MAX_DIMS; d++) {
        FZ_CHECK(t->ne[d] >= 1, "dimension %d is %lld", d, (long long)t->ne[d]);
        FZ_CHECK(elems <= UINT64_MAX / (uint64_t)t->ne[d], "element count overflows");
        elems *= (uint64_t)t->ne[d];
    }
    const struct dsv4_type_info *ti = dsv4_type_get(t->type);
    FZ_CHECK(ti, "tensor of unsupported type %u accepted", t->type);
    FZ_CHECK(t->ne[0] % ti->block_elems == 0, "row of %lld elements for blocks of %d",
             (long long)t->ne[0], ti->block_elems);
    uint64_t row = dsv4_row_bytes(t->type, t->ne[0]);
    FZ_CHECK(t->nbytes == row * (elems / (uint64_t)t->ne[0]), "tensor size %llu, rows say %llu",
             (unsigned long long)t->nbytes, (unsigned long long)(row * (elems / (uint64_t)t->ne[0])));
    FZ_CHECK(t->data == g->base + g->data_offset + t->offset, "tensor data pointer");
    FZ_CHECK(g->data_offset <= g->size && inside(g->base, g->size, t->data, t->nbytes),
             "tensor data outside the buffer");
    FZ_CHECK(g->alignment && t->offset % g->alignment == 0, "unaligned tensor offset");
    char name[DSV4_GGUF_MAX_NAME + 1];
    if (t->name.len <= DSV4_GGUF_MAX_NAME && !memchr(t->name.ptr, 0, t->name.len)) {
        memcpy(name, t->name.ptr, t->name.len);
        name[t->name.len] = 0;
        FZ_CHECK(dsv4_gguf_find_tensor(g, name) == t, "lookup of tensor %s finds another",
                 fz_show(name, t->name.len));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dsv4_gguf g;
    char err[512];
    err[0] = 0;
    if (!dsv4_gguf_parse(&g, data, size, err, sizeof err)) {
        FZ_CHECK(g.base == data && g.size == size, "index of another buffer");
        for (uint64_t i = 0; i < g.n_kv; i++) check_kv(&g, &g.kv[i]);
        for (uint64_t i = 0; i < g.n_tensors; i++) check_tensor(&g, &g.tensors[i]);
        dsv4_gguf_close(&g);
    } else {
        FZ_CHECK(err[0], "GGUF refused without a message");
    }
    err[0] = 0;
    if (dsv4_validate_buffer(data, size, err, sizeof err)) FZ_CHECK(err[0], "model refused without a message");
    return 0;
}
