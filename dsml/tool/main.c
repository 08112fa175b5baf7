/*
 * main.c - the `dsml` tool's entry point: dispatch to a subcommand, shared helpers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"parse", cmd_parse, "parse a completion into an OpenAI assistant message"},
    {"render", cmd_render, "render an OpenAI request as a DeepSeek prompt"},
    {"stream", cmd_stream, "turn a completion into the OpenAI SSE chunk stream"},
    {"convert", cmd_convert, "convert tool calls between V4, V3.2, V3.1 and OpenAI JSON"},
    {"check", cmd_check, "check completions, OpenAI responses and streams for tool-call faults"},
    {"conform", cmd_conform, "grade a live OpenAI-compatible endpoint with the conformance suite"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: dsml <command> [options]   (dsml <command> --help for details)\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n  version   print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? TOOL_USAGE : TOOL_OK;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("dsml %s\n", DSML_VERSION);
        return TOOL_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "dsml: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return TOOL_USAGE;
}

/* ---- shared helpers ---------------------------------------------------------------- */

void tool_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dsml %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int tool_read_file(const char *path, dsml_buf *out)
{
    int is_stdin = !path || !strcmp(path, "-");
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dsml: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (dsml_buf_add(out, tmp, n)) break;
    int bad = ferror(f) || out->oom;
    if (bad)
        fprintf(stderr, "dsml: cannot read %s: %s\n", is_stdin ? "stdin" : path,
                out->oom ? "out of memory" : strerror(errno));
    if (!is_stdin) fclose(f);
    if (!out->data) dsml_buf_reserve(out, 0);
    return bad ? -1 : 0;
}

int tool_write_stdout(const char *data, size_t len)
{
    if (len && fwrite(data, 1, len, stdout) != len) {
        fprintf(stderr, "dsml: write error: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

int tool_parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-') return -1;
    if (*end == 'k' || *end == 'K') v <<= 10, end++;
    else if (*end == 'm' || *end == 'M') v <<= 20, end++;
    if (*end) return -1;
    *out = (size_t)v;
    return 0;
}

int tool_parser_option(const char *cmd, int opt, const char *arg, dsml_options *o)
{
    size_t n;
    switch (opt) {
    case TOOL_O_DIALECT:
        if (dsml_dialect_parse(arg, &o->dialect)) {
            tool_error(cmd, "unknown dialect '%s' (v4, v3.2, v3.1, auto)", arg);
            return -1;
        }
        return 1;
    case TOOL_O_THINKING: o->flags |= DSML_THINKING; return 1;
    case TOOL_O_STRICT: o->flags |= DSML_STRICT; return 1;
    case TOOL_O_LOOKALIKES: o->flags |= DSML_LOOKALIKES; return 1;
    case TOOL_O_MAX_TOKEN:
    case TOOL_O_MAX_VALUE:
        if (tool_parse_size(arg, &n) || !n) {
            tool_error(cmd, "bad number '%s'", arg);
            return -1;
        }
        if (opt == TOOL_O_MAX_TOKEN) o->max_token = n;
        else o->max_value = n;
        return 1;
    default:
        return 0;
    }
}
