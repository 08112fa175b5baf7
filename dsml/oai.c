/*
 * oai.c - parser events -> OpenAI deltas -> non-stream message (dsml_openai.h).
 *
 * The arguments text of a call is produced here and nowhere else: both the message builder
 * and the chunk writer consume the same ARGS fragments, so streamed and non-streamed
 * arguments are byte-identical by construction.
 *
 * Fragments per call (spec/DSML.md §7):
 *   on_param     -> `{"name":` or `,"name":` (+ `"` for string values)
 *   on_value     -> string values: JSON-escaped bytes, as they arrive
 *                   JSON values: buffered
 *   on_param_end -> string: `"`; JSON: minified value, or the raw bytes as a JSON string when
 *                   invalid (tolerant)
 *   on_args      -> buffered (V3.1 arguments, or a JSON invoke body)
 *   on_invoke_end-> raw arguments minified (as-is when not a JSON object), else `}` / `{}`
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dsml_json.h"
#include "dsml_openai.h"

struct dsml_oai {
    dsml_oai_options opt;
    dsml_delta_fn fn;
    void *ud;
    dsml_parser *p;
    uint32_t ncalls;
    int in_call, first_param, param_json, has_args, finished;
    dsml_buf val; /* buffered JSON value or raw arguments */
    dsml_buf tmp; /* escaping scratch */
    char id[DSML_ID_MAX];
};

static int send(dsml_oai *o, dsml_delta *d) { return o->fn ? o->fn(o->ud, d) : 0; }

static int send_args(dsml_oai *o, const char *s, size_t n)
{
    if (!n) return 0;
    dsml_delta d = {.kind = DSML_DELTA_ARGS, .index = o->ncalls - 1, .text = s, .len = n};
    return send(o, &d);
}

static int send_args_escaped(dsml_oai *o, const char *s, size_t n)
{
    dsml_buf_clear(&o->tmp);
    if (dsml_json_escape(s, n, &o->tmp)) return -1;
    return send_args(o, o->tmp.data, o->tmp.len);
}

/* ---- parser callbacks ------------------------------------------------------------------ */

static int ev_reasoning(void *ud, const char *at, size_t len)
{
    dsml_oai *o = ud;
    dsml_delta d = {.kind = DSML_DELTA_REASONING, .text = at, .len = len};
    return send(o, &d);
}

static int ev_content(void *ud, const char *at, size_t len)
{
    dsml_oai *o = ud;
    dsml_delta d = {.kind = DSML_DELTA_CONTENT, .text = at, .len = len};
    return send(o, &d);
}

static int ev_block_begin(void *ud, dsml_dialect dialect)
{
    dsml_oai *o = ud;
    (void)dialect;
    dsml_delta d = {.kind = DSML_DELTA_BLOCK};
    return send(o, &d);
}

static int ev_invoke(void *ud, const char *name, size_t len)
{
    dsml_oai *o = ud;
    uint32_t index = o->ncalls++;
    if (o->opt.make_id) o->opt.make_id(o->opt.id_ud, index, o->id);
    else dsml_id_random(NULL, index, o->id);
    o->id[DSML_ID_MAX - 1] = 0;
    o->in_call = 1;
    o->first_param = 1;
    o->has_args = 0;
    dsml_buf_clear(&o->val);
    dsml_delta d = {.kind = DSML_DELTA_CALL, .index = index, .id = o->id, .name = name,
                    .name_len = len};
    return send(o, &d);
}

static int ev_param(void *ud, const char *name, size_t len, unsigned flags)
{
    dsml_oai *o = ud;
    dsml_buf_clear(&o->tmp);
    dsml_buf_puts(&o->tmp, o->first_param ? "{\"" : ",\"");
    dsml_json_escape(name, len, &o->tmp);
    o->param_json = !(flags & DSML_PARAM_STRING);
    dsml_buf_puts(&o->tmp, o->param_json ? "\":" : "\":\"");
    if (o->tmp.oom) return -1;
    o->first_param = 0;
    dsml_buf_clear(&o->val);
    return send_args(o, o->tmp.data, o->tmp.len);
}

static int ev_value(void *ud, const char *at, size_t len)
{
    dsml_oai *o = ud;
    if (o->param_json) return dsml_buf_add(&o->val, at, len);
    return send_args_escaped(o, at, len);
}

static int ev_param_end(void *ud, unsigned flags)
{
    dsml_oai *o = ud;
    if (!o->param_json) return send_args(o, "\"", 1);
    if (flags & DSML_END_INVALID_JSON) {
        dsml_buf_clear(&o->tmp);
        dsml_buf_putc(&o->tmp, '"');
        dsml_json_escape(o->val.data ? o->val.data : "", o->val.len, &o->tmp);
        dsml_buf_putc(&o->tmp, '"');
    } else {
        dsml_jmin m = {0, 0};
        dsml_buf_clear(&o->tmp);
        dsml_json_minify(&m, o->val.data ? o->val.data : "", o->val.len, &o->tmp);
    }
    if (o->tmp.oom) return -1;
    return send_args(o, o->tmp.data, o->tmp.len);
}

static int ev_args(void *ud, const char *at, size_t len)
{
    dsml_oai *o = ud;
    o->has_args = 1;
    return dsml_buf_add(&o->val, at, len);
}

static int ev_invoke_end(void *ud, unsigned flags)
{
    dsml_oai *o = ud;
    int r;
    if (o->has_args) {
        if (flags & DSML_END_ARGS_NOT_OBJECT) {
            r = send_args(o, o->val.data, o->val.len);
        } else {
            dsml_jmin m = {0, 0};
            dsml_buf_clear(&o->tmp);
            if (dsml_json_minify(&m, o->val.data, o->val.len, &o->tmp)) return -1;
            r = send_args(o, o->tmp.data, o->tmp.len);
        }
    } else {
        r = o->first_param ? send_args(o, "{}", 2) : send_args(o, "}", 1);
    }
    if (r) return r;
    o->in_call = 0;
    dsml_delta d = {.kind = DSML_DELTA_CALL_END, .index = o->ncalls - 1};
    return send(o, &d);
}

static int ev_warning(void *ud, const dsml_diag *w)
{
    dsml_oai *o = ud;
    return o->opt.on_warning ? o->opt.on_warning(o->opt.warning_ud, w) : 0;
}

/* ---- ids ------------------------------------------------------------------------------- */

static void hex_id(uint64_t a, uint64_t b, char out[DSML_ID_MAX])
{
    snprintf(out, DSML_ID_MAX, "call_%016llx%08llx", (unsigned long long)a,
             (unsigned long long)(b & 0xffffffffu));
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void dsml_id_seeded(void *ud, uint32_t index, char out[DSML_ID_MAX])
{
    uint64_t *seed = ud;
    (void)index;
    uint64_t a = splitmix(seed), b = splitmix(seed);
    hex_id(a, b, out);
}

void dsml_id_random(void *ud, uint32_t index, char out[DSML_ID_MAX])
{
    (void)ud;
    uint64_t r[2] = {0, 0};
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        /* no entropy source: fall back to a per-process sequence (still unique) */
        static uint64_t fallback = 0x243F6A8885A308D3ull;
        r[0] = splitmix(&fallback) ^ (uint64_t)(uintptr_t)&r;
        r[1] = splitmix(&fallback) ^ index;
    }
    hex_id(r[0], r[1], out);
}

/* ---- delta layer ----------------------------------------------------------------------- */

void dsml_oai_options_init(dsml_oai_options *o)
{
    memset(o, 0, sizeof *o);
    dsml_options_init(&o->parse);
}

dsml_oai *dsml_oai_new(const dsml_oai_options *opts, dsml_delta_fn fn, void *ud)
{
    dsml_oai *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    if (opts) o->opt = *opts;
    else dsml_oai_options_init(&o->opt);
    o->fn = fn;
    o->ud = ud;
    dsml_callbacks cb = {
        .on_reasoning = ev_reasoning,
        .on_content = ev_content,
        .on_block_begin = ev_block_begin,
        .on_invoke = ev_invoke,
        .on_param = ev_param,
        .on_value = ev_value,
        .on_param_end = ev_param_end,
        .on_args = ev_args,
        .on_invoke_end = ev_invoke_end,
        .on_warning = ev_warning,
    };
    o->p = dsml_parser_new(&o->opt.parse, &cb, o);
    if (!o->p) {
        free(o);
        return NULL;
    }
    return o;
}

void dsml_oai_free(dsml_oai *o)
{
    if (!o) return;
    dsml_parser_free(o->p);
    dsml_buf_free(&o->val);
    dsml_buf_free(&o->tmp);
    free(o);
}

dsml_code dsml_oai_feed(dsml_oai *o, const char *data, size_t len)
{
    return dsml_feed(o->p, data, len);
}

dsml_code dsml_oai_end_reasoning(dsml_oai *o) { return dsml_end_reasoning(o->p); }

static const char *finish_reason(const dsml_oai *o)
{
    const dsml_result *r = dsml_result_get(o->p);
    if (r->status == DSML_INCOMPLETE || (r->status == DSML_FAILED && o->in_call))
        return "length";
    return r->calls ? "tool_calls" : "stop";
}

dsml_code dsml_oai_finish(dsml_oai *o)
{
    dsml_code c = dsml_finish(o->p);
    if (o->finished) return c;
    o->finished = 1;
    dsml_delta d = {.kind = DSML_DELTA_FINISH, .finish = finish_reason(o)};
    if (send(o, &d) && c == DSML_OK) c = DSML_E_CALLBACK;
    return c;
}

void dsml_oai_reset(dsml_oai *o)
{
    dsml_reset(o->p);
    o->ncalls = 0;
    o->in_call = o->first_param = o->param_json = o->has_args = o->finished = 0;
    dsml_buf_clear(&o->val);
}

const dsml_result *dsml_oai_result(const dsml_oai *o) { return dsml_result_get(o->p); }

/* ---- message builder ------------------------------------------------------------------- */

int dsml_message_on_delta(void *message, const dsml_delta *d)
{
    dsml_message *m = message;
    switch (d->kind) {
    case DSML_DELTA_REASONING:
        return dsml_buf_add(&m->reasoning, d->text, d->len);
    case DSML_DELTA_CONTENT:
        m->has_content = 1;
        return dsml_buf_add(&m->content, d->text, d->len);
    case DSML_DELTA_BLOCK:
        m->mark_block = m->content.len;
        return 0;
    case DSML_DELTA_CALL: {
        if (m->ncalls == m->cap) {
            size_t nc = m->cap ? m->cap * 2 : 4;
            dsml_call *c = realloc(m->calls, nc * sizeof *c);
            if (!c) return -1;
            m->calls = c;
            m->cap = nc;
        }
        m->mark_invoke = m->content.len;
        m->open_call = 1;
        dsml_call *c = &m->calls[m->ncalls++];
        memset(c, 0, sizeof *c);
        memcpy(c->id, d->id, strlen(d->id) + 1);
        return dsml_buf_add(&c->name, d->name, d->name_len) ||
               dsml_buf_reserve(&c->arguments, 0);
    }
    case DSML_DELTA_ARGS:
        return dsml_buf_add(&m->calls[m->ncalls - 1].arguments, d->text, d->len);
    case DSML_DELTA_CALL_END:
        m->calls[m->ncalls - 1].complete = 1;
        m->open_call = 0;
        return 0;
    case DSML_DELTA_FINISH:
        m->finish = d->finish;
        return 0;
    }
    return 0;
}

static int all_ws(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

int dsml_message_finish(dsml_message *m, const dsml_result *r, const char *tail, size_t tail_len)
{
    m->result = *r;
    if (r->status != DSML_INCOMPLETE) return 0;
    /* the cut-off element leaves the calls; its raw text goes back to the content */
    size_t mark = m->content.len;
    int was_open = m->open_call;
    if (was_open) {
        dsml_call *last = &m->calls[--m->ncalls];
        dsml_buf_free(&last->name);
        dsml_buf_free(&last->arguments);
        m->open_call = 0;
    }
    if (r->calls == 0) mark = m->mark_block;
    else if (was_open) mark = m->mark_invoke;
    if (mark < m->content.len) m->content.len = mark, m->content.data[mark] = 0;
    if (tail && tail_len && !all_ws(tail, tail_len)) {
        m->has_content = 1;
        if (dsml_buf_add(&m->content, tail, tail_len)) return -1;
    }
    return 0;
}

dsml_code dsml_parse_message(const char *text, size_t len, const dsml_oai_options *opts,
                             size_t chunk, dsml_message *m)
{
    memset(m, 0, sizeof *m);
    dsml_oai *o = dsml_oai_new(opts, dsml_message_on_delta, m);
    if (!o) return DSML_E_NOMEM;
    m->has_reasoning = (o->opt.parse.flags & DSML_THINKING) != 0;
    dsml_code c = DSML_OK;
    if (!chunk) chunk = len ? len : 1;
    for (size_t i = 0; i < len && c == DSML_OK; i += chunk)
        c = dsml_oai_feed(o, text + i, len - i < chunk ? len - i : chunk);
    dsml_code f = dsml_oai_finish(o);
    if (c == DSML_OK) c = f;
    const dsml_result *r = dsml_oai_result(o);
    uint64_t at = r->incomplete_at < len ? r->incomplete_at : len;
    /* (text may be NULL for an empty input: no pointer arithmetic on it then) */
    if (dsml_message_finish(m, r, len ? text + at : NULL, len - (size_t)at)) c = DSML_E_NOMEM;
    dsml_oai_free(o);
    if (m->content.oom || m->reasoning.oom) c = DSML_E_NOMEM;
    return c;
}

void dsml_message_free(dsml_message *m)
{
    dsml_buf_free(&m->content);
    dsml_buf_free(&m->reasoning);
    for (size_t i = 0; i < m->ncalls; i++) {
        dsml_buf_free(&m->calls[i].name);
        dsml_buf_free(&m->calls[i].arguments);
    }
    free(m->calls);
    memset(m, 0, sizeof *m);
}

static void json_str(dsml_buf *out, const char *s, size_t n)
{
    dsml_buf_putc(out, '"');
    dsml_json_escape(s ? s : "", n, out);
    dsml_buf_putc(out, '"');
}

int dsml_message_json(const dsml_message *m, dsml_buf *out)
{
    dsml_buf_puts(out, "{\"role\":\"assistant\",\"content\":");
    if (m->has_content && m->content.len) json_str(out, m->content.data, m->content.len);
    else dsml_buf_puts(out, "null");
    if (m->has_reasoning) {
        dsml_buf_puts(out, ",\"reasoning_content\":");
        json_str(out, m->reasoning.data, m->reasoning.len);
    }
    if (m->ncalls) {
        dsml_buf_puts(out, ",\"tool_calls\":[");
        for (size_t i = 0; i < m->ncalls; i++) {
            const dsml_call *c = &m->calls[i];
            if (i) dsml_buf_putc(out, ',');
            dsml_buf_puts(out, "{\"id\":");
            json_str(out, c->id, strlen(c->id));
            dsml_buf_puts(out, ",\"type\":\"function\",\"function\":{\"name\":");
            json_str(out, c->name.data, c->name.len);
            dsml_buf_puts(out, ",\"arguments\":");
            json_str(out, c->arguments.data, c->arguments.len);
            dsml_buf_puts(out, "}}");
        }
        dsml_buf_putc(out, ']');
    }
    dsml_buf_putc(out, '}');
    return out->oom ? -1 : 0;
}
