/*
 * dsml_json.h - the JSON pieces the parser and the OpenAI writers need, working on bytes:
 *
 *   - an incremental validator (RFC 8259, exactly one value, any chunking) used for
 *     string="false" parameter values and raw call arguments;
 *   - a minifier that removes insignificant whitespace and keeps every other byte
 *     (number text verbatim: 1.50 stays 1.50, big integers stay exact);
 *   - a JSON string-body escaper for raw UTF-8 text (values, content, names).
 *
 * No DOM here: JSON values are never round-tripped through doubles (see the renderer's
 * dsml_jv.h for Python-style re-serialisation where the official encoder needs it).
 */
#ifndef DSML_JSON_H
#define DSML_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "dsml_buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------
 * Incremental validator. Zero state is not valid: call dsml_jval_init(). Feed bytes with
 * dsml_jval_feed() in any chunking, then dsml_jval_end(). The validator accepts exactly one
 * JSON value surrounded by optional whitespace (SP, TAB, CR, LF), strings must be valid
 * UTF-8 with valid escapes (lone surrogate escapes are rejected), and nesting is limited
 * to DSML_JVAL_MAX_DEPTH. The state is a fixed-size struct (no allocation).
 * ------------------------------------------------------------------------------------- */
#define DSML_JVAL_MAX_DEPTH 512

typedef enum dsml_jval_status {
    DSML_JVAL_OK = 0,        /* so far so good / complete valid value */
    DSML_JVAL_INVALID = 1,   /* not JSON; sticky */
    DSML_JVAL_TOO_DEEP = 2,  /* nesting over the limit; sticky */
} dsml_jval_status;

typedef struct dsml_jval {
    uint8_t stack[DSML_JVAL_MAX_DEPTH / 8]; /* 1 bit per level: object (1) or array (0) */
    uint32_t depth;
    uint8_t state;        /* internal automaton state */
    uint8_t sub;          /* position inside a literal / escape / UTF-8 sequence */
    uint8_t need;         /* UTF-8 continuation bytes still expected */
    uint8_t lo, hi;       /* allowed range of the next continuation byte */
    uint16_t hex;         /* \u escape value being read */
    uint16_t pend_hi;     /* pending high surrogate (0 if none) */
    dsml_jval_status status;
    uint64_t offset;      /* bytes consumed; on INVALID: offset of the offending byte */
    uint8_t kind;         /* first byte class of the top-level value: '"','{','[','n','t','f','0' */
} dsml_jval;

/* Reset to "nothing seen". */
void dsml_jval_init(dsml_jval *v);
/* Consume bytes. Returns the (sticky) status. */
dsml_jval_status dsml_jval_feed(dsml_jval *v, const char *data, size_t len);
/* End of the value. Returns OK only if exactly one complete value was seen. */
dsml_jval_status dsml_jval_end(dsml_jval *v);
/* Convenience: validate a whole buffer. Returns 1 if it is exactly one JSON value. */
int dsml_json_valid(const char *data, size_t len);
/* Convenience: 1 if data is exactly one JSON object (leading/trailing whitespace allowed). */
int dsml_json_is_object(const char *data, size_t len);

/* ---------------------------------------------------------------------------------------
 * Minifier: copies a JSON text (assumed valid; invalid input is copied as well as it can
 * be, never read out of bounds) without whitespace outside strings. Incremental: keep a
 * dsml_jmin across calls when the text arrives in pieces.
 * ------------------------------------------------------------------------------------- */
typedef struct dsml_jmin {
    uint8_t in_string, escape;
} dsml_jmin;

/* Append the minified form of data[0..len) to out. Returns 0 or -1 (out of memory). */
int dsml_json_minify(dsml_jmin *m, const char *data, size_t len, dsml_buf *out);

/* ---------------------------------------------------------------------------------------
 * String escaping (without the surrounding quotes). Escapes '"', '\\' and control bytes
 * (\b \f \n \r \t, others as \u00XX with lowercase hex); every other byte of valid UTF-8
 * is copied raw. Invalid UTF-8 bytes are replaced by U+FFFD (JSON text must be Unicode).
 * The input should end on a character boundary (the parser guarantees it for its text
 * events); a truncated sequence at the end is treated as invalid.
 * ------------------------------------------------------------------------------------- */
int dsml_json_escape(const char *data, size_t len, dsml_buf *out);

/* Length of the longest prefix of data[0..len) that does not end inside a UTF-8 sequence
 * that could still be completed by more bytes (at most 3 bytes are cut). */
size_t dsml_utf8_safe_len(const char *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
