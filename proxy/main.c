/*
 * main.c - dsml-proxy: command line, event loop, and the small routes (/v1/models,
 * /health, /v1/completions passthrough). The chat route lives in chat.c.
 *
 * One process, one thread, one libevent loop: the HTTP server (proxy/http) and the
 * upstream client (libcurl multi) share it, so thousands of streams cost memory, not
 * threads.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "dsml_json.h"
#include "proxy.h"

/* ===================================================================================== */
/* Configuration                                                                         */
/* ===================================================================================== */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: dsml-proxy --upstream URL [options]\n"
        "\n"
        "An OpenAI-compatible proxy that turns DeepSeek tool-call markup (DSML, V3.2, V3.1)\n"
        "from a runtime into structured tool_calls, streamed.\n"
        "\n"
        "  --upstream URL          upstream base URL, e.g. http://127.0.0.1:8000 (required)\n"
        "  --listen HOST:PORT      where to listen (default 127.0.0.1:8088; port 0 = any)\n"
        "  --mode chat|completions chat: forward /v1/chat/completions and repair the answer\n"
        "                          (default); completions: render the prompt with libdsml and\n"
        "                          use the upstream's raw /v1/completions\n"
        "  --flavor NAME           generic|llamacpp|vllm|sglang|ds4: upstream knobs (README)\n"
        "  --dialect NAME          v4|v3.2|v3.1|auto: markup to parse (default v4; tolerant\n"
        "                          parsing also accepts the other DSML block names)\n"
        "  --strict                strict DSML parsing (the official parser's rules)\n"
        "  --thinking              thinking mode unless the request or alias says otherwise\n"
        "  --upstream-model NAME   model sent upstream for aliases without a target\n"
        "  --upstream-api-key KEY  send \"Authorization: Bearer KEY\" upstream instead of the\n"
        "                          client's own Authorization header (default: forwarded;\n"
        "                          also read from DSML_PROXY_UPSTREAM_API_KEY)\n"
        "  --model-alias A=[T][@thinking|@chat]\n"
        "                          clients may ask for model A; T is sent upstream; the\n"
        "                          suffix selects the thinking mode. Repeatable. Default:\n"
        "                          deepseek-chat=@chat and deepseek-reasoner=@thinking\n"
        "  --max-body BYTES        request body limit (default 8388608) -> 413\n"
        "  --max-headers BYTES     request header limit (default 65536)\n"
        "  --max-streams N         requests served at once (default 8192) -> 503\n"
        "  --client-idle-timeout S drop a client that makes no progress for S s (default 300)\n"
        "  --connect-timeout MS    upstream connect timeout (default 10000) -> 502\n"
        "  --idle-timeout MS       upstream silent for MS ms (default 600000) -> 504 / error\n"
        "  --timeout MS            upstream total time (default 3600000) -> 504 / error\n"
        "  --port-file PATH        write the bound port to PATH once listening\n"
        "  --verbose               log request, upstream and response bodies\n"
        "  --quiet                 no access log\n"
        "  --help                  this text\n");
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v == 0)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int add_alias(proxy_config *c, const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec)
        return -1;
    proxy_alias a = {0};
    a.name = strndup(spec, (size_t)(eq - spec));
    const char *t = eq + 1;
    const char *at = strrchr(t, '@');
    a.thinking = -1;
    size_t tl = strlen(t);
    if (at) {
        if (!strcmp(at, "@thinking"))
            a.thinking = 1;
        else if (!strcmp(at, "@chat"))
            a.thinking = 0;
        else
            return -1;
        tl = (size_t)(at - t);
    }
    a.target = strndup(t, tl);
    proxy_alias *n = realloc(c->aliases, (c->naliases + 1) * sizeof *n);
    if (!n || !a.name || !a.target)
        return -1;
    c->aliases = n;
    c->aliases[c->naliases++] = a;
    return 0;
}

static int parse_args(int argc, char **argv, proxy_config *c)
{
    enum { O_UPSTREAM = 256, O_LISTEN, O_MODE, O_FLAVOR, O_DIALECT, O_STRICT, O_THINKING,
           O_UPMODEL, O_ALIAS, O_MAXBODY, O_MAXHDR, O_MAXSTREAMS, O_CIDLE, O_CONNECT, O_IDLE,
           O_TIMEOUT, O_PORTFILE, O_VERBOSE, O_QUIET, O_HELP, O_UPKEY };
    static const struct option opts[] = {
        {"upstream", 1, 0, O_UPSTREAM}, {"listen", 1, 0, O_LISTEN}, {"mode", 1, 0, O_MODE},
        {"flavor", 1, 0, O_FLAVOR}, {"dialect", 1, 0, O_DIALECT}, {"strict", 0, 0, O_STRICT},
        {"thinking", 0, 0, O_THINKING}, {"upstream-model", 1, 0, O_UPMODEL},
        {"model-alias", 1, 0, O_ALIAS}, {"max-body", 1, 0, O_MAXBODY},
        {"max-headers", 1, 0, O_MAXHDR}, {"max-streams", 1, 0, O_MAXSTREAMS},
        {"client-idle-timeout", 1, 0, O_CIDLE}, {"connect-timeout", 1, 0, O_CONNECT},
        {"idle-timeout", 1, 0, O_IDLE}, {"timeout", 1, 0, O_TIMEOUT},
        {"port-file", 1, 0, O_PORTFILE}, {"verbose", 0, 0, O_VERBOSE}, {"quiet", 0, 0, O_QUIET},
        {"help", 0, 0, O_HELP}, {"upstream-api-key", 1, 0, O_UPKEY}, {0, 0, 0, 0}};
    c->listen_host = strdup("127.0.0.1");
    c->listen_port = 8088;
    c->dialect = DSML_V4;
    c->max_body = 8u << 20;
    c->max_headers = 64u << 10;
    c->max_streams = 8192;
    c->client_idle_s = 300;
    c->up_connect_ms = 10000;
    c->up_idle_ms = 600000;
    c->up_total_ms = 3600000;
    c->max_upstream_body = 1u << 20;
    int o;
    size_t n;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_UPSTREAM: {
            size_t l = strlen(optarg);
            while (l && optarg[l - 1] == '/')
                l--;
            if (l >= 3 && !strncmp(optarg + l - 3, "/v1", 3))
                l -= 3;
            c->upstream = strndup(optarg, l);
            break;
        }
        case O_LISTEN: {
            const char *colon = strrchr(optarg, ':');
            if (!colon) {
                fprintf(stderr, "dsml-proxy: --listen wants HOST:PORT, got '%s'\n", optarg);
                return -1;
            }
            free(c->listen_host);
            c->listen_host = strndup(optarg, (size_t)(colon - optarg));
            c->listen_port = atoi(colon + 1);
            break;
        }
        case O_MODE:
            if (!strcmp(optarg, "chat"))
                c->mode = PROXY_MODE_CHAT;
            else if (!strcmp(optarg, "completions"))
                c->mode = PROXY_MODE_COMPLETIONS;
            else {
                fprintf(stderr, "dsml-proxy: --mode is chat or completions, got '%s'\n", optarg);
                return -1;
            }
            break;
        case O_FLAVOR:
            if (proxy_flavor_parse(optarg, &c->flavor) < 0) {
                fprintf(stderr, "dsml-proxy: unknown --flavor '%s' (generic, llamacpp, vllm, sglang, ds4)\n", optarg);
                return -1;
            }
            break;
        case O_DIALECT:
            if (dsml_dialect_parse(optarg, &c->dialect) < 0) {
                fprintf(stderr, "dsml-proxy: unknown --dialect '%s' (v4, v3.2, v3.1, auto)\n", optarg);
                return -1;
            }
            break;
        case O_STRICT: c->strict = 1; break;
        case O_THINKING: c->thinking_default = 1; break;
        case O_UPMODEL: c->upstream_model = strdup(optarg); break;
        case O_UPKEY:
            free(c->upstream_key);
            c->upstream_key = strdup(optarg);
            break;
        case O_ALIAS:
            if (add_alias(c, optarg) < 0) {
                fprintf(stderr, "dsml-proxy: --model-alias wants NAME=[TARGET][@thinking|@chat], got '%s'\n", optarg);
                return -1;
            }
            break;
        case O_MAXBODY:
        case O_MAXHDR:
        case O_MAXSTREAMS:
        case O_CIDLE:
        case O_CONNECT:
        case O_IDLE:
        case O_TIMEOUT:
            if (parse_size(optarg, &n) < 0) {
                fprintf(stderr, "dsml-proxy: %s wants a positive integer, got '%s'\n",
                        argv[optind - 1], optarg);
                return -1;
            }
            if (o == O_MAXBODY) c->max_body = n;
            if (o == O_MAXHDR) c->max_headers = n;
            if (o == O_MAXSTREAMS) c->max_streams = (unsigned)n;
            if (o == O_CIDLE) c->client_idle_s = (unsigned)n;
            if (o == O_CONNECT) c->up_connect_ms = (long)n;
            if (o == O_IDLE) c->up_idle_ms = (long)n;
            if (o == O_TIMEOUT) c->up_total_ms = (long)n;
            break;
        case O_PORTFILE: c->portfile = strdup(optarg); break;
        case O_VERBOSE: c->verbose = 1; break;
        case O_QUIET: c->quiet = 1; break;
        case O_HELP: usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dsml-proxy: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    const char *envkey = getenv("DSML_PROXY_UPSTREAM_API_KEY");
    if (!c->upstream_key && envkey && *envkey)
        c->upstream_key = strdup(envkey);
    if (c->upstream_key && (strpbrk(c->upstream_key, "\r\n") || !*c->upstream_key)) {
        fprintf(stderr, "dsml-proxy: the upstream API key must be one non-empty line\n");
        return -1;
    }
    if (!c->upstream) {
        fprintf(stderr, "dsml-proxy: --upstream URL is required\n");
        usage(stderr);
        return -1;
    }
    if (!c->naliases) {
        add_alias(c, "deepseek-chat=@chat");
        add_alias(c, "deepseek-reasoner=@thinking");
    }
    return 0;
}

/* ===================================================================================== */
/* Helpers shared with chat.c                                                            */
/* ===================================================================================== */

char *proxy_auth_header(const proxy *p, hs_req *r)
{
    const char *v = NULL;
    const char *bearer = "";
    if (p->cfg.upstream_key) {
        v = p->cfg.upstream_key;
        bearer = "Bearer ";
    } else if (r) {
        v = hs_req_header(r, "Authorization");
    }
    if (!v || !*v)
        return NULL;
    size_t n = strlen("Authorization: ") + strlen(bearer) + strlen(v) + 1;
    char *h = malloc(n);
    if (h)
        snprintf(h, n, "Authorization: %s%s", bearer, v);
    return h;
}

char *proxy_url(const proxy *p, const char *path)
{
    size_t n = strlen(p->cfg.upstream) + strlen(path) + 1;
    char *u = malloc(n);
    if (u)
        snprintf(u, n, "%s%s", p->cfg.upstream, path);
    return u;
}

void proxy_vlog(proxy *p, const char *what, unsigned long long id, const char *data, size_t len)
{
    fprintf(p->log, "  [%llu] %s (%zu bytes): %.*s\n", id, what, len, (int)(len > 65536 ? 65536 : len),
            data ? data : "");
    fflush(p->log);
}

int proxy_resolve_model(proxy *p, const char *model, const char **upstream_model,
                        int *alias_thinking)
{
    *alias_thinking = -1;
    for (size_t i = 0; i < p->cfg.naliases; i++) {
        proxy_alias *a = &p->cfg.aliases[i];
        if (strcmp(a->name, model) != 0)
            continue;
        *alias_thinking = a->thinking;
        if (*a->target)
            *upstream_model = a->target;
        else if (p->cfg.upstream_model)
            *upstream_model = p->cfg.upstream_model;
        else if (p->nmodels)
            *upstream_model = p->models[0];
        else
            *upstream_model = model;
        return 0;
    }
    if (p->cfg.upstream_model && !strcmp(p->cfg.upstream_model, model)) {
        *upstream_model = model;
        return 0;
    }
    if (p->models_known) {
        for (size_t i = 0; i < p->nmodels; i++)
            if (!strcmp(p->models[i], model)) {
                *upstream_model = model;
                return 0;
            }
        return -1;
    }
    *upstream_model = model; /* list unknown (upstream down?): let the upstream decide */
    return 0;
}

/* ===================================================================================== */
/* Upstream model list                                                                   */
/* ===================================================================================== */

typedef struct fetch {
    proxy *p;
    hs_req *r;          /* NULL: background refresh */
    int health;         /* answer for /health instead of /v1/models */
    int status;
    dsml_buf body;
    proxy_xfer *x;
} fetch;

static void store_models(proxy *p, const char *body, size_t len)
{
    dsml_jv_doc *j = dsml_jv_parse(body, len, 0, NULL);
    const dsml_jv *data = j ? dsml_jv_get(dsml_jv_root(j), "data") : NULL;
    if (!data || data->type != DSML_JV_ARRAY) {
        dsml_jv_free(j);
        return;
    }
    for (size_t i = 0; i < p->nmodels; i++)
        free(p->models[i]);
    free(p->models);
    p->models = calloc(data->len + 1, sizeof *p->models);
    p->nmodels = 0;
    for (size_t i = 0; i < data->len && p->models; i++) {
        const dsml_jv *id = dsml_jv_get(&data->u.items[i], "id");
        if (id && id->type == DSML_JV_STRING && !memchr(id->u.s, 0, id->len))
            p->models[p->nmodels++] = strndup(id->u.s, id->len);
    }
    p->models_known = 1;
    p->models_at_us = hs_now_us();
    dsml_jv_free(j);
}

static void fetch_status(void *ud, int status, const char *ct)
{
    (void)ct;
    ((fetch *)ud)->status = status;
}

static int fetch_body(void *ud, const char *d, size_t n)
{
    fetch *f = ud;
    if (f->body.len + n > (4u << 20))
        return -1;
    dsml_buf_add(&f->body, d, n);
    return 0;
}

static void answer_models(fetch *f)
{
    proxy *p = f->p;
    dsml_buf b = {0};
    size_t n = 0;
    dsml_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    dsml_jv_doc *up = dsml_jv_parse(f->body.data ? f->body.data : "", f->body.len, 0, NULL);
    const dsml_jv *updata = up ? dsml_jv_get(dsml_jv_root(up), "data") : NULL;
    if (updata && updata->type == DSML_JV_ARRAY)
        for (; n < updata->len; n++) {
            if (n) dsml_buf_putc(&b, ',');
            proxy_jv_write(&updata->u.items[n], &b);
        }
    dsml_jv_free(up);
    for (size_t i = 0; i < p->cfg.naliases; i++, n++) {
        if (n) dsml_buf_putc(&b, ',');
        dsml_buf_puts(&b, "{\"id\":\"");
        dsml_json_escape(p->cfg.aliases[i].name, strlen(p->cfg.aliases[i].name), &b);
        dsml_buf_puts(&b, "\",\"object\":\"model\",\"created\":0,\"owned_by\":\"dsml-proxy\"}");
    }
    dsml_buf_puts(&b, "]}");
    hs_req_log(f->r, "up_status=%d", f->status);
    hs_reply(f->r, 200, NULL, b.data, b.len);
    dsml_buf_free(&b);
}

static void fetch_done(void *ud, proxy_up_result res, const char *detail)
{
    fetch *f = ud;
    f->x = NULL;
    proxy *p = f->p;
    if (res == PROXY_UP_OK && f->status == 200)
        store_models(p, f->body.data ? f->body.data : "", f->body.len);
    if (f->r && f->health) {
        int ok = res == PROXY_UP_OK && f->status > 0;
        char buf[512];
        char *esc = NULL;
        size_t used = 0, cap = 0;
        const char *d = ok ? "" : proxy_up_strerror(res);
        hs_json_escape(&esc, &used, &cap, p->cfg.upstream, strlen(p->cfg.upstream));
        int n = snprintf(buf, sizeof buf,
                         "{\"status\":\"%s\",\"upstream\":{\"url\":\"%s\",\"reachable\":%s,\"status\":%d%s%s%s},\"mode\":\"%s\",\"flavor\":\"%s\",\"active\":%u}",
                         ok ? "ok" : "degraded", esc ? esc : "", ok ? "true" : "false", f->status,
                         ok ? "" : ",\"error\":\"", ok ? "" : d, ok ? "" : "\"",
                         p->cfg.mode == PROXY_MODE_CHAT ? "chat" : "completions",
                         proxy_flavor_name(p->cfg.flavor), hs_server_active(p->http));
        free(esc);
        (void)detail;
        hs_reply(f->r, ok ? 200 : 503, NULL, buf, (size_t)n);
    } else if (f->r) {
        answer_models(f);
    }
    dsml_buf_free(&f->body);
    free(f);
}

static void fetch_cancel(void *ud)
{
    fetch *f = ud;
    if (f->x)
        proxy_xfer_cancel(f->x);
    hs_reply(f->r, 499, NULL, "{}", 2);
    dsml_buf_free(&f->body);
    free(f);
}

static void start_fetch(proxy *p, hs_req *r, int health)
{
    fetch *f = calloc(1, sizeof *f);
    char *url = proxy_url(p, "/v1/models");
    proxy_xfer_callbacks cb = {fetch_status, fetch_body, fetch_done};
    if (f) {
        f->p = p;
        f->r = r;
        f->health = health;
        char *auth = proxy_auth_header(p, r);
        const char *headers[] = {auth, NULL};
        f->x = url ? proxy_up_request(p->up, "GET", url, headers, NULL, 0, &cb, f) : NULL;
        free(auth);
    }
    free(url);
    if (!f || !f->x) {
        free(f);
        if (r)
            hs_reply_error(r, 500, "server_error", NULL, "cannot start the upstream request");
        return;
    }
    if (r)
        hs_req_on_close(r, fetch_cancel, f);
}

static void h_models(hs_req *r, void *ud) { start_fetch(ud, r, 0); }
static void h_health(hs_req *r, void *ud) { start_fetch(ud, r, 1); }

static void on_refresh(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    start_fetch(ud, NULL, 0);
}

/* ===================================================================================== */
/* /v1/completions passthrough                                                           */
/* ===================================================================================== */

typedef struct pass {
    proxy *p;
    hs_req *r;
    proxy_xfer *x;
    int status;
    int sse;
    char ct[128];
    dsml_buf body;
} pass;

static void pass_status(void *ud, int status, const char *ct)
{
    pass *s = ud;
    s->status = status;
    snprintf(s->ct, sizeof s->ct, "%s", ct ? ct : "application/json");
    s->sse = ct && strstr(ct, "text/event-stream");
    if (s->sse)
        hs_sse_begin(s->r, status);
}

static int pass_body(void *ud, const char *d, size_t n)
{
    pass *s = ud;
    if (s->sse) {
        if (hs_req_congested(s->r))
            return 1; /* pause; curl delivers these bytes again after resume */
        hs_sse_write(s->r, d, n);
        hs_sse_flush(s->r);
        return 0;
    }
    if (s->body.len + n > s->p->cfg.max_upstream_body * 64)
        return -1;
    dsml_buf_add(&s->body, d, n);
    return 0;
}

static void pass_done(void *ud, proxy_up_result res, const char *detail)
{
    pass *s = ud;
    s->x = NULL;
    hs_req_log(s->r, "passthrough=1 up_status=%d upstream_ms=%.1f", s->status,
               (double)(hs_now_us() - hs_req_start_us(s->r)) / 1000.0);
    if (s->sse) {
        if (res != PROXY_UP_OK) {
            char *j = hs_error_json("upstream_error", "upstream_broken", detail ? detail : "upstream failed");
            if (j) {
                hs_sse_write(s->r, "data: ", 6);
                hs_sse_write(s->r, j, strlen(j));
                hs_sse_write(s->r, "\n\n", 2);
                free(j);
            }
        }
        hs_sse_end(s->r);
    } else if (res == PROXY_UP_OK) {
        hs_reply(s->r, s->status, s->ct, s->body.data ? s->body.data : "", s->body.len);
    } else {
        hs_reply_error(s->r, res == PROXY_UP_TIMEOUT ? 504 : 502, "upstream_error",
                       res == PROXY_UP_TIMEOUT ? "upstream_timeout" : "upstream_unreachable",
                       "%s (%s)", proxy_up_strerror(res), detail ? detail : "");
    }
    dsml_buf_free(&s->body);
    free(s);
}

static void pass_close(void *ud)
{
    pass *s = ud;
    if (s->x)
        proxy_xfer_cancel(s->x);
    if (s->sse)
        hs_sse_end(s->r);
    else
        hs_reply(s->r, 499, NULL, "{}", 2);
    dsml_buf_free(&s->body);
    free(s);
}

static void pass_drain(void *ud)
{
    pass *s = ud;
    if (s->x)
        proxy_xfer_resume(s->x);
}

static void h_completions(hs_req *r, void *ud)
{
    proxy *p = ud;
    size_t len;
    const char *body = hs_req_body(r, &len);
    proxy_req_error err;
    dsml_jv_doc *doc = proxy_json_parse_object(body, len, &err);
    if (!doc) {
        hs_reply_error(r, err.status, "invalid_request_error", err.code, "%s", err.message);
        return;
    }
    proxy_jobj j = {0};
    proxy_jobj_init(&j, dsml_jv_root(doc));
    const proxy_jmember *mm = proxy_jobj_get(&j, "model");
    dsml_buf ub = {0};
    if (mm && mm->jv && mm->jv->type == DSML_JV_STRING) {
        char *model = strndup(mm->jv->u.s, mm->jv->len);
        const char *up_model;
        int th;
        if (!model || proxy_resolve_model(p, model, &up_model, &th) < 0) {
            hs_reply_error(r, 404, "invalid_request_error", "model_not_found",
                           "model \"%s\" does not exist (see GET /v1/models)", model ? model : "");
            free(model);
            proxy_jobj_free(&j);
            dsml_jv_free(doc);
            return;
        }
        proxy_jobj_set_str(&j, "model", up_model, strlen(up_model));
        free(model);
    }
    int wrc = proxy_jobj_write(&j, &ub);
    proxy_jobj_free(&j);
    dsml_jv_free(doc);
    if (wrc < 0) {
        dsml_buf_free(&ub);
        hs_reply_error(r, 500, "server_error", NULL, "out of memory");
        return;
    }
    pass *s = calloc(1, sizeof *s);
    char *url = proxy_url(p, "/v1/completions");
    proxy_xfer_callbacks cb = {pass_status, pass_body, pass_done};
    if (s) {
        s->p = p;
        s->r = r;
        char *auth = proxy_auth_header(p, r);
        const char *headers[] = {auth, NULL};
        s->x = url ? proxy_up_request(p->up, "POST", url, headers, ub.data, ub.len, &cb, s) : NULL;
        free(auth);
    }
    free(url);
    dsml_buf_free(&ub);
    if (!s || !s->x) {
        free(s);
        hs_reply_error(r, 500, "server_error", NULL, "cannot start the upstream request");
        return;
    }
    hs_req_on_close(r, pass_close, s);
    hs_req_on_drain(r, pass_drain, s);
}

/* ===================================================================================== */
/* main                                                                                  */
/* ===================================================================================== */

static void on_signal(evutil_socket_t sig, short what, void *ud)
{
    (void)sig;
    (void)what;
    event_base_loopexit(ud, NULL);
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    proxy p;
    memset(&p, 0, sizeof p);
    if (parse_args(argc, argv, &p.cfg) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    p.log = stderr;
    p.base = event_base_new();
    hs_options ho = {0};
    ho.max_body = p.cfg.max_body;
    ho.max_headers = p.cfg.max_headers;
    ho.max_active = p.cfg.max_streams;
    ho.idle_timeout_s = p.cfg.client_idle_s;
    ho.log = p.log;
    ho.quiet = p.cfg.quiet;
    proxy_up_options uo = {0};
    uo.connect_timeout_ms = p.cfg.up_connect_ms;
    uo.idle_timeout_ms = p.cfg.up_idle_ms;
    uo.total_timeout_ms = p.cfg.up_total_ms;
    p.http = p.base ? hs_server_new(p.base, &ho) : NULL;
    p.up = p.base ? proxy_up_new(p.base, &uo) : NULL;
    if (!p.http || !p.up) {
        fprintf(stderr, "dsml-proxy: cannot initialise the event loop, HTTP server or libcurl\n");
        return 1;
    }
    hs_route(p.http, "POST", "/v1/chat/completions", proxy_chat_handle, &p);
    hs_route(p.http, "POST", "/chat/completions", proxy_chat_handle, &p);
    hs_route(p.http, "POST", "/v1/completions", h_completions, &p);
    hs_route(p.http, "GET", "/v1/models", h_models, &p);
    hs_route(p.http, "GET", "/health", h_health, &p);
    int port = 0;
    if (hs_server_listen(p.http, p.cfg.listen_host, p.cfg.listen_port, &port) < 0) {
        fprintf(stderr, "dsml-proxy: cannot listen on %s:%d: %s\n", p.cfg.listen_host,
                p.cfg.listen_port, strerror(errno));
        return 1;
    }
    if (p.cfg.portfile) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", p.cfg.portfile);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, p.cfg.portfile) != 0) {
            fprintf(stderr, "dsml-proxy: cannot write %s: %s\n", p.cfg.portfile, strerror(errno));
            return 1;
        }
    }
    if (!p.cfg.quiet)
        fprintf(p.log, "dsml-proxy: listening on http://%s:%d, upstream %s, mode %s, flavor %s, dialect %s%s\n",
                p.cfg.listen_host, port, p.cfg.upstream,
                p.cfg.mode == PROXY_MODE_CHAT ? "chat" : "completions",
                proxy_flavor_name(p.cfg.flavor), dsml_dialect_name(p.cfg.dialect),
                p.cfg.strict ? " (strict)" : "");
    struct event *sigint = evsignal_new(p.base, SIGINT, on_signal, p.base);
    struct event *sigterm = evsignal_new(p.base, SIGTERM, on_signal, p.base);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    struct event *refresh = event_new(p.base, -1, EV_PERSIST, on_refresh, &p);
    struct timeval every = {60, 0};
    event_add(refresh, &every);
    start_fetch(&p, NULL, 0); /* learn the upstream's models now */

    event_base_dispatch(p.base);

    if (!p.cfg.quiet)
        fprintf(p.log, "dsml-proxy: shutting down\n");
    event_free(refresh);
    event_free(sigint);
    event_free(sigterm);
    hs_server_free(p.http); /* finishes requests in flight: they cancel their transfers */
    proxy_up_free(p.up);
    event_base_free(p.base);
    for (size_t i = 0; i < p.nmodels; i++)
        free(p.models[i]);
    free(p.models);
    for (size_t i = 0; i < p.cfg.naliases; i++) {
        free(p.cfg.aliases[i].name);
        free(p.cfg.aliases[i].target);
    }
    free(p.cfg.aliases);
    free(p.cfg.upstream);
    free(p.cfg.listen_host);
    free(p.cfg.upstream_model);
    free(p.cfg.upstream_key);
    free(p.cfg.portfile);
    return 0;
}
