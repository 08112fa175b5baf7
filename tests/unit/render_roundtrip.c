/*
 * render_roundtrip.c - arguments rendered as DSML by the renderer come back with the same
 * JSON values when the block is parsed by the strict parser (dsml_parse_message), including
 * values that hold the parameter closer, for V4 and V3.2.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "dsml_json.h"
#include "dsml_openai.h"
#include "dsml_render.h"

#define DS "\xEF\xBD\x9C" "DSML" "\xEF\xBD\x9C"
#define EOS "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>"

/* pyjson of a JSON text (the canonical form both sides are compared in). */
static char *canon(const char *json, size_t len)
{
    dsml_jv_error e;
    dsml_jv_doc *d = dsml_jv_parse(json, len, 0, &e);
    cr_assert_not_null(d, "not JSON (%s at %zu): %.*s", e.msg, e.offset, (int)len, json);
    dsml_buf b = {0};
    dsml_sink s = dsml_buf_sink(&b);
    cr_assert_eq(dsml_jv_write_py(dsml_jv_root(d), 0, &s, &e), 0);
    dsml_jv_free(d);
    return dsml_buf_take(&b, NULL);
}

static const char *const args[] = {
    "{\"command\": \"echo </" DS "parameter> done\"}",
    "{\"a\": \"x /" DS "parameter y\", \"b\": \"</" DS "invoke> </" DS "tool_calls>\"}",
    "{\"o\": {\"k\": \"</" DS "parameter>\", \"</" DS "parameter>\": [\"/" DS "parameter\"]}}",
    "{\"text\": \"line1\\nline2\\t\\\"q\\\" <b>&amp;</b> \\u65e5\\ud83d\\ude80\", \"empty\": \"\"}",
    "{\"n\": [1, -0, 1.50, 1e2, 1E-7, 12345678901234567890, 123456789012345678.0, true, null]}",
    "{\"nested\": {\"a\": [[], {}], \"b\": {\"c\": [1, \"two\", {\"d\": false}]}}}",
    "{\"key with spaces\": 1, \"\": \"empty name\", \"dup\": 1, \"dup\": \"last\"}",
    "{}",
    "{\"only\": \"  leading and trailing  \\n\"}",
};

static void roundtrip(dsml_dialect d)
{
    for (size_t k = 0; k < sizeof args / sizeof args[0]; k++) {
        char calls[2048];
        dsml_buf jq = {0};
        dsml_json_escape(args[k], strlen(args[k]), &jq);
        snprintf(calls, sizeof calls,
                 "[{\"id\": \"c\", \"type\": \"function\", \"function\": {\"name\": \"f\", "
                 "\"arguments\": \"%s\"}}, {\"function\": {\"name\": \"g\", \"arguments\": "
                 "\"{\\\"z\\\": 1}\"}}]",
                 jq.data);
        dsml_buf_free(&jq);
        dsml_buf block = {0};
        dsml_buf_puts(&block, "\n\n");
        dsml_sink s = dsml_buf_sink(&block);
        dsml_render_error err;
        cr_assert_eq(dsml_render_tool_calls(calls, strlen(calls), d, 0, &s, &err), 0,
                     "case %zu: %s: %s", k, err.path, err.message);
        dsml_buf_puts(&block, EOS);

        dsml_oai_options o;
        dsml_oai_options_init(&o);
        o.parse.dialect = d;
        o.parse.flags = DSML_STRICT;
        dsml_message m;
        dsml_code rc = dsml_parse_message(block.data, block.len, &o, 0, &m);
        cr_expect_eq(rc, DSML_OK, "case %zu: strict parse failed (%s) on:\n%s", k,
                     dsml_code_name(rc), block.data);
        cr_expect_eq(m.ncalls, 2, "case %zu: %zu calls", k, m.ncalls);
        if (rc == DSML_OK && m.ncalls == 2) {
            char *want = canon(args[k], strlen(args[k]));
            char *got = canon(m.calls[0].arguments.data, m.calls[0].arguments.len);
            cr_expect_str_eq(got, want, "case %zu: values changed", k);
            free(want);
            free(got);
        }
        dsml_message_free(&m);
        dsml_buf_free(&block);
    }
}

Test(render_roundtrip, v4_arguments_survive_render_then_strict_parse)
{
    roundtrip(DSML_V4);
}

Test(render_roundtrip, v32_arguments_survive_render_then_strict_parse)
{
    roundtrip(DSML_V32);
}
