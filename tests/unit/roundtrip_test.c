/*
 * roundtrip_test.c - property tests of dsml_convert over generated assistant turns:
 *   OpenAI JSON -> V4 / V3.2 / V3.1 -> OpenAI JSON keeps names and argument values;
 *   canonical V4 -> OpenAI -> V4 is byte-identical, with the DSML fed at every chunk size.
 * Generated arguments cover every JSON type, unicode, escapes, empty strings and keys, big
 * integers, Python-style floats, strings holding the parameter closer, zero-argument calls
 * and several calls per turn.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_convert.h"
#include "dsml_json.h"
#include "dsml_jv.h"
#include "dsml_render.h"
#include "testutil.h"

static unsigned rnd_state;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) % n;
}

static const char *const str_units[] = {
    "a", "Paris", " ", "", "\\\"", "\\\\", "\\n", "\\t", "\\u0001", "日本", "🚀", "é", "<", "&amp;",
    "</", "</\xEF\xBD\x9C" "DSML\xEF\xBD\x9C" "parameter>", "\\u65e5", "\\ud83d\\ude00", "{}", "x y",
    "string=", "\xE2\x80\xA8",
};
static const char *const numbers[] = {
    "0", "-1", "42", "12345678901234567890", "1.5", "-0.25", "1e-07", "1e+16", "0.1", "100.0",
    "1.2345678901234568e+17", "3.0",
};

static void gen_string(dsml_buf *b)
{
    dsml_buf_putc(b, '"');
    int n = (int)rnd(4);
    for (int i = 0; i < n; i++) dsml_buf_puts(b, str_units[rnd(sizeof str_units / sizeof *str_units)]);
    dsml_buf_putc(b, '"');
}

static void gen_value(dsml_buf *b, int depth)
{
    unsigned k = rnd(depth > 2 ? 5 : 7);
    switch (k) {
    case 0: dsml_buf_puts(b, "null"); break;
    case 1: dsml_buf_puts(b, rnd(2) ? "true" : "false"); break;
    case 2: dsml_buf_puts(b, numbers[rnd(sizeof numbers / sizeof *numbers)]); break;
    case 3:
    case 4: gen_string(b); break;
    case 5: {
        dsml_buf_putc(b, '[');
        int n = (int)rnd(4);
        for (int i = 0; i < n; i++) {
            if (i) dsml_buf_putc(b, ',');
            gen_value(b, depth + 1);
        }
        dsml_buf_putc(b, ']');
        break;
    }
    default: {
        dsml_buf_putc(b, '{');
        int n = (int)rnd(4);
        for (int i = 0; i < n; i++) {
            if (i) dsml_buf_putc(b, ',');
            dsml_buf_printf(b, "\"k%d\":", i);
            gen_value(b, depth + 1);
        }
        dsml_buf_putc(b, '}');
    }
    }
}

/* Arguments: an object with unique keys (some odd), as JSON text. */
static void gen_arguments(dsml_buf *b)
{
    /* DSML cannot carry a parameter name with a quote (the renderer refuses it) */
    static const char *const keys[] = {"path", "with space", "", "a string=x", "日本", "n"};
    dsml_buf_putc(b, '{');
    int n = (int)rnd(5);
    for (int i = 0; i < n; i++) {
        if (i) dsml_buf_putc(b, ',');
        dsml_buf_printf(b, "\"%s%d\":", keys[rnd(sizeof keys / sizeof *keys)], i);
        gen_value(b, 0);
    }
    dsml_buf_putc(b, '}');
}

/* An OpenAI assistant message with content and 1..4 calls. */
static void gen_message(dsml_buf *msg)
{
    dsml_buf_puts(msg, "{\"role\":\"assistant\",\"content\":");
    if (rnd(3)) dsml_buf_puts(msg, "\"Let me check \\u65e5 & <this>.\"");
    else dsml_buf_puts(msg, "null");
    dsml_buf_puts(msg, ",\"tool_calls\":[");
    int n = 1 + (int)rnd(4);
    for (int i = 0; i < n; i++) {
        dsml_buf args = {0};
        gen_arguments(&args);
        if (i) dsml_buf_putc(msg, ',');
        dsml_buf_printf(msg, "{\"id\":\"call_%d\",\"type\":\"function\",\"function\":{\"name\":\"tool_%u\",\"arguments\":\"", i, rnd(9));
        dsml_json_escape(args.data, args.len, msg);
        dsml_buf_puts(msg, "\"}}");
        dsml_buf_free(&args);
    }
    dsml_buf_puts(msg, "]}");
}

static char *convert(const char *in, size_t len, dsml_format from, dsml_format to, size_t chunk,
                     size_t *out_len)
{
    dsml_buf out = {0};
    dsml_sink s = dsml_buf_sink(&out);
    uint64_t seed = 3;
    dsml_convert_options o = {.from = from, .to = to, .chunk = chunk, .make_id = dsml_id_seeded,
                              .id_ud = &seed};
    dsml_convert_error err;
    int rc = dsml_convert(in, len, &o, &s, &err);
    cr_assert_eq(rc, 0, "convert %d -> %d failed: %s at %llu\ninput: %.*s", from, to, err.message,
                 (unsigned long long)err.offset, (int)len, in);
    return dsml_buf_take(&out, out_len);
}

static const dsml_jv *calls_of(const dsml_jv_doc *d)
{
    return dsml_jv_get(dsml_jv_root(d), "tool_calls");
}

static void same_calls(const char *a, const char *b, const char *ctx)
{
    dsml_jv_error e;
    dsml_jv_doc *da = dsml_jv_parse(a, strlen(a), 0, &e), *db = dsml_jv_parse(b, strlen(b), 0, &e);
    cr_assert(da && db, "%s: not JSON", ctx);
    const dsml_jv *ca = calls_of(da), *cb = calls_of(db);
    cr_assert_eq(ca->len, cb->len, "%s: call count\n%s\n%s", ctx, a, b);
    for (size_t i = 0; i < ca->len; i++) {
        const dsml_jv *fa = dsml_jv_get(&ca->u.items[i], "function");
        const dsml_jv *fb = dsml_jv_get(&cb->u.items[i], "function");
        const dsml_jv *na = dsml_jv_get(fa, "name"), *nb = dsml_jv_get(fb, "name");
        cr_assert(na->len == nb->len && !memcmp(na->u.s, nb->u.s, na->len), "%s: name", ctx);
        const dsml_jv *aa = dsml_jv_get(fa, "arguments"), *ab = dsml_jv_get(fb, "arguments");
        dsml_jv_doc *xa = dsml_jv_parse(aa->u.s, aa->len, 0, &e);
        dsml_jv_doc *xb = dsml_jv_parse(ab->u.s, ab->len, 0, &e);
        cr_assert(xa && xb, "%s: arguments not JSON: %.*s", ctx, (int)ab->len, ab->u.s);
        cr_assert(tu_jv_equal(dsml_jv_root(xa), dsml_jv_root(xb)),
                  "%s: call %zu arguments differ:\n  %.*s\n  %.*s", ctx, i, (int)aa->len, aa->u.s,
                  (int)ab->len, ab->u.s);
        dsml_jv_free(xa);
        dsml_jv_free(xb);
    }
    dsml_jv_free(da);
    dsml_jv_free(db);
}

Test(roundtrip, openai_to_each_dialect_and_back_keeps_names_and_values)
{
    const dsml_format dialects[] = {DSML_FMT_V4, DSML_FMT_V32, DSML_FMT_V31};
    rnd_state = 12345;
    for (int round = 0; round < 300; round++) {
        dsml_buf msg = {0};
        gen_message(&msg);
        for (int d = 0; d < 3; d++) {
            size_t dl, jl;
            char *ds = convert(msg.data, msg.len, DSML_FMT_OPENAI, dialects[d], 0, &dl);
            char *js = convert(ds, dl, dialects[d], DSML_FMT_OPENAI, 1 + (size_t)rnd(9), &jl);
            char ctx[64];
            snprintf(ctx, sizeof ctx, "round %d dialect %d", round, d);
            same_calls(msg.data, js, ctx);
            free(ds);
            free(js);
        }
        dsml_buf_free(&msg);
    }
}

Test(roundtrip, canonical_dsml_to_openai_and_back_is_byte_identical_at_every_chunking)
{
    rnd_state = 777;
    for (int round = 0; round < 120; round++) {
        dsml_buf msg = {0};
        gen_message(&msg);
        size_t dl;
        char *canon = convert(msg.data, msg.len, DSML_FMT_OPENAI, DSML_FMT_V4, 0, &dl);
        for (size_t chunk = 0; chunk <= 8; chunk++) {
            size_t jl, d2l;
            char *js = convert(canon, dl, DSML_FMT_V4, DSML_FMT_OPENAI, chunk, &jl);
            char *again = convert(js, jl, DSML_FMT_OPENAI, DSML_FMT_V4, 0, &d2l);
            cr_assert(d2l == dl && !memcmp(canon, again, dl),
                      "round %d chunk %zu:\n--- canonical\n%s\n--- after the round trip\n%s", round,
                      chunk, canon, again);
            free(js);
            free(again);
        }
        free(canon);
        dsml_buf_free(&msg);
    }
}

Test(roundtrip, zero_argument_and_invalid_arguments_follow_the_documented_rules)
{
    const char *msg = "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
                      "{\"type\":\"function\",\"function\":{\"name\":\"a\",\"arguments\":\"\"}},"
                      "{\"type\":\"function\",\"function\":{\"name\":\"b\",\"arguments\":\"{}\"}},"
                      "{\"type\":\"function\",\"function\":{\"name\":\"c\",\"arguments\":\"ls -la\"}}]}";
    size_t dl, jl;
    char *ds = convert(msg, strlen(msg), DSML_FMT_OPENAI, DSML_FMT_V4, 0, &dl);
    char *js = convert(ds, dl, DSML_FMT_V4, DSML_FMT_OPENAI, 0, &jl);
    cr_assert(strstr(js, "\"name\":\"a\",\"arguments\":\"{}\""), "%s", js);
    cr_assert(strstr(js, "\"name\":\"b\",\"arguments\":\"{}\""), "%s", js);
    cr_assert(strstr(js, "\"name\":\"c\",\"arguments\":\"{\\\"arguments\\\":\\\"ls -la\\\"}\""), "%s", js);
    free(ds);
    free(js);
}

Test(roundtrip, convert_reports_bad_input_with_position)
{
    dsml_buf out = {0};
    dsml_sink s = dsml_buf_sink(&out);
    dsml_convert_options o = {.from = DSML_FMT_OPENAI, .to = DSML_FMT_V4};
    dsml_convert_error err;
    cr_assert_eq(dsml_convert("{\"role\": ", 9, &o, &s, &err), -1);
    cr_assert(strstr(err.message, "not JSON"), "%s", err.message);
    o.from = DSML_FMT_V4;
    o.parse_flags = DSML_STRICT;
    cr_assert_eq(dsml_convert("Hi<\xEF\xBD\x9C" "DSML\xEF\xBD\x9Ctool_calls>", 24, &o, &s, &err), -1);
    cr_assert(strstr(err.message, "E_NO_SEPARATOR"), "%s", err.message);
    cr_assert_eq(err.offset, 2);
    dsml_buf_free(&out);
}

/* A prefilled forced call: the prefix fed before the generated text gives that call. */
Test(roundtrip, forced_call_prefix_continues_into_the_named_call)
{
    const dsml_dialect ds[] = {DSML_V4, DSML_V32, DSML_V31};
    const char *rest[] = {
        "<\xEF\xBD\x9C" "DSML\xEF\xBD\x9Cparameter name=\"city\" string=\"true\">Paris</\xEF\xBD\x9C"
        "DSML\xEF\xBD\x9Cparameter>\n</\xEF\xBD\x9C" "DSML\xEF\xBD\x9Cinvoke>\n</\xEF\xBD\x9C"
        "DSML\xEF\xBD\x9Ctool_calls>",
        "<\xEF\xBD\x9C" "DSML\xEF\xBD\x9Cparameter name=\"city\" string=\"true\">Paris</\xEF\xBD\x9C"
        "DSML\xEF\xBD\x9Cparameter>\n</\xEF\xBD\x9C" "DSML\xEF\xBD\x9Cinvoke>\n</\xEF\xBD\x9C"
        "DSML\xEF\xBD\x9C" "function_calls>",
        "{\"city\": \"Paris\"}<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "end\xEF\xBD\x9C>"
        "<\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "end\xEF\xBD\x9C>",
    };
    for (int i = 0; i < 3; i++) {
        dsml_buf text = {0};
        dsml_sink s = dsml_buf_sink(&text);
        cr_assert_eq(dsml_render_call_prefix(ds[i], "get_weather", 11, &s), 0);
        dsml_buf_puts(&text, rest[i]);
        dsml_oai_options o;
        dsml_oai_options_init(&o);
        o.parse.dialect = ds[i];
        o.parse.flags = DSML_STRICT;
        dsml_message m;
        cr_assert_eq(dsml_parse_message(text.data, text.len, &o, 1, &m), DSML_OK, "dialect %d", i);
        cr_assert_eq(m.ncalls, 1);
        cr_assert_str_eq(m.calls[0].name.data, "get_weather");
        cr_assert_str_eq(m.calls[0].arguments.data, "{\"city\":\"Paris\"}");
        dsml_message_free(&m);
        dsml_buf_free(&text);
    }
    dsml_buf t = {0};
    dsml_sink s = dsml_buf_sink(&t);
    cr_assert_eq(dsml_render_call_prefix(DSML_V4, "a\"b", 3, &s), -1, "a quote cannot be written");
    cr_assert_eq(dsml_render_call_prefix(DSML_V4, NULL, 0, &s), 0);
    cr_assert_str_eq(t.data, "\n\n<\xEF\xBD\x9C" "DSML\xEF\xBD\x9Ctool_calls>\n");
    dsml_buf_free(&t);
}

/* The message builder fed by deltas: reasoning and content fed separately (an upstream that
 * already split them) give the same message as one completion. */
Test(roundtrip, message_builder_accepts_separately_fed_reasoning_and_content)
{
    const char *reasoning = "I should look it up.";
    const char *content = "Sure.\n\n<\xEF\xBD\x9C" "DSML\xEF\xBD\x9Ctool_calls>\n<\xEF\xBD\x9C"
                          "DSML\xEF\xBD\x9Cinvoke name=\"f\">\n\n</\xEF\xBD\x9C"
                          "DSML\xEF\xBD\x9Cinvoke>\n</\xEF\xBD\x9C" "DSML\xEF\xBD\x9Ctool_calls>";
    dsml_oai_options o;
    dsml_oai_options_init(&o);
    o.parse.flags = DSML_THINKING;
    uint64_t seed = 1;
    o.make_id = dsml_id_seeded;
    o.id_ud = &seed;
    dsml_message m;
    memset(&m, 0, sizeof m);
    m.has_reasoning = 1;
    dsml_oai *p = dsml_oai_new(&o, dsml_message_on_delta, &m);
    dsml_oai_feed(p, reasoning, strlen(reasoning));
    dsml_oai_end_reasoning(p);
    dsml_oai_feed(p, content, strlen(content));
    dsml_oai_finish(p);
    cr_assert_eq(dsml_message_finish(&m, dsml_oai_result(p), NULL, 0), 0);
    dsml_oai_free(p);
    dsml_buf js = {0};
    dsml_message_json(&m, &js);
    cr_assert_str_eq(js.data, "{\"role\":\"assistant\",\"content\":\"Sure.\",\"reasoning_content\":"
                              "\"I should look it up.\",\"tool_calls\":[{\"id\":\"call_910a2dec89025cc1658eec67\","
                              "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}");
    cr_assert_str_eq(m.finish, "tool_calls");
    dsml_buf_free(&js);
    dsml_message_free(&m);
}
