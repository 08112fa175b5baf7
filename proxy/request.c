/*
 * request.c - client request reader and number-preserving JSON writer (see request.h).
 */
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_err(proxy_req_error *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>

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

json_t *proxy_json_parse_object(const char *body, size_t len, proxy_req_error *err)
{
    json_error_t je;
    memset(err, 0, sizeof *err);
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!root) {
        err->position = (size_t)je.position;
        set_err(err, 400, "invalid_json", "invalid JSON at byte %zu (line %d, column %d): %s",
                (size_t)je.position, je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        set_err(err, 400, "invalid_request", "request body must be a JSON object");
        return NULL;
    }
    return root;
}

void proxy_req_free(proxy_req *r)
{
    if (r->root)
        json_decref(r->root);
    free(r->tool_names);
    memset(r, 0, sizeof *r);
}

int proxy_req_parse(const char *body, size_t len, proxy_req *r, proxy_req_error *err)
{
    memset(r, 0, sizeof *r);
    r->root = proxy_json_parse_object(body, len, err);
    if (!r->root)
        return -1;
    json_t *root = r->root;
    r->parallel_tool_calls = 1;
    r->thinking = -1;

    json_t *v = json_object_get(root, "model");
    if (!json_is_string(v)) {
        set_err(err, 400, "invalid_request", "'model' is required and must be a string");
        goto fail;
    }
    r->model = json_string_value(v);

    v = json_object_get(root, "messages");
    if (!json_is_array(v) || json_array_size(v) == 0) {
        set_err(err, 400, "invalid_request", "'messages' must be a non-empty array");
        goto fail;
    }
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m)
    {
        json_t *role = json_object_get(m, "role");
        if (!json_is_object(m) || !json_is_string(role)) {
            set_err(err, 400, "invalid_request", "messages[%zu] must be an object with a 'role'", i);
            goto fail;
        }
    }

    v = json_object_get(root, "stream");
    if (v && !json_is_boolean(v) && !json_is_null(v)) {
        set_err(err, 400, "invalid_request", "'stream' must be a boolean");
        goto fail;
    }
    r->stream = json_is_true(v);
    v = json_object_get(root, "stream_options");
    if (json_is_object(v))
        r->include_usage = json_is_true(json_object_get(v, "include_usage"));

    v = json_object_get(root, "n");
    if (v && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) == 1)) {
        set_err(err, 400, "invalid_request", "only n=1 is supported");
        goto fail;
    }

    v = json_object_get(root, "tools");
    if (v && !json_is_null(v)) {
        if (!json_is_array(v)) {
            set_err(err, 400, "invalid_request", "'tools' must be an array");
            goto fail;
        }
        r->ntools = json_array_size(v);
        r->tool_names = calloc(r->ntools ? r->ntools : 1, sizeof *r->tool_names);
        if (!r->tool_names) {
            set_err(err, 500, "server_error", "out of memory");
            goto fail;
        }
        json_t *t;
        json_array_foreach(v, i, t)
        {
            json_t *fn = json_object_get(t, "function");
            json_t *name = json_object_get(fn, "name");
            if (!json_is_object(t) || !json_is_string(name)) {
                set_err(err, 400, "invalid_request", "tools[%zu] must be {\"type\":\"function\",\"function\":{\"name\":…}}", i);
                goto fail;
            }
            r->tool_names[i] = json_string_value(name);
        }
    }

    r->tool_choice = r->ntools ? PROXY_TC_AUTO : PROXY_TC_NONE;
    v = json_object_get(root, "tool_choice");
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!strcmp(s, "none"))
            r->tool_choice = PROXY_TC_NONE;
        else if (!strcmp(s, "auto"))
            r->tool_choice = PROXY_TC_AUTO;
        else if (!strcmp(s, "required"))
            r->tool_choice = PROXY_TC_REQUIRED;
        else {
            set_err(err, 400, "invalid_request", "'tool_choice' must be none, auto, required or {\"type\":\"function\",…}, got \"%s\"", s);
            goto fail;
        }
    } else if (json_is_object(v)) {
        json_t *name = json_object_get(json_object_get(v, "function"), "name");
        if (!json_is_string(name)) {
            set_err(err, 400, "invalid_request", "named 'tool_choice' needs function.name");
            goto fail;
        }
        r->tool_choice = PROXY_TC_NAMED;
        r->tool_choice_name = json_string_value(name);
    } else if (v && !json_is_null(v)) {
        set_err(err, 400, "invalid_request", "'tool_choice' must be a string or an object");
        goto fail;
    }
    if ((r->tool_choice == PROXY_TC_REQUIRED || r->tool_choice == PROXY_TC_NAMED) && !r->ntools) {
        set_err(err, 400, "invalid_request", "'tool_choice' requires 'tools'");
        goto fail;
    }
    if (r->tool_choice == PROXY_TC_NAMED) {
        int found = 0;
        for (i = 0; i < r->ntools; i++)
            found |= !strcmp(r->tool_names[i], r->tool_choice_name);
        if (!found) {
            set_err(err, 400, "invalid_request", "'tool_choice' names \"%s\", which is not in 'tools'", r->tool_choice_name);
            goto fail;
        }
    }

    v = json_object_get(root, "parallel_tool_calls");
    if (v && !json_is_null(v)) {
        if (!json_is_boolean(v)) {
            set_err(err, 400, "invalid_request", "'parallel_tool_calls' must be a boolean");
            goto fail;
        }
        r->parallel_tool_calls = json_is_true(v);
    }

    v = json_object_get(root, "thinking");
    if (json_is_object(v)) {
        const char *t = json_string_value(json_object_get(v, "type"));
        if (t && !strcmp(t, "enabled"))
            r->thinking = 1;
        else if (t && !strcmp(t, "disabled"))
            r->thinking = 0;
        else {
            set_err(err, 400, "invalid_request", "'thinking.type' must be \"enabled\" or \"disabled\"");
            goto fail;
        }
    } else if (v && !json_is_null(v)) {
        set_err(err, 400, "invalid_request", "'thinking' must be an object {\"type\":…}");
        goto fail;
    }
    v = json_object_get(root, "reasoning_effort");
    if (json_is_string(v))
        r->reasoning_effort = json_string_value(v);
    else if (v && !json_is_null(v)) {
        set_err(err, 400, "invalid_request", "'reasoning_effort' must be a string");
        goto fail;
    }
    return 0;
fail:
    proxy_req_free(r);
    return -1;
}

/* ===================================================================================== */
/* Writer                                                                                */
/* ===================================================================================== */

int proxy_json_double(double d, char out[32])
{
    int n = 0;
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf(out, 32, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    if (!strpbrk(out, ".eEn")) { /* looks like an integer: keep it a real */
        out[n++] = '.';
        out[n++] = '0';
        out[n] = 0;
    }
    return n;
}

static int write_string(dsml_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    dsml_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        dsml_buf_add(b, s + run, i - run);
        run = i + 1;
        char e[7] = {'\\', 0};
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        default:
            memcpy(e, "\\u00", 4);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            dsml_buf_add(b, e, 6);
            continue;
        }
        dsml_buf_add(b, e, 2);
    }
    dsml_buf_add(b, s + run, len - run);
    return dsml_buf_putc(b, '"');
}

int proxy_json_write(const json_t *v, dsml_buf *b)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        int first = 1;
        dsml_buf_putc(b, '{');
        json_object_foreach((json_t *)v, k, x)
        {
            if (!first)
                dsml_buf_putc(b, ',');
            first = 0;
            write_string(b, k, strlen(k));
            dsml_buf_putc(b, ':');
            proxy_json_write(x, b);
        }
        dsml_buf_putc(b, '}');
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        dsml_buf_putc(b, '[');
        json_array_foreach((json_t *)v, i, x)
        {
            if (i)
                dsml_buf_putc(b, ',');
            proxy_json_write(x, b);
        }
        dsml_buf_putc(b, ']');
        break;
    }
    case JSON_STRING:
        write_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        dsml_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        dsml_buf_add(b, num, (size_t)proxy_json_double(json_real_value(v), num));
        break;
    case JSON_TRUE: dsml_buf_puts(b, "true"); break;
    case JSON_FALSE: dsml_buf_puts(b, "false"); break;
    case JSON_NULL: dsml_buf_puts(b, "null"); break;
    }
    return b->oom ? -1 : 0;
}
