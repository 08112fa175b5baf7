/*
 * gguf.h - GGUF v3 container: a validating reader (memory buffer or mmap'ed file, no copy
 * of tensor data) and a streaming writer.
 *
 * The reader checks everything before anything is used: magic, version, counts against
 * the bytes that remain, every string and array length, value types, duplicate keys and
 * tensor names, general.alignment, tensor dimensions (1..4, no zero, no overflow), ggml
 * type support and block divisibility, offsets (aligned, inside the data section, not
 * overlapping). Any failure produces a one-line message naming the key or tensor and the
 * byte offset; nothing past the checked bounds is ever read. It is safe on arbitrary
 * (fuzzed) input. Architecture-level checks (which tensors must exist, their shapes) live
 * in model.h.
 */
#ifndef DSV4_GGUF_H
#define DSV4_GGUF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DSV4_GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define DSV4_GGUF_MAX_DIMS 4
#define DSV4_GGUF_MAX_NAME 256 /* longest key or tensor name accepted */

enum dsv4_gguf_vtype {
    DSV4_GGUF_U8 = 0,
    DSV4_GGUF_I8 = 1,
    DSV4_GGUF_U16 = 2,
    DSV4_GGUF_I16 = 3,
    DSV4_GGUF_U32 = 4,
    DSV4_GGUF_I32 = 5,
    DSV4_GGUF_F32 = 6,
    DSV4_GGUF_BOOL = 7,
    DSV4_GGUF_STRING = 8,
    DSV4_GGUF_ARRAY = 9,
    DSV4_GGUF_U64 = 10,
    DSV4_GGUF_I64 = 11,
    DSV4_GGUF_F64 = 12,
};

/* A string inside the buffer (not NUL-terminated). */
struct dsv4_gguf_str {
    const char *ptr;
    uint64_t len;
};

struct dsv4_gguf_kv {
    struct dsv4_gguf_str key;
    uint32_t type;         /* enum dsv4_gguf_vtype */
    uint32_t arr_type;     /* element type when type == ARRAY */
    uint64_t arr_n;        /* element count when type == ARRAY */
    const uint8_t *value;  /* scalar bytes, string header, or first array element */
    const uint8_t *raw;    /* the encoded value as stored (array header included) */
    uint64_t raw_len;      /* its length in bytes */
    uint64_t offset;       /* file offset of the key (for messages) */
};

struct dsv4_gguf_tensor {
    struct dsv4_gguf_str name;
    uint32_t n_dims;
    int64_t ne[DSV4_GGUF_MAX_DIMS]; /* unused dims are 1 */
    uint32_t type;                  /* ggml type (quant.h) */
    uint64_t offset;                /* relative to the data section */
    uint64_t nbytes;
    const uint8_t *data;            /* base + data_offset + offset */
};

struct dsv4_gguf {
    const uint8_t *base;
    size_t size;
    uint32_t version;
    uint64_t n_kv, n_tensors;
    struct dsv4_gguf_kv *kv;
    struct dsv4_gguf_tensor *tensors;
    uint32_t alignment;
    uint64_t data_offset; /* start of the data section in the file */
    int mapped;           /* base is an mmap of the file (unmapped by close) */
};

/* Parse and validate a GGUF image held in memory (the caller keeps buf alive while g is in
 * use). Returns 0, or -1 with a one-line message in err (which may be NULL). On failure g
 * holds nothing to release (close is still allowed). */
int dsv4_gguf_parse(struct dsv4_gguf *g, const void *buf, size_t len, char *err, size_t errlen);

/* mmap a file read-only and parse it. Returns 0 or -1 (message names the file). */
int dsv4_gguf_open(struct dsv4_gguf *g, const char *path, char *err, size_t errlen);

/* Release the index (and the mapping if the file was opened). Zeroes g. */
void dsv4_gguf_close(struct dsv4_gguf *g);

/* Lookup by exact name; NULL if absent. O(n) for kv (few dozen), hashed for tensors. */
const struct dsv4_gguf_kv *dsv4_gguf_find_kv(const struct dsv4_gguf *g, const char *key);
const struct dsv4_gguf_tensor *dsv4_gguf_find_tensor(const struct dsv4_gguf *g, const char *name);

/* Typed accessors. Integers accept any integer type (and bool) whose value fits; floats
 * accept F32/F64 and integers. Return 0, or -1 if the type or range does not fit. */
int dsv4_gguf_kv_u64(const struct dsv4_gguf_kv *kv, uint64_t *out);
int dsv4_gguf_kv_i64(const struct dsv4_gguf_kv *kv, int64_t *out);
int dsv4_gguf_kv_f64(const struct dsv4_gguf_kv *kv, double *out);
int dsv4_gguf_kv_str(const struct dsv4_gguf_kv *kv, struct dsv4_gguf_str *out);
/* Element i of a numeric array, with the same conversions. */
int dsv4_gguf_arr_i64(const struct dsv4_gguf_kv *kv, uint64_t i, int64_t *out);
int dsv4_gguf_arr_f64(const struct dsv4_gguf_kv *kv, uint64_t i, double *out);
/* All strings of a string array, in order, into out[kv->arr_n] (caller-allocated). */
int dsv4_gguf_arr_strs(const struct dsv4_gguf_kv *kv, struct dsv4_gguf_str *out);

/* Name of a value type ("u32", "array", ...). */
const char *dsv4_gguf_vtype_name(uint32_t t);

/* Print a value compactly into out (arrays: type, count and the first few elements). */
void dsv4_gguf_kv_format(const struct dsv4_gguf_kv *kv, char *out, size_t outlen);

/* ---- writer ------------------------------------------------------------------------------ */

/* The writer collects metadata and tensor descriptors, then writes the header; tensor data
 * follows in declaration order through dsv4_gguf_writer_write_data (streamed, any chunk
 * size) so a model larger than memory can be produced. */
struct dsv4_gguf_writer;

/* Returns NULL when out of memory. alignment: power of two (32 by default when 0). */
struct dsv4_gguf_writer *dsv4_gguf_writer_new(uint32_t alignment);
/* Release a writer (NULL is allowed). */
void dsv4_gguf_writer_free(struct dsv4_gguf_writer *w);

/* Add a key. The value is copied. Returns 0 or -1 (out of memory). */
int dsv4_gguf_writer_add_u32(struct dsv4_gguf_writer *w, const char *key, uint32_t v);
int dsv4_gguf_writer_add_u64(struct dsv4_gguf_writer *w, const char *key, uint64_t v);
int dsv4_gguf_writer_add_f32(struct dsv4_gguf_writer *w, const char *key, float v);
int dsv4_gguf_writer_add_bool(struct dsv4_gguf_writer *w, const char *key, int v);
int dsv4_gguf_writer_add_str(struct dsv4_gguf_writer *w, const char *key, const char *v);
/* Numeric array: elem_type one of the scalar types, data = n packed elements. */
int dsv4_gguf_writer_add_arr(struct dsv4_gguf_writer *w, const char *key, uint32_t elem_type,
                             const void *data, uint64_t n);
/* String array (strings may contain any bytes; lens gives each length). */
int dsv4_gguf_writer_add_str_arr(struct dsv4_gguf_writer *w, const char *key,
                                 const char *const *strs, const size_t *lens, uint64_t n);
/* Add a raw key with arbitrary bytes as its encoded value (tests build bad files). */
int dsv4_gguf_writer_add_raw(struct dsv4_gguf_writer *w, const char *key, uint32_t vtype,
                             const void *bytes, size_t nbytes);

/* Declare a tensor (data written later, in declaration order). Returns its index or -1. */
int dsv4_gguf_writer_add_tensor(struct dsv4_gguf_writer *w, const char *name, uint32_t type,
                                int n_dims, const int64_t *ne);

/* Bytes of the header including padding (valid after all declarations). */
uint64_t dsv4_gguf_writer_header_size(struct dsv4_gguf_writer *w);
/* Total file size. */
uint64_t dsv4_gguf_writer_file_size(struct dsv4_gguf_writer *w);
/* Absolute file offset of tensor i's data, and its size. */
uint64_t dsv4_gguf_writer_tensor_offset(struct dsv4_gguf_writer *w, int i);
uint64_t dsv4_gguf_writer_tensor_bytes(struct dsv4_gguf_writer *w, int i);

/* Serialise the header (with padding) into a malloc'ed buffer (*len bytes). Returns NULL
 * when out of memory. */
uint8_t *dsv4_gguf_writer_header(struct dsv4_gguf_writer *w, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
