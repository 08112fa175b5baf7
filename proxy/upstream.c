/*
 * upstream.c - libcurl multi interface on the libevent loop (see upstream.h).
 *
 * curl tells us which sockets to watch (socket callback) and when to call it back (timer
 * callback); we translate both into libevent events and call curl_multi_socket_action()
 * when they fire, then collect finished transfers with curl_multi_info_read().
 *
 * Invariants:
 *   - a proxy_xfer lives from proxy_up_request() until on_done returns or it is cancelled;
 *   - curl forbids removing an easy handle from inside its own callbacks, so a cancel that
 *     arrives during one (x->in_cb) only marks the transfer; the write callback then aborts
 *     it and it is freed silently when curl reports it finished.
 */
#include "upstream.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

struct proxy_up {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    proxy_up_options o;
    unsigned active;
    struct proxy_xfer *xfers;   /* every live transfer (proxy_up_free frees them) */
};

struct proxy_xfer {
    proxy_up *u;
    struct proxy_xfer *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    proxy_xfer_callbacks cb;
    void *ud;
    int status_sent;
    int in_cb;
    int cancelled;
    int aborted;
    int paused;
};

typedef struct sockinfo {
    struct event *ev;
    curl_socket_t fd;
} sockinfo;

const char *proxy_up_strerror(proxy_up_result r)
{
    switch (r) {
    case PROXY_UP_OK: return "ok";
    case PROXY_UP_CONNECT: return "upstream unreachable";
    case PROXY_UP_TIMEOUT: return "upstream timed out";
    case PROXY_UP_BROKEN: return "upstream connection broken";
    case PROXY_UP_ABORTED: return "aborted";
    case PROXY_UP_OTHER: return "upstream transfer failed";
    }
    return "?";
}

static void xfer_free(proxy_xfer *x)
{
    curl_multi_remove_handle(x->u->multi, x->easy);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    x->u->active--;
    if (x->prev)
        x->prev->next = x->next;
    else
        x->u->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    free(x);
}

static void report_status(proxy_xfer *x)
{
    if (x->status_sent)
        return;
    x->status_sent = 1;
    long code = 0;
    char *ct = NULL;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
    if (x->cb.on_status) {
        x->in_cb = 1;
        x->cb.on_status(x->ud, (int)code, ct);
        x->in_cb = 0;
    }
}

static void check_done(proxy_up *u)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(u->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        proxy_xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode rc = m->data.result;
        if (!x)
            continue;
        if (x->cancelled) {
            xfer_free(x);
            continue;
        }
        proxy_up_result res;
        const char *detail = curl_easy_strerror(rc);
        switch (rc) {
        case CURLE_OK: res = PROXY_UP_OK; break;
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY: res = PROXY_UP_CONNECT; break;
        case CURLE_OPERATION_TIMEDOUT: res = PROXY_UP_TIMEOUT; break;
        case CURLE_WRITE_ERROR: res = x->aborted ? PROXY_UP_ABORTED : PROXY_UP_OTHER; break;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2_STREAM:
        case CURLE_WEIRD_SERVER_REPLY: res = PROXY_UP_BROKEN; break;
        default: res = PROXY_UP_OTHER; break;
        }
        if (res == PROXY_UP_OK || res == PROXY_UP_BROKEN)
            report_status(x);
        if (x->cancelled) { /* cancelled from on_status */
            xfer_free(x);
            continue;
        }
        if (x->cb.on_done)
            x->cb.on_done(x->ud, res, detail);
        xfer_free(x);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    proxy_up *u = arg;
    int flags = 0, running = 0;
    if (what & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(u->multi, fd, flags, &running);
    check_done(u);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    proxy_up *u = arg;
    int running = 0;
    curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(u);
}

static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    proxy_up *u = userp;
    sockinfo *si = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (si) {
            event_free(si->ev);
            free(si);
            curl_multi_assign(u->multi, s, NULL);
        }
        return 0;
    }
    short kind = EV_PERSIST;
    if (what & CURL_POLL_IN)
        kind |= EV_READ;
    if (what & CURL_POLL_OUT)
        kind |= EV_WRITE;
    if (!si) {
        si = calloc(1, sizeof *si);
        if (!si)
            return -1;
        si->fd = s;
        curl_multi_assign(u->multi, s, si);
    } else {
        event_free(si->ev);
    }
    si->ev = event_new(u->base, s, kind, on_socket_event, u);
    if (!si->ev)
        return -1;
    event_add(si->ev, NULL);
    return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    proxy_up *u = userp;
    if (timeout_ms < 0) {
        evtimer_del(u->timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(u->timer, &tv);
    return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    proxy_xfer *x = ud;
    size_t n = size * nmemb;
    if (x->cancelled)
        return 0;
    report_status(x);
    if (x->cancelled)
        return 0;
    if (!x->cb.on_body)
        return n;
    x->in_cb = 1;
    int r = x->cb.on_body(x->ud, ptr, n);
    x->in_cb = 0;
    if (x->cancelled)
        return 0;
    if (r < 0) {
        x->aborted = 1;
        return 0;
    }
    if (r > 0) {
        x->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    return n;
}

proxy_up *proxy_up_new(struct event_base *base, const proxy_up_options *o)
{
    static int global_done;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
            return NULL;
        global_done = 1;
    }
    proxy_up *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    if (o)
        u->o = *o;
    if (!u->o.connect_timeout_ms)
        u->o.connect_timeout_ms = 10000;
    if (!u->o.idle_timeout_ms)
        u->o.idle_timeout_ms = 600000;
    if (!u->o.total_timeout_ms)
        u->o.total_timeout_ms = 3600000;
    if (!u->o.recv_buffer)
        u->o.recv_buffer = 16384;
    u->base = base;
    u->multi = curl_multi_init();
    u->timer = evtimer_new(base, on_timer, u);
    if (!u->multi || !u->timer) {
        proxy_up_free(u);
        return NULL;
    }
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, 256L);
    return u;
}

void proxy_up_free(proxy_up *u)
{
    if (!u)
        return;
    while (u->xfers)
        xfer_free(u->xfers); /* no callbacks */
    if (u->multi)
        curl_multi_cleanup(u->multi);
    if (u->timer)
        event_free(u->timer);
    free(u);
}

/* Append a header line to the transfer's list. Returns 1, or 0 when out of memory. */
static int add_header(proxy_xfer *x, const char *line)
{
    struct curl_slist *l = curl_slist_append(x->headers, line);
    if (!l)
        return 0;
    x->headers = l;
    return 1;
}

proxy_xfer *proxy_up_request(proxy_up *u, const char *method, const char *url,
                             const char *const *headers, const char *body, size_t body_len,
                             const proxy_xfer_callbacks *cb, void *ud)
{
    proxy_xfer *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->u = u;
    x->cb = *cb;
    x->ud = ud;
    x->easy = curl_easy_init();
    if (!x->easy) {
        free(x);
        return NULL;
    }
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, u->o.connect_timeout_ms);
    if (u->o.total_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, u->o.total_timeout_ms);
    long idle_s = (u->o.idle_timeout_ms + 999) / 1000;
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, idle_s > 0 ? idle_s : 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, u->o.recv_buffer);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    int ok = add_header(x, "Expect:");
    for (size_t i = 0; ok && headers && headers[i]; i++)
        ok = add_header(x, headers[i]);
    if (body && ok)
        ok = add_header(x, "Content-Type: application/json");
    if (!ok) {
        curl_easy_cleanup(e);
        curl_slist_free_all(x->headers);
        free(x);
        return NULL;
    }
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
    }
    if (strcmp(method, "GET") != 0 && !body) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    if (curl_multi_add_handle(u->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        curl_slist_free_all(x->headers);
        free(x);
        return NULL;
    }
    u->active++;
    x->next = u->xfers;
    if (u->xfers)
        u->xfers->prev = x;
    u->xfers = x;
    return x;
}

void proxy_xfer_cancel(proxy_xfer *x)
{
    if (!x || x->cancelled)
        return;
    x->cancelled = 1;
    if (x->in_cb)
        return; /* the write callback aborts it; freed in check_done */
    xfer_free(x);
}

void proxy_xfer_resume(proxy_xfer *x)
{
    if (!x || !x->paused || x->cancelled)
        return;
    x->paused = 0;
    curl_easy_pause(x->easy, CURLPAUSE_CONT);
}

unsigned proxy_up_active(const proxy_up *u) { return u->active; }
