/*
 * suite.h - the conformance suite built into the dsml tool: the files of spec/conform/,
 * embedded at build time by dsml/tool/embed.sh, so `dsml conform` runs anywhere.
 */
#ifndef DSML_TOOL_SUITE_H
#define DSML_TOOL_SUITE_H

#include <stddef.h>

typedef struct suite_file {
    const char *name; /* file name, e.g. "single_call.json" */
    const char *data; /* contents, NUL-terminated */
    size_t len;
} suite_file;

extern const suite_file suite_builtin[];
extern const size_t suite_builtin_count;

#endif
