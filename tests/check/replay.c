/*
 * replay.c - a recorded "runtime" for testing `dsml conform`: an OpenAI-compatible endpoint
 * that answers each conformance case with a recorded completion, either correctly (parsed
 * with libdsml) or with the defects real runtimes have.
 *
 *   replay --rec DIR [--port-file PATH] [--listen HOST:PORT]
 *
 * Routes: POST /<defects>/v1/chat/completions and GET /<defects>/v1/models. The case is the
 * X-DSML-Conform-Case request header; DIR/<case>.txt holds the raw completion (DSML text).
 * <defects> is "good" or a '+'-separated list of:
 *   leak             the completion goes out verbatim as content, no tool_calls, finish "stop"
 *   stop             finish_reason "stop" next to tool calls
 *   index0           streamed calls all at index 0
 *   emptyargs        arguments "{}" (both modes);  emptyargs_stream: streamed only
 *   noid, notype     calls without id / without type
 *   norole           no role in the first chunk;  nodone: no data: [DONE]
 *   status500        HTTP 500 with an OpenAI error body
 *   garbage          a body (or stream events) that is not JSON
 *   hang             never answer
 *   drop             close the connection in the middle of the answer
 * Whether to stream comes from the request's "stream" member.
 *
 * One process per connection (fork), so a hanging answer does not block the others.
 * "good" uses libdsml's parser and chunk writer; the defects use a small writer of their own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dsml_json.h"
#include "dsml_openai.h"

enum {
    D_LEAK = 1 << 0, D_STOP = 1 << 1, D_INDEX0 = 1 << 2, D_EMPTYARGS = 1 << 3,
    D_EMPTYARGS_STREAM = 1 << 4, D_NOID = 1 << 5, D_NOTYPE = 1 << 6, D_NOROLE = 1 << 7,
    D_NODONE = 1 << 8, D_500 = 1 << 9, D_GARBAGE = 1 << 10, D_HANG = 1 << 11, D_DROP = 1 << 12,
};

static const struct { const char *name; unsigned bit; } defect_names[] = {
    {"leak", D_LEAK},       {"stop", D_STOP},         {"index0", D_INDEX0},
    {"emptyargs", D_EMPTYARGS}, {"emptyargs_stream", D_EMPTYARGS_STREAM},
    {"noid", D_NOID},       {"notype", D_NOTYPE},     {"norole", D_NOROLE},
    {"nodone", D_NODONE},   {"status500", D_500},     {"garbage", D_GARBAGE},
    {"hang", D_HANG},       {"drop", D_DROP},
};

static const char *rec_dir = ".";

/* ---- socket I/O ----------------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void respond(int fd, int status, const char *ctype, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, status == 200 ? "OK" : status == 404 ? "Not Found" : "Error", ctype, len);
    write_all(fd, head, (size_t)n);
    write_all(fd, body, len);
}

static void respond_error(int fd, int status, const char *msg)
{
    dsml_buf b = {0};
    dsml_buf_puts(&b, "{\"error\":{\"message\":\"");
    dsml_json_escape(msg, strlen(msg), &b);
    dsml_buf_puts(&b, "\",\"type\":\"server_error\"}}");
    respond(fd, status, "application/json", b.data, b.len);
    dsml_buf_free(&b);
}

/* ---- the answers ------------------------------------------------------------------------- */

static const char head_fmt[] =
    "{\"id\":\"chatcmpl-replay\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"replay-model\",\"choices\":[{\"index\":0,\"delta\":";

static void chunk(dsml_buf *o, const char *delta, const char *finish)
{
    dsml_buf_puts(o, "data: ");
    dsml_buf_puts(o, head_fmt);
    dsml_buf_puts(o, delta);
    dsml_buf_printf(o, ",\"finish_reason\":%s%s%s}]}\n\n", finish ? "\"" : "", finish ? finish : "null",
                    finish ? "\"" : "");
}

/* Text in pieces of about `size` bytes, never splitting a UTF-8 character. */
static void text_chunks(dsml_buf *o, const char *key, const char *s, size_t n, size_t size)
{
    dsml_buf d = {0};
    for (size_t i = 0; i < n;) {
        size_t e = i + size < n ? i + size : n;
        while (e < n && ((unsigned char)s[e] & 0xC0) == 0x80) e++;
        dsml_buf_clear(&d);
        dsml_buf_printf(&d, "{\"%s\":\"", key);
        dsml_json_escape(s + i, e - i, &d);
        dsml_buf_puts(&d, "\"}");
        chunk(o, d.data, NULL);
        i = e;
    }
    dsml_buf_free(&d);
}

/* The stream of a defective runtime for message m. */
static void defective_stream(dsml_buf *o, const dsml_message *m, const char *raw, size_t rawlen,
                             unsigned d)
{
    if (!(d & D_NOROLE)) chunk(o, "{\"role\":\"assistant\",\"content\":\"\"}", NULL);
    if (m->reasoning.len) text_chunks(o, "reasoning_content", m->reasoning.data, m->reasoning.len, 7);
    if (d & D_LEAK) text_chunks(o, "content", raw, rawlen, 7);
    else if (m->content.len) text_chunks(o, "content", m->content.data, m->content.len, 7);
    size_t ncalls = (d & D_LEAK) ? 0 : m->ncalls;
    dsml_buf dl = {0};
    for (size_t i = 0; i < ncalls; i++) {
        const dsml_call *c = &m->calls[i];
        size_t idx = (d & D_INDEX0) ? 0 : i;
        dsml_buf_clear(&dl);
        dsml_buf_printf(&dl, "{\"tool_calls\":[{\"index\":%zu,", idx);
        if (!(d & D_NOID)) dsml_buf_printf(&dl, "\"id\":\"%s\",", c->id);
        if (!(d & D_NOTYPE)) dsml_buf_puts(&dl, "\"type\":\"function\",");
        dsml_buf_puts(&dl, "\"function\":{\"name\":\"");
        dsml_json_escape(c->name.data, c->name.len, &dl);
        dsml_buf_puts(&dl, "\",\"arguments\":\"\"}}]}");
        chunk(o, dl.data, NULL);
        const char *args = c->arguments.data;
        size_t alen = c->arguments.len;
        if (d & (D_EMPTYARGS | D_EMPTYARGS_STREAM)) args = "{}", alen = 2;
        for (size_t k = 0; k < alen;) {
            size_t e = k + 9 < alen ? k + 9 : alen;
            while (e < alen && ((unsigned char)args[e] & 0xC0) == 0x80) e++;
            dsml_buf_clear(&dl);
            dsml_buf_printf(&dl, "{\"tool_calls\":[{\"index\":%zu,\"function\":{\"arguments\":\"", idx);
            dsml_json_escape(args + k, e - k, &dl);
            dsml_buf_puts(&dl, "\"}}]}");
            chunk(o, dl.data, NULL);
            k = e;
        }
    }
    dsml_buf_free(&dl);
    chunk(o, "{}", ncalls && !(d & D_STOP) ? "tool_calls" : m->finish && !ncalls && strcmp(m->finish, "tool_calls") ? m->finish : "stop");
    if (!(d & D_NODONE)) dsml_buf_puts(o, "data: [DONE]\n\n");
}

static void defective_message(dsml_buf *o, const dsml_message *m, const char *raw, size_t rawlen,
                              unsigned d)
{
    dsml_buf_puts(o, "{\"id\":\"chatcmpl-replay\",\"object\":\"chat.completion\",\"created\":1700000000,"
                     "\"model\":\"replay-model\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
    const char *content = (d & D_LEAK) ? raw : m->content.data;
    size_t clen = (d & D_LEAK) ? rawlen : m->content.len;
    if (clen) {
        dsml_buf_putc(o, '"');
        dsml_json_escape(content, clen, o);
        dsml_buf_putc(o, '"');
    } else dsml_buf_puts(o, "null");
    if (m->reasoning.len) {
        dsml_buf_puts(o, ",\"reasoning_content\":\"");
        dsml_json_escape(m->reasoning.data, m->reasoning.len, o);
        dsml_buf_putc(o, '"');
    }
    size_t ncalls = (d & D_LEAK) ? 0 : m->ncalls;
    for (size_t i = 0; i < ncalls; i++) {
        const dsml_call *c = &m->calls[i];
        dsml_buf_puts(o, i ? ",{" : ",\"tool_calls\":[{");
        if (!(d & D_NOID)) dsml_buf_printf(o, "\"id\":\"%s\",", c->id);
        if (!(d & D_NOTYPE)) dsml_buf_puts(o, "\"type\":\"function\",");
        dsml_buf_puts(o, "\"function\":{\"name\":\"");
        dsml_json_escape(c->name.data, c->name.len, o);
        dsml_buf_puts(o, "\",\"arguments\":\"");
        if (d & D_EMPTYARGS) dsml_buf_puts(o, "{}");
        else dsml_json_escape(c->arguments.data, c->arguments.len, o);
        dsml_buf_puts(o, "\"}}");
        if (i + 1 == ncalls) dsml_buf_putc(o, ']');
    }
    dsml_buf_printf(o, "},\"finish_reason\":\"%s\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":10,\"total_tokens\":20}}",
                    ncalls && !(d & D_STOP) ? "tool_calls" : (m->finish && !ncalls && strcmp(m->finish, "tool_calls")) ? m->finish : "stop");
}

static void good_stream(dsml_buf *o, const char *raw, size_t len)
{
    dsml_chunk_options co = {"chatcmpl-replay", "replay-model", 1700000000, NULL, 0};
    dsml_chunker *ch = dsml_chunker_new(&co, dsml_buf_sink(o));
    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    uint64_t seed = 7;
    oo.make_id = dsml_id_seeded;
    oo.id_ud = &seed;
    dsml_oai *p = dsml_oai_new(&oo, dsml_chunker_on_delta, ch);
    dsml_chunker_start(ch);
    for (size_t i = 0; i < len; i += 5) dsml_oai_feed(p, raw + i, len - i < 5 ? len - i : 5);
    dsml_oai_finish(p);
    dsml_oai_free(p);
    dsml_chunker_free(ch);
}

static void good_message(dsml_buf *o, const dsml_message *m)
{
    dsml_buf_puts(o, "{\"id\":\"chatcmpl-replay\",\"object\":\"chat.completion\",\"created\":1700000000,"
                     "\"model\":\"replay-model\",\"choices\":[{\"index\":0,\"message\":");
    dsml_message_json(m, o);
    dsml_buf_printf(o, ",\"finish_reason\":\"%s\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":10,\"total_tokens\":20}}",
                    m->finish ? m->finish : "stop");
}

/* ---- one connection --------------------------------------------------------------------- */

static int wants_stream(const char *body, size_t len)
{
    const char *p = memmem(body, len, "\"stream\"", 8);
    if (!p) return 0;
    p += 8;
    const char *e = body + len;
    while (p < e && (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return e - p >= 4 && !memcmp(p, "true", 4);
}

static void serve(int fd)
{
    dsml_buf req = {0};
    char tmp[65536];
    size_t head_end = 0, clen = 0;
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        dsml_buf_add(&req, tmp, (size_t)n);
        if (!head_end) {
            const char *h = req.data ? memmem(req.data, req.len, "\r\n\r\n", 4) : NULL;
            if (h) {
                head_end = (size_t)(h - req.data) + 4;
                const char *cl = memmem(req.data, head_end, "Content-Length:", 15);
                if (!cl) cl = memmem(req.data, head_end, "content-length:", 15);
                clen = cl ? strtoul(cl + 15, NULL, 10) : 0;
            }
        }
        if (head_end && req.len >= head_end + clen) break;
    }
    if (!head_end) return;
    char method[8] = {0}, path[512] = {0};
    sscanf(req.data, "%7s %511s", method, path);
    char defects[256] = {0};
    const char *rest = "";
    if (path[0] == '/') {
        const char *slash = strchr(path + 1, '/');
        size_t n = slash ? (size_t)(slash - path - 1) : strlen(path + 1);
        snprintf(defects, sizeof defects, "%.*s", (int)(n < 255 ? n : 255), path + 1);
        rest = slash ? slash : "";
    }
    unsigned d = 0;
    if (strcmp(defects, "good")) {
        char *save = NULL, tmpd[256];
        snprintf(tmpd, sizeof tmpd, "%s", defects);
        for (char *t = strtok_r(tmpd, "+", &save); t; t = strtok_r(NULL, "+", &save)) {
            size_t k;
            for (k = 0; k < sizeof defect_names / sizeof *defect_names; k++)
                if (!strcmp(defect_names[k].name, t)) break;
            if (k == sizeof defect_names / sizeof *defect_names) {
                respond_error(fd, 404, "unknown defect in the path");
                return;
            }
            d |= defect_names[k].bit;
        }
    }
    if (!strcmp(method, "GET") && !strcmp(rest, "/v1/models")) {
        static const char models[] = "{\"object\":\"list\",\"data\":[{\"id\":\"replay-model\",\"object\":\"model\"}]}";
        respond(fd, 200, "application/json", models, sizeof models - 1);
        return;
    }
    if (strcmp(method, "POST") || strcmp(rest, "/v1/chat/completions")) {
        respond_error(fd, 404, "no such route");
        return;
    }
    if (d & D_HANG) { /* say nothing until the client gives up (at most a minute) */
        alarm(60);
        while (read(fd, tmp, sizeof tmp) > 0) {}
        return;
    }
    if (d & D_500) {
        respond_error(fd, 500, "the model crashed (recorded failure)");
        return;
    }
    /* the case */
    char name[128] = {0};
    const char *ch = memmem(req.data, head_end, "X-DSML-Conform-Case:", 20);
    if (!ch) ch = memmem(req.data, head_end, "x-dsml-conform-case:", 20);
    if (ch) sscanf(ch + 20, " %127[A-Za-z0-9_.-]", name);
    char file[4096];
    snprintf(file, sizeof file, "%s/%s.txt", rec_dir, name);
    FILE *f = name[0] ? fopen(file, "rb") : NULL;
    if (!f) {
        respond_error(fd, 404, "no recording for this case");
        return;
    }
    dsml_buf raw = {0};
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) dsml_buf_add(&raw, tmp, n);
    fclose(f);
    if (!raw.data) dsml_buf_reserve(&raw, 1);
    int stream = wants_stream(req.data + head_end, req.len - head_end);
    dsml_buf out = {0};
    if (d & D_GARBAGE) {
        if (stream) dsml_buf_puts(&out, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"\n\ndata: <html>oops</html>\n\ndata: [DONE]\n\n");
        else dsml_buf_puts(&out, "<html><body>502 Bad Gateway</body></html>");
    } else {
        dsml_oai_options oo;
        dsml_oai_options_init(&oo);
        uint64_t seed = 7;
        oo.make_id = dsml_id_seeded;
        oo.id_ud = &seed;
        dsml_message m;
        dsml_parse_message(raw.data, raw.len, &oo, 0, &m);
        unsigned sd = stream ? d : (d & ~(unsigned)D_EMPTYARGS_STREAM);
        if (!sd || sd == D_DROP) {
            if (stream) good_stream(&out, raw.data, raw.len);
            else good_message(&out, &m);
        } else if (stream) defective_stream(&out, &m, raw.data, raw.len, sd);
        else defective_message(&out, &m, raw.data, raw.len, sd);
        dsml_message_free(&m);
    }
    const char *ctype = stream ? "text/event-stream" : "application/json";
    if (d & D_DROP) {
        /* announce the whole body, send half of it, hang up */
        char head[256];
        int hn = snprintf(head, sizeof head,
                          "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                          ctype, out.len);
        write_all(fd, head, (size_t)hn);
        write_all(fd, out.data, out.len / 2);
    } else respond(fd, 200, ctype, out.data, out.len);
    dsml_buf_free(&out);
    dsml_buf_free(&raw);
    dsml_buf_free(&req);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"rec", required_argument, 0, 'r'},
        {"port-file", required_argument, 0, 'p'},
        {"listen", required_argument, 0, 'l'},
        {0, 0, 0, 0},
    };
    const char *port_file = NULL, *listen_at = "127.0.0.1:0";
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'r') rec_dir = optarg;
        else if (c == 'p') port_file = optarg;
        else if (c == 'l') listen_at = optarg;
        else {
            fprintf(stderr, "usage: replay --rec DIR [--port-file PATH] [--listen HOST:PORT]\n");
            return 2;
        }
    }
    char host[64] = "127.0.0.1";
    int port = 0;
    const char *colon = strrchr(listen_at, ':');
    if (colon) {
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen_at), listen_at);
        port = atoi(colon + 1);
    }
    signal(SIGCHLD, SIG_IGN); /* children are reaped automatically */
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || bind(s, (struct sockaddr *)&a, sizeof a) ||
        listen(s, 64)) {
        fprintf(stderr, "replay: cannot listen on %s: %s\n", listen_at, strerror(errno));
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    if (port_file) {
        char tmpf[4096];
        snprintf(tmpf, sizeof tmpf, "%s.tmp", port_file);
        FILE *pf = fopen(tmpf, "w");
        if (!pf || fprintf(pf, "%d\n", ntohs(a.sin_port)) < 0 || fclose(pf) || rename(tmpf, port_file)) {
            fprintf(stderr, "replay: cannot write %s\n", port_file);
            return 1;
        }
    }
    fprintf(stderr, "replay: listening on %s:%d, recordings in %s\n", host, ntohs(a.sin_port), rec_dir);
    for (;;) {
        int fd = accept(s, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(s);
            serve(fd);
            close(fd);
            _exit(0);
        }
        close(fd);
    }
}
