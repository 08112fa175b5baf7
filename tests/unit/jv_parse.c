/*
 * jv_parse.c - the JSON document model (dsml_jv.h): order, duplicates, verbatim numbers,
 * escapes, UTF-8 and surrogate checks, error offsets, depth limit.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_jv.h"

static dsml_jv_doc *parse_ok(const char *text)
{
    dsml_jv_error e;
    dsml_jv_doc *d = dsml_jv_parse(text, strlen(text), 0, &e);
    cr_assert_not_null(d, "parse failed for %s: %s at %zu", text, e.msg ? e.msg : "?", e.offset);
    return d;
}

static void parse_fails(const char *text, size_t len, dsml_jv_code code, size_t offset)
{
    dsml_jv_error e;
    dsml_jv_doc *d = dsml_jv_parse(text, len, 0, &e);
    cr_assert_null(d, "parse of %.*s should fail", (int)len, text);
    cr_expect_eq(e.code, code, "code %d, want %d for %.*s", e.code, code, (int)len, text);
    cr_expect_eq(e.offset, offset, "offset %zu, want %zu for %.*s", e.offset, offset, (int)len,
                 text);
    cr_expect_not_null(e.msg);
}

static int str_eq(const dsml_jv *v, const char *s, size_t n)
{
    return v && v->type == DSML_JV_STRING && v->len == n && !memcmp(v->u.s, s, n);
}

Test(jv_parse, object_members_keep_source_order)
{
    dsml_jv_doc *d = parse_ok("{\"z\": 1, \"a\": 2, \"m\": 3}");
    const dsml_jv *r = dsml_jv_root(d);
    cr_assert_eq(r->type, DSML_JV_OBJECT);
    cr_assert_eq(r->len, 3);
    cr_expect_eq(r->u.members[0].key[0], 'z');
    cr_expect_eq(r->u.members[1].key[0], 'a');
    cr_expect_eq(r->u.members[2].key[0], 'm');
    dsml_jv_free(d);
}

Test(jv_parse, duplicate_key_takes_last_value_at_first_position)
{
    dsml_jv_doc *d = parse_ok("{\"a\": 1, \"b\": 2, \"a\": 3, \"\\u0061\": 4, \"c\": 5}");
    const dsml_jv *r = dsml_jv_root(d);
    cr_assert_eq(r->len, 3);
    cr_expect_eq(r->u.members[0].key[0], 'a');
    cr_expect_eq(r->u.members[0].value.u.s[0], '4');
    cr_expect_eq(r->u.members[0].key_offset, 1); /* the first occurrence */
    cr_expect_eq(r->u.members[1].key[0], 'b');
    cr_expect_eq(r->u.members[2].key[0], 'c');
    dsml_jv_free(d);
}

Test(jv_parse, duplicate_keys_in_large_objects_resolve_the_same_way)
{
    /* 40 distinct keys, then every even key again: exercises the hashed path. */
    char text[4096];
    size_t n = 0;
    n += (size_t)sprintf(text + n, "{");
    for (int i = 0; i < 40; i++) n += (size_t)sprintf(text + n, "%s\"k%d\": %d", i ? ", " : "", i, i);
    for (int i = 0; i < 40; i += 2) n += (size_t)sprintf(text + n, ", \"k%d\": %d", i, 1000 + i);
    sprintf(text + n, "}");
    dsml_jv_doc *d = parse_ok(text);
    const dsml_jv *r = dsml_jv_root(d);
    cr_assert_eq(r->len, 40);
    for (int i = 0; i < 40; i++) {
        char key[16], want[16];
        sprintf(key, "k%d", i);
        sprintf(want, "%d", i % 2 ? i : 1000 + i);
        const dsml_jv_member *m = &r->u.members[i];
        cr_expect(m->key_len == strlen(key) && !memcmp(m->key, key, m->key_len), "member %d", i);
        cr_expect(m->value.len == strlen(want) && !memcmp(m->value.u.s, want, m->value.len),
                  "value of %s", key);
    }
    dsml_jv_free(d);
}

Test(jv_parse, numbers_keep_their_text)
{
    dsml_jv_doc *d = parse_ok("[1.50, 12345678901234567890123, -0, 1E-7, 0]");
    const dsml_jv *r = dsml_jv_root(d);
    const char *want[] = {"1.50", "12345678901234567890123", "-0", "1E-7", "0"};
    const int is_float[] = {1, 0, 0, 1, 0};
    cr_assert_eq(r->len, 5);
    for (int i = 0; i < 5; i++) {
        const dsml_jv *v = &r->u.items[i];
        cr_expect_eq(v->type, DSML_JV_NUMBER);
        cr_expect(v->len == strlen(want[i]) && !memcmp(v->u.s, want[i], v->len), "item %d", i);
        cr_expect_eq((int)v->is_float, is_float[i], "is_float of %s", want[i]);
    }
    dsml_jv_free(d);
}

Test(jv_parse, string_escapes_are_decoded)
{
    dsml_jv_doc *d = parse_ok("[\"a\\n\\t\\\"\\\\\\/\\b\\f\\r\", \"\\u00e9\\u65e5\", \"\\ud83d\\ude80\", "
                              "\"x\\u0000y\", \"plain\"]");
    const dsml_jv *r = dsml_jv_root(d);
    cr_expect(str_eq(&r->u.items[0], "a\n\t\"\\/\b\f\r", 9));
    cr_expect(str_eq(&r->u.items[1], "\xC3\xA9\xE6\x97\xA5", 5));
    cr_expect(str_eq(&r->u.items[2], "\xF0\x9F\x9A\x80", 4), "surrogate pair -> one code point");
    cr_expect(str_eq(&r->u.items[3], "x\0y", 3), "NUL kept, length counts it");
    cr_expect(str_eq(&r->u.items[4], "plain", 5));
    dsml_jv_free(d);
}

Test(jv_parse, document_does_not_depend_on_the_text_after_parsing)
{
    const char src[] = "{\"key\": \"value\", \"n\": 1.50, \"e\": \"a\\nb\"}";
    char *text = malloc(sizeof src);
    cr_assert_not_null(text);
    memcpy(text, src, sizeof src);
    dsml_jv_doc *d = parse_ok(text);
    memset(text, 'x', sizeof src - 1);
    free(text);
    const dsml_jv *r = dsml_jv_root(d);
    cr_expect(str_eq(&r->u.members[0].value, "value", 5));
    cr_expect(r->u.members[0].key_len == 3 && !memcmp(r->u.members[0].key, "key", 3));
    cr_expect(r->u.members[1].value.len == 4 && !memcmp(r->u.members[1].value.u.s, "1.50", 4));
    cr_expect(str_eq(&r->u.members[2].value, "a\nb", 3));
    dsml_jv_free(d);
}

Test(jv_parse, value_offsets_point_at_the_first_byte)
{
    const char *text = " {\"a\" : [ true , \"x\" ] }";
    dsml_jv_doc *d = parse_ok(text);
    const dsml_jv *r = dsml_jv_root(d);
    cr_expect_eq(r->offset, 1);
    cr_expect_eq(r->u.members[0].key_offset, 2);
    const dsml_jv *a = &r->u.members[0].value;
    cr_expect_eq(a->offset, 8);
    cr_expect_eq(a->u.items[0].offset, 10);
    cr_expect_eq(a->u.items[1].offset, 17);
    dsml_jv_free(d);
}

Test(jv_parse, lone_surrogates_are_rejected_with_their_offset)
{
    parse_fails("\"ab\\ud800\"", 10, DSML_JV_E_SURROGATE, 3);
    parse_fails("\"\\udc00\"", 8, DSML_JV_E_SURROGATE, 1);
    parse_fails("[\"\\ud800\\u0041\"]", 16, DSML_JV_E_SURROGATE, 2);
    parse_fails("\"\\ud800\\ud800\"", 14, DSML_JV_E_SURROGATE, 1);
    parse_fails("{\"k\\udfff\": 1}", 14, DSML_JV_E_SURROGATE, 3);
}

Test(jv_parse, invalid_utf8_is_rejected_with_its_offset)
{
    parse_fails("\"a\xC0\x80\"", 5, DSML_JV_E_UTF8, 2);          /* overlong */
    parse_fails("\"\xED\xA0\x80\"", 5, DSML_JV_E_UTF8, 1);       /* UTF-8 surrogate */
    parse_fails("\"\xF4\x90\x80\x80\"", 6, DSML_JV_E_UTF8, 1);   /* above U+10FFFF */
    parse_fails("\"ab\xE6\x97\"", 6, DSML_JV_E_UTF8, 3);         /* truncated */
    parse_fails("\"\x80\"", 3, DSML_JV_E_UTF8, 1);               /* lone continuation */
    parse_fails("\"\xFF\"", 3, DSML_JV_E_UTF8, 1);
}

Test(jv_parse, syntax_errors_report_the_offending_byte)
{
    parse_fails("", 0, DSML_JV_E_SYNTAX, 0);
    parse_fails("   ", 3, DSML_JV_E_SYNTAX, 3);
    parse_fails("[1,]", 4, DSML_JV_E_SYNTAX, 3);
    parse_fails("{\"a\" 1}", 7, DSML_JV_E_SYNTAX, 5);
    parse_fails("{\"a\": 1,}", 9, DSML_JV_E_SYNTAX, 8);
    parse_fails("{} x", 4, DSML_JV_E_SYNTAX, 3);
    parse_fails("01", 2, DSML_JV_E_SYNTAX, 1);
    parse_fails("1.", 2, DSML_JV_E_SYNTAX, 0);
    parse_fails("-", 1, DSML_JV_E_SYNTAX, 0);
    parse_fails(".5", 2, DSML_JV_E_SYNTAX, 0);
    parse_fails("+1", 2, DSML_JV_E_SYNTAX, 0);
    parse_fails("1e", 2, DSML_JV_E_SYNTAX, 0);
    parse_fails("NaN", 3, DSML_JV_E_SYNTAX, 0);
    parse_fails("Infinity", 8, DSML_JV_E_SYNTAX, 0);
    parse_fails("['a']", 5, DSML_JV_E_SYNTAX, 1);
    parse_fails("tru", 3, DSML_JV_E_SYNTAX, 0);
    parse_fails("\"a\nb\"", 5, DSML_JV_E_SYNTAX, 2);
    parse_fails("\"\\x\"", 4, DSML_JV_E_SYNTAX, 1);
    parse_fails("\"\\u12G4\"", 8, DSML_JV_E_SYNTAX, 1);
    parse_fails("\"abc", 4, DSML_JV_E_SYNTAX, 0);
    parse_fails("\xEF\xBB\xBF{}", 5, DSML_JV_E_SYNTAX, 0); /* BOM */
    parse_fails("[1 2]", 5, DSML_JV_E_SYNTAX, 3);
}

Test(jv_parse, surrounding_whitespace_and_empty_containers_are_fine)
{
    dsml_jv_doc *d = parse_ok(" \t\r\n{\"a\": [], \"b\": {}, \"c\": \"\"}\n ");
    const dsml_jv *r = dsml_jv_root(d);
    cr_expect_eq(dsml_jv_get(r, "a")->len, 0);
    cr_expect_eq(dsml_jv_get(r, "b")->type, DSML_JV_OBJECT);
    cr_expect_eq(dsml_jv_get(r, "c")->len, 0);
    dsml_jv_free(d);
}

Test(jv_parse, nesting_deeper_than_the_limit_fails)
{
    char deep[1200];
    memset(deep, '[', 600);
    memset(deep + 600, ']', 600);
    dsml_jv_error e;
    cr_expect_null(dsml_jv_parse(deep, 1200, 0, &e));
    cr_expect_eq(e.code, DSML_JV_E_DEPTH);
    cr_expect_eq(e.offset, DSML_JV_DEFAULT_DEPTH);
    dsml_jv_doc *d = dsml_jv_parse(deep + 600 - 512, 1024, 0, &e);
    cr_expect_not_null(d, "512 levels are allowed");
    dsml_jv_free(d);
    cr_expect_null(dsml_jv_parse(deep + 600 - 4, 8, 3, &e));
    cr_expect_eq(e.code, DSML_JV_E_DEPTH);
    d = dsml_jv_parse(deep + 600 - 3, 6, 3, &e);
    cr_expect_not_null(d);
    dsml_jv_free(d);
}

Test(jv_parse, accessors_handle_missing_and_wrong_types)
{
    dsml_jv_doc *d = parse_ok("{\"s\": \"x\", \"n\": null, \"arr\": [1]}");
    const dsml_jv *r = dsml_jv_root(d);
    cr_expect(dsml_jv_str_is(dsml_jv_get(r, "s"), "x"));
    cr_expect(!dsml_jv_str_is(dsml_jv_get(r, "s"), "xy"));
    cr_expect(!dsml_jv_str_is(dsml_jv_get(r, "n"), "null"));
    cr_expect(dsml_jv_is_null(dsml_jv_get(r, "n")));
    cr_expect(dsml_jv_is_null(dsml_jv_get(r, "missing")));
    cr_expect(!dsml_jv_is_null(dsml_jv_get(r, "arr")));
    cr_expect_null(dsml_jv_get(dsml_jv_get(r, "arr"), "s"), "get on an array");
    cr_expect_null(dsml_jv_get(NULL, "s"));
    dsml_jv_free(d);
    dsml_jv_free(NULL);
}

Test(jv_parse, null_error_pointer_is_allowed)
{
    cr_expect_null(dsml_jv_parse("[", 1, 0, NULL));
    dsml_jv_doc *d = dsml_jv_parse("7", 1, 0, NULL);
    cr_expect_not_null(d);
    dsml_jv_free(d);
}
