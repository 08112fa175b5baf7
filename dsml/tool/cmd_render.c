/*
 * cmd_render.c - `dsml render`: an OpenAI chat-completions request -> the exact prompt text
 * of DeepSeek's reference encoder (dsml_render.h does the work).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_render.h"
#include "tool.h"

static const char render_help[] =
    "usage: dsml render [options] [FILE]\n"
    "\n"
    "Read an OpenAI chat-completions request body (or a JSON array of messages) from FILE\n"
    "or stdin and write the prompt text DeepSeek's reference encoder produces for it\n"
    "(encoding_dsv4.py / encoding_dsv32.py), byte for byte, with no trailing newline.\n"
    "\n"
    "  --dialect v4|v3.2   prompt format (default v4)\n"
    "  --thinking          thinking mode: the prompt ends <\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C><think>\n"
    "  --chat              chat mode: the prompt ends <\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C></think>\n"
    "  --effort max|none   V4 reasoning effort: max adds the maximum-effort prefix\n"
    "                      (thinking mode only); none (also: high) adds nothing\n"
    "  --no-bos            do not start with <\xEF\xBD\x9C" "begin\xE2\x96\x81" "of\xE2\x96\x81"
    "sentence\xEF\xBD\x9C>\n"
    "  --keep-reasoning    keep reasoning of earlier turns (encoder drop_thinking=False)\n"
    "  --deepseek-roles    input uses the encoder's own roles: developer stays DeepSeek's\n"
    "                      developer turn instead of mapping to system\n"
    "  --closer-error      fail on a string argument containing \"/\xEF\xBD\x9C" "DSML\xEF\xBD\x9C"
    "parameter\"\n"
    "                      (default: write it as a JSON string with string=\"false\")\n"
    "  -h, --help          this text\n"
    "\n"
    "Without --thinking/--chat the request decides, first match wins: thinking.type\n"
    "(\"enabled\"/\"disabled\", or true/false), chat_template_kwargs.thinking or\n"
    ".enable_thinking, then "
    "reasoning_effort (\"none\" -> chat, any other value -> thinking); default chat.\n"
    "Without --effort, reasoning_effort \"max\" or \"xhigh\" selects the maximum prefix.\n"
    "Request-level tools go onto messages[0] when it is a system message, else onto an\n"
    "empty system message put first; tool_choice \"none\" renders no tools block.\n"
    "\n"
    "Exit status: 0 rendered, 1 the request cannot be rendered (message with the JSON path\n"
    "and line:column), 2 usage or I/O error.\n";

/* 1-based line and byte column of offset in text. */
static void line_col(const char *text, size_t len, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') ++*line, *col = 1;
        else ++*col;
    }
}

int cmd_render(int argc, char **argv)
{
    dsml_render_options o;
    dsml_render_options_init(&o);
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(render_help, stdout);
            return TOOL_OK;
        } else if (!strcmp(a, "--dialect") && i + 1 < argc) {
            const char *d = argv[++i];
            if (!strcmp(d, "v4")) o.dialect = DSML_V4;
            else if (!strcmp(d, "v3.2")) o.dialect = DSML_V32;
            else {
                tool_error("render", "unknown dialect '%s' (v4 or v3.2)", d);
                return TOOL_USAGE;
            }
        } else if (!strcmp(a, "--thinking")) {
            o.thinking = DSML_THINKING_ON;
        } else if (!strcmp(a, "--chat")) {
            o.thinking = DSML_THINKING_OFF;
        } else if (!strcmp(a, "--effort") && i + 1 < argc) {
            const char *e = argv[++i];
            if (!strcmp(e, "max")) o.effort = DSML_EFFORT_MAX;
            else if (!strcmp(e, "none") || !strcmp(e, "high")) o.effort = DSML_EFFORT_NONE;
            else {
                tool_error("render", "unknown effort '%s' (max, high or none)", e);
                return TOOL_USAGE;
            }
        } else if (!strcmp(a, "--no-bos")) {
            o.flags |= DSML_RENDER_NO_BOS;
        } else if (!strcmp(a, "--keep-reasoning")) {
            o.flags |= DSML_RENDER_KEEP_REASONING;
        } else if (!strcmp(a, "--deepseek-roles")) {
            o.flags |= DSML_RENDER_DEEPSEEK_ROLES;
        } else if (!strcmp(a, "--closer-error")) {
            o.flags |= DSML_RENDER_CLOSER_ERROR;
        } else if (a[0] == '-' && a[1]) {
            tool_error("render", "unknown or incomplete option '%s' (see dsml render --help)", a);
            return TOOL_USAGE;
        } else if (!file) {
            file = a;
        } else {
            tool_error("render", "more than one input file");
            return TOOL_USAGE;
        }
    }

    dsml_buf in = {0};
    if (tool_read_file(file, &in)) {
        dsml_buf_free(&in);
        return TOOL_USAGE;
    }
    /* Render into memory first: on an error nothing is written to stdout. */
    dsml_buf out = {0};
    dsml_sink sink = dsml_buf_sink(&out);
    dsml_render_error err;
    int rc = dsml_render_prompt(in.data, in.len, &o, &sink, &err);
    int status = TOOL_OK;
    if (rc) {
        size_t line, col;
        line_col(in.data, in.len, err.offset, &line, &col);
        if (out.oom) tool_error("render", "out of memory");
        else if (err.path[0])
            tool_error("render", "%s:%zu:%zu: %s: %s", file ? file : "<stdin>", line, col,
                       err.path, err.message);
        else
            tool_error("render", "%s:%zu:%zu: %s", file ? file : "<stdin>", line, col,
                       err.message);
        status = out.oom ? TOOL_USAGE : TOOL_FINDINGS;
    } else {
        if (tool_write_stdout(out.data, out.len) || fflush(stdout)) status = TOOL_USAGE;
    }
    dsml_buf_free(&in);
    dsml_buf_free(&out);
    return status;
}
