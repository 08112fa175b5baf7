/*
 * cmd_convert.c - `dsml convert`: one assistant turn between V4 DSML, V3.2 DSML, V3.1 tokens
 * and OpenAI JSON.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_convert.h"
#include "tool.h"

static const char usage_text[] =
    "usage: dsml convert --from FMT --to FMT [options] [FILE]   (FILE or stdin)\n"
    "\n"
    "Converts a tool-call block or a whole assistant turn. FMT: v4, v3.2, v3.1 (DeepSeek\n"
    "completion text) or openai (an assistant message, a chat completion response, or a\n"
    "tool_calls array). DeepSeek output is the official encoder's canonical form; OpenAI\n"
    "output is one assistant message. Round trips: openai -> v4 -> openai keeps names and\n"
    "argument values; canonical v4 -> openai -> v4 is byte-identical.\n"
    "\n"
    "options:\n"
    "  --from FMT, --to FMT   formats (required)\n"
    "  --thinking             DeepSeek input starts in reasoning\n"
    "  --strict               DeepSeek input must follow the official rules\n"
    "  --lookalikes           accept ASCII-bar and missing-bar DSML markers\n"
    "  --chunk N              feed DeepSeek input N bytes at a time (same result for any N)\n"
    "  --seed N               ids for calls read from DeepSeek input (default seed 0)\n"
    "\n"
    "exit status: 0 converted, 1 the input cannot be converted (reason and offset on\n"
    "stderr), 2 usage or I/O error\n";

static int write_stdout(void *ud, const char *data, size_t len)
{
    (void)ud;
    return fwrite(data, 1, len, stdout) == len ? 0 : -1;
}

int cmd_convert(int argc, char **argv)
{
    enum { O_FROM = 256, O_TO, O_CHUNK, O_SEED };
    static const struct option longopts[] = {
        {"from", required_argument, 0, O_FROM},
        {"to", required_argument, 0, O_TO},
        TOOL_PARSER_OPTIONS,
        {"chunk", required_argument, 0, O_CHUNK},
        {"seed", required_argument, 0, O_SEED},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    dsml_convert_options o;
    memset(&o, 0, sizeof o);
    int have_from = 0, have_to = 0, c;
    uint64_t seed = 0;
    size_t n;
    optind = 1;
    dsml_options po;
    dsml_options_init(&po);
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int r = tool_parser_option("convert", c, optarg, &po);
        if (r < 0) return TOOL_USAGE;
        if (r) continue;
        switch (c) {
        case O_FROM:
        case O_TO:
            if (dsml_format_parse(optarg, c == O_FROM ? &o.from : &o.to)) {
                tool_error("convert", "unknown format '%s' (v4, v3.2, v3.1, openai)", optarg);
                return TOOL_USAGE;
            }
            if (c == O_FROM) have_from = 1;
            else have_to = 1;
            break;
        case O_CHUNK:
        case O_SEED:
            if (tool_parse_size(optarg, &n) || (c == O_CHUNK && !n)) {
                tool_error("convert", "bad number '%s'", optarg);
                return TOOL_USAGE;
            }
            if (c == O_CHUNK) o.chunk = n;
            else seed = n;
            break;
        case 'h': fputs(usage_text, stdout); return TOOL_OK;
        default: fputs(usage_text, stderr); return TOOL_USAGE;
        }
    }
    o.parse_flags = po.flags;
    if (!have_from || !have_to || argc - optind > 1) {
        fputs(usage_text, stderr);
        return TOOL_USAGE;
    }
    o.make_id = dsml_id_seeded;
    o.id_ud = &seed;
    dsml_buf in = {0};
    if (tool_read_file(optind < argc ? argv[optind] : NULL, &in)) return TOOL_USAGE;
    dsml_sink out = {write_stdout, NULL};
    dsml_convert_error err;
    int status = TOOL_OK;
    if (dsml_convert(in.data, in.len, &o, &out, &err)) {
        uint64_t line, col;
        dsml_text_line_col(in.data, in.len, err.offset, &line, &col);
        fprintf(stderr, "dsml convert: %s (offset %llu, %llu:%llu)\n", err.message,
                (unsigned long long)err.offset, (unsigned long long)line, (unsigned long long)col);
        status = TOOL_FINDINGS;
    }
    if (fflush(stdout)) status = TOOL_USAGE;
    dsml_buf_free(&in);
    return status;
}
