/*
 * diff.h - differential comparison of another DSML parser with libdsml, shared by the
 * dsml-diff command (fuzz/diff_main.c) and the fuzz_diff harness (fuzz/fuzz_diff.c).
 *
 * The other parser is either a command (one process per input: the completion on stdin,
 * the OpenAI message JSON on stdout, exit 0 parsed / 1 rejected) or a shared library
 * exporting dsml_diff_parse (dsml_diff.h). Its output is compared semantically with
 * libdsml's message for the same options: tool-call count, names (exact), arguments (as
 * JSON values: member order, whitespace and number spelling do not matter), and unless
 * only calls are compared, content (null and "" are the same) and reasoning_content.
 */
#ifndef DSML_FUZZ_DIFF_H
#define DSML_FUZZ_DIFF_H

#include <stddef.h>

#include "dsml.h"
#include "dsml_buf.h"

typedef struct fzd_config {
    const char *cmd;        /* shell command (sh -c), or NULL */
    const char *lib;        /* shared library path, or NULL */
    dsml_dialect dialect;
    int thinking, strict;
    int valid_only;         /* compare only inputs libdsml's strict mode accepts */
    int calls_only;         /* compare tool calls only (not content, reasoning) */
} fzd_config;

typedef struct fzd fzd;

/* Load the other parser. Returns NULL with a message in err on failure. */
fzd *fzd_open(const fzd_config *c, char *err, size_t errlen);
void fzd_close(fzd *d);

typedef enum fzd_verdict {
    FZD_AGREE = 0,    /* same result */
    FZD_SKIPPED = 1,  /* not compared (valid_only and libdsml's strict mode rejects it) */
    FZD_DIFFER = 2,   /* different result: report filled */
    FZD_FAILED = 3,   /* the other parser failed (crash, bad exit status, not JSON): report */
} fzd_verdict;

/* Run both parsers on text[0..len) and compare. report receives a description of the
 * difference (both results) for FZD_DIFFER and FZD_FAILED. */
fzd_verdict fzd_check(fzd *d, const char *text, size_t len, dsml_buf *report);

/* The options string passed to dsml_diff_parse ("dialect=v4 thinking=0 strict=0"). */
const char *fzd_options(const fzd *d);

#endif
