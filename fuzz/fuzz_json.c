/*
 * fuzz_json.c - harness 5: the JSON pieces used for string="false" values and arguments.
 *
 * Input: one byte choosing a split point (byte * len / 255), then the bytes T.
 *
 * Invariants:
 *   - the incremental validator (dsml_json.h) and the document model (dsml_jv.h) agree on
 *     whether T is exactly one JSON value (and on "too deep"); the validator gives the same
 *     status, error offset and value kind when T is fed in two pieces;
 *     dsml_json_is_object agrees with the document's root type;
 *   - the minifier: one-shot equals two-piece output; the result is valid JSON with the
 *     same values and the same number text, and minifying it again changes nothing;
 *   - the Python-style writer: its output is valid JSON equal in value to T, and writing
 *     that again gives the same bytes (a fixpoint); with DSML_PYJSON_GUARD_CLOSER the value
 *     is the same and "/｜DSML｜parameter" (where a DSML value ends) does not occur;
 *   - the string escaper: "<escape(T)>" is valid JSON that decodes to T (invalid UTF-8 as
 *     U+FFFD), and escaping two pieces cut at dsml_utf8_safe_len gives the same bytes;
 *   - numbers: dsml_json_number_to_double equals strtod (correct rounding), and the Python
 *     repr of any double (first 8 bytes of T) reads back to the same double and matches a
 *     reference built from the shortest round-trip digits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_json.h"
#include "fuzz.h"

static void check_validator(const char *t, size_t n, size_t split, dsml_jv_doc *doc,
                            const dsml_jv_error *je)
{
    dsml_jval a, b;
    dsml_jval_init(&a);
    dsml_jval_feed(&a, t, n);
    dsml_jval_status sa = dsml_jval_end(&a);
    dsml_jval_init(&b);
    dsml_jval_feed(&b, t, split);
    dsml_jval_feed(&b, t + split, n - split);
    dsml_jval_status sb = dsml_jval_end(&b);
    FZ_CHECK(sa == sb && a.kind == b.kind, "validator: status %d kind %d one-shot, %d %d split at %zu",
             (int)sa, a.kind, (int)sb, b.kind, split);
    if (sa == DSML_JVAL_INVALID)
        FZ_CHECK(a.offset == b.offset, "validator error offset %llu one-shot, %llu split",
                 (unsigned long long)a.offset, (unsigned long long)b.offset);
    FZ_CHECK(dsml_json_valid(t, n) == (sa == DSML_JVAL_OK), "dsml_json_valid disagrees");
    FZ_CHECK((sa == DSML_JVAL_OK) == (doc != NULL),
             "validator says %s, document model says %s (%s at %zu)\n%s",
             sa == DSML_JVAL_OK ? "valid" : sa == DSML_JVAL_TOO_DEEP ? "too deep" : "invalid",
             doc ? "valid" : "invalid", doc ? "" : je->msg, doc ? 0 : je->offset, fz_show(t, n));
    if (sa == DSML_JVAL_TOO_DEEP) FZ_CHECK(je->code == DSML_JV_E_DEPTH, "depth: jv code %d", je->code);
    FZ_CHECK(dsml_json_is_object(t, n) == (doc && dsml_jv_root(doc)->type == DSML_JV_OBJECT),
             "dsml_json_is_object disagrees with the document model");
}

static void check_minify(const char *t, size_t n, size_t split, const dsml_jv *root)
{
    dsml_buf a = {0}, b = {0}, c = {0};
    dsml_jmin m = {0, 0};
    FZ_CHECK(!dsml_json_minify(&m, t, n, &a), "minify failed");
    dsml_jmin m2 = {0, 0};
    dsml_json_minify(&m2, t, split, &b);
    dsml_json_minify(&m2, t + split, n - split, &b);
    FZ_CHECK(fz_bytes_eq(a.data, a.len, b.data, b.len),
             "minify: one-shot and split outputs differ");
    FZ_CHECK(dsml_json_valid(a.data, a.len), "minified JSON is invalid:\n%s", fz_show(a.data, a.len));
    dsml_jmin m3 = {0, 0};
    dsml_json_minify(&m3, a.data, a.len, &c);
    FZ_CHECK(fz_bytes_eq(c.data, c.len, a.data, a.len), "minify is not idempotent");
    dsml_jv_error e;
    dsml_jv_doc *d = dsml_jv_parse(a.data, a.len, 0, &e);
    FZ_CHECK(d && fz_jv_identical(root, dsml_jv_root(d)), "minify changed the value:\n%s\n%s",
             fz_show(t, n), fz_show(a.data, a.len));
    dsml_jv_free(d);
    dsml_buf_free(&a);
    dsml_buf_free(&b);
    dsml_buf_free(&c);
}

static void check_pyjson(const dsml_jv *root, const char *t, size_t n)
{
    dsml_buf p = {0}, q = {0};
    dsml_sink sp = dsml_buf_sink(&p), sq = dsml_buf_sink(&q);
    dsml_jv_error e;
    if (dsml_jv_write_py(root, 0, &sp, &e)) {
        FZ_CHECK(e.code == DSML_JV_E_RANGE, "pyjson writer failed with code %d: %s", e.code, e.msg);
        dsml_buf_free(&p);
        return;
    }
    FZ_CHECK(dsml_json_valid(p.data, p.len), "pyjson output is invalid JSON:\n%s",
             fz_show(p.data, p.len));
    dsml_jv_doc *d = dsml_jv_parse(p.data, p.len, 0, &e);
    FZ_CHECK(d && tu_jv_equal(root, dsml_jv_root(d)), "pyjson changed the value\n--- in\n%s\n--- out\n%s",
             fz_show(t, n), fz_show(p.data, p.len));
    FZ_CHECK(!dsml_jv_write_py(dsml_jv_root(d), 0, &sq, &e) &&
                 fz_bytes_eq(q.data, q.len, p.data, p.len),
             "pyjson(parse(pyjson(v))) != pyjson(v)\n%s\n%s", fz_show(p.data, p.len),
             fz_show(q.data, q.len));
    /* the closer guard changes bytes, not values */
    dsml_buf_clear(&q);
    FZ_CHECK(!dsml_jv_write_py(root, DSML_PYJSON_GUARD_CLOSER, &sq, &e), "guarded pyjson failed");
    dsml_jv_doc *g = dsml_jv_parse(q.data, q.len, 0, &e);
    FZ_CHECK(g && tu_jv_equal(root, dsml_jv_root(g)), "the closer guard changed the value");
    FZ_CHECK(!fz_contains(q.data, q.len, "/\xEF\xBD\x9C" "DSML\xEF\xBD\x9C" "parameter"),
             "guarded pyjson still contains the parameter closer:\n%s", fz_show(q.data, q.len));
    dsml_jv_free(g);
    dsml_jv_free(d);
    dsml_buf_free(&p);
    dsml_buf_free(&q);
}

static void check_escape(const char *t, size_t n, size_t split)
{
    dsml_buf q = {0}, w = {0};
    dsml_buf_putc(&q, '"');
    FZ_CHECK(!dsml_json_escape(t, n, &q), "escape failed");
    dsml_buf_putc(&q, '"');
    FZ_CHECK(dsml_json_valid(q.data, q.len), "escaped text is not a valid JSON string:\n%s",
             fz_show(q.data, q.len));
    dsml_jv_error e;
    dsml_jv_doc *d = dsml_jv_parse(q.data, q.len, 0, &e);
    FZ_CHECK(d && dsml_jv_root(d)->type == DSML_JV_STRING, "escaped text is not a string");
    const dsml_jv *s = dsml_jv_root(d);
    if (fz_utf8_valid(t, n))
        FZ_CHECK(fz_bytes_eq(s->u.s, s->len, t, n), "escape(valid UTF-8) does not decode back");
    else
        FZ_CHECK(fz_contains(s->u.s, s->len, "\xEF\xBF\xBD"), "invalid UTF-8 without U+FFFD");
    dsml_jv_free(d);
    size_t cut = dsml_utf8_safe_len(t, split);
    FZ_CHECK(cut <= split && split - cut <= 3, "utf8_safe_len cut %zu of %zu bytes", split - cut,
             split);
    FZ_CHECK(cut == split || (unsigned char)t[cut] >= 0xC2, "utf8_safe_len cut at a non-lead byte");
    dsml_buf_putc(&w, '"');
    dsml_json_escape(t, cut, &w);
    dsml_json_escape(t + cut, n - cut, &w);
    dsml_buf_putc(&w, '"');
    FZ_CHECK(fz_bytes_eq(w.data, w.len, q.data, q.len),
             "escaping in two pieces (cut at %zu) differs", cut);
    dsml_buf_free(&q);
    dsml_buf_free(&w);
}

/* Python repr() of d built from the shortest round-trip digits (the reference). */
static void py_repr_reference(double d, char *out, size_t size)
{
    if (d == 0) {
        snprintf(out, size, "%s", signbit(d) ? "-0.0" : "0.0");
        return;
    }
    /* the shortest digit string that reads back as d; among those, the closest to d (what
       Python's repr gives). For p digits the correctly rounded string is the closest; if it
       does not read back, its neighbour on the other side of d may. */
    int neg = signbit(d) != 0;
    double a = fabs(d);
    char digits[24], buf[48];
    int exp = 0;
    size_t nd = 0;
    for (int p = 1; p <= 17 && !nd; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, a);
        char *e = strchr(buf, 'e');
        int ex = atoi(e + 1);
        unsigned long long m = 0;
        for (const char *q = buf; q < e; q++)
            if (*q != '.') m = m * 10 + (unsigned long long)(*q - '0');
        unsigned long long cand[2] = {m, 0};
        snprintf(buf, sizeof buf, "%llue%d", m, ex - (p - 1));
        cand[1] = strtod(buf, NULL) < a ? m + 1 : m - 1;
        for (int c = 0; c < 2 && !nd; c++) {
            snprintf(buf, sizeof buf, "%llue%d", cand[c], ex - (p - 1));
            if (cand[c] == 0 || strtod(buf, NULL) != a) continue;
            /* normalise: digits without trailing zeros, exp of the first digit */
            int len = snprintf(digits, sizeof digits, "%llu", cand[c]);
            exp = ex - (p - 1) + (len - 1);
            nd = (size_t)len;
            while (nd > 1 && digits[nd - 1] == '0') nd--;
            digits[nd] = 0;
        }
    }
    char *o = out;
    size_t left = size;
#define EMIT(...)                                                                              \
    do {                                                                                       \
        int k = snprintf(o, left, __VA_ARGS__);                                                \
        o += k, left -= (size_t)k;                                                             \
    } while (0)
    if (neg) EMIT("-");
    if (exp >= -4 && exp < 16) {
        if (exp < 0) {
            EMIT("0.");
            for (int i = -1; i > exp; i--) EMIT("0");
            EMIT("%s", digits);
        } else if ((size_t)exp + 1 >= nd) {
            EMIT("%s", digits);
            for (size_t i = nd; i < (size_t)exp + 1; i++) EMIT("0");
            EMIT(".0");
        } else {
            EMIT("%.*s.%s", exp + 1, digits, digits + exp + 1);
        }
    } else {
        EMIT("%c", digits[0]);
        if (nd > 1) EMIT(".%s", digits + 1);
        EMIT("e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
#undef EMIT
}

static void check_numbers(const char *t, size_t n, const dsml_jv *root)
{
    if (root && root->type == DSML_JV_NUMBER) {
        char *z = malloc(root->len + 1);
        FZ_CHECK(z, "out of memory");
        memcpy(z, root->u.s, root->len);
        z[root->len] = 0;
        double ours, libc = strtod(z, NULL);
        FZ_CHECK(!dsml_json_number_to_double(root->u.s, root->len, &ours), "number_to_double failed");
        FZ_CHECK(memcmp(&ours, &libc, sizeof ours) == 0 || (ours == 0 && libc == 0 && !signbit(ours) == !signbit(libc)),
                 "number %s: ours %.17g, strtod %.17g", z, ours, libc);
        if (root->is_float && isfinite(libc)) {
            dsml_buf b = {0};
            dsml_sink s = dsml_buf_sink(&b);
            char r[DSML_PY_FLOAT_MAX];
            FZ_CHECK(!dsml_py_write_number(root->u.s, root->len, &s), "py_write_number failed");
            FZ_CHECK(dsml_py_float_repr(libc, r) > 0 && fz_bytes_eq(b.data, b.len, r, strlen(r)),
                     "py_write_number(%s) = %s, repr of its double %s", z, b.data, r);
            dsml_buf_free(&b);
        }
        free(z);
    }
    if (n >= 8) {
        double d;
        memcpy(&d, t, sizeof d);
        char r[DSML_PY_FLOAT_MAX], want[64];
        int k = dsml_py_float_repr(d, r);
        if (!isfinite(d)) {
            FZ_CHECK(k == -1, "repr of a non-finite double did not fail");
            return;
        }
        FZ_CHECK(k > 0 && (size_t)k == strlen(r), "repr returned %d for \"%s\"", k, r);
        double back = strtod(r, NULL);
        FZ_CHECK(memcmp(&back, &d, sizeof d) == 0, "repr %s does not read back to %.17g", r, d);
        py_repr_reference(d, want, sizeof want);
        FZ_CHECK(!strcmp(r, want), "repr(%.17g): ours %s, Python's rule gives %s", d, r, want);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    unsigned sel = fz_u8(&in);
    const char *t = (const char *)in.p;
    size_t n = in.n;
    size_t split = n * sel / 255;

    dsml_jv_error je;
    memset(&je, 0, sizeof je);
    dsml_jv_doc *doc = dsml_jv_parse(t, n, 0, &je);
    FZ_CHECK(doc || je.msg, "document model failed without a reason");
    check_validator(t, n, split, doc, &je);
    const dsml_jv *root = doc ? dsml_jv_root(doc) : NULL;
    if (root) {
        check_minify(t, n, split, root);
        check_pyjson(root, t, n);
    }
    check_escape(t, n, split);
    check_numbers(t, n, root);
    dsml_jv_free(doc);
    return 0;
}
