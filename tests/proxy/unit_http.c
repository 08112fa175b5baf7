/*
 * unit_http.c - the HTTP serving layer (proxy/http): routing, JSON 404/405, request
 * limits (body, headers, concurrent requests), SSE responses, disconnect notification.
 * The server runs on its own thread; the tests talk raw HTTP/1.1 over blocking sockets.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "http/hs.h"

static struct event_base *base;
static hs_server *srv;
static pthread_t thr;
static int port;
static hs_req *parked;          /* a request left open by h_park */
static volatile int closed_seen;

static void h_echo(hs_req *r, void *ud)
{
    (void)ud;
    size_t n;
    const char *b = hs_req_body(r, &n);
    hs_reply(r, 200, "text/plain", b, n);
}

static void h_sse(hs_req *r, void *ud)
{
    (void)ud;
    hs_sse_begin(r, 200);
    hs_sse_write(r, "data: 1\n\n", 9);
    hs_sse_flush(r);
    hs_sse_write(r, "data: [DONE]\n\n", 14);
    hs_sse_end(r);
}

static void on_park_close(void *ud)
{
    hs_req *r = ud;
    closed_seen = hs_req_closed(r) ? 1 : -1;
    hs_sse_end(r);
    parked = NULL;
}

static void h_park(hs_req *r, void *ud)
{
    (void)ud;
    hs_sse_begin(r, 200);
    hs_sse_write(r, "data: start\n\n", 13);
    hs_sse_flush(r);
    parked = r;
    hs_req_on_close(r, on_park_close, r);
}

static void *loop(void *arg)
{
    (void)arg;
    event_base_dispatch(base);
    return NULL;
}

static void start_server(void)
{
    evthread_use_pthreads();
    base = event_base_new();
    FILE *devnull = fopen("/dev/null", "w");
    hs_options o = {.max_body = 1000, .max_headers = 2048, .max_active = 2, .log = devnull};
    srv = hs_server_new(base, &o);
    hs_route(srv, "POST", "/echo", h_echo, NULL);
    hs_route(srv, "GET", "/sse", h_sse, NULL);
    hs_route(srv, "GET", "/park", h_park, NULL);
    cr_assert_eq(hs_server_listen(srv, "127.0.0.1", 0, &port), 0);
    pthread_create(&thr, NULL, loop, NULL);
}

static void stop_server(void)
{
    event_base_loopexit(base, NULL);
    pthread_join(thr, NULL);
    hs_server_free(srv);
    event_base_free(base);
}

TestSuite(http, .init = start_server, .fini = stop_server);

static int connect_srv(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Send a request, read until the server closes or `until` appears. */
static char *exchange(const char *reqtext, size_t len, const char *until)
{
    int fd = connect_srv();
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, reqtext + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    static char buf[65536];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = 0;
        if (until && strstr(buf, until))
            break;
    }
    buf[n] = 0;
    close(fd);
    return buf;
}

static char *get(const char *path, const char *until)
{
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    return exchange(req, (size_t)n, until);
}

Test(http, routed_request_gets_its_handler)
{
    const char *r = "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello";
    char *out = exchange(r, strlen(r), NULL);
    cr_assert(strstr(out, "HTTP/1.1 200"), "%s", out);
    cr_assert(strstr(out, "\r\n\r\nhello"), "%s", out);
}

Test(http, unknown_path_is_json_404)
{
    char *out = get("/nothing", NULL);
    cr_assert(strstr(out, "HTTP/1.1 404"), "%s", out);
    cr_assert(strstr(out, "Content-Type: application/json"), "%s", out);
    cr_assert(strstr(out, "{\"error\":{\"message\":\"no route for GET /nothing\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"not_found\"}}"), "%s", out);
}

Test(http, wrong_method_is_json_405)
{
    char *out = get("/echo", NULL);
    cr_assert(strstr(out, "HTTP/1.1 405"), "%s", out);
    cr_assert(strstr(out, "\"code\":\"method_not_allowed\""), "%s", out);
}

Test(http, body_over_the_limit_is_json_413)
{
    char req[4096];
    int n = snprintf(req, sizeof req, "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2000\r\n\r\n");
    memset(req + n, 'x', 2000);
    char *out = exchange(req, (size_t)n + 2000, NULL);
    cr_assert(strstr(out, "HTTP/1.1 413"), "%s", out);
    cr_assert(strstr(out, "Content-Type: application/json"), "%s", out);
    cr_assert(strstr(out, "{\"error\":{\"message\":\"request body is 2000 bytes (limit 1000)\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"body_too_large\"}}"), "%s", out);
}

Test(http, chunked_body_over_the_limit_is_json_413)
{
    char req[8192];
    int n = snprintf(req, sizeof req, "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        n += snprintf(req + n, sizeof req - (size_t)n, "258\r\n"); /* 600 bytes */
        memset(req + n, 'z', 600);
        n += 600;
        n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    }
    n += snprintf(req + n, sizeof req - (size_t)n, "0\r\n\r\n");
    char *out = exchange(req, (size_t)n, NULL);
    cr_assert(strstr(out, "HTTP/1.1 413"), "%s", out);
    cr_assert(strstr(out, "\"code\":\"body_too_large\""), "%s", out);
}

Test(http, body_beyond_the_hard_cap_is_still_413)
{
    /* evhttp answers this one itself, before reading the body (see hs.c) */
    static char req[80000];
    int n = snprintf(req, sizeof req, "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 70000\r\n\r\n");
    memset(req + n, 'x', 70000);
    char *out = exchange(req, (size_t)n + 70000, NULL);
    cr_assert(strstr(out, "HTTP/1.1 413"), "%s", out);
}

Test(http, body_at_the_limit_is_accepted)
{
    char req[4096];
    int n = snprintf(req, sizeof req, "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1000\r\n\r\n");
    memset(req + n, 'y', 1000);
    char *out = exchange(req, (size_t)n + 1000, NULL);
    cr_assert(strstr(out, "HTTP/1.1 200"), "%s", out);
}

Test(http, headers_over_the_limit_are_json_431)
{
    char req[8192];
    int n = snprintf(req, sizeof req, "GET /sse HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + n, 'h', 4000);
    n += 4000;
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\nConnection: close\r\n\r\n");
    char *out = exchange(req, (size_t)n, NULL);
    cr_assert(strstr(out, "HTTP/1.1 431"), "%s", out);
    cr_assert(strstr(out, "Content-Type: application/json"), "%s", out);
    char want[128];
    snprintf(want, sizeof want, "\"message\":\"request line and headers are %d bytes (limit 2048)\"", n);
    cr_assert(strstr(out, want), "the size as sent (%s): %s", want, out);
    cr_assert(strstr(out, "\"code\":\"headers_too_large\""), "%s", out);
}

Test(http, headers_at_the_limit_are_accepted)
{
    char req[4096];
    int n = snprintf(req, sizeof req, "GET /sse HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: ");
    int pad = 2048 - n - 4;
    memset(req + n, 'p', (size_t)pad);
    n += pad;
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n\r\n");
    cr_assert_eq(n, 2048);
    char *out = exchange(req, (size_t)n, NULL);
    cr_assert(strstr(out, "HTTP/1.1 200"), "%s", out);
}

Test(http, headers_beyond_the_hard_cap_are_still_rejected)
{
    static char req[80000];
    int n = snprintf(req, sizeof req, "GET /sse HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + n, 'h', 70000);
    n += 70000;
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\nConnection: close\r\n\r\n");
    char *out = exchange(req, (size_t)n, NULL);
    cr_assert(strstr(out, "HTTP/1.1 400"), "%s", out);
}

Test(http, any_method_on_a_routed_path_is_json_405)
{
    const char *r = "TRACE /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char *out = exchange(r, strlen(r), NULL);
    cr_assert(strstr(out, "HTTP/1.1 405"), "%s", out);
    cr_assert(strstr(out, "\"code\":\"method_not_allowed\""), "%s", out);
}

Test(http, sse_response_is_chunked_event_stream)
{
    char *out = get("/sse", NULL);
    cr_assert(strstr(out, "Content-Type: text/event-stream"), "%s", out);
    cr_assert(strstr(out, "Transfer-Encoding: chunked"), "%s", out);
    cr_assert(strstr(out, "data: 1\n\n"), "%s", out);
    cr_assert(strstr(out, "data: [DONE]\n\n"), "%s", out);
    cr_assert(strstr(out, "\r\n0\r\n\r\n"), "terminating chunk: %s", out);
}

Test(http, client_disconnect_is_reported_and_frees_the_slot)
{
    closed_seen = 0;
    int fd = connect_srv();
    const char *r = "GET /park HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(write(fd, r, strlen(r)), (ssize_t)strlen(r));
    char buf[1024];
    cr_assert_gt(read(fd, buf, sizeof buf), 0);
    cr_assert_eq(hs_server_active(srv), 1);
    close(fd);
    for (int i = 0; i < 200 && !closed_seen; i++)
        usleep(5000);
    cr_assert_eq(closed_seen, 1, "on_close ran without any write to the socket");
    for (int i = 0; i < 200 && hs_server_active(srv); i++)
        usleep(5000);
    cr_assert_eq(hs_server_active(srv), 0);
}

Test(http, requests_over_the_concurrency_limit_get_503)
{
    int a = connect_srv(), b = connect_srv();
    const char *r = "GET /park HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[1024];
    cr_assert_eq(write(a, r, strlen(r)), (ssize_t)strlen(r));
    cr_assert_gt(read(a, buf, sizeof buf), 0);
    cr_assert_eq(write(b, r, strlen(r)), (ssize_t)strlen(r));
    cr_assert_gt(read(b, buf, sizeof buf), 0);
    char *out = get("/sse", NULL);
    cr_assert(strstr(out, "HTTP/1.1 503"), "%s", out);
    cr_assert(strstr(out, "\"code\":\"overloaded\""), "%s", out);
    close(a);
    close(b);
    for (int i = 0; i < 200 && hs_server_active(srv); i++)
        usleep(5000);
    out = get("/sse", NULL);
    cr_assert(strstr(out, "HTTP/1.1 200"), "slots are released: %s", out);
}

Test(http, error_json_escapes_its_fields)
{
    char *j = hs_error_json("t\"y", NULL, "line\nbreak \\ \x01");
    cr_assert_str_eq(j, "{\"error\":{\"message\":\"line\\nbreak \\\\ \\u0001\",\"type\":\"t\\\"y\",\"param\":null,\"code\":null}}");
    free(j);
}

/* ------------------------------------------------------------------------------------ */
/* Freeing a server with requests in flight (dsml-proxy shutting down mid-request).      */

typedef struct inflight {
    hs_req *req;
    int sse;
    int closes;
} inflight;

static void on_inflight_close(void *ud)
{
    inflight *f = ud;
    f->closes++;
    if (f->sse)
        hs_sse_end(f->req);
    else
        hs_reply(f->req, 499, NULL, "{}", 2); /* what a handler does when its client leaves */
    f->req = NULL;
}

static void h_inflight(hs_req *r, void *ud)
{
    inflight *f = ud;
    f->req = r;
    if (f->sse) {
        hs_sse_begin(r, 200);
        hs_sse_write(r, "data: x\n\n", 9);
        hs_sse_flush(r);
    }
    hs_req_on_close(r, on_inflight_close, f);
}

static void *run_loop(void *b)
{
    event_base_dispatch(b);
    return NULL;
}

static void free_server_with_request_in_flight(int sse)
{
    evthread_use_pthreads(); /* the loop is stopped from this thread */
    struct event_base *b = event_base_new();
    FILE *devnull = fopen("/dev/null", "w");
    hs_options o = {.log = devnull};
    hs_server *s = hs_server_new(b, &o);
    inflight f = {.sse = sse};
    hs_route(s, "GET", "/wait", h_inflight, &f);
    int p = 0;
    cr_assert_eq(hs_server_listen(s, "127.0.0.1", 0, &p), 0);
    pthread_t t;
    pthread_create(&t, NULL, run_loop, b);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *rq = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(write(fd, rq, strlen(rq)), (ssize_t)strlen(rq));
    for (int i = 0; i < 400 && !hs_server_active(s); i++)
        usleep(5000);
    cr_assert_eq(hs_server_active(s), 1, "the request is being served");
    event_base_loopexit(b, NULL);
    pthread_join(t, NULL);
    hs_server_free(s); /* the handler finishes its request from the close callback */
    cr_assert_eq(f.closes, 1);
    cr_assert_null(f.req);
    event_base_free(b);
    close(fd);
    fclose(devnull);
}

Test(http_shutdown, freeing_the_server_finishes_a_pending_reply_once, .timeout = 30)
{
    free_server_with_request_in_flight(0);
}

Test(http_shutdown, freeing_the_server_finishes_a_pending_stream_once, .timeout = 30)
{
    free_server_with_request_in_flight(1);
}
