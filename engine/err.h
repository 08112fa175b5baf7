/*
 * err.h - the engine's one-line error messages.
 *
 * Functions of the engine that can fail take (char *err, size_t errlen): on failure they
 * write one line naming what failed (a tensor, a key, a file) into err.
 */
#ifndef DSV4_ERR_H
#define DSV4_ERR_H

#include <stddef.h>

/* printf-format a message into err[0..errlen) (truncated, always NUL-terminated). Does
 * nothing when err is NULL or errlen is 0, so callers may pass no buffer. Any thread. */
void dsv4_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
