/*
 * fakeup.c - a local stand-in for an inference runtime, replaying recorded completions.
 *
 *   fakeup --rec DIR [--listen HOST:PORT] [--port-file PATH] [--flavor NAME] [--model ID]
 *
 * Serves GET /v1/models, GET /health, POST /v1/chat/completions and POST /v1/completions
 * in the response shapes of the runtime flavors (generic, llamacpp, vllm, sglang, ds4),
 * streamed or not, GET /_last (the last request body it received, for tests that check
 * what the proxy sent upstream) and GET /_last_auth (the Authorization header of the last
 * request to any other route, "" when it had none).
 *
 * What to replay is chosen by the request text: the first "SCENARIO:" in the body, followed
 * by `name[;key=value]*` (characters A-Z a-z 0-9 _ . - = ; only). `name` is a file
 * DIR/name.txt holding the raw completion text. Keys:
 *   chunk=N      characters of text per event (default 4; never splits a UTF-8 character)
 *   delay=MS     pause between events (slow drip); default 0
 *   wire=N       write the SSE bytes N at a time, 1 ms apart (markup split across reads)
 *   split=1      chat: text before "</think>" goes out as reasoning_content (a runtime with
 *                a reasoning parser); the "</think>" itself is dropped
 *   flavor=NAME  response shape (default: --flavor)
 *   finish=R     finish_reason of the last event (default stop)
 *   crash=N      close the connection abruptly after N text bytes (runtime crash)
 *   garbage=N    after N text bytes send an event that is not JSON
 *   errevent=1   after the text send data: {"error":{…}} instead of a finish
 *   status=C     answer HTTP C with an OpenAI error body instead of streaming
 *   hang=1       send nothing at all (the proxy's idle timeout must fire)
 *   nodone=1     end the body without finish_reason and without [DONE]
 *   crlf=1       CRLF line endings;  comments=1  ": keep-alive" comment lines between events
 *   upcalls=1    chat: the runtime parsed the calls itself: the file holds one JSON array of
 *                OpenAI tool_calls sent as tool_calls deltas
 *   uphead=NAME  chat: before the text, send the tool_calls JSON array in DIR/NAME.txt (calls
 *                the runtime parsed itself, mixed with markup it left in the text)
 *   uptail=NAME  the same, after the text
 *   then=NAME    when the request contains a tool result ("role":"tool"), replay NAME
 *   ts=N         benchmark: N content pieces "[T]" where T is CLOCK_MONOTONIC in µs at the
 *                moment the piece is written (chat shape; with delay=MS between pieces)
 * Usage counts are sent when stream_options.include_usage is true.
 *
 * Special tokens are dropped from the output the way each runtime drops them unless asked
 * not to (the knobs the proxy's flavors set): vllm and sglang without
 * "skip_special_tokens": false drop ｜DSML｜, <think> and </think>; llama.cpp on
 * /v1/completions drops each of them that "preserved_tokens" does not list.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

static const char *rec_dir = ".";
static const char *def_flavor = "generic";
static const char *model_id = "deepseek-v4-flash";
static struct event_base *base;
static char *last_body;
static size_t last_len;
static char last_auth[4096];

/* ------------------------------------------------------------------------------------- */

typedef struct opts {
    char name[128], flavor[32], finish[32], then[128], uphead[128], uptail[128];
    long chunk, delay, wire, crash, garbage, status;
    int split, errevent, hang, nodone, crlf, comments, upcalls, prompt;
    long ts;
} opts;

static void parse_scenario(const char *body, size_t len, opts *o)
{
    memset(o, 0, sizeof *o);
    o->chunk = 4;
    o->crash = o->garbage = -1;
    snprintf(o->flavor, sizeof o->flavor, "%s", def_flavor);
    snprintf(o->finish, sizeof o->finish, "stop");
    const char *s = memmem(body, len, "SCENARIO:", 9);
    if (!s)
        return;
    s += 9;
    char spec[512];
    size_t n = 0;
    while (s < body + len && n + 1 < sizeof spec &&
           (strchr("_.-=;", *s) || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
            (*s >= '0' && *s <= '9')))
        spec[n++] = *s++;
    spec[n] = 0;
    char *save = NULL;
    char *tok = strtok_r(spec, ";", &save);
    if (tok)
        snprintf(o->name, sizeof o->name, "%s", tok);
    while ((tok = strtok_r(NULL, ";", &save))) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = 0;
        const char *k = tok, *v = eq + 1;
        long iv = atol(v);
        if (!strcmp(k, "chunk")) o->chunk = iv > 0 ? iv : 1;
        else if (!strcmp(k, "delay")) o->delay = iv;
        else if (!strcmp(k, "wire")) o->wire = iv;
        else if (!strcmp(k, "split")) o->split = (int)iv;
        else if (!strcmp(k, "flavor")) snprintf(o->flavor, sizeof o->flavor, "%s", v);
        else if (!strcmp(k, "finish")) snprintf(o->finish, sizeof o->finish, "%s", v);
        else if (!strcmp(k, "crash")) o->crash = iv;
        else if (!strcmp(k, "garbage")) o->garbage = iv;
        else if (!strcmp(k, "errevent")) o->errevent = (int)iv;
        else if (!strcmp(k, "status")) o->status = iv;
        else if (!strcmp(k, "hang")) o->hang = (int)iv;
        else if (!strcmp(k, "nodone")) o->nodone = (int)iv;
        else if (!strcmp(k, "crlf")) o->crlf = (int)iv;
        else if (!strcmp(k, "comments")) o->comments = (int)iv;
        else if (!strcmp(k, "upcalls")) o->upcalls = (int)iv;
        else if (!strcmp(k, "then")) snprintf(o->then, sizeof o->then, "%s", v);
        else if (!strcmp(k, "uphead")) snprintf(o->uphead, sizeof o->uphead, "%s", v);
        else if (!strcmp(k, "uptail")) snprintf(o->uptail, sizeof o->uptail, "%s", v);
        else if (!strcmp(k, "prompt")) o->prompt = (int)iv;
        else if (!strcmp(k, "ts")) o->ts = iv;
    }
}

static char *read_file(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.txt", rec_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = 0;
        *len = (size_t)n;
    }
    return b;
}

static void json_str(struct evbuffer *o, const char *s, size_t n)
{
    evbuffer_add(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            evbuffer_add_printf(o, "\\%c", c);
        else if (c == '\n')
            evbuffer_add(o, "\\n", 2);
        else if (c < 0x20)
            evbuffer_add_printf(o, "\\u%04x", c);
        else
            evbuffer_add(o, &s[i], 1);
    }
    evbuffer_add(o, "\"", 1);
}

/* Length of the next piece: about `want` bytes, extended to a UTF-8 character end. */
static size_t piece_len(const char *s, size_t left, long want)
{
    size_t n = (size_t)want < left ? (size_t)want : left;
    while (n < left && ((unsigned char)s[n] & 0xC0) == 0x80)
        n++;
    return n;
}

/* ------------------------------------------------------------------------------------- */
/* One streamed response                                                                 */

typedef struct ev_item {
    char *data;       /* complete SSE bytes for this step */
    size_t len;
    int crash;        /* close the connection instead */
} ev_item;

typedef struct stream {
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    struct event *timer;
    ev_item *items;
    size_t n, cap, next;
    size_t wire_off;
    opts o;
    int dead;
    int crash_armed;
    long ts_left;       /* ts mode: pieces still to generate */
    int usage;
} stream;

static void add_item(stream *s, struct evbuffer *b, int crash)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->items = realloc(s->items, s->cap * sizeof *s->items);
    }
    ev_item *it = &s->items[s->n++];
    it->len = b ? evbuffer_get_length(b) : 0;
    it->data = malloc(it->len + 1);
    if (b)
        evbuffer_remove(b, it->data, it->len);
    it->crash = crash;
}

static void sse_event(stream *s, struct evbuffer *payload)
{
    struct evbuffer *b = evbuffer_new();
    const char *nl = s->o.crlf ? "\r\n" : "\n";
    if (s->o.comments)
        evbuffer_add_printf(b, ": keep-alive%s", nl);
    evbuffer_add(b, "data: ", 6);
    evbuffer_add_buffer(b, payload);
    evbuffer_add_printf(b, "%s%s", nl, nl);
    add_item(s, b, 0);
    evbuffer_free(b);
}

static int is(const opts *o, const char *f) { return !strcmp(o->flavor, f); }

/* Chat chunk with the flavor's field set. kind: 0 role, 1 content, 2 reasoning, 3 finish,
 * 4 usage, 5 raw tool_calls JSON */
static void chat_chunk(stream *s, int kind, const char *t, size_t n, long pt, long ct)
{
    struct evbuffer *p = evbuffer_new();
    const opts *o = &s->o;
    if (is(o, "llamacpp"))
        evbuffer_add_printf(p, "{\"choices\":[{\"finish_reason\":");
    else
        evbuffer_add_printf(p, "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"%s\",\"choices\":[{\"index\":0,\"finish_reason\":", model_id);
    if (kind == 3)
        evbuffer_add_printf(p, "\"%s\"", o->finish);
    else
        evbuffer_add(p, "null", 4);
    if (kind == 4) { /* usage-only chunk */
        evbuffer_drain(p, evbuffer_get_length(p));
        evbuffer_add_printf(p, "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"%s\",\"choices\":[],\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld}}", model_id, pt, ct, pt + ct);
        sse_event(s, p);
        evbuffer_free(p);
        return;
    }
    evbuffer_add(p, ",\"delta\":{", 10);
    switch (kind) {
    case 0: evbuffer_add_printf(p, "\"role\":\"assistant\",\"content\":\"\""); break;
    case 1:
        evbuffer_add(p, "\"content\":", 10);
        json_str(p, t, n);
        if (is(o, "vllm"))
            evbuffer_add_printf(p, ",\"reasoning_content\":null");
        break;
    case 2:
        evbuffer_add(p, "\"reasoning_content\":", 20);
        json_str(p, t, n);
        if (is(o, "vllm"))
            evbuffer_add_printf(p, ",\"content\":null");
        break;
    case 5: evbuffer_add(p, "\"tool_calls\":", 13); evbuffer_add(p, t, n); break;
    default: break;
    }
    evbuffer_add(p, "}", 1);
    if (is(o, "vllm"))
        evbuffer_add_printf(p, ",\"logprobs\":null%s", kind == 3 ? ",\"stop_reason\":null" : "");
    if (is(o, "sglang") && kind == 3)
        evbuffer_add_printf(p, ",\"matched_stop\":1");
    evbuffer_add(p, "}]", 2);
    if (is(o, "llamacpp"))
        evbuffer_add_printf(p, ",\"created\":1700000000,\"id\":\"chatcmpl-fake\",\"model\":\"%s\",\"system_fingerprint\":\"b0000-fake\",\"object\":\"chat.completion.chunk\"%s}", model_id,
                            kind == 3 ? ",\"timings\":{\"prompt_n\":1,\"predicted_n\":1}" : "");
    else
        evbuffer_add(p, "}", 1);
    sse_event(s, p);
    evbuffer_free(p);
}

/* A tool_calls delta with the JSON array held in DIR/name.txt. */
static void upcalls_file(stream *s, const char *name)
{
    size_t n = 0;
    char *t = read_file(name, &n);
    if (!t)
        return;
    while (n && (t[n - 1] == '\n' || t[n - 1] == ' '))
        n--;
    chat_chunk(s, 5, t, n, 0, 0);
    free(t);
}

static void text_chunk(stream *s, const char *t, size_t n, int final)
{
    struct evbuffer *p = evbuffer_new();
    const opts *o = &s->o;
    evbuffer_add_printf(p, "{\"id\":\"cmpl-fake\",\"object\":\"text_completion\",\"created\":1700000000,\"model\":\"%s\",\"choices\":[{\"index\":0,\"text\":", model_id);
    json_str(p, t, n);
    evbuffer_add_printf(p, ",\"logprobs\":null,\"finish_reason\":");
    if (final)
        evbuffer_add_printf(p, "\"%s\"", o->finish);
    else
        evbuffer_add(p, "null", 4);
    evbuffer_add(p, "}]}", 3);
    sse_event(s, p);
    evbuffer_free(p);
}

static void stream_free(stream *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->items[i].data);
    free(s->items);
    if (s->timer)
        event_free(s->timer);
    free(s);
}

static void on_close(struct evhttp_connection *c, void *arg)
{
    (void)c;
    stream *s = arg;
    s->dead = 1;
    /* attached requests are freed with the connection; a detached one is ours to end */
    if (evhttp_request_get_connection(s->req) != NULL)
        s->req = NULL;
}

static void step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    stream *s = arg;
    if (s->dead) {
        if (s->req)
            evhttp_send_reply_end(s->req);
        stream_free(s);
        return;
    }
    if (s->ts_left > 0 && s->next == s->n) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        char t[40];
        int tl = snprintf(t, sizeof t, "[%llu]", (unsigned long long)now.tv_sec * 1000000ull + (unsigned long long)now.tv_nsec / 1000);
        chat_chunk(s, 1, t, (size_t)tl, 0, 0);
        if (--s->ts_left == 0) {
            chat_chunk(s, 3, NULL, 0, 0, 0);
            struct evbuffer *d = evbuffer_new();
            evbuffer_add(d, "[DONE]", 6);
            sse_event(s, d);
            evbuffer_free(d);
        }
    }
    while (s->next < s->n) {
        ev_item *it = &s->items[s->next];
        if (it->crash && !s->crash_armed) {
            /* let what was sent reach the client first, then crash */
            s->crash_armed = 1;
            struct timeval tv = {0, 50000};
            evtimer_add(s->timer, &tv);
            return;
        }
        if (it->crash) {
            evhttp_connection_set_closecb(s->conn, NULL, NULL);
            evhttp_connection_free(s->conn); /* abrupt close, chunked body unterminated */
            stream_free(s);
            return;
        }
        struct evbuffer *b = evbuffer_new();
        if (s->o.wire > 0) {
            size_t k = it->len - s->wire_off < (size_t)s->o.wire ? it->len - s->wire_off : (size_t)s->o.wire;
            evbuffer_add(b, it->data + s->wire_off, k);
            s->wire_off += k;
            if (s->wire_off == it->len) {
                s->wire_off = 0;
                s->next++;
            }
            evhttp_send_reply_chunk(s->req, b);
            evbuffer_free(b);
            struct timeval tv = {0, 1000};
            evtimer_add(s->timer, &tv);
            return;
        }
        evbuffer_add(b, it->data, it->len);
        evhttp_send_reply_chunk(s->req, b);
        evbuffer_free(b);
        s->next++;
        if (s->o.delay > 0 && (s->next < s->n || s->ts_left > 0)) {
            struct timeval tv = {s->o.delay / 1000, (s->o.delay % 1000) * 1000};
            evtimer_add(s->timer, &tv);
            return;
        }
        if (s->ts_left > 0 && s->next == s->n) {
            struct timeval tv = {0, 0};
            evtimer_add(s->timer, &tv);
            return;
        }
    }
    evhttp_connection_set_closecb(s->conn, NULL, NULL);
    evhttp_send_reply_end(s->req);
    stream_free(s);
}

static long count_tokens(const char *t, size_t n) { (void)t; return (long)(n + 3) / 4; }

static void send_error(struct evhttp_request *req, int status, const char *msg)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "{\"error\":{\"message\":\"%s\",\"type\":\"invalid_request_error\",\"code\":%d}}", msg, status);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, status, NULL, b);
    evbuffer_free(b);
}

/* Does the request keep special token `tok` in its output (see the file comment)? */
static int keeps_special(const opts *o, int completions, const char *body, const char *tok)
{
    if (is(o, "vllm") || is(o, "sglang"))
        return strstr(body, "\"skip_special_tokens\":false") != NULL;
    if (is(o, "llamacpp") && completions) {
        const char *p = strstr(body, "\"preserved_tokens\":[");
        const char *e = p ? strchr(p, ']') : NULL;
        char q[64];
        snprintf(q, sizeof q, "\"%s\"", tok);
        return p && e && memmem(p, (size_t)(e - p), q, strlen(q)) != NULL;
    }
    return 1;
}

/* Remove the special tokens the runtime would not print; returns the new length. */
static size_t drop_specials(const opts *o, int completions, const char *body, char *t, size_t n)
{
    static const char *toks[] = {"\xEF\xBD\x9C" "DSML" "\xEF\xBD\x9C", "<think>", "</think>"};
    for (size_t k = 0; k < sizeof toks / sizeof *toks; k++) {
        if (keeps_special(o, completions, body, toks[k]))
            continue;
        size_t tl = strlen(toks[k]), w = 0;
        for (size_t i = 0; i < n;) {
            if (i + tl <= n && !memcmp(t + i, toks[k], tl)) {
                i += tl;
                continue;
            }
            t[w++] = t[i++];
        }
        n = w;
        t[n] = 0;
    }
    return n;
}

static void handle_gen(struct evhttp_request *req, int completions)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    char *body = malloc(blen + 1);
    evbuffer_copyout(in, body, blen);
    body[blen] = 0;
    free(last_body);
    last_body = body;
    last_len = blen;

    opts o;
    parse_scenario(body, blen, &o);
    int stream_req = strstr(body, "\"stream\":true") != NULL;
    int usage = strstr(body, "\"include_usage\":true") != NULL;
    if (o.hang)
        return; /* never answered; the connection closes when the client gives up */
    if (o.status) {
        send_error(req, (int)o.status, "fake upstream error");
        return;
    }
    if (o.ts > 0 && stream_req) {
        stream *t = calloc(1, sizeof *t);
        t->req = req;
        t->conn = evhttp_request_get_connection(req);
        t->o = o;
        t->timer = evtimer_new(base, step, t);
        t->ts_left = o.ts;
        chat_chunk(t, 0, NULL, 0, 0, 0);
        struct evkeyvalq *th = evhttp_request_get_output_headers(req);
        evhttp_add_header(th, "Content-Type", "text/event-stream");
        evhttp_send_reply_start(req, 200, "OK");
        evhttp_connection_set_closecb(t->conn, on_close, t);
        struct timeval now0 = {0, 0};
        evtimer_add(t->timer, &now0);
        return;
    }
    const char *name = o.name[0] ? o.name : "plain";
    if (o.then[0] && strstr(body, "\"role\":\"tool\""))
        name = o.then;
    size_t tlen = 0;
    char *text = read_file(name, &tlen);
    if (!text) {
        send_error(req, 404, "no such recording");
        return;
    }
    tlen = drop_specials(&o, completions, body, text, tlen);

    stream *s = calloc(1, sizeof *s);
    s->req = req;
    s->conn = evhttp_request_get_connection(req);
    s->o = o;
    s->timer = evtimer_new(base, step, s);

    long pieces = 0;
    size_t pos = 0;
    int in_reasoning = !completions && o.split;
    const char *think_end = in_reasoning ? strstr(text, "</think>") : NULL;
    if (!think_end)
        in_reasoning = 0;
    if (!completions)
        chat_chunk(s, 0, NULL, 0, 0, 0);
    if (o.upcalls && !completions) {
        chat_chunk(s, 5, text, tlen, 0, 0);
        pieces = 1;
        pos = tlen;
    }
    if (o.uphead[0] && !completions)
        upcalls_file(s, o.uphead);
    while (pos < tlen) {
        if (in_reasoning && text + pos >= think_end) {
            pos += 8; /* drop "</think>" */
            in_reasoning = 0;
            continue;
        }
        size_t lim = in_reasoning ? (size_t)(think_end - (text + pos)) : tlen - pos;
        size_t n = piece_len(text + pos, lim, o.chunk);
        if (o.crash >= 0 && pos + n > (size_t)o.crash) {
            n = (size_t)o.crash > pos ? (size_t)o.crash - pos : 0;
            if (n) {
                if (completions) text_chunk(s, text + pos, n, 0);
                else chat_chunk(s, 1, text + pos, n, 0, 0);
            }
            add_item(s, NULL, 1);
            goto send;
        }
        if (o.garbage >= 0 && pos >= (size_t)o.garbage) {
            struct evbuffer *g = evbuffer_new();
            evbuffer_add_printf(g, "{\"choices\":[{\"delta\":{\"content\":\"oops");
            sse_event(s, g);
            evbuffer_free(g);
            o.garbage = -1;
            s->o.garbage = -1;
        }
        if (completions)
            text_chunk(s, text + pos, n, 0);
        else
            chat_chunk(s, in_reasoning ? 2 : 1, text + pos, n, 0, 0);
        pos += n;
        pieces++;
    }
    if (o.uptail[0] && !completions)
        upcalls_file(s, o.uptail);
    if (o.errevent) {
        struct evbuffer *g = evbuffer_new();
        evbuffer_add_printf(g, "{\"error\":{\"message\":\"model crashed during generation\",\"type\":\"server_error\"}}");
        sse_event(s, g);
        evbuffer_free(g);
    } else if (!o.nodone) {
        if (completions)
            text_chunk(s, "", 0, 1);
        else
            chat_chunk(s, 3, NULL, 0, 0, 0);
        if (usage)
            chat_chunk(s, 4, NULL, 0, count_tokens(body, blen), pieces);
        struct evbuffer *d = evbuffer_new();
        evbuffer_add(d, "[DONE]", 6);
        sse_event(s, d);
        evbuffer_free(d);
    }
send:
    free(text);
    if (!stream_req) {
        /* non-streamed: collapse into one JSON answer (text only) */
        struct evbuffer *b = evbuffer_new();
        size_t tl2 = 0;
        char *t2 = read_file(name, &tl2);
        if (t2)
            tl2 = drop_specials(&o, completions, body, t2, tl2);
        if (completions)
            evbuffer_add_printf(b, "{\"id\":\"cmpl-fake\",\"object\":\"text_completion\",\"created\":1700000000,\"model\":\"%s\",\"choices\":[{\"index\":0,\"text\":", model_id);
        else
            evbuffer_add_printf(b, "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"%s\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":", model_id);
        json_str(b, t2 ? t2 : "", tl2);
        evbuffer_add_printf(b, "%s,\"finish_reason\":\"%s\"}],\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld}}",
                            completions ? "" : "}", o.finish, count_tokens(body, blen), pieces, count_tokens(body, blen) + pieces);
        free(t2);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
        evhttp_send_reply(req, 200, NULL, b);
        evbuffer_free(b);
        stream_free(s);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_send_reply_start(req, 200, "OK");
    evhttp_connection_set_closecb(s->conn, on_close, s);
    struct timeval now = {0, 0};
    evtimer_add(s->timer, &now);
}

static void reply_json(struct evhttp_request *req, const char *j)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, j, strlen(j));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, 200, NULL, b);
    evbuffer_free(b);
}

static void route(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *uri = evhttp_request_get_uri(req);
    if (!uri) {
        send_error(req, 400, "bad request");
        return;
    }
    char path[256];
    snprintf(path, sizeof path, "%s", uri);
    char *q = strchr(path, '?');
    if (q)
        *q = 0;
    if (strncmp(path, "/_last", 6) != 0) {
        const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
        snprintf(last_auth, sizeof last_auth, "%s", a ? a : "");
    }
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m == EVHTTP_REQ_GET && !strcmp(path, "/v1/models")) {
        char j[512];
        snprintf(j, sizeof j, "{\"object\":\"list\",\"data\":[{\"id\":\"%s\",\"object\":\"model\",\"created\":1700000000,\"owned_by\":\"fakeup\"}]}", model_id);
        reply_json(req, j);
    } else if (m == EVHTTP_REQ_GET && !strcmp(path, "/health")) {
        reply_json(req, "{\"status\":\"ok\"}");
    } else if (m == EVHTTP_REQ_GET && !strcmp(path, "/_last")) {
        struct evbuffer *b = evbuffer_new();
        evbuffer_add(b, last_body ? last_body : "", last_len);
        evhttp_send_reply(req, 200, NULL, b);
        evbuffer_free(b);
    } else if (m == EVHTTP_REQ_GET && !strcmp(path, "/_last_auth")) {
        struct evbuffer *b = evbuffer_new();
        evbuffer_add(b, last_auth, strlen(last_auth));
        evhttp_send_reply(req, 200, NULL, b);
        evbuffer_free(b);
    } else if (m == EVHTTP_REQ_POST && !strcmp(path, "/v1/chat/completions")) {
        handle_gen(req, 0);
    } else if (m == EVHTTP_REQ_POST && !strcmp(path, "/v1/completions")) {
        handle_gen(req, 1);
    } else {
        send_error(req, 404, "not found");
    }
}

static void on_signal(evutil_socket_t sig, short what, void *ud)
{
    (void)sig;
    (void)what;
    event_base_loopexit(ud, NULL);
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:0", *portfile = NULL;
    static const struct option lo[] = {{"rec", 1, 0, 'r'}, {"listen", 1, 0, 'l'},
                                       {"port-file", 1, 0, 'p'}, {"flavor", 1, 0, 'f'},
                                       {"model", 1, 0, 'm'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'r': rec_dir = optarg; break;
        case 'l': listen = optarg; break;
        case 'p': portfile = optarg; break;
        case 'f': def_flavor = optarg; break;
        case 'm': model_id = optarg; break;
        default:
            fprintf(stderr, "usage: fakeup --rec DIR [--listen HOST:PORT] [--port-file F] [--flavor F] [--model ID]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_gencb(http, route, NULL);
    evhttp_set_max_body_size(http, 64 << 20);
    char host[128];
    snprintf(host, sizeof host, "%s", listen);
    char *colon = strrchr(host, ':');
    int port = colon ? atoi(colon + 1) : 0;
    if (colon)
        *colon = 0;
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port);
    if (!bs) {
        fprintf(stderr, "fakeup: cannot listen on %s: %s\n", listen, strerror(errno));
        return 1;
    }
    int one = 1;
    setsockopt(evhttp_bound_socket_get_fd(bs), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl);
    port = ntohs(sa.sin_port);
    if (portfile) {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
        FILE *f = fopen(tmp, "w");
        if (!f)
            return 1;
        fprintf(f, "%d\n", port);
        fclose(f);
        rename(tmp, portfile);
    }
    struct event *si = evsignal_new(base, SIGINT, on_signal, base);
    struct event *st = evsignal_new(base, SIGTERM, on_signal, base);
    evsignal_add(si, NULL);
    evsignal_add(st, NULL);
    event_base_dispatch(base);
    event_free(si);
    event_free(st);
    evhttp_free(http);
    event_base_free(base);
    free(last_body);
    return 0;
}
