/*
 * fuzz_request.c - harness 6a: the request-body paths of dsml-proxy and the renderer.
 *
 * Input: one option byte, then a request body.
 *   bits 0-1  thinking: 0/3 from the request, 1 chat mode, 2 thinking mode
 *   bit 2     dialect v3.2 (else v4)
 *   bits 3-6  render flags: DEEPSEEK_ROLES, KEEP_REASONING, CLOSER_ERROR, NO_BOS
 *   bit 7     maximum reasoning effort (else from the request)
 *
 * Invariants:
 *   - proxy_req_parse accepts or refuses with a status and a message; on success the
 *     request writer (proxy_jv_write) and the untouched upstream-body builder (proxy_jobj)
 *     give the same valid JSON, which reads back identical (number text verbatim); every
 *     flavor's knobs keep it a JSON object; the proxy's completions-mode prompt
 *     (proxy_render_prompt) is the renderer's prompt for the same body and options; a
 *     forced call's prefill (proxy_call_prefix) followed by the call's closing tags
 *     parses to one call of that tool;
 *   - dsml_render_prompt, its segment form (concatenated) and the pre-parsed form
 *     (dsml_render_prompt_jv) agree on success, bytes and error; errors carry a message
 *     and an offset inside the body;
 *   - dsml_render_tool_calls writes a block that the parser reads back with as many calls
 *     as the input had (tolerant mode; names the renderer accepts are writable).
 */
#include <string.h>

#include "dsml_json.h"
#include "dsml_openai.h"
#include "dsml_render.h"
#include "fuzz.h"
#include "proxy.h"

static int seg_write(void *ud, const char *data, size_t len, int is_special)
{
    (void)is_special;
    return dsml_buf_add(ud, data, len);
}

static void check_renderer(const char *body, size_t len, const dsml_render_options *o)
{
    dsml_buf pbuf = {0}, *prompt = &pbuf;
    dsml_sink s = dsml_buf_sink(prompt);
    dsml_render_error e1, e2, e3;
    memset(&e1, 0, sizeof e1);
    int rc = dsml_render_prompt(body, len, o, &s, &e1);
    if (rc) {
        FZ_CHECK(e1.message[0], "render failed without a message");
        FZ_CHECK(e1.offset <= len, "render error offset %zu beyond %zu bytes", e1.offset, len);
    }
    dsml_buf seg = {0};
    dsml_segment_sink ss = {seg_write, &seg};
    int rc2 = dsml_render_prompt_segments(body, len, o, &ss, &e2);
    FZ_CHECK(rc == rc2, "render %d, segments %d", rc, rc2);
    if (!rc)
        FZ_CHECK(fz_bytes_eq(seg.data, seg.len, prompt->data, prompt->len),
                 "concatenated segments differ from the prompt");
    else
        FZ_CHECK(!strcmp(e1.message, e2.message) && !strcmp(e1.path, e2.path) &&
                     e1.offset == e2.offset,
                 "render and segments report different errors: %s / %s", e1.message, e2.message);
    dsml_jv_error je;
    dsml_jv_doc *doc = dsml_jv_parse(body, len, o->max_depth, &je);
    if (doc) {
        dsml_buf p3 = {0};
        dsml_sink s3 = dsml_buf_sink(&p3);
        int rc3 = dsml_render_prompt_jv(dsml_jv_root(doc), o, &s3, &e3);
        FZ_CHECK(rc == rc3, "render %d, render_jv %d", rc, rc3);
        if (!rc)
            FZ_CHECK(fz_bytes_eq(p3.data, p3.len, prompt->data, prompt->len),
                     "render_jv output differs");
        dsml_buf_free(&p3);
        dsml_jv_free(doc);
    } else {
        FZ_CHECK(rc, "the renderer accepted a body the document model refuses");
    }
    dsml_buf_free(&seg);
    dsml_buf_free(&pbuf);
}

static void check_proxy(const char *body, size_t len, unsigned h)
{
    proxy_req r;
    proxy_req_error err;
    memset(&err, 0, sizeof err);
    if (proxy_req_parse(body, len, &r, &err)) {
        FZ_CHECK(err.status >= 400 && err.status < 600 && err.code && err.message[0],
                 "request refused without status, code or message");
        FZ_CHECK(!r.doc, "a refused request kept its document");
        return;
    }
    /* the upstream body: written exactly (numbers verbatim), through proxy_jv_write and
       through the body builder the proxy edits, and with each flavor's knobs */
    dsml_buf w = {0}, w2 = {0};
    FZ_CHECK(!proxy_jv_write(r.root, &w), "proxy_jv_write failed");
    FZ_CHECK(dsml_json_valid(w.data, w.len), "proxy_jv_write wrote invalid JSON:\n%s",
             fz_show(w.data, w.len));
    dsml_jv_error je;
    dsml_jv_doc *back = dsml_jv_parse(w.data, w.len, 0, &je);
    FZ_CHECK(back && fz_jv_identical(dsml_jv_root(back), r.root),
             "the written request reads back different:\n%s", fz_show(w.data, w.len));
    dsml_jv_free(back);
    proxy_jobj jo;
    memset(&jo, 0, sizeof jo);
    proxy_jobj_init(&jo, r.root);
    FZ_CHECK(!proxy_jobj_write(&jo, &w2) && w2.len == w.len && !memcmp(w2.data, w.data, w.len),
             "the untouched body builder writes another body\n%s\n%s", fz_show(w.data, w.len),
             fz_show(w2.data, w2.len));
    proxy_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.dialect = h & 4 ? DSML_V32 : DSML_V4;
    cfg.flavor = (proxy_flavor)((h >> 3) % 5);
    int thinking = (h & 3) == 2 || ((h & 3) != 1 && r.thinking == 1);
    proxy_flavor_apply(&cfg, h & 1, &jo, thinking, r.reasoning_effort);
    dsml_buf_clear(&w2);
    FZ_CHECK(!proxy_jobj_write(&jo, &w2), "body builder failed");
    back = dsml_jv_parse(w2.data, w2.len, 0, &je);
    FZ_CHECK(back && dsml_jv_root(back)->type == DSML_JV_OBJECT,
             "the %s upstream body is not a JSON object:\n%s", proxy_flavor_name(cfg.flavor),
             fz_show(w2.data, w2.len));
    dsml_jv_free(back);
    proxy_jobj_free(&jo);

    /* completions mode: the proxy's prompt is the renderer's prompt for the body, for the
       options the proxy passes (dialect, thinking on or off) */
    dsml_buf pp = {0};
    char msg[512];
    int prc = proxy_render_prompt(&cfg, &r, thinking, &pp, msg, sizeof msg);
    if (prc) FZ_CHECK(msg[0], "proxy_render_prompt failed without a message");
    dsml_render_options o;
    dsml_render_options_init(&o);
    o.dialect = cfg.dialect;
    o.thinking = thinking ? DSML_THINKING_ON : DSML_THINKING_OFF;
    dsml_buf direct = {0};
    dsml_sink ds = dsml_buf_sink(&direct);
    dsml_render_error re;
    int drc = dsml_render_prompt(body, len, &o, &ds, &re);
    FZ_CHECK(!drc == !prc, "the proxy %s the prompt, dsml_render_prompt %s it",
             prc ? "refuses" : "renders", drc ? "refuses" : "renders");
    if (!drc)
        FZ_CHECK(fz_bytes_eq(direct.data, direct.len, pp.data, pp.len),
                 "the proxy renders another prompt than dsml_render_prompt for the same body");

    /* a forced call's prefill, followed by the end of a call, parses to one call */
    dsml_buf pre = {0};
    if (!proxy_call_prefix(&cfg, &r, thinking, &pre) && pre.len && r.tool_choice == PROXY_TC_NAMED) {
        dsml_buf_puts(&pre, "</\xEF\xBD\x9C" "DSML\xEF\xBD\x9Cinvoke>\n</\xEF\xBD\x9C" "DSML\xEF\xBD\x9C");
        dsml_buf_puts(&pre, cfg.dialect == DSML_V32 ? "function_calls>" : "tool_calls>");
        dsml_oai_options oo;
        dsml_oai_options_init(&oo);
        oo.parse.dialect = cfg.dialect;
        dsml_message m;
        dsml_code c = dsml_parse_message(pre.data, pre.len, &oo, 0, &m);
        size_t nl = strlen(r.tool_choice_name);
        FZ_CHECK(c == DSML_OK && m.ncalls == 1 && m.calls[0].name.len == nl &&
                     !memcmp(m.calls[0].name.data, r.tool_choice_name, nl),
                 "the prefill for tool %s does not parse to that call:\n%s",
                 fz_show(r.tool_choice_name, nl), fz_show(pre.data, pre.len));
        dsml_message_free(&m);
    }
    dsml_buf_free(&pre);
    dsml_buf_free(&direct);
    dsml_buf_free(&pp);
    dsml_buf_free(&w);
    dsml_buf_free(&w2);
    proxy_req_free(&r);
}

/* Number of tool calls dsml_render_tool_calls sees in its input. */
static size_t input_calls(const char *body, size_t len)
{
    dsml_jv_error je;
    dsml_jv_doc *d = dsml_jv_parse(body, len, 0, &je);
    if (!d) return 0;
    const dsml_jv *r = dsml_jv_root(d), *tc = dsml_jv_get(r, "tool_calls");
    size_t n = r->type == DSML_JV_ARRAY ? r->len
               : tc && tc->type == DSML_JV_ARRAY ? tc->len
               : 1;
    dsml_jv_free(d);
    return n;
}

static void check_tool_calls(const char *body, size_t len, unsigned h)
{
    static const dsml_dialect ds[3] = {DSML_V4, DSML_V32, DSML_V31};
    dsml_dialect d = ds[(h >> 4) % 3];
    dsml_buf out = {0};
    dsml_sink s = dsml_buf_sink(&out);
    dsml_render_error e;
    if (dsml_render_tool_calls(body, len, d, 0, &s, &e)) {
        FZ_CHECK(e.message[0], "render_tool_calls failed without a message");
        dsml_buf_free(&out);
        return;
    }
    if (!out.len) {
        dsml_buf_free(&out);
        return;
    }
    dsml_buf text = {0};
    if (d != DSML_V31) dsml_buf_puts(&text, "\n\n");
    dsml_buf_add(&text, out.data, out.len);
    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    oo.parse.dialect = d;
    dsml_message m;
    dsml_code c = dsml_parse_message(text.data, text.len, &oo, 0, &m);
    size_t want = input_calls(body, len);
    FZ_CHECK(c == DSML_OK && m.ncalls == want && m.result.status == DSML_DONE,
             "a rendered block of %zu calls parses to %zu (%s, status %d)\n%s", want, m.ncalls,
             dsml_code_name(c), (int)m.result.status, fz_show(text.data, text.len));
    dsml_message_free(&m);
    dsml_buf_free(&text);
    dsml_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    unsigned h = fz_u8(&in);
    const char *body = (const char *)in.p;
    size_t len = in.n;

    dsml_render_options o;
    dsml_render_options_init(&o);
    o.dialect = h & 4 ? DSML_V32 : DSML_V4;
    if ((h & 3) == 1) o.thinking = DSML_THINKING_OFF;
    if ((h & 3) == 2) o.thinking = DSML_THINKING_ON;
    o.flags = (h & 8 ? DSML_RENDER_DEEPSEEK_ROLES : 0) | (h & 16 ? DSML_RENDER_KEEP_REASONING : 0) |
              (h & 32 ? DSML_RENDER_CLOSER_ERROR : 0) | (h & 64 ? DSML_RENDER_NO_BOS : 0);
    if (h & 128) o.effort = DSML_EFFORT_MAX;

    check_renderer(body, len, &o);
    check_proxy(body, len, h);
    check_tool_calls(body, len, h);
    return 0;
}
