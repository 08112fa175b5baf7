/*
 * request.h - reading client requests (jansson) and writing JSON without changing numbers.
 *
 * proxy_req_parse() validates a chat-completions body and extracts what the proxy acts on;
 * the JSON tree is kept so the upstream request can be built from it. Errors carry the
 * HTTP status to answer with and, for syntax errors, the byte position.
 *
 * proxy_json_write() serialises a jansson tree compactly. jansson holds reals as doubles;
 * they are written in the shortest form that reads back to the same double (0.7 stays
 * 0.7), so forwarding a request never turns 0.7 into 0.69999999999999996. Strings (tool
 * call `arguments` included) are re-escaped, not altered.
 */
#ifndef PROXY_REQUEST_H
#define PROXY_REQUEST_H

#include <stddef.h>

#include <jansson.h>

#include "dsml_buf.h"

typedef enum proxy_tool_choice {
    PROXY_TC_AUTO = 0,     /* default with tools */
    PROXY_TC_NONE = 1,     /* default without tools */
    PROXY_TC_REQUIRED = 2,
    PROXY_TC_NAMED = 3,
} proxy_tool_choice;

typedef struct proxy_req {
    json_t *root;                 /* owned */
    const char *model;            /* borrowed from root */
    int stream;
    int include_usage;            /* stream_options.include_usage */
    size_t ntools;
    const char **tool_names;      /* borrowed; ntools entries */
    proxy_tool_choice tool_choice;
    const char *tool_choice_name; /* PROXY_TC_NAMED */
    int parallel_tool_calls;      /* default 1 */
    int thinking;                 /* -1 unset, 0 disabled, 1 enabled (thinking.type) */
    const char *reasoning_effort; /* NULL if unset */
} proxy_req;

typedef struct proxy_req_error {
    int status;                   /* 400, 413, ... */
    const char *code;             /* short machine-readable code, static */
    char message[512];
    size_t position;              /* syntax errors: byte offset */
} proxy_req_error;

/* Parse and validate a chat-completions request body. Returns 0 and fills *r (release with
 * proxy_req_free), or -1 and fills *err. */
int proxy_req_parse(const char *body, size_t len, proxy_req *r, proxy_req_error *err);
void proxy_req_free(proxy_req *r);

/* Parse any JSON object body (e.g. /v1/completions passthrough). Returns the tree or NULL
 * with *err filled. */
json_t *proxy_json_parse_object(const char *body, size_t len, proxy_req_error *err);

/* Compact serialisation (see above). Returns 0 or -1 (out of memory). */
int proxy_json_write(const json_t *v, dsml_buf *out);

/* Write the shortest decimal form of d that reads back as d, JSON style (always with a
 * '.' or exponent). Returns the length written (buffer of 32 bytes). */
int proxy_json_double(double d, char out[32]);

#endif
