/*
 * jv_pyjson.c - the Python json.dumps(ensure_ascii=False) writer: the reference table of
 * spec/RENDER.md (from DeepSeek's encoder), string escaping, and float/number vectors
 * produced by CPython (spec/render/pyfloat.txt, pynumber.txt).
 */
#include <criterion/criterion.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dsml_jv.h"
#include "render_support.h"

/* pyjson of a JSON text; returns a malloc'd string, or NULL when writing failed. */
static char *py(const char *json, unsigned flags, dsml_jv_error *werr)
{
    dsml_jv_error e;
    dsml_jv_doc *d = dsml_jv_parse(json, strlen(json), 0, &e);
    cr_assert_not_null(d, "parse %s: %s", json, e.msg ? e.msg : "?");
    dsml_buf b = {0};
    dsml_sink s = dsml_buf_sink(&b);
    int rc = dsml_jv_write_py(dsml_jv_root(d), flags, &s, werr ? werr : &e);
    dsml_jv_free(d);
    if (rc) {
        dsml_buf_free(&b);
        return NULL;
    }
    return dsml_buf_take(&b, NULL);
}

static void expect_py(const char *json, const char *want)
{
    char *got = py(json, 0, NULL);
    cr_expect_not_null(got, "pyjson(%s) failed", json);
    if (got) cr_expect_str_eq(got, want, "pyjson(%s) = %s, want %s", json, got, want);
    free(got);
}

Test(jv_pyjson, reference_table_values)
{
    /* spec/RENDER.md "pyjson": the official encoder's output for each JSON value. */
    expect_py("\"x\"", "\"x\"");
    expect_py("\"\"", "\"\"");
    expect_py("\"\\u65e5\"", "\"\xE6\x97\xA5\"");
    expect_py("1", "1");
    expect_py("1.5", "1.5");
    expect_py("1.0", "1.0");
    expect_py("-0.0", "-0.0");
    expect_py("1e2", "100.0");
    expect_py("1E-7", "1e-07");
    expect_py("0.00001", "1e-05");
    expect_py("1e100", "1e+100");
    expect_py("1e16", "1e+16");
    expect_py("1e15", "1000000000000000.0");
    expect_py("1.50", "1.5");
    expect_py("-0", "0");
    expect_py("12345678901234567890", "12345678901234567890");
    expect_py("123456789012345678.0", "1.2345678901234568e+17");
    expect_py("true", "true");
    expect_py("false", "false");
    expect_py("null", "null");
    expect_py("[1,\"b\",{\"c\":null}]", "[1, \"b\", {\"c\": null}]");
    expect_py("{\"k\":\"v\",\"u\":\"\\u65e5\"}", "{\"k\": \"v\", \"u\": \"\xE6\x97\xA5\"}");
    expect_py("[]", "[]");
    expect_py("{}", "{}");
}

Test(jv_pyjson, separators_and_nesting)
{
    expect_py(" { \"a\" : [ 1 , { \"b\" : null } ] , \"c\" : { } , \"d\" : [ [ ] ] } ",
              "{\"a\": [1, {\"b\": null}], \"c\": {}, \"d\": [[]]}");
    expect_py("{\"a\":1,\"a\":2}", "{\"a\": 2}");
}

Test(jv_pyjson, string_escapes_match_python)
{
    expect_py("\"q\\\" b\\\\ s/ \\/\"", "\"q\\\" b\\\\ s/ /\"");
    expect_py("\"\\b\\t\\n\\f\\r\"", "\"\\b\\t\\n\\f\\r\"");
    expect_py("\"\\u0000\\u0001\\u001b\\u001f\\u000B\"", "\"\\u0000\\u0001\\u001b\\u001f\\u000b\"");
    /* DEL, U+2028/2029, astral: raw */
    expect_py("\"\\u007f\\u2028\\u2029\\ud83d\\ude80\"",
              "\"\x7F\xE2\x80\xA8\xE2\x80\xA9\xF0\x9F\x9A\x80\"");
    expect_py("\"\xE6\x97\xA5\xE6\x9C\xAC \xC3\xA9\"", "\"\xE6\x97\xA5\xE6\x9C\xAC \xC3\xA9\"");
    expect_py("{\"k\\n\": \"\\\"\"}", "{\"k\\n\": \"\\\"\"}");
}

Test(jv_pyjson, closer_guard_escapes_only_the_closer_slash)
{
    const char *json = "{\"k/\xEF\xBD\x9C" "DSML\xEF\xBD\x9C" "parameter\": "
                       "\"a</\xEF\xBD\x9C" "DSML\xEF\xBD\x9C" "parameter> b/c </\xEF\xBD\x9C"
                       "DSML\xEF\xBD\x9C" "invoke>\"}";
    char *plain = py(json, 0, NULL);
    char *guarded = py(json, DSML_PYJSON_GUARD_CLOSER, NULL);
    cr_assert(plain && guarded);
    cr_expect_str_eq(plain, "{\"k/\xEF\xBD\x9C" "DSML\xEF\xBD\x9C" "parameter\": \"a</\xEF\xBD\x9C"
                            "DSML\xEF\xBD\x9C" "parameter> b/c </\xEF\xBD\x9C" "DSML\xEF\xBD\x9C"
                            "invoke>\"}");
    cr_expect_str_eq(guarded, "{\"k\\u002f\xEF\xBD\x9C" "DSML\xEF\xBD\x9C" "parameter\": \"a<\\u002f"
                              "\xEF\xBD\x9C" "DSML\xEF\xBD\x9C" "parameter> b/c </\xEF\xBD\x9C"
                              "DSML\xEF\xBD\x9C" "invoke>\"}");
    free(plain);
    free(guarded);
}

Test(jv_pyjson, non_finite_floats_are_an_error_with_offset)
{
    dsml_jv_error e;
    char *got = py("[1, {\"a\": 1e400}]", 0, &e);
    cr_expect_null(got);
    cr_expect_eq(e.code, DSML_JV_E_RANGE);
    cr_expect_eq(e.offset, 10);
    got = py("-1E+309", 0, &e);
    cr_expect_null(got);
    cr_expect_eq(e.code, DSML_JV_E_RANGE);
    char buf[DSML_PY_FLOAT_MAX];
    cr_expect_eq(dsml_py_float_repr(INFINITY, buf), -1);
    cr_expect_eq(dsml_py_float_repr(-INFINITY, buf), -1);
    cr_expect_eq(dsml_py_float_repr(NAN, buf), -1);
}

Test(jv_pyjson, tiny_floats_round_to_zero_like_python)
{
    expect_py("1e-400", "0.0");
    expect_py("-1e-400", "-0.0");
    expect_py("0e0", "0.0");
}

Test(jv_pyjson, sink_failure_is_reported)
{
    dsml_jv_error e;
    dsml_jv_doc *d = dsml_jv_parse("{\"a\": [1, \"x\", 2.5, null]}", 26, 0, &e);
    cr_assert_not_null(d);
    for (long k = 0;; k++) {
        rs_failing f = {{0}, 0, k};
        dsml_sink s = {rs_failing_write, &f};
        int rc = dsml_jv_write_py(dsml_jv_root(d), 0, &s, &e);
        dsml_buf_free(&f.buf);
        if (f.writes <= k) {
            cr_expect_eq(rc, 0, "no failure injected at write %ld", k);
            break;
        }
        cr_expect_eq(rc, -1, "write %ld failed but the writer succeeded", k);
        cr_expect_eq(e.code, DSML_JV_E_SINK);
    }
    dsml_jv_free(d);
}

Test(jv_pyjson, float_repr_matches_cpython_vectors)
{
    size_t len;
    char *text = rs_read(rs_path("spec/render/pyfloat.txt"), &len);
    cr_assert_not_null(text, "spec/render/pyfloat.txt missing (run from the repository root)");
    int n = 0, bad = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        char want[64];
        unsigned long long bits;
        cr_assert_eq(sscanf(line, "%llx %63s", &bits, want), 2, "bad line %s", line);
        double d;
        uint64_t b = bits;
        memcpy(&d, &b, sizeof d);
        char got[DSML_PY_FLOAT_MAX];
        cr_assert_gt(dsml_py_float_repr(d, got), 0);
        if (strcmp(got, want) && bad++ < 10)
            cr_log_error("repr(%016llx) = %s, want %s", bits, got, want);
        n++;
    }
    free(text);
    cr_expect_gt(n, 1000);
    cr_expect_eq(bad, 0, "%d of %d float vectors differ", bad, n);
}

Test(jv_pyjson, number_text_matches_cpython_vectors)
{
    size_t len;
    char *text = rs_read(rs_path("spec/render/pynumber.txt"), &len);
    cr_assert_not_null(text, "spec/render/pynumber.txt missing (run from the repository root)");
    int n = 0, bad = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        char *sp = strchr(line, ' ');
        cr_assert_not_null(sp);
        *sp = 0;
        const char *want = sp + 1;
        dsml_buf b = {0};
        dsml_sink s = dsml_buf_sink(&b);
        int rc = dsml_py_write_number(line, strlen(line), &s);
        const char *got = rc == -1 ? "!" : rc ? "sink failed" : b.data ? b.data : "";
        if (strcmp(got, want) && bad++ < 10) cr_log_error("pyjson(%s) = %s, want %s", line, got, want);
        dsml_buf_free(&b);
        n++;
    }
    free(text);
    cr_expect_gt(n, 1000);
    cr_expect_eq(bad, 0, "%d of %d number vectors differ", bad, n);
}

Test(jv_pyjson, output_does_not_depend_on_the_numeric_locale)
{
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    const char *set = NULL;
    for (size_t i = 0; i < 4 && !set; i++) set = setlocale(LC_NUMERIC, names[i]);
    if (!set) cr_skip_test("no locale with a decimal comma is installed");
    expect_py("[1.5, 1e-7, 2.50e3, 123456789012345678.0]",
              "[1.5, 1e-07, 2500.0, 1.2345678901234568e+17]");
    setlocale(LC_NUMERIC, "C");
}
