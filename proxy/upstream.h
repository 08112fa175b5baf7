/*
 * upstream.h - HTTP client for the upstream runtime: libcurl's multi interface driven by
 * the proxy's libevent loop (one process, one thread, any number of transfers).
 *
 * A transfer delivers the response status, then body bytes as they arrive (no buffering
 * beyond what the caller keeps), then exactly one completion call, unless it is cancelled
 * first (then nothing more is called). Timeouts: connect, total, and idle (no byte received
 * for that long); they end the transfer with PROXY_UP_TIMEOUT.
 */
#ifndef PROXY_UPSTREAM_H
#define PROXY_UPSTREAM_H

#include <stddef.h>

struct event_base;

typedef struct proxy_up proxy_up;        /* the client (one per process) */
typedef struct proxy_xfer proxy_xfer;    /* one request */

typedef enum proxy_up_result {
    PROXY_UP_OK = 0,          /* the response ended normally */
    PROXY_UP_CONNECT = 1,     /* could not connect / resolve */
    PROXY_UP_TIMEOUT = 2,     /* connect, idle or total timeout */
    PROXY_UP_BROKEN = 3,      /* connection closed or failed mid-response */
    PROXY_UP_ABORTED = 4,     /* a callback asked to stop */
    PROXY_UP_OTHER = 5,
} proxy_up_result;

typedef struct proxy_up_options {
    long connect_timeout_ms;  /* default 10 s */
    long idle_timeout_ms;     /* no bytes for this long: timeout. default 600 s */
    long total_timeout_ms;    /* whole transfer. default 3600 s; 0 = default, -1 = none */
    long recv_buffer;         /* curl receive buffer per transfer; default 16 KiB */
} proxy_up_options;

typedef struct proxy_xfer_callbacks {
    /* Response status and Content-Type (may be NULL) known; before any body byte. */
    void (*on_status)(void *ud, int status, const char *content_type);
    /* Body bytes. Return 0 when consumed; 1 to pause without consuming them (they are
     * delivered again after proxy_xfer_resume); -1 to abort (completion then reports
     * PROXY_UP_ABORTED). */
    int (*on_body)(void *ud, const char *data, size_t len);
    /* Exactly once, unless cancelled. `detail` is a static or short-lived description. */
    void (*on_done)(void *ud, proxy_up_result res, const char *detail);
} proxy_xfer_callbacks;

/* Create the client on base. Returns NULL on failure. */
proxy_up *proxy_up_new(struct event_base *base, const proxy_up_options *o);
/* Free the client (cancels every transfer without callbacks). */
void proxy_up_free(proxy_up *u);

/* Start a request. method "GET" or "POST"; headers: extra "Name: value" lines, a
 * NULL-terminated array (may be NULL), copied; body may be NULL (GET) and is copied.
 * Returns the transfer, or NULL on failure (nothing will be called). */
proxy_xfer *proxy_up_request(proxy_up *u, const char *method, const char *url,
                             const char *const *headers, const char *body, size_t body_len,
                             const proxy_xfer_callbacks *cb, void *ud);
/* Stop a transfer now (e.g. the client went away); no callback fires afterwards. */
void proxy_xfer_cancel(proxy_xfer *x);
/* Resume a transfer paused by on_body returning 1. */
void proxy_xfer_resume(proxy_xfer *x);
/* Transfers in flight. */
unsigned proxy_up_active(const proxy_up *u);
/* Description of a result. */
const char *proxy_up_strerror(proxy_up_result r);

#endif
