/*
 * sse.c - WHATWG Server-Sent Events reader (see dsml_sse.h).
 *
 * Invariant: bytes of a line that ends inside the current feed are processed in place;
 * only the unterminated tail of a feed is copied into s->line, so a line is never copied
 * twice and the reader never re-scans bytes it has seen.
 */
#include "dsml_sse.h"

#include <stdlib.h>
#include <string.h>

static int sb_add(dsml_sse_sbuf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->len + n + 1)
            c *= 2;
        char *q = realloc(b->p, c);
        if (!q)
            return -1;
        b->p = q;
        b->cap = c;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

static void sb_set(dsml_sse_sbuf *b, const char *p, size_t n, int *oom)
{
    b->len = 0;
    if (sb_add(b, p, n) < 0)
        *oom = 1;
}

void dsml_sse_init(dsml_sse *s, size_t max_line, size_t max_event, dsml_sse_fn fn, void *ud)
{
    memset(s, 0, sizeof *s);
    s->fn = fn;
    s->ud = ud;
    s->max_line = max_line ? max_line : (1u << 20);
    s->max_event = max_event ? max_event : (16u << 20);
    s->retry_ms = -1;
}

void dsml_sse_free(dsml_sse *s)
{
    free(s->line.p);
    free(s->data.p);
    free(s->type.p);
    free(s->id.p);
    memset(&s->line, 0, sizeof s->line);
    memset(&s->data, 0, sizeof s->data);
    memset(&s->type, 0, sizeof s->type);
    memset(&s->id, 0, sizeof s->id);
}

const char *dsml_sse_strerror(dsml_sse_status st)
{
    switch (st) {
    case DSML_SSE_OK: return "no error";
    case DSML_SSE_LINE_TOO_LONG: return "SSE line longer than the limit";
    case DSML_SSE_EVENT_TOO_LONG: return "SSE event data longer than the limit";
    case DSML_SSE_NOMEM: return "out of memory";
    case DSML_SSE_STOPPED: return "stopped by the event handler";
    case DSML_SSE_TRUNCATED: return "stream ended inside an event";
    }
    return "?";
}

static dsml_sse_status fail(dsml_sse *s, dsml_sse_status st, uint64_t at)
{
    s->status = st;
    s->error_at = at;
    return st;
}

/* Process one complete line (without its terminator). `at` = offset of its first byte. */
static dsml_sse_status line(dsml_sse *s, const char *p, size_t n, uint64_t at)
{
    int oom = 0;
    if (n == 0) {
        if (s->has_data) {
            dsml_sse_event e;
            /* the data buffer ends with the "\n" added after each data line: drop it */
            size_t dl = s->data.len ? s->data.len - 1 : 0;
            if (s->data.p)
                s->data.p[dl] = 0;
            e.data = s->data.p ? s->data.p : "";
            e.data_len = dl;
            e.type = s->type.len ? s->type.p : "message";
            e.id = s->id.len ? s->id.p : "";
            e.retry_ms = s->retry_ms;
            int stop = s->fn ? s->fn(s->ud, &e) : 0;
            s->data.len = 0;
            s->type.len = 0;
            s->has_data = 0;
            s->has_fields = 0;
            if (stop)
                return fail(s, DSML_SSE_STOPPED, at);
        } else {
            s->data.len = 0;
            s->type.len = 0;
            s->has_fields = 0;
        }
        return DSML_SSE_OK;
    }
    if (p[0] == ':')
        return DSML_SSE_OK; /* comment */
    const char *colon = memchr(p, ':', n);
    size_t fl = colon ? (size_t)(colon - p) : n;
    const char *v = colon ? colon + 1 : p + n;
    size_t vl = colon ? n - fl - 1 : 0;
    if (vl && v[0] == ' ') {
        v++;
        vl--;
    }
    s->has_fields = 1;
    if (fl == 4 && memcmp(p, "data", 4) == 0) {
        if (s->data.len + vl + 1 > s->max_event)
            return fail(s, DSML_SSE_EVENT_TOO_LONG, at);
        if (sb_add(&s->data, v, vl) < 0 || sb_add(&s->data, "\n", 1) < 0)
            return fail(s, DSML_SSE_NOMEM, at);
        s->has_data = 1;
    } else if (fl == 5 && memcmp(p, "event", 5) == 0) {
        sb_set(&s->type, v, vl, &oom);
    } else if (fl == 2 && memcmp(p, "id", 2) == 0) {
        if (!memchr(v, 0, vl))
            sb_set(&s->id, v, vl, &oom);
    } else if (fl == 5 && memcmp(p, "retry", 5) == 0) {
        long r = 0;
        size_t i;
        for (i = 0; i < vl && v[i] >= '0' && v[i] <= '9'; i++)
            r = r < 100000000 ? r * 10 + (v[i] - '0') : r;
        if (vl && i == vl)
            s->retry_ms = r;
    }
    return oom ? fail(s, DSML_SSE_NOMEM, at) : DSML_SSE_OK;
}

dsml_sse_status dsml_sse_feed(dsml_sse *s, const char *data, size_t len)
{
    if (s->status)
        return s->status;
    size_t i = 0;
    /* UTF-8 BOM (EF BB BF) at the very start of the stream, possibly split. */
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    while (s->bom < 3 && i < len) {
        if ((unsigned char)data[i] == bom[s->bom]) {
            s->bom++;
            i++;
            if (s->bom == 3)
                break;
        } else {
            /* not a BOM: give back the bytes matched so far as line content */
            if (s->bom && sb_add(&s->line, (const char *)bom, s->bom) < 0)
                return fail(s, DSML_SSE_NOMEM, s->offset);
            s->bom = 3;
        }
    }
    if (s->bom < 3) { /* whole feed was a BOM prefix */
        s->offset += len;
        return DSML_SSE_OK;
    }
    size_t start = i; /* first byte of the current line within data */
    for (; i < len; i++) {
        char c = data[i];
        if (c != '\n' && c != '\r') {
            s->after_cr = 0;
            continue;
        }
        if (c == '\n' && s->after_cr && i == start && s->line.len == 0) {
            /* LF of a CRLF whose CR ended the previous line */
            s->after_cr = 0;
            start = i + 1;
            continue;
        }
        s->after_cr = (c == '\r');
        uint64_t at = s->offset + start - s->line.len;
        dsml_sse_status st;
        if (s->line.len) {
            if (s->line.len + (i - start) > s->max_line)
                return fail(s, DSML_SSE_LINE_TOO_LONG, at);
            if (sb_add(&s->line, data + start, i - start) < 0)
                return fail(s, DSML_SSE_NOMEM, at);
            st = line(s, s->line.p, s->line.len, at);
            s->line.len = 0;
        } else {
            if (i - start > s->max_line)
                return fail(s, DSML_SSE_LINE_TOO_LONG, at);
            st = line(s, data + start, i - start, at);
        }
        if (st) {
            s->offset += i + 1;
            return st;
        }
        start = i + 1;
    }
    if (start < len) {
        if (s->line.len + (len - start) > s->max_line)
            return fail(s, DSML_SSE_LINE_TOO_LONG, s->offset + start - s->line.len);
        if (sb_add(&s->line, data + start, len - start) < 0)
            return fail(s, DSML_SSE_NOMEM, s->offset + start);
    }
    s->offset += len;
    return DSML_SSE_OK;
}

dsml_sse_status dsml_sse_finish(dsml_sse *s)
{
    if (s->status)
        return s->status;
    if (s->bom > 0 && s->bom < 3) {
        /* stream was only a BOM prefix: those bytes are a (unterminated) line */
        static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
        if (sb_add(&s->line, (const char *)bom, s->bom) < 0)
            return fail(s, DSML_SSE_NOMEM, 0);
        s->bom = 3;
    }
    if (s->line.len) {
        dsml_sse_status st = line(s, s->line.p, s->line.len, s->offset - s->line.len);
        s->line.len = 0;
        if (st)
            return st;
    }
    if (s->has_fields)
        return fail(s, DSML_SSE_TRUNCATED, s->offset);
    return DSML_SSE_OK;
}
