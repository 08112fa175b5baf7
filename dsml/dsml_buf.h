/*
 * dsml_buf.h - a growable byte buffer and the byte sink that writers use.
 *
 * Every writer in libdsml (renderer, converters, OpenAI message/chunk writers) writes to a
 * dsml_sink supplied by the caller; dsml_buf is the ready-made sink into memory.
 */
#ifndef DSML_BUF_H
#define DSML_BUF_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A byte sink. write() returns 0 on success, nonzero to abort the writer (the writer then
 * returns that failure to its caller). */
typedef struct dsml_sink {
    int (*write)(void *ud, const char *data, size_t len);
    void *ud;
} dsml_sink;

/* Growable buffer. data is always NUL-terminated when non-NULL (the NUL is not counted in
 * len). Zero-initialise ({0}) to start; release with dsml_buf_free(). A failed allocation
 * sets oom and makes later appends no-ops, so callers may check once at the end. */
typedef struct dsml_buf {
    char *data;
    size_t len, cap;
    int oom;
} dsml_buf;

/* Append len bytes. Returns 0, or -1 when out of memory (oom set). */
int dsml_buf_add(dsml_buf *b, const void *data, size_t len);
/* Append a NUL-terminated string. Returns 0 or -1. */
int dsml_buf_puts(dsml_buf *b, const char *s);
/* Append one byte. Returns 0 or -1. */
int dsml_buf_putc(dsml_buf *b, char c);
/* Append printf-formatted text. Returns 0 or -1. */
int dsml_buf_printf(dsml_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Make room for at least `extra` more bytes without changing len. Returns 0 or -1. */
int dsml_buf_reserve(dsml_buf *b, size_t extra);
/* Set len to 0 (keeps the memory). */
void dsml_buf_clear(dsml_buf *b);
/* Release the memory and zero the struct. */
void dsml_buf_free(dsml_buf *b);
/* Hand the data over to the caller (free() it) and zero the struct. Never NULL unless
 * out of memory: an empty buffer yields "". */
char *dsml_buf_take(dsml_buf *b, size_t *len);

/* A sink that appends to *b (b must outlive the sink's use). */
dsml_sink dsml_buf_sink(dsml_buf *b);

#ifdef __cplusplus
}
#endif
#endif
