/*
 * tool.h - the `dsml` command-line tool: one function per subcommand, plus the small
 * helpers they share (reading input, exit codes). Each subcommand lives in cmd_<name>.c
 * and is listed once in main.c's table.
 */
#ifndef DSML_TOOL_H
#define DSML_TOOL_H

#include <stddef.h>

#include "dsml.h"
#include "dsml_buf.h"

/* Exit statuses shared by all subcommands. */
enum {
    TOOL_OK = 0,       /* success / clean */
    TOOL_FINDINGS = 1, /* the input has problems (parse error in strict mode, check findings) */
    TOOL_USAGE = 2,    /* usage or I/O error */
};

/* Read a whole file ("-" or NULL = stdin) into *out. Returns 0, or -1 with a message
 * already printed to stderr. */
int tool_read_file(const char *path, dsml_buf *out);

/* Write len bytes to stdout; returns 0 or -1 (message printed). */
int tool_write_stdout(const char *data, size_t len);

/* Parse a decimal size argument ("4096", "64k", "16M"); returns 0 or -1. */
int tool_parse_size(const char *s, size_t *out);

/* Options shared by the commands that read DeepSeek completions (parse, stream, convert):
 * --dialect D, --thinking, --strict, --lookalikes, --max-token N, --max-value N.
 * TOOL_PARSER_OPTIONS expands to their `struct option` entries (getopt_long ids from
 * TOOL_O_DIALECT up); tool_parser_option() applies one to *o. Returns 1 when opt was one of
 * them, 0 when it was not, -1 for a bad value (message printed). */
enum {
    TOOL_O_DIALECT = 1000,
    TOOL_O_THINKING,
    TOOL_O_STRICT,
    TOOL_O_LOOKALIKES,
    TOOL_O_MAX_TOKEN,
    TOOL_O_MAX_VALUE,
};
#define TOOL_PARSER_OPTIONS                                                                    \
    {"dialect", required_argument, 0, TOOL_O_DIALECT},                                          \
        {"thinking", no_argument, 0, TOOL_O_THINKING},                                          \
        {"strict", no_argument, 0, TOOL_O_STRICT},                                              \
        {"lookalikes", no_argument, 0, TOOL_O_LOOKALIKES},                                      \
        {"max-token", required_argument, 0, TOOL_O_MAX_TOKEN},                                  \
        {"max-value", required_argument, 0, TOOL_O_MAX_VALUE}
int tool_parser_option(const char *cmd, int opt, const char *arg, dsml_options *o);

/* Print "dsml <cmd>: <message>" to stderr (printf-style). */
void tool_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Subcommands: argc/argv start at the subcommand name; return an exit status. */
int cmd_parse(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_stream(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_conform(int argc, char **argv);

#endif
