/*
 * dsml_sse.h - incremental Server-Sent Events reader (WHATWG HTML "event stream
 * interpretation"): OpenAI streams from an upstream (dsml-proxy), from a capture file
 * (dsml check) or from a live endpoint (dsml conform). Bytes only: no sockets.
 *
 * Push model: feed bytes in any chunking; complete events are delivered to a callback.
 * Rules: lines end with CRLF, LF or CR (a CRLF split across feeds counts once); a leading
 * UTF-8 BOM is skipped; lines starting with ':' are comments; the field name runs to the
 * first ':' and one space after it is dropped; `data` lines are joined with "\n"; `event`,
 * `id` (ignored when it contains NUL) and `retry` (digits only) are kept; other fields are
 * ignored; a blank line dispatches the event when its data is non-empty (otherwise only
 * the event type is reset). An event not ended by a blank line at end of stream is not
 * dispatched: dsml_sse_finish() reports it.
 *
 * Memory: two growable buffers (current line when it spans feeds, event data), bounded by
 * max_line / max_event; going over is a sticky error with the byte offset.
 */
#ifndef DSML_SSE_H
#define DSML_SSE_H

#include <stddef.h>
#include <stdint.h>

typedef enum dsml_sse_status {
    DSML_SSE_OK = 0,
    DSML_SSE_LINE_TOO_LONG = 1,   /* a line over max_line bytes */
    DSML_SSE_EVENT_TOO_LONG = 2,  /* event data over max_event bytes */
    DSML_SSE_NOMEM = 3,
    DSML_SSE_STOPPED = 4,         /* the callback returned nonzero */
    DSML_SSE_TRUNCATED = 5,       /* finish: input ended inside an event */
} dsml_sse_status;

typedef struct dsml_sse_event {
    const char *type;     /* "message" unless an event: field set it; NUL-terminated */
    const char *data;     /* joined data lines, NUL-terminated (len excludes the NUL) */
    size_t data_len;
    const char *id;       /* last event id ("" if none), NUL-terminated */
    long retry_ms;        /* last retry: value, -1 if none */
} dsml_sse_event;

/* Return 0 to continue, nonzero to stop (the reader then reports DSML_SSE_STOPPED). */
typedef int (*dsml_sse_fn)(void *ud, const dsml_sse_event *e);

typedef struct dsml_sse_sbuf {
    char *p;
    size_t len, cap;
} dsml_sse_sbuf;

typedef struct dsml_sse {
    dsml_sse_fn fn;
    void *ud;
    size_t max_line, max_event;
    dsml_sse_sbuf line, data, type, id;
    long retry_ms;
    uint64_t offset;          /* bytes fed so far */
    uint64_t error_at;        /* offset of the byte that caused the error */
    dsml_sse_status status;
    unsigned char after_cr;   /* previous byte was CR: a following LF is part of it */
    unsigned char bom;        /* 0: start of stream, 1..2: BOM bytes matched, 3: past */
    unsigned char has_data;   /* at least one data: line in the current event */
    unsigned char has_fields; /* any field seen since the last dispatch */
} dsml_sse;

/* Initialise (no allocation yet). max_line / max_event 0 = 1 MiB / 16 MiB. */
void dsml_sse_init(dsml_sse *s, size_t max_line, size_t max_event, dsml_sse_fn fn, void *ud);
/* Release the buffers (the struct may be re-initialised afterwards). */
void dsml_sse_free(dsml_sse *s);
/* Feed bytes; fires the callback for each complete event. Returns the sticky status. */
dsml_sse_status dsml_sse_feed(dsml_sse *s, const char *data, size_t len);
/* End of stream: a last line without terminator is processed as a line; then, if an event
 * is still open (fields seen, no blank line), returns DSML_SSE_TRUNCATED. */
dsml_sse_status dsml_sse_finish(dsml_sse *s);
/* Static description of a status. */
const char *dsml_sse_strerror(dsml_sse_status st);

#endif
