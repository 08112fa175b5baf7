/*
 * proxy.h - dsml-proxy internals shared by its files: configuration, the process-wide
 * state, and the entry points of the request handlers.
 *
 *   main.c      command line, event loop, routes (/v1/models, /health, passthrough)
 *   chat.c      POST /v1/chat/completions: request -> upstream -> libdsml -> client
 *   flavor.c    what each upstream flavor needs in the upstream request body
 *   render.c    completions mode: request -> prompt text (libdsml renderer)
 *   request.c   client request reader, number-preserving JSON writer
 *   upstream.c  libcurl multi on the libevent loop
 *   http/       the HTTP serving layer (shared with the engine's server)
 */
#ifndef PROXY_H
#define PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dsml.h"
#include "http/hs.h"
#include "request.h"
#include "upstream.h"

typedef enum proxy_mode {
    PROXY_MODE_CHAT = 0,        /* forward /v1/chat/completions, repair the answer */
    PROXY_MODE_COMPLETIONS = 1, /* render the prompt, use the upstream's /v1/completions */
} proxy_mode;

typedef enum proxy_flavor {
    PROXY_FLAVOR_GENERIC = 0,
    PROXY_FLAVOR_LLAMACPP = 1,
    PROXY_FLAVOR_VLLM = 2,
    PROXY_FLAVOR_SGLANG = 3,
    PROXY_FLAVOR_DS4 = 4,
} proxy_flavor;

/* --model-alias NAME=[TARGET][@thinking|@chat] */
typedef struct proxy_alias {
    char *name;     /* what clients send */
    char *target;   /* upstream model; "" = the default upstream model */
    int thinking;   /* -1 unchanged, 0 chat mode, 1 thinking mode */
} proxy_alias;

typedef struct proxy_config {
    char *upstream;             /* base URL without trailing "/v1" or "/" */
    char *listen_host;
    int listen_port;
    proxy_mode mode;
    proxy_flavor flavor;
    dsml_dialect dialect;
    int strict;                 /* strict DSML parsing (default tolerant) */
    int thinking_default;       /* thinking mode when nothing in the request says */
    char *upstream_model;       /* default upstream model (NULL: as requested / first listed) */
    char *upstream_key;         /* API key sent upstream (NULL: the client's is forwarded) */
    proxy_alias *aliases;
    size_t naliases;
    size_t max_body, max_headers;
    unsigned max_streams;
    unsigned client_idle_s;
    long up_connect_ms, up_idle_ms, up_total_ms;
    size_t max_upstream_body;   /* non-SSE upstream bodies kept for relay */
    int verbose;
    int quiet;
    char *portfile;             /* write the bound port here once listening */
} proxy_config;

typedef struct proxy {
    proxy_config cfg;
    struct event_base *base;
    hs_server *http;
    proxy_up *up;
    FILE *log;
    /* upstream model list cache (ids), refreshed by /v1/models and a timer */
    char **models;
    size_t nmodels;
    int models_known;           /* the list was fetched at least once */
    uint64_t models_at_us;
    unsigned long long nreq;    /* request counter (ids in logs) */
} proxy;

/* Flavor and mode names. Return 0 and set *out, or -1. */
int proxy_flavor_parse(const char *s, proxy_flavor *out);
const char *proxy_flavor_name(proxy_flavor f);

/* Add the flavor's knobs to an upstream request body (chat or completions endpoint).
 * thinking: 0/1; effort may be NULL. */
void proxy_flavor_apply(const proxy_config *c, int completions, proxy_jobj *body, int thinking,
                        const char *effort);

/* Render the request into prompt text with the libdsml renderer (appended to out).
 * Returns 0, or -1 with a message in err (the client's request cannot be rendered). */
int proxy_render_prompt(const proxy_config *c, const proxy_req *q, int thinking, dsml_buf *out,
                        char *err, size_t errlen);

/* The prefilled start of a forced call (tool_choice named or "required", not in thinking
 * mode; nothing otherwise), appended to out: it ends the prompt and is fed to the parser
 * before the upstream's text. Returns 0, or -1 when the name cannot be written. */
int proxy_call_prefix(const proxy_config *c, const proxy_req *q, int thinking, dsml_buf *out);

/* The chat-completions handler (route ud = proxy *). */
void proxy_chat_handle(hs_req *r, void *ud);

/* Resolve the client's model name: fills the upstream model to send and the thinking mode
 * an alias implies (-1 none). Returns 0, or -1 when the model is unknown (404). */
int proxy_resolve_model(proxy *p, const char *model, const char **upstream_model,
                        int *alias_thinking);

/* The Authorization header line for an upstream request ("Authorization: Bearer KEY"),
 * malloc'd: the configured upstream key, else the client's own Authorization header (r may
 * be NULL: background requests), else NULL (no header). */
char *proxy_auth_header(const proxy *p, hs_req *r);

/* Full upstream URL for a path ("/v1/chat/completions"); malloc'd. */
char *proxy_url(const proxy *p, const char *path);

/* Verbose logging of bodies (to the log, prefixed). */
void proxy_vlog(proxy *p, const char *what, unsigned long long id, const char *data, size_t len);

#endif
