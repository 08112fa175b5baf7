/*
 * load.c - load generator for the dsml-proxy benchmark (one process, one libevent loop).
 *
 *   proxy-load lat  PORT STREAMS PIECES DELAY_MS   per-piece latency of streamed content
 *   proxy-load rps  PORT CONCURRENCY SECONDS       small non-streamed requests per second
 *   proxy-load hold PORT STREAMS PID               open STREAMS slow streams, wait until
 *                                                  each has started, report PID's RSS
 *
 * `lat` asks the upstream (fakeup, ts mode) for pieces "[T]" where T is the monotonic time
 * at which the upstream wrote them; latency = arrival time - T, measured on the same clock.
 * Pointed at the upstream directly and at the proxy, the difference is what the proxy adds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

static struct event_base *base;
static int port;
static const char *mode;
static long pieces, delay_ms;
static uint64_t *lat;
static size_t nlat, caplat;
static long done_streams, started_streams, failed, open_conns;
static long target;
static long rps_done;
static int rps_stop;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

typedef struct conn {
    struct bufferevent *bev;
    int started;
    int got_headers;
    long clen;          /* rps: Content-Length of the current response */
    char carry[64];     /* lat: partial "[digits" across reads */
    size_t ncarry;
} conn;

static char body_stream[512], body_small[512];

static void send_req(conn *c, const char *body)
{
    struct evbuffer *o = bufferevent_get_output(c->bev);
    evbuffer_add_printf(o, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                        strlen(body), body);
}

static void conn_free(conn *c)
{
    bufferevent_free(c->bev);
    free(c);
    open_conns--;
}

static void record(uint64_t t)
{
    uint64_t n = now_us();
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 65536;
        lat = realloc(lat, caplat * sizeof *lat);
    }
    lat[nlat++] = n > t ? n - t : 0;
}

/* Scan streamed bytes for "[digits]" (a piece's timestamp) and "[DONE]". */
static int scan_stream(conn *c, const char *p, size_t n)
{
    int done = 0;
    char buf[70000];
    size_t m = 0;
    memcpy(buf, c->carry, c->ncarry);
    m = c->ncarry;
    size_t take = n < sizeof buf - m ? n : sizeof buf - m;
    memcpy(buf + m, p, take);
    m += take;
    size_t i = 0, last_open = (size_t)-1;
    for (i = 0; i < m; i++) {
        if (buf[i] != '[')
            continue;
        size_t j = i + 1;
        uint64_t v = 0;
        while (j < m && buf[j] >= '0' && buf[j] <= '9')
            v = v * 10 + (uint64_t)(buf[j++] - '0');
        if (j == m) {
            last_open = i;
            break;
        }
        if (buf[j] == ']' && j > i + 1 && strcmp(mode, "hold") != 0)
            record(v);
        if (j + 5 <= m && !memcmp(buf + i, "[DONE]", 6))
            done = 1;
        if (m - i < 6 && !memcmp(buf + i, "[DONE]", m - i))
            last_open = i;
    }
    c->ncarry = 0;
    if (last_open != (size_t)-1 && m - last_open < sizeof c->carry) {
        memcpy(c->carry, buf + last_open, m - last_open);
        c->ncarry = m - last_open;
    }
    return done;
}

static void start_conn(void);

static void on_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (!strcmp(mode, "rps")) {
        for (;;) {
            size_t len = evbuffer_get_length(in);
            char *p = (char *)evbuffer_pullup(in, -1);
            if (!p)
                return;
            char *end = memmem(p, len, "\r\n\r\n", 4);
            if (!end)
                return;
            char *cl = strcasestr(p, "Content-Length:");
            long clen = cl && cl < end ? atol(cl + 15) : 0;
            size_t total = (size_t)(end - p) + 4 + (size_t)clen;
            if (len < total)
                return;
            if (strncmp(p, "HTTP/1.1 200", 12) != 0)
                failed++;
            evbuffer_drain(in, total);
            rps_done++;
            if (rps_stop)
                return; /* the process exits; the kernel closes the socket */
            send_req(c, body_small);
        }
    }
    size_t len = evbuffer_get_length(in);
    char *p = (char *)evbuffer_pullup(in, -1);
    if (!c->started && len) {
        if (strncmp(p, "HTTP/1.1 200", 12) != 0)
            failed++;
        c->started = 1;
    }
    if (!c->got_headers && memmem(p, len, "data: ", 6)) {
        c->got_headers = 1;
        started_streams++;
    }
    int done = scan_stream(c, p, len);
    evbuffer_drain(in, len);
    if (done) {
        done_streams++;
        conn_free(c);
        if (done_streams + failed >= target)
            event_base_loopexit(base, NULL);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return;
    }
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
        failed++;
        conn_free(c);
        if (strcmp(mode, "rps") != 0 && done_streams + failed >= target)
            event_base_loopexit(base, NULL);
    }
}

static void start_conn(void)
{
    conn *c = calloc(1, sizeof *c);
    c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&a, sizeof a) < 0) {
        failed++;
        bufferevent_free(c->bev);
        free(c);
        return;
    }
    open_conns++;
    send_req(c, !strcmp(mode, "rps") ? body_small : body_stream);
}

static long to_open;
static struct event *ramp_ev;

static void ramp(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    for (int i = 0; i < 200 && to_open > 0; i++, to_open--)
        start_conn();
    if (to_open > 0) {
        struct timeval tv = {0, 10000};
        evtimer_add(ramp_ev, &tv);
    }
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static long rss_kib(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            v = atol(line + 6);
    if (f)
        fclose(f);
    return v;
}

static long hold_pid, hold_rss0;
static uint64_t hold_t0;

static void hold_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct event *self = arg;
    if (started_streams + failed >= target || now_us() - hold_t0 > 60000000u) {
        long rss = rss_kib(hold_pid);
        printf("hold streams=%ld started=%ld failed=%ld rss0_kib=%ld rss_kib=%ld per_stream_bytes=%.0f\n",
               target, started_streams, failed, hold_rss0, rss,
               started_streams ? (double)(rss - hold_rss0) * 1024.0 / (double)started_streams : 0.0);
        fflush(stdout);
        event_base_loopexit(base, NULL);
        return;
    }
    struct timeval tv = {0, 100000};
    evtimer_add(self, &tv);
}

static void rps_end(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    rps_stop = 1;
    event_base_loopexit(base, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: proxy-load lat PORT STREAMS PIECES DELAY_MS | rps PORT CONC SECONDS | hold PORT STREAMS PID\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    mode = argv[1];
    port = atoi(argv[2]);
    base = event_base_new();
    ramp_ev = evtimer_new(base, ramp, NULL);
    snprintf(body_small, sizeof body_small, "{\"model\":\"deepseek-v4-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"SCENARIO:plain;chunk=64\"}]}");
    if (!strcmp(mode, "lat")) {
        target = atol(argv[3]);
        pieces = argc > 4 ? atol(argv[4]) : 100;
        delay_ms = argc > 5 ? atol(argv[5]) : 10;
        snprintf(body_stream, sizeof body_stream, "{\"model\":\"deepseek-v4-flash\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"SCENARIO:bench;ts=%ld;delay=%ld\"}]}", pieces, delay_ms);
        to_open = target;
        ramp(0, 0, NULL);
        event_base_dispatch(base);
        qsort(lat, nlat, sizeof *lat, cmp);
        printf("lat streams=%ld done=%ld failed=%ld pieces=%zu p50_us=%llu p99_us=%llu max_us=%llu\n", target, done_streams, failed, nlat,
               nlat ? (unsigned long long)lat[nlat / 2] : 0, nlat ? (unsigned long long)lat[nlat * 99 / 100] : 0,
               nlat ? (unsigned long long)lat[nlat - 1] : 0);
    } else if (!strcmp(mode, "rps")) {
        long conc = atol(argv[3]), secs = atol(argv[4]);
        for (long i = 0; i < conc; i++)
            start_conn();
        struct event *end = evtimer_new(base, rps_end, NULL);
        struct timeval tv = {secs, 0};
        evtimer_add(end, &tv);
        uint64_t t0 = now_us();
        event_base_dispatch(base);
        double s = (double)(now_us() - t0) / 1e6;
        printf("rps concurrency=%ld seconds=%.1f requests=%ld failed=%ld rps=%.0f\n", conc, s, rps_done, failed, (double)rps_done / s);
        event_free(end);
    } else if (!strcmp(mode, "hold")) {
        target = atol(argv[3]);
        hold_pid = atol(argv[4]);
        hold_rss0 = rss_kib(hold_pid);
        snprintf(body_stream, sizeof body_stream, "{\"model\":\"deepseek-v4-flash\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"SCENARIO:bench;ts=3;delay=30000\"}]}");
        to_open = target;
        hold_t0 = now_us();
        ramp(0, 0, NULL);
        struct event *chk = evtimer_new(base, hold_check, NULL);
        event_assign(chk, base, -1, 0, hold_check, chk);
        struct timeval tv = {0, 100000};
        evtimer_add(chk, &tv);
        event_base_dispatch(base);
        event_free(chk);
    }
    fflush(stdout);
    _exit(0); /* open connections are closed by the kernel */
}
