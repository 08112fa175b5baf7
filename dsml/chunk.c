/*
 * chunk.c - OpenAI `chat.completion.chunk` SSE writer (dsml_openai.h).
 *
 * Each delta becomes one `data: {…}\n\n` event written to the sink in a single write()
 * call, so a server can forward it as one network write. The per-chunk prefix (id, object,
 * created, model, fingerprint) is rendered once at creation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dsml_json.h"
#include "dsml_openai.h"

struct dsml_chunker {
    dsml_sink sink;
    dsml_buf head;  /* `data: {"id":…,"object":…,"created":…,"model":…[,"system_fingerprint":…],` */
    dsml_buf out;   /* the event being built */
    int started, finished, include_usage, have_usage;
    uint64_t prompt_tokens, completion_tokens;
};

static void put_str(dsml_buf *b, const char *s)
{
    dsml_buf_putc(b, '"');
    dsml_json_escape(s, strlen(s), b);
    dsml_buf_putc(b, '"');
}

dsml_chunker *dsml_chunker_new(const dsml_chunk_options *o, dsml_sink sink)
{
    dsml_chunker *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->sink = sink;
    c->include_usage = o && o->include_usage;
    char idbuf[48];
    const char *id = o ? o->id : NULL;
    if (!id) {
        unsigned char r[12] = {0};
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) memset(r, 0x5a, sizeof r);
        int n = snprintf(idbuf, sizeof idbuf, "chatcmpl-");
        for (size_t i = 0; i < sizeof r; i++) n += snprintf(idbuf + n, sizeof idbuf - (size_t)n, "%02x", r[i]);
        id = idbuf;
    }
    long long created = o && o->created ? (long long)o->created : (long long)time(NULL);
    dsml_buf_puts(&c->head, "data: {\"id\":");
    put_str(&c->head, id);
    dsml_buf_printf(&c->head, ",\"object\":\"chat.completion.chunk\",\"created\":%lld,\"model\":",
                    created);
    put_str(&c->head, o && o->model ? o->model : "");
    if (o && o->system_fingerprint) {
        dsml_buf_puts(&c->head, ",\"system_fingerprint\":");
        put_str(&c->head, o->system_fingerprint);
    }
    dsml_buf_putc(&c->head, ',');
    if (c->head.oom) {
        dsml_chunker_free(c);
        return NULL;
    }
    return c;
}

void dsml_chunker_free(dsml_chunker *c)
{
    if (!c) return;
    dsml_buf_free(&c->head);
    dsml_buf_free(&c->out);
    free(c);
}

/* Start an event with the shared head and `"choices":[{"index":0,"delta":`. */
static void begin(dsml_chunker *c)
{
    dsml_buf_clear(&c->out);
    dsml_buf_add(&c->out, c->head.data, c->head.len);
    dsml_buf_puts(&c->out, "\"choices\":[{\"index\":0,\"delta\":");
}

/* Close the event: `,"logprobs":null,"finish_reason":…}]` [+ usage null] `}\n\n`, write. */
static int end(dsml_chunker *c, const char *finish)
{
    dsml_buf_puts(&c->out, ",\"logprobs\":null,\"finish_reason\":");
    if (finish) put_str(&c->out, finish);
    else dsml_buf_puts(&c->out, "null");
    dsml_buf_puts(&c->out, c->include_usage ? "}],\"usage\":null}\n\n" : "}]}\n\n");
    if (c->out.oom) return -1;
    return c->sink.write(c->sink.ud, c->out.data, c->out.len);
}

int dsml_chunker_start(dsml_chunker *c)
{
    if (c->started) return 0;
    c->started = 1;
    begin(c);
    dsml_buf_puts(&c->out, "{\"role\":\"assistant\",\"content\":\"\"}");
    return end(c, NULL);
}

void dsml_chunker_usage(dsml_chunker *c, uint64_t prompt_tokens, uint64_t completion_tokens)
{
    c->have_usage = 1;
    c->prompt_tokens = prompt_tokens;
    c->completion_tokens = completion_tokens;
}

static int write_str(dsml_chunker *c, const char *s, size_t n)
{
    return c->sink.write(c->sink.ud, s, n);
}

int dsml_chunker_delta(dsml_chunker *c, const dsml_delta *d)
{
    int r = dsml_chunker_start(c);
    if (r || c->finished) return r;
    switch (d->kind) {
    case DSML_DELTA_REASONING:
    case DSML_DELTA_CONTENT:
        if (!d->len) return 0;
        begin(c);
        dsml_buf_puts(&c->out, d->kind == DSML_DELTA_CONTENT ? "{\"content\":\""
                                                             : "{\"reasoning_content\":\"");
        dsml_json_escape(d->text, d->len, &c->out);
        dsml_buf_puts(&c->out, "\"}");
        return end(c, NULL);
    case DSML_DELTA_CALL:
        begin(c);
        dsml_buf_printf(&c->out, "{\"tool_calls\":[{\"index\":%u,\"id\":", d->index);
        put_str(&c->out, d->id);
        dsml_buf_puts(&c->out, ",\"type\":\"function\",\"function\":{\"name\":\"");
        dsml_json_escape(d->name, d->name_len, &c->out);
        dsml_buf_puts(&c->out, "\",\"arguments\":\"\"}}]}");
        return end(c, NULL);
    case DSML_DELTA_ARGS:
        if (!d->len) return 0;
        begin(c);
        dsml_buf_printf(&c->out, "{\"tool_calls\":[{\"index\":%u,\"function\":{\"arguments\":\"",
                        d->index);
        dsml_json_escape(d->text, d->len, &c->out);
        dsml_buf_puts(&c->out, "\"}}]}");
        return end(c, NULL);
    case DSML_DELTA_CALL_END:
    case DSML_DELTA_BLOCK:
        return 0;
    case DSML_DELTA_FINISH:
        c->finished = 1;
        begin(c);
        dsml_buf_puts(&c->out, "{}");
        if ((r = end(c, d->finish ? d->finish : "stop"))) return r;
        if (c->include_usage) {
            dsml_buf_clear(&c->out);
            dsml_buf_add(&c->out, c->head.data, c->head.len);
            unsigned long long pt = c->prompt_tokens, ct = c->completion_tokens;
            dsml_buf_printf(&c->out,
                            "\"choices\":[],\"usage\":{\"prompt_tokens\":%llu,"
                            "\"completion_tokens\":%llu,\"total_tokens\":%llu}}\n\n",
                            pt, ct, pt + ct);
            if (c->out.oom) return -1;
            if ((r = write_str(c, c->out.data, c->out.len))) return r;
        }
        return write_str(c, "data: [DONE]\n\n", 14);
    }
    return 0;
}

int dsml_chunker_on_delta(void *chunker, const dsml_delta *d)
{
    return dsml_chunker_delta(chunker, d);
}

int dsml_chunker_error(dsml_chunker *c, const char *message, const char *type,
                       const char *code)
{
    dsml_buf_clear(&c->out);
    dsml_buf_puts(&c->out, "data: {\"error\":{\"message\":");
    put_str(&c->out, message ? message : "error");
    dsml_buf_puts(&c->out, ",\"type\":");
    put_str(&c->out, type ? type : "server_error");
    if (code) {
        dsml_buf_puts(&c->out, ",\"code\":");
        put_str(&c->out, code);
    }
    dsml_buf_puts(&c->out, "}}\n\n");
    if (c->out.oom) return -1;
    c->finished = 1;
    return write_str(c, c->out.data, c->out.len);
}
