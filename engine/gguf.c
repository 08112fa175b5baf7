/*
 * gguf.c - GGUF v3 reader (validating, zero-copy) and writer.
 *
 * Reader invariants: every read goes through struct cur, which checks the remaining length
 * first; counts are compared against the bytes left (each key needs >= 13 bytes, each
 * tensor >= 28) before any allocation, so a hostile count cannot make us allocate or loop
 * more than the file could describe. Tensor names are indexed in an open-addressing hash
 * table sized at twice the count (duplicate detection and lookup).
 */
#include "gguf.h"
#include "err.h"

#include "quant.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- utilities -------------------------------------------------------------------------- */

/* Printable copy of a name for messages (non-printable bytes as '?', capped). */
static const char *pname(struct dsv4_gguf_str s, char *buf, size_t n)
{
    size_t k = 0;
    for (uint64_t i = 0; i < s.len && k + 4 < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        buf[k++] = (c >= 32 && c < 127) ? (char)c : '?';
    }
    if (s.len > n - 4 && n > 4) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = 0;
    return buf;
}

static int str_eq(struct dsv4_gguf_str s, const char *z)
{
    size_t n = strlen(z);
    return s.len == n && memcmp(s.ptr, z, n) == 0;
}

static uint64_t hash_bytes(const char *p, uint64_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

struct cur {
    const uint8_t *base, *p, *end;
};

static inline uint64_t cur_off(const struct cur *c) { return (uint64_t)(c->p - c->base); }
static inline uint64_t cur_left(const struct cur *c) { return (uint64_t)(c->end - c->p); }

static int rd_u32(struct cur *c, uint32_t *v)
{
    if (cur_left(c) < 4) return -1;
    memcpy(v, c->p, 4);
    c->p += 4;
    return 0;
}

static int rd_u64(struct cur *c, uint64_t *v)
{
    if (cur_left(c) < 8) return -1;
    memcpy(v, c->p, 8);
    c->p += 8;
    return 0;
}

static int rd_str(struct cur *c, struct dsv4_gguf_str *s)
{
    uint64_t n;
    if (rd_u64(c, &n) || n > cur_left(c)) return -1;
    s->ptr = (const char *)c->p;
    s->len = n;
    c->p += n;
    return 0;
}

static int scalar_size(uint32_t t)
{
    switch (t) {
    case DSV4_GGUF_U8: case DSV4_GGUF_I8: case DSV4_GGUF_BOOL: return 1;
    case DSV4_GGUF_U16: case DSV4_GGUF_I16: return 2;
    case DSV4_GGUF_U32: case DSV4_GGUF_I32: case DSV4_GGUF_F32: return 4;
    case DSV4_GGUF_U64: case DSV4_GGUF_I64: case DSV4_GGUF_F64: return 8;
    default: return 0;
    }
}

const char *dsv4_gguf_vtype_name(uint32_t t)
{
    static const char *names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                  "bool", "string", "array", "u64", "i64", "f64"};
    return t < 13 ? names[t] : "?";
}

/* ---- reader ------------------------------------------------------------------------------ */

#define ERR(...) do { dsv4_seterr(err, errlen, __VA_ARGS__); goto fail; } while (0)

static int parse_value(struct cur *c, struct dsv4_gguf_kv *kv, const char *kname, char *err,
                       size_t errlen)
{
    kv->value = c->p;
    if (kv->type == DSV4_GGUF_STRING) {
        struct dsv4_gguf_str s;
        if (rd_str(c, &s)) ERR("gguf: key '%s': string value runs past the end of the file", kname);
        return 0;
    }
    if (kv->type == DSV4_GGUF_ARRAY) {
        uint32_t et;
        uint64_t n;
        if (rd_u32(c, &et) || rd_u64(c, &n))
            ERR("gguf: key '%s': array header runs past the end of the file", kname);
        kv->arr_type = et;
        kv->arr_n = n;
        kv->value = c->p;
        if (et == DSV4_GGUF_ARRAY) ERR("gguf: key '%s': nested arrays are not supported", kname);
        if (et == DSV4_GGUF_STRING) {
            if (n > cur_left(c) / 8)
                ERR("gguf: key '%s': array of %llu strings exceeds the file size", kname,
                    (unsigned long long)n);
            for (uint64_t i = 0; i < n; i++) {
                struct dsv4_gguf_str s;
                if (rd_str(c, &s))
                    ERR("gguf: key '%s': string %llu of %llu runs past the end of the file", kname,
                        (unsigned long long)i, (unsigned long long)n);
            }
            return 0;
        }
        int es = scalar_size(et);
        if (!es) ERR("gguf: key '%s': unknown array element type %u", kname, et);
        if (n > cur_left(c) / (uint64_t)es)
            ERR("gguf: key '%s': array of %llu %s exceeds the file size", kname,
                (unsigned long long)n, dsv4_gguf_vtype_name(et));
        c->p += n * (uint64_t)es;
        return 0;
    }
    int sz = scalar_size(kv->type);
    if (!sz) ERR("gguf: key '%s': unknown value type %u", kname, kv->type);
    if (cur_left(c) < (uint64_t)sz) ERR("gguf: key '%s': value runs past the end of the file", kname);
    c->p += sz;
    return 0;
fail:
    return -1;
}

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

struct span {
    uint64_t off, end;
    uint64_t idx;
};

static int span_cmp(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off ? 1 : 0;
}

/* Tensor-name hash table lives right after the tensor array (same allocation). */
static uint64_t *tensor_table(const struct dsv4_gguf *g, uint64_t *cap)
{
    *cap = g->n_tensors ? 2 * g->n_tensors : 1;
    return (uint64_t *)(g->tensors + g->n_tensors);
}

int dsv4_gguf_parse(struct dsv4_gguf *g, const void *buf, size_t len, char *err, size_t errlen)
{
    char nb[96];
    memset(g, 0, sizeof *g);
    struct cur c = {buf, buf, (const uint8_t *)buf + len};
    struct span *spans = NULL;
    uint32_t magic, version;
    if (!buf || len == 0) ERR("gguf: file is empty");
    if (rd_u32(&c, &magic)) ERR("gguf: file too short for the magic (%zu bytes)", len);
    if (magic != DSV4_GGUF_MAGIC) ERR("gguf: bad magic 0x%08x at offset 0 (not a GGUF file)", magic);
    if (rd_u32(&c, &version)) ERR("gguf: file too short for the version");
    if (version != 3) ERR("gguf: unsupported version %u at offset 4 (only version 3)", version);
    if (rd_u64(&c, &g->n_tensors) || rd_u64(&c, &g->n_kv)) ERR("gguf: file too short for the header counts");
    if (g->n_kv > cur_left(&c) / 13)
        ERR("gguf: key count %llu at offset 16 exceeds what the file can hold",
            (unsigned long long)g->n_kv);
    if (g->n_tensors > cur_left(&c) / 28)
        ERR("gguf: tensor count %llu at offset 8 exceeds what the file can hold",
            (unsigned long long)g->n_tensors);
    g->version = version;
    g->base = buf;
    g->size = len;
    g->alignment = 32;

    g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
    /* tensors + hash table of 2n slots (index+1, 0 = empty) */
    g->tensors = calloc(1, (g->n_tensors ? g->n_tensors : 1) * sizeof *g->tensors +
                               (g->n_tensors ? 2 * g->n_tensors : 1) * sizeof(uint64_t));
    if (!g->kv || !g->tensors) ERR("gguf: out of memory for %llu keys / %llu tensors",
                                   (unsigned long long)g->n_kv, (unsigned long long)g->n_tensors);

    for (uint64_t i = 0; i < g->n_kv; i++) {
        struct dsv4_gguf_kv *kv = &g->kv[i];
        kv->offset = cur_off(&c);
        if (rd_str(&c, &kv->key))
            ERR("gguf: key %llu at offset %llu: name runs past the end of the file",
                (unsigned long long)i, (unsigned long long)kv->offset);
        pname(kv->key, nb, sizeof nb);
        if (kv->key.len == 0 || kv->key.len > DSV4_GGUF_MAX_NAME)
            ERR("gguf: key %llu at offset %llu: name length %llu out of range (1..%d)",
                (unsigned long long)i, (unsigned long long)kv->offset,
                (unsigned long long)kv->key.len, DSV4_GGUF_MAX_NAME);
        if (rd_u32(&c, &kv->type)) ERR("gguf: key '%s': value type runs past the end of the file", nb);
        kv->raw = c.p;
        if (parse_value(&c, kv, nb, err, errlen)) goto fail;
        kv->raw_len = (uint64_t)(c.p - kv->raw);
        for (uint64_t j = 0; j < i; j++)
            if (g->kv[j].key.len == kv->key.len && !memcmp(g->kv[j].key.ptr, kv->key.ptr, kv->key.len))
                ERR("gguf: key '%s' at offset %llu appears twice", nb, (unsigned long long)kv->offset);
        if (str_eq(kv->key, "general.alignment")) {
            uint64_t a;
            if (kv->type != DSV4_GGUF_U32 || dsv4_gguf_kv_u64(kv, &a))
                ERR("gguf: key 'general.alignment': expected u32, got %s", dsv4_gguf_vtype_name(kv->type));
            if (a == 0 || (a & (a - 1)) || a > (1u << 20))
                ERR("gguf: key 'general.alignment': %llu is not a power of two in 1..2^20",
                    (unsigned long long)a);
            g->alignment = (uint32_t)a;
        }
    }

    uint64_t tcap;
    uint64_t *table = tensor_table(g, &tcap);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        struct dsv4_gguf_tensor *t = &g->tensors[i];
        uint64_t toff = cur_off(&c);
        if (rd_str(&c, &t->name))
            ERR("gguf: tensor %llu at offset %llu: name runs past the end of the file",
                (unsigned long long)i, (unsigned long long)toff);
        pname(t->name, nb, sizeof nb);
        if (t->name.len == 0 || t->name.len > DSV4_GGUF_MAX_NAME)
            ERR("gguf: tensor %llu at offset %llu: name length %llu out of range (1..%d)",
                (unsigned long long)i, (unsigned long long)toff, (unsigned long long)t->name.len,
                DSV4_GGUF_MAX_NAME);
        if (rd_u32(&c, &t->n_dims)) ERR("gguf: tensor '%s': header runs past the end of the file", nb);
        if (t->n_dims < 1 || t->n_dims > DSV4_GGUF_MAX_DIMS)
            ERR("gguf: tensor '%s': %u dimensions (1..%d supported)", nb, t->n_dims, DSV4_GGUF_MAX_DIMS);
        uint64_t nel = 1;
        for (int d = 0; d < DSV4_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            uint64_t ne;
            if (rd_u64(&c, &ne)) ERR("gguf: tensor '%s': dimensions run past the end of the file", nb);
            if (ne == 0 || ne > (1ull << 40))
                ERR("gguf: tensor '%s': dimension %u is %llu (1..2^40 allowed)", nb, d,
                    (unsigned long long)ne);
            if (nel > (1ull << 50) / ne) ERR("gguf: tensor '%s': element count overflows", nb);
            nel *= ne;
            t->ne[d] = (int64_t)ne;
        }
        if (rd_u32(&c, &t->type) || rd_u64(&c, &t->offset))
            ERR("gguf: tensor '%s': header runs past the end of the file", nb);
        const struct dsv4_type_info *ti = dsv4_type_get(t->type);
        if (!ti) ERR("gguf: tensor '%s': unsupported ggml type %u", nb, t->type);
        if (t->ne[0] % ti->block_elems)
            ERR("gguf: tensor '%s': ne0 = %lld is not a multiple of the %s block size %d", nb,
                (long long)t->ne[0], ti->name, ti->block_elems);
        t->nbytes = nel / (uint64_t)ti->block_elems * (uint64_t)ti->block_bytes;
        if (t->offset % g->alignment)
            ERR("gguf: tensor '%s': data offset %llu is not aligned to %u", nb,
                (unsigned long long)t->offset, g->alignment);
        uint64_t h = hash_bytes(t->name.ptr, t->name.len) % tcap;
        while (table[h]) {
            const struct dsv4_gguf_tensor *o = &g->tensors[table[h] - 1];
            if (o->name.len == t->name.len && !memcmp(o->name.ptr, t->name.ptr, t->name.len))
                ERR("gguf: tensor '%s' appears twice (offset %llu)", nb, (unsigned long long)toff);
            h = (h + 1) % tcap;
        }
        table[h] = i + 1;
    }

    g->data_offset = align_up(cur_off(&c), g->alignment);
    if (g->n_tensors && g->data_offset > len)
        ERR("gguf: data section at offset %llu starts past the end of the file (%zu bytes)",
            (unsigned long long)g->data_offset, len);
    uint64_t data_len = g->data_offset <= len ? len - g->data_offset : 0;
    if (g->n_tensors) {
        spans = malloc(g->n_tensors * sizeof *spans);
        if (!spans) ERR("gguf: out of memory");
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        struct dsv4_gguf_tensor *t = &g->tensors[i];
        if (t->offset > data_len || t->nbytes > data_len - t->offset)
            ERR("gguf: tensor '%s': data [%llu, +%llu) runs past the end of the file (data section "
                "holds %llu bytes; file truncated?)",
                pname(t->name, nb, sizeof nb), (unsigned long long)t->offset,
                (unsigned long long)t->nbytes, (unsigned long long)data_len);
        t->data = g->base + g->data_offset + t->offset;
        spans[i] = (struct span){t->offset, t->offset + t->nbytes, i};
    }
    if (g->n_tensors) {
        qsort(spans, g->n_tensors, sizeof *spans, span_cmp);
        for (uint64_t i = 1; i < g->n_tensors; i++)
            if (spans[i].off < spans[i - 1].end) {
                char nb2[96];
                pname(g->tensors[spans[i - 1].idx].name, nb2, sizeof nb2);
                ERR("gguf: tensor '%s' overlaps tensor '%s'", pname(g->tensors[spans[i].idx].name, nb, sizeof nb),
                    nb2);
            }
    }
    free(spans);
    return 0;
fail:
    free(spans);
    free(g->kv);
    free(g->tensors);
    memset(g, 0, sizeof *g);
    return -1;
}

int dsv4_gguf_open(struct dsv4_gguf *g, const char *path, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        dsv4_seterr(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        dsv4_seterr(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (st.st_size == 0) {
        dsv4_seterr(err, errlen, "%s: file is empty", path);
        close(fd);
        return -1;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        dsv4_seterr(err, errlen, "%s: mmap: %s", path, strerror(errno));
        return -1;
    }
    char e[512];
    if (dsv4_gguf_parse(g, p, (size_t)st.st_size, e, sizeof e)) {
        dsv4_seterr(err, errlen, "%s: %s", path, e);
        munmap(p, (size_t)st.st_size);
        return -1;
    }
    g->mapped = 1;
    return 0;
}

void dsv4_gguf_close(struct dsv4_gguf *g)
{
    if (g->mapped && g->base) munmap((void *)g->base, g->size);
    free(g->kv);
    free(g->tensors);
    memset(g, 0, sizeof *g);
}

const struct dsv4_gguf_kv *dsv4_gguf_find_kv(const struct dsv4_gguf *g, const char *key)
{
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (str_eq(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const struct dsv4_gguf_tensor *dsv4_gguf_find_tensor(const struct dsv4_gguf *g, const char *name)
{
    if (!g->n_tensors) return NULL;
    uint64_t cap;
    const uint64_t *table = tensor_table(g, &cap);
    uint64_t n = strlen(name);
    uint64_t h = hash_bytes(name, n) % cap;
    while (table[h]) {
        const struct dsv4_gguf_tensor *t = &g->tensors[table[h] - 1];
        if (t->name.len == n && !memcmp(t->name.ptr, name, n)) return t;
        h = (h + 1) % cap;
    }
    return NULL;
}

/* Decode a scalar of type t at p into integer and float forms. Returns 0 if numeric. */
static int scalar_get(uint32_t t, const uint8_t *p, int64_t *iv, uint64_t *uv, double *fv, int *is_int,
                      int *is_neg)
{
    union {
        uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
        float f32; uint64_t u64; int64_t i64; double f64;
    } v;
    int sz = scalar_size(t);
    if (!sz) return -1;
    memcpy(&v, p, (size_t)sz);
    *is_int = 1;
    *is_neg = 0;
    switch (t) {
    case DSV4_GGUF_U8: case DSV4_GGUF_BOOL: *uv = v.u8; break;
    case DSV4_GGUF_U16: *uv = v.u16; break;
    case DSV4_GGUF_U32: *uv = v.u32; break;
    case DSV4_GGUF_U64: *uv = v.u64; break;
    case DSV4_GGUF_I8: *iv = v.i8; goto sgn;
    case DSV4_GGUF_I16: *iv = v.i16; goto sgn;
    case DSV4_GGUF_I32: *iv = v.i32; goto sgn;
    case DSV4_GGUF_I64: *iv = v.i64; goto sgn;
    case DSV4_GGUF_F32: *fv = v.f32; *is_int = 0; return 0;
    case DSV4_GGUF_F64: *fv = v.f64; *is_int = 0; return 0;
    default: return -1;
    }
    *iv = *uv > INT64_MAX ? INT64_MAX : (int64_t)*uv;
    *fv = (double)*uv;
    return 0;
sgn:
    *is_neg = *iv < 0;
    *uv = (uint64_t)*iv;
    *fv = (double)*iv;
    return 0;
}

static int elem_u64(uint32_t t, const uint8_t *p, uint64_t *out)
{
    int64_t iv = 0;
    uint64_t uv = 0;
    double fv;
    int is_int, neg;
    if (scalar_get(t, p, &iv, &uv, &fv, &is_int, &neg) || !is_int || neg) return -1;
    *out = uv;
    return 0;
}

static int elem_i64(uint32_t t, const uint8_t *p, int64_t *out)
{
    int64_t iv = 0;
    uint64_t uv = 0;
    double fv;
    int is_int, neg;
    if (scalar_get(t, p, &iv, &uv, &fv, &is_int, &neg) || !is_int) return -1;
    if (!neg && uv > INT64_MAX) return -1;
    *out = neg ? iv : (int64_t)uv;
    return 0;
}

static int elem_f64(uint32_t t, const uint8_t *p, double *out)
{
    int64_t iv = 0;
    uint64_t uv = 0;
    int is_int, neg;
    if (t == DSV4_GGUF_BOOL) return -1;
    return scalar_get(t, p, &iv, &uv, out, &is_int, &neg);
}

int dsv4_gguf_kv_u64(const struct dsv4_gguf_kv *kv, uint64_t *out) { return elem_u64(kv->type, kv->value, out); }
int dsv4_gguf_kv_i64(const struct dsv4_gguf_kv *kv, int64_t *out) { return elem_i64(kv->type, kv->value, out); }
int dsv4_gguf_kv_f64(const struct dsv4_gguf_kv *kv, double *out) { return elem_f64(kv->type, kv->value, out); }

int dsv4_gguf_kv_str(const struct dsv4_gguf_kv *kv, struct dsv4_gguf_str *out)
{
    if (kv->type != DSV4_GGUF_STRING) return -1;
    uint64_t n;
    memcpy(&n, kv->value, 8);
    out->ptr = (const char *)kv->value + 8;
    out->len = n;
    return 0;
}

int dsv4_gguf_arr_i64(const struct dsv4_gguf_kv *kv, uint64_t i, int64_t *out)
{
    if (kv->type != DSV4_GGUF_ARRAY || i >= kv->arr_n || !scalar_size(kv->arr_type)) return -1;
    return elem_i64(kv->arr_type, kv->value + i * (uint64_t)scalar_size(kv->arr_type), out);
}

int dsv4_gguf_arr_f64(const struct dsv4_gguf_kv *kv, uint64_t i, double *out)
{
    if (kv->type != DSV4_GGUF_ARRAY || i >= kv->arr_n || !scalar_size(kv->arr_type)) return -1;
    return elem_f64(kv->arr_type, kv->value + i * (uint64_t)scalar_size(kv->arr_type), out);
}

int dsv4_gguf_arr_strs(const struct dsv4_gguf_kv *kv, struct dsv4_gguf_str *out)
{
    if (kv->type != DSV4_GGUF_ARRAY || kv->arr_type != DSV4_GGUF_STRING) return -1;
    const uint8_t *p = kv->value; /* lengths were validated by the parser */
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        uint64_t n;
        memcpy(&n, p, 8);
        out[i].ptr = (const char *)p + 8;
        out[i].len = n;
        p += 8 + n;
    }
    return 0;
}

static void fmt_scalar(uint32_t t, const uint8_t *p, char *out, size_t n)
{
    int64_t iv = 0;
    uint64_t uv = 0;
    double fv = 0;
    int is_int, neg;
    if (t == DSV4_GGUF_BOOL) {
        snprintf(out, n, "%s", *p ? "true" : "false");
    } else if (scalar_get(t, p, &iv, &uv, &fv, &is_int, &neg)) {
        snprintf(out, n, "?");
    } else if (!is_int) {
        snprintf(out, n, "%.9g", fv);
    } else if (neg) {
        snprintf(out, n, "%lld", (long long)iv);
    } else {
        snprintf(out, n, "%llu", (unsigned long long)uv);
    }
}

static void fmt_str(const char *p, uint64_t len, char *out, size_t n)
{
    size_t k = 0;
    if (n < 8) {
        if (n) out[0] = 0;
        return;
    }
    out[k++] = '"';
    for (uint64_t i = 0; i < len && k + 6 < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\n') { out[k++] = '\\'; out[k++] = 'n'; }
        else if (ch == '"' || ch == '\\') { out[k++] = '\\'; out[k++] = (char)ch; }
        else if (ch < 32 || ch == 127) { k += (size_t)snprintf(out + k, n - k, "\\x%02x", ch); }
        else out[k++] = (char)ch;
    }
    out[k++] = '"';
    out[k] = 0;
}

void dsv4_gguf_kv_format(const struct dsv4_gguf_kv *kv, char *out, size_t outlen)
{
    if (!outlen) return;
    out[0] = 0;
    if (kv->type == DSV4_GGUF_STRING) {
        struct dsv4_gguf_str s;
        dsv4_gguf_kv_str(kv, &s);
        fmt_str(s.ptr, s.len > 200 ? 200 : s.len, out, outlen);
        return;
    }
    if (kv->type != DSV4_GGUF_ARRAY) {
        fmt_scalar(kv->type, kv->value, out, outlen);
        return;
    }
    size_t k = (size_t)snprintf(out, outlen, "[%s x %llu]", dsv4_gguf_vtype_name(kv->arr_type),
                                (unsigned long long)kv->arr_n);
    const uint8_t *p = kv->value;
    for (uint64_t i = 0; i < kv->arr_n && i < 8 && k + 32 < outlen; i++) {
        char e[80];
        if (kv->arr_type == DSV4_GGUF_STRING) {
            uint64_t n;
            memcpy(&n, p, 8);
            fmt_str((const char *)p + 8, n > 24 ? 24 : n, e, sizeof e);
            p += 8 + n;
        } else {
            fmt_scalar(kv->arr_type, p, e, sizeof e);
            p += scalar_size(kv->arr_type);
        }
        k += (size_t)snprintf(out + k, outlen - k, "%s%s", i ? ", " : " ", e);
    }
    if (kv->arr_n > 8 && k + 5 < outlen) snprintf(out + k, outlen - k, ", ...");
}

/* ---- writer ------------------------------------------------------------------------------ */

struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
};

static void wb_add(struct wbuf *b, const void *d, size_t n)
{
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->len + n) nc *= 2;
        uint8_t *q = realloc(b->p, nc);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void wb_u32(struct wbuf *b, uint32_t v) { wb_add(b, &v, 4); }
static void wb_u64(struct wbuf *b, uint64_t v) { wb_add(b, &v, 8); }
static void wb_str(struct wbuf *b, const char *s, size_t n)
{
    wb_u64(b, n);
    wb_add(b, s, n);
}

struct wtensor {
    char *name;
    uint32_t type;
    int n_dims;
    int64_t ne[DSV4_GGUF_MAX_DIMS];
    uint64_t offset, nbytes;
};

struct dsv4_gguf_writer {
    uint32_t alignment;
    struct wbuf kv; /* encoded key/value pairs */
    uint64_t n_kv;
    struct wtensor *t;
    int n_t, cap_t;
    uint64_t data_size;
};

struct dsv4_gguf_writer *dsv4_gguf_writer_new(uint32_t alignment)
{
    struct dsv4_gguf_writer *w = calloc(1, sizeof *w);
    if (w) w->alignment = alignment ? alignment : 32;
    return w;
}

void dsv4_gguf_writer_free(struct dsv4_gguf_writer *w)
{
    if (!w) return;
    for (int i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->t);
    free(w->kv.p);
    free(w);
}

static int add_key(struct dsv4_gguf_writer *w, const char *key, uint32_t vtype)
{
    wb_str(&w->kv, key, strlen(key));
    wb_u32(&w->kv, vtype);
    w->n_kv++;
    return w->kv.oom ? -1 : 0;
}

int dsv4_gguf_writer_add_u32(struct dsv4_gguf_writer *w, const char *key, uint32_t v)
{
    add_key(w, key, DSV4_GGUF_U32);
    wb_u32(&w->kv, v);
    return w->kv.oom ? -1 : 0;
}

int dsv4_gguf_writer_add_u64(struct dsv4_gguf_writer *w, const char *key, uint64_t v)
{
    add_key(w, key, DSV4_GGUF_U64);
    wb_u64(&w->kv, v);
    return w->kv.oom ? -1 : 0;
}

int dsv4_gguf_writer_add_f32(struct dsv4_gguf_writer *w, const char *key, float v)
{
    add_key(w, key, DSV4_GGUF_F32);
    wb_add(&w->kv, &v, 4);
    return w->kv.oom ? -1 : 0;
}

int dsv4_gguf_writer_add_bool(struct dsv4_gguf_writer *w, const char *key, int v)
{
    uint8_t b = v ? 1 : 0;
    add_key(w, key, DSV4_GGUF_BOOL);
    wb_add(&w->kv, &b, 1);
    return w->kv.oom ? -1 : 0;
}

int dsv4_gguf_writer_add_str(struct dsv4_gguf_writer *w, const char *key, const char *v)
{
    add_key(w, key, DSV4_GGUF_STRING);
    wb_str(&w->kv, v, strlen(v));
    return w->kv.oom ? -1 : 0;
}

int dsv4_gguf_writer_add_arr(struct dsv4_gguf_writer *w, const char *key, uint32_t elem_type,
                             const void *data, uint64_t n)
{
    int es = scalar_size(elem_type);
    if (!es) return -1;
    add_key(w, key, DSV4_GGUF_ARRAY);
    wb_u32(&w->kv, elem_type);
    wb_u64(&w->kv, n);
    wb_add(&w->kv, data, (size_t)n * (size_t)es);
    return w->kv.oom ? -1 : 0;
}

int dsv4_gguf_writer_add_str_arr(struct dsv4_gguf_writer *w, const char *key,
                                 const char *const *strs, const size_t *lens, uint64_t n)
{
    add_key(w, key, DSV4_GGUF_ARRAY);
    wb_u32(&w->kv, DSV4_GGUF_STRING);
    wb_u64(&w->kv, n);
    for (uint64_t i = 0; i < n; i++) wb_str(&w->kv, strs[i], lens ? lens[i] : strlen(strs[i]));
    return w->kv.oom ? -1 : 0;
}

int dsv4_gguf_writer_add_raw(struct dsv4_gguf_writer *w, const char *key, uint32_t vtype,
                             const void *bytes, size_t nbytes)
{
    add_key(w, key, vtype);
    wb_add(&w->kv, bytes, nbytes);
    return w->kv.oom ? -1 : 0;
}

int dsv4_gguf_writer_add_tensor(struct dsv4_gguf_writer *w, const char *name, uint32_t type,
                                int n_dims, const int64_t *ne)
{
    if (n_dims < 1 || n_dims > DSV4_GGUF_MAX_DIMS) return -1;
    if (w->n_t == w->cap_t) {
        int nc = w->cap_t ? 2 * w->cap_t : 64;
        struct wtensor *q = realloc(w->t, (size_t)nc * sizeof *q);
        if (!q) return -1;
        w->t = q;
        w->cap_t = nc;
    }
    struct wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name) return -1;
    t->type = type;
    t->n_dims = n_dims;
    int64_t nel = 1;
    for (int d = 0; d < DSV4_GGUF_MAX_DIMS; d++) {
        t->ne[d] = d < n_dims ? ne[d] : 1;
        nel *= t->ne[d];
    }
    const struct dsv4_type_info *ti = dsv4_type_get(type);
    t->nbytes = ti ? (uint64_t)(nel / ti->block_elems) * (uint64_t)ti->block_bytes : 0;
    t->offset = w->data_size;
    w->data_size = align_up(w->data_size + t->nbytes, w->alignment);
    return w->n_t++;
}

static void encode_header(struct dsv4_gguf_writer *w, struct wbuf *b)
{
    wb_u32(b, DSV4_GGUF_MAGIC);
    wb_u32(b, 3);
    wb_u64(b, (uint64_t)w->n_t);
    wb_u64(b, w->n_kv);
    wb_add(b, w->kv.p, w->kv.len);
    for (int i = 0; i < w->n_t; i++) {
        struct wtensor *t = &w->t[i];
        wb_str(b, t->name, strlen(t->name));
        wb_u32(b, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++) wb_u64(b, (uint64_t)t->ne[d]);
        wb_u32(b, t->type);
        wb_u64(b, t->offset);
    }
    static const uint8_t zeros[64];
    size_t pad = (size_t)(align_up(b->len, w->alignment) - b->len);
    while (pad) {
        size_t k = pad < sizeof zeros ? pad : sizeof zeros;
        wb_add(b, zeros, k);
        pad -= k;
    }
}

uint64_t dsv4_gguf_writer_header_size(struct dsv4_gguf_writer *w)
{
    uint64_t n = 24 + w->kv.len;
    for (int i = 0; i < w->n_t; i++) n += 8 + strlen(w->t[i].name) + 4 + 8 * (uint64_t)w->t[i].n_dims + 12;
    return align_up(n, w->alignment);
}

uint64_t dsv4_gguf_writer_file_size(struct dsv4_gguf_writer *w)
{
    if (!w->n_t) return dsv4_gguf_writer_header_size(w);
    const struct wtensor *t = &w->t[w->n_t - 1];
    return dsv4_gguf_writer_header_size(w) + t->offset + t->nbytes;
}

uint64_t dsv4_gguf_writer_tensor_offset(struct dsv4_gguf_writer *w, int i)
{
    return dsv4_gguf_writer_header_size(w) + w->t[i].offset;
}

uint64_t dsv4_gguf_writer_tensor_bytes(struct dsv4_gguf_writer *w, int i) { return w->t[i].nbytes; }

uint8_t *dsv4_gguf_writer_header(struct dsv4_gguf_writer *w, size_t *len)
{
    struct wbuf b = {0};
    encode_header(w, &b);
    if (b.oom || w->kv.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
