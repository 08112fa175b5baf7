/*
 * fuzz_parse.c - harness 1: one-shot parse in every dialect and mode.
 *
 * Input: two option bytes (fuzz.h: dialect, thinking, strict, look-alikes, line counting,
 * limits, allocation failure), then the completion text, fed in one call.
 *
 * Invariants (any violation aborts):
 *   - events come in the order dsml.h promises, the result agrees with them (call and
 *     warning counts, status, offsets within the input, line:col right with DSML_LINES);
 *   - the non-stream message (dsml_parse_message) returns the same code and holds exactly
 *     the complete calls; its finish reason follows spec/DSML.md §7; its JSON
 *     (dsml_message_json) is valid JSON whose strings decode to the message's fields;
 *   - every complete call's arguments are one JSON object, except raw arguments the parser
 *     flagged as not an object (passed through as text);
 *   - nothing is lost: without a block and without EOS, reasoning + "</think>" + content
 *     is the input, byte for byte;
 *   - allocation failure: the parser either reports E_NOMEM or produces the same events as
 *     with a working allocator.
 */
#include <stdlib.h>
#include <string.h>

#include "dsml_json.h"
#include "dsml_openai.h"
#include "fuzz.h"

/* ---- allocator that fails after a number of successful allocations ------------------- */

struct failing {
    unsigned left;   /* successful allocations still allowed */
    unsigned failed; /* allocations refused */
};

static void *fa_malloc(void *ud, size_t n)
{
    struct failing *f = ud;
    if (!f->left) return f->failed++, NULL;
    f->left--;
    return malloc(n);
}

static void *fa_realloc(void *ud, void *p, size_t n)
{
    struct failing *f = ud;
    if (!f->left) return f->failed++, NULL;
    f->left--;
    return realloc(p, n);
}

static void fa_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

static void check_alloc_failure(const char *text, size_t len, const dsml_options *o,
                                unsigned allowed, const char *ref_log)
{
    struct failing f = {allowed, 0};
    dsml_allocator al = {fa_malloc, fa_realloc, fa_free, &f};
    dsml_options oa = *o;
    oa.alloc = &al;
    tu_rec rec = {{0}, 0};
    dsml_callbacks cb = tu_callbacks();
    dsml_parser *p = dsml_parser_new(&oa, &cb, &rec);
    if (!p) {
        FZ_CHECK(f.failed, "dsml_parser_new failed without an allocation failure");
        tu_rec_free(&rec);
        return;
    }
    dsml_code c = dsml_feed(p, text, len);
    dsml_code fin = dsml_finish(p);
    if (c == DSML_OK) c = fin;
    if (!f.failed) {
        tu_log_result(&rec, dsml_result_get(p));
        FZ_CHECK(!strcmp(rec.log.data, ref_log),
                 "the same input gives other events with a custom allocator\n--- malloc\n%s\n"
                 "--- custom\n%s",
                 ref_log, rec.log.data);
    } else {
        FZ_CHECK(c == DSML_E_NOMEM, "a failed allocation gave %s, not E_NOMEM",
                 dsml_code_name(c));
    }
    dsml_parser_free(p);
    tu_rec_free(&rec);
}

/* ---- the message ---------------------------------------------------------------------- */

static const dsml_jv *member(const dsml_jv *o, const char *k) { return dsml_jv_get(o, k); }

static void check_json_string(const dsml_jv *v, const dsml_buf *raw, const char *what)
{
    FZ_CHECK(v && v->type == DSML_JV_STRING, "%s is not a JSON string", what);
    if (fz_utf8_valid(raw->data ? raw->data : "", raw->len))
        FZ_CHECK(fz_bytes_eq(v->u.s, v->len, raw->data, raw->len),
                 "%s: the JSON string does not decode to the raw bytes", what);
    else
        FZ_CHECK(fz_contains(v->u.s, v->len, "\xEF\xBF\xBD"),
                 "%s: invalid UTF-8 without U+FFFD in the JSON", what);
}

static void check_message(const char *text, size_t len, const dsml_options *o, dsml_code code,
                          const fz_events *ev)
{
    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    oo.parse = *o;
    uint64_t seed = 1;
    oo.make_id = dsml_id_seeded;
    oo.id_ud = &seed;
    dsml_message m;
    dsml_code mc = dsml_parse_message(text, len, &oo, 0, &m);
    FZ_CHECK(mc == code, "dsml_parse_message returned %s, the parser %s", dsml_code_name(mc),
             dsml_code_name(code));
    const dsml_result *r = &m.result;
    if (code == DSML_OK) {
        FZ_CHECK(m.ncalls == r->calls, "message has %zu calls, result %u", m.ncalls, r->calls);
        for (size_t i = 0; i < m.ncalls; i++)
            FZ_CHECK(m.calls[i].complete, "call %zu in the message is not complete", i);
        const char *want = r->status == DSML_INCOMPLETE ? "length"
                           : r->calls                 ? "tool_calls"
                                                      : "stop";
        FZ_CHECK(m.finish && !strcmp(m.finish, want), "finish %s, expected %s",
                 m.finish ? m.finish : "(none)", want);
        for (size_t i = 0; i < m.ncalls && !ev->not_object; i++)
            FZ_CHECK(dsml_json_is_object(m.calls[i].arguments.data, m.calls[i].arguments.len),
                     "call %zu arguments are not a JSON object: %s", i,
                     m.calls[i].arguments.data);
        /* nothing lost */
        if (!r->saw_block && !r->saw_eos && !ev->think_open) {
            dsml_buf all = {0};
            dsml_buf_add(&all, m.reasoning.data, m.reasoning.len);
            if (r->reasoning_closed) dsml_buf_puts(&all, "</think>");
            dsml_buf_add(&all, m.content.data, m.content.len);
            FZ_CHECK(fz_bytes_eq(all.data, all.len, text, len),
                     "without a block, reasoning + </think> + content is not the input\n"
                     "--- input (%zu bytes)\n%.*s\n--- rebuilt (%zu bytes)\n%s",
                     len, (int)len, text, all.len, all.data ? all.data : "");
            dsml_buf_free(&all);
        }
    }
    dsml_buf js = {0};
    FZ_CHECK(!dsml_message_json(&m, &js), "dsml_message_json failed");
    FZ_CHECK(dsml_json_valid(js.data, js.len), "message JSON is not valid JSON:\n%s", js.data);
    dsml_jv_error je;
    dsml_jv_doc *doc = dsml_jv_parse(js.data, js.len, 0, &je);
    FZ_CHECK(doc, "message JSON rejected by the document model at %zu: %s\n%s", je.offset,
             je.msg, js.data);
    const dsml_jv *root = dsml_jv_root(doc), *content = member(root, "content");
    if (m.has_content && m.content.len) check_json_string(content, &m.content, "content");
    else FZ_CHECK(content && content->type == DSML_JV_NULL, "empty content is not null");
    const dsml_jv *rc = member(root, "reasoning_content");
    FZ_CHECK(!rc == !m.has_reasoning, "reasoning_content present %d, thinking %d", !!rc,
             m.has_reasoning);
    if (rc) check_json_string(rc, &m.reasoning, "reasoning_content");
    const dsml_jv *calls = member(root, "tool_calls");
    FZ_CHECK(m.ncalls ? calls && calls->type == DSML_JV_ARRAY && calls->len == m.ncalls : !calls,
             "tool_calls does not list the %zu calls", m.ncalls);
    for (size_t i = 0; i < m.ncalls; i++) {
        const dsml_jv *fn = member(&calls->u.items[i], "function");
        check_json_string(member(fn, "name"), &m.calls[i].name, "name");
        check_json_string(member(fn, "arguments"), &m.calls[i].arguments, "arguments");
    }
    dsml_jv_free(doc);
    dsml_buf_free(&js);
    dsml_message_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    dsml_options o;
    unsigned alloc_fail;
    fz_read_options(&in, &o, &alloc_fail);
    const char *text = (const char *)in.p;
    size_t len = in.n;

    fz_events ev;
    memset(&ev, 0, sizeof ev);
    dsml_code code = fz_parse_checked(text, len, &o, NULL, 0, &ev);
    check_message(text, len, &o, code, &ev);
    if (alloc_fail) check_alloc_failure(text, len, &o, alloc_fail, ev.rec.log.data);
    fz_events_free(&ev);
    return 0;
}
