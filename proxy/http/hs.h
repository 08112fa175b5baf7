/*
 * hs.h - the HTTP serving layer shared by dsml-proxy and the engine's server.
 *
 * A thin layer over libevent's evhttp that owns what every OpenAI-style server needs and
 * nothing specific to one of them: routing by method and exact path (JSON 404 / 405
 * otherwise), request limits (body size, header size, concurrent requests, idle time;
 * JSON 413 / 431 / 503),
 * JSON error bodies in the OpenAI shape, Server-Sent-Events responses with backpressure
 * and client-disconnect notification, and one access-log line per request.
 *
 * Lifecycle of a request: the handler receives an hs_req and must finish it exactly once,
 * now or later, with hs_reply*() or hs_sse_begin() ... hs_sse_end(). If the client goes
 * away first, the on_close callback set with hs_req_on_close() runs (once); the owner must
 * still finish the request (any hs_reply / hs_sse_end call; writes after a close are
 * dropped), which releases it. After the finishing call the hs_req pointer is invalid.
 *
 * Threading: one event loop, one thread. Nothing here blocks.
 */
#ifndef HS_H
#define HS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_server hs_server;
typedef struct hs_req hs_req;

/* Limits and logging. Zero fields take the defaults shown. */
typedef struct hs_options {
    size_t max_body;          /* request body bytes; larger -> 413. Default 8 MiB */
    size_t max_headers;       /* request line + headers bytes; larger -> 431. 64 KiB.
                                 Both answered in JSON up to a hard cap of the limit plus
                                 max(limit, 64 KiB); beyond it, or for a request evhttp
                                 cannot parse, evhttp answers itself (413/400, HTML) */
    unsigned max_active;      /* requests being served at once; more -> 503. Default 8192 */
    unsigned idle_timeout_s;  /* client connection without progress (reading a request,
                                 or not reading our output) is closed. Default 300 */
    size_t write_high;        /* output bytes queued to one client above which
                                 hs_req_congested() says so. Default 256 KiB */
    void *log;                /* FILE * for the access log; NULL = stderr */
    int quiet;                /* no access log */
} hs_options;

typedef void (*hs_handler)(hs_req *r, void *ud);

/* Create a server on base. Returns NULL on failure (out of memory). */
hs_server *hs_server_new(struct event_base *base, const hs_options *o);

/* Listen on host:port (port 0 = any free port). *bound_port receives the port actually
 * bound (may be NULL). Returns 0, or -1 with errno set. May be called more than once. */
int hs_server_listen(hs_server *s, const char *host, int port, int *bound_port);

/* Route method ("GET", "POST") + exact path to fn. Paths not routed get a JSON 404; a path
 * routed for another method gets a JSON 405. Returns 0 or -1 (out of memory). */
int hs_route(hs_server *s, const char *method, const char *path, hs_handler fn, void *ud);

/* Stop listening and free the server. Requests still open are aborted. */
void hs_server_free(hs_server *s);

/* Requests currently being served (routed and not yet finished). */
unsigned hs_server_active(const hs_server *s);

/* ------------------------------------------------------------------------------------ */
/* Request accessors: valid until the request is finished.                               */

const char *hs_req_method(const hs_req *r);
/* The path without the query string ("/v1/models"). */
const char *hs_req_path(const hs_req *r);
/* A request header (case-insensitive name), or NULL. */
const char *hs_req_header(const hs_req *r, const char *name);
/* The request body, contiguous and NUL-terminated (the NUL not counted in *len). Call
 * at most once per request. */
const char *hs_req_body(hs_req *r, size_t *len);
/* Monotonic microseconds at which the request was received. */
uint64_t hs_req_start_us(const hs_req *r);
/* Nonzero once the client has gone away (writes are then dropped). */
int hs_req_closed(const hs_req *r);

/* Call fn(ud) once if the client disconnects before the request is finished. Detected
 * early (peer close on the socket), not only at the next write. */
void hs_req_on_close(hs_req *r, void (*fn)(void *ud), void *ud);

/* Append "key=value" fields to this request's access-log line (printf format; pieces are
 * separated by a space). */
void hs_req_log(hs_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Monotonic clock in microseconds (for callers measuring upstream time). */
uint64_t hs_now_us(void);

/* ------------------------------------------------------------------------------------ */
/* Replies. Each finishes the request.                                                   */

/* A complete response with the given body (copied). content_type NULL = application/json. */
void hs_reply(hs_req *r, int status, const char *content_type, const char *body, size_t len);

/* An OpenAI-shaped error body:
 *   {"error":{"message":<msg>,"type":<type>,"param":null,"code":<code or null>}}
 * type is e.g. "invalid_request_error", "upstream_error"; code may be NULL. */
void hs_reply_error(hs_req *r, int status, const char *type, const char *code,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Write an OpenAI-shaped error object (as above, no trailing newline) into a malloc'd
 * NUL-terminated string (for SSE error events). Returns NULL when out of memory. */
char *hs_error_json(const char *type, const char *code, const char *message);

/* ------------------------------------------------------------------------------------ */
/* Server-Sent Events. hs_sse_begin sends the status line and headers
 * (text/event-stream, no-cache, chunked). hs_sse_write queues bytes (already framed by the
 * caller, e.g. "data: {...}\n\n"); hs_sse_flush sends what was queued as one HTTP chunk,
 * written to the socket at once (one writev, no event-loop round trip) when nothing sent
 * earlier is still waiting, else after it. hs_sse_end flushes and terminates the response
 * (finishing the request). */

void hs_sse_begin(hs_req *r, int status);
int hs_sse_write(hs_req *r, const char *data, size_t len);
void hs_sse_flush(hs_req *r);
void hs_sse_end(hs_req *r);
/* Nonzero while more than write_high bytes wait to be written to this client. When it
 * turns zero again, the drain callback runs (set with hs_req_on_drain). */
int hs_req_congested(const hs_req *r);
void hs_req_on_drain(hs_req *r, void (*fn)(void *ud), void *ud);

/* Small helpers for handlers. */

/* Escape s (len bytes, UTF-8) as a JSON string body (no quotes) into a growing malloc'd
 * buffer *out of *cap bytes at *used. Returns 0 or -1. */
int hs_json_escape(char **out, size_t *used, size_t *cap, const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* HS_H */
