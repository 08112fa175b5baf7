/*
 * unit_request.c - the client request reader (validation, byte positions of syntax
 * errors, tool_choice and thinking fields), the number-exact writers and the upstream body
 * builder.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

static int parse(const char *s, proxy_req *r, proxy_req_error *e)
{
    return proxy_req_parse(s, strlen(s), r, e);
}

#define MSGS "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
#define TOOLS "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a\"}},{\"type\":\"function\",\"function\":{\"name\":\"b\"}}]"

Test(request, syntax_error_reports_the_offending_byte)
{
    proxy_req r;
    proxy_req_error e;
    const char *body = "{\"model\":\"m\",\n \"messages\": [1,,2]}";
    cr_assert_eq(parse(body, &r, &e), -1);
    cr_assert_eq(e.status, 400);
    cr_assert_str_eq(e.code, "invalid_json");
    cr_assert_eq(e.position, 30, "the second comma");
    cr_assert(strstr(e.message, "byte 30 (line 2, column 17)") != NULL, "%s", e.message);
}

Test(request, truncated_body_reports_the_end_position)
{
    proxy_req r;
    proxy_req_error e;
    cr_assert_eq(parse("{\"model\":\"m\"", &r, &e), -1);
    cr_assert_eq(e.position, 12);
}

Test(request, duplicate_keys_resolve_like_python_the_last_value_wins)
{
    /* what the runtimes behind the proxy (Python json) and the renderer do */
    proxy_req r;
    proxy_req_error e;
    cr_assert_eq(parse("{\"model\":\"a\",\"model\":\"b\"," MSGS "}", &r, &e), 0);
    cr_assert_str_eq(r.model, "b");
    proxy_req_free(&r);
}

Test(request, numbers_beyond_64_bits_are_accepted)
{
    proxy_req r;
    proxy_req_error e;
    cr_assert_eq(parse("{\"model\":\"m\"," MSGS ",\"seed\":123456789012345678901234567890,\"x\":1e400}", &r, &e), 0, "%s", e.message);
    proxy_req_free(&r);
}

Test(request, non_object_body_is_rejected)
{
    proxy_req r;
    proxy_req_error e;
    cr_assert_eq(parse("[1,2]", &r, &e), -1);
    cr_assert(strstr(e.message, "JSON object"));
}

Test(request, defaults_without_tools)
{
    proxy_req r;
    proxy_req_error e;
    cr_assert_eq(parse("{\"model\":\"m\"," MSGS "}", &r, &e), 0);
    cr_assert_str_eq(r.model, "m");
    cr_assert_eq(r.stream, 0);
    cr_assert_eq(r.ntools, 0);
    cr_assert_eq(r.tool_choice, PROXY_TC_NONE);
    cr_assert_eq(r.parallel_tool_calls, 1);
    cr_assert_eq(r.thinking, -1);
    proxy_req_free(&r);
}

Test(request, tools_default_to_auto_and_named_choice_is_checked)
{
    proxy_req r;
    proxy_req_error e;
    cr_assert_eq(parse("{\"model\":\"m\"," MSGS "," TOOLS ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}", &r, &e), 0);
    cr_assert_eq(r.ntools, 2);
    cr_assert_str_eq(r.tool_names[1], "b");
    cr_assert_eq(r.tool_choice, PROXY_TC_AUTO);
    cr_assert_eq(r.stream, 1);
    cr_assert_eq(r.include_usage, 1);
    proxy_req_free(&r);
    cr_assert_eq(parse("{\"model\":\"m\"," MSGS "," TOOLS ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"b\"}},\"parallel_tool_calls\":false}", &r, &e), 0);
    cr_assert_eq(r.tool_choice, PROXY_TC_NAMED);
    cr_assert_str_eq(r.tool_choice_name, "b");
    cr_assert_eq(r.parallel_tool_calls, 0);
    proxy_req_free(&r);
    cr_assert_eq(parse("{\"model\":\"m\"," MSGS "," TOOLS ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"zz\"}}}", &r, &e), -1);
    cr_assert(strstr(e.message, "zz"));
}

Test(request, required_without_tools_is_rejected)
{
    proxy_req r;
    proxy_req_error e;
    cr_assert_eq(parse("{\"model\":\"m\"," MSGS ",\"tool_choice\":\"required\"}", &r, &e), -1);
    cr_assert(strstr(e.message, "requires 'tools'"));
}

Test(request, thinking_and_reasoning_effort)
{
    proxy_req r;
    proxy_req_error e;
    cr_assert_eq(parse("{\"model\":\"m\"," MSGS ",\"thinking\":{\"type\":\"enabled\"},\"reasoning_effort\":\"max\"}", &r, &e), 0);
    cr_assert_eq(r.thinking, 1);
    cr_assert_str_eq(r.reasoning_effort, "max");
    proxy_req_free(&r);
    cr_assert_eq(parse("{\"model\":\"m\"," MSGS ",\"thinking\":{\"type\":\"disabled\"}}", &r, &e), 0);
    cr_assert_eq(r.thinking, 0);
    proxy_req_free(&r);
    cr_assert_eq(parse("{\"model\":\"m\"," MSGS ",\"thinking\":{\"type\":\"sometimes\"}}", &r, &e), -1);
}

Test(request, missing_model_or_messages)
{
    proxy_req r;
    proxy_req_error e;
    cr_assert_eq(parse("{" MSGS "}", &r, &e), -1);
    cr_assert(strstr(e.message, "model"));
    cr_assert_eq(parse("{\"model\":\"m\",\"messages\":[]}", &r, &e), -1);
    cr_assert_eq(parse("{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}]}", &r, &e), -1);
    cr_assert(strstr(e.message, "messages[0]"));
}

static char *jv_roundtrip(const char *in)
{
    dsml_jv_error je;
    dsml_jv_doc *d = dsml_jv_parse(in, strlen(in), 0, &je);
    cr_assert(d, "%s", je.msg);
    dsml_buf b = {0};
    cr_assert_eq(proxy_jv_write(dsml_jv_root(d), &b), 0);
    dsml_jv_free(d);
    return dsml_buf_take(&b, NULL);
}

Test(request, document_writer_keeps_every_number_as_written)
{
    char *s = jv_roundtrip("{ \"big\": 123456789012345678901234567890, \"f\": 1.50, \"e\": 1E+2, \"h\": 1e400,"
                           " \"n\": -0, \"a\": [0.1, 2.5e-300], \"s\": \"\\u00e9\\n\\\"\\u0000\" }");
    cr_assert_str_eq(s, "{\"big\":123456789012345678901234567890,\"f\":1.50,\"e\":1E+2,\"h\":1e400,"
                        "\"n\":-0,\"a\":[0.1,2.5e-300],\"s\":\"\xC3\xA9\\n\\\"\\u0000\"}");
    free(s);
}

Test(request, body_builder_sets_replaces_defaults_and_removes_members)
{
    const char *in = "{\"model\":\"m\",\"temperature\":0.70,\"tools\":[1],\"stream\":false,\"keep\":{\"x\":1e400}}";
    dsml_jv_doc *d = dsml_jv_parse(in, strlen(in), 0, NULL);
    cr_assert(d);
    proxy_jobj o = {0};
    proxy_jobj_init(&o, dsml_jv_root(d));
    proxy_jobj_set_str(&o, "model", "up\"m", 4);        /* replaced in place */
    proxy_jobj_set(&o, "stream", "true");
    proxy_jobj_default(&o, "temperature", "1");          /* the client's value stays */
    proxy_jobj_default(&o, "cache_prompt", "true");      /* appended */
    proxy_jobj_del(&o, "tools");
    proxy_jobj_del(&o, "absent");
    cr_assert(proxy_jobj_get(&o, "keep"));
    cr_assert_null(proxy_jobj_get(&o, "tools"));
    dsml_buf b = {0};
    cr_assert_eq(proxy_jobj_write(&o, &b), 0);
    cr_assert_str_eq(b.data, "{\"model\":\"up\\\"m\",\"temperature\":0.70,\"stream\":true,\"keep\":{\"x\":1e400},\"cache_prompt\":true}");
    dsml_buf_free(&b);
    proxy_jobj_free(&o);
    dsml_jv_free(d);
}

Test(request, body_builder_keeps_keys_that_contain_nul)
{
    /* "m\u0000x" is a key of its own: not "m", and written back with its NUL escaped */
    const char *in = "{\"m\\u0000x\":1,\"m\":2}";
    dsml_jv_doc *d = dsml_jv_parse(in, strlen(in), 0, NULL);
    cr_assert(d);
    proxy_jobj o = {0};
    proxy_jobj_init(&o, dsml_jv_root(d));
    cr_assert_eq(o.n, 2);
    const proxy_jmember *m = proxy_jobj_get(&o, "m");
    cr_assert(m && m->key_len == 1);
    proxy_jobj_del(&o, "m");
    dsml_buf b = {0};
    cr_assert_eq(proxy_jobj_write(&o, &b), 0);
    cr_assert_str_eq(b.data, "{\"m\\u0000x\":1}");
    dsml_buf_free(&b);
    proxy_jobj_free(&o);
    dsml_jv_free(d);
}

Test(request, document_writer_keeps_strings_and_order)
{
    const char *in = "{\"b\":\"x\\n\\\"y\\u0001\xC3\xA9\",\"a\":[true,false,null,{}],\"args\":\"{\\\"k\\\": 1.50}\"}";
    dsml_jv_doc *d = dsml_jv_parse(in, strlen(in), 0, NULL);
    cr_assert(d);
    dsml_buf b = {0};
    cr_assert_eq(proxy_jv_write(dsml_jv_root(d), &b), 0);
    cr_assert_str_eq(b.data, in);
    dsml_buf_free(&b);
    dsml_jv_free(d);
}
