/*
 * fuzz_stream.c - harness 4: streamed deltas and SSE chunks against the non-stream message.
 *
 * Input: two option bytes (fuzz.h), a feeding plan (fz_plan_read), then the completion
 * text. The text is parsed once into the non-stream message (dsml_parse_message, one
 * shot) and once through the delta layer (dsml_oai) fed per the plan, whose deltas also go
 * through the chunk writer (dsml_chunker) into SSE text.
 *
 * Invariants:
 *   - deltas come in order: calls numbered 0, 1, …; arguments and call ends only for the
 *     open call; FINISH exactly once, last;
 *   - concatenated per field, the deltas equal the message (spec/DSML.md §7, and the rule of
 *     tests/vectors.c): reasoning always; content unless a cut-off element put its raw text
 *     back into the message's content; complete calls one to one (id, name, arguments); a
 *     call cut off at the end of input is streamed but is not in the message; the finish
 *     reason is the message's;
 *   - the SSE text is a well-formed event stream of valid JSON chunks ending in
 *     `data: [DONE]`, and decoding its strings gives back the deltas (invalid UTF-8
 *     replaced by U+FFFD, as the JSON escaper does);
 *   - the message built from the deltas (dsml_message_on_delta / dsml_message_finish, fed
 *     per the plan) is the non-stream message, JSON byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include "dsml_json.h"
#include "dsml_openai.h"
#include "dsml_sse.h"
#include "fuzz.h"

struct call {
    dsml_buf id, name, args;
    dsml_buf args_view; /* the argument fragments, each JSON-escaped on its own */
    int complete;
};

struct concat {
    dsml_buf content, reasoning;
    dsml_buf content_view, reasoning_view; /* the deltas, each JSON-escaped on its own */
    struct call *calls;
    uint32_t n, cap;
    int open, finished, blocks;
    const char *finish;
    dsml_chunker *ch;
};

/* Append a zeroed call to the array *calls of *n entries (room for *cap). */
static struct call *add_call(struct call **calls, uint32_t *n, uint32_t *cap)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        *calls = realloc(*calls, *cap * sizeof **calls);
        FZ_CHECK(*calls, "out of memory");
    }
    struct call *k = &(*calls)[(*n)++];
    memset(k, 0, sizeof *k);
    return k;
}

static void calls_free(struct call *calls, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        dsml_buf_free(&calls[i].id);
        dsml_buf_free(&calls[i].name);
        dsml_buf_free(&calls[i].args);
        dsml_buf_free(&calls[i].args_view);
    }
    free(calls);
}

/* Append raw bytes as dsml_json_escape writes them (one delta: escaped on its own). */
static void escape(const char *s, size_t n, dsml_buf *out)
{
    FZ_CHECK(!dsml_json_escape(s ? s : "", n, out), "out of memory");
}

/* What a JSON reader sees of escaped text (escape() output; pieces escaped one by one read
 * as the pieces read one by one: the escaper writes only whole escapes, \u00XX at most, and
 * valid UTF-8). */
static void json_view(const dsml_buf *esc, dsml_buf *out)
{
    dsml_buf q = {0};
    dsml_buf_putc(&q, '"');
    dsml_buf_add(&q, esc->data, esc->len);
    dsml_buf_putc(&q, '"');
    dsml_jv_error e;
    dsml_jv_doc *d = dsml_jv_parse(q.data, q.len, 0, &e);
    FZ_CHECK(d && dsml_jv_root(d)->type == DSML_JV_STRING, "escaped text is not a JSON string");
    dsml_buf_add(out, dsml_jv_root(d)->u.s, dsml_jv_root(d)->len);
    dsml_jv_free(d);
    dsml_buf_free(&q);
}

static int on_delta(void *ud, const dsml_delta *d)
{
    struct concat *c = ud;
    FZ_CHECK(!c->finished, "delta kind %d after FINISH", (int)d->kind);
    switch (d->kind) {
    case DSML_DELTA_REASONING:
        dsml_buf_add(&c->reasoning, d->text, d->len);
        escape(d->text, d->len, &c->reasoning_view);
        break;
    case DSML_DELTA_CONTENT:
        dsml_buf_add(&c->content, d->text, d->len);
        escape(d->text, d->len, &c->content_view);
        break;
    case DSML_DELTA_CALL: {
        FZ_CHECK(d->index == c->n, "call delta index %u, expected %u", d->index, c->n);
        FZ_CHECK(d->id && strlen(d->id) < DSML_ID_MAX, "call without a usable id");
        struct call *k = add_call(&c->calls, &c->n, &c->cap);
        dsml_buf_puts(&k->id, d->id);
        dsml_buf_add(&k->name, d->name, d->name_len);
        c->open = 1;
        break;
    }
    case DSML_DELTA_ARGS:
        FZ_CHECK(c->open && d->index + 1 == c->n, "arguments for call %u while %s", d->index,
                 c->open ? "another call is open" : "no call is open");
        dsml_buf_add(&c->calls[d->index].args, d->text, d->len);
        escape(d->text, d->len, &c->calls[d->index].args_view);
        break;
    case DSML_DELTA_CALL_END:
        FZ_CHECK(c->open && d->index + 1 == c->n, "end of call %u while it is not open",
                 d->index);
        c->calls[d->index].complete = 1;
        c->open = 0;
        break;
    case DSML_DELTA_BLOCK:
        FZ_CHECK(!c->open && !c->blocks++, "block delta inside a call or twice");
        break;
    case DSML_DELTA_FINISH:
        FZ_CHECK(d->finish, "FINISH without a reason");
        c->finished = 1;
        c->finish = d->finish;
        break;
    default: FZ_CHECK(0, "unknown delta kind %d", (int)d->kind);
    }
    FZ_CHECK(!dsml_chunker_delta(c->ch, d), "the chunk writer failed");
    return 0;
}

/* ---- the SSE text, read back ----------------------------------------------------------- */

struct sse_view {
    dsml_buf content, reasoning;
    struct call *calls;
    uint32_t n, cap;
    int events, done, usage, role;
    char finish[24];
};

static void add_str(dsml_buf *b, const dsml_jv *v, const char *what)
{
    FZ_CHECK(v && v->type == DSML_JV_STRING, "SSE chunk: %s is not a string", what);
    dsml_buf_add(b, v->u.s, v->len);
}

static int on_event(void *ud, const dsml_sse_event *e)
{
    struct sse_view *s = ud;
    FZ_CHECK(!s->done, "SSE event after [DONE]");
    if (e->data_len == 6 && !memcmp(e->data, "[DONE]", 6)) {
        s->done = 1;
        return 0;
    }
    FZ_CHECK(dsml_json_valid(e->data, e->data_len), "SSE chunk is not valid JSON:\n%s",
             e->data);
    dsml_jv_error je;
    dsml_jv_doc *doc = dsml_jv_parse(e->data, e->data_len, 0, &je);
    FZ_CHECK(doc, "SSE chunk rejected by the document model: %s", je.msg);
    const dsml_jv *root = dsml_jv_root(doc), *choices = dsml_jv_get(root, "choices");
    FZ_CHECK(choices && choices->type == DSML_JV_ARRAY, "SSE chunk without choices");
    if (!choices->len) {
        FZ_CHECK(dsml_jv_get(root, "usage"), "empty choices without usage");
        s->usage = 1;
        dsml_jv_free(doc);
        return 0;
    }
    FZ_CHECK(!s->finish[0], "SSE chunk with choices after the finish");
    const dsml_jv *c0 = &choices->u.items[0], *d = dsml_jv_get(c0, "delta");
    const dsml_jv *fr = dsml_jv_get(c0, "finish_reason");
    FZ_CHECK(d && d->type == DSML_JV_OBJECT, "SSE chunk without a delta object");
    if (!s->events++) {
        FZ_CHECK(dsml_jv_str_is(dsml_jv_get(d, "role"), "assistant"),
                 "first SSE chunk is not the role chunk");
        s->role = 1;
        dsml_jv_free(doc);
        return 0;
    }
    if (fr && fr->type == DSML_JV_STRING) {
        FZ_CHECK(fr->len < sizeof s->finish, "finish reason too long");
        memcpy(s->finish, fr->u.s, fr->len);
        FZ_CHECK(d->len == 0, "finish chunk with a non-empty delta");
    }
    const dsml_jv *v;
    if ((v = dsml_jv_get(d, "content"))) add_str(&s->content, v, "content");
    if ((v = dsml_jv_get(d, "reasoning_content"))) add_str(&s->reasoning, v, "reasoning");
    const dsml_jv *tcs = dsml_jv_get(d, "tool_calls");
    if (tcs) {
        FZ_CHECK(tcs->type == DSML_JV_ARRAY && tcs->len == 1, "tool_calls is not one element");
        const dsml_jv *tc = &tcs->u.items[0], *idx = dsml_jv_get(tc, "index");
        const dsml_jv *fn = dsml_jv_get(tc, "function");
        FZ_CHECK(idx && idx->type == DSML_JV_NUMBER && fn, "tool call delta without index");
        uint32_t i = (uint32_t)strtoul(idx->u.s, NULL, 10);
        const dsml_jv *id = dsml_jv_get(tc, "id");
        if (id) {
            FZ_CHECK(i == s->n, "SSE call index %u, expected %u", i, s->n);
            struct call *k = add_call(&s->calls, &s->n, &s->cap);
            add_str(&k->id, id, "id");
            add_str(&k->name, dsml_jv_get(fn, "name"), "name");
            const dsml_jv *a = dsml_jv_get(fn, "arguments");
            FZ_CHECK(a && a->type == DSML_JV_STRING && !a->len, "call header with arguments");
        } else {
            FZ_CHECK(i + 1 == s->n, "SSE arguments for call %u of %u", i, s->n);
            add_str(&s->calls[i].args, dsml_jv_get(fn, "arguments"), "arguments");
        }
    }
    dsml_jv_free(doc);
    return 0;
}

static int sse_sink_write(void *ud, const char *data, size_t len)
{
    return dsml_buf_add(ud, data, len);
}

static void check_sse(const dsml_buf *sse, const struct concat *c)
{
    struct sse_view v;
    memset(&v, 0, sizeof v);
    dsml_sse r;
    dsml_sse_init(&r, 0, 0, on_event, &v);
    FZ_CHECK(dsml_sse_feed(&r, sse->data, sse->len) == DSML_SSE_OK, "SSE reader failed");
    FZ_CHECK(dsml_sse_finish(&r) == DSML_SSE_OK, "SSE text ends inside an event");
    dsml_sse_free(&r);
    FZ_CHECK(v.role && v.done && v.usage, "SSE stream without role chunk, usage or [DONE]");
    FZ_CHECK(!strcmp(v.finish, c->finish), "SSE finish %s, deltas %s", v.finish, c->finish);
    /* each delta is escaped on its own: invalid UTF-8 halves in two pieces (on both sides
       of markup) stay two replacement characters even where the raw bytes, joined, would
       form a valid character */
    dsml_buf want = {0}, esc = {0};
    json_view(&c->content_view, &want);
    FZ_CHECK(fz_bytes_eq(want.data, want.len, v.content.data, v.content.len),
             "SSE content differs from the content deltas\n--- deltas\n%s\n--- SSE\n%s",
             fz_show(want.data, want.len), fz_show(v.content.data, v.content.len));
    dsml_buf_clear(&want);
    json_view(&c->reasoning_view, &want);
    FZ_CHECK(fz_bytes_eq(want.data, want.len, v.reasoning.data, v.reasoning.len),
             "SSE reasoning differs from the reasoning deltas\n--- deltas\n%s\n--- SSE\n%s",
             fz_show(want.data, want.len), fz_show(v.reasoning.data, v.reasoning.len));
    FZ_CHECK(v.n == c->n, "SSE has %u calls, deltas %u", v.n, c->n);
    for (uint32_t i = 0; i < v.n; i++) {
        FZ_CHECK(fz_bytes_eq(v.calls[i].id.data, v.calls[i].id.len, c->calls[i].id.data,
                             c->calls[i].id.len),
                 "SSE call %u id differs", i);
        dsml_buf_clear(&esc);
        escape(c->calls[i].name.data, c->calls[i].name.len, &esc);
        dsml_buf_clear(&want);
        json_view(&esc, &want);
        FZ_CHECK(fz_bytes_eq(want.data, want.len, v.calls[i].name.data, v.calls[i].name.len),
                 "SSE call %u name differs", i);
        dsml_buf_clear(&want);
        json_view(&c->calls[i].args_view, &want);
        FZ_CHECK(fz_bytes_eq(want.data, want.len, v.calls[i].args.data, v.calls[i].args.len),
                 "SSE call %u arguments differ:\n%s\n%s", i, fz_show(want.data, want.len),
                 fz_show(v.calls[i].args.data, v.calls[i].args.len));
    }
    dsml_buf_free(&want);
    dsml_buf_free(&esc);
    dsml_buf_free(&v.content);
    dsml_buf_free(&v.reasoning);
    calls_free(v.calls, v.n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    dsml_options o;
    fz_read_options(&in, &o, NULL);
    fz_plan plan;
    fz_plan_read(&in, &plan);
    const char *text = (const char *)in.p;
    size_t len = in.n;

    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    oo.parse = o;
    oo.make_id = dsml_id_seeded;
    uint64_t seed = 11;
    oo.id_ud = &seed;
    dsml_message m;
    dsml_code mc = dsml_parse_message(text, len, &oo, 0, &m);

    struct concat c;
    memset(&c, 0, sizeof c);
    dsml_buf sse = {0};
    dsml_sink sink = {sse_sink_write, &sse};
    dsml_chunk_options co = {"chatcmpl-fuzz", "m", 1, NULL, 1};
    c.ch = dsml_chunker_new(&co, sink);
    FZ_CHECK(c.ch, "dsml_chunker_new failed");
    seed = 11;
    dsml_oai *s = dsml_oai_new(&oo, on_delta, &c);
    FZ_CHECK(s, "dsml_oai_new failed");
    size_t nch;
    size_t *ch = fz_plan_chunks(&plan, len, &nch);
    dsml_code sc = DSML_OK;
    for (size_t i = 0, at = 0; i < nch && sc == DSML_OK; at += ch[i++])
        sc = dsml_oai_feed(s, text + at, ch[i]);
    dsml_code f = dsml_oai_finish(s);
    if (sc == DSML_OK) sc = f;
    int incomplete = dsml_oai_result(s)->status == DSML_INCOMPLETE;
    dsml_oai_free(s);
    FZ_CHECK(c.finished, "no FINISH delta");
    FZ_CHECK(sc == mc, "stream returned %s, the message %s", dsml_code_name(sc),
             dsml_code_name(mc));

    if (mc == DSML_OK) {
        FZ_CHECK(!strcmp(c.finish, m.finish), "stream finish %s, message finish %s", c.finish,
                 m.finish);
        FZ_CHECK(fz_bytes_eq(c.reasoning.data, c.reasoning.len, m.reasoning.data, m.reasoning.len),
                 "streamed reasoning differs");
        if (!incomplete)
            FZ_CHECK(fz_bytes_eq(c.content.data, c.content.len, m.content.data, m.content.len),
                     "streamed content differs\n--- stream\n%s\n--- message\n%s",
                     c.content.data ? c.content.data : "", m.content.data ? m.content.data : "");
        uint32_t j = 0;
        for (uint32_t i = 0; i < c.n; i++) {
            if (!c.calls[i].complete) {
                FZ_CHECK(incomplete && i + 1 == c.n, "call %u not complete in a finished stream",
                         i);
                continue;
            }
            FZ_CHECK(j < m.ncalls, "more complete streamed calls than message calls");
            const dsml_call *k = &m.calls[j++];
            FZ_CHECK(!strcmp(c.calls[i].id.data, k->id), "call %u id differs", i);
            FZ_CHECK(
                fz_bytes_eq(c.calls[i].name.data, c.calls[i].name.len, k->name.data, k->name.len),
                "call %u name differs", i);
            FZ_CHECK(fz_bytes_eq(c.calls[i].args.data, c.calls[i].args.len, k->arguments.data,
                                 k->arguments.len),
                     "call %u arguments differ\n--- stream\n%s\n--- message\n%s", i,
                     c.calls[i].args.data ? c.calls[i].args.data : "", k->arguments.data);
        }
        FZ_CHECK(j == m.ncalls, "%u complete streamed calls, %zu in the message", j, m.ncalls);
    }
    check_sse(&sse, &c);

    /* the same text through the public message builder, fed per the plan, gives the same
       message JSON as dsml_parse_message */
    dsml_message mb;
    memset(&mb, 0, sizeof mb);
    mb.has_reasoning = (o.flags & DSML_THINKING) != 0;
    seed = 11;
    s = dsml_oai_new(&oo, dsml_message_on_delta, &mb);
    FZ_CHECK(s, "dsml_oai_new failed");
    sc = DSML_OK;
    for (size_t i = 0, at = 0; i < nch && sc == DSML_OK; at += ch[i++])
        sc = dsml_oai_feed(s, text + at, ch[i]);
    f = dsml_oai_finish(s);
    if (sc == DSML_OK) sc = f;
    const dsml_result *rr = dsml_oai_result(s);
    size_t tail = rr->status == DSML_INCOMPLETE && rr->incomplete_at < len ? (size_t)rr->incomplete_at : len;
    FZ_CHECK(!dsml_message_finish(&mb, rr, text + tail, len - tail), "dsml_message_finish failed");
    dsml_oai_free(s);
    if (mc == DSML_OK) {
        dsml_buf ja = {0}, jb = {0};
        dsml_message_json(&m, &ja);
        dsml_message_json(&mb, &jb);
        FZ_CHECK(ja.len == jb.len && !memcmp(ja.data, jb.data, ja.len) && !strcmp(m.finish, mb.finish),
                 "the streamed message builder differs from dsml_parse_message\n--- parse\n%s %s\n"
                 "--- builder\n%s %s",
                 fz_show(ja.data, ja.len), m.finish, fz_show(jb.data, jb.len), mb.finish);
        dsml_buf_free(&ja);
        dsml_buf_free(&jb);
    }
    dsml_message_free(&mb);

    free(ch);
    dsml_chunker_free(c.ch);
    dsml_buf_free(&sse);
    dsml_buf_free(&c.content);
    dsml_buf_free(&c.reasoning);
    dsml_buf_free(&c.content_view);
    dsml_buf_free(&c.reasoning_view);
    calls_free(c.calls, c.n);
    dsml_message_free(&m);
    return 0;
}
