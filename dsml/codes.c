/*
 * codes.c - names and messages of the error/warning codes (generated from the DSML_ERRORS
 * table in dsml.h), dialect names, and the line:col helper for callers holding the text.
 */
#include <string.h>

#include "dsml.h"

const char *dsml_code_name(dsml_code code)
{
    switch (code) {
#define X(name, num, msg)                                                                      \
    case DSML_##name:                                                                          \
        return #name;
        DSML_ERRORS(X)
#undef X
    }
    return "?";
}

const char *dsml_code_message(dsml_code code)
{
    switch (code) {
#define X(name, num, msg)                                                                      \
    case DSML_##name:                                                                          \
        return msg;
        DSML_ERRORS(X)
#undef X
    }
    return "unknown code";
}

int dsml_code_is_warning(dsml_code code) { return code >= 100; }

static const char *const dialect_names[] = {"v4", "v3.2", "v3.1", "auto"};

const char *dsml_dialect_name(dsml_dialect d)
{
    return (unsigned)d < 4 ? dialect_names[d] : "?";
}

int dsml_dialect_parse(const char *name, dsml_dialect *out)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, dialect_names[i])) {
            *out = (dsml_dialect)i;
            return 0;
        }
    if (!strcmp(name, "v32") || !strcmp(name, "3.2")) return *out = DSML_V32, 0;
    if (!strcmp(name, "v31") || !strcmp(name, "3.1")) return *out = DSML_V31, 0;
    return -1;
}

void dsml_text_line_col(const char *text, size_t len, uint64_t offset, uint64_t *line,
                        uint64_t *col)
{
    if (offset > len) offset = len;
    uint64_t l = 1, start = 0;
    const char *p = text, *end = text + offset;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        l++;
        p++;
        start = (uint64_t)(p - text);
    }
    *line = l;
    *col = offset - start + 1;
}
