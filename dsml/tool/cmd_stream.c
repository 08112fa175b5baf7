/*
 * cmd_stream.c - `dsml stream`: completion text -> OpenAI chat.completion.chunk SSE stream,
 * exactly what a server built on libdsml sends for that completion.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_openai.h"
#include "tool.h"

static const char usage_text[] =
    "usage: dsml stream [options] [FILE]   (FILE or stdin: the completion text)\n"
    "\n"
    "Prints the OpenAI chat.completion.chunk SSE stream (data: {…} lines, data: [DONE]) a\n"
    "server sends for the completion, feeding the parser --chunk bytes at a time (as tokens\n"
    "would arrive). Concatenating the deltas gives what `dsml parse` returns.\n"
    "\n"
    "options:\n"
    "  --dialect D      v4 (default), v3.2, v3.1 or auto\n"
    "  --thinking       the completion starts in reasoning\n"
    "  --strict         official parser rules: a deviation ends the stream with an error\n"
    "  --lookalikes     accept ASCII-bar and missing-bar DSML markers\n"
    "  --chunk N        bytes per feed (default 16)\n"
    "  --model NAME     model name in every chunk (default \"dsml\")\n"
    "  --id ID          completion id (default chatcmpl-<random>)\n"
    "  --created T      unix time in every chunk (default now)\n"
    "  --usage          add the usage chunk (stream_options.include_usage); tokens are\n"
    "                   counted as feeds\n"
    "  --seed N         tool-call ids from a seeded sequence (default: random ids)\n"
    "  --max-token N    longest tag/marker (default 4096)\n"
    "  --max-value N    longest parameter value (default 64M)\n"
    "  -w, --warnings   print parser warnings to stderr\n";

static int write_stdout(void *ud, const char *data, size_t len)
{
    (void)ud;
    return fwrite(data, 1, len, stdout) == len ? 0 : -1;
}

static int print_warning(void *ud, const dsml_diag *w)
{
    (void)ud;
    fprintf(stderr, "dsml stream: warning %s at offset %llu: %s\n", dsml_code_name(w->code),
            (unsigned long long)w->offset, dsml_code_message(w->code));
    return 0;
}

int cmd_stream(int argc, char **argv)
{
    enum { O_CHUNK = 256, O_MODEL, O_ID, O_CREATED, O_USAGE, O_SEED };
    static const struct option longopts[] = {
        TOOL_PARSER_OPTIONS,
        {"chunk", required_argument, 0, O_CHUNK},
        {"model", required_argument, 0, O_MODEL},
        {"id", required_argument, 0, O_ID},
        {"created", required_argument, 0, O_CREATED},
        {"usage", no_argument, 0, O_USAGE},
        {"seed", required_argument, 0, O_SEED},
        {"warnings", no_argument, 0, 'w'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    dsml_chunk_options co = {.model = "dsml"};
    size_t chunk = 16, n;
    uint64_t seed = 0;
    int seeded = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "wh", longopts, NULL)) != -1) {
        int r = tool_parser_option("stream", c, optarg, &oo.parse);
        if (r < 0) return TOOL_USAGE;
        if (r) continue;
        switch (c) {
        case O_MODEL: co.model = optarg; break;
        case O_ID: co.id = optarg; break;
        case O_USAGE: co.include_usage = 1; break;
        case 'w':
            oo.on_warning = print_warning;
            break;
        case O_CHUNK:
        case O_CREATED:
        case O_SEED:
            if (tool_parse_size(optarg, &n) || (c == O_CHUNK && n == 0)) {
                tool_error("stream", "bad number '%s'", optarg);
                return TOOL_USAGE;
            }
            if (c == O_CHUNK) chunk = n;
            else if (c == O_CREATED) co.created = (int64_t)n;
            else seed = n, seeded = 1;
            break;
        case 'h': fputs(usage_text, stdout); return TOOL_OK;
        default: fputs(usage_text, stderr); return TOOL_USAGE;
        }
    }
    if (argc - optind > 1) {
        fputs(usage_text, stderr);
        return TOOL_USAGE;
    }
    dsml_buf in = {0};
    if (tool_read_file(optind < argc ? argv[optind] : NULL, &in)) return TOOL_USAGE;
    if (seeded) {
        oo.make_id = dsml_id_seeded;
        oo.id_ud = &seed;
    }
    dsml_sink sink = {write_stdout, NULL};
    dsml_chunker *ch = dsml_chunker_new(&co, sink);
    dsml_oai *o = ch ? dsml_oai_new(&oo, dsml_chunker_on_delta, ch) : NULL;
    if (!o) {
        tool_error("stream", "out of memory");
        dsml_chunker_free(ch);
        dsml_buf_free(&in);
        return TOOL_USAGE;
    }
    dsml_chunker_start(ch);
    dsml_code code = DSML_OK;
    uint64_t feeds = 0;
    for (size_t i = 0; i < in.len && code == DSML_OK; i += chunk, feeds++)
        code = dsml_oai_feed(o, in.data + i, in.len - i < chunk ? in.len - i : chunk);
    dsml_chunker_usage(ch, 0, feeds);
    if (code == DSML_OK) code = dsml_oai_finish(o);
    int status = TOOL_OK;
    if (code != DSML_OK) {
        const dsml_diag *e = &dsml_oai_result(o)->error;
        fprintf(stderr, "dsml stream: error %s at offset %llu: %s\n", dsml_code_name(e->code),
                (unsigned long long)e->offset, dsml_code_message(e->code));
        dsml_chunker_error(ch, dsml_code_message(e->code), "invalid_model_output", dsml_code_name(e->code));
        status = TOOL_FINDINGS;
    }
    if (fflush(stdout)) status = TOOL_USAGE;
    dsml_oai_free(o);
    dsml_chunker_free(ch);
    dsml_buf_free(&in);
    return status;
}
