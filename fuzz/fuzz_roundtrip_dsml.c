/*
 * fuzz_roundtrip_dsml.c - harness 3a: DSML -> OpenAI -> DSML reaches a fixpoint.
 *
 * Input: two option bytes (fuzz.h; the dialect picks the DeepSeek format, auto meaning v4;
 * thinking, strict and look-alikes apply to the first parse; limits are ignored), then the
 * completion text X. With dsml_convert:
 *
 *   M1 = X  -> OpenAI      (any input; strict mode may refuse it)
 *   D1 = M1 -> DSML        (canonical form; the renderer may refuse a value it cannot write)
 *   M2 = D1 -> OpenAI      (strict mode when M1 is representable, see below)
 *   D2 = M2 -> DSML
 *
 * When M1 is representable in the format (content, reasoning and tool names are plain
 * text, fz_text_is_plain; names shorter than 1 KiB; V3.1: arguments that are a minified
 * JSON object without the call-end token, names without '<': that format cannot escape
 * them, writes arguments verbatim, and strict V3.1 requires objects), then D1 must parse
 * in strict mode, D2 must equal D1 byte for byte, and M2 must carry M1's content, reasoning,
 * names and argument values (JSON-equal; arguments that are not a JSON object come back as
 * the renderer's {"arguments": "<text>"} parameter, V3.1 passes them through).
 */
#include <string.h>

#include "dsml_convert.h"
#include "dsml_json.h"
#include "fuzz.h"

struct msg {
    dsml_jv_doc *doc;
    const dsml_jv *content, *reasoning, *calls;
};

static void msg_read(struct msg *m, const dsml_buf *json)
{
    dsml_jv_error e;
    m->doc = dsml_jv_parse(json->data, json->len, 0, &e);
    FZ_CHECK(m->doc, "converter output is not JSON (%s at %zu):\n%s", e.msg, e.offset,
             json->data);
    const dsml_jv *r = dsml_jv_root(m->doc);
    m->content = dsml_jv_get(r, "content");
    m->reasoning = dsml_jv_get(r, "reasoning_content");
    m->calls = dsml_jv_get(r, "tool_calls");
    FZ_CHECK(m->content && (m->content->type == DSML_JV_STRING || m->content->type == DSML_JV_NULL),
             "message content is neither a string nor null");
    FZ_CHECK(!m->calls || (m->calls->type == DSML_JV_ARRAY && m->calls->len),
             "tool_calls present but not a non-empty array");
}

static const dsml_jv *fn_field(const dsml_jv *call, const char *k)
{
    const dsml_jv *v = dsml_jv_get(dsml_jv_get(call, "function"), k);
    FZ_CHECK(v && v->type == DSML_JV_STRING, "tool call without a string function.%s", k);
    return v;
}

static size_t ncalls(const struct msg *m) { return m->calls ? m->calls->len : 0; }

static int str_plain(const dsml_jv *v)
{
    return !v || v->type != DSML_JV_STRING || fz_text_is_plain(v->u.s, v->len);
}

static int representable(const struct msg *m, dsml_format f)
{
    if (!str_plain(m->content) || !str_plain(m->reasoning)) return 0;
    for (size_t i = 0; i < ncalls(m); i++) {
        const dsml_jv *c = &m->calls->u.items[i], *name = fn_field(c, "name");
        if (!str_plain(name) || name->len >= 1024) return 0;
        if (f == DSML_FMT_V31) {
            const dsml_jv *args = fn_field(c, "arguments");
            if (memchr(name->u.s, '<', name->len) ||
                fz_contains(args->u.s, args->len,
                            "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "end") ||
                !dsml_json_is_object(args->u.s, args->len))
                return 0;
            /* V3.1 writes the arguments verbatim and the parser minifies them: only
               minified text is a fixpoint (raw arguments passed through as not-an-object
               can become an object once invalid UTF-8 was replaced by U+FFFD) */
            dsml_buf mini = {0};
            dsml_jmin jm = {0, 0};
            dsml_json_minify(&jm, args->u.s, args->len, &mini);
            int same = fz_bytes_eq(mini.data, mini.len, args->u.s, args->len);
            dsml_buf_free(&mini);
            if (!same) return 0;
        }
    }
    return 1;
}

/* The arguments text M2 must carry for M1's arguments text a (see the file header). */
static void expected_args(const dsml_jv *a, dsml_format f, dsml_buf *out)
{
    dsml_buf_clear(out);
    if (f == DSML_FMT_V31 || dsml_json_is_object(a->u.s, a->len)) {
        dsml_buf_add(out, a->u.s, a->len);
        return;
    }
    size_t i = 0;
    while (i < a->len && strchr(" \t\r\n", a->u.s[i])) i++;
    if (i == a->len || (a->len - i >= 4 && !memcmp(a->u.s + i, "null", 4) &&
                        dsml_json_valid(a->u.s, a->len))) {
        dsml_buf_puts(out, "{}");
        return;
    }
    dsml_buf_puts(out, "{\"arguments\":\"");
    dsml_json_escape(a->u.s, a->len, out);
    dsml_buf_puts(out, "\"}");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    dsml_options o;
    fz_read_options(&in, &o, NULL);
    dsml_format fmt = o.dialect == DSML_AUTO ? DSML_FMT_V4 : (dsml_format)o.dialect;
    unsigned flags = o.flags & (DSML_THINKING | DSML_STRICT | DSML_LOOKALIKES);
    const char *text = (const char *)in.p;
    size_t len = in.n;

    dsml_buf m1 = {0}, d1 = {0}, m2 = {0}, d2 = {0}, want = {0};
    dsml_convert_error err;
    struct msg a = {0}, b = {0};
    if (fz_convert(text, len, fmt, DSML_FMT_OPENAI, flags, &m1, &err)) {
        FZ_CHECK(flags & DSML_STRICT, "tolerant DSML -> OpenAI failed: %s", err.message);
        goto out;
    }
    msg_read(&a, &m1);
    if (fz_convert(m1.data, m1.len, DSML_FMT_OPENAI, fmt, 0, &d1, &err)) goto out;
    int rep = representable(&a, fmt);
    /* strict mode for the second parse whenever M1 is representable: a value holding the
       parameter closer is written as a JSON string with the slash escaped (dsml_render.h),
       which the official parser and strict mode read back */
    int strict2 = rep;
    /* the V4.1 spaced closer "</｜DSML｜ parameter>" in a value is written raw; strict mode
       reads it as value text, tolerant mode ends the value there when markup follows */
    if (!strict2 && fz_contains(m1.data, m1.len, "\xEF\xBD\x9C" "DSML\xEF\xBD\x9C parameter"))
        rep = 0;
    unsigned flags2 = (flags & DSML_THINKING) | (strict2 ? DSML_STRICT : 0);
    if (fz_convert(d1.data, d1.len, fmt, DSML_FMT_OPENAI, flags2, &m2, &err)) {
        FZ_CHECK(!rep, "the rendered DSML fails a strict parse: %s at %llu\n--- M1\n%s\n--- D1\n%s",
                 err.message, (unsigned long long)err.offset, fz_show(m1.data, m1.len),
                 fz_show(d1.data, d1.len));
        goto out;
    }
    msg_read(&b, &m2);
    if (fz_convert(m2.data, m2.len, DSML_FMT_OPENAI, fmt, 0, &d2, &err)) {
        FZ_CHECK(!rep, "re-rendering the round-tripped message failed: %s\n--- M2\n%s",
                 err.message, fz_show(m2.data, m2.len));
        goto out;
    }
    if (!rep) goto out;
    FZ_CHECK(fz_bytes_eq(d1.data, d1.len, d2.data, d2.len),
             "DSML -> OpenAI -> DSML is not a fixpoint\n--- D1\n%s\n--- D2\n%s\n--- M1\n%s",
             fz_show(d1.data, d1.len), fz_show(d2.data, d2.len), fz_show(m1.data, m1.len));
    FZ_CHECK(fz_jv_str_eq(a.content, b.content), "content changed\n--- M1\n%s\n--- M2\n%s",
             fz_show(m1.data, m1.len), fz_show(m2.data, m2.len));
    FZ_CHECK(!a.reasoning == !b.reasoning && fz_jv_str_eq(a.reasoning, b.reasoning),
             "reasoning changed\n--- M1\n%s\n--- M2\n%s", fz_show(m1.data, m1.len),
             fz_show(m2.data, m2.len));
    FZ_CHECK(ncalls(&a) == ncalls(&b), "%zu calls became %zu\n--- M1\n%s\n--- M2\n%s",
             ncalls(&a), ncalls(&b), fz_show(m1.data, m1.len), fz_show(m2.data, m2.len));
    for (size_t i = 0; i < ncalls(&a); i++) {
        const dsml_jv *ca = &a.calls->u.items[i], *cb = &b.calls->u.items[i];
        FZ_CHECK(fz_jv_str_eq(fn_field(ca, "name"), fn_field(cb, "name")), "call %zu name changed",
                 i);
        const dsml_jv *aa = fn_field(ca, "arguments"), *ab = fn_field(cb, "arguments");
        expected_args(aa, fmt, &want);
        FZ_CHECK(fz_json_text_equal(want.data, want.len, ab->u.s, ab->len),
                 "call %zu arguments changed\n--- expected\n%s\n--- M2\n%s\n--- D1\n%s", i,
                 fz_show(want.data, want.len), fz_show(ab->u.s, ab->len),
                 fz_show(d1.data, d1.len));
    }
out:
    dsml_jv_free(a.doc);
    dsml_jv_free(b.doc);
    dsml_buf_free(&m1);
    dsml_buf_free(&d1);
    dsml_buf_free(&m2);
    dsml_buf_free(&d2);
    dsml_buf_free(&want);
    return 0;
}
