/*
 * testutil.c - normalised event logs for chunking-invariance checks (testutil.h).
 */
#include <stdio.h>
#include <string.h>

#include "dsml_json.h"
#include "testutil.h"

static void put_bytes(dsml_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') dsml_buf_puts(b, "\\\\");
        else if (c >= 0x20 && c != 0x7f) dsml_buf_putc(b, (char)c);
        else dsml_buf_printf(b, "\\x%02x", c);
    }
}

static int data(tu_rec *r, char kind, const char *at, size_t len)
{
    if (r->last != kind) {
        if (r->log.len) dsml_buf_putc(&r->log, '\n');
        dsml_buf_putc(&r->log, kind);
        dsml_buf_putc(&r->log, ':');
        r->last = kind;
    }
    put_bytes(&r->log, at, len);
    return 0;
}

static int line(tu_rec *r, const char *fmt, const char *s, size_t n, unsigned v)
{
    if (r->log.len) dsml_buf_putc(&r->log, '\n');
    r->last = 0;
    dsml_buf_puts(&r->log, fmt);
    if (s) put_bytes(&r->log, s, n);
    if (v != (unsigned)-1) dsml_buf_printf(&r->log, ":%u", v);
    return 0;
}

static int on_reasoning(void *ud, const char *at, size_t len) { return data(ud, 'R', at, len); }
static int on_reasoning_end(void *ud) { return line(ud, "r", NULL, 0, (unsigned)-1); }
static int on_content(void *ud, const char *at, size_t len) { return data(ud, 'C', at, len); }
static int on_block_begin(void *ud, dsml_dialect d)
{
    return line(ud, "B:", dsml_dialect_name(d), strlen(dsml_dialect_name(d)), (unsigned)-1);
}
static int on_invoke(void *ud, const char *name, size_t len)
{
    return line(ud, "I:", name, len, (unsigned)-1);
}
static int on_param(void *ud, const char *name, size_t len, unsigned flags)
{
    return line(ud, "P:", name, len, flags);
}
static int on_value(void *ud, const char *at, size_t len) { return data(ud, 'V', at, len); }
static int on_param_end(void *ud, unsigned flags) { return line(ud, "p", NULL, 0, flags); }
static int on_args(void *ud, const char *at, size_t len) { return data(ud, 'A', at, len); }
static int on_invoke_end(void *ud, unsigned flags) { return line(ud, "i", NULL, 0, flags); }
static int on_block_end(void *ud, unsigned flags) { return line(ud, "b", NULL, 0, flags); }
static int on_warning(void *ud, const dsml_diag *w)
{
    tu_rec *r = ud;
    line(r, "W:", dsml_code_name(w->code), strlen(dsml_code_name(w->code)), (unsigned)-1);
    dsml_buf_printf(&r->log, "@%llu", (unsigned long long)w->offset);
    return 0;
}

dsml_callbacks tu_callbacks(void)
{
    dsml_callbacks cb = {
        .on_reasoning = on_reasoning, .on_reasoning_end = on_reasoning_end,
        .on_content = on_content,     .on_block_begin = on_block_begin,
        .on_invoke = on_invoke,       .on_param = on_param,
        .on_value = on_value,         .on_param_end = on_param_end,
        .on_args = on_args,           .on_invoke_end = on_invoke_end,
        .on_block_end = on_block_end, .on_warning = on_warning,
    };
    return cb;
}

void tu_log_result(tu_rec *rec, const dsml_result *r)
{
    line(rec, "=", NULL, 0, (unsigned)-1);
    dsml_buf_printf(&rec->log, "%d:%s@%llu:%u:%llu", (int)r->status,
                    dsml_code_name(r->error.code), (unsigned long long)r->error.offset,
                    r->calls, (unsigned long long)r->incomplete_at);
}

dsml_code tu_parse_log(const char *text, size_t len, const dsml_options *o, size_t chunk,
                       size_t split, tu_rec *rec)
{
    dsml_buf_clear(&rec->log);
    rec->last = 0;
    dsml_callbacks cb = tu_callbacks();
    dsml_parser *p = dsml_parser_new(o, &cb, rec);
    if (!p) return DSML_E_NOMEM;
    dsml_code c = DSML_OK;
    if (chunk) {
        for (size_t i = 0; i < len && c == DSML_OK; i += chunk)
            c = dsml_feed(p, text + i, len - i < chunk ? len - i : chunk);
    } else {
        if (split > len) split = len;
        c = dsml_feed(p, text, split);
        if (c == DSML_OK) c = dsml_feed(p, text + split, len - split);
    }
    dsml_code f = dsml_finish(p);
    if (c == DSML_OK) c = f;
    tu_log_result(rec, dsml_result_get(p));
    dsml_parser_free(p);
    return c;
}

void tu_rec_free(tu_rec *rec) { dsml_buf_free(&rec->log); }

/* ---- JSON comparison ---------------------------------------------------------------- */

static int int_text_equal(const char *a, size_t al, const char *b, size_t bl)
{
    if (al == 2 && !memcmp(a, "-0", 2)) a = "0", al = 1;
    if (bl == 2 && !memcmp(b, "-0", 2)) b = "0", bl = 1;
    return al == bl && !memcmp(a, b, al);
}

int tu_jv_equal(const dsml_jv *a, const dsml_jv *b)
{
    if (a->type != b->type) return 0;
    switch (a->type) {
    case DSML_JV_NUMBER: {
        if (a->is_float != b->is_float) return 0;
        if (!a->is_float) return int_text_equal(a->u.s, a->len, b->u.s, b->len);
        double x, y;
        return !dsml_json_number_to_double(a->u.s, a->len, &x) &&
               !dsml_json_number_to_double(b->u.s, b->len, &y) && x == y;
    }
    case DSML_JV_STRING: return a->len == b->len && !memcmp(a->u.s, b->u.s, a->len);
    case DSML_JV_ARRAY:
        if (a->len != b->len) return 0;
        for (size_t i = 0; i < a->len; i++)
            if (!tu_jv_equal(&a->u.items[i], &b->u.items[i])) return 0;
        return 1;
    case DSML_JV_OBJECT:
        if (a->len != b->len) return 0;
        for (size_t i = 0; i < a->len; i++) {
            const dsml_jv_member *x = &a->u.members[i], *y = &b->u.members[i];
            if (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) ||
                !tu_jv_equal(&x->value, &y->value))
                return 0;
        }
        return 1;
    default: return 1;
    }
}
