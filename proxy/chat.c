/*
 * chat.c - POST /v1/chat/completions: one client request through the proxy.
 *
 * Flow (one "exchange"): read and validate the request (request.c) -> resolve the model
 * and thinking mode -> build the upstream body (chat mode: the client's request with the
 * flavor's knobs; completions mode: the prompt rendered by libdsml, ending with the start
 * of the call when tool_choice forces one) -> stream it from the upstream (upstream.c; the
 * upstream is always asked to stream, so idle timeouts work and tokens can be forwarded as
 * they arrive) -> SSE events (dsml_sse.h) -> text pieces -> one libdsml delta layer
 * (dsml_oai_*) fed as the pieces arrive: reasoning first, then (dsml_oai_end_reasoning)
 * the content, for upstreams that split them; the prefilled call start before both.
 * Every delta is checked against tool_choice / parallel_tool_calls, then goes to
 *   - a streaming client: the chunk writer (dsml_chunker_*), flushed once per upstream
 *     read, so everything one read produces leaves in one write;
 *   - a non-streaming client: the message builder (dsml_message_on_delta), finished with
 *     the text of a call cut off at the end (it becomes content) and answered as one
 *     chat.completion object.
 * The proxy never looks at DSML itself.
 *
 * Calls the upstream parsed itself (a runtime with its own tool parser, chat mode) are
 * passed through with their ids: streamed as they come, numbered in order with the parsed
 * ones; in a whole answer merged into the parsed calls at the position they arrived.
 *
 * Faults: upstream error statuses are relayed with their body (before any byte was sent
 * to a streaming client; afterwards as an error event); transport failures become 502/504
 * or a terminal error event; malformed SSE or JSON from upstream ends the stream with an
 * error event after flushing every text byte the parser held. A client that goes away
 * cancels the upstream transfer. A slow client pauses its upstream transfer (backpressure)
 * instead of growing memory.
 *
 * Invariant: an exchange is freed exactly once, by finish(), after the hs request was
 * finished and the upstream transfer is gone (completed or cancelled).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsml_json.h"
#include "dsml_openai.h"
#include "dsml_sse.h"
#include "proxy.h"

typedef struct upcall {     /* a call the upstream parsed itself (chat mode) */
    long up_index;
    uint32_t client_index;
    size_t after;           /* parsed calls started before it (position in the answer) */
    char id[DSML_ID_MAX];
    dsml_buf name, args;
} upcall;

typedef struct exch {
    proxy *p;
    hs_req *hr;
    unsigned long long id;
    proxy_req req;
    proxy_xfer *x;
    int completions;
    int thinking;
    int client_stream;
    char *client_model;
    char chat_id[DSML_ID_MAX + 16];
    int64_t created;

    /* upstream response */
    int up_status;
    int up_sse;
    dsml_buf up_raw;            /* body of a non-SSE / error response */
    int up_raw_truncated;
    dsml_sse sse;
    int up_done_marker;         /* data: [DONE] seen */
    int up_finish_seen;
    char up_finish[24];
    long long prompt_tokens, completion_tokens;
    int have_usage;
    uint64_t t0, t_first, t_end;

    /* the parser, for both kinds of client */
    dsml_oai *oai;
    dsml_buf prefix;            /* prefilled start of a forced call (completions mode) */
    int reasoning_seen, reasoning_ended;
    int suppress_finish;        /* faults: flush text but write no finish chunk */

    /* streaming client */
    dsml_chunker *ch;
    int sse_started;
    uint32_t *oai_map;          /* dsml_oai call index -> client index */
    size_t oai_map_len;

    /* non-streaming client */
    dsml_message msg;
    dsml_buf fed;               /* every byte fed to the parser (the cut-off tail) */

    /* calls seen by the client, and upstream-parsed ones */
    uint32_t ncalls;            /* all calls started (client indexes) */
    uint32_t nparsed;           /* of which parsed by the proxy */
    upcall *upcalls;
    size_t nupcalls;

    /* outcome */
    char fault[300];            /* terminal error message */
    const char *fault_type;
    const char *fault_code;
    char violation[300];
    unsigned warnings;
    char warn[96];
    unsigned pauses;            /* upstream paused for a slow client */
    const char *finish;
    int client_gone;
    int logged;
} exch;

static void exch_free(exch *e)
{
    proxy_req_free(&e->req);
    free(e->client_model);
    dsml_buf_free(&e->up_raw);
    dsml_sse_free(&e->sse);
    if (e->oai)
        dsml_oai_free(e->oai);
    if (e->ch)
        dsml_chunker_free(e->ch);
    dsml_buf_free(&e->prefix);
    free(e->oai_map);
    dsml_message_free(&e->msg);
    dsml_buf_free(&e->fed);
    for (size_t i = 0; i < e->nupcalls; i++) {
        dsml_buf_free(&e->upcalls[i].name);
        dsml_buf_free(&e->upcalls[i].args);
    }
    free(e->upcalls);
    free(e);
}

static void log_fields(exch *e)
{
    hs_req *r = e->hr;
    uint64_t end = e->t_end ? e->t_end : hs_now_us();
    hs_req_log(r, "id=%llu mode=%s model=%s", e->id, e->completions ? "completions" : "chat",
               e->client_model ? e->client_model : "-");
    if (e->up_status)
        hs_req_log(r, "up_status=%d", e->up_status);
    if (e->t0)
        hs_req_log(r, "upstream_ms=%.1f", (double)(end - e->t0) / 1000.0);
    if (e->t_first)
        hs_req_log(r, "first_byte_ms=%.1f", (double)(e->t_first - e->t0) / 1000.0);
    if (e->have_usage)
        hs_req_log(r, "tokens=%lld+%lld", e->prompt_tokens, e->completion_tokens);
    hs_req_log(r, "calls=%u", e->ncalls);
    if (e->prefix.len)
        hs_req_log(r, "prefilled=1");
    if (e->finish)
        hs_req_log(r, "finish=%s", e->finish);
    if (e->warnings)
        hs_req_log(r, "dsml_warnings=%u last=%s", e->warnings, e->warn);
    if (e->pauses)
        hs_req_log(r, "paused=%u", e->pauses);
    if (e->violation[0])
        hs_req_log(r, "violation=\"%s\"", e->violation);
    if (e->fault[0])
        hs_req_log(r, "fault=\"%s\"", e->fault);
}

/* Access-log fields must be attached before the reply call that writes the log line. */
static void pre_reply(exch *e)
{
    if (!e->logged) {
        log_fields(e);
        e->logged = 1;
    }
}

static void finish(exch *e)
{
    exch_free(e);
}

static void set_fault(exch *e, const char *type, const char *code, const char *fmt,
                      const char *detail)
{
    if (e->fault[0])
        return;
    snprintf(e->fault, sizeof e->fault, fmt, detail ? detail : "");
    e->fault_type = type;
    e->fault_code = code;
}

/* ===================================================================================== */
/* Upstream request construction                                                         */
/* ===================================================================================== */

static int effective_thinking(exch *e, int alias_thinking)
{
    if (e->req.thinking >= 0)
        return e->req.thinking;
    if (alias_thinking >= 0)
        return alias_thinking;
    return e->p->cfg.thinking_default;
}

static void common_fields(proxy_jobj *b, const char *up_model)
{
    proxy_jobj_set_str(b, "model", up_model, strlen(up_model));
    proxy_jobj_set(b, "stream", "true");
    proxy_jobj_set(b, "stream_options", "{\"include_usage\":true}");
}

/* Chat mode: the client's body, model replaced, always streamed, flavor knobs added. */
static int build_chat_body(exch *e, const char *up_model, dsml_buf *out)
{
    proxy_jobj b = {0};
    proxy_jobj_init(&b, e->req.root);
    common_fields(&b, up_model);
    if (e->req.tool_choice == PROXY_TC_NONE && proxy_jobj_get(&b, "tools") &&
        e->p->cfg.flavor == PROXY_FLAVOR_GENERIC) {
        /* keep tools out of the prompt: the model must not call them */
        proxy_jobj_del(&b, "tools");
        proxy_jobj_del(&b, "tool_choice");
    }
    proxy_flavor_apply(&e->p->cfg, 0, &b, e->thinking, e->req.reasoning_effort);
    int rc = proxy_jobj_write(&b, out);
    proxy_jobj_free(&b);
    return rc;
}

/* Completions mode: prompt rendered by libdsml (+ the forced call's start), sampling fields
 * copied as the client wrote them. */
static int build_completions_body(exch *e, const char *up_model, dsml_buf *out, char *err,
                                  size_t errlen)
{
    dsml_buf prompt = {0};
    if (proxy_render_prompt(&e->p->cfg, &e->req, e->thinking, &prompt, err, errlen) < 0) {
        dsml_buf_free(&prompt);
        return -2;
    }
    if (proxy_call_prefix(&e->p->cfg, &e->req, e->thinking, &e->prefix) < 0) {
        dsml_buf_free(&prompt);
        snprintf(err, errlen, "tool_choice names a function that cannot be written as a call");
        return -2;
    }
    dsml_buf_add(&prompt, e->prefix.data ? e->prefix.data : "", e->prefix.len);
    proxy_jobj b = {0};
    common_fields(&b, up_model);
    proxy_jobj_set_str(&b, "prompt", prompt.data ? prompt.data : "", prompt.len);
    if (prompt.oom)
        b.oom = 1;
    dsml_buf_free(&prompt);
    static const char *copy_fields[] = {"temperature", "top_p", "seed", "stop", "presence_penalty",
                                        "frequency_penalty", "logit_bias", "user", "top_k",
                                        "min_p", "repetition_penalty"};
    for (size_t i = 0; i < sizeof copy_fields / sizeof *copy_fields; i++) {
        const dsml_jv *v = dsml_jv_get(e->req.root, copy_fields[i]);
        if (v)
            proxy_jobj_set_jv(&b, copy_fields[i], v);
    }
    const dsml_jv *mt = dsml_jv_get(e->req.root, "max_completion_tokens");
    if (dsml_jv_is_null(mt))
        mt = dsml_jv_get(e->req.root, "max_tokens");
    if (!dsml_jv_is_null(mt))
        proxy_jobj_set_jv(&b, "max_tokens", mt);
    proxy_flavor_apply(&e->p->cfg, 1, &b, e->thinking, e->req.reasoning_effort);
    int rc = proxy_jobj_write(&b, out);
    proxy_jobj_free(&b);
    return rc;
}

/* ===================================================================================== */
/* Deltas: checks, then the chunk writer or the message builder                          */
/* ===================================================================================== */

static int sink_write(void *ud, const char *data, size_t len)
{
    exch *e = ud;
    return hs_sse_write(e->hr, data, len);
}

static int violate(exch *e, const char *fmt, const char *name, size_t name_len)
{
    snprintf(e->violation, sizeof e->violation, fmt, (int)name_len, name);
    return 1;
}

/* Check a call about to be sent against tool_choice and parallel_tool_calls. Returns
 * nonzero (and sets e->violation) when it must not be sent. */
static int check_call(exch *e, const char *name, size_t len)
{
    const proxy_req *q = &e->req;
    if (q->tool_choice == PROXY_TC_NONE)
        return violate(e, "tool_choice is \"none\" but the model called %.*s", name, len);
    if (q->tool_choice == PROXY_TC_NAMED &&
        (strlen(q->tool_choice_name) != len || memcmp(q->tool_choice_name, name, len) != 0))
        return violate(e, "tool_choice names another function but the model called %.*s", name,
                       len);
    if (!q->parallel_tool_calls && e->ncalls >= 1)
        return violate(e, "parallel_tool_calls is false but the model made a second call (%.*s)",
                       name, len);
    return 0;
}

static const char *final_finish(exch *e, const char *parsed, uint32_t calls)
{
    if (!strcmp(parsed, "length") || !strcmp(e->up_finish, "length"))
        return "length";
    if (calls)
        return "tool_calls";
    if (!strcmp(e->up_finish, "content_filter"))
        return "content_filter";
    return "stop";
}

static int on_delta(void *ud, const dsml_delta *d)
{
    exch *e = ud;
    dsml_delta c = *d;
    switch (d->kind) {
    case DSML_DELTA_CALL:
        if (check_call(e, d->name, d->name_len))
            return 1;
        if (d->index >= e->oai_map_len) {
            size_t n = e->oai_map_len ? e->oai_map_len * 2 : 8;
            while (n <= d->index)
                n *= 2;
            uint32_t *m = realloc(e->oai_map, n * sizeof *m);
            if (!m)
                return 1;
            e->oai_map = m;
            e->oai_map_len = n;
        }
        e->oai_map[d->index] = e->ncalls++;
        e->nparsed++;
        c.index = e->oai_map[d->index];
        break;
    case DSML_DELTA_ARGS:
    case DSML_DELTA_CALL_END:
        if (d->index >= e->oai_map_len)
            return 1;
        c.index = e->oai_map[d->index];
        break;
    case DSML_DELTA_FINISH:
        if (e->suppress_finish)
            return 0;
        if (e->req.tool_choice == PROXY_TC_REQUIRED || e->req.tool_choice == PROXY_TC_NAMED) {
            if (e->ncalls == 0 && strcmp(e->up_finish, "length") != 0) {
                snprintf(e->violation, sizeof e->violation,
                         "tool_choice requires a tool call but the model made none");
                return 1;
            }
        }
        e->finish = final_finish(e, d->finish, e->ncalls);
        c.finish = e->finish;
        if (e->ch && e->have_usage)
            dsml_chunker_usage(e->ch, (uint64_t)e->prompt_tokens, (uint64_t)e->completion_tokens);
        break;
    default:
        break;
    }
    if (!e->client_stream) /* the builder numbers calls itself; upstream calls come later */
        return dsml_message_on_delta(&e->msg, d) ? 1 : 0;
    return dsml_chunker_delta(e->ch, &c) ? 1 : 0;
}

static int on_warning(void *ud, const dsml_diag *w)
{
    exch *e = ud;
    e->warnings++;
    snprintf(e->warn, sizeof e->warn, "%s@%llu", dsml_code_name(w->code),
             (unsigned long long)w->offset);
    return 0;
}

/* A dsml feed stopped: why. */
static void feed_failed(exch *e, dsml_code rc)
{
    if (e->violation[0])
        set_fault(e, "invalid_response_error", "tool_choice_violation", "%s", e->violation);
    else if (rc == DSML_E_CALLBACK && e->client_stream)
        set_fault(e, "server_error", "client_write_failed", "%s", "writing to the client failed");
    else if (rc == DSML_E_CALLBACK || rc == DSML_E_NOMEM)
        set_fault(e, "server_error", "out_of_memory", "%s", "out of memory");
    else {
        const dsml_result *res = dsml_oai_result(e->oai);
        char m[200];
        snprintf(m, sizeof m, "%s at byte %llu of the completion", dsml_code_message(rc),
                 (unsigned long long)res->error.offset);
        set_fault(e, "invalid_response_error", "dsml_error",
                  "model output is not valid DSML (strict mode): %s", m);
    }
}

static void feed(exch *e, const char *s, size_t n)
{
    if (!e->client_stream && dsml_buf_add(&e->fed, s, n) < 0) {
        set_fault(e, "server_error", "out_of_memory", "%s", "out of memory");
        return;
    }
    dsml_code rc = dsml_oai_feed(e->oai, s, n);
    if (rc != DSML_OK)
        feed_failed(e, rc);
}

/* The upstream's answer has begun (2xx event stream): the parser, and for a streaming
 * client the chunk writer and the response headers. The prefilled call start goes in
 * first, so its header delta leaves at once. */
static void parser_begin(exch *e)
{
    if (e->oai)
        return;
    if (e->client_stream) {
        e->sse_started = 1;
        hs_sse_begin(e->hr, 200);
        dsml_chunk_options co = {0};
        co.id = e->chat_id;
        co.model = e->client_model;
        co.created = e->created;
        co.include_usage = e->req.include_usage;
        dsml_sink sink = {sink_write, e};
        e->ch = dsml_chunker_new(&co, sink);
    } else {
        e->msg.has_reasoning = e->thinking;
    }
    dsml_oai_options o;
    dsml_oai_options_init(&o);
    o.parse.dialect = e->p->cfg.dialect;
    o.parse.flags = (e->thinking ? DSML_THINKING : 0) | (e->p->cfg.strict ? DSML_STRICT : 0);
    o.on_warning = on_warning;
    o.warning_ud = e;
    e->oai = dsml_oai_new(&o, on_delta, e);
    if ((e->client_stream && !e->ch) || !e->oai) {
        set_fault(e, "server_error", "out_of_memory", "%s", "out of memory");
        return;
    }
    if (e->ch)
        dsml_chunker_start(e->ch);
    if (e->prefix.len)
        feed(e, e->prefix.data, e->prefix.len);
}

/* Reasoning text the parser cannot take any more (not thinking mode, or after content):
 * passed on as reasoning, unparsed. */
static void reasoning_passthrough(exch *e, const char *s, size_t n)
{
    if (!e->client_stream) {
        e->msg.has_reasoning = 1;
        if (dsml_buf_add(&e->msg.reasoning, s, n) < 0)
            set_fault(e, "server_error", "out_of_memory", "%s", "out of memory");
        return;
    }
    dsml_delta d = {0};
    d.kind = DSML_DELTA_REASONING;
    d.text = s;
    d.len = n;
    if (dsml_chunker_delta(e->ch, &d))
        set_fault(e, "server_error", "client_write_failed", "%s", "client write failed");
}

static void text_piece(exch *e, int reasoning, const char *s, size_t n)
{
    if (!n || e->fault[0] || !e->oai)
        return;
    if (reasoning) {
        if (!e->thinking || e->reasoning_ended) {
            reasoning_passthrough(e, s, n);
            return;
        }
        e->reasoning_seen = 1;
    } else if (e->thinking && e->reasoning_seen && !e->reasoning_ended) {
        /* the upstream splits reasoning itself: its content starts after the reasoning */
        e->reasoning_ended = 1;
        dsml_code rc = dsml_oai_end_reasoning(e->oai);
        if (rc != DSML_OK) {
            feed_failed(e, rc);
            return;
        }
    }
    feed(e, s, n);
}

/* ===================================================================================== */
/* Upstream-parsed tool calls (a runtime with its own parser, chat mode)                 */
/* ===================================================================================== */

static upcall *upcall_get(exch *e, long idx)
{
    for (size_t i = 0; i < e->nupcalls; i++)
        if (e->upcalls[i].up_index == idx)
            return &e->upcalls[i];
    return NULL;
}

static const dsml_jv *jv_str(const dsml_jv *v)
{
    return v && v->type == DSML_JV_STRING ? v : NULL;
}

/* A JSON integer value (digits only, no fraction or exponent), else dflt. */
static long long jv_int(const dsml_jv *v, long long dflt)
{
    if (!v || v->type != DSML_JV_NUMBER || v->is_float || v->len == 0 || v->len > 20)
        return dflt;
    char b[24];
    memcpy(b, v->u.s, v->len);
    b[v->len] = 0;
    return strtoll(b, NULL, 10);
}

static void upstream_tool_calls(exch *e, const dsml_jv *arr)
{
    for (size_t i = 0; i < arr->len && !e->fault[0]; i++) {
        const dsml_jv *tc = &arr->u.items[i];
        long idx = (long)jv_int(dsml_jv_get(tc, "index"), (long long)i);
        const dsml_jv *fn = dsml_jv_get(tc, "function");
        const dsml_jv *name = jv_str(dsml_jv_get(fn, "name"));
        const dsml_jv *jargs = dsml_jv_get(fn, "arguments");
        dsml_buf objargs = {0};
        const char *args = NULL;
        size_t args_len = 0;
        if (jv_str(jargs)) {
            args = jargs->u.s;
            args_len = jargs->len;
        } else if (jargs && jargs->type == DSML_JV_OBJECT) { /* some runtimes send an object */
            proxy_jv_write(jargs, &objargs);
            args = objargs.data;
            args_len = objargs.len;
        }
        upcall *u = upcall_get(e, idx);
        if (!u) {
            if (!name) {
                dsml_buf_free(&objargs);
                continue; /* no name yet: cannot start the call */
            }
            if (check_call(e, name->u.s, name->len)) {
                set_fault(e, "invalid_response_error", "tool_choice_violation", "%s", e->violation);
                dsml_buf_free(&objargs);
                return;
            }
            upcall *nu = realloc(e->upcalls, (e->nupcalls + 1) * sizeof *nu);
            if (!nu) {
                set_fault(e, "server_error", "out_of_memory", "%s", "out of memory");
                dsml_buf_free(&objargs);
                return;
            }
            e->upcalls = nu;
            u = &e->upcalls[e->nupcalls++];
            memset(u, 0, sizeof *u);
            u->up_index = idx;
            u->client_index = e->ncalls++;
            u->after = e->nparsed;
            const dsml_jv *id = jv_str(dsml_jv_get(tc, "id"));
            if (id && id->len && id->len < sizeof u->id && !memchr(id->u.s, 0, id->len)) {
                memcpy(u->id, id->u.s, id->len);
                u->id[id->len] = 0;
            } else {
                dsml_id_random(NULL, u->client_index, u->id);
            }
            dsml_buf_add(&u->name, name->u.s, name->len);
            if (e->client_stream) {
                dsml_delta d = {0};
                d.kind = DSML_DELTA_CALL;
                d.index = u->client_index;
                d.id = u->id;
                d.name = name->u.s;
                d.name_len = name->len;
                dsml_chunker_delta(e->ch, &d);
            }
        }
        if (args_len) {
            if (e->client_stream) {
                dsml_delta d = {0};
                d.kind = DSML_DELTA_ARGS;
                d.index = u->client_index;
                d.text = args;
                d.len = args_len;
                dsml_chunker_delta(e->ch, &d);
            } else {
                dsml_buf_add(&u->args, args, args_len);
            }
        }
        dsml_buf_free(&objargs);
    }
}

/* Whole answer: put the upstream's own calls among the parsed ones where they arrived
 * (the streamed order). Moves their buffers into the message. Returns 0 or -1. */
static int merge_upcalls(exch *e)
{
    dsml_message *m = &e->msg;
    if (!e->nupcalls)
        return 0;
    size_t n = m->ncalls + e->nupcalls;
    dsml_call *all = calloc(n, sizeof *all);
    if (!all)
        return -1;
    size_t k = 0, pi = 0;
    for (size_t i = 0; i < e->nupcalls; i++) {
        upcall *u = &e->upcalls[i];
        while (pi < m->ncalls && pi < u->after)
            all[k++] = m->calls[pi++];
        dsml_call *c = &all[k++];
        memcpy(c->id, u->id, sizeof c->id);
        c->name = u->name;
        c->arguments = u->args;
        c->complete = 1;
        memset(&u->name, 0, sizeof u->name);
        memset(&u->args, 0, sizeof u->args);
    }
    while (pi < m->ncalls)
        all[k++] = m->calls[pi++];
    free(m->calls);
    m->calls = all;
    m->ncalls = m->cap = n;
    return 0;
}

/* ===================================================================================== */
/* Upstream SSE events                                                                   */
/* ===================================================================================== */

static int on_event(void *ud, const dsml_sse_event *ev)
{
    exch *e = ud;
    if (e->p->cfg.verbose)
        proxy_vlog(e->p, "upstream event", e->id, ev->data, ev->data_len);
    if (e->up_done_marker)
        return 0; /* anything after [DONE] is ignored */
    if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6)) {
        e->up_done_marker = 1;
        return 0;
    }
    /* One event is one small JSON object: parsed into one arena (dsml_jv), text kept
     * as UTF-8 bytes, nothing converted that is not used. */
    dsml_jv_error je;
    dsml_jv_doc *doc = dsml_jv_parse(ev->data, ev->data_len, 0, &je);
    const dsml_jv *j = doc ? dsml_jv_root(doc) : NULL;
    if (!j || j->type != DSML_JV_OBJECT) {
        char m[160];
        if (j)
            snprintf(m, sizeof m, "not an object");
        else
            snprintf(m, sizeof m, "byte %zu: %.120s", je.offset, je.msg ? je.msg : "syntax error");
        set_fault(e, "upstream_error", "upstream_bad_event", "upstream sent a malformed SSE event (%s)", m);
        dsml_jv_free(doc);
        return 1;
    }
    const dsml_jv *err = dsml_jv_get(j, "error");
    if (!dsml_jv_is_null(err)) {
        const dsml_jv *msg = jv_str(err->type == DSML_JV_OBJECT ? dsml_jv_get(err, "message") : err);
        char m[240];
        snprintf(m, sizeof m, "%.*s", msg ? (int)(msg->len > 200 ? 200 : msg->len) : 12,
                 msg ? msg->u.s : "(no message)");
        set_fault(e, "upstream_error", "upstream_error", "upstream error: %s", m);
        dsml_jv_free(doc);
        return 1;
    }
    const dsml_jv *usage = dsml_jv_get(j, "usage");
    if (usage && usage->type == DSML_JV_OBJECT) {
        long long pt = jv_int(dsml_jv_get(usage, "prompt_tokens"), -1);
        long long ct = jv_int(dsml_jv_get(usage, "completion_tokens"), -1);
        if (pt >= 0 || ct >= 0) {
            e->prompt_tokens = pt > 0 ? pt : 0;
            e->completion_tokens = ct > 0 ? ct : 0;
            e->have_usage = 1;
        }
    }
    const dsml_jv *choices = dsml_jv_get(j, "choices");
    const dsml_jv *c0 = choices && choices->type == DSML_JV_ARRAY && choices->len
                            ? &choices->u.items[0]
                            : NULL;
    if (c0 && c0->type == DSML_JV_OBJECT) {
        if (e->completions) {
            const dsml_jv *t = jv_str(dsml_jv_get(c0, "text"));
            if (t)
                text_piece(e, 0, t->u.s, t->len);
        } else {
            const dsml_jv *d = dsml_jv_get(c0, "delta");
            if (!d || d->type != DSML_JV_OBJECT)
                d = dsml_jv_get(c0, "message"); /* tolerate a non-delta shape */
            if (d && d->type == DSML_JV_OBJECT) {
                const dsml_jv *rc = jv_str(dsml_jv_get(d, "reasoning_content"));
                if (!rc)
                    rc = jv_str(dsml_jv_get(d, "reasoning"));
                if (rc)
                    text_piece(e, 1, rc->u.s, rc->len);
                const dsml_jv *ct = jv_str(dsml_jv_get(d, "content"));
                if (ct)
                    text_piece(e, 0, ct->u.s, ct->len);
                const dsml_jv *tcs = dsml_jv_get(d, "tool_calls");
                if (tcs && tcs->type == DSML_JV_ARRAY)
                    upstream_tool_calls(e, tcs);
            }
        }
        const dsml_jv *fr = jv_str(dsml_jv_get(c0, "finish_reason"));
        if (fr) {
            e->up_finish_seen = 1;
            snprintf(e->up_finish, sizeof e->up_finish, "%.*s",
                     (int)(fr->len < sizeof e->up_finish ? fr->len : sizeof e->up_finish - 1),
                     fr->u.s);
        }
    }
    dsml_jv_free(doc);
    return e->fault[0] ? 1 : 0;
}

/* ===================================================================================== */
/* Ending an exchange                                                                    */
/* ===================================================================================== */

static void end_stream(exch *e)
{
    /* Flush whatever the parser holds; the finish chunk only when nothing went wrong. */
    if (e->oai && !e->fault[0]) {
        dsml_code rc = dsml_oai_finish(e->oai);
        if (rc != DSML_OK)
            feed_failed(e, rc);
    } else if (e->oai && !e->violation[0]) {
        e->suppress_finish = 1;
        dsml_oai_finish(e->oai);
    }
    if (e->fault[0] && e->ch)
        dsml_chunker_error(e->ch, e->fault, e->fault_type ? e->fault_type : "server_error",
                           e->fault_code);
    pre_reply(e);
    hs_sse_end(e->hr);
    finish(e);
}

static void reply_fault(exch *e, int status)
{
    pre_reply(e);
    hs_reply_error(e->hr, status, e->fault_type ? e->fault_type : "upstream_error",
                   e->fault_code, "%s", e->fault);
    finish(e);
}

static void end_nonstream(exch *e)
{
    if (!e->fault[0] && !e->oai)
        parser_begin(e); /* an event stream without a single event */
    if (!e->fault[0]) {
        dsml_code rc = dsml_oai_finish(e->oai);
        if (rc != DSML_OK)
            feed_failed(e, rc);
    }
    if (e->fault[0]) {
        reply_fault(e, 502);
        return;
    }
    const dsml_result *r = dsml_oai_result(e->oai);
    uint64_t at = r->incomplete_at < e->fed.len ? r->incomplete_at : e->fed.len;
    if (dsml_message_finish(&e->msg, r, e->fed.data ? e->fed.data + at : NULL,
                            e->fed.len - (size_t)at) < 0 ||
        merge_upcalls(e) < 0 || e->msg.content.oom || e->msg.reasoning.oom) {
        set_fault(e, "server_error", "out_of_memory", "%s", "out of memory");
        reply_fault(e, 500);
        return;
    }
    dsml_buf body = {0};
    dsml_buf_printf(&body, "{\"id\":\"%s\",\"object\":\"chat.completion\",\"created\":%lld,\"model\":\"",
                    e->chat_id, (long long)e->created);
    dsml_json_escape(e->client_model, strlen(e->client_model), &body);
    dsml_buf_puts(&body, "\",\"choices\":[{\"index\":0,\"message\":");
    dsml_message_json(&e->msg, &body);
    dsml_buf_printf(&body, ",\"logprobs\":null,\"finish_reason\":\"%s\"}]",
                    e->finish ? e->finish : "stop");
    if (e->have_usage)
        dsml_buf_printf(&body, ",\"usage\":{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,\"total_tokens\":%lld}",
                        e->prompt_tokens, e->completion_tokens, e->prompt_tokens + e->completion_tokens);
    dsml_buf_putc(&body, '}');
    if (body.oom) {
        dsml_buf_free(&body);
        set_fault(e, "server_error", "out_of_memory", "%s", "out of memory");
        reply_fault(e, 500);
        return;
    }
    if (e->p->cfg.verbose)
        proxy_vlog(e->p, "response", e->id, body.data, body.len);
    pre_reply(e);
    hs_reply(e->hr, 200, NULL, body.data, body.len);
    dsml_buf_free(&body);
    finish(e);
}

/* ===================================================================================== */
/* Upstream transfer callbacks                                                           */
/* ===================================================================================== */

static void on_up_status(void *ud, int status, const char *ct)
{
    exch *e = ud;
    e->up_status = status;
    e->t_first = hs_now_us();
    e->up_sse = status >= 200 && status < 300 && ct && strstr(ct, "text/event-stream") != NULL;
    if (e->up_sse)
        parser_begin(e); /* a client's stream starts as soon as the upstream's does */
}

static int on_up_body(void *ud, const char *data, size_t len)
{
    exch *e = ud;
    if (!e->up_sse) {
        size_t cap = e->p->cfg.max_upstream_body;
        if (e->up_raw.len + len > cap) {
            size_t room = cap > e->up_raw.len ? cap - e->up_raw.len : 0;
            dsml_buf_add(&e->up_raw, data, room);
            e->up_raw_truncated = 1;
            return 0;
        }
        dsml_buf_add(&e->up_raw, data, len);
        return 0;
    }
    if (e->fault[0])
        return -1;
    if (e->client_stream && hs_req_congested(e->hr)) {
        e->pauses++;
        return 1; /* pause, these bytes unread, until the client has read what we sent */
    }
    dsml_sse_status st = dsml_sse_feed(&e->sse, data, len);
    if (st != DSML_SSE_OK && st != DSML_SSE_STOPPED) {
        char m[120];
        snprintf(m, sizeof m, "%s at byte %llu", dsml_sse_strerror(st),
                 (unsigned long long)e->sse.error_at);
        set_fault(e, "upstream_error", "upstream_bad_stream", "upstream SSE stream is malformed: %s", m);
    }
    if (e->client_stream)
        hs_sse_flush(e->hr); /* everything this read produced, in one write */
    return e->fault[0] ? -1 : 0;
}

static void relay_upstream_body(exch *e)
{
    /* The upstream answered with an error (or a non-SSE body): pass status and body on. */
    int status = e->up_status ? e->up_status : 502;
    const char *b = e->up_raw.data ? e->up_raw.data : "";
    if (status >= 200 && status < 300) {
        /* 2xx but not an event stream: not what we asked for */
        set_fault(e, "upstream_error", "upstream_bad_response",
                  "upstream answered 2xx without an event stream: %.120s", b);
        reply_fault(e, 502);
        return;
    }
    if (dsml_json_is_object(b, e->up_raw.len)) {
        hs_req_log(e->hr, "upstream_error_relayed=1");
        pre_reply(e);
        hs_reply(e->hr, status, NULL, b, e->up_raw.len);
        finish(e);
        return;
    }
    char *err = NULL;
    size_t used = 0, cap = 0;
    hs_json_escape(&err, &used, &cap, b, e->up_raw.len > 400 ? 400 : e->up_raw.len);
    snprintf(e->fault, sizeof e->fault, "upstream returned HTTP %d: %s", status, err ? err : "");
    free(err);
    e->fault_type = "upstream_error";
    e->fault_code = "upstream_http_error";
    reply_fault(e, status);
}

static void on_up_done(void *ud, proxy_up_result res, const char *detail)
{
    exch *e = ud;
    e->x = NULL;
    e->t_end = hs_now_us();
    if (res == PROXY_UP_OK && !e->up_sse) {
        relay_upstream_body(e);
        return;
    }
    if (res == PROXY_UP_OK) {
        dsml_sse_status st = dsml_sse_finish(&e->sse);
        if (!e->fault[0] && st == DSML_SSE_TRUNCATED)
            set_fault(e, "upstream_error", "upstream_truncated", "%s",
                      "upstream stream ended inside an event");
        if (!e->fault[0] && !e->up_done_marker && !e->up_finish_seen)
            set_fault(e, "upstream_error", "upstream_truncated", "%s",
                      "upstream stream ended without finish_reason or [DONE]");
    } else if (res != PROXY_UP_ABORTED || !e->fault[0]) {
        const char *code = res == PROXY_UP_TIMEOUT ? "upstream_timeout"
                           : res == PROXY_UP_CONNECT ? "upstream_unreachable"
                                                     : "upstream_broken";
        char m[200];
        snprintf(m, sizeof m, "%s (%s)", proxy_up_strerror(res), detail ? detail : "");
        set_fault(e, "upstream_error", code, "%s", m);
    }
    if (e->client_stream && e->sse_started) {
        end_stream(e);
        return;
    }
    if (e->fault[0]) {
        reply_fault(e, res == PROXY_UP_TIMEOUT ? 504 : 502);
        return;
    }
    if (e->client_stream) {
        /* stream ended before it began (cannot happen with a 2xx SSE answer) */
        parser_begin(e);
        end_stream(e);
        return;
    }
    end_nonstream(e);
}

static void on_client_close(void *ud)
{
    exch *e = ud;
    e->client_gone = 1;
    if (e->x) {
        proxy_xfer_cancel(e->x);
        e->x = NULL;
    }
    hs_req_log(e->hr, "cancelled=1");
    pre_reply(e);
    if (e->client_stream && e->sse_started)
        hs_sse_end(e->hr);
    else
        hs_reply(e->hr, 499, NULL, "{}", 2);
    finish(e);
}

static void on_client_drain(void *ud)
{
    exch *e = ud;
    if (e->x)
        proxy_xfer_resume(e->x);
}

/* ===================================================================================== */
/* Entry                                                                                 */
/* ===================================================================================== */

static void random_hex(char *out, size_t n)
{
    char id[DSML_ID_MAX];
    dsml_id_random(NULL, 0, id); /* "call_" + hex */
    const char *h = strchr(id, '_');
    snprintf(out, n, "%s", h ? h + 1 : id);
}

void proxy_chat_handle(hs_req *r, void *ud)
{
    proxy *p = ud;
    exch *e = calloc(1, sizeof *e);
    if (!e) {
        hs_reply_error(r, 503, "server_error", NULL, "out of memory");
        return;
    }
    e->p = p;
    e->hr = r;
    e->id = ++p->nreq;
    e->completions = p->cfg.mode == PROXY_MODE_COMPLETIONS;
    e->created = (int64_t)time(NULL);
    char hex[DSML_ID_MAX];
    random_hex(hex, sizeof hex);
    snprintf(e->chat_id, sizeof e->chat_id, "chatcmpl-%.*s", DSML_ID_MAX - 1, hex);
    dsml_sse_init(&e->sse, 0, 0, on_event, e);

    size_t len;
    const char *body = hs_req_body(r, &len);
    if (p->cfg.verbose)
        proxy_vlog(p, "request", e->id, body, len);
    proxy_req_error err;
    if (proxy_req_parse(body, len, &e->req, &err) < 0) {
        pre_reply(e);
        hs_reply_error(r, err.status, err.status >= 500 ? "server_error" : "invalid_request_error",
                       err.code, "%s", err.message);
        finish(e);
        return;
    }
    e->client_model = strdup(e->req.model);
    e->client_stream = e->req.stream;
    const char *up_model = NULL;
    int alias_thinking = -1;
    if (!e->client_model || proxy_resolve_model(p, e->req.model, &up_model, &alias_thinking) < 0) {
        pre_reply(e);
        hs_reply_error(r, 404, "invalid_request_error", "model_not_found",
                       "model \"%s\" does not exist (see GET /v1/models)", e->req.model);
        finish(e);
        return;
    }
    e->thinking = effective_thinking(e, alias_thinking);

    dsml_buf ub = {0};
    char rerr[400] = "";
    int rc = e->completions ? build_completions_body(e, up_model, &ub, rerr, sizeof rerr)
                            : build_chat_body(e, up_model, &ub);
    if (rc < 0) {
        dsml_buf_free(&ub);
        pre_reply(e);
        if (rc == -2)
            hs_reply_error(r, 400, "invalid_request_error", "render_failed",
                           "cannot render the request as a prompt: %s", rerr);
        else
            hs_reply_error(r, 500, "server_error", NULL, "out of memory");
        finish(e);
        return;
    }
    if (p->cfg.verbose)
        proxy_vlog(p, "upstream request", e->id, ub.data, ub.len);
    char *auth = proxy_auth_header(p, r);
    const char *headers[] = {auth, NULL};
    char *url = proxy_url(p, e->completions ? "/v1/completions" : "/v1/chat/completions");
    proxy_xfer_callbacks cb = {on_up_status, on_up_body, on_up_done};
    e->t0 = hs_now_us();
    e->x = url ? proxy_up_request(p->up, "POST", url, headers, ub.data, ub.len, &cb, e) : NULL;
    free(url);
    free(auth);
    dsml_buf_free(&ub);
    if (!e->x) {
        pre_reply(e);
        hs_reply_error(r, 500, "server_error", NULL, "cannot start the upstream request");
        finish(e);
        return;
    }
    hs_req_on_close(r, on_client_close, e);
    hs_req_on_drain(r, on_client_drain, e);
}
