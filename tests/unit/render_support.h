/*
 * render_support.h - small helpers shared by the jv_* and render_* unit tests: reading test
 * data from spec/ (relative to the repository root, or to $DSML_ROOT when set) and a sink
 * that can be told to fail.
 */
#ifndef RENDER_SUPPORT_H
#define RENDER_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_buf.h"

/* Path of a file under the repository root (static buffer: use before the next call). */
static inline const char *rs_path(const char *rel)
{
    static char buf[4096];
    const char *root = getenv("DSML_ROOT");
    snprintf(buf, sizeof buf, "%s/%s", root && *root ? root : ".", rel);
    return buf;
}

/* Read a whole file; NULL when it cannot be read. The result is NUL-terminated. */
static inline char *rs_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    dsml_buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) dsml_buf_add(&b, tmp, n);
    fclose(f);
    if (b.oom) {
        dsml_buf_free(&b);
        return NULL;
    }
    return dsml_buf_take(&b, len);
}

/* A sink into a buffer that fails on write number `fail_at` (counting from 0; -1 = never). */
typedef struct rs_failing {
    dsml_buf buf;
    long writes, fail_at;
} rs_failing;

static inline int rs_failing_write(void *ud, const char *d, size_t n)
{
    rs_failing *f = ud;
    if (f->writes++ == f->fail_at) return 1;
    return dsml_buf_add(&f->buf, d, n);
}

#endif
