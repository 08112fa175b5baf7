/*
 * findings.h - what `dsml check` and `dsml conform` share about findings: counting per
 * severity and code, the --ignore list, the JSON form of a finding, and the table of every
 * code (--list-codes).
 */
#ifndef DSML_TOOL_FINDINGS_H
#define DSML_TOOL_FINDINGS_H

#include <stdio.h>

#include "dsml_buf.h"
#include "dsml_check.h"

#define FD_MAX_CODES 160
#define FD_MAX_IGNORE 64

typedef struct fd_counts {
    size_t errors, warnings;
    struct {
        char name[40];
        size_t n;
    } codes[FD_MAX_CODES];
    size_t ncodes;
} fd_counts;

/* Add one finding to the counts. */
void fd_count(fd_counts *c, const dsml_finding *f);
/* Merge b into a. */
void fd_merge(fd_counts *a, const fd_counts *b);
/* "C_LEAKED_DSML x2, S_TYPE" (codes in first-seen order). */
void fd_codes_text(const fd_counts *c, dsml_buf *out);
/* {"C_LEAKED_DSML":2,…} */
void fd_codes_json(const fd_counts *c, dsml_buf *out);

/* "error" / "warning". */
const char *fd_sev_name(dsml_severity s);

/* A comma-separated list of codes to drop (--ignore). */
typedef struct fd_ignore {
    char names[FD_MAX_IGNORE][40];
    size_t n;
} fd_ignore;
/* Add the codes of a comma-separated list. Returns 0, or -1 when a name is not a known code
 * (the name is printed to stderr by the caller via *bad). */
int fd_ignore_add(fd_ignore *ig, const char *list, const char **bad);
int fd_ignored(const fd_ignore *ig, const char *code);
/* 1 when `name` is the name of a C_, S_, E_ or W_ code. */
int fd_known_code(const char *name);

/* Append a JSON string literal of s[0..n) (invalid UTF-8 becomes U+FFFD). */
void fd_json_str(dsml_buf *out, const char *s, size_t n);
/* Append {"code":…,"severity":…,"path":…,"pointer":…,"offset":…,"line":…,"col":…,
 * "message":…[,"excerpt":…]} for one finding. */
void fd_json_finding(dsml_buf *out, const dsml_finding *f);

/* Print every code (C_, S_, E_, W_) with its number, severity and reason, as text or JSON. */
void fd_list_codes(FILE *f, int json);

/* Write the excerpt's first line (at most max bytes, control bytes shown as \n, \t) to f. */
void fd_print_excerpt(FILE *f, const char *ex, size_t n, size_t max);

#endif
