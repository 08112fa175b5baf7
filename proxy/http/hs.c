/*
 * hs.c - HTTP serving layer over libevent's evhttp (see hs.h).
 *
 * Owns: routing, limits, JSON error bodies, SSE responses, disconnect detection, the
 * access log. Knows nothing about what the handlers do.
 *
 * Invariants:
 *   - every routed request has exactly one hs_req, freed by the finishing call;
 *   - SSE chunks go straight to the socket (one writev per flush, no event-loop round trip
 *     and no write-event registration) whenever the connection's output buffer is empty;
 *     otherwise, or for what the socket did not take, they are appended to that buffer and
 *     libevent writes them, in order. A watcher on the buffer reports it drained; it is
 *     removed while the connection still exists (finish, or the close notifications);
 *   - r->ev is the evhttp request until finish; after the client went away evhttp either
 *     detached it (write error / timeout: evhttp_request_get_connection() is NULL, and the
 *     finishing evhttp_send_* call frees it) or it is still attached to a connection that
 *     we free ourselves at finish (peer close seen early through EV_CLOSED);
 *   - the connection's close callback points at the hs_req only while it is open; when it
 *     runs with the request still attached, evhttp is freeing both (hs_server_free with
 *     requests in flight): the request is then finished without another evhttp call.
 *
 * Limits: libevent 2.1 answers requests over its own limits itself, with an HTML page, and
 * has no hook to run before it does (evhttp_set_newreqcb, which would let a header callback
 * be installed on incoming requests, came with 2.2). So evhttp gets higher hard caps (the
 * limit plus the larger of the limit and 64 KiB) and the limits are enforced here, before
 * routing: request line + headers over max_headers -> 431, a body over max_body -> 413,
 * both JSON. Only a request beyond the hard caps, or one whose request line or headers
 * evhttp cannot parse, still gets evhttp's own 413/400 page.
 */
#include "hs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

typedef struct route {
    char *method, *path;
    hs_handler fn;
    void *ud;
} route;

struct hs_server {
    struct event_base *base;
    struct evhttp *http;
    hs_options o;
    FILE *log;
    route *routes;
    size_t nroutes, cap;
    unsigned active;
};

struct hs_req {
    hs_server *s;
    struct evhttp_request *ev;
    struct evhttp_connection *conn;
    struct event *close_ev;         /* EV_CLOSED watcher on the client socket */
    char method[8];
    char *path;
    uint64_t start_us;
    int status;
    int closed;
    int sse;                        /* hs_sse_begin called */
    int counted;                    /* counts toward s->active */
    int ev_dying;                   /* evhttp frees ev with its connection: never touch it */
    struct evbuffer *pending;       /* SSE bytes queued, not yet a chunk */
    struct evbuffer *out;           /* SSE: the connection's output buffer */
    struct evbuffer_cb_entry *out_cb; /* SSE: drain watcher on out (see hs_sse_flush) */
    evutil_socket_t fd;             /* SSE: the client socket */
    int direct;                     /* SSE: chunks may be written to fd directly */
    int chunked;                    /* SSE: chunked transfer encoding (HTTP/1.1) */
    void (*on_close)(void *);
    void *close_ud;
    void (*on_drain)(void *);
    void *drain_ud;
    int congested;
    char *logx;                     /* extra access-log fields */
    size_t logx_len;
};

/* ===================================================================================== */
/* Small utilities                                                                       */
/* ===================================================================================== */

uint64_t hs_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int grow(char **out, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    char *p = realloc(*out, n);
    if (!p)
        return -1;
    *out = p;
    *cap = n;
    return 0;
}

int hs_json_escape(char **out, size_t *used, size_t *cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (grow(out, cap, *used + 7) < 0)
            return -1;
        char *o = *out + *used;
        if (c == '"' || c == '\\') {
            o[0] = '\\';
            o[1] = (char)c;
            *used += 2;
        } else if (c < 0x20) {
            const char *e = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
            if (e) {
                memcpy(o, e, 2);
                *used += 2;
            } else {
                memcpy(o, "\\u00", 4);
                o[4] = hex[c >> 4];
                o[5] = hex[c & 15];
                *used += 6;
            }
        } else {
            o[0] = (char)c;
            *used += 1;
        }
    }
    if (grow(out, cap, *used + 1) < 0)
        return -1;
    (*out)[*used] = 0;
    return 0;
}

static int append(char **out, size_t *used, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (grow(out, cap, *used + n + 1) < 0)
        return -1;
    memcpy(*out + *used, s, n + 1);
    *used += n;
    return 0;
}

char *hs_error_json(const char *type, const char *code, const char *message)
{
    char *o = NULL;
    size_t used = 0, cap = 0;
    int bad = append(&o, &used, &cap, "{\"error\":{\"message\":\"") ||
              hs_json_escape(&o, &used, &cap, message, strlen(message)) ||
              append(&o, &used, &cap, "\",\"type\":\"") ||
              hs_json_escape(&o, &used, &cap, type, strlen(type)) ||
              append(&o, &used, &cap, "\",\"param\":null,\"code\":");
    if (!bad && code) {
        bad = append(&o, &used, &cap, "\"") || hs_json_escape(&o, &used, &cap, code, strlen(code)) ||
              append(&o, &used, &cap, "\"");
    } else if (!bad) {
        bad = append(&o, &used, &cap, "null");
    }
    if (bad || append(&o, &used, &cap, "}}")) {
        free(o);
        return NULL;
    }
    return o;
}

/* ===================================================================================== */
/* Request finishing and logging                                                         */
/* ===================================================================================== */

static void access_log(hs_req *r)
{
    hs_server *s = r->s;
    if (s->o.quiet)
        return;
    time_t now = time(NULL);
    struct tm tm;
    char ts[32];
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    double ms = (double)(hs_now_us() - r->start_us) / 1000.0;
    fprintf(s->log, "%s %s %s %d %.1fms%s%s%s\n", ts, r->method, r->path ? r->path : "-",
            r->status, ms, r->logx ? " " : "", r->logx ? r->logx : "",
            r->closed ? " client=gone" : "");
    fflush(s->log);
}

static void req_free(hs_req *r)
{
    if (r->close_ev)
        event_free(r->close_ev);
    if (r->pending)
        evbuffer_free(r->pending);
    if (r->counted)
        r->s->active--;
    free(r->path);
    free(r->logx);
    free(r);
}

static void unwatch_output(hs_req *r)
{
    if (r->out_cb) {
        evbuffer_remove_cb_entry(r->out, r->out_cb);
        r->out_cb = NULL;
    }
    r->direct = 0;
}

/* Detach from the connection before the evhttp call that may free it. Returns the
 * connection when the request is still attached to it, else NULL. */
static struct evhttp_connection *detach(hs_req *r)
{
    if (r->ev_dying)
        return NULL;
    struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
    if (c) {
        evhttp_connection_set_closecb(c, NULL, NULL);
        unwatch_output(r);
    }
    if (r->close_ev) {
        event_free(r->close_ev);
        r->close_ev = NULL;
    }
    return c;
}

/* The client is gone but the request is still attached (peer close seen early): free the
 * connection, which frees the evhttp request too. */
static void drop_attached(hs_req *r, struct evhttp_connection *c)
{
    evhttp_connection_free(c);
    r->ev = NULL;
}

static void on_conn_close(struct evhttp_connection *c, void *arg)
{
    hs_req *r = arg;
    if (r->closed)
        return;
    r->closed = 1;
    /* Still attached: evhttp is freeing the connection with this request on it (the
     * server is being freed); it frees the request right after this callback. */
    if (evhttp_request_get_connection(r->ev) == c)
        r->ev_dying = 1;
    unwatch_output(r); /* the connection (and its buffers) is being freed */
    if (r->close_ev) {
        event_free(r->close_ev);
        r->close_ev = NULL;
    }
    evhttp_connection_set_closecb(c, NULL, NULL);
    if (r->on_close)
        r->on_close(r->close_ud);
}

static void on_peer_closed(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hs_req *r = arg;
    if (r->closed)
        return;
    r->closed = 1;
    unwatch_output(r);
    if (r->conn)
        evhttp_connection_set_closecb(r->conn, NULL, NULL);
    if (r->on_close)
        r->on_close(r->close_ud);
}

/* ===================================================================================== */
/* Replies                                                                               */
/* ===================================================================================== */

void hs_reply(hs_req *r, int status, const char *content_type, const char *body, size_t len)
{
    r->status = status;
    access_log(r);
    struct evhttp_connection *c = detach(r);
    if (r->ev_dying || (r->closed && c)) {
        if (c)
            drop_attached(r, c);
        req_free(r);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    evhttp_add_header(h, "Content-Type", content_type ? content_type : "application/json");
    struct evbuffer *b = evbuffer_new();
    if (b)
        evbuffer_add(b, body, len);
    evhttp_send_reply(r->ev, status, NULL, b);
    if (b)
        evbuffer_free(b);
    req_free(r);
}

void hs_reply_error(hs_req *r, int status, const char *type, const char *code, const char *fmt,
                    ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *j = hs_error_json(type, code, msg);
    hs_req_log(r, "error=%s", code ? code : type);
    if (j) {
        hs_reply(r, status, NULL, j, strlen(j));
        free(j);
    } else {
        hs_reply(r, status, NULL, "{}", 2);
    }
}

static void on_output(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg);

void hs_sse_begin(hs_req *r, int status)
{
    r->status = status;
    r->sse = 1;
    if (r->closed)
        return;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "X-Accel-Buffering", "no");
    evhttp_send_reply_start(r->ev, status, NULL);
    struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
    struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
    const char *te = evhttp_find_header(h, "Transfer-Encoding");
    r->chunked = te && !evutil_ascii_strcasecmp(te, "chunked");
    if (bev && strcmp(r->method, "HEAD") != 0) {
        r->out = bufferevent_get_output(bev);
        r->fd = bufferevent_getfd(bev);
        /* one write per flush, sent at once (Linux also inherits this from the listener) */
        int one = 1;
        if (r->fd >= 0)
            setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        r->out_cb = r->fd >= 0 ? evbuffer_add_cb(r->out, on_output, r) : NULL;
        r->direct = r->out_cb != NULL;
    }
}

int hs_sse_write(hs_req *r, const char *data, size_t len)
{
    if (r->closed)
        return 0;
    if (!r->pending && !(r->pending = evbuffer_new()))
        return -1;
    return evbuffer_add(r->pending, data, len);
}

static void drained(hs_req *r)
{
    if (r->congested) {
        r->congested = 0;
        if (r->on_drain)
            r->on_drain(r->drain_ud);
    }
}

static void on_written(struct evhttp_connection *c, void *arg)
{
    (void)c;
    drained(arg);
}

/* The output buffer changed (libevent wrote some of it, or bytes were appended). */
static void on_output(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
    if (info->n_deleted && evbuffer_get_length(b) == 0)
        drained(arg);
}

void hs_sse_flush(hs_req *r)
{
    if (r->closed || !r->pending || evbuffer_get_length(r->pending) == 0)
        return;
    struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
    if (!c)
        return;
    if (r->direct) {
        if (r->chunked) {
            char head[24];
            int hl = snprintf(head, sizeof head, "%zx\r\n", evbuffer_get_length(r->pending));
            evbuffer_prepend(r->pending, head, (size_t)hl);
            evbuffer_add(r->pending, "\r\n", 2);
        }
        /* Nothing queued before it: write now. A hard error is left for libevent's own
         * write to find and report (the close callback then runs). */
        if (evbuffer_get_length(r->out) == 0 && evbuffer_write(r->pending, r->fd) < 0 &&
            errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            r->direct = 0;
        if (evbuffer_get_length(r->pending) == 0)
            return;
        evbuffer_add_buffer(r->out, r->pending);
        if (evbuffer_get_length(r->out) > r->s->o.write_high)
            r->congested = 1;
        return;
    }
    evhttp_send_reply_chunk_with_cb(r->ev, r->pending, on_written, r);
    struct bufferevent *bev = evhttp_connection_get_bufferevent(c);
    if (bev && evbuffer_get_length(bufferevent_get_output(bev)) > r->s->o.write_high)
        r->congested = 1;
}

void hs_sse_end(hs_req *r)
{
    hs_sse_flush(r);
    access_log(r);
    struct evhttp_connection *c = detach(r);
    if (r->closed && c)
        drop_attached(r, c);
    else if (!r->ev_dying)
        evhttp_send_reply_end(r->ev); /* detached: this frees it */
    req_free(r);
}

int hs_req_congested(const hs_req *r)
{
    return r->congested && !r->closed;
}

void hs_req_on_drain(hs_req *r, void (*fn)(void *), void *ud)
{
    r->on_drain = fn;
    r->drain_ud = ud;
}

/* ===================================================================================== */
/* Request accessors                                                                     */
/* ===================================================================================== */

const char *hs_req_method(const hs_req *r) { return r->method; }
const char *hs_req_path(const hs_req *r) { return r->path ? r->path : ""; }
uint64_t hs_req_start_us(const hs_req *r) { return r->start_us; }
int hs_req_closed(const hs_req *r) { return r->closed; }

const char *hs_req_header(const hs_req *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const char *hs_req_body(hs_req *r, size_t *len)
{
    struct evbuffer *b = evhttp_request_get_input_buffer(r->ev);
    size_t n = evbuffer_get_length(b);
    /* NUL-terminate in place; the body is not read through evhttp again, so the extra
     * byte stays in the buffer and is simply not counted. Call once per request. */
    evbuffer_add(b, "", 1);
    const char *p = (const char *)evbuffer_pullup(b, -1);
    *len = n;
    return p;
}

void hs_req_on_close(hs_req *r, void (*fn)(void *), void *ud)
{
    r->on_close = fn;
    r->close_ud = ud;
}

void hs_req_log(hs_req *r, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof tmp)
        n = sizeof tmp - 1;
    size_t cap = r->logx ? r->logx_len + 1 : 0;
    if (r->logx_len && grow(&r->logx, &cap, r->logx_len + 2) == 0) {
        r->logx[r->logx_len++] = ' ';
        r->logx[r->logx_len] = 0;
    }
    cap = r->logx ? r->logx_len + 1 : 0;
    if (grow(&r->logx, &cap, r->logx_len + (size_t)n + 1) < 0)
        return;
    memcpy(r->logx + r->logx_len, tmp, (size_t)n + 1);
    r->logx_len += (size_t)n;
}

/* ===================================================================================== */
/* Dispatch                                                                              */
/* ===================================================================================== */

static const char *method_name(enum evhttp_cmd_type c)
{
    switch (c) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "?";
}

/* Bytes of the request line and headers as sent (CRLF line ends), without the body. */
static size_t header_bytes(struct evhttp_request *ev, const char *method)
{
    const char *uri = evhttp_request_get_uri(ev);
    size_t n = strlen(method) + 1 + (uri ? strlen(uri) : 0) + 1 + 8 + 2 + 2;
    const struct evkeyvalq *q = evhttp_request_get_input_headers(ev);
    for (const struct evkeyval *h = q->tqh_first; h; h = h->next.tqe_next)
        n += strlen(h->key) + 2 + strlen(h->value) + 2;
    return n;
}

static void dispatch(struct evhttp_request *ev, void *arg)
{
    hs_server *s = arg;
    hs_req *r = calloc(1, sizeof *r);
    if (!r) {
        static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,\"code\":null}}";
        struct evbuffer *b = evbuffer_new();
        if (b)
            evbuffer_add_reference(b, oom, sizeof oom - 1, NULL, NULL);
        evhttp_add_header(evhttp_request_get_output_headers(ev), "Content-Type", "application/json");
        evhttp_send_reply(ev, 503, "Service Unavailable", b);
        if (b)
            evbuffer_free(b);
        return;
    }
    r->s = s;
    r->ev = ev;
    r->start_us = hs_now_us();
    r->status = 0;
    snprintf(r->method, sizeof r->method, "%s", method_name(evhttp_request_get_command(ev)));
    r->conn = evhttp_request_get_connection(ev);

    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(ev);
    const char *p = u ? evhttp_uri_get_path(u) : NULL;
    r->path = strdup(p && *p ? p : "/");
    if (!r->path) {
        hs_reply_error(r, 503, "server_error", NULL, "out of memory");
        return;
    }
    if (r->conn) {
        evhttp_connection_set_closecb(r->conn, on_conn_close, r);
        struct bufferevent *bev = evhttp_connection_get_bufferevent(r->conn);
        evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
        if (fd >= 0 && (event_base_get_features(s->base) & EV_FEATURE_EARLY_CLOSE)) {
            r->close_ev = event_new(s->base, fd, EV_CLOSED, on_peer_closed, r);
            if (r->close_ev)
                event_add(r->close_ev, NULL);
        }
    }

    size_t hb = header_bytes(ev, r->method);
    if (hb > s->o.max_headers) {
        hs_reply_error(r, 431, "invalid_request_error", "headers_too_large",
                       "request line and headers are %zu bytes (limit %zu)", hb, s->o.max_headers);
        return;
    }
    size_t bb = evbuffer_get_length(evhttp_request_get_input_buffer(ev));
    if (bb > s->o.max_body) {
        hs_reply_error(r, 413, "invalid_request_error", "body_too_large",
                       "request body is %zu bytes (limit %zu)", bb, s->o.max_body);
        return;
    }

    int path_known = 0;
    for (size_t i = 0; i < s->nroutes; i++) {
        route *rt = &s->routes[i];
        if (strcmp(rt->path, r->path) != 0)
            continue;
        path_known = 1;
        if (strcmp(rt->method, r->method) != 0)
            continue;
        if (s->active >= s->o.max_active) {
            hs_reply_error(r, 503, "server_error", "overloaded",
                           "server busy: %u requests in progress (limit %u)", s->active,
                           s->o.max_active);
            return;
        }
        s->active++;
        r->counted = 1;
        rt->fn(r, rt->ud);
        return;
    }
    if (path_known)
        hs_reply_error(r, 405, "invalid_request_error", "method_not_allowed",
                       "method %s not allowed on %s", r->method, r->path);
    else
        hs_reply_error(r, 404, "invalid_request_error", "not_found", "no route for %s %s",
                       r->method, r->path);
}

/* ===================================================================================== */
/* Server                                                                                */
/* ===================================================================================== */

/* evhttp's own limit for one of ours (see the file comment). */
static size_t hard_cap(size_t limit)
{
    size_t extra = limit > (64u << 10) ? limit : (64u << 10);
    return limit > SIZE_MAX / 4 ? limit : limit + extra;
}

hs_server *hs_server_new(struct event_base *base, const hs_options *o)
{
    hs_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (o)
        s->o = *o;
    if (!s->o.max_body)
        s->o.max_body = 8u << 20;
    if (!s->o.max_headers)
        s->o.max_headers = 64u << 10;
    if (!s->o.max_active)
        s->o.max_active = 8192;
    if (!s->o.idle_timeout_s)
        s->o.idle_timeout_s = 300;
    if (!s->o.write_high)
        s->o.write_high = 256u << 10;
    s->log = s->o.log ? (FILE *)s->o.log : stderr;
    s->base = base;
    s->http = evhttp_new(base);
    if (!s->http) {
        free(s);
        return NULL;
    }
    evhttp_set_max_body_size(s->http, (ev_ssize_t)hard_cap(s->o.max_body));
    evhttp_set_max_headers_size(s->http, (ev_ssize_t)hard_cap(s->o.max_headers));
    evhttp_set_timeout(s->http, (int)s->o.idle_timeout_s);
    /* every method evhttp can parse reaches dispatch(), which answers 404/405 in JSON */
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_default_content_type(s->http, "application/json");
    evhttp_set_gencb(s->http, dispatch, s);
    return s;
}

int hs_server_listen(hs_server *s, const char *host, int port, int *bound_port)
{
    struct evhttp_bound_socket *h = evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)port);
    if (!h)
        return -1;
    /* Streams are many small writes: no Nagle delay. Accepted sockets inherit the flag. */
    int one = 1;
    setsockopt(evhttp_bound_socket_get_fd(h), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bound_port) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        evutil_socket_t fd = evhttp_bound_socket_get_fd(h);
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
            return -1;
        if (ss.ss_family == AF_INET)
            *bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        else
            *bound_port = port;
    }
    return 0;
}

int hs_route(hs_server *s, const char *method, const char *path, hs_handler fn, void *ud)
{
    if (s->nroutes == s->cap) {
        size_t n = s->cap ? s->cap * 2 : 8;
        route *p = realloc(s->routes, n * sizeof *p);
        if (!p)
            return -1;
        s->routes = p;
        s->cap = n;
    }
    route *rt = &s->routes[s->nroutes];
    rt->method = strdup(method);
    rt->path = strdup(path);
    if (!rt->method || !rt->path) {
        free(rt->method);
        free(rt->path);
        return -1;
    }
    rt->fn = fn;
    rt->ud = ud;
    s->nroutes++;
    return 0;
}

unsigned hs_server_active(const hs_server *s) { return s->active; }

void hs_server_free(hs_server *s)
{
    if (!s)
        return;
    evhttp_free(s->http);
    for (size_t i = 0; i < s->nroutes; i++) {
        free(s->routes[i].method);
        free(s->routes[i].path);
    }
    free(s->routes);
    free(s);
}
