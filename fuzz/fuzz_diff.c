/*
 * fuzz_diff.c - differential fuzzing of another DSML parser against libdsml.
 *
 * Input: one completion (no option bytes). The other parser and the options come from the
 * environment (read once, at start):
 *   DSML_DIFF_LIB=path.so        a library exporting dsml_diff_parse (dsml_diff.h), or
 *   DSML_DIFF_CMD='command'      a command (stdin -> message JSON on stdout, exit 0/1)
 *   DSML_DIFF_OPTIONS='dialect=v4 thinking=0 strict=0 valid_only=0 calls_only=0'
 * Any difference, or a failure of the other parser, aborts with the report (the input is
 * then saved by the fuzzing engine as a crash).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static fzd *d;

static int opt_flag(const char *opts, const char *key)
{
    const char *p = opts ? strstr(opts, key) : NULL;
    return p && p[strlen(key)] == '=' && p[strlen(key) + 1] == '1';
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fzd_config c;
    memset(&c, 0, sizeof c);
    c.lib = getenv("DSML_DIFF_LIB");
    c.cmd = getenv("DSML_DIFF_CMD");
    if (c.lib && !*c.lib) c.lib = NULL; /* empty means unset */
    if (c.cmd && (!*c.cmd || c.lib)) c.cmd = NULL;
    const char *opts = getenv("DSML_DIFF_OPTIONS");
    c.dialect = DSML_V4;
    const char *dl = opts ? strstr(opts, "dialect=") : NULL;
    if (dl) {
        char name[8] = {0};
        size_t n = strcspn(dl + 8, " ");
        memcpy(name, dl + 8, n < 7 ? n : 7);
        if (dsml_dialect_parse(name, &c.dialect)) {
            fprintf(stderr, "fuzz_diff: unknown dialect in DSML_DIFF_OPTIONS\n");
            exit(2);
        }
    }
    c.thinking = opt_flag(opts, "thinking");
    c.strict = opt_flag(opts, "strict");
    c.valid_only = opt_flag(opts, "valid_only");
    c.calls_only = opt_flag(opts, "calls_only");
    if (!c.lib && !c.cmd) {
        fprintf(stderr, "fuzz_diff: set DSML_DIFF_LIB (a library exporting dsml_diff_parse) or "
                        "DSML_DIFF_CMD (a command); see fuzz/README.md\n");
        exit(2);
    }
    char err[512];
    d = fzd_open(&c, err, sizeof err);
    if (!d) {
        fprintf(stderr, "fuzz_diff: %s\n", err);
        exit(2);
    }
    fprintf(stderr, "fuzz_diff: %s against libdsml, %s\n", c.lib ? c.lib : c.cmd, fzd_options(d));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dsml_buf report = {0};
    fzd_verdict v = fzd_check(d, (const char *)data, size, &report);
    FZ_CHECK(v == FZD_AGREE || v == FZD_SKIPPED, "%s", report.data ? report.data : "");
    dsml_buf_free(&report);
    return 0;
}
