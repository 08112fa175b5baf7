/*
 * utf8.h - private to libdsml (not installed): the one UTF-8 sequence check shared by the
 * lexer, the JSON escaper and the JSON document parser.
 */
#ifndef DSML_UTF8_H
#define DSML_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 character at s[0..n) (n >= 1): 1 for ASCII, 2..4 for a
 * well-formed multi-byte sequence (no overlong forms, no surrogates, at most U+10FFFF),
 * 0 when none starts there or it is cut off by n. */
static inline size_t dsml_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t k;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) k = 2;
    else if (c >= 0xE0 && c <= 0xEF) k = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) k = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    if (n < k || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < k; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return k;
}

#endif
