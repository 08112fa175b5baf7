/*
 * request.h - reading client requests and writing upstream request bodies without
 * changing a single number.
 *
 * proxy_req_parse() parses a chat-completions body with libdsml's JSON document model
 * (dsml_jv.h: number text kept as written, so 123456789012345678901234567890 and 1.50 stay
 * exactly that; duplicate keys resolved like Python, the last value winning), validates
 * it and extracts what the proxy acts on. The document is kept: the upstream body is built
 * from it (proxy_jobj) and, in completions mode, the renderer reads it directly.
 *
 * proxy_jobj is an upstream request body under construction: the top-level members of a
 * request object (borrowed), plus members the proxy sets, replaces or removes. Writing it
 * copies every value it did not touch exactly (strings re-escaped, numbers verbatim).
 * proxy_jv_write() does the same for any value (tool-call arguments sent as objects, the
 * upstream's model list).
 */
#ifndef PROXY_REQUEST_H
#define PROXY_REQUEST_H

#include <stddef.h>

#include "dsml_buf.h"
#include "dsml_jv.h"

typedef enum proxy_tool_choice {
    PROXY_TC_AUTO = 0,     /* default with tools */
    PROXY_TC_NONE = 1,     /* default without tools */
    PROXY_TC_REQUIRED = 2,
    PROXY_TC_NAMED = 3,
} proxy_tool_choice;

typedef struct proxy_req {
    dsml_jv_doc *doc;             /* owned: the parsed body */
    const dsml_jv *root;          /* the body object (in doc) */
    char *model;                  /* owned, NUL-terminated */
    int stream;
    int include_usage;            /* stream_options.include_usage */
    size_t ntools;
    char **tool_names;            /* owned; ntools entries */
    proxy_tool_choice tool_choice;
    char *tool_choice_name;       /* owned; PROXY_TC_NAMED */
    int parallel_tool_calls;      /* default 1 */
    int thinking;                 /* -1 unset, 0 disabled, 1 enabled (thinking.type) */
    char *reasoning_effort;       /* owned; NULL if unset */
} proxy_req;

typedef struct proxy_req_error {
    int status;                   /* 400, 500 */
    const char *code;             /* short machine-readable code, static */
    char message[512];
    size_t position;              /* syntax errors: byte offset of the offending byte */
} proxy_req_error;

/* Parse and validate a chat-completions request body. Returns 0 and fills *r (release with
 * proxy_req_free), or -1 and fills *err. The text may be freed afterwards. */
int proxy_req_parse(const char *body, size_t len, proxy_req *r, proxy_req_error *err);
void proxy_req_free(proxy_req *r);

/* Parse any JSON object body (e.g. the /v1/completions passthrough). Returns the document
 * (release with dsml_jv_free) or NULL with *err filled. */
dsml_jv_doc *proxy_json_parse_object(const char *body, size_t len, proxy_req_error *err);

/* Write v as compact JSON: strings re-escaped, numbers exactly as they were written.
 * Returns 0 or -1 (out of memory). */
int proxy_jv_write(const dsml_jv *v, dsml_buf *out);

/* ------------------------------------------------------------------------------------- */
/* Upstream request bodies                                                                */

typedef struct proxy_jmember {
    char *key;                    /* owned, NUL-terminated (may hold NUL: see key_len) */
    size_t key_len;               /* bytes in key; a JSON key may contain \u0000 */
    const dsml_jv *jv;            /* borrowed value, or NULL when raw is set */
    char *raw;                    /* owned JSON text of the value */
} proxy_jmember;

typedef struct proxy_jobj {
    proxy_jmember *m;
    size_t n, cap;
    int oom;
} proxy_jobj;

/* Start from the members of a JSON object (NULL or a non-object: empty). The values are
 * borrowed: the document must outlive the builder. Zero-initialise *o first. */
void proxy_jobj_init(proxy_jobj *o, const dsml_jv *obj);
void proxy_jobj_free(proxy_jobj *o);
/* The member named key, or NULL. */
const proxy_jmember *proxy_jobj_get(const proxy_jobj *o, const char *key);
/* Set key to the JSON text raw (replacing the value in place, or appending). */
void proxy_jobj_set(proxy_jobj *o, const char *key, const char *raw);
/* Set key to a JSON string holding s[0..len). */
void proxy_jobj_set_str(proxy_jobj *o, const char *key, const char *s, size_t len);
/* Set key to a value borrowed from a document. */
void proxy_jobj_set_jv(proxy_jobj *o, const char *key, const dsml_jv *v);
/* Set key to raw only when it is absent (fields the client set are not overridden). */
void proxy_jobj_default(proxy_jobj *o, const char *key, const char *raw);
/* Remove key (no-op when absent). */
void proxy_jobj_del(proxy_jobj *o, const char *key);
/* Write the object as compact JSON. Returns 0, or -1 when out of memory (now or in an
 * earlier call on o). */
int proxy_jobj_write(const proxy_jobj *o, dsml_buf *out);

#endif
