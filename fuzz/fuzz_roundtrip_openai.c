/*
 * fuzz_roundtrip_openai.c - harness 3b: OpenAI JSON -> DSML -> OpenAI JSON keeps names and
 * argument values.
 *
 * Input: one byte (bits 0-1: target format v4, v3.2, v3.1; 3 = v4), then an OpenAI
 * assistant message, chat completion or tool_calls array M0 (JSON). With dsml_convert:
 *
 *   D  = M0 -> DSML       (may refuse: invalid JSON, a name it cannot write, 1e400, ...)
 *   M1 = D  -> OpenAI     (tolerant; thinking mode when M0 has reasoning_content)
 *
 * M1 must always come out (tolerant parsing of the renderer's own output fails only on a
 * limit: too many parameters, a value over max_value). When M0 is representable (content,
 * reasoning and names plain text, fz_text_is_plain; names and keys under 1 KiB; no V4.1
 * spaced parameter closer in the arguments, which the renderer writes raw; V3.1: names
 * without '<', arguments without the call-end token), M1 carries M0's content, reasoning,
 * call count, names, and argument values as the renderer's rules say (dsml_render.h):
 * an object's members (duplicates: last value); "", whitespace, null, absent, "null" -> {};
 * other text -> {"arguments": text}; an object given as a value -> that object; V3.1
 * carries the text verbatim (null, absent or only whitespace -> {}).
 */
#include <string.h>

#include "dsml_convert.h"
#include "dsml_json.h"
#include "fuzz.h"

struct m0 {
    const dsml_jv *msg, *calls, *reasoning;
    dsml_buf content;
};

/* The pieces dsml_convert takes from an OpenAI input (see from_openai in convert.c's
 * documentation in dsml_convert.h). Returns 0 when the input has no usable shape. */
static int read_m0(const dsml_jv *root, struct m0 *m)
{
    memset(m, 0, sizeof *m);
    const dsml_jv *choices = dsml_jv_get(root, "choices");
    m->msg = root;
    if (choices && choices->type == DSML_JV_ARRAY && choices->len)
        m->msg = dsml_jv_get(&choices->u.items[0], "message");
    if (root->type == DSML_JV_ARRAY) {
        m->calls = root;
        m->msg = NULL;
    } else if (m->msg && m->msg->type == DSML_JV_OBJECT) {
        m->calls = dsml_jv_get(m->msg, "tool_calls");
    } else {
        return 0;
    }
    if (m->calls && m->calls->type != DSML_JV_ARRAY) m->calls = NULL;
    const dsml_jv *rc = m->msg ? dsml_jv_get(m->msg, "reasoning_content") : NULL;
    m->reasoning = rc && rc->type == DSML_JV_STRING ? rc : NULL;
    const dsml_jv *c = m->msg ? dsml_jv_get(m->msg, "content") : NULL;
    if (c && c->type == DSML_JV_STRING) dsml_buf_add(&m->content, c->u.s, c->len);
    for (size_t i = 0; c && c->type == DSML_JV_ARRAY && i < c->len; i++) {
        const dsml_jv *t = dsml_jv_get(&c->u.items[i], "text");
        if (t && t->type == DSML_JV_STRING) dsml_buf_add(&m->content, t->u.s, t->len);
    }
    return 1;
}

static const dsml_jv *call_fn(const dsml_jv *call, const char *k)
{
    return dsml_jv_get(dsml_jv_get(call, "function"), k);
}

static int keys_ok(const dsml_jv *args_text)
{
    dsml_jv_error e;
    dsml_jv_doc *d = dsml_jv_parse(args_text->u.s, args_text->len, 0, &e);
    int ok = 1;
    const dsml_jv *r = d ? dsml_jv_root(d) : NULL;
    for (size_t i = 0; r && r->type == DSML_JV_OBJECT && i < r->len; i++)
        if (r->u.members[i].key_len >= 1024) ok = 0;
    dsml_jv_free(d);
    return ok;
}

/* V3.1 writes the arguments text verbatim (a non-string value as its JSON text): text that
   holds the call-end token ends the call early and cannot come back. */
static int v31_args_end(const dsml_jv *args)
{
    static const char end[] = "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "end";
    if (!args) return 0;
    if (args->type == DSML_JV_STRING) return fz_contains(args->u.s, args->len, end);
    dsml_buf t = {0};
    dsml_sink s = dsml_buf_sink(&t);
    dsml_jv_error e;
    dsml_jv_write_py(args, 0, &s, &e);
    int found = fz_contains(t.data, t.len, end);
    dsml_buf_free(&t);
    return found;
}

static int representable(const struct m0 *m, dsml_format f)
{
    if (!fz_text_is_plain(m->content.data, m->content.len)) return 0;
    if (m->reasoning && !fz_text_is_plain(m->reasoning->u.s, m->reasoning->len)) return 0;
    for (size_t i = 0; m->calls && i < m->calls->len; i++) {
        const dsml_jv *name = call_fn(&m->calls->u.items[i], "name");
        const dsml_jv *args = call_fn(&m->calls->u.items[i], "arguments");
        if (!name || name->type != DSML_JV_STRING || name->len >= 1024 ||
            !fz_text_is_plain(name->u.s, name->len))
            return 0;
        if (args && args->type == DSML_JV_STRING && !keys_ok(args)) return 0;
        /* a value holding the V4.1 spaced closer "</｜DSML｜ parameter>" is written raw by
           the renderer, and tolerant parsing ends the value there when markup follows:
           not representable (the renderer guards only "/｜DSML｜parameter") */
        if (args && args->type == DSML_JV_STRING &&
            fz_contains(args->u.s, args->len, "\xEF\xBD\x9C" "DSML\xEF\xBD\x9C parameter"))
            return 0;
        if (f == DSML_FMT_V31 && (memchr(name->u.s, '<', name->len) || v31_args_end(args)))
            return 0;
    }
    return 1;
}

/* The arguments text M1 must carry for M0's function.arguments value a. */
static void expected_args(const dsml_jv *a, dsml_format f, dsml_buf *out)
{
    dsml_buf_clear(out);
    dsml_sink s = dsml_buf_sink(out);
    dsml_jv_error e;
    if (!a || a->type == DSML_JV_NULL) {
        dsml_buf_puts(out, "{}");
        return;
    }
    if (a->type != DSML_JV_STRING) {
        if (a->type == DSML_JV_OBJECT && f != DSML_FMT_V31) {
            dsml_jv_write_py(a, 0, &s, &e);
            return;
        }
        dsml_buf raw = {0};
        dsml_sink rs = dsml_buf_sink(&raw);
        dsml_jv_write_py(a, 0, &rs, &e);
        if (f == DSML_FMT_V31) {
            dsml_buf_add(out, raw.data, raw.len);
        } else {
            dsml_buf_puts(out, "{\"arguments\":\"");
            dsml_json_escape(raw.data, raw.len, out);
            dsml_buf_puts(out, "\"}");
        }
        dsml_buf_free(&raw);
        return;
    }
    size_t i = 0;
    while (i < a->len && strchr(" \t\r\n", a->u.s[i])) i++;
    if (f == DSML_FMT_V31) {
        if (i == a->len) dsml_buf_puts(out, "{}");
        else dsml_buf_add(out, a->u.s, a->len);
        return;
    }
    dsml_jv_doc *d = dsml_jv_parse(a->u.s, a->len, 0, &e);
    if (i == a->len || (d && dsml_jv_root(d)->type == DSML_JV_NULL)) {
        dsml_buf_puts(out, "{}");
    } else if (d && dsml_jv_root(d)->type == DSML_JV_OBJECT) {
        dsml_buf_add(out, a->u.s, a->len);
    } else {
        dsml_buf_puts(out, "{\"arguments\":\"");
        dsml_json_escape(a->u.s, a->len, out);
        dsml_buf_puts(out, "\"}");
    }
    dsml_jv_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    unsigned h = fz_u8(&in) & 3;
    dsml_format fmt = h == 3 ? DSML_FMT_V4 : (dsml_format)h;
    const char *text = (const char *)in.p;
    size_t len = in.n;

    dsml_buf d = {0}, m1 = {0}, want = {0};
    dsml_convert_error err;
    dsml_jv_error je;
    dsml_jv_doc *doc0 = dsml_jv_parse(text, len, 0, &je), *doc1 = NULL;
    struct m0 m;
    memset(&m, 0, sizeof m);
    int rc = fz_convert(text, len, DSML_FMT_OPENAI, fmt, 0, &d, &err);
    if (!doc0) FZ_CHECK(rc, "invalid JSON converted");
    if (rc || !read_m0(dsml_jv_root(doc0), &m)) goto out;
    unsigned flags = m.reasoning ? DSML_THINKING : 0;
    if (fz_convert(d.data, d.len, fmt, DSML_FMT_OPENAI, flags, &m1, &err)) {
        FZ_CHECK(strstr(err.message, "TOO_MANY") || strstr(err.message, "TOO_LONG"),
                 "the renderer's DSML fails a tolerant parse: %s\n--- DSML\n%s", err.message,
                 fz_show(d.data, d.len));
        goto out;
    }
    if (!representable(&m, fmt)) goto out;
    doc1 = dsml_jv_parse(m1.data, m1.len, 0, &je);
    FZ_CHECK(doc1, "converter output is not JSON");
    const dsml_jv *r1 = dsml_jv_root(doc1), *c1 = dsml_jv_get(r1, "content");
    const dsml_jv *rs1 = dsml_jv_get(r1, "reasoning_content"), *k1 = dsml_jv_get(r1, "tool_calls");
    size_t n0 = m.calls ? m.calls->len : 0, n1 = k1 ? k1->len : 0;
    FZ_CHECK(
        fz_bytes_eq(m.content.data, m.content.len, c1 && c1->type == DSML_JV_STRING ? c1->u.s : "",
                    c1 && c1->type == DSML_JV_STRING ? c1->len : 0),
        "content changed\n--- M0\n%s\n--- M1\n%s", fz_show(text, len), fz_show(m1.data, m1.len));
    if (m.reasoning)
        FZ_CHECK(rs1 && fz_bytes_eq(m.reasoning->u.s, m.reasoning->len, rs1->u.s, rs1->len),
                 "reasoning changed\n--- M0\n%s\n--- M1\n%s", fz_show(text, len),
                 fz_show(m1.data, m1.len));
    FZ_CHECK(n0 == n1, "%zu calls became %zu\n--- M0\n%s\n--- DSML\n%s\n--- M1\n%s", n0, n1,
             fz_show(text, len), fz_show(d.data, d.len), fz_show(m1.data, m1.len));
    for (size_t i = 0; i < n0; i++) {
        const dsml_jv *a = &m.calls->u.items[i], *b = &k1->u.items[i];
        const dsml_jv *na = call_fn(a, "name"), *nb = call_fn(b, "name");
        FZ_CHECK(nb && fz_bytes_eq(na->u.s, na->len, nb->u.s, nb->len), "call %zu name changed", i);
        const dsml_jv *ab = call_fn(b, "arguments");
        expected_args(call_fn(a, "arguments"), fmt, &want);
        FZ_CHECK(ab && fz_json_text_equal(want.data, want.len, ab->u.s, ab->len),
                 "call %zu arguments changed\n--- expected\n%s\n--- M1\n%s\n--- DSML\n%s", i,
                 fz_show(want.data, want.len), ab ? fz_show(ab->u.s, ab->len) : "(none)",
                 fz_show(d.data, d.len));
    }
out:
    dsml_buf_free(&m.content);
    dsml_jv_free(doc0);
    dsml_jv_free(doc1);
    dsml_buf_free(&d);
    dsml_buf_free(&m1);
    dsml_buf_free(&want);
    return 0;
}
