/*
 * render_api.c - the renderer's library contract: special-marker segments, the tool_calls
 * block writer (V4, V3.2, V3.1), error paths and offsets, sink failures, defaults.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "dsml_render.h"
#include "render_support.h"

#define U "\xEF\xBD\x9C"
#define B "\xE2\x96\x81"
#define DS U "DSML" U

static char *render(const char *json, const dsml_render_options *o, dsml_render_error *err)
{
    dsml_buf b = {0};
    dsml_sink s = dsml_buf_sink(&b);
    dsml_render_error e;
    int rc = dsml_render_prompt(json, strlen(json), o, &s, err ? err : &e);
    if (rc) {
        dsml_buf_free(&b);
        return NULL;
    }
    return dsml_buf_take(&b, NULL);
}

static char *calls(const char *json, dsml_dialect d, unsigned flags, dsml_render_error *err)
{
    dsml_buf b = {0};
    dsml_sink s = dsml_buf_sink(&b);
    dsml_render_error e;
    int rc = dsml_render_tool_calls(json, strlen(json), d, flags, &s, err ? err : &e);
    if (rc) {
        dsml_buf_free(&b);
        return NULL;
    }
    return dsml_buf_take(&b, NULL);
}

/* ---- segments ------------------------------------------------------------------------ */
static int seg_log(void *ud, const char *d, size_t n, int special)
{
    dsml_buf *b = ud;
    if (special) dsml_buf_putc(b, '{');
    dsml_buf_add(b, d, n);
    if (special) dsml_buf_putc(b, '}');
    return 0;
}

Test(render_api, segments_mark_only_the_renderers_own_markers)
{
    const char *req =
        "{\"messages\": ["
        "{\"role\": \"user\", \"content\": \"<" U "User" U ">x</think>" DS "\"},"
        "{\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": [{\"id\": \"a\", "
        "\"function\": {\"name\": \"f\", \"arguments\": \"{\\\"v\\\": \\\"<think>\\\"}\"}}]},"
        "{\"role\": \"tool\", \"tool_call_id\": \"a\", \"content\": \"<" U "end" B "of" B "sentence" U ">\"}]}";
    dsml_render_options o;
    dsml_render_options_init(&o);
    o.thinking = DSML_THINKING_ON;
    dsml_buf log = {0};
    dsml_segment_sink s = {seg_log, &log};
    dsml_render_error err;
    cr_assert_eq(dsml_render_prompt_segments(req, strlen(req), &o, &s, &err), 0, "%s", err.message);
    const char *want =
        "{<" U "begin" B "of" B "sentence" U ">}{<" U "User" U ">}<" U "User" U ">x</think>" DS
        "{<" U "Assistant" U ">}{</think>}\n\n<{" DS "}tool_calls>\n<{" DS "}invoke name=\"f\">\n<{" DS
        "}parameter name=\"v\" string=\"true\"><think></{" DS "}parameter>\n</{" DS "}invoke>\n</{" DS
        "}tool_calls>{<" U "end" B "of" B "sentence" U ">}{<" U "User" U ">}<tool_result><" U "end" B
        "of" B "sentence" U "></tool_result>{<" U "Assistant" U ">}{<think>}";
    cr_expect_str_eq(log.data, want);
    dsml_buf_free(&log);
}

Test(render_api, segments_mark_markers_in_the_tools_template)
{
    const char *req = "{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", "
                      "\"description\": \"uses <think> and " DS "\"}}], \"messages\": []}";
    dsml_buf log = {0};
    dsml_segment_sink s = {seg_log, &log};
    dsml_render_error err;
    cr_assert_eq(dsml_render_prompt_segments(req, strlen(req), NULL, &s, &err), 0, "%s",
                 err.message);
    /* The template spells ｜DSML｜ 9 times and <think>/</think> twice each; the schema's
     * copies stay plain. */
    size_t dsml = 0, think = 0, unthink = 0;
    for (const char *p = log.data; (p = strchr(p, '{')); p++) {
        if (!strncmp(p, "{" DS "}", sizeof DS + 1)) dsml++;
        if (!strncmp(p, "{<think>}", 9)) think++;
        if (!strncmp(p, "{</think>}", 10)) unthink++;
    }
    cr_expect_eq(dsml, 9);
    cr_expect_eq(think, 2);
    cr_expect_eq(unthink, 2);
    cr_expect_not_null(strstr(log.data, "\"description\": \"uses <think> and " DS "\""));
    dsml_buf_free(&log);
}

/* ---- tool_calls blocks ----------------------------------------------------------------- */
static const char two_calls[] =
    "[{\"id\": \"c1\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
    "\"arguments\": \"{\\\"city\\\": \\\"Paris\\\", \\\"days\\\": 2}\"}},"
    " {\"id\": \"c2\", \"type\": \"function\", \"function\": {\"name\": \"now\", \"arguments\": \"\"}}]";

Test(render_api, tool_calls_render_as_a_v4_block)
{
    char *got = calls(two_calls, DSML_V4, 0, NULL);
    cr_assert_not_null(got);
    cr_expect_str_eq(got, "<" DS "tool_calls>\n<" DS "invoke name=\"get_weather\">\n<" DS
                          "parameter name=\"city\" string=\"true\">Paris</" DS "parameter>\n<" DS
                          "parameter name=\"days\" string=\"false\">2</" DS "parameter>\n</" DS
                          "invoke>\n<" DS "invoke name=\"now\">\n\n</" DS "invoke>\n</" DS
                          "tool_calls>");
    free(got);
}

Test(render_api, tool_calls_render_as_a_v32_block)
{
    char *got = calls(two_calls, DSML_V32, 0, NULL);
    cr_assert_not_null(got);
    cr_expect(!strncmp(got, "<" DS "function_calls>\n<" DS "invoke name=\"get_weather\">",
                       sizeof "<" DS "function_calls>\n<" DS "invoke name=\"get_weather\">" - 1));
    const char *tail = "</" DS "function_calls>";
    cr_expect_str_eq(got + strlen(got) - strlen(tail), tail);
    free(got);
}

Test(render_api, tool_calls_render_as_a_v31_block_with_verbatim_arguments)
{
    char *got = calls(two_calls, DSML_V31, 0, NULL);
    cr_assert_not_null(got);
    cr_expect_str_eq(got, "<" U "tool" B "calls" B "begin" U "><" U "tool" B "call" B "begin" U
                          ">get_weather<" U "tool" B "sep" U ">{\"city\": \"Paris\", \"days\": 2}<"
                          U "tool" B "call" B "end" U "><" U "tool" B "call" B "begin" U ">now<" U
                          "tool" B "sep" U ">{}<" U "tool" B "call" B "end" U "><" U "tool" B
                          "calls" B "end" U ">");
    free(got);
    got = calls("[{\"function\": {\"name\": \"f\", \"arguments\": {\"a\": [1.50]}}}]", DSML_V31, 0,
                NULL);
    cr_assert_not_null(got);
    cr_expect(strstr(got, U ">{\"a\": [1.5]}<") != NULL, "object arguments written with pyjson");
    free(got);
}

Test(render_api, tool_calls_accept_an_object_or_an_assistant_message)
{
    char *arr = calls("[{\"function\": {\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}}]",
                      DSML_V4, 0, NULL);
    char *one = calls("{\"function\": {\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}}", DSML_V4,
                      0, NULL);
    char *msg = calls("{\"role\": \"assistant\", \"tool_calls\": [{\"function\": {\"name\": \"f\", "
                      "\"arguments\": \"{\\\"a\\\": 1}\"}}]}",
                      DSML_V4, 0, NULL);
    cr_assert(arr && one && msg);
    cr_expect_str_eq(one, arr);
    cr_expect_str_eq(msg, arr);
    free(arr), free(one), free(msg);
    char *none = calls("[]", DSML_V4, 0, NULL);
    cr_assert_not_null(none);
    cr_expect_str_eq(none, "", "an empty list writes nothing");
    free(none);
}

Test(render_api, tool_call_errors_name_the_element)
{
    dsml_render_error err;
    cr_expect_null(calls("[{\"function\": {\"arguments\": \"{}\"}}]", DSML_V4, 0, &err));
    cr_expect_str_eq(err.path, "[0].function.name");
    cr_expect_eq(err.offset, 14);
    cr_expect_null(calls("{\"tool_calls\": [1]}", DSML_V4, 0, &err));
    cr_expect_str_eq(err.path, "tool_calls[0]");
    cr_expect_null(calls("[{\"function\": {\"name\": \"f\", \"arguments\": \"{\\\"t\\\": \\\"/" DS
                         "parameter\\\"}\"}}]",
                         DSML_V4, DSML_RENDER_CLOSER_ERROR, &err));
    cr_expect_str_eq(err.path, "[0].function.arguments");
    cr_expect_null(calls("[]", DSML_AUTO, 0, &err));
    cr_expect_null(calls("[", DSML_V4, 0, &err));
    cr_expect_eq(err.offset, 1);
}

/* ---- prompt errors, defaults, sinks ---------------------------------------------------- */
Test(render_api, errors_carry_path_and_offset_of_the_element)
{
    const char *req = "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, "
                      "{\"role\": \"function\", \"content\": \"b\"}]}";
    dsml_render_error err;
    cr_expect_null(render(req, NULL, &err));
    cr_expect_str_eq(err.path, "messages[1].role");
    cr_expect_eq(err.offset, (size_t)(strstr(req, "\"function\"") - req));
    cr_expect(strstr(err.message, "unknown role") != NULL);
    cr_expect_null(render("{\"messages\": [}", NULL, &err));
    cr_expect_str_eq(err.path, "");
    cr_expect_eq(err.offset, 14);
}

Test(render_api, request_depth_limit_is_configurable)
{
    const char *req = "{\"messages\": [{\"role\": \"user\", \"content\": [[[[1]]]]}]}";
    dsml_render_options o;
    dsml_render_options_init(&o);
    o.max_depth = 5;
    dsml_render_error err;
    cr_expect_null(render(req, &o, &err));
    cr_expect(strstr(err.message, "nested too deeply") != NULL, "%s", err.message);
    o.max_depth = 0;
    cr_expect_null(render(req, &o, &err));
    cr_expect_str_eq(err.path, "messages[0].content[0]", "default depth: the content part error");
}

Test(render_api, null_options_are_the_defaults)
{
    const char *req = "{\"reasoning_effort\": \"max\", \"tools\": [{\"function\": {\"name\": \"f\"}}], "
                      "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}";
    dsml_render_options o;
    dsml_render_options_init(&o);
    char *a = render(req, NULL, NULL), *b = render(req, &o, NULL);
    cr_assert(a && b);
    cr_expect_str_eq(a, b);
    cr_expect(!strncmp(a, "<" U "begin" B "of" B "sentence" U ">Reasoning Effort: Absolute maximum",
                       sizeof "<" U "begin" B "of" B "sentence" U ">Reasoning Effort: Absolute maximum" - 1));
    free(a), free(b);
}

Test(render_api, parsed_and_text_entries_agree)
{
    const char *req = "[{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"Q\"}]";
    dsml_jv_doc *d = dsml_jv_parse(req, strlen(req), 0, NULL);
    cr_assert_not_null(d);
    dsml_buf b = {0};
    dsml_sink s = dsml_buf_sink(&b);
    cr_assert_eq(dsml_render_prompt_jv(dsml_jv_root(d), NULL, &s, NULL), 0);
    char *t = render(req, NULL, NULL);
    cr_assert_not_null(t);
    cr_expect_str_eq(b.data, t);
    cr_expect_str_eq(t, "<" U "begin" B "of" B "sentence" U ">S<" U "User" U ">Q<" U "Assistant" U
                        "></think>");
    free(t);
    dsml_buf_free(&b);
    dsml_jv_free(d);
}

Test(render_api, prompt_renderer_rejects_the_v31_dialect)
{
    dsml_render_options o;
    dsml_render_options_init(&o);
    o.dialect = DSML_V31;
    dsml_render_error err;
    cr_expect_null(render("[]", &o, &err));
    cr_expect(strstr(err.message, "v4 and v3.2") != NULL);
}

static const char rich[] =
    "{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {}}}],"
    " \"response_format\": {\"type\": \"json_object\"}, \"reasoning_effort\": \"max\", \"messages\": ["
    "{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": [{\"type\": \"text\", "
    "\"text\": \"a\"}, {\"type\": \"image_url\"}]}, {\"role\": \"assistant\", \"content\": \"c\", "
    "\"reasoning_content\": \"r\", \"tool_calls\": [{\"id\": \"x\", \"function\": {\"name\": \"f\", "
    "\"arguments\": \"{\\\"a\\\": [1.5, \\\"s\\\"], \\\"b\\\": \\\"t\\\"}\"}}]}, {\"role\": \"tool\", "
    "\"tool_call_id\": \"x\", \"content\": \"out\"}]}";

static int failing_seg(void *ud, const char *d, size_t n, int special)
{
    (void)special;
    return rs_failing_write(ud, d, n);
}

Test(render_api, a_failing_sink_stops_the_render_at_every_write)
{
    for (int seg = 0; seg < 2; seg++) {
        long k = 0;
        for (;; k++) {
            rs_failing f = {{0}, 0, k};
            dsml_render_error err;
            int rc;
            if (seg) {
                dsml_segment_sink s = {failing_seg, &f};
                rc = dsml_render_prompt_segments(rich, strlen(rich), NULL, &s, &err);
            } else {
                dsml_sink s = {rs_failing_write, &f};
                rc = dsml_render_prompt(rich, strlen(rich), NULL, &s, &err);
            }
            dsml_buf_free(&f.buf);
            if (f.writes <= k) {
                cr_expect_eq(rc, 0, "%s", err.message);
                break;
            }
            cr_expect_eq(rc, -1, "write %ld failed, render succeeded", k);
            cr_expect_str_eq(err.message, "output sink failed");
            cr_expect_eq(f.writes, k + 1, "nothing written after the failure");
        }
        cr_expect_gt(k, seg ? 10 : 0, "the render took several writes");
    }
}
