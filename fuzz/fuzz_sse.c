/*
 * fuzz_sse.c - harness 6b: the upstream side of dsml-proxy: SSE bytes -> events -> JSON
 * chunks -> text pieces -> the delta layer -> the client's SSE chunks.
 *
 * Input: one option byte, a feeding plan (fz_plan_read), then the upstream SSE bytes.
 *   bit 0     thinking mode for the delta layer
 *   bits 1-2  reader limits (max_line / max_event): default, 16/64, 64/256, 1024/4096
 *
 * Invariants:
 *   - the SSE reader the proxy uses (dsml_sse.h) delivers the same events (type, data, id,
 *     retry) and ends in the same status at the same offset fed one-shot, per the plan,
 *     and one byte at a time;
 *   - each event's data goes through the steps of the proxy's upstream handler (chat.c:
 *     [DONE] ends the stream, jansson parses the chunk with JSON_ALLOW_NUL, an "error"
 *     member ends it, choices[0].delta (or .message) gives reasoning_content / reasoning
 *     and content, choices[0].text the completions text); reasoning pieces feed the delta
 *     layer until content starts (then dsml_oai_end_reasoning), as the proxy does; the
 *     deltas go through the chunk writer, whose output must be a well-formed event stream
 *     of valid JSON ending in [DONE].
 * chat.c's handler itself is static and bound to the HTTP layer: these are its steps, not
 * its code; the end-to-end tests (tests/e2e) run the real handler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dsml_json.h"
#include "dsml_openai.h"
#include "dsml_sse.h"
#include "fuzz.h"

/* ---- event logs from both readers ---------------------------------------------------- */

static void log_event(dsml_buf *b, const char *type, const char *data, size_t len,
                      const char *id, long retry)
{
    dsml_buf_printf(b, "event type=%s id=%s retry=%ld len=%zu\n", fz_show(type, strlen(type)),
                    fz_show(id, strlen(id)), retry, len);
    dsml_buf_puts(b, fz_show(data, len));
    dsml_buf_putc(b, '\n');
}

static int on_dsml_event(void *ud, const dsml_sse_event *e)
{
    FZ_CHECK(e->data[e->data_len] == 0, "event data not NUL-terminated");
    log_event(ud, e->type, e->data, e->data_len, e->id, e->retry_ms);
    return 0;
}

static void read_dsml(const char *t, size_t n, const size_t *ch, size_t nch, size_t ml,
                      size_t me, dsml_buf *log)
{
    dsml_sse s;
    dsml_sse_init(&s, ml, me, on_dsml_event, log);
    dsml_sse_status st = DSML_SSE_OK;
    if (!ch) st = dsml_sse_feed(&s, t, n);
    for (size_t i = 0, at = 0; ch && i < nch && st == DSML_SSE_OK; at += ch[i++])
        st = dsml_sse_feed(&s, t + at, ch[i]);
    if (st == DSML_SSE_OK) st = dsml_sse_finish(&s);
    dsml_buf_printf(log, "= status %d", (int)st);
    if (st != DSML_SSE_OK && st != DSML_SSE_TRUNCATED)
        dsml_buf_printf(log, " at %llu", (unsigned long long)s.error_at);
    dsml_sse_free(&s);
}

/* ---- the upstream handler's steps ----------------------------------------------------- */

struct up {
    dsml_oai *oai;
    dsml_chunker *ch;
    int thinking, reasoning_seen, reasoning_ended, done, stopped;
};

static void piece(struct up *u, int reasoning, const char *s, size_t n)
{
    if (!n || u->stopped) return;
    dsml_code rc = DSML_OK;
    if (reasoning) {
        if (!u->thinking || u->reasoning_ended) {
            dsml_delta d = {.kind = DSML_DELTA_REASONING, .text = s, .len = n};
            FZ_CHECK(!dsml_chunker_delta(u->ch, &d), "chunk writer failed");
            return;
        }
        u->reasoning_seen = 1;
        rc = dsml_oai_feed(u->oai, s, n);
    } else {
        if (u->thinking && u->reasoning_seen && !u->reasoning_ended) {
            u->reasoning_ended = 1;
            rc = dsml_oai_end_reasoning(u->oai);
        }
        if (rc == DSML_OK) rc = dsml_oai_feed(u->oai, s, n);
    }
    FZ_CHECK(rc == DSML_OK, "tolerant delta layer failed: %s", dsml_code_name(rc));
}

static int on_up_event(void *ud, const dsml_sse_event *ev)
{
    struct up *u = ud;
    if (u->done || u->stopped) return 0;
    if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6)) {
        u->done = 1;
        return 0;
    }
    json_error_t je;
    json_t *j = json_loadb(ev->data, ev->data_len, JSON_ALLOW_NUL, &je);
    if (!json_is_object(j) || (json_object_get(j, "error") && !json_is_null(json_object_get(j, "error")))) {
        u->stopped = 1; /* the proxy ends the stream with an error event */
        json_decref(j);
        return 0;
    }
    json_t *choices = json_object_get(j, "choices");
    json_t *c0 = json_is_array(choices) ? json_array_get(choices, 0) : NULL;
    if (json_is_object(c0)) {
        json_t *t = json_object_get(c0, "text");
        if (json_is_string(t)) piece(u, 0, json_string_value(t), json_string_length(t));
        json_t *d = json_object_get(c0, "delta");
        if (!json_is_object(d)) d = json_object_get(c0, "message");
        if (json_is_object(d)) {
            json_t *rc = json_object_get(d, "reasoning_content");
            if (!json_is_string(rc)) rc = json_object_get(d, "reasoning");
            if (json_is_string(rc)) piece(u, 1, json_string_value(rc), json_string_length(rc));
            json_t *ct = json_object_get(d, "content");
            if (json_is_string(ct)) piece(u, 0, json_string_value(ct), json_string_length(ct));
        }
    }
    json_decref(j);
    return 0;
}

static int buf_write(void *ud, const char *data, size_t len) { return dsml_buf_add(ud, data, len); }

struct check {
    int done, events;
};

static int on_client_event(void *ud, const dsml_sse_event *e)
{
    struct check *c = ud;
    FZ_CHECK(!c->done, "client event after [DONE]");
    c->events++;
    if (e->data_len == 6 && !memcmp(e->data, "[DONE]", 6)) {
        c->done = 1;
        return 0;
    }
    FZ_CHECK(dsml_json_valid(e->data, e->data_len), "client chunk is not valid JSON:\n%s",
             fz_show(e->data, e->data_len));
    return 0;
}

static void upstream_path(const char *t, size_t n, int thinking)
{
    dsml_buf client = {0};
    dsml_sink sink = {buf_write, &client};
    dsml_chunk_options co = {"chatcmpl-fuzz", "m", 1, NULL, 0};
    struct up u;
    memset(&u, 0, sizeof u);
    u.thinking = thinking;
    u.ch = dsml_chunker_new(&co, sink);
    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    if (thinking) oo.parse.flags |= DSML_THINKING;
    u.oai = dsml_oai_new(&oo, dsml_chunker_on_delta, u.ch);
    FZ_CHECK(u.ch && u.oai, "out of memory");
    dsml_chunker_start(u.ch);
    dsml_sse s;
    dsml_sse_init(&s, 0, 0, on_up_event, &u);
    dsml_sse_feed(&s, t, n);
    dsml_sse_finish(&s);
    dsml_sse_free(&s);
    dsml_oai_finish(u.oai);
    dsml_oai_free(u.oai);
    dsml_chunker_free(u.ch);

    struct check c = {0, 0};
    dsml_sse r;
    dsml_sse_init(&r, 0, 0, on_client_event, &c);
    FZ_CHECK(dsml_sse_feed(&r, client.data, client.len) == DSML_SSE_OK &&
                 dsml_sse_finish(&r) == DSML_SSE_OK,
             "the client stream is not a well-formed event stream");
    FZ_CHECK(c.done, "the client stream does not end with [DONE]");
    dsml_sse_free(&r);
    dsml_buf_free(&client);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t lim[4][2] = {{0, 0}, {16, 64}, {64, 256}, {1024, 4096}};
    fz_in in = {data, size};
    unsigned h = fz_u8(&in);
    fz_plan plan;
    fz_plan_read(&in, &plan);
    const char *t = (const char *)in.p;
    size_t n = in.n;
    size_t ml = lim[(h >> 1) & 3][0], me = lim[(h >> 1) & 3][1];

    size_t nch;
    size_t *ch = fz_plan_chunks(&plan, n, &nch);
    dsml_buf a = {0}, b = {0}, c = {0};
    fz_plan bytes = {3, 0, 0, 0, {0}};
    size_t nby;
    size_t *by = fz_plan_chunks(&bytes, n, &nby);
    read_dsml(t, n, NULL, 0, ml, me, &a);
    read_dsml(t, n, ch, nch, ml, me, &b);
    read_dsml(t, n, by, nby, ml, me, &c);
    FZ_CHECK(!strcmp(a.data, b.data), "SSE reader: chunking changes the events\n--- one-shot\n%s\n--- chunked\n%s",
             a.data, b.data);
    FZ_CHECK(!strcmp(a.data, c.data), "SSE reader: byte-at-a-time feeding changes the events\n--- one-shot\n%s\n--- bytes\n%s",
             a.data, c.data);
    free(by);
    upstream_path(t, n, h & 1);
    free(ch);
    dsml_buf_free(&a);
    dsml_buf_free(&b);
    dsml_buf_free(&c);
    return 0;
}
