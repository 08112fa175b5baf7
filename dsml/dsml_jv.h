/*
 * dsml_jv.h - a small read-only JSON document model and the Python-style JSON writer.
 *
 * Used where a JSON text has to be taken apart and written again the way DeepSeek's
 * reference encoder (Python) writes it: the prompt renderer (request bodies, tool-call
 * arguments, tool schemas) and the OpenAI -> DSML converter.
 *
 * The document model
 *   - keeps object members in source order;
 *   - resolves duplicate keys like a Python dict: the LAST value wins, at the position of
 *     the FIRST occurrence of the key;
 *   - keeps number text verbatim (1.50 stays "1.50", big integers stay exact); nothing is
 *     converted to double unless a writer asks for it;
 *   - decodes string escapes; a surrogate pair becomes one code point, a lone surrogate
 *     escape is an error (it has no UTF-8 form); raw strings must be valid UTF-8;
 *   - records the byte offset of every value and key, so callers can point at the
 *     offending element of a request;
 *   - lives in one arena owned by a dsml_jv_doc: one free releases everything.
 *
 * The pyjson writer reproduces Python's json.dumps(v, ensure_ascii=False) byte for byte:
 * ", " and ": " separators, raw UTF-8, lowercase \u00xx for other control characters,
 * integers verbatim (-0 -> 0), floats as Python repr() of the nearest double (shortest
 * round-trip digits; fixed notation iff 1e-4 <= |x| < 1e16, always with a fractional part;
 * otherwise d.ddde+XX). Values Python would print as Infinity/NaN are an error here.
 *
 * No global state; every function may be called from any thread on distinct objects.
 */
#ifndef DSML_JV_H
#define DSML_JV_H

#include <stddef.h>
#include <stdint.h>

#include "dsml_buf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dsml_jv_type {
    DSML_JV_NULL = 0,
    DSML_JV_FALSE = 1,
    DSML_JV_TRUE = 2,
    DSML_JV_NUMBER = 3, /* s/len: the number text as written */
    DSML_JV_STRING = 4, /* s/len: decoded UTF-8 bytes (may contain NUL) */
    DSML_JV_ARRAY = 5,  /* items/len */
    DSML_JV_OBJECT = 6, /* members/len, duplicates already resolved */
} dsml_jv_type;

typedef struct dsml_jv dsml_jv;
typedef struct dsml_jv_member dsml_jv_member;

struct dsml_jv {
    dsml_jv_type type;
    uint32_t is_float;   /* NUMBER: the text has '.', 'e' or 'E' (Python would make a float) */
    size_t len;          /* bytes (NUMBER, STRING) or element count (ARRAY, OBJECT) */
    size_t offset;       /* byte offset of the value's first byte in the parsed text */
    union {
        const char *s;                 /* NUMBER, STRING; not NUL-terminated */
        const dsml_jv *items;          /* ARRAY */
        const dsml_jv_member *members; /* OBJECT */
    } u;
};

struct dsml_jv_member {
    const char *key; /* decoded key bytes, not NUL-terminated */
    size_t key_len;
    size_t key_offset; /* offset of the key's opening quote (first occurrence) */
    dsml_jv value;
};

/* ---------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------- */
typedef enum dsml_jv_code {
    DSML_JV_OK = 0,
    DSML_JV_E_SYNTAX = 1,    /* not JSON (RFC 8259), or trailing bytes after the value */
    DSML_JV_E_UTF8 = 2,      /* invalid UTF-8 in the text */
    DSML_JV_E_SURROGATE = 3, /* \uD800-\uDFFF escape without its partner */
    DSML_JV_E_DEPTH = 4,     /* nesting deeper than the limit */
    DSML_JV_E_NOMEM = 5,     /* out of memory */
    DSML_JV_E_RANGE = 6,     /* writer: a float outside the double range (1e400) */
    DSML_JV_E_SINK = 7,      /* writer: the sink refused the bytes */
} dsml_jv_code;

typedef struct dsml_jv_error {
    dsml_jv_code code;
    size_t offset;   /* byte offset of the offending byte / value */
    const char *msg; /* static English reason, never NULL after a failure */
} dsml_jv_error;

/* ---------------------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------------------- */
#define DSML_JV_DEFAULT_DEPTH 512

typedef struct dsml_jv_doc dsml_jv_doc;

/* Parse exactly one JSON value (surrounding whitespace allowed) from text[0..len).
 * max_depth limits array/object nesting (0 = DSML_JV_DEFAULT_DEPTH).
 * Returns a document, or NULL with *err filled (err may be NULL).
 * The document keeps its own copy of the text: `text` may be freed or changed as soon as
 * this returns. Offsets in values and errors are offsets in `text`. */
dsml_jv_doc *dsml_jv_parse(const char *text, size_t len, unsigned max_depth, dsml_jv_error *err);

/* The root value of a document. Never NULL for a document returned by dsml_jv_parse(). */
const dsml_jv *dsml_jv_root(const dsml_jv_doc *doc);

/* Release a document and everything it owns. NULL is allowed. */
void dsml_jv_free(dsml_jv_doc *doc);

/* ---------------------------------------------------------------------------------------
 * Access helpers (all accept NULL and return NULL / 0 for it)
 * ------------------------------------------------------------------------------------- */
/* Member `key` (NUL-terminated) of an object, or NULL when v is not an object or has no
 * such member. Linear scan: objects in requests are small. */
const dsml_jv *dsml_jv_get(const dsml_jv *v, const char *key);
/* 1 when v is a string equal to the NUL-terminated s. */
int dsml_jv_str_is(const dsml_jv *v, const char *s);
/* 1 when v is absent (NULL) or JSON null. */
int dsml_jv_is_null(const dsml_jv *v);

/* ---------------------------------------------------------------------------------------
 * Python json.dumps(v, ensure_ascii=False) writer
 * ------------------------------------------------------------------------------------- */
enum dsml_pyjson_flags {
    /* Inside strings, write '/' as "\u002f" where it starts "/｜DSML｜parameter", so the
     * text can sit inside a DSML string="false" value: the official parser ends a value at
     * the first "/｜DSML｜parameter" (with or without '<'), and neither that nor
     * "</｜DSML｜parameter>" then occurs. The JSON value is unchanged. */
    DSML_PYJSON_GUARD_CLOSER = 1u << 0,
};

/* Write pyjson(v) to *out. Returns 0, or -1 with *err filled (E_RANGE with the offset of
 * the number, E_SINK when out->write failed; err may be NULL). */
int dsml_jv_write_py(const dsml_jv *v, unsigned flags, const dsml_sink *out, dsml_jv_error *err);

/* Write the Python JSON string literal (with quotes) of the UTF-8 bytes s[0..len).
 * The bytes must be valid UTF-8 (strings of a parsed document are). Returns 0 or -1 (the
 * sink failed). */
int dsml_py_write_string(const char *s, size_t len, unsigned flags, const dsml_sink *out);

#define DSML_PY_FLOAT_MAX 32 /* buffer size for dsml_py_float_repr, NUL included */

/* Python repr() of a finite double into out (NUL-terminated). Returns the length, or -1
 * for infinities and NaN. Independent of the C locale. */
int dsml_py_float_repr(double d, char out[DSML_PY_FLOAT_MAX]);

/* Python's output for a JSON number text (RFC 8259 grammar, not checked here): integers
 * verbatim except "-0" -> "0"; numbers with '.', 'e', 'E' -> repr of the nearest double.
 * Writes to *out. Returns 0, -1 when the float is not finite (1e400), -2 when the sink
 * failed. Independent of the C locale. */
int dsml_py_write_number(const char *num, size_t len, const dsml_sink *out);

/* Nearest double to a JSON number text (correctly rounded, locale-independent). Returns 0,
 * or -1 when the text is too long to convert (over 1 MiB) or memory ran out. The result
 * may be an infinity (1e400). */
int dsml_json_number_to_double(const char *num, size_t len, double *out);

#ifdef __cplusplus
}
#endif
#endif /* DSML_JV_H */
