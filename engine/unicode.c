/*
 * unicode.c - UTF-8 decoding and class lookup (binary search over unicode_data.c).
 */
#include "unicode.h"

int dsv4_uc_classify(uint32_t cp)
{
    if (cp > 0x10FFFF) return DSV4_UC_OTHER;
    unsigned lo = 0, hi = dsv4_uc_nranges; /* find the last start <= cp */
    while (hi - lo > 1) {
        unsigned mid = (lo + hi) / 2;
        if (dsv4_uc_start[mid] <= cp) lo = mid;
        else hi = mid;
    }
    return dsv4_uc_class[lo];
}

int dsv4_uc_is_space(uint32_t cp)
{
    if ((cp >= 9 && cp <= 13) || cp == 0x85 || cp == ' ') return 1;
    if (cp < 0x80) return 0;
    return dsv4_uc_classify(cp) == DSV4_UC_SEPARATOR;
}

int dsv4_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len;
    uint32_t v, min;
    if ((c & 0xE0) == 0xC0) { len = 2; v = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { len = 3; v = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { len = 4; v = c & 0x07; min = 0x10000; }
    else goto bad;
    if ((size_t)len > n) goto bad;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) goto bad;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) goto bad;
    *cp = v;
    return len;
bad:
    *cp = 0x110000 + c;
    return 1;
}
