/*
 * chat.c - chat prompt rendering through libdsml's segment renderer (when built with it:
 * DSV4_HAVE_RENDER), else a clear error.
 */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef DSV4_HAVE_RENDER
#include "dsml_render.h"

struct seg_ctx {
    const struct dsv4_tokenizer *t;
    struct dsv4_ids *out;
    char *err;
    size_t errlen;
};

static int on_segment(void *ud, const char *data, size_t len, int is_special)
{
    struct seg_ctx *c = ud;
    struct dsv4_tok_segment s = {data, len, is_special};
    return dsv4_tokenize(c->t, &s, 1, c->out, c->err, c->errlen) ? 1 : 0;
}

/* JSON string literal of s into b (minimal escaping). */
static void json_str(dsml_buf *b, const char *s)
{
    dsml_buf_putc(b, '"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            dsml_buf_putc(b, '\\');
            dsml_buf_putc(b, (char)ch);
        } else if (ch < 0x20) {
            dsml_buf_printf(b, "\\u%04x", ch);
        } else {
            dsml_buf_putc(b, (char)ch);
        }
    }
    dsml_buf_putc(b, '"');
}

int dsv4_chat_available(void) { return 1; }

int dsv4_chat_tokenize(const struct dsv4_tokenizer *t, const char *user_text, int thinking, struct dsv4_ids *out,
                       char *err, size_t errlen)
{
    dsml_buf req = {0};
    dsml_buf_puts(&req, "{\"messages\":[{\"role\":\"user\",\"content\":");
    json_str(&req, user_text);
    dsml_buf_puts(&req, "}]}");
    if (req.oom) {
        dsml_buf_free(&req);
        snprintf(err, errlen, "chat: out of memory");
        return -1;
    }
    dsml_render_options o;
    dsml_render_options_init(&o);
    o.thinking = thinking ? DSML_THINKING_ON : DSML_THINKING_OFF;
    struct seg_ctx c = {t, out, err, errlen};
    dsml_segment_sink sink = {on_segment, &c};
    dsml_render_error re;
    if (err && errlen) err[0] = 0;
    int rc = dsml_render_prompt_segments(req.data, req.len, &o, &sink, &re);
    dsml_buf_free(&req);
    if (rc) {
        if (err && errlen && !err[0]) snprintf(err, errlen, "chat: render: %s", re.message);
        return -1;
    }
    return 0;
}

#else

int dsv4_chat_available(void) { return 0; }

int dsv4_chat_tokenize(const struct dsv4_tokenizer *t, const char *user_text, int thinking, struct dsv4_ids *out,
                       char *err, size_t errlen)
{
    (void)t;
    (void)user_text;
    (void)thinking;
    (void)out;
    snprintf(err, errlen, "chat: this build has no dsml renderer (dsml/dsml_render.h); use a raw prompt");
    return -1;
}

#endif
