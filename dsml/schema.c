/*
 * schema.c - JSON Schema validation over the dsml_jv document model (dsml_schema.h).
 *
 * One recursive evaluator walks schema and instance together. It runs in two modes:
 * reporting (every error goes to the caller's callback with both JSON Pointers) and silent
 * (errors are only counted and the first message kept), which anyOf / oneOf / not / if use
 * to try alternatives without reporting their errors. Paths are kept as two stacks in
 * growable buffers (push = append a segment, pop = truncate), so no allocation happens per
 * keyword once the buffers have grown.
 *
 * Regular expressions are translated from ECMA-262 to POSIX ERE once per pattern and cached
 * by the address of the pattern's JSON value (the schema document is immutable while the
 * validator lives).
 *
 * Numbers are compared exactly on their decimal text: each number is seen as
 * sign * 0.D * 10^P with D its significant digits (no leading or trailing zeros).
 */
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_schema.h"

#define MAX_DEPTH 256
#define BRIEF_MAX 60

/* ---- codes -------------------------------------------------------------------------- */

const char *dsml_schema_code_name(dsml_schema_code code)
{
    switch (code) {
#define X(name, num, msg) case DSML_##name: return #name;
        DSML_SCHEMA_ERRORS(X)
#undef X
    case DSML_SCHEMA_OK: return "OK";
    }
    return "?";
}

const char *dsml_schema_code_message(dsml_schema_code code)
{
    switch (code) {
#define X(name, num, msg) case DSML_##name: return msg;
        DSML_SCHEMA_ERRORS(X)
#undef X
    case DSML_SCHEMA_OK: return "no error";
    }
    return "unknown code";
}

/* ---- exact decimal numbers ------------------------------------------------------------ */

typedef struct dec {
    int neg, zero;
    const char *ip, *fp; /* integer and fraction digits */
    size_t il, fl;
    size_t s, e;         /* first and last significant digit in ip‖fp (inclusive) */
    long long point;     /* value = 0.D * 10^point, D = digits s..e */
} dec;

static char dec_digit(const dec *d, size_t k) { return k < d->il ? d->ip[k] : d->fp[k - d->il]; }

static void dec_parse(const char *t, size_t n, dec *d)
{
    size_t i = 0;
    memset(d, 0, sizeof *d);
    if (i < n && (t[i] == '-' || t[i] == '+')) d->neg = t[i++] == '-';
    d->ip = t + i;
    while (i < n && t[i] >= '0' && t[i] <= '9') i++, d->il++;
    if (i < n && t[i] == '.') {
        i++;
        d->fp = t + i;
        while (i < n && t[i] >= '0' && t[i] <= '9') i++, d->fl++;
    }
    long long exp = 0;
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        int eneg = 0;
        i++;
        if (i < n && (t[i] == '-' || t[i] == '+')) eneg = t[i++] == '-';
        for (; i < n && t[i] >= '0' && t[i] <= '9'; i++)
            if (exp < 1000000000) exp = exp * 10 + (t[i] - '0');
        if (exp > 1000000000) exp = 1000000000;
        if (eneg) exp = -exp;
    }
    size_t total = d->il + d->fl, k;
    for (k = 0; k < total && dec_digit(d, k) == '0'; k++) {}
    if (k == total) {
        d->zero = 1;
        d->neg = 0;
        return;
    }
    d->s = k;
    for (k = total; k > d->s && dec_digit(d, k - 1) == '0'; k--) {}
    d->e = k - 1;
    d->point = (long long)d->il + exp - (long long)d->s;
}

static int dec_cmp_mag(const dec *a, const dec *b)
{
    if (a->point != b->point) return a->point > b->point ? 1 : -1;
    size_t na = a->e - a->s + 1, nb = b->e - b->s + 1;
    for (size_t k = 0; k < na || k < nb; k++) {
        char ca = k < na ? dec_digit(a, a->s + k) : '0';
        char cb = k < nb ? dec_digit(b, b->s + k) : '0';
        if (ca != cb) return ca > cb ? 1 : -1;
    }
    return 0;
}

int dsml_json_number_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    dec x, y;
    dec_parse(a, alen, &x);
    dec_parse(b, blen, &y);
    if (x.zero && y.zero) return 0;
    if (x.zero) return y.neg ? 1 : -1;
    if (y.zero) return x.neg ? -1 : 1;
    if (x.neg != y.neg) return x.neg ? -1 : 1;
    int m = dec_cmp_mag(&x, &y);
    return x.neg ? -m : m;
}

int dsml_json_number_is_integer(const char *num, size_t len)
{
    dec d;
    dec_parse(num, len, &d);
    return d.zero || (long long)(d.e - d.s + 1) <= d.point;
}

/* ---- JSON equality ------------------------------------------------------------------- */

static const dsml_jv *get_n(const dsml_jv *o, const char *k, size_t n)
{
    if (!o || o->type != DSML_JV_OBJECT) return NULL;
    for (size_t i = 0; i < o->len; i++)
        if (o->u.members[i].key_len == n && !memcmp(o->u.members[i].key, k, n))
            return &o->u.members[i].value;
    return NULL;
}

int dsml_jv_equal(const dsml_jv *a, const dsml_jv *b)
{
    if (!a || !b) return a == b;
    if (a->type != b->type) return 0;
    switch (a->type) {
    case DSML_JV_NULL:
    case DSML_JV_TRUE:
    case DSML_JV_FALSE: return 1;
    case DSML_JV_NUMBER: return dsml_json_number_cmp(a->u.s, a->len, b->u.s, b->len) == 0;
    case DSML_JV_STRING: return a->len == b->len && !memcmp(a->u.s, b->u.s, a->len);
    case DSML_JV_ARRAY:
        if (a->len != b->len) return 0;
        for (size_t i = 0; i < a->len; i++)
            if (!dsml_jv_equal(&a->u.items[i], &b->u.items[i])) return 0;
        return 1;
    case DSML_JV_OBJECT:
        if (a->len != b->len) return 0;
        for (size_t i = 0; i < a->len; i++) {
            const dsml_jv_member *m = &a->u.members[i];
            if (!dsml_jv_equal(&m->value, get_n(b, m->key, m->key_len))) return 0;
        }
        return 1;
    }
    return 0;
}

/* ---- validator state ------------------------------------------------------------------ */

typedef struct rx_entry {
    const dsml_jv *pat; /* the pattern string value (cache key) */
    regex_t re;
    int ok;             /* compiled */
    char why[128];      /* reason when not */
} rx_entry;

struct dsml_schema {
    const dsml_jv *root;
    rx_entry *rx;
    size_t nrx, caprx;
    /* per-run state */
    dsml_buf ipath, spath, msg, tmp, rxbuf;
    dsml_schema_fn fn;
    void *ud;
    int nerr, stop, oom;
    int silent;         /* > 0: count only */
    dsml_buf *first;    /* silent: where the first message goes (may be NULL) */
    int have_first;
    size_t silent_root;  /* silent: length of the instance path at the alternative's root */
    int type_miss;       /* silent: the alternative rejected the value's type itself */
    unsigned depth;
};

dsml_schema *dsml_schema_new(const dsml_jv *root)
{
    dsml_schema *s = calloc(1, sizeof *s);
    if (s) s->root = root;
    return s;
}

void dsml_schema_free(dsml_schema *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nrx; i++)
        if (s->rx[i].ok) regfree(&s->rx[i].re);
    free(s->rx);
    dsml_buf_free(&s->ipath);
    dsml_buf_free(&s->spath);
    dsml_buf_free(&s->msg);
    dsml_buf_free(&s->tmp);
    dsml_buf_free(&s->rxbuf);
    free(s);
}

/* Path stacks: push returns the old length, pop restores it. */
static size_t push_key(dsml_buf *b, const char *k, size_t n)
{
    size_t old = b->len;
    dsml_buf_putc(b, '/');
    for (size_t i = 0; i < n; i++) {
        if (k[i] == '~') dsml_buf_puts(b, "~0");
        else if (k[i] == '/') dsml_buf_puts(b, "~1");
        else dsml_buf_putc(b, k[i]);
    }
    return old;
}

static size_t push_str(dsml_buf *b, const char *k) { return push_key(b, k, strlen(k)); }

static size_t push_index(dsml_buf *b, size_t i)
{
    size_t old = b->len;
    dsml_buf_printf(b, "/%zu", i);
    return old;
}

static void pop(dsml_buf *b, size_t old)
{
    b->len = old;
    if (b->data) b->data[old] = 0;
}

static const char *cstr(dsml_buf *b)
{
    if (!b->data) dsml_buf_reserve(b, 1);
    return b->data ? b->data : "";
}

/* A short rendering of a value for messages (compact JSON, cut at BRIEF_MAX bytes). */
static const char *brief(dsml_schema *s, const dsml_jv *v)
{
    dsml_buf_clear(&s->tmp);
    dsml_sink sink = dsml_buf_sink(&s->tmp);
    if (dsml_jv_write_py(v, 0, &sink, NULL)) {
        dsml_buf_clear(&s->tmp);
        dsml_buf_puts(&s->tmp, "?");
    }
    if (s->tmp.len > BRIEF_MAX) {
        size_t cut = BRIEF_MAX;
        while (cut > 0 && ((unsigned char)s->tmp.data[cut] & 0xC0) == 0x80) cut--;
        pop(&s->tmp, cut);
        dsml_buf_puts(&s->tmp, "\xE2\x80\xA6");
    }
    return cstr(&s->tmp);
}

static const char *type_name(const dsml_jv *v)
{
    switch (v->type) {
    case DSML_JV_NULL: return "null";
    case DSML_JV_TRUE:
    case DSML_JV_FALSE: return "boolean";
    case DSML_JV_NUMBER: return dsml_json_number_is_integer(v->u.s, v->len) ? "integer" : "number";
    case DSML_JV_STRING: return "string";
    case DSML_JV_ARRAY: return "array";
    case DSML_JV_OBJECT: return "object";
    }
    return "?";
}

static unsigned inst_type(const dsml_jv *v)
{
    switch (v->type) {
    case DSML_JV_NULL: return DSML_ST_NULL;
    case DSML_JV_TRUE:
    case DSML_JV_FALSE: return DSML_ST_BOOLEAN;
    case DSML_JV_NUMBER:
        return dsml_json_number_is_integer(v->u.s, v->len) ? DSML_ST_INTEGER : DSML_ST_NUMBER;
    case DSML_JV_STRING: return DSML_ST_STRING;
    case DSML_JV_ARRAY: return DSML_ST_ARRAY;
    case DSML_JV_OBJECT: return DSML_ST_OBJECT;
    }
    return 0;
}

/* Bits for a type name; 0 when unknown. */
static unsigned type_bits(const char *t, size_t n)
{
    static const struct { const char *name; unsigned bits; } names[] = {
        {"null", DSML_ST_NULL},       {"boolean", DSML_ST_BOOLEAN},
        {"integer", DSML_ST_INTEGER}, {"number", DSML_ST_INTEGER | DSML_ST_NUMBER},
        {"string", DSML_ST_STRING},   {"array", DSML_ST_ARRAY},
        {"object", DSML_ST_OBJECT},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i].name) == n && !memcmp(names[i].name, t, n)) return names[i].bits;
    return 0;
}

/* Bits allowed by a `type` keyword value (+ nullable); DSML_ST_ANY when malformed. */
static unsigned type_kw_bits(const dsml_jv *t, const dsml_jv *nullable)
{
    unsigned bits = 0;
    if (t->type == DSML_JV_STRING) bits = type_bits(t->u.s, t->len);
    else if (t->type == DSML_JV_ARRAY)
        for (size_t i = 0; i < t->len; i++)
            if (t->u.items[i].type == DSML_JV_STRING)
                bits |= type_bits(t->u.items[i].u.s, t->u.items[i].len);
    if (!bits) return DSML_ST_ANY;
    if (nullable && nullable->type == DSML_JV_TRUE) bits |= DSML_ST_NULL;
    return bits;
}

static void type_list(dsml_buf *b, unsigned bits)
{
    static const char *const names[] = {"null", "boolean", "integer", "number", "string",
                                        "array", "object"};
    int n = 0;
    if ((bits & (DSML_ST_INTEGER | DSML_ST_NUMBER)) == (DSML_ST_INTEGER | DSML_ST_NUMBER))
        bits &= ~(unsigned)DSML_ST_INTEGER;
    for (int i = 0; i < 7; i++)
        if (bits & (1u << i)) {
            if (n++) dsml_buf_puts(b, " or ");
            dsml_buf_puts(b, names[i]);
        }
}

/* Report one error (or count it in silent mode). */
static void report(dsml_schema *s, dsml_schema_code code, const dsml_jv *inst, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
static void report(dsml_schema *s, dsml_schema_code code, const dsml_jv *inst, const char *fmt,
                   ...)
{
    if (s->stop) return;
    s->nerr++;
    if (s->silent && code == DSML_S_TYPE && s->ipath.len == s->silent_root) s->type_miss = 1;
    if (s->silent && (s->have_first || !s->first)) return;
    dsml_buf_clear(&s->msg);
    va_list ap;
    va_start(ap, fmt);
    char small[512];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n > 0) dsml_buf_add(&s->msg, small, (size_t)n < sizeof small ? (size_t)n : sizeof small - 1);
    if (s->silent) {
        s->have_first = 1;
        dsml_buf_clear(s->first);
        dsml_buf_printf(s->first, "%s: %s", s->ipath.len ? s->ipath.data : "/", cstr(&s->msg));
        return;
    }
    if (s->ipath.oom || s->spath.oom || s->msg.oom) {
        s->oom = 1;
        s->stop = 1;
        return;
    }
    dsml_schema_error e = {code, cstr(&s->ipath), cstr(&s->spath), inst ? inst->offset : 0,
                           cstr(&s->msg)};
    if (s->fn && s->fn(s->ud, &e)) s->stop = 1;
}

/* ---- $ref ---------------------------------------------------------------------------- */

static int hexv(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Resolve a local reference ("#", "#/a/b"); NULL when it is not local or does not resolve. */
static const dsml_jv *resolve_ref(const dsml_schema *s, const dsml_jv *ref)
{
    if (ref->type != DSML_JV_STRING || ref->len == 0 || ref->u.s[0] != '#') return NULL;
    const char *p = ref->u.s + 1, *e = ref->u.s + ref->len;
    const dsml_jv *cur = s->root;
    if (p == e) return cur;
    if (*p != '/') return NULL;
    char seg[256];
    while (p < e && cur) {
        p++; /* '/' */
        size_t n = 0;
        while (p < e && *p != '/') {
            char c = *p++;
            if (c == '~' && p < e && (*p == '0' || *p == '1')) c = *p++ == '0' ? '~' : '/';
            else if (c == '%' && e - p >= 2 && hexv(p[0]) >= 0 && hexv(p[1]) >= 0) {
                c = (char)(hexv(p[0]) * 16 + hexv(p[1]));
                p += 2;
            }
            if (n >= sizeof seg) return NULL;
            seg[n++] = c;
        }
        if (cur->type == DSML_JV_OBJECT) cur = get_n(cur, seg, n);
        else if (cur->type == DSML_JV_ARRAY) {
            size_t idx = 0, k;
            for (k = 0; k < n && seg[k] >= '0' && seg[k] <= '9' && idx < 100000000; k++)
                idx = idx * 10 + (size_t)(seg[k] - '0');
            cur = (n && k == n && idx < cur->len) ? &cur->u.items[idx] : NULL;
        } else return NULL;
    }
    return cur;
}

/* ---- regular expressions: ECMA-262 -> POSIX ERE ---------------------------------------- */

static int is_ere_meta(int c) { return c && strchr(".[]()*+?{}|^$\\", c) != NULL; }

static void put_utf8(dsml_buf *o, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) b[0] = (char)cp, n = 1;
    else if (cp < 0x800) b[0] = (char)(0xC0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        b[0] = (char)(0xE0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        b[0] = (char)(0xF0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    dsml_buf_add(o, b, n);
}

/* Read \uXXXX or \xHH at p[*i] (after the letter); returns the code point or -1. */
static long read_hex(const char *p, size_t n, size_t *i, int digits)
{
    long v = 0;
    for (int k = 0; k < digits; k++) {
        if (*i >= n || hexv(p[*i]) < 0) return -1;
        v = v * 16 + hexv(p[(*i)++]);
    }
    return v;
}

/* Character escape shared by both contexts: sets *cp, returns 1; 0 when not a character. */
static int char_escape(char e, const char *p, size_t n, size_t *i, long *cp)
{
    switch (e) {
    case 't': *cp = '\t'; return 1;
    case 'n': *cp = '\n'; return 1;
    case 'r': *cp = '\r'; return 1;
    case 'f': *cp = '\f'; return 1;
    case 'v': *cp = '\v'; return 1;
    case 'u': *cp = read_hex(p, n, i, 4); return *cp > 0 ? 1 : -1;
    case 'x': *cp = read_hex(p, n, i, 2); return *cp > 0 ? 1 : -1;
    default:
        if ((e >= 0x21 && e <= 0x2F) || (e >= 0x3A && e <= 0x40) || (e >= 0x5B && e <= 0x60) ||
            (e >= 0x7B && e <= 0x7E)) {
            *cp = e;
            return 1;
        }
    }
    return 0;
}

static int translate_class(const char *p, size_t n, size_t *pi, dsml_buf *o, const char **why)
{
    size_t i = *pi + 1; /* past '[' */
    int neg = 0, rbr = 0, dash = 0, caret = 0;
    dsml_buf body = {0};
    if (i < n && p[i] == '^') neg = 1, i++;
    while (i < n && p[i] != ']') {
        char c = p[i];
        if (c == '\\') {
            if (i + 1 >= n) break;
            char e = p[i + 1];
            i += 2;
            long cp;
            if (e == 'd') dsml_buf_puts(&body, "0-9");
            else if (e == 'w') dsml_buf_puts(&body, "A-Za-z0-9_");
            else if (e == 's') dsml_buf_puts(&body, "[:space:]");
            else if (e == 'b') dsml_buf_putc(&body, '\b');
            else if (e == 'D' || e == 'W' || e == 'S') {
                *why = "\\D, \\W or \\S inside brackets";
                goto fail;
            } else {
                int r = char_escape(e, p, n, &i, &cp);
                if (r <= 0) {
                    *why = r < 0 ? "bad \\u or \\x escape" : "unsupported escape in brackets";
                    goto fail;
                }
                if (cp == ']') rbr = 1;
                else if (cp == '-') dash = 1;
                else if (cp == '^') caret = 1;
                else if (cp == '[' && i < n && (p[i] == ':' || p[i] == '.' || p[i] == '=')) {
                    *why = "'[' followed by ':', '.' or '=' inside brackets";
                    goto fail;
                } else put_utf8(&body, (unsigned long)cp);
            }
            continue;
        }
        if (c == '-' && (body.len == 0 || i + 1 >= n || p[i + 1] == ']')) {
            dash = 1;
            i++;
            continue;
        }
        if (c == '^') {
            caret = 1;
            i++;
            continue;
        }
        if (c == '[' && i + 1 < n && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
            *why = "'[' followed by ':', '.' or '=' inside brackets";
            goto fail;
        }
        dsml_buf_putc(&body, c);
        i++;
    }
    if (i >= n) {
        *why = "unterminated bracket expression";
        goto fail;
    }
    if (!body.len && !rbr && !dash && !caret) {
        *why = "empty bracket expression";
        goto fail;
    }
    *pi = i + 1;
    if (!neg && !body.len && !rbr && !dash) { /* just '^' */
        dsml_buf_puts(o, "\\^");
        dsml_buf_free(&body);
        return 0;
    }
    dsml_buf_putc(o, '[');
    if (neg) dsml_buf_putc(o, '^');
    if (rbr) dsml_buf_putc(o, ']');
    if (body.len) dsml_buf_add(o, body.data, body.len);
    if (caret) dsml_buf_putc(o, '^');
    if (dash) dsml_buf_putc(o, '-');
    dsml_buf_putc(o, ']');
    dsml_buf_free(&body);
    return 0;
fail:
    dsml_buf_free(&body);
    return -1;
}

/* Translate an ECMA-262 pattern to POSIX ERE. Returns 0, or -1 with *why set. */
static int translate(const char *p, size_t n, dsml_buf *o, const char **why)
{
    size_t i = 0;
    while (i < n) {
        char c = p[i];
        if (c == '\\') {
            if (i + 1 >= n) {
                *why = "trailing backslash";
                return -1;
            }
            char e = p[i + 1];
            i += 2;
            long cp;
            switch (e) {
            case 'd': dsml_buf_puts(o, "[0-9]"); continue;
            case 'D': dsml_buf_puts(o, "[^0-9]"); continue;
            case 'w': dsml_buf_puts(o, "[A-Za-z0-9_]"); continue;
            case 'W': dsml_buf_puts(o, "[^A-Za-z0-9_]"); continue;
            case 's': dsml_buf_puts(o, "[[:space:]]"); continue;
            case 'S': dsml_buf_puts(o, "[^[:space:]]"); continue;
            case 'b': dsml_buf_puts(o, "\\b"); continue;
            case 'B': dsml_buf_puts(o, "\\B"); continue;
            default: break;
            }
            int r = char_escape(e, p, n, &i, &cp);
            if (r <= 0) {
                *why = r < 0 ? "bad \\u or \\x escape"
                             : (e >= '1' && e <= '9') ? "backreference"
                             : (e == 'p' || e == 'P') ? "Unicode property escape"
                                                      : "unsupported escape";
                return -1;
            }
            if (cp < 0x80 && is_ere_meta((int)cp)) dsml_buf_putc(o, '\\');
            put_utf8(o, (unsigned long)cp);
            continue;
        }
        if (c == '[') {
            if (translate_class(p, n, &i, o, why)) return -1;
            continue;
        }
        if (c == '(') {
            if (i + 1 < n && p[i + 1] == '?') {
                if (i + 2 < n && p[i + 2] == ':') {
                    dsml_buf_putc(o, '(');
                    i += 3;
                    continue;
                }
                *why = "lookaround or named group";
                return -1;
            }
            dsml_buf_putc(o, '(');
            i++;
            continue;
        }
        if (c == '*' || c == '+' || c == '?') {
            dsml_buf_putc(o, c);
            i++;
            if (i < n && p[i] == '?') i++; /* lazy: same match existence */
            continue;
        }
        if (c == '{') {
            size_t j = i + 1, d1 = 0, d2 = 0;
            while (j < n && p[j] >= '0' && p[j] <= '9') j++, d1++;
            if (d1 && j < n && p[j] == ',') {
                j++;
                while (j < n && p[j] >= '0' && p[j] <= '9') j++, d2++;
            }
            if (d1 && j < n && p[j] == '}') {
                dsml_buf_add(o, p + i, j + 1 - i);
                i = j + 1;
                if (i < n && p[i] == '?') i++;
            } else {
                dsml_buf_puts(o, "\\{");
                i++;
            }
            continue;
        }
        dsml_buf_putc(o, c);
        i++;
    }
    return 0;
}

/* The compiled regex for a pattern, cached under `key` (the address of a value in the schema
 * document); `pat` holds the pattern text. NULL only when out of memory; an entry that
 * could not be compiled has ok == 0 and a reason. */
static rx_entry *regex_for_key(dsml_schema *s, const dsml_jv *key, const dsml_jv *pat)
{
    for (size_t i = 0; i < s->nrx; i++)
        if (s->rx[i].pat == key) return &s->rx[i];
    if (s->nrx == s->caprx) {
        size_t cap = s->caprx ? s->caprx * 2 : 8;
        rx_entry *r = realloc(s->rx, cap * sizeof *r);
        if (!r) {
            s->oom = 1;
            return NULL;
        }
        s->rx = r;
        s->caprx = cap;
    }
    rx_entry *e = &s->rx[s->nrx++];
    memset(e, 0, sizeof *e);
    e->pat = key;
    dsml_buf ere = {0};
    const char *why = NULL;
    if (pat->type != DSML_JV_STRING) why = "pattern is not a string";
    else if (memchr(pat->u.s, 0, pat->len)) why = "NUL in pattern";
    else if (!translate(pat->u.s, pat->len, &ere, &why)) {
        if (!ere.data) dsml_buf_reserve(&ere, 1);
        if (ere.oom) {
            s->oom = 1;
            why = "out of memory";
        } else {
            int rc = regcomp(&e->re, ere.data, REG_EXTENDED | REG_NOSUB);
            if (rc == 0) e->ok = 1;
            else {
                char err[64];
                regerror(rc, &e->re, err, sizeof err);
                snprintf(e->why, sizeof e->why, "not a valid regular expression (%s)", err);
            }
        }
    }
    if (why) snprintf(e->why, sizeof e->why, "%s", why);
    dsml_buf_free(&ere);
    return e;
}

static rx_entry *regex_for(dsml_schema *s, const dsml_jv *pat) { return regex_for_key(s, pat, pat); }

/* The regex of patternProperties member m (the key is the pattern, cached under its value). */
static rx_entry *regex_for_member(dsml_schema *s, const dsml_jv_member *m)
{
    dsml_jv text = {.type = DSML_JV_STRING, .len = m->key_len, .u.s = m->key,
                    .offset = m->key_offset};
    return regex_for_key(s, &m->value, &text);
}

/* regexec needs a NUL-terminated string even with REG_STARTEND (sanitizers and some C
 * libraries measure it), and JSON strings in a document are not: match on a copy. */
static int regex_match(dsml_schema *s, const rx_entry *e, const char *str, size_t len)
{
    dsml_buf_clear(&s->rxbuf);
    if (dsml_buf_add(&s->rxbuf, str, len) || dsml_buf_reserve(&s->rxbuf, 1)) {
        s->oom = 1;
        return 1;
    }
    regmatch_t m[1];
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)len;
    return regexec(&e->re, s->rxbuf.data, 1, m, REG_STARTEND) == 0;
}

/* ---- the evaluator -------------------------------------------------------------------- */

static void eval(dsml_schema *s, const dsml_jv *sch, const dsml_jv *inst);

/* Evaluate silently; returns the error count, puts the first message in *first and tells
 * (*type_miss) whether the alternative rejected the value's type at its root. */
static int eval_silent(dsml_schema *s, const dsml_jv *sch, const dsml_jv *inst, dsml_buf *first,
                       int *type_miss)
{
    int nerr = s->nerr, have = s->have_first, stop = s->stop, miss = s->type_miss;
    size_t root = s->silent_root;
    dsml_buf *f = s->first;
    s->silent++;
    s->nerr = 0;
    s->have_first = 0;
    s->first = first;
    s->silent_root = s->ipath.len;
    s->type_miss = 0;
    eval(s, sch, inst);
    int n = s->nerr;
    if (type_miss) *type_miss = s->type_miss;
    s->silent--;
    s->nerr = nerr;
    s->have_first = have;
    s->first = f;
    s->stop = stop;
    s->silent_root = root;
    s->type_miss = miss;
    return n;
}

/* Evaluate sch against inst with `kw` (and an optional index) pushed on the schema path. */
static void eval_at(dsml_schema *s, const dsml_jv *sch, const dsml_jv *inst, const char *kw,
                    long idx)
{
    size_t sp = push_str(&s->spath, kw);
    if (idx >= 0) push_index(&s->spath, (size_t)idx);
    eval(s, sch, inst);
    pop(&s->spath, sp);
}

static int is_count(const dsml_jv *v, size_t *out)
{
    if (!v || v->type != DSML_JV_NUMBER || v->len == 0 || v->u.s[0] == '-' ||
        !dsml_json_number_is_integer(v->u.s, v->len))
        return 0;
    double d;
    if (dsml_json_number_to_double(v->u.s, v->len, &d)) return 0;
    *out = d > 1e15 ? (size_t)1e15 : (size_t)d;
    return 1;
}

static size_t utf8_count(const char *p, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)p[i] & 0xC0) != 0x80;
    return c;
}

static void kw_type(dsml_schema *s, const dsml_jv *sch, const dsml_jv *inst)
{
    const dsml_jv *t = dsml_jv_get(sch, "type");
    if (!t) return;
    unsigned bits = type_kw_bits(t, dsml_jv_get(sch, "nullable"));
    if (bits & inst_type(inst)) return;
    size_t sp = push_str(&s->spath, "type");
    dsml_buf want = {0};
    type_list(&want, bits);
    report(s, DSML_S_TYPE, inst, "expected %s, got %s %s", want.data ? want.data : "?",
           type_name(inst), brief(s, inst));
    dsml_buf_free(&want);
    pop(&s->spath, sp);
}

static void kw_enum_const(dsml_schema *s, const dsml_jv *sch, const dsml_jv *inst)
{
    const dsml_jv *en = dsml_jv_get(sch, "enum");
    if (en && en->type == DSML_JV_ARRAY) {
        size_t i;
        for (i = 0; i < en->len; i++)
            if (dsml_jv_equal(&en->u.items[i], inst)) break;
        if (i == en->len) {
            size_t sp = push_str(&s->spath, "enum");
            dsml_buf v = {0};
            dsml_buf_puts(&v, brief(s, inst));
            report(s, DSML_S_ENUM, inst, "%s is not one of %s", v.data ? v.data : "",
                   brief(s, en));
            dsml_buf_free(&v);
            pop(&s->spath, sp);
        }
    }
    const dsml_jv *co = dsml_jv_get(sch, "const");
    if (co && !dsml_jv_equal(co, inst)) {
        size_t sp = push_str(&s->spath, "const");
        dsml_buf v = {0};
        dsml_buf_puts(&v, brief(s, inst));
        report(s, DSML_S_CONST, inst, "%s differs from the constant %s", v.data ? v.data : "",
               brief(s, co));
        dsml_buf_free(&v);
        pop(&s->spath, sp);
    }
}

static void kw_number(dsml_schema *s, const dsml_jv *sch, const dsml_jv *inst)
{
    const char *x = inst->u.s;
    size_t xl = inst->len;
    const dsml_jv *k;
    int cmp;
    int exmin_bool = dsml_jv_get(sch, "exclusiveMinimum") &&
                     dsml_jv_get(sch, "exclusiveMinimum")->type == DSML_JV_TRUE;
    int exmax_bool = dsml_jv_get(sch, "exclusiveMaximum") &&
                     dsml_jv_get(sch, "exclusiveMaximum")->type == DSML_JV_TRUE;
    if ((k = dsml_jv_get(sch, "minimum")) && k->type == DSML_JV_NUMBER) {
        cmp = dsml_json_number_cmp(x, xl, k->u.s, k->len);
        if (cmp < 0 || (exmin_bool && cmp == 0)) {
            size_t sp = push_str(&s->spath, "minimum");
            report(s, DSML_S_MINIMUM, inst, "%.*s is %s %.*s", (int)xl, x,
                   cmp < 0 ? "less than the minimum" : "not greater than the exclusive minimum",
                   (int)k->len, k->u.s);
            pop(&s->spath, sp);
        }
    }
    if ((k = dsml_jv_get(sch, "maximum")) && k->type == DSML_JV_NUMBER) {
        cmp = dsml_json_number_cmp(x, xl, k->u.s, k->len);
        if (cmp > 0 || (exmax_bool && cmp == 0)) {
            size_t sp = push_str(&s->spath, "maximum");
            report(s, DSML_S_MAXIMUM, inst, "%.*s is %s %.*s", (int)xl, x,
                   cmp > 0 ? "greater than the maximum" : "not less than the exclusive maximum",
                   (int)k->len, k->u.s);
            pop(&s->spath, sp);
        }
    }
    if ((k = dsml_jv_get(sch, "exclusiveMinimum")) && k->type == DSML_JV_NUMBER &&
        dsml_json_number_cmp(x, xl, k->u.s, k->len) <= 0) {
        size_t sp = push_str(&s->spath, "exclusiveMinimum");
        report(s, DSML_S_MINIMUM, inst, "%.*s is not greater than the exclusive minimum %.*s",
               (int)xl, x, (int)k->len, k->u.s);
        pop(&s->spath, sp);
    }
    if ((k = dsml_jv_get(sch, "exclusiveMaximum")) && k->type == DSML_JV_NUMBER &&
        dsml_json_number_cmp(x, xl, k->u.s, k->len) >= 0) {
        size_t sp = push_str(&s->spath, "exclusiveMaximum");
        report(s, DSML_S_MAXIMUM, inst, "%.*s is not less than the exclusive maximum %.*s",
               (int)xl, x, (int)k->len, k->u.s);
        pop(&s->spath, sp);
    }
    if ((k = dsml_jv_get(sch, "multipleOf")) && k->type == DSML_JV_NUMBER) {
        double a, m;
        if (!dsml_json_number_to_double(x, xl, &a) && !dsml_json_number_to_double(k->u.s, k->len, &m) &&
            m > 0 && isfinite(a) && isfinite(m)) {
            double q = a / m;
            if (isfinite(q) && fabs(q - nearbyint(q)) > 1e-9 * fmax(1.0, fabs(q))) {
                size_t sp = push_str(&s->spath, "multipleOf");
                report(s, DSML_S_MULTIPLE_OF, inst, "%.*s is not a multiple of %.*s", (int)xl, x,
                       (int)k->len, k->u.s);
                pop(&s->spath, sp);
            }
        }
    }
}

static void kw_string(dsml_schema *s, const dsml_jv *sch, const dsml_jv *inst)
{
    size_t lim, n = 0;
    int counted = 0;
    const dsml_jv *k;
    if ((k = dsml_jv_get(sch, "minLength")) && is_count(k, &lim)) {
        n = utf8_count(inst->u.s, inst->len), counted = 1;
        if (n < lim) {
            size_t sp = push_str(&s->spath, "minLength");
            report(s, DSML_S_MIN_LENGTH, inst, "string of %zu characters is shorter than %zu", n,
                   lim);
            pop(&s->spath, sp);
        }
    }
    if ((k = dsml_jv_get(sch, "maxLength")) && is_count(k, &lim)) {
        if (!counted) n = utf8_count(inst->u.s, inst->len);
        if (n > lim) {
            size_t sp = push_str(&s->spath, "maxLength");
            report(s, DSML_S_MAX_LENGTH, inst, "string of %zu characters is longer than %zu", n,
                   lim);
            pop(&s->spath, sp);
        }
    }
    if ((k = dsml_jv_get(sch, "pattern")) && k->type == DSML_JV_STRING) {
        rx_entry *e = regex_for(s, k);
        if (e && e->ok && !regex_match(s, e, inst->u.s, inst->len)) {
            size_t sp = push_str(&s->spath, "pattern");
            dsml_buf v = {0};
            dsml_buf_puts(&v, brief(s, inst));
            report(s, DSML_S_PATTERN, inst, "%s does not match /%.*s/", v.data ? v.data : "",
                   (int)(k->len > 80 ? 80 : k->len), k->u.s);
            dsml_buf_free(&v);
            pop(&s->spath, sp);
        }
    }
}

static void kw_array(dsml_schema *s, const dsml_jv *sch, const dsml_jv *inst)
{
    size_t lim;
    const dsml_jv *k, *items = dsml_jv_get(sch, "items"), *prefix = dsml_jv_get(sch, "prefixItems");
    if ((k = dsml_jv_get(sch, "minItems")) && is_count(k, &lim) && inst->len < lim) {
        size_t sp = push_str(&s->spath, "minItems");
        report(s, DSML_S_MIN_ITEMS, inst, "array of %zu items has fewer than %zu", inst->len, lim);
        pop(&s->spath, sp);
    }
    if ((k = dsml_jv_get(sch, "maxItems")) && is_count(k, &lim) && inst->len > lim) {
        size_t sp = push_str(&s->spath, "maxItems");
        report(s, DSML_S_MAX_ITEMS, inst, "array of %zu items has more than %zu", inst->len, lim);
        pop(&s->spath, sp);
    }
    if ((k = dsml_jv_get(sch, "uniqueItems")) && k->type == DSML_JV_TRUE) {
        for (size_t i = 0; i < inst->len && !s->stop; i++)
            for (size_t j = i + 1; j < inst->len; j++)
                if (dsml_jv_equal(&inst->u.items[i], &inst->u.items[j])) {
                    size_t sp = push_str(&s->spath, "uniqueItems");
                    report(s, DSML_S_UNIQUE_ITEMS, inst, "items %zu and %zu are equal", i, j);
                    pop(&s->spath, sp);
                    i = inst->len;
                    break;
                }
    }
    /* tuple part: prefixItems (2020-12) or items as an array (draft 4-2019) */
    const dsml_jv *tuple = prefix && prefix->type == DSML_JV_ARRAY ? prefix
                           : items && items->type == DSML_JV_ARRAY ? items
                                                                    : NULL;
    const char *tuple_kw = tuple == prefix ? "prefixItems" : "items";
    const dsml_jv *rest = NULL;
    const char *rest_kw = NULL;
    if (tuple == items) rest = dsml_jv_get(sch, "additionalItems"), rest_kw = "additionalItems";
    else if (items && items->type != DSML_JV_ARRAY) rest = items, rest_kw = "items";
    size_t ntuple = tuple ? tuple->len : 0;
    for (size_t i = 0; i < inst->len && !s->stop; i++) {
        const dsml_jv *sub = i < ntuple ? &tuple->u.items[i] : rest;
        if (!sub) continue;
        size_t ip = push_index(&s->ipath, i);
        eval_at(s, sub, &inst->u.items[i], i < ntuple ? tuple_kw : rest_kw,
                i < ntuple ? (long)i : -1);
        pop(&s->ipath, ip);
    }
}

/* 1 when the key of instance member m matches the pattern of patternProperties member pm. */
static int key_matches(dsml_schema *s, const dsml_jv_member *pm, const dsml_jv_member *m)
{
    rx_entry *e = regex_for_member(s, pm);
    return e && e->ok && regex_match(s, e, m->key, m->key_len);
}

static void kw_object(dsml_schema *s, const dsml_jv *sch, const dsml_jv *inst)
{
    size_t lim;
    const dsml_jv *k;
    const dsml_jv *props = dsml_jv_get(sch, "properties");
    const dsml_jv *pp = dsml_jv_get(sch, "patternProperties");
    const dsml_jv *ap = dsml_jv_get(sch, "additionalProperties");
    if (props && props->type != DSML_JV_OBJECT) props = NULL;
    if (pp && pp->type != DSML_JV_OBJECT) pp = NULL;
    if ((k = dsml_jv_get(sch, "required")) && k->type == DSML_JV_ARRAY) {
        for (size_t i = 0; i < k->len && !s->stop; i++) {
            const dsml_jv *r = &k->u.items[i];
            if (r->type != DSML_JV_STRING || get_n(inst, r->u.s, r->len)) continue;
            size_t sp = push_str(&s->spath, "required");
            push_index(&s->spath, i);
            report(s, DSML_S_REQUIRED, inst, "required property \"%.*s\" is missing",
                   (int)r->len, r->u.s);
            pop(&s->spath, sp);
        }
    }
    if ((k = dsml_jv_get(sch, "minProperties")) && is_count(k, &lim) && inst->len < lim) {
        size_t sp = push_str(&s->spath, "minProperties");
        report(s, DSML_S_MIN_PROPERTIES, inst, "object of %zu properties has fewer than %zu",
               inst->len, lim);
        pop(&s->spath, sp);
    }
    if ((k = dsml_jv_get(sch, "maxProperties")) && is_count(k, &lim) && inst->len > lim) {
        size_t sp = push_str(&s->spath, "maxProperties");
        report(s, DSML_S_MAX_PROPERTIES, inst, "object of %zu properties has more than %zu",
               inst->len, lim);
        pop(&s->spath, sp);
    }
    for (size_t i = 0; i < inst->len && !s->stop; i++) {
        const dsml_jv_member *m = &inst->u.members[i];
        size_t ip = push_key(&s->ipath, m->key, m->key_len);
        const dsml_jv *ps = get_n(props, m->key, m->key_len);
        int known = ps != NULL;
        if (ps) {
            size_t sp = push_str(&s->spath, "properties");
            push_key(&s->spath, m->key, m->key_len);
            eval(s, ps, &m->value);
            pop(&s->spath, sp);
        }
        if (pp)
            for (size_t j = 0; j < pp->len && !s->stop; j++) {
                const dsml_jv_member *pm = &pp->u.members[j];
                if (!key_matches(s, pm, m)) continue;
                known = 1;
                size_t sp = push_str(&s->spath, "patternProperties");
                push_key(&s->spath, pm->key, pm->key_len);
                eval(s, &pm->value, &m->value);
                pop(&s->spath, sp);
            }
        if (!known && ap) {
            if (ap->type == DSML_JV_FALSE) {
                size_t sp = push_str(&s->spath, "additionalProperties");
                dsml_buf allowed = {0};
                for (size_t j = 0; props && j < props->len && j < 8; j++) {
                    dsml_buf_puts(&allowed, j ? ", " : "");
                    dsml_buf_add(&allowed, props->u.members[j].key, props->u.members[j].key_len);
                }
                if (props && props->len > 8) dsml_buf_puts(&allowed, ", \xE2\x80\xA6");
                report(s, DSML_S_ADDITIONAL, &m->value,
                       "property \"%.*s\" is not allowed (known: %s)", (int)m->key_len, m->key,
                       allowed.data ? allowed.data : "none");
                dsml_buf_free(&allowed);
                pop(&s->spath, sp);
            } else if (ap->type == DSML_JV_OBJECT) {
                eval_at(s, ap, &m->value, "additionalProperties", -1);
            }
        }
        pop(&s->ipath, ip);
    }
}

/* anyOf (one_of 0) or oneOf (one_of 1): alternatives are tried silently; one error names the
 * closest alternative (fewest errors) and its first error. */
static void kw_alternatives(dsml_schema *s, const dsml_jv *alts, const dsml_jv *inst, int one_of)
{
    const char *kw = one_of ? "oneOf" : "anyOf";
    size_t valid = 0, best = 0, firstv = 0, secondv = 0;
    int best_n = -1;
    dsml_buf best_msg = {0}, msg = {0};
    for (size_t i = 0; i < alts->len; i++) {
        size_t sp = push_str(&s->spath, kw);
        push_index(&s->spath, i);
        dsml_buf_clear(&msg);
        int miss = 0;
        int n = eval_silent(s, &alts->u.items[i], inst, &msg, &miss);
        pop(&s->spath, sp);
        if (n == 0) {
            if (valid == 0) firstv = i;
            else if (valid == 1) secondv = i;
            valid++;
            if (!one_of || valid > 1) break;
        } else if (best_n < 0 || n + (miss ? 1000 : 0) < best_n) {
            /* closest: the fewest errors, preferring alternatives of the value's type */
            best_n = n + (miss ? 1000 : 0);
            best = i;
            dsml_buf_clear(&best_msg);
            dsml_buf_add(&best_msg, msg.data ? msg.data : "?", msg.data ? msg.len : 1);
        }
    }
    size_t sp = push_str(&s->spath, kw);
    if (valid == 0)
        report(s, one_of ? DSML_S_ONE_OF : DSML_S_ANY_OF, inst,
               "matches none of the %zu alternatives (closest, #%zu: %s)", alts->len, best,
               best_msg.data ? best_msg.data : "?");
    else if (one_of && valid > 1)
        report(s, DSML_S_ONE_OF, inst, "matches more than one of the %zu alternatives (#%zu and #%zu)",
               alts->len, firstv, secondv);
    pop(&s->spath, sp);
    dsml_buf_free(&best_msg);
    dsml_buf_free(&msg);
}

static void kw_combinators(dsml_schema *s, const dsml_jv *sch, const dsml_jv *inst)
{
    const dsml_jv *k;
    if ((k = dsml_jv_get(sch, "allOf")) && k->type == DSML_JV_ARRAY)
        for (size_t i = 0; i < k->len && !s->stop; i++)
            eval_at(s, &k->u.items[i], inst, "allOf", (long)i);
    if ((k = dsml_jv_get(sch, "anyOf")) && k->type == DSML_JV_ARRAY && k->len && !s->stop)
        kw_alternatives(s, k, inst, 0);
    if ((k = dsml_jv_get(sch, "oneOf")) && k->type == DSML_JV_ARRAY && k->len && !s->stop)
        kw_alternatives(s, k, inst, 1);
    if ((k = dsml_jv_get(sch, "not")) && !s->stop) {
        size_t sp = push_str(&s->spath, "not");
        if (eval_silent(s, k, inst, NULL, NULL) == 0)
            report(s, DSML_S_NOT, inst, "%s matches the schema under \"not\"", brief(s, inst));
        pop(&s->spath, sp);
    }
    if ((k = dsml_jv_get(sch, "if")) && !s->stop) {
        size_t sp = push_str(&s->spath, "if");
        int ok = eval_silent(s, k, inst, NULL, NULL) == 0;
        pop(&s->spath, sp);
        const dsml_jv *branch = dsml_jv_get(sch, ok ? "then" : "else");
        if (branch) eval_at(s, branch, inst, ok ? "then" : "else", -1);
    }
}

static void eval(dsml_schema *s, const dsml_jv *sch, const dsml_jv *inst)
{
    if (s->stop || !sch) return;
    if (sch->type == DSML_JV_TRUE) return;
    if (sch->type == DSML_JV_FALSE) {
        report(s, DSML_S_FALSE, inst, "no value is allowed here (schema false)");
        return;
    }
    if (sch->type != DSML_JV_OBJECT) return; /* malformed: dsml_schema_check reports it */
    if (s->depth >= MAX_DEPTH) {
        report(s, DSML_S_SCHEMA, inst, "schema nesting deeper than %d levels ($ref loop?)",
               MAX_DEPTH);
        return;
    }
    s->depth++;
    const dsml_jv *ref = dsml_jv_get(sch, "$ref");
    if (ref) {
        const dsml_jv *target = resolve_ref(s, ref);
        if (target) eval_at(s, target, inst, "$ref", -1);
        else {
            size_t sp = push_str(&s->spath, "$ref");
            report(s, DSML_S_SCHEMA, inst, "$ref %s does not resolve to a local schema",
                   brief(s, ref));
            pop(&s->spath, sp);
        }
    }
    kw_type(s, sch, inst);
    kw_enum_const(s, sch, inst);
    switch (inst->type) {
    case DSML_JV_NUMBER: kw_number(s, sch, inst); break;
    case DSML_JV_STRING: kw_string(s, sch, inst); break;
    case DSML_JV_ARRAY: kw_array(s, sch, inst); break;
    case DSML_JV_OBJECT: kw_object(s, sch, inst); break;
    default: break;
    }
    kw_combinators(s, sch, inst);
    s->depth--;
}

static void run_begin(dsml_schema *s, dsml_schema_fn fn, void *ud)
{
    dsml_buf_clear(&s->ipath);
    dsml_buf_clear(&s->spath);
    s->fn = fn;
    s->ud = ud;
    s->nerr = s->stop = s->oom = s->silent = s->have_first = 0;
    s->first = NULL;
    s->depth = 0;
}

int dsml_schema_validate(dsml_schema *s, const dsml_jv *instance, dsml_schema_fn fn, void *ud)
{
    run_begin(s, fn, ud);
    eval(s, s->root, instance);
    return s->oom ? -1 : s->nerr;
}

/* ---- checking the schema itself -------------------------------------------------------- */

static void bad(dsml_schema *s, const dsml_jv *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bad(dsml_schema *s, const dsml_jv *at, const char *fmt, ...)
{
    if (s->stop) return;
    s->nerr++;
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    dsml_schema_error e = {DSML_S_SCHEMA, "", cstr(&s->spath), at ? at->offset : 0, small};
    if (s->fn && s->fn(s->ud, &e)) s->stop = 1;
}

static void check_schema(dsml_schema *s, const dsml_jv *sch);

static void check_sub(dsml_schema *s, const dsml_jv *sch, const char *kw, long idx)
{
    size_t sp = push_str(&s->spath, kw);
    if (idx >= 0) push_index(&s->spath, (size_t)idx);
    check_schema(s, sch);
    pop(&s->spath, sp);
}

static void check_map(dsml_schema *s, const dsml_jv *sch, const char *kw, int patterns)
{
    const dsml_jv *m = dsml_jv_get(sch, kw);
    if (!m) return;
    size_t sp = push_str(&s->spath, kw);
    if (m->type != DSML_JV_OBJECT) bad(s, m, "\"%s\" must be an object", kw);
    else
        for (size_t i = 0; i < m->len; i++) {
            const dsml_jv_member *mb = &m->u.members[i];
            size_t sp2 = push_key(&s->spath, mb->key, mb->key_len);
            if (patterns) {
                rx_entry *e = regex_for_member(s, mb);
                dsml_jv at = {.offset = mb->key_offset};
                if (e && !e->ok) bad(s, &at, "pattern \"%.*s\": %s", (int)mb->key_len, mb->key, e->why);
            }
            check_schema(s, &mb->value);
            pop(&s->spath, sp2);
        }
    pop(&s->spath, sp);
}

static void check_array_of_schemas(dsml_schema *s, const dsml_jv *sch, const char *kw)
{
    const dsml_jv *a = dsml_jv_get(sch, kw);
    if (!a) return;
    if (a->type != DSML_JV_ARRAY || a->len == 0) {
        size_t sp = push_str(&s->spath, kw);
        bad(s, a, "\"%s\" must be a non-empty array of schemas", kw);
        pop(&s->spath, sp);
        return;
    }
    for (size_t i = 0; i < a->len; i++) check_sub(s, &a->u.items[i], kw, (long)i);
}

static void check_count(dsml_schema *s, const dsml_jv *sch, const char *kw)
{
    size_t n;
    const dsml_jv *v = dsml_jv_get(sch, kw);
    if (v && !is_count(v, &n)) {
        size_t sp = push_str(&s->spath, kw);
        bad(s, v, "\"%s\" must be a non-negative integer", kw);
        pop(&s->spath, sp);
    }
}

static void check_schema(dsml_schema *s, const dsml_jv *sch)
{
    if (s->stop) return;
    if (sch->type == DSML_JV_TRUE || sch->type == DSML_JV_FALSE) return;
    if (sch->type != DSML_JV_OBJECT) {
        bad(s, sch, "a schema must be an object or a boolean, not %s", type_name(sch));
        return;
    }
    if (s->depth >= MAX_DEPTH) {
        bad(s, sch, "schema nested deeper than %d levels", MAX_DEPTH);
        return;
    }
    s->depth++;
    const dsml_jv *k;
    if ((k = dsml_jv_get(sch, "$ref"))) {
        size_t sp = push_str(&s->spath, "$ref");
        if (k->type != DSML_JV_STRING) bad(s, k, "$ref must be a string");
        else if (!resolve_ref(s, k))
            bad(s, k, "$ref \"%.*s\" does not resolve to a local schema (only \"#...\" is supported)",
                (int)k->len, k->u.s);
        pop(&s->spath, sp);
    }
    if ((k = dsml_jv_get(sch, "type"))) {
        size_t sp = push_str(&s->spath, "type");
        int ok = k->type == DSML_JV_STRING ? type_bits(k->u.s, k->len) != 0
                                           : k->type == DSML_JV_ARRAY && k->len > 0;
        for (size_t i = 0; ok && k->type == DSML_JV_ARRAY && i < k->len; i++)
            ok = k->u.items[i].type == DSML_JV_STRING &&
                 type_bits(k->u.items[i].u.s, k->u.items[i].len) != 0;
        if (!ok) bad(s, k, "type must be one of null, boolean, integer, number, string, array, object (or an array of them)");
        pop(&s->spath, sp);
    }
    if ((k = dsml_jv_get(sch, "pattern"))) {
        size_t sp = push_str(&s->spath, "pattern");
        rx_entry *e = regex_for(s, k);
        if (e && !e->ok) bad(s, k, "pattern %s: %s", brief(s, k), e->why);
        pop(&s->spath, sp);
    }
    if ((k = dsml_jv_get(sch, "required"))) {
        int ok = k->type == DSML_JV_ARRAY;
        for (size_t i = 0; ok && i < k->len; i++) ok = k->u.items[i].type == DSML_JV_STRING;
        if (!ok) {
            size_t sp = push_str(&s->spath, "required");
            bad(s, k, "required must be an array of strings");
            pop(&s->spath, sp);
        }
    }
    if ((k = dsml_jv_get(sch, "enum")) && k->type != DSML_JV_ARRAY) {
        size_t sp = push_str(&s->spath, "enum");
        bad(s, k, "enum must be an array");
        pop(&s->spath, sp);
    }
    static const char *const nums[] = {"minimum", "maximum", "multipleOf"};
    for (size_t i = 0; i < 3; i++)
        if ((k = dsml_jv_get(sch, nums[i])) &&
            (k->type != DSML_JV_NUMBER ||
             (i == 2 && dsml_json_number_cmp(k->u.s, k->len, "0", 1) <= 0))) {
            size_t sp = push_str(&s->spath, nums[i]);
            bad(s, k, "\"%s\" must be a%s number", nums[i], i == 2 ? " positive" : "");
            pop(&s->spath, sp);
        }
    static const char *const exs[] = {"exclusiveMinimum", "exclusiveMaximum"};
    for (size_t i = 0; i < 2; i++)
        if ((k = dsml_jv_get(sch, exs[i])) && k->type != DSML_JV_NUMBER &&
            k->type != DSML_JV_TRUE && k->type != DSML_JV_FALSE) {
            size_t sp = push_str(&s->spath, exs[i]);
            bad(s, k, "\"%s\" must be a number (or a boolean in draft 4)", exs[i]);
            pop(&s->spath, sp);
        }
    static const char *const counts[] = {"minLength", "maxLength", "minItems", "maxItems",
                                         "minProperties", "maxProperties"};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) check_count(s, sch, counts[i]);
    check_map(s, sch, "properties", 0);
    check_map(s, sch, "patternProperties", 1);
    check_map(s, sch, "$defs", 0);
    check_map(s, sch, "definitions", 0);
    static const char *const subs[] = {"additionalProperties", "additionalItems", "not", "if",
                                       "then", "else"};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
        if ((k = dsml_jv_get(sch, subs[i]))) check_sub(s, k, subs[i], -1);
    if ((k = dsml_jv_get(sch, "items"))) {
        if (k->type == DSML_JV_ARRAY)
            for (size_t i = 0; i < k->len; i++) check_sub(s, &k->u.items[i], "items", (long)i);
        else check_sub(s, k, "items", -1);
    }
    if ((k = dsml_jv_get(sch, "prefixItems"))) {
        if (k->type != DSML_JV_ARRAY) {
            size_t sp = push_str(&s->spath, "prefixItems");
            bad(s, k, "prefixItems must be an array of schemas");
            pop(&s->spath, sp);
        } else
            for (size_t i = 0; i < k->len; i++) check_sub(s, &k->u.items[i], "prefixItems", (long)i);
    }
    check_array_of_schemas(s, sch, "allOf");
    check_array_of_schemas(s, sch, "anyOf");
    check_array_of_schemas(s, sch, "oneOf");
    s->depth--;
}

int dsml_schema_check(dsml_schema *s, dsml_schema_fn fn, void *ud)
{
    run_begin(s, fn, ud);
    check_schema(s, s->root);
    return s->oom ? -1 : s->nerr;
}

/* ---- type and property queries --------------------------------------------------------- */

static unsigned types_of(dsml_schema *s, const dsml_jv *sch, unsigned depth)
{
    if (!sch || depth > 64) return DSML_ST_ANY;
    if (sch->type == DSML_JV_FALSE) return 0;
    if (sch->type != DSML_JV_OBJECT) return DSML_ST_ANY;
    unsigned t = DSML_ST_ANY;
    const dsml_jv *k;
    if ((k = dsml_jv_get(sch, "$ref"))) t &= types_of(s, resolve_ref(s, k), depth + 1);
    if ((k = dsml_jv_get(sch, "type"))) t &= type_kw_bits(k, dsml_jv_get(sch, "nullable"));
    if ((k = dsml_jv_get(sch, "enum")) && k->type == DSML_JV_ARRAY) {
        unsigned u = 0;
        for (size_t i = 0; i < k->len; i++) u |= inst_type(&k->u.items[i]);
        t &= u;
    }
    if ((k = dsml_jv_get(sch, "const"))) t &= inst_type(k);
    if ((k = dsml_jv_get(sch, "allOf")) && k->type == DSML_JV_ARRAY)
        for (size_t i = 0; i < k->len; i++) t &= types_of(s, &k->u.items[i], depth + 1);
    static const char *const unions[] = {"anyOf", "oneOf"};
    for (int j = 0; j < 2; j++)
        if ((k = dsml_jv_get(sch, unions[j])) && k->type == DSML_JV_ARRAY && k->len) {
            unsigned u = 0;
            for (size_t i = 0; i < k->len; i++) u |= types_of(s, &k->u.items[i], depth + 1);
            t &= u;
        }
    return t;
}

unsigned dsml_schema_types(dsml_schema *s, const dsml_jv *sub)
{
    return types_of(s, sub ? sub : s->root, 0);
}

static const dsml_jv *prop_of(dsml_schema *s, const dsml_jv *sch, const char *name, size_t len,
                              unsigned depth)
{
    if (!sch || sch->type != DSML_JV_OBJECT || depth > 64) return NULL;
    const dsml_jv *k, *r;
    if ((k = dsml_jv_get(sch, "properties")) && (r = get_n(k, name, len))) return r;
    if ((k = dsml_jv_get(sch, "patternProperties")) && k->type == DSML_JV_OBJECT) {
        dsml_jv_member m = {.key = name, .key_len = len};
        for (size_t i = 0; i < k->len; i++)
            if (key_matches(s, &k->u.members[i], &m)) return &k->u.members[i].value;
    }
    if ((k = dsml_jv_get(sch, "$ref")) && (r = prop_of(s, resolve_ref(s, k), name, len, depth + 1)))
        return r;
    if ((k = dsml_jv_get(sch, "allOf")) && k->type == DSML_JV_ARRAY)
        for (size_t i = 0; i < k->len; i++)
            if ((r = prop_of(s, &k->u.items[i], name, len, depth + 1))) return r;
    if ((k = dsml_jv_get(sch, "additionalProperties")) && k->type == DSML_JV_OBJECT) return k;
    return NULL;
}

const dsml_jv *dsml_schema_property(dsml_schema *s, const dsml_jv *sub, const char *name,
                                    size_t len)
{
    return prop_of(s, sub ? sub : s->root, name, len, 0);
}
