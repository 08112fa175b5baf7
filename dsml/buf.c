/*
 * buf.c - growable byte buffer and the memory sink (dsml_buf.h).
 * Invariant: data, when non-NULL, has cap >= len + 1 and data[len] == 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_buf.h"

int dsml_buf_reserve(dsml_buf *b, size_t extra)
{
    if (b->oom) return -1;
    if (extra > (size_t)-1 / 2 - b->len) goto fail;
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) goto fail;
    b->data = d;
    b->cap = cap;
    d[b->len] = 0;
    return 0;
fail:
    b->oom = 1;
    return -1;
}

int dsml_buf_add(dsml_buf *b, const void *data, size_t len)
{
    if (dsml_buf_reserve(b, len)) return -1;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

int dsml_buf_puts(dsml_buf *b, const char *s) { return dsml_buf_add(b, s, strlen(s)); }

int dsml_buf_putc(dsml_buf *b, char c) { return dsml_buf_add(b, &c, 1); }

int dsml_buf_printf(dsml_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || dsml_buf_reserve(b, (size_t)n)) return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void dsml_buf_clear(dsml_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = 0;
}

void dsml_buf_free(dsml_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

char *dsml_buf_take(dsml_buf *b, size_t *len)
{
    if (!b->data && dsml_buf_reserve(b, 0)) return NULL;
    if (b->oom) return NULL;
    char *d = b->data;
    if (len) *len = b->len;
    b->data[b->len] = 0;
    memset(b, 0, sizeof *b);
    return d;
}

static int buf_sink_write(void *ud, const char *data, size_t len)
{
    return dsml_buf_add(ud, data, len);
}

dsml_sink dsml_buf_sink(dsml_buf *b)
{
    dsml_sink s = {buf_sink_write, b};
    return s;
}
