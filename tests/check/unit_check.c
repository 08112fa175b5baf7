/*
 * unit_check.c - the checks library (dsml_check.h): every C_* code that a file can produce
 * has a positive input (the code is reported) and a negative one, as close as possible,
 * where it is not; plus positions, de-duplication of strict errors against tolerant
 * warnings, comparisons, input detection and the stability of the code table. The codes of
 * live endpoints (C_HTTP_STATUS … C_EXPECT_CONTENT) are exercised by tests/check/conform_test.py.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "dsml_check.h"
#include "dsml_openai.h"

/* ---- helpers ------------------------------------------------------------------------ */

typedef struct got {
    char codes[4096];
    char where[4096]; /* "CODE@line:col" */
    int n;
} got;

static int on_finding(void *ud, const dsml_finding *f)
{
    got *g = ud;
    size_t l = strlen(g->codes);
    snprintf(g->codes + l, sizeof g->codes - l, "%s%s", l ? " " : "", f->code);
    l = strlen(g->where);
    if (f->offset != DSML_NO_OFFSET)
        snprintf(g->where + l, sizeof g->where - l, "%s%s@%llu:%llu", l ? " " : "", f->code,
                 (unsigned long long)f->line, (unsigned long long)f->col);
    g->n++;
    cr_assert(f->message && f->message[0], "%s has a message", f->code);
    return 0;
}

static int has(const got *g, const char *code)
{
    size_t n = strlen(code);
    for (const char *p = g->codes; (p = strstr(p, code)); p += n)
        if ((p == g->codes || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return 1;
    return 0;
}

static const char tools[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\",\"minimum\":1}},"
    "\"required\":[\"city\"],\"additionalProperties\":false}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"noop\"}}]";

enum kind { COMP, RESP, SSE, COMP_THINK };

static got check(enum kind k, const char *text, int with_tools)
{
    got g;
    memset(&g, 0, sizeof g);
    dsml_check_options o;
    dsml_check_options_init(&o);
    if (k == COMP_THINK) o.flags |= DSML_THINKING;
    dsml_checker *c = dsml_checker_new(&o, on_finding, &g);
    cr_assert(c);
    if (with_tools) cr_assert_eq(dsml_checker_set_tools(c, tools, strlen(tools), NULL), 0);
    cr_assert_eq(g.n, 0, "the test tools are clean: %s", g.codes);
    int n = k == RESP ? dsml_check_response(c, text, strlen(text), NULL)
            : k == SSE ? dsml_check_stream(c, text, strlen(text), NULL)
                       : dsml_check_completion(c, text, strlen(text), NULL);
    cr_assert_eq(n, g.n, "return value counts the findings");
    dsml_checker_free(c);
    return g;
}

/* The stream a correct runtime sends for a completion (libdsml's own writer). */
static char *stream_of(const char *completion)
{
    static char out[16384];
    dsml_buf b = {0};
    dsml_chunk_options co = {"chatcmpl-t", "m", 1, NULL, 0};
    dsml_chunker *ch = dsml_chunker_new(&co, dsml_buf_sink(&b));
    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    uint64_t seed = 1;
    oo.make_id = dsml_id_seeded;
    oo.id_ud = &seed;
    dsml_oai *p = dsml_oai_new(&oo, dsml_chunker_on_delta, ch);
    size_t len = strlen(completion);
    dsml_oai_feed(p, completion, len); /* one piece: each value in one fragment */
    dsml_oai_finish(p);
    dsml_oai_free(p);
    dsml_chunker_free(ch);
    cr_assert(b.len < sizeof out);
    memcpy(out, b.data, b.len + 1);
    dsml_buf_free(&b);
    return out;
}

/* Replace the first occurrence of `from` in s (in place; s has room). */
static char *replace(char *s, const char *from, const char *to)
{
    char *p = strstr(s, from);
    cr_assert(p, "'%s' in the stream", from);
    size_t fl = strlen(from), tl = strlen(to);
    memmove(p + tl, p + fl, strlen(p + fl) + 1);
    memcpy(p, to, tl);
    return s;
}

#define B(x) "<\xEF\xBD\x9C" "DSML\xEF\xBD\x9C" x
#define CB(x) "</\xEF\xBD\x9C" "DSML\xEF\xBD\x9C" x
#define CALL(name, params) B("invoke name=\"" name "\">\n") params CB("invoke>")
#define PAR(name, flag, v) B("parameter name=\"" name "\" string=\"" flag "\">") v CB("parameter>") "\n"
#define BLOCK(inner) "\n\n" B("tool_calls>\n") inner "\n" CB("tool_calls>")
#define WEATHER BLOCK(CALL("get_weather", PAR("city", "true", "Paris")))
#define WEATHER_J "\\n\\n" B("tool_calls>\\n") B("invoke name=\\\"get_weather\\\">\\n") \
    B("parameter name=\\\"city\\\" string=\\\"true\\\">") "Paris" CB("parameter>\\n") CB("invoke>\\n") CB("tool_calls>")

#define RESP_(msg, finish)                                                                          \
    "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":" msg        \
    ",\"finish_reason\":" finish "}]}"
#define CALLJ(id, type, name, args) \
    "{" id type "\"function\":{\"name\":\"" name "\",\"arguments\":" args "}}"
#define GOODCALL CALLJ("\"id\":\"call_1\",", "\"type\":\"function\",", "get_weather", "\"{\\\"city\\\":\\\"Paris\\\"}\"")
#define MSGCALLS(calls) "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[" calls "]}"

/* ---- one positive and one negative case per code ---------------------------------------- */

typedef struct ccase {
    const char *code;
    enum kind kind;
    int tools;
    const char *pos, *neg;
} ccase;

static const ccase cases[] = {
    {"C_LEAKED_DSML", RESP, 0,
     RESP_("{\"role\":\"assistant\",\"content\":\"Sure." WEATHER_J "\"}", "\"stop\""),
     RESP_("{\"role\":\"assistant\",\"content\":\"Sure, Paris is sunny.\"}", "\"stop\"")},
    {"C_LEAKED_DSML", RESP, 0, /* V3.1 tokens */
     RESP_("{\"role\":\"assistant\",\"content\":\"<\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "begin\xEF\xBD\x9C>"
           "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "begin\xEF\xBD\x9C>get_weather<\xEF\xBD\x9Ctool\xE2\x96\x81"
           "sep\xEF\xBD\x9C>{\\\"city\\\":\\\"Paris\\\"}<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81"
           "end\xEF\xBD\x9C><\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "end\xEF\xBD\x9C>\"}", "\"stop\""),
     RESP_("{\"role\":\"assistant\",\"content\":\"tool calls begin here\"}", "\"stop\"")},
    {"C_DSML_IN_REASONING", RESP, 0,
     RESP_("{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"I should call." WEATHER_J "\"}", "\"stop\""),
     RESP_("{\"role\":\"assistant\",\"content\":\"ok\",\"reasoning_content\":\"I know the answer.\"}", "\"stop\"")},
    {"C_DSML_IN_REASONING", COMP_THINK, 0, "I need the weather." WEATHER, "I need the weather.</think>" WEATHER},
    {"C_MARKUP_FRAGMENT", RESP, 0,
     RESP_("{\"role\":\"assistant\",\"content\":\"Let me check.\xEF\xBD\x9C" "DSML\xEF\xBD\x9Ctool_calls>\"}", "\"stop\""),
     RESP_("{\"role\":\"assistant\",\"content\":\"Let me check the DSML spec.\"}", "\"stop\"")},
    {"C_SPECIAL_TOKEN", RESP, 0,
     RESP_("{\"role\":\"assistant\",\"content\":\"Done.<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>\"}", "\"stop\""),
     RESP_("{\"role\":\"assistant\",\"content\":\"Done. <b>bold</b> a|b\"}", "\"stop\"")},
    {"C_TRUNCATED", COMP, 0, "Hi\n\n" B("tool_calls>\n") B("invoke name=\"f\">\n") B("parameter name=\"a\" string=\"true\">par"),
     "Hi" BLOCK(CALL("f", PAR("a", "true", "partial")))},
    {"C_TRUNCATED", RESP, 0, RESP_("{\"role\":\"assistant\",\"content\":\"a long\"}", "\"length\""),
     RESP_("{\"role\":\"assistant\",\"content\":\"a long\"}", "\"stop\"")},
    {"C_UNKNOWN_TOOL", RESP, 1,
     RESP_(MSGCALLS(CALLJ("\"id\":\"c\",", "\"type\":\"function\",", "get_wether", "\"{\\\"city\\\":\\\"Paris\\\"}\"")), "\"tool_calls\""),
     RESP_(MSGCALLS(GOODCALL), "\"tool_calls\"")},
    {"C_UNKNOWN_TOOL", COMP, 1, BLOCK(CALL("get_wether", PAR("city", "true", "Paris"))), WEATHER},
    {"C_FLAG_TRUE_NONSTRING", COMP, 1,
     BLOCK(CALL("get_weather", PAR("city", "true", "Paris") PAR("days", "true", "3"))),
     BLOCK(CALL("get_weather", PAR("city", "true", "Paris") PAR("days", "false", "3")))},
    {"C_FLAG_FALSE_STRING", COMP, 1, BLOCK(CALL("get_weather", PAR("city", "false", "\"Paris\""))), WEATHER},
    {"C_ARGS_NOT_STRING", RESP, 0,
     RESP_(MSGCALLS(CALLJ("\"id\":\"c\",", "\"type\":\"function\",", "get_weather", "{\"city\":\"Paris\"}")), "\"tool_calls\""),
     RESP_(MSGCALLS(GOODCALL), "\"tool_calls\"")},
    {"C_ARGS_JSON", RESP, 0,
     RESP_(MSGCALLS(CALLJ("\"id\":\"c\",", "\"type\":\"function\",", "get_weather", "\"{city: Paris}\"")), "\"tool_calls\""),
     RESP_(MSGCALLS(GOODCALL), "\"tool_calls\"")},
    {"C_ARGS_NOT_OBJECT", RESP, 0,
     RESP_(MSGCALLS(CALLJ("\"id\":\"c\",", "\"type\":\"function\",", "get_weather", "\"[\\\"Paris\\\"]\"")), "\"tool_calls\""),
     RESP_(MSGCALLS(CALLJ("\"id\":\"c\",", "\"type\":\"function\",", "get_weather", "\"{}\"")), "\"tool_calls\"")},
    {"C_CALL_ID", RESP, 0,
     RESP_(MSGCALLS(CALLJ("", "\"type\":\"function\",", "get_weather", "\"{}\"")), "\"tool_calls\""),
     RESP_(MSGCALLS(CALLJ("\"id\":\"c\",", "\"type\":\"function\",", "get_weather", "\"{}\"")), "\"tool_calls\"")},
    {"C_CALL_ID_DUP", RESP, 0,
     RESP_(MSGCALLS(CALLJ("\"id\":\"c\",", "\"type\":\"function\",", "a", "\"{}\"") ","
                    CALLJ("\"id\":\"c\",", "\"type\":\"function\",", "b", "\"{}\"")), "\"tool_calls\""),
     RESP_(MSGCALLS(CALLJ("\"id\":\"c\",", "\"type\":\"function\",", "a", "\"{}\"") ","
                    CALLJ("\"id\":\"d\",", "\"type\":\"function\",", "b", "\"{}\"")), "\"tool_calls\"")},
    {"C_CALL_TYPE", RESP, 0,
     RESP_(MSGCALLS(CALLJ("\"id\":\"c\",", "\"type\":\"tool\",", "get_weather", "\"{}\"")), "\"tool_calls\""),
     RESP_(MSGCALLS(CALLJ("\"id\":\"c\",", "\"type\":\"function\",", "get_weather", "\"{}\"")), "\"tool_calls\"")},
    {"C_CALL_NAME", RESP, 0,
     RESP_(MSGCALLS(CALLJ("\"id\":\"c\",", "\"type\":\"function\",", "", "\"{}\"")), "\"tool_calls\""),
     RESP_(MSGCALLS(CALLJ("\"id\":\"c\",", "\"type\":\"function\",", "f", "\"{}\"")), "\"tool_calls\"")},
    {"C_FINISH_REASON", RESP, 0, RESP_(MSGCALLS(GOODCALL), "\"stop\""), RESP_(MSGCALLS(GOODCALL), "\"tool_calls\"")},
    {"C_FINISH_REASON", RESP, 0, RESP_("{\"role\":\"assistant\",\"content\":\"hi\"}", "\"tool_calls\""),
     RESP_("{\"role\":\"assistant\",\"content\":\"hi\"}", "\"stop\"")},
    {"C_FINISH_REASON", RESP, 0, RESP_("{\"role\":\"assistant\",\"content\":\"hi\"}", "null"),
     RESP_("{\"role\":\"assistant\",\"content\":\"hi\"}", "\"content_filter\"")},
    {"C_SHAPE", RESP, 0, "{\"choices\":{}}", RESP_("{\"role\":\"assistant\",\"content\":\"hi\"}", "\"stop\"")},
    {"C_NOT_JSON", RESP, 0, "{\"choices\":[", RESP_("{\"role\":\"assistant\",\"content\":\"hi\"}", "\"stop\"")},
    {"C_API_ERROR", RESP, 0, "{\"error\":{\"message\":\"model overloaded\",\"type\":\"server_error\"}}",
     RESP_("{\"role\":\"assistant\",\"content\":\"error: none\"}", "\"stop\"")},
};

Test(check, every_code_has_a_positive_and_a_negative_case)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const ccase *k = &cases[i];
        got p = check(k->kind, k->pos, k->tools);
        cr_expect(has(&p, k->code), "case %zu: %s not reported for the positive input (got: %s)", i, k->code, p.codes);
        got n = check(k->kind, k->neg, k->tools);
        cr_expect(!has(&n, k->code), "case %zu: %s reported for the negative input (got: %s)", i, k->code, n.codes);
    }
}

/* Stream codes: a correct stream from libdsml's writer, then one defect each. */
#define TWO_CALLS "Checking." BLOCK(CALL("get_weather", PAR("city", "true", "Paris")) "\n" \
                                    CALL("get_weather", PAR("city", "true", "Rome")))

Test(check, a_correct_stream_has_no_findings)
{
    got g = check(SSE, stream_of(TWO_CALLS), 1);
    cr_assert_eq(g.n, 0, "%s", g.codes);
    g = check(SSE, stream_of("Just text, no call."), 1);
    cr_assert_eq(g.n, 0, "%s", g.codes);
}

Test(check, stream_defects_each_give_their_code)
{
    static const struct { const char *code, *from, *to; } d[] = {
        {"C_STREAM_JSON", "data: {", "data: {oops"},
        {"C_STREAM_DONE", "data: [DONE]", "data: {\"x\":1}"},
        {"C_STREAM_ROLE", "\"role\":\"assistant\",", ""},
        {"C_INDEX_GAP", "\"index\":0,\"id\"", "\"index\":1,\"id\""},
        {"C_INDEX_REUSE", "\"index\":1,\"id\"", "\"index\":0,\"id\""},
        {"C_CALL_ID", "\"id\":\"call_", "\"xd\":\"call_"},
        {"C_CALL_TYPE", "\"type\":\"function\",", ""},
        {"C_CALL_NAME", "\"name\":\"get_weather\"", "\"name\":\"\""},
        {"C_ARGS_NOT_STRING", "\"arguments\":\"\"", "\"arguments\":{}"},
        {"C_ARGS_JSON", "Rome", "Ro\\\\me"},
        {"C_FINISH_REASON", "\"finish_reason\":\"tool_calls\"", "\"finish_reason\":\"stop\""},
        {"C_API_ERROR", "data: [DONE]", "data: {\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]"},
        {"C_UNKNOWN_TOOL", "\"name\":\"get_weather\"", "\"name\":\"get_wether\""},
        {"C_LEAKED_DSML", "\"content\":\"Checking.\"", "\"content\":\"Checking." WEATHER_J "\""},
        {"C_SHAPE", "\"delta\":{}", "\"delta\":7"},
    };
    for (size_t i = 0; i < sizeof d / sizeof *d; i++) {
        char *s = stream_of(TWO_CALLS);
        replace(s, d[i].from, d[i].to);
        got g = check(SSE, s, 1);
        cr_expect(has(&g, d[i].code), "%s: got %s", d[i].code, g.codes);
    }
}

Test(check, a_stream_without_the_blank_line_after_its_last_event_is_truncated)
{
    char *s = stream_of("Hello.");
    s[strlen(s) - 2] = 0; /* "data: [DONE]" without "\n\n" ends the stream inside an event */
    got g = check(SSE, s, 0);
    cr_assert(has(&g, "C_STREAM_DONE"), "%s", g.codes);
}

Test(check, a_stream_with_crlf_and_comments_is_fine)
{
    char *s = stream_of("Hello there.");
    static char crlf[32768];
    size_t k = 0;
    k += (size_t)snprintf(crlf, sizeof crlf, ": keep-alive\r\n\r\n");
    for (const char *p = s; *p && k + 2 < sizeof crlf; p++) {
        if (*p == '\n') crlf[k++] = '\r';
        crlf[k++] = *p;
    }
    crlf[k] = 0;
    got g = check(SSE, crlf, 0);
    cr_assert_eq(g.n, 0, "%s", g.codes);
}

Test(check, completion_strict_error_is_not_repeated_as_its_warning)
{
    got g = check(COMP, "Hi" B("tool_calls>\n") CALL("f", "") "\n" CB("tool_calls>"), 0);
    cr_assert_str_eq(g.codes, "E_NO_SEPARATOR", "%s", g.codes);
    cr_assert_str_eq(g.where, "E_NO_SEPARATOR@1:3");
}

Test(check, completion_reports_every_tolerant_deviation_with_its_position)
{
    got g = check(COMP, "Hi\n\n" B("tool_calls>\r\n") B("invoke name=\"f\" >\n")
                        B("parameter string=\"true\" name=\"a\">x") CB("parameter>\n") CB("invoke>\n")
                        CB("tool_calls>"), 0);
    cr_assert(has(&g, "E_WHITESPACE") && has(&g, "W_TAG_SPACE") && has(&g, "W_ATTR_ORDER"), "%s", g.codes);
    cr_assert(strstr(g.where, "W_TAG_SPACE@4:"), "%s", g.where);
}

Test(check, a_clean_completion_has_no_findings)
{
    got g = check(COMP, "Let me check." WEATHER, 1);
    cr_assert_eq(g.n, 0, "%s", g.codes);
    g = check(COMP_THINK, "Thinking it over.</think>Here." WEATHER, 1);
    cr_assert_eq(g.n, 0, "%s", g.codes);
}

Test(check, schema_findings_point_at_the_parameter)
{
    got g = check(COMP, "Go." BLOCK(CALL("get_weather", PAR("city", "true", "Paris") PAR("days", "false", "0")
                                                            PAR("extra", "true", "x"))), 1);
    cr_assert(strstr(g.where, "S_MINIMUM@6:1") && strstr(g.where, "S_ADDITIONAL@7:1"), "%s", g.where);
}

Test(check, tools_with_broken_schemas_are_reported_once_as_s_schema)
{
    got g;
    memset(&g, 0, sizeof g);
    dsml_checker *c = dsml_checker_new(NULL, on_finding, &g);
    static const char bad[] = "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":"
                              "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"strnig\"}}}}}]}";
    cr_assert_eq(dsml_checker_set_tools(c, bad, strlen(bad), NULL), 0);
    cr_assert_str_eq(g.codes, "S_SCHEMA");
    cr_assert_eq(dsml_checker_ntools(c), 1);
    const char *why = NULL;
    static const char noname[] = "[{\"type\":\"function\"}]";
    cr_assert_eq(dsml_checker_set_tools(c, noname, strlen(noname), &why), -1);
    cr_assert(why && strstr(why, "name"));
    cr_assert_eq(dsml_checker_set_tools(c, "nope", 4, &why), -1);
    cr_assert_eq(dsml_checker_ntools(c), 1, "a failed load keeps the previous tools");
    dsml_checker_free(c);
}

static void summary_call(dsml_check_summary *s, const char *name, const char *args)
{
    s->calls = realloc(s->calls, (s->ncalls + 1) * sizeof *s->calls);
    s->cap = s->ncalls + 1;
    dsml_check_call *c = &s->calls[s->ncalls++];
    memset(c, 0, sizeof *c);
    dsml_buf_puts(&c->name, name);
    dsml_buf_puts(&c->arguments, args);
}

static got compare(const dsml_check_summary *a, const dsml_check_summary *b, dsml_check_code code)
{
    got g;
    memset(&g, 0, sizeof g);
    dsml_checker *c = dsml_checker_new(NULL, on_finding, &g);
    dsml_check_compare(c, a, b, code, "cmp");
    dsml_checker_free(c);
    return g;
}

Test(check, stream_mismatch_compares_calls_as_json)
{
    dsml_check_summary a = {0}, b = {0}, e = {0};
    summary_call(&a, "f", "{\"x\":[1, 2],\"y\":1.0}");
    summary_call(&b, "f", "{\"y\":1,\"x\":[1,2]}");
    cr_assert_eq(compare(&a, &b, DSML_C_STREAM_MISMATCH).n, 0, "same JSON value");
    summary_call(&e, "f", "{}");
    got g = compare(&a, &e, DSML_C_STREAM_MISMATCH);
    cr_assert_str_eq(g.codes, "C_STREAM_MISMATCH");
    dsml_check_summary_free(&e);
    g = compare(&a, &e, DSML_C_STREAM_MISMATCH);
    cr_assert_str_eq(g.codes, "C_STREAM_MISMATCH", "different number of calls");
    dsml_check_summary_free(&a);
    dsml_check_summary_free(&b);
}

Test(check, parse_mismatch_compares_calls_and_content)
{
    dsml_check_summary ref = {0}, ok = {0}, bad = {0};
    dsml_checker *c = dsml_checker_new(NULL, NULL, NULL);
    dsml_check_completion(c, "Let me check." WEATHER, strlen("Let me check." WEATHER), &ref);
    const char good_resp[] = RESP_("{\"role\":\"assistant\",\"content\":\"Let me check.\",\"tool_calls\":[" GOODCALL "]}", "\"tool_calls\"");
    dsml_check_response(c, good_resp, strlen(good_resp), &ok);
    const char bad_resp[] = RESP_("{\"role\":\"assistant\",\"content\":\"Let me check." WEATHER_J "\"}", "\"stop\"");
    dsml_check_response(c, bad_resp, strlen(bad_resp), &bad);
    dsml_checker_free(c);
    cr_assert_eq(ref.ncalls, 1);
    cr_assert_str_eq(ref.finish, "tool_calls");
    cr_assert_eq(compare(&ref, &ok, DSML_C_PARSE_MISMATCH).n, 0);
    got g = compare(&ref, &bad, DSML_C_PARSE_MISMATCH);
    cr_assert(has(&g, "C_PARSE_MISMATCH") && g.n == 2, "calls and content: %s", g.codes);
    dsml_check_summary_free(&ref);
    dsml_check_summary_free(&ok);
    dsml_check_summary_free(&bad);
}

Test(check, summaries_hold_what_a_client_assembles)
{
    dsml_check_summary s = {0};
    dsml_checker *c = dsml_checker_new(NULL, NULL, NULL);
    const char *sse = stream_of(TWO_CALLS);
    cr_assert_eq(dsml_check_stream(c, sse, strlen(sse), &s), 0);
    cr_assert_eq(s.ncalls, 2);
    cr_assert_str_eq(s.calls[1].arguments.data, "{\"city\":\"Rome\"}");
    cr_assert_str_eq(s.content.data, "Checking.");
    cr_assert_str_eq(s.finish, "tool_calls");
    dsml_checker_free(c);
    dsml_check_summary_free(&s);
}

Test(check, input_kinds_are_detected)
{
    static const struct { const char *text; dsml_input_kind k; } t[] = {
        {"Hello " B("tool_calls>"), DSML_INPUT_COMPLETION},
        {"{\n \"choices\": []\n}\n", DSML_INPUT_RESPONSE},
        {"data: {}\n\ndata: [DONE]\n\n", DSML_INPUT_STREAM},
        {": comment\n\ndata: {}\n\n", DSML_INPUT_STREAM},
        {"{\"a\":1}\n{\"b\":2}\n", DSML_INPUT_JSONL},
        {"\"raw text\"\n\"more\"\n", DSML_INPUT_JSONL},
        {"{\"a\":1}\nnot json\n", DSML_INPUT_JSONL},
        {"{not json\n{\"b\":2}", DSML_INPUT_RESPONSE},
        {"[not json", DSML_INPUT_COMPLETION},
        {"", DSML_INPUT_COMPLETION},
        {"42", DSML_INPUT_COMPLETION},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        cr_expect_eq(dsml_check_detect(t[i].text, strlen(t[i].text)), t[i].k, "%zu: %s", i, t[i].text);
}

Test(check, code_table_is_stable)
{
    cr_assert_eq(DSML_C_LEAKED_DSML, 1);
    cr_assert_eq(DSML_C_FINISH_REASON, 20);
    cr_assert_eq(DSML_C_STREAM_JSON, 30);
    cr_assert_eq(DSML_C_HTTP_STATUS, 40);
    cr_assert_str_eq(dsml_check_code_name(DSML_C_INDEX_REUSE), "C_INDEX_REUSE");
    cr_assert_eq(dsml_check_code_severity(DSML_C_STREAM_MISMATCH), DSML_SEV_WARNING);
    cr_assert_str_eq(dsml_check_code_name((dsml_check_code)999), "?");
    size_t n = 0;
    while (dsml_check_code_at(n)) n++;
    cr_assert_gt(n, 30);
}

/* Every code a file can produce has a positive/negative pair above; the codes of live
 * endpoints (>= 40) are covered by tests/check/conform_test.py. */
Test(check, every_file_code_is_covered)
{
    static const char *const elsewhere[] = {"C_PARSE_MISMATCH", "C_STREAM_MISMATCH", "C_STREAM_JSON",
                                            "C_STREAM_DONE", "C_STREAM_ROLE", "C_INDEX_GAP", "C_INDEX_REUSE"};
    for (size_t i = 0; dsml_check_code_at(i); i++) {
        dsml_check_code code = dsml_check_code_at(i);
        if (code >= 40) continue;
        const char *name = dsml_check_code_name(code);
        int found = 0;
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) found |= !strcmp(cases[k].code, name);
        for (size_t k = 0; k < sizeof elsewhere / sizeof *elsewhere; k++) found |= !strcmp(elsewhere[k], name);
        cr_expect(found, "%s has no positive/negative case", name);
    }
}
