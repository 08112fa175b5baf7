/*
 * json_test.c - the byte-level JSON helpers (dsml_json.h): validator, minifier, escaper,
 * UTF-8 boundary helper.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_json.h"

static int valid_chunked(const char *s, size_t len, size_t chunk)
{
    dsml_jval v;
    dsml_jval_init(&v);
    for (size_t i = 0; i < len; i += chunk) dsml_jval_feed(&v, s + i, len - i < chunk ? len - i : chunk);
    return dsml_jval_end(&v) == DSML_JVAL_OK;
}

static const char *const good[] = {
    "0", "-0", "1", "-12.5e+3", "1E-7", "1e400", "12345678901234567890123", "1.50", "true",
    "false", "null", "\"\"", "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\"", "\"\\u00e9\\uD83D\\uDE00\"",
    "\"\xE6\x97\xA5\xF0\x9F\x9A\x80\"", "[]", "{}", " [1, 2] ", "{\"a\": [1, {\"b\": null}], \"c\": \"x\"}",
    "[[[[[]]]]]", "\t\r\n 5 \n",
};
static const char *const bad[] = {
    "", " ", "01", "1.", ".5", "+1", "-", "1e", "1e+", "NaN", "Infinity", "0x10", "tru", "nul",
    "[1,]", "[1 2]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}", "\"abc", "\"\\x\"",
    "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\nb\"", "\"\xC0\x80\"", "\"\xED\xA0\x80\"",
    "\"\xF5\x80\x80\x80\"", "\"\xE6\x97\"", "1 2", "5 apples", "[1]]", "{}}", "'a'",
};

Test(json, validator_accepts_rfc8259_values_in_any_chunking)
{
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        for (size_t c = 1; c <= 4; c++)
            cr_assert(valid_chunked(good[i], strlen(good[i]), c), "%s (chunk %zu)", good[i], c);
}

Test(json, validator_rejects_non_json_in_any_chunking)
{
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        for (size_t c = 1; c <= 4; c++)
            cr_assert(!valid_chunked(bad[i], strlen(bad[i]), c), "%s (chunk %zu)", bad[i], c);
}

Test(json, validator_limits_depth)
{
    char deep[DSML_JVAL_MAX_DEPTH + 2];
    memset(deep, '[', sizeof deep);
    dsml_jval v;
    dsml_jval_init(&v);
    cr_assert_eq(dsml_jval_feed(&v, deep, sizeof deep), DSML_JVAL_TOO_DEEP);
}

Test(json, validator_reports_the_kind_of_value)
{
    cr_assert(dsml_json_is_object(" {\"a\":1} ", 9));
    cr_assert(!dsml_json_is_object("[1]", 3));
    cr_assert(!dsml_json_is_object("\"{}\"", 4));
}

static void minify(const char *in, const char *want, size_t chunk)
{
    dsml_buf out = {0};
    dsml_jmin m = {0, 0};
    size_t len = strlen(in);
    for (size_t i = 0; i < len; i += chunk) dsml_json_minify(&m, in + i, len - i < chunk ? len - i : chunk, &out);
    cr_assert_str_eq(out.data ? out.data : "", want, "chunk %zu", chunk);
    dsml_buf_free(&out);
}

Test(json, minifier_removes_whitespace_outside_strings_only)
{
    for (size_t c = 1; c <= 3; c++) {
        minify(" [1, 2] ", "[1,2]", c);
        minify("{\"k v\": \"a b\\\" c\" ,\n \"n\" : 1.50 }", "{\"k v\":\"a b\\\" c\",\"n\":1.50}", c);
        minify("\"\\\\\" ", "\"\\\\\"", c);
    }
}

static char *esc(const char *s, size_t n)
{
    dsml_buf out = {0};
    dsml_json_escape(s, n, &out);
    return dsml_buf_take(&out, NULL);
}

Test(json, escaper_writes_minimal_json_string_bodies)
{
    char *e = esc("a\"b\\c\n\t\r\b\f\x01\x1f/", 13);
    cr_assert_str_eq(e, "a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f/");
    free(e);
    e = esc("\xE6\x97\xA5 \xF0\x9F\x9A\x80 \xE2\x80\xA8", 12);
    cr_assert_str_eq(e, "\xE6\x97\xA5 \xF0\x9F\x9A\x80 \xE2\x80\xA8", "valid UTF-8 is copied raw");
    free(e);
    e = esc("a\xFF" "b\xC0\x80", 5);
    cr_assert_str_eq(e, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD", "invalid bytes become U+FFFD");
    free(e);
}

/* The 16-byte fast path must agree with escaping one character at a time. The input is
 * built from whole characters (and 0xFF, never part of UTF-8), so no sequence is cut. */
Test(json, escaper_fast_path_matches_char_at_a_time)
{
    static const char *const units[] = {"a", "b", " ", "\"", "\\", "\n", "\x01", "\xE6\x97\xA5",
                                        "\xF0\x9F\x9A\x80", "<", "{", "\xFF", "/"};
    const size_t nunits = sizeof units / sizeof *units;
    srand(42);
    for (int round = 0; round < 300; round++) {
        dsml_buf in = {0}, pieces = {0};
        dsml_buf_reserve(&pieces, 0);
        int n = rand() % 80;
        for (int i = 0; i < n; i++) {
            const char *u = units[rand() % nunits];
            dsml_buf_puts(&in, u);
            dsml_json_escape(u, strlen(u), &pieces);
        }
        char *whole = esc(in.data ? in.data : "", in.len);
        cr_assert(!strcmp(whole, pieces.data), "round %d: [%s] vs [%s] (in %zu bytes)", round, whole, pieces.data, in.len);
        free(whole);
        dsml_buf_free(&in);
        dsml_buf_free(&pieces);
    }
}

Test(json, utf8_safe_len_holds_only_incomplete_sequences)
{
    cr_assert_eq(dsml_utf8_safe_len("abc", 3), 3);
    cr_assert_eq(dsml_utf8_safe_len("ab\xE6", 3), 2);
    cr_assert_eq(dsml_utf8_safe_len("ab\xE6\x97", 4), 2);
    cr_assert_eq(dsml_utf8_safe_len("ab\xE6\x97\xA5", 5), 5);
    cr_assert_eq(dsml_utf8_safe_len("\xF0\x9F\x9A", 3), 0);
    cr_assert_eq(dsml_utf8_safe_len("a\xFF", 2), 2, "never-valid bytes are not held");
    cr_assert_eq(dsml_utf8_safe_len("a\xE6" "b", 3), 3);
    cr_assert_eq(dsml_utf8_safe_len("a\xED\xB0", 3), 3, "a surrogate range is not held");
    cr_assert_eq(dsml_utf8_safe_len("", 0), 0);
}
