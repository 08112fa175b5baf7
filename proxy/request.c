/*
 * request.c - client request reader, number-exact JSON writers, upstream body builder
 * (see request.h).
 */
#include "request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_json.h"

static int set_err(proxy_req_error *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int set_err(proxy_req_error *e, int status, const char *code, const char *fmt, ...)
{
    e->status = status;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* A NUL-terminated copy of a JSON string value (NULL when out of memory). */
static char *jv_strdup(const dsml_jv *v)
{
    char *s = malloc(v->len + 1);
    if (s) {
        memcpy(s, v->u.s, v->len);
        s[v->len] = 0;
    }
    return s;
}

static int is_type(const dsml_jv *v, dsml_jv_type t) { return v && v->type == t; }
static int is_bool(const dsml_jv *v) { return is_type(v, DSML_JV_TRUE) || is_type(v, DSML_JV_FALSE); }

dsml_jv_doc *proxy_json_parse_object(const char *body, size_t len, proxy_req_error *err)
{
    memset(err, 0, sizeof *err);
    dsml_jv_error je;
    dsml_jv_doc *doc = dsml_jv_parse(body, len, 0, &je);
    if (!doc) {
        if (je.code == DSML_JV_E_NOMEM) {
            set_err(err, 500, "server_error", "out of memory");
            return NULL;
        }
        size_t at = je.offset <= len ? je.offset : len;
        size_t line = 1, col = 1;
        for (size_t i = 0; i < at; i++) {
            if (body[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)body[i] & 0xC0) != 0x80) {
                col++;
            }
        }
        err->position = at;
        set_err(err, 400, "invalid_json", "invalid JSON at byte %zu (line %zu, column %zu): %s",
                at, line, col, je.msg ? je.msg : "syntax error");
        return NULL;
    }
    if (dsml_jv_root(doc)->type != DSML_JV_OBJECT) {
        dsml_jv_free(doc);
        set_err(err, 400, "invalid_request", "request body must be a JSON object");
        return NULL;
    }
    return doc;
}

void proxy_req_free(proxy_req *r)
{
    dsml_jv_free(r->doc);
    free(r->model);
    for (size_t i = 0; r->tool_names && i < r->ntools; i++)
        free(r->tool_names[i]);
    free(r->tool_names);
    free(r->tool_choice_name);
    free(r->reasoning_effort);
    memset(r, 0, sizeof *r);
}

#define OOM()                                                                                 \
    do {                                                                                      \
        set_err(err, 500, "server_error", "out of memory");                                   \
        goto fail;                                                                            \
    } while (0)

int proxy_req_parse(const char *body, size_t len, proxy_req *r, proxy_req_error *err)
{
    memset(r, 0, sizeof *r);
    r->doc = proxy_json_parse_object(body, len, err);
    if (!r->doc)
        return -1;
    const dsml_jv *root = r->root = dsml_jv_root(r->doc);
    r->parallel_tool_calls = 1;
    r->thinking = -1;

    const dsml_jv *v = dsml_jv_get(root, "model");
    if (!is_type(v, DSML_JV_STRING)) {
        set_err(err, 400, "invalid_request", "'model' is required and must be a string");
        goto fail;
    }
    if (!(r->model = jv_strdup(v)))
        OOM();

    v = dsml_jv_get(root, "messages");
    if (!is_type(v, DSML_JV_ARRAY) || v->len == 0) {
        set_err(err, 400, "invalid_request", "'messages' must be a non-empty array");
        goto fail;
    }
    for (size_t i = 0; i < v->len; i++) {
        const dsml_jv *m = &v->u.items[i];
        if (m->type != DSML_JV_OBJECT || !is_type(dsml_jv_get(m, "role"), DSML_JV_STRING)) {
            set_err(err, 400, "invalid_request", "messages[%zu] must be an object with a 'role'", i);
            goto fail;
        }
    }

    v = dsml_jv_get(root, "stream");
    if (v && !is_bool(v) && !dsml_jv_is_null(v)) {
        set_err(err, 400, "invalid_request", "'stream' must be a boolean");
        goto fail;
    }
    r->stream = is_type(v, DSML_JV_TRUE);
    v = dsml_jv_get(root, "stream_options");
    if (is_type(v, DSML_JV_OBJECT))
        r->include_usage = is_type(dsml_jv_get(v, "include_usage"), DSML_JV_TRUE);

    v = dsml_jv_get(root, "n");
    if (!dsml_jv_is_null(v) && !(is_type(v, DSML_JV_NUMBER) && v->len == 1 && v->u.s[0] == '1')) {
        set_err(err, 400, "invalid_request", "only n=1 is supported");
        goto fail;
    }

    v = dsml_jv_get(root, "tools");
    if (!dsml_jv_is_null(v)) {
        if (v->type != DSML_JV_ARRAY) {
            set_err(err, 400, "invalid_request", "'tools' must be an array");
            goto fail;
        }
        r->tool_names = calloc(v->len ? v->len : 1, sizeof *r->tool_names);
        if (!r->tool_names)
            OOM();
        for (size_t i = 0; i < v->len; i++) {
            const dsml_jv *t = &v->u.items[i];
            const dsml_jv *name = dsml_jv_get(dsml_jv_get(t, "function"), "name");
            if (t->type != DSML_JV_OBJECT || !is_type(name, DSML_JV_STRING)) {
                set_err(err, 400, "invalid_request", "tools[%zu] must be {\"type\":\"function\",\"function\":{\"name\":…}}", i);
                goto fail;
            }
            if (!(r->tool_names[i] = jv_strdup(name)))
                OOM();
            r->ntools = i + 1;
        }
    }

    r->tool_choice = r->ntools ? PROXY_TC_AUTO : PROXY_TC_NONE;
    v = dsml_jv_get(root, "tool_choice");
    if (is_type(v, DSML_JV_STRING)) {
        if (dsml_jv_str_is(v, "none"))
            r->tool_choice = PROXY_TC_NONE;
        else if (dsml_jv_str_is(v, "auto"))
            r->tool_choice = PROXY_TC_AUTO;
        else if (dsml_jv_str_is(v, "required"))
            r->tool_choice = PROXY_TC_REQUIRED;
        else {
            set_err(err, 400, "invalid_request", "'tool_choice' must be none, auto, required or {\"type\":\"function\",…}, got \"%.*s\"",
                    (int)(v->len > 100 ? 100 : v->len), v->u.s);
            goto fail;
        }
    } else if (is_type(v, DSML_JV_OBJECT)) {
        const dsml_jv *name = dsml_jv_get(dsml_jv_get(v, "function"), "name");
        if (!is_type(name, DSML_JV_STRING)) {
            set_err(err, 400, "invalid_request", "named 'tool_choice' needs function.name");
            goto fail;
        }
        r->tool_choice = PROXY_TC_NAMED;
        if (!(r->tool_choice_name = jv_strdup(name)))
            OOM();
    } else if (!dsml_jv_is_null(v)) {
        set_err(err, 400, "invalid_request", "'tool_choice' must be a string or an object");
        goto fail;
    }
    if ((r->tool_choice == PROXY_TC_REQUIRED || r->tool_choice == PROXY_TC_NAMED) && !r->ntools) {
        set_err(err, 400, "invalid_request", "'tool_choice' requires 'tools'");
        goto fail;
    }
    if (r->tool_choice == PROXY_TC_NAMED) {
        int found = 0;
        for (size_t i = 0; i < r->ntools; i++)
            found |= !strcmp(r->tool_names[i], r->tool_choice_name);
        if (!found) {
            set_err(err, 400, "invalid_request", "'tool_choice' names \"%.100s\", which is not in 'tools'", r->tool_choice_name);
            goto fail;
        }
    }

    v = dsml_jv_get(root, "parallel_tool_calls");
    if (!dsml_jv_is_null(v)) {
        if (!is_bool(v)) {
            set_err(err, 400, "invalid_request", "'parallel_tool_calls' must be a boolean");
            goto fail;
        }
        r->parallel_tool_calls = v->type == DSML_JV_TRUE;
    }

    v = dsml_jv_get(root, "thinking");
    if (is_type(v, DSML_JV_OBJECT)) {
        const dsml_jv *t = dsml_jv_get(v, "type");
        if (dsml_jv_str_is(t, "enabled"))
            r->thinking = 1;
        else if (dsml_jv_str_is(t, "disabled"))
            r->thinking = 0;
        else {
            set_err(err, 400, "invalid_request", "'thinking.type' must be \"enabled\" or \"disabled\"");
            goto fail;
        }
    } else if (!dsml_jv_is_null(v)) {
        set_err(err, 400, "invalid_request", "'thinking' must be an object {\"type\":…}");
        goto fail;
    }
    v = dsml_jv_get(root, "reasoning_effort");
    if (is_type(v, DSML_JV_STRING)) {
        if (!(r->reasoning_effort = jv_strdup(v)))
            OOM();
    } else if (!dsml_jv_is_null(v)) {
        set_err(err, 400, "invalid_request", "'reasoning_effort' must be a string");
        goto fail;
    }
    return 0;
fail:
    proxy_req_free(r);
    return -1;
}

/* ===================================================================================== */
/* Number-exact writer for documents                                                    */
/* ===================================================================================== */

static void put_string(dsml_buf *b, const char *s, size_t len)
{
    dsml_buf_putc(b, '"');
    dsml_json_escape(s, len, b);
    dsml_buf_putc(b, '"');
}

int proxy_jv_write(const dsml_jv *v, dsml_buf *b)
{
    switch (v->type) {
    case DSML_JV_NULL: dsml_buf_puts(b, "null"); break;
    case DSML_JV_FALSE: dsml_buf_puts(b, "false"); break;
    case DSML_JV_TRUE: dsml_buf_puts(b, "true"); break;
    case DSML_JV_NUMBER: dsml_buf_add(b, v->u.s, v->len); break;
    case DSML_JV_STRING: put_string(b, v->u.s, v->len); break;
    case DSML_JV_ARRAY:
        dsml_buf_putc(b, '[');
        for (size_t i = 0; i < v->len; i++) {
            if (i)
                dsml_buf_putc(b, ',');
            proxy_jv_write(&v->u.items[i], b);
        }
        dsml_buf_putc(b, ']');
        break;
    case DSML_JV_OBJECT:
        dsml_buf_putc(b, '{');
        for (size_t i = 0; i < v->len; i++) {
            const dsml_jv_member *m = &v->u.members[i];
            if (i)
                dsml_buf_putc(b, ',');
            put_string(b, m->key, m->key_len);
            dsml_buf_putc(b, ':');
            proxy_jv_write(&m->value, b);
        }
        dsml_buf_putc(b, '}');
        break;
    }
    return b->oom ? -1 : 0;
}

/* ===================================================================================== */
/* Upstream body builder                                                                */
/* ===================================================================================== */

static proxy_jmember *jobj_find(const proxy_jobj *o, const char *key, size_t key_len)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->m[i].key_len == key_len && !memcmp(o->m[i].key, key, key_len))
            return &o->m[i];
    return NULL;
}

/* The member for key, appended empty when absent (NULL when out of memory). */
static proxy_jmember *jobj_slot(proxy_jobj *o, const char *key, size_t key_len)
{
    proxy_jmember *found = jobj_find(o, key, key_len);
    if (found)
        return found;
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 16;
        proxy_jmember *m = realloc(o->m, nc * sizeof *m);
        if (!m) {
            o->oom = 1;
            return NULL;
        }
        o->m = m;
        o->cap = nc;
    }
    proxy_jmember *m = &o->m[o->n];
    memset(m, 0, sizeof *m);
    m->key = malloc(key_len + 1);
    if (!m->key) {
        o->oom = 1;
        return NULL;
    }
    memcpy(m->key, key, key_len);
    m->key[key_len] = 0;
    m->key_len = key_len;
    o->n++;
    return m;
}

void proxy_jobj_init(proxy_jobj *o, const dsml_jv *obj)
{
    if (!obj || obj->type != DSML_JV_OBJECT)
        return;
    for (size_t i = 0; i < obj->len; i++) {
        const dsml_jv_member *jm = &obj->u.members[i];
        proxy_jmember *m = jobj_slot(o, jm->key, jm->key_len);
        if (m)
            m->jv = &jm->value;
    }
}

void proxy_jobj_free(proxy_jobj *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->m[i].key);
        free(o->m[i].raw);
    }
    free(o->m);
    memset(o, 0, sizeof *o);
}

const proxy_jmember *proxy_jobj_get(const proxy_jobj *o, const char *key)
{
    return jobj_find(o, key, strlen(key));
}

/* Set key to the JSON text raw, which the builder takes (freed here when out of memory). */
static void jobj_set_owned(proxy_jobj *o, const char *key, char *raw)
{
    proxy_jmember *m = raw ? jobj_slot(o, key, strlen(key)) : NULL;
    if (!m) {
        o->oom = 1;
        free(raw);
        return;
    }
    free(m->raw);
    m->raw = raw;
    m->jv = NULL;
}

void proxy_jobj_set(proxy_jobj *o, const char *key, const char *raw)
{
    jobj_set_owned(o, key, strdup(raw));
}

void proxy_jobj_set_str(proxy_jobj *o, const char *key, const char *s, size_t len)
{
    dsml_buf b = {0};
    put_string(&b, s, len);
    if (b.oom) {
        o->oom = 1;
        dsml_buf_free(&b);
        return;
    }
    jobj_set_owned(o, key, dsml_buf_take(&b, NULL));
}

void proxy_jobj_set_jv(proxy_jobj *o, const char *key, const dsml_jv *v)
{
    proxy_jmember *m = jobj_slot(o, key, strlen(key));
    if (!m)
        return;
    free(m->raw);
    m->raw = NULL;
    m->jv = v;
}

void proxy_jobj_default(proxy_jobj *o, const char *key, const char *raw)
{
    if (!jobj_find(o, key, strlen(key)))
        proxy_jobj_set(o, key, raw);
}

void proxy_jobj_del(proxy_jobj *o, const char *key)
{
    proxy_jmember *m = jobj_find(o, key, strlen(key));
    if (!m)
        return;
    free(m->key);
    free(m->raw);
    size_t i = (size_t)(m - o->m);
    memmove(&o->m[i], &o->m[i + 1], (o->n - i - 1) * sizeof *m);
    o->n--;
}

int proxy_jobj_write(const proxy_jobj *o, dsml_buf *out)
{
    dsml_buf_putc(out, '{');
    for (size_t i = 0; i < o->n; i++) {
        const proxy_jmember *m = &o->m[i];
        if (i)
            dsml_buf_putc(out, ',');
        put_string(out, m->key, m->key_len);
        dsml_buf_putc(out, ':');
        if (m->raw)
            dsml_buf_puts(out, m->raw);
        else
            proxy_jv_write(m->jv, out);
    }
    dsml_buf_putc(out, '}');
    return o->oom || out->oom ? -1 : 0;
}
