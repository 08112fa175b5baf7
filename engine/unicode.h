/*
 * unicode.h - the little Unicode the tokenizer needs: UTF-8 decoding that never fails
 * (an invalid byte decodes as itself with class OTHER) and general-category classes.
 */
#ifndef DSV4_UNICODE_H
#define DSV4_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum dsv4_uc_class {
    DSV4_UC_OTHER = 0,     /* C* and unassigned */
    DSV4_UC_LETTER = 1,    /* L* */
    DSV4_UC_MARK = 2,      /* M* */
    DSV4_UC_NUMBER = 3,    /* N* */
    DSV4_UC_PUNCT = 4,     /* P* */
    DSV4_UC_SYMBOL = 5,    /* S* */
    DSV4_UC_SEPARATOR = 6, /* Z* */
};

extern const unsigned dsv4_uc_nranges;
extern const uint32_t dsv4_uc_start[];
extern const uint8_t dsv4_uc_class[];

/* Class of a code point (values above 0x10FFFF are OTHER). */
int dsv4_uc_classify(uint32_t cp);

/* Whitespace as Oniguruma's \s matches it in Unicode mode: U+0009..U+000D, U+0085 and the
 * separators (Zs, Zl, Zp). */
int dsv4_uc_is_space(uint32_t cp);

/* Decode one character at s[0..n) (n >= 1). Returns its length in bytes (1..4) and the code
 * point in *cp. Malformed, overlong, surrogate or truncated sequences yield length 1 and
 * *cp = 0x110000 + byte (class OTHER, never whitespace). */
int dsv4_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

#ifdef __cplusplus
}
#endif
#endif
