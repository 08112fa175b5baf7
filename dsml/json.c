/*
 * json.c - byte-level JSON helpers (dsml_json.h): incremental validator, minifier, string
 * escaper, UTF-8 boundary helper. None of them allocate except into the caller's buffer,
 * none parse numbers into doubles.
 *
 * The validator is a table-free automaton over one byte at a time; a byte that ends a
 * number is re-examined in the state after the number (the only one-byte lookahead RFC 8259
 * needs). Nesting is a bit stack (1 = object).
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dsml_json.h"
#include "utf8.h"

enum {
    J_VALUE,      /* expecting a value */
    J_ARR_FIRST,  /* after '[': value or ']' */
    J_OBJ_FIRST,  /* after '{': key or '}' */
    J_KEY,        /* after ',' in an object: key */
    J_COLON,      /* after a key */
    J_AFTER,      /* after a value inside a container: ',' or the closer */
    J_STR,        /* inside a string */
    J_STR_ESC,    /* after '\' */
    J_STR_U,      /* inside \uXXXX (sub = digits read) */
    J_STR_LOW_BS, /* after a high surrogate: expecting '\' */
    J_STR_LOW_U,  /* expecting 'u' of the low surrogate */
    J_LIT,        /* inside true/false/null (sub = index, kind = literal) */
    J_NUM_MINUS,  /* after '-' */
    J_NUM_ZERO,   /* leading 0 */
    J_NUM_INT,    /* integer digits */
    J_NUM_DOT,    /* after '.' */
    J_NUM_FRAC,   /* fraction digits */
    J_NUM_E,      /* after e/E */
    J_NUM_ESIGN,  /* after exponent sign */
    J_NUM_EXP,    /* exponent digits */
    J_DONE,       /* top-level value complete */
};

/* sub bit 0x80 in J_STR* states: the string is an object key */
#define KEYBIT 0x80

void dsml_jval_init(dsml_jval *v)
{
    memset(v, 0, sizeof *v);
    v->state = J_VALUE;
}

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static dsml_jval_status bad(dsml_jval *v)
{
    v->status = DSML_JVAL_INVALID;
    return v->status;
}

/* A value just ended: go to the state after it. */
static void value_done(dsml_jval *v)
{
    v->state = v->depth ? J_AFTER : J_DONE;
}

static int push(dsml_jval *v, int obj)
{
    if (v->depth >= DSML_JVAL_MAX_DEPTH) {
        v->status = DSML_JVAL_TOO_DEEP;
        return -1;
    }
    uint32_t d = v->depth++;
    if (obj) v->stack[d >> 3] |= (uint8_t)(1u << (d & 7));
    else v->stack[d >> 3] &= (uint8_t)~(1u << (d & 7));
    return 0;
}

static int top_is_obj(const dsml_jval *v)
{
    uint32_t d = v->depth - 1;
    return (v->stack[d >> 3] >> (d & 7)) & 1;
}

static const char *const literals[] = {"true", "false", "null"};

/* Start of a value at byte c (state is J_VALUE or J_ARR_FIRST). */
static dsml_jval_status start_value(dsml_jval *v, unsigned char c)
{
    if (!v->kind && v->depth == 0) v->kind = (c == '-' || (c >= '0' && c <= '9')) ? '0' : c;
    switch (c) {
    case '{':
        if (push(v, 1)) return v->status;
        v->state = J_OBJ_FIRST;
        return DSML_JVAL_OK;
    case '[':
        if (push(v, 0)) return v->status;
        v->state = J_ARR_FIRST;
        return DSML_JVAL_OK;
    case '"':
        v->state = J_STR;
        v->sub = 0;
        return DSML_JVAL_OK;
    case 't':
    case 'f':
    case 'n':
        v->state = J_LIT;
        v->hex = c == 't' ? 0 : c == 'f' ? 1 : 2;
        v->sub = 1;
        return DSML_JVAL_OK;
    case '-':
        v->state = J_NUM_MINUS;
        return DSML_JVAL_OK;
    case '0':
        v->state = J_NUM_ZERO;
        return DSML_JVAL_OK;
    default:
        if (c >= '1' && c <= '9') {
            v->state = J_NUM_INT;
            return DSML_JVAL_OK;
        }
        return bad(v);
    }
}

/* One byte inside a string (UTF-8 validated, no raw control bytes). */
static dsml_jval_status string_byte(dsml_jval *v, unsigned char c)
{
    if (v->need) {
        if (c < v->lo || c > v->hi) return bad(v);
        v->lo = 0x80;
        v->hi = 0xBF;
        v->need--;
        return DSML_JVAL_OK;
    }
    if (c == '"') {
        if (v->sub & KEYBIT) v->state = J_COLON;
        else value_done(v);
        return DSML_JVAL_OK;
    }
    if (c == '\\') {
        v->state = J_STR_ESC;
        return DSML_JVAL_OK;
    }
    if (c < 0x20) return bad(v);
    if (c < 0x80) return DSML_JVAL_OK;
    v->lo = 0x80;
    v->hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) v->need = 1;
    else if (c == 0xE0) v->need = 2, v->lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC) v->need = 2;
    else if (c == 0xED) v->need = 2, v->hi = 0x9F;
    else if (c >= 0xEE && c <= 0xEF) v->need = 2;
    else if (c == 0xF0) v->need = 3, v->lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) v->need = 3;
    else if (c == 0xF4) v->need = 3, v->hi = 0x8F;
    else return bad(v);
    return DSML_JVAL_OK;
}

static dsml_jval_status step(dsml_jval *v, unsigned char c)
{
again:
    switch (v->state) {
    case J_VALUE:
        if (is_ws(c)) return DSML_JVAL_OK;
        return start_value(v, c);
    case J_ARR_FIRST:
        if (is_ws(c)) return DSML_JVAL_OK;
        if (c == ']') {
            v->depth--;
            value_done(v);
            return DSML_JVAL_OK;
        }
        return start_value(v, c);
    case J_OBJ_FIRST:
    case J_KEY:
        if (is_ws(c)) return DSML_JVAL_OK;
        if (c == '}' && v->state == J_OBJ_FIRST) {
            v->depth--;
            value_done(v);
            return DSML_JVAL_OK;
        }
        if (c != '"') return bad(v);
        v->state = J_STR;
        v->sub = KEYBIT;
        return DSML_JVAL_OK;
    case J_COLON:
        if (is_ws(c)) return DSML_JVAL_OK;
        if (c != ':') return bad(v);
        v->state = J_VALUE;
        return DSML_JVAL_OK;
    case J_AFTER:
        if (is_ws(c)) return DSML_JVAL_OK;
        if (c == ',') {
            v->state = top_is_obj(v) ? J_KEY : J_VALUE;
            return DSML_JVAL_OK;
        }
        if (c == (top_is_obj(v) ? '}' : ']')) {
            v->depth--;
            value_done(v);
            return DSML_JVAL_OK;
        }
        return bad(v);
    case J_STR:
        return string_byte(v, c);
    case J_STR_ESC:
        switch (c) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            if (v->pend_hi) return bad(v);
            v->state = J_STR;
            return DSML_JVAL_OK;
        case 'u':
            v->state = J_STR_U;
            v->hex = 0;
            v->sub = (uint8_t)(v->sub & KEYBIT);
            return DSML_JVAL_OK;
        default:
            return bad(v);
        }
    case J_STR_U: {
        int h = hexval(c);
        if (h < 0) return bad(v);
        v->hex = (uint16_t)(v->hex << 4 | (unsigned)h);
        if ((++v->sub & 0x7F) < 4) return DSML_JVAL_OK;
        v->sub &= KEYBIT;
        if (v->pend_hi) {
            if (v->hex < 0xDC00 || v->hex > 0xDFFF) return bad(v);
            v->pend_hi = 0;
            v->state = J_STR;
        } else if (v->hex >= 0xD800 && v->hex <= 0xDBFF) {
            v->pend_hi = v->hex;
            v->state = J_STR_LOW_BS;
        } else if (v->hex >= 0xDC00 && v->hex <= 0xDFFF) {
            return bad(v);
        } else {
            v->state = J_STR;
        }
        return DSML_JVAL_OK;
    }
    case J_STR_LOW_BS:
        if (c != '\\') return bad(v);
        v->state = J_STR_LOW_U;
        return DSML_JVAL_OK;
    case J_STR_LOW_U:
        if (c != 'u') return bad(v);
        v->state = J_STR_U;
        v->hex = 0;
        return DSML_JVAL_OK;
    case J_LIT: {
        const char *lit = literals[v->hex];
        if ((unsigned char)lit[v->sub] != c) return bad(v);
        if (!lit[++v->sub]) value_done(v);
        return DSML_JVAL_OK;
    }
    case J_NUM_MINUS:
        if (c == '0') v->state = J_NUM_ZERO;
        else if (c >= '1' && c <= '9') v->state = J_NUM_INT;
        else return bad(v);
        return DSML_JVAL_OK;
    case J_NUM_ZERO:
    case J_NUM_INT:
        if (v->state == J_NUM_INT && c >= '0' && c <= '9') return DSML_JVAL_OK;
        if (c == '.') v->state = J_NUM_DOT;
        else if (c == 'e' || c == 'E') v->state = J_NUM_E;
        else goto num_end;
        return DSML_JVAL_OK;
    case J_NUM_DOT:
        if (c < '0' || c > '9') return bad(v);
        v->state = J_NUM_FRAC;
        return DSML_JVAL_OK;
    case J_NUM_FRAC:
        if (c >= '0' && c <= '9') return DSML_JVAL_OK;
        if (c == 'e' || c == 'E') {
            v->state = J_NUM_E;
            return DSML_JVAL_OK;
        }
        goto num_end;
    case J_NUM_E:
        if (c == '+' || c == '-') {
            v->state = J_NUM_ESIGN;
            return DSML_JVAL_OK;
        }
        /* fall through */
    case J_NUM_ESIGN:
        if (c < '0' || c > '9') return bad(v);
        v->state = J_NUM_EXP;
        return DSML_JVAL_OK;
    case J_NUM_EXP:
        if (c >= '0' && c <= '9') return DSML_JVAL_OK;
        goto num_end;
    case J_DONE:
        if (is_ws(c)) return DSML_JVAL_OK;
        return bad(v);
    }
    return bad(v);
num_end:
    value_done(v);
    goto again;
}

dsml_jval_status dsml_jval_feed(dsml_jval *v, const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    for (size_t i = 0; i < len && v->status == DSML_JVAL_OK; i++) {
        /* fast path: plain string bytes */
        if (v->state == J_STR && !v->need) {
            size_t j = i;
            while (j < len && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\') j++;
            v->offset += j - i;
            i = j;
            if (i == len) break;
        }
        if (step(v, s[i]) != DSML_JVAL_OK) return v->status;
        v->offset++;
    }
    return v->status;
}

dsml_jval_status dsml_jval_end(dsml_jval *v)
{
    if (v->status != DSML_JVAL_OK) return v->status;
    switch (v->state) {
    case J_NUM_ZERO:
    case J_NUM_INT:
    case J_NUM_FRAC:
    case J_NUM_EXP:
        if (v->depth == 0) return DSML_JVAL_OK;
        return bad(v);
    case J_DONE:
        return DSML_JVAL_OK;
    default:
        return bad(v);
    }
}

int dsml_json_valid(const char *data, size_t len)
{
    dsml_jval v;
    dsml_jval_init(&v);
    dsml_jval_feed(&v, data, len);
    return dsml_jval_end(&v) == DSML_JVAL_OK;
}

int dsml_json_is_object(const char *data, size_t len)
{
    dsml_jval v;
    dsml_jval_init(&v);
    dsml_jval_feed(&v, data, len);
    return dsml_jval_end(&v) == DSML_JVAL_OK && v.kind == '{';
}

/* ---------------------------------------------------------------------------------------- */

int dsml_json_minify(dsml_jmin *m, const char *data, size_t len, dsml_buf *out)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (m->in_string) {
            if (m->escape) m->escape = 0;
            else if (c == '\\') m->escape = 1;
            else if (c == '"') m->in_string = 0;
            continue;
        }
        if (c == '"') {
            m->in_string = 1;
        } else if (is_ws(c)) {
            if (i > start && dsml_buf_add(out, data + start, i - start)) return -1;
            start = i + 1;
        }
    }
    if (len > start && dsml_buf_add(out, data + start, len - start)) return -1;
    return 0;
}


int dsml_json_escape(const char *data, size_t len, dsml_buf *out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)data;
    if (len > ((size_t)-1 - 64) / 6 || dsml_buf_reserve(out, len * 6)) return -1;
    char *o = out->data + out->len; /* worst case: every byte becomes 6 */
    size_t i = 0, start = 0;
    while (i < len) {
#if defined(__SSE2__)
        /* skip 16-byte blocks of plain ASCII: no control byte, quote, backslash or >= 0x80 */
        while (len - i >= 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
            __m128i m = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                                     _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                                  _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
            int bits = _mm_movemask_epi8(m);
            if (bits) {
                i += (size_t)__builtin_ctz((unsigned)bits);
                break;
            }
            i += 16;
        }
        if (i >= len) break;
#endif
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t seq = c >= 0x80 ? dsml_utf8_len(s + i, len - i) : 0;
        if (seq) {
            i += seq;
            continue;
        }
        memcpy(o, s + start, i - start);
        o += i - start;
        switch (c) {
        case '"': *o++ = '\\', *o++ = '"'; break;
        case '\\': *o++ = '\\', *o++ = '\\'; break;
        case '\b': *o++ = '\\', *o++ = 'b'; break;
        case '\f': *o++ = '\\', *o++ = 'f'; break;
        case '\n': *o++ = '\\', *o++ = 'n'; break;
        case '\r': *o++ = '\\', *o++ = 'r'; break;
        case '\t': *o++ = '\\', *o++ = 't'; break;
        default:
            if (c < 0x20) {
                memcpy(o, "\\u00", 4);
                o[4] = hex[c >> 4], o[5] = hex[c & 15];
                o += 6;
            } else { /* invalid UTF-8 byte: U+FFFD */
                memcpy(o, "\xEF\xBF\xBD", 3);
                o += 3;
            }
        }
        i++;
        start = i;
    }
    memcpy(o, s + start, len - start);
    o += len - start;
    out->len = (size_t)(o - out->data);
    out->data[out->len] = 0;
    return 0;
}

size_t dsml_utf8_safe_len(const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    /* look back at most 3 bytes for a lead byte whose sequence is not complete yet */
    for (size_t k = 1; k <= 3 && k <= len; k++) {
        unsigned char c = s[len - k];
        if (c < 0x80) return len;          /* ASCII: nothing pending */
        if (c >= 0xC0) {                    /* lead byte */
            size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (c >= 0xF5 || c < 0xC2) return len; /* never valid */
            if (k >= need) return len;      /* complete */
            /* the bytes after the lead must be plausible continuations so far */
            if (k >= 2) {
                unsigned char c1 = s[len - k + 1];
                unsigned char lo = 0x80, hi = 0xBF;
                if (c == 0xE0) lo = 0xA0;
                else if (c == 0xED) hi = 0x9F;
                else if (c == 0xF0) lo = 0x90;
                else if (c == 0xF4) hi = 0x8F;
                if (c1 < lo || c1 > hi) return len;
            }
            return len - k;
        }
        /* continuation byte: keep looking for the lead */
    }
    return len;
}
