/*
 * jv.c - JSON document model (parse into an arena) and the Python json.dumps writer
 * (dsml_jv.h).
 *
 * Invariants:
 *   - every dsml_jv / key / string / number text of a document lives in the document's
 *     arena (which starts with a copy of the parsed text); nothing else is allocated per
 *     value, and the caller's text is not referenced after dsml_jv_parse() returns;
 *   - object members are in first-occurrence order with duplicates already merged (last
 *     value wins), so writers and readers never see a duplicate key;
 *   - strings in a document are valid UTF-8 (checked while parsing), which is what lets the
 *     writer copy them raw;
 *   - no function here depends on the C locale: number text is converted by strtod() only
 *     after being rewritten without a decimal point, and printf output is taken apart by
 *     digits, never by its decimal-point character.
 */
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_jv.h"
#include "utf8.h"

/* ======================================================================================
 * Arena
 * ==================================================================================== */
typedef struct arena_block {
    struct arena_block *next;
    size_t cap, used;
    alignas(max_align_t) unsigned char data[];
} arena_block;

struct dsml_jv_doc {
    arena_block *blocks;
    size_t next_cap;
    dsml_jv root;
};

static void *arena_alloc(dsml_jv_doc *d, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    arena_block *b = d->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = d->next_cap;
        if (cap < n) cap = n;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = d->blocks;
        d->blocks = b;
        if (d->next_cap < ((size_t)1 << 24)) d->next_cap *= 2;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

void dsml_jv_free(dsml_jv_doc *doc)
{
    if (!doc) return;
    arena_block *b = doc->blocks;
    while (b) {
        arena_block *n = b->next;
        free(b);
        b = n;
    }
    free(doc);
}

const dsml_jv *dsml_jv_root(const dsml_jv_doc *doc) { return doc ? &doc->root : NULL; }

/* ======================================================================================
 * Parser
 * ==================================================================================== */
typedef struct parser {
    const char *start, *p, *end;
    unsigned depth, max_depth;
    dsml_jv_doc *doc;
    dsml_jv *vals; /* scratch stack of array items being built */
    size_t nvals, capvals;
    dsml_jv_member *mems; /* scratch stack of object members being built */
    size_t nmems, capmems;
    size_t *hash; /* scratch table for duplicate detection in large objects */
    size_t hashcap;
    dsml_jv_error err;
} parser;

static int fail(parser *ps, dsml_jv_code code, const char *at, const char *msg)
{
    if (ps->err.code == DSML_JV_OK) {
        ps->err.code = code;
        ps->err.offset = (size_t)(at - ps->start);
        ps->err.msg = msg;
    }
    return -1;
}

static void skip_ws(parser *ps)
{
    const char *p = ps->p, *e = ps->end;
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    ps->p = p;
}


static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Read 4 hex digits at p (p + 4 <= end checked by caller); -1 if not hex. */
static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval((unsigned char)p[i]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ps->p at the opening quote. Validates, finds the end, decodes when there are escapes.
 * On success *s and *len describe the decoded bytes and ps->p is past the closing quote. */
static int parse_string(parser *ps, const char **s, size_t *len)
{
    const char *q = ps->p + 1, *e = ps->end;
    int escapes = 0;
    /* Pass 1: validate and find the closing quote. */
    for (;;) {
        /* Skip 8 plain ASCII bytes at a time (no quote, backslash, control or high byte). */
        while (e - q >= 8) {
            uint64_t x;
            memcpy(&x, q, 8);
            const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
            uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
            uint64_t special = ((quote - ones) & ~quote) | ((bslash - ones) & ~bslash) |
                               (x - ones * 0x20) | x;
            if (special & highs) break;
            q += 8;
        }
        if (q >= e) return fail(ps, DSML_JV_E_SYNTAX, ps->p, "unterminated string");
        unsigned char c = (unsigned char)*q;
        if (c == '"') break;
        if (c == '\\') {
            escapes = 1;
            if (q + 1 >= e) return fail(ps, DSML_JV_E_SYNTAX, q, "unterminated string");
            char x = q[1];
            if (x == 'u') {
                if (e - q < 6 || hex4(q + 2) < 0)
                    return fail(ps, DSML_JV_E_SYNTAX, q, "invalid \\u escape");
                q += 6;
            } else if (x == '"' || x == '\\' || x == '/' || x == 'b' || x == 'f' || x == 'n' ||
                       x == 'r' || x == 't') {
                q += 2;
            } else {
                return fail(ps, DSML_JV_E_SYNTAX, q, "invalid escape in string");
            }
        } else if (c < 0x20) {
            return fail(ps, DSML_JV_E_SYNTAX, q, "control character in string");
        } else if (c < 0x80) {
            q++;
        } else {
            size_t n = dsml_utf8_len((const unsigned char *)q, (size_t)(e - q));
            if (!n) return fail(ps, DSML_JV_E_UTF8, q, "invalid UTF-8");
            q += n;
        }
    }
    const char *body = ps->p + 1;
    if (!escapes) {
        *s = body;
        *len = (size_t)(q - body);
        ps->p = q + 1;
        return 0;
    }
    /* Pass 2: decode (the decoded form is never longer than the source). */
    char *o = arena_alloc(ps->doc, (size_t)(q - body) + 1);
    if (!o) return fail(ps, DSML_JV_E_NOMEM, body, "out of memory");
    char *w = o;
    for (const char *r = body; r < q;) {
        if (*r != '\\') {
            const char *bs = memchr(r, '\\', (size_t)(q - r));
            size_t run = (size_t)((bs ? bs : q) - r);
            memcpy(w, r, run);
            w += run;
            r += run;
            continue;
        }
        char x = r[1];
        if (x != 'u') {
            switch (x) {
            case 'b': *w++ = '\b'; break;
            case 'f': *w++ = '\f'; break;
            case 'n': *w++ = '\n'; break;
            case 'r': *w++ = '\r'; break;
            case 't': *w++ = '\t'; break;
            default: *w++ = x; break; /* " \ / */
            }
            r += 2;
            continue;
        }
        unsigned long cp = (unsigned long)hex4(r + 2);
        const char *at = r;
        r += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            long lo = (q - r >= 6 && r[0] == '\\' && r[1] == 'u') ? hex4(r + 2) : -1;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return fail(ps, DSML_JV_E_SURROGATE, at, "lone surrogate escape in string");
            cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
            r += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail(ps, DSML_JV_E_SURROGATE, at, "lone surrogate escape in string");
        }
        w += put_utf8(w, cp);
    }
    *s = o;
    *len = (size_t)(w - o);
    ps->p = q + 1;
    return 0;
}

static int parse_number(parser *ps, dsml_jv *out)
{
    const char *p = ps->p, *e = ps->end, *b = p;
    int is_float = 0;
    if (p < e && *p == '-') p++;
    if (p >= e) return fail(ps, DSML_JV_E_SYNTAX, b, "invalid number");
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < e && *p >= '0' && *p <= '9') p++;
    } else {
        return fail(ps, DSML_JV_E_SYNTAX, b, "invalid number");
    }
    if (p < e && *p == '.') {
        is_float = 1;
        p++;
        if (p >= e || *p < '0' || *p > '9') return fail(ps, DSML_JV_E_SYNTAX, b, "invalid number");
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        is_float = 1;
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || *p < '0' || *p > '9') return fail(ps, DSML_JV_E_SYNTAX, b, "invalid number");
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    out->type = DSML_JV_NUMBER;
    out->is_float = (uint32_t)is_float;
    out->u.s = b;
    out->len = (size_t)(p - b);
    ps->p = p;
    return 0;
}

static int grow(parser *ps, void **arr, size_t *cap, size_t elem)
{
    size_t nc = *cap ? *cap * 2 : 64;
    void *n = realloc(*arr, nc * elem);
    if (!n) return fail(ps, DSML_JV_E_NOMEM, ps->p, "out of memory");
    *arr = n;
    *cap = nc;
    return 0;
}

static int key_eq(const dsml_jv_member *a, const dsml_jv_member *b)
{
    return a->key_len == b->key_len && !memcmp(a->key, b->key, a->key_len);
}

static size_t key_hash(const dsml_jv_member *m)
{
    size_t h = 1469598103934665603u;
    for (size_t i = 0; i < m->key_len; i++) h = (h ^ (unsigned char)m->key[i]) * 1099511628211u;
    return h;
}

/* Merge duplicate keys in m[0..n) the way a Python dict is filled: a repeated key replaces
 * the value of its first occurrence and is dropped. Returns the new count (or (size_t)-1
 * when out of memory). */
static size_t dedupe(parser *ps, dsml_jv_member *m, size_t n)
{
    size_t kept = 0;
    if (n <= 16) {
        for (size_t i = 0; i < n; i++) {
            size_t j = 0;
            while (j < kept && !key_eq(&m[j], &m[i])) j++;
            if (j < kept) m[j].value = m[i].value;
            else m[kept++] = m[i];
        }
        return kept;
    }
    size_t cap = 64;
    while (cap < n * 2) cap *= 2;
    if (cap > ps->hashcap) {
        size_t *h = realloc(ps->hash, cap * sizeof *h);
        if (!h) return (size_t)-1;
        ps->hash = h;
        ps->hashcap = cap;
    }
    size_t *h = ps->hash;
    for (size_t i = 0; i < cap; i++) h[i] = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t k = key_hash(&m[i]) & (cap - 1);
        while (h[k] != (size_t)-1 && !key_eq(&m[h[k]], &m[i])) k = (k + 1) & (cap - 1);
        if (h[k] != (size_t)-1) {
            m[h[k]].value = m[i].value;
        } else {
            h[k] = kept;
            m[kept++] = m[i];
        }
    }
    return kept;
}

static int parse_value(parser *ps, dsml_jv *out);

static int parse_array(parser *ps, dsml_jv *out)
{
    size_t base = ps->nvals;
    ps->p++; /* [ */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
    } else {
        for (;;) {
            dsml_jv v;
            if (parse_value(ps, &v)) return -1;
            if (ps->nvals == ps->capvals &&
                grow(ps, (void **)&ps->vals, &ps->capvals, sizeof *ps->vals))
                return -1;
            ps->vals[ps->nvals++] = v;
            skip_ws(ps);
            if (ps->p >= ps->end) return fail(ps, DSML_JV_E_SYNTAX, ps->p, "unterminated array");
            if (*ps->p == ',') {
                ps->p++;
                continue;
            }
            if (*ps->p == ']') {
                ps->p++;
                break;
            }
            return fail(ps, DSML_JV_E_SYNTAX, ps->p, "expected ',' or ']' in array");
        }
    }
    size_t n = ps->nvals - base;
    dsml_jv *items = NULL;
    if (n) {
        items = arena_alloc(ps->doc, n * sizeof *items);
        if (!items) return fail(ps, DSML_JV_E_NOMEM, ps->p, "out of memory");
        memcpy(items, ps->vals + base, n * sizeof *items);
    }
    ps->nvals = base;
    out->type = DSML_JV_ARRAY;
    out->len = n;
    out->u.items = items;
    return 0;
}

static int parse_object(parser *ps, dsml_jv *out)
{
    size_t base = ps->nmems;
    ps->p++; /* { */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
    } else {
        for (;;) {
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, DSML_JV_E_SYNTAX, ps->p, "expected a string key in object");
            dsml_jv_member m;
            m.key_offset = (size_t)(ps->p - ps->start);
            if (parse_string(ps, &m.key, &m.key_len)) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return fail(ps, DSML_JV_E_SYNTAX, ps->p, "expected ':' after object key");
            ps->p++;
            if (parse_value(ps, &m.value)) return -1;
            if (ps->nmems == ps->capmems &&
                grow(ps, (void **)&ps->mems, &ps->capmems, sizeof *ps->mems))
                return -1;
            ps->mems[ps->nmems++] = m;
            skip_ws(ps);
            if (ps->p >= ps->end) return fail(ps, DSML_JV_E_SYNTAX, ps->p, "unterminated object");
            if (*ps->p == ',') {
                ps->p++;
                continue;
            }
            if (*ps->p == '}') {
                ps->p++;
                break;
            }
            return fail(ps, DSML_JV_E_SYNTAX, ps->p, "expected ',' or '}' in object");
        }
    }
    /* an empty object before any member was ever stored: mems is still NULL, and
       NULL + 0 is undefined behaviour */
    size_t n = ps->nmems > base ? dedupe(ps, ps->mems + base, ps->nmems - base) : 0;
    if (n == (size_t)-1) return fail(ps, DSML_JV_E_NOMEM, ps->p, "out of memory");
    dsml_jv_member *mem = NULL;
    if (n) {
        mem = arena_alloc(ps->doc, n * sizeof *mem);
        if (!mem) return fail(ps, DSML_JV_E_NOMEM, ps->p, "out of memory");
        memcpy(mem, ps->mems + base, n * sizeof *mem);
    }
    ps->nmems = base;
    out->type = DSML_JV_OBJECT;
    out->len = n;
    out->u.members = mem;
    return 0;
}

static int literal(parser *ps, const char *word, size_t n, dsml_jv_type t, dsml_jv *out)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
        return fail(ps, DSML_JV_E_SYNTAX, ps->p, "invalid literal");
    ps->p += n;
    out->type = t;
    out->len = 0;
    out->u.s = NULL;
    return 0;
}

static int parse_value(parser *ps, dsml_jv *out)
{
    skip_ws(ps);
    memset(out, 0, sizeof *out);
    if (ps->p >= ps->end) return fail(ps, DSML_JV_E_SYNTAX, ps->p, "unexpected end of input");
    out->offset = (size_t)(ps->p - ps->start);
    switch (*ps->p) {
    case '{':
    case '[': {
        if (ps->depth >= ps->max_depth)
            return fail(ps, DSML_JV_E_DEPTH, ps->p, "JSON nested too deeply");
        ps->depth++;
        int r = *ps->p == '{' ? parse_object(ps, out) : parse_array(ps, out);
        ps->depth--;
        return r;
    }
    case '"':
        out->type = DSML_JV_STRING;
        return parse_string(ps, &out->u.s, &out->len);
    case 't': return literal(ps, "true", 4, DSML_JV_TRUE, out);
    case 'f': return literal(ps, "false", 5, DSML_JV_FALSE, out);
    case 'n': return literal(ps, "null", 4, DSML_JV_NULL, out);
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return parse_number(ps, out);
        return fail(ps, DSML_JV_E_SYNTAX, ps->p, "unexpected character");
    }
}

dsml_jv_doc *dsml_jv_parse(const char *text, size_t len, unsigned max_depth, dsml_jv_error *err)
{
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.start = ps.p = text ? text : "";
    ps.end = ps.start + (text ? len : 0);
    ps.max_depth = max_depth ? max_depth : DSML_JV_DEFAULT_DEPTH;
    ps.doc = calloc(1, sizeof *ps.doc);
    if (!ps.doc) {
        fail(&ps, DSML_JV_E_NOMEM, ps.p, "out of memory");
        goto out;
    }
    /* The document owns a copy of the text, so callers may free theirs at once; strings
     * without escapes and number text point into this copy. */
    ps.doc->next_cap = len < 4096 ? 2 * len + 256 : len + len / 2;
    if (ps.doc->next_cap > ((size_t)1 << 24) && len <= ((size_t)1 << 24))
        ps.doc->next_cap = (size_t)1 << 24;
    char *copy = arena_alloc(ps.doc, ps.end - ps.start + 1);
    if (!copy) {
        fail(&ps, DSML_JV_E_NOMEM, ps.p, "out of memory");
        goto out;
    }
    memcpy(copy, ps.start, (size_t)(ps.end - ps.start));
    ps.end = copy + (ps.end - ps.start);
    ps.start = ps.p = copy;
    if (parse_value(&ps, &ps.doc->root)) goto out;
    skip_ws(&ps);
    if (ps.p != ps.end) fail(&ps, DSML_JV_E_SYNTAX, ps.p, "unexpected text after the JSON value");
out:
    free(ps.vals);
    free(ps.mems);
    free(ps.hash);
    if (ps.err.code != DSML_JV_OK) {
        dsml_jv_free(ps.doc);
        ps.doc = NULL;
    }
    if (err) *err = ps.err;
    return ps.doc;
}

/* ======================================================================================
 * Access helpers
 * ==================================================================================== */
const dsml_jv *dsml_jv_get(const dsml_jv *v, const char *key)
{
    if (!v || v->type != DSML_JV_OBJECT) return NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < v->len; i++) {
        const dsml_jv_member *m = &v->u.members[i];
        if (m->key_len == n && !memcmp(m->key, key, n)) return &m->value;
    }
    return NULL;
}

int dsml_jv_str_is(const dsml_jv *v, const char *s)
{
    if (!v || v->type != DSML_JV_STRING) return 0;
    size_t n = strlen(s);
    return v->len == n && !memcmp(v->u.s, s, n);
}

int dsml_jv_is_null(const dsml_jv *v) { return !v || v->type == DSML_JV_NULL; }

/* ======================================================================================
 * Numbers: JSON text -> double, double -> Python repr
 * ==================================================================================== */

/* strtod() of "[-]<mant>e<exp>" (integer mantissa, no decimal point: locale-proof). */
static double strtod_int_exp(int neg, const char *mant, size_t nm, long exp, char *buf)
{
    char *w = buf;
    if (neg) *w++ = '-';
    memcpy(w, mant, nm);
    w += nm;
    sprintf(w, "e%ld", exp);
    return strtod(buf, NULL);
}

int dsml_json_number_to_double(const char *num, size_t len, double *out)
{
    if (len > ((size_t)1 << 20)) return -1;
    const char *p = num, *e = num + len;
    int neg = 0;
    if (p < e && *p == '-') neg = 1, p++;
    char small[128];
    char *mant = len + 32 <= sizeof small / 2 ? small : malloc(2 * len + 64);
    if (!mant) return -1;
    char *buf = mant == small ? small + sizeof small / 2 : mant + len + 8;
    size_t nm = 0;
    long frac = 0, ex = 0;
    while (p < e && *p >= '0' && *p <= '9') {
        if (nm || *p != '0') mant[nm++] = *p;
        p++;
    }
    if (p < e && *p == '.') {
        p++;
        while (p < e && *p >= '0' && *p <= '9') {
            if (nm || *p != '0') mant[nm++] = *p;
            frac++;
            p++;
        }
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < e && (*p == '+' || *p == '-')) eneg = *p == '-', p++;
        while (p < e && *p >= '0' && *p <= '9') {
            if (ex < 100000000L) ex = ex * 10 + (*p - '0');
            p++;
        }
        if (eneg) ex = -ex;
    }
    if (!nm) mant[nm++] = '0';
    *out = strtod_int_exp(neg, mant, nm, ex - frac, buf);
    if (mant != small) free(mant);
    return 0;
}

/* Digits of `%.*e` output (any decimal-point character) and its exponent. */
static void split_e(const char *s, char *digits, size_t *nd, int *exp10)
{
    size_t n = 0;
    while (*s && *s != 'e' && *s != 'E') {
        if (*s >= '0' && *s <= '9') digits[n++] = *s;
        s++;
    }
    *nd = n;
    *exp10 = *s ? atoi(s + 1) : 0;
}

/* Add (+1) or subtract (-1) one unit in the last place of the decimal integer d[0..*n).
 * May grow the string by one digit ("99" + 1 = "100"); may leave a leading zero. */
static void step_last(char *d, size_t *n, int dir)
{
    size_t i = *n;
    if (dir > 0) {
        while (i > 0 && d[i - 1] == '9') d[--i] = '0';
        if (i == 0) {
            memmove(d + 1, d, *n);
            d[0] = '1';
            (*n)++;
        } else {
            d[i - 1]++;
        }
    } else {
        while (i > 0 && d[i - 1] == '0') d[--i] = '9';
        if (i > 0) d[i - 1]--;
    }
}

static int all_zero(const char *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] != '0') return 0;
    return 1;
}

int dsml_py_float_repr(double d, char out[DSML_PY_FLOAT_MAX])
{
    if (isnan(d) || isinf(d)) return -1;
    if (d == 0) {
        strcpy(out, signbit(d) ? "-0.0" : "0.0");
        return (int)strlen(out);
    }
    int neg = d < 0;
    double a = fabs(d);
    char fmt[64], dig[24], cand[24], buf[64];
    size_t nd = 0;
    long exp = 0; /* value = dig (as integer) * 10^exp */
    for (int p = 0; p <= 16; p++) {
        int e10;
        snprintf(fmt, sizeof fmt, "%.*e", p, a);
        split_e(fmt, dig, &nd, &e10);
        exp = (long)e10 - p;
        if (strtod_int_exp(0, dig, nd, exp, buf) == a) goto found;
        /* The nearest p+1-digit decimal may fall just outside the (asymmetric) rounding
         * interval at a power of two while its neighbour is inside: try both. */
        for (int dir = 1; dir >= -1; dir -= 2) {
            size_t nc = nd;
            memcpy(cand, dig, nd);
            step_last(cand, &nc, dir);
            if (all_zero(cand, nc)) continue;
            if (strtod_int_exp(0, cand, nc, exp, buf) == a) {
                memcpy(dig, cand, nc);
                nd = nc;
                goto found;
            }
        }
    }
    return -1; /* not reached: 17 significant digits always round-trip */
found:;
    /* Normalise: no leading zeros, no trailing zeros. */
    size_t lead = 0;
    while (lead + 1 < nd && dig[lead] == '0') lead++;
    memmove(dig, dig + lead, nd - lead);
    nd -= lead;
    while (nd > 1 && dig[nd - 1] == '0') nd--, exp++;
    long decpt = (long)nd + exp; /* value = 0.d1d2... * 10^decpt */
    char *w = out;
    if (neg) *w++ = '-';
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            *w++ = '0';
            *w++ = '.';
            for (long i = 0; i < -decpt; i++) *w++ = '0';
            memcpy(w, dig, nd);
            w += nd;
        } else if ((size_t)decpt >= nd) {
            memcpy(w, dig, nd);
            w += nd;
            for (long i = 0; i < decpt - (long)nd; i++) *w++ = '0';
            *w++ = '.';
            *w++ = '0';
        } else {
            memcpy(w, dig, (size_t)decpt);
            w += decpt;
            *w++ = '.';
            memcpy(w, dig + decpt, nd - (size_t)decpt);
            w += nd - (size_t)decpt;
        }
        *w = 0;
    } else {
        *w++ = dig[0];
        if (nd > 1) {
            *w++ = '.';
            memcpy(w, dig + 1, nd - 1);
            w += nd - 1;
        }
        long x = decpt - 1;
        sprintf(w, "e%c%02ld", x < 0 ? '-' : '+', x < 0 ? -x : x);
        w += strlen(w);
    }
    return (int)(w - out);
}

static int sink_put(const dsml_sink *s, const char *d, size_t n)
{
    return n ? s->write(s->ud, d, n) : 0;
}

int dsml_py_write_number(const char *num, size_t len, const dsml_sink *out)
{
    int is_float = 0;
    for (size_t i = 0; i < len; i++)
        if (num[i] == '.' || num[i] == 'e' || num[i] == 'E') is_float = 1;
    if (!is_float) {
        if (len == 2 && num[0] == '-' && num[1] == '0') return sink_put(out, "0", 1) ? -2 : 0;
        return sink_put(out, num, len) ? -2 : 0;
    }
    double d;
    char r[DSML_PY_FLOAT_MAX];
    if (dsml_json_number_to_double(num, len, &d)) return -1;
    int n = dsml_py_float_repr(d, r);
    if (n < 0) return -1;
    return sink_put(out, r, (size_t)n) ? -2 : 0;
}

/* ======================================================================================
 * Python json.dumps writer
 * ==================================================================================== */
static const char closer_tail[] = "\xEF\xBD\x9C" "DSML" "\xEF\xBD\x9C" "parameter";

int dsml_py_write_string(const char *s, size_t len, unsigned flags, const dsml_sink *out)
{
    static const char hex[] = "0123456789abcdef";
    const size_t tail = sizeof closer_tail - 1;
    if (sink_put(out, "\"", 1)) return -1;
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        size_t en = 0;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c, en = 2;
        } else if (c < 0x20) {
            esc[0] = '\\';
            switch (c) {
            case '\b': esc[1] = 'b', en = 2; break;
            case '\t': esc[1] = 't', en = 2; break;
            case '\n': esc[1] = 'n', en = 2; break;
            case '\f': esc[1] = 'f', en = 2; break;
            case '\r': esc[1] = 'r', en = 2; break;
            default:
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                en = 6;
            }
        } else if (c == '/' && (flags & DSML_PYJSON_GUARD_CLOSER) && len - i - 1 >= tail &&
                   !memcmp(s + i + 1, closer_tail, tail)) {
            memcpy(esc, "\\u002f", 6), en = 6;
        } else {
            continue;
        }
        if (sink_put(out, s + run, i - run) || sink_put(out, esc, en)) return -1;
        run = i + 1;
    }
    if (sink_put(out, s + run, len - run)) return -1;
    return sink_put(out, "\"", 1) ? -1 : 0;
}

static int wfail(dsml_jv_error *err, dsml_jv_code code, size_t off, const char *msg)
{
    if (err) {
        err->code = code;
        err->offset = off;
        err->msg = msg;
    }
    return -1;
}

int dsml_jv_write_py(const dsml_jv *v, unsigned flags, const dsml_sink *out, dsml_jv_error *err)
{
    static const char sink_msg[] = "output sink failed";
    switch (v->type) {
    case DSML_JV_NULL:
        return sink_put(out, "null", 4) ? wfail(err, DSML_JV_E_SINK, v->offset, sink_msg) : 0;
    case DSML_JV_FALSE:
        return sink_put(out, "false", 5) ? wfail(err, DSML_JV_E_SINK, v->offset, sink_msg) : 0;
    case DSML_JV_TRUE:
        return sink_put(out, "true", 4) ? wfail(err, DSML_JV_E_SINK, v->offset, sink_msg) : 0;
    case DSML_JV_NUMBER: {
        int r = dsml_py_write_number(v->u.s, v->len, out);
        if (r == -1)
            return wfail(err, DSML_JV_E_RANGE, v->offset,
                         "number outside the range of a double (Python would write Infinity)");
        return r ? wfail(err, DSML_JV_E_SINK, v->offset, sink_msg) : 0;
    }
    case DSML_JV_STRING:
        return dsml_py_write_string(v->u.s, v->len, flags, out)
                   ? wfail(err, DSML_JV_E_SINK, v->offset, sink_msg)
                   : 0;
    case DSML_JV_ARRAY:
        if (sink_put(out, "[", 1)) return wfail(err, DSML_JV_E_SINK, v->offset, sink_msg);
        for (size_t i = 0; i < v->len; i++) {
            if (i && sink_put(out, ", ", 2))
                return wfail(err, DSML_JV_E_SINK, v->offset, sink_msg);
            if (dsml_jv_write_py(&v->u.items[i], flags, out, err)) return -1;
        }
        return sink_put(out, "]", 1) ? wfail(err, DSML_JV_E_SINK, v->offset, sink_msg) : 0;
    case DSML_JV_OBJECT:
        if (sink_put(out, "{", 1)) return wfail(err, DSML_JV_E_SINK, v->offset, sink_msg);
        for (size_t i = 0; i < v->len; i++) {
            const dsml_jv_member *m = &v->u.members[i];
            if ((i && sink_put(out, ", ", 2)) ||
                dsml_py_write_string(m->key, m->key_len, flags, out) || sink_put(out, ": ", 2))
                return wfail(err, DSML_JV_E_SINK, m->key_offset, sink_msg);
            if (dsml_jv_write_py(&m->value, flags, out, err)) return -1;
        }
        return sink_put(out, "}", 1) ? wfail(err, DSML_JV_E_SINK, v->offset, sink_msg) : 0;
    }
    return wfail(err, DSML_JV_E_SYNTAX, v->offset, "invalid value");
}
