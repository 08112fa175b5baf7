/*
 * cmd_parse.c - `dsml parse`: completion text -> one OpenAI assistant message (JSON).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_json.h"
#include "dsml_jv.h"
#include "dsml_openai.h"
#include "tool.h"

static const char usage_text[] =
    "usage: dsml parse [options] [FILE]   (FILE or stdin: the completion text)\n"
    "\n"
    "Parses a model completion and prints one OpenAI assistant message as JSON:\n"
    "  {\"role\":\"assistant\",\"content\":…,\"reasoning_content\":…,\"tool_calls\":[…]}\n"
    "content is null when empty; reasoning_content only with --thinking; tool_calls only\n"
    "when there are calls. A call cut off at end of input is left out, its raw text is\n"
    "appended to content and a note goes to stderr (finish_reason would be \"length\").\n"
    "\n"
    "options:\n"
    "  --dialect D      v4 (default), v3.2, v3.1 or auto\n"
    "  --thinking       the completion starts in reasoning (prompt ended with <think>)\n"
    "  --strict         official parser semantics: any deviation is an error (exit 1)\n"
    "  --lookalikes     tolerant only: accept ASCII-bar and missing-bar DSML markers\n"
    "  --chunk N        feed the parser N bytes at a time (the output is the same for any N)\n"
    "  --envelope       print {\"message\":…,\"finish_reason\":…,\"warnings\":[…],…}\n"
    "  -w, --warnings   print tolerant-mode warnings to stderr\n"
    "  --seed N         tool-call ids from a seeded sequence (default seed 0)\n"
    "  --random-ids     unguessable tool-call ids from the system's random source\n"
    "  --max-token N    longest tag/marker (default 4096)\n"
    "  --max-value N    longest parameter value (default 64M)\n"
    "  --tools FILE     declared tools (an OpenAI tools array, or a request with \"tools\"):\n"
    "                   a call to an undeclared tool is an error with --strict, else a\n"
    "                   warning on stderr (schemas are checked by `dsml check`)\n"
    "\n"
    "exit status: 0 parsed, 1 strict-mode error (offset, line:col and reason on stderr),\n"
    "2 usage or I/O error\n";

/* Names declared in a tools file: an array of OpenAI tools ({"type":"function","function":
 * {"name":…}} or flat {"name":…}), or an object holding such an array under "tools". The
 * document points into the text, so the text (b) lives as long as the document. */
static dsml_jv_doc *load_tools(const char *path, dsml_buf *b, const dsml_jv **tools)
{
    if (tool_read_file(path, b)) return NULL;
    dsml_jv_error err;
    dsml_jv_doc *doc = dsml_jv_parse(b->data, b->len, 0, &err);
    if (!doc) {
        uint64_t line, col;
        dsml_text_line_col(b->data, b->len, err.offset, &line, &col);
        tool_error("parse", "%s: not JSON at offset %zu (%llu:%llu): %s", path, err.offset,
                   (unsigned long long)line, (unsigned long long)col, err.msg);
    } else {
        const dsml_jv *root = dsml_jv_root(doc);
        *tools = root->type == DSML_JV_ARRAY ? root : dsml_jv_get(root, "tools");
        if (!*tools || (*tools)->type != DSML_JV_ARRAY) {
            tool_error("parse", "%s: expected a tools array or an object with \"tools\"", path);
            dsml_jv_free(doc);
            doc = NULL;
        }
    }
    return doc;
}

static int tool_declared(const dsml_jv *tools, const dsml_buf *name)
{
    for (size_t i = 0; i < tools->len; i++) {
        const dsml_jv *t = &tools->u.items[i], *fn = dsml_jv_get(t, "function");
        const dsml_jv *n = dsml_jv_get(fn ? fn : t, "name");
        if (n && n->type == DSML_JV_STRING && n->len == name->len &&
            !memcmp(n->u.s, name->data, name->len))
            return 1;
    }
    return 0;
}

struct warn_list {
    dsml_buf json;
    size_t n;
    int print;
    const char *text;
    size_t len;
};

static int on_warning(void *ud, const dsml_diag *w)
{
    struct warn_list *wl = ud;
    uint64_t line, col;
    dsml_text_line_col(wl->text, wl->len, w->offset, &line, &col);
    if (wl->print)
        fprintf(stderr, "dsml parse: warning %s at offset %llu (%llu:%llu): %s\n",
                dsml_code_name(w->code), (unsigned long long)w->offset,
                (unsigned long long)line, (unsigned long long)col, dsml_code_message(w->code));
    dsml_buf_puts(&wl->json, wl->n++ ? ",{\"code\":\"" : "{\"code\":\"");
    dsml_buf_printf(&wl->json, "%s\",\"offset\":%llu,\"line\":%llu,\"col\":%llu}",
                    dsml_code_name(w->code), (unsigned long long)w->offset,
                    (unsigned long long)line, (unsigned long long)col);
    return 0;
}

int cmd_parse(int argc, char **argv)
{
    enum { O_CHUNK = 256, O_ENV, O_SEED, O_RANDOM, O_TOOLS };
    static const struct option longopts[] = {
        TOOL_PARSER_OPTIONS,
        {"chunk", required_argument, 0, O_CHUNK},
        {"envelope", no_argument, 0, O_ENV},
        {"warnings", no_argument, 0, 'w'},
        {"seed", required_argument, 0, O_SEED},
        {"random-ids", no_argument, 0, O_RANDOM},
        {"tools", required_argument, 0, O_TOOLS},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    size_t chunk = 0, sz;
    int envelope = 0, random_ids = 0, c;
    uint64_t seed = 0;
    const char *tools_path = NULL;
    struct warn_list wl = {{0}, 0, 0, NULL, 0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "wh", longopts, NULL)) != -1) {
        int r = tool_parser_option("parse", c, optarg, &oo.parse);
        if (r < 0) return TOOL_USAGE;
        if (r) continue;
        switch (c) {
        case O_ENV: envelope = 1; break;
        case 'w': wl.print = 1; break;
        case O_RANDOM: random_ids = 1; break;
        case O_TOOLS: tools_path = optarg; break;
        case O_CHUNK:
        case O_SEED:
            if (tool_parse_size(optarg, &sz) || (c == O_CHUNK && sz == 0)) {
                tool_error("parse", "bad number '%s'", optarg);
                return TOOL_USAGE;
            }
            if (c == O_CHUNK) chunk = sz;
            else seed = sz;
            break;
        case 'h': fputs(usage_text, stdout); return TOOL_OK;
        default: fputs(usage_text, stderr); return TOOL_USAGE;
        }
    }
    if (argc - optind > 1) {
        fputs(usage_text, stderr);
        return TOOL_USAGE;
    }
    const dsml_jv *tools = NULL;
    dsml_jv_doc *tools_doc = NULL;
    dsml_buf tools_text = {0}, in = {0};
    if (tools_path && !(tools_doc = load_tools(tools_path, &tools_text, &tools))) {
        dsml_buf_free(&tools_text);
        return TOOL_USAGE;
    }
    if (tool_read_file(optind < argc ? argv[optind] : NULL, &in)) {
        dsml_jv_free(tools_doc);
        dsml_buf_free(&tools_text);
        return TOOL_USAGE;
    }
    if (!random_ids) {
        oo.make_id = dsml_id_seeded;
        oo.id_ud = &seed;
    }
    wl.text = in.data;
    wl.len = in.len;
    oo.on_warning = on_warning;
    oo.warning_ud = &wl;

    dsml_message m;
    dsml_code code = dsml_parse_message(in.data, in.len, &oo, chunk, &m);
    int status = TOOL_OK;
    if (code != DSML_OK) {
        const dsml_diag *e = &m.result.error;
        uint64_t line, col;
        dsml_text_line_col(in.data, in.len, e->offset, &line, &col);
        if (code == DSML_E_NOMEM || !m.result.error.code) {
            tool_error("parse", "%s", dsml_code_message(code));
            status = TOOL_USAGE;
        } else {
            fprintf(stderr, "dsml parse: error %s at offset %llu (%llu:%llu): %s\n",
                    dsml_code_name(e->code), (unsigned long long)e->offset,
                    (unsigned long long)line, (unsigned long long)col,
                    dsml_code_message(e->code));
            status = TOOL_FINDINGS;
        }
    } else if (m.result.status == DSML_INCOMPLETE) {
        uint64_t line, col;
        dsml_text_line_col(in.data, in.len, m.result.incomplete_at, &line, &col);
        fprintf(stderr,
                "dsml parse: incomplete tool call starting at offset %llu (%llu:%llu); "
                "finish_reason would be \"length\"\n",
                (unsigned long long)m.result.incomplete_at, (unsigned long long)line,
                (unsigned long long)col);
    }
    for (size_t i = 0; tools && code == DSML_OK && i < m.ncalls; i++) {
        if (tool_declared(tools, &m.calls[i].name)) continue;
        int strict = (oo.parse.flags & DSML_STRICT) != 0;
        fprintf(stderr, "dsml parse: %s: call %zu names the undeclared tool \"%.*s\"\n",
                strict ? "error" : "warning", i, (int)m.calls[i].name.len, m.calls[i].name.data);
        if (strict) status = TOOL_FINDINGS;
    }
    dsml_buf out = {0};
    if (status != TOOL_USAGE) {
        if (envelope) {
            dsml_buf_puts(&out, "{\"message\":");
            dsml_message_json(&m, &out);
            dsml_buf_printf(&out, ",\"finish_reason\":\"%s\",\"dialect\":\"%s\",\"error\":",
                            m.finish ? m.finish : "stop", dsml_dialect_name(m.result.dialect));
            if (code != DSML_OK)
                dsml_buf_printf(&out, "{\"code\":\"%s\",\"offset\":%llu}",
                                dsml_code_name(m.result.error.code),
                                (unsigned long long)m.result.error.offset);
            else dsml_buf_puts(&out, "null");
            dsml_buf_puts(&out, ",\"incomplete_at\":");
            if (m.result.status == DSML_INCOMPLETE)
                dsml_buf_printf(&out, "%llu", (unsigned long long)m.result.incomplete_at);
            else dsml_buf_puts(&out, "null");
            dsml_buf_puts(&out, ",\"warnings\":[");
            if (wl.json.len) dsml_buf_add(&out, wl.json.data, wl.json.len);
            dsml_buf_puts(&out, "]}\n");
        } else if (code == DSML_OK) {
            dsml_message_json(&m, &out);
            dsml_buf_putc(&out, '\n');
        }
        if (out.oom || tool_write_stdout(out.data, out.len)) status = TOOL_USAGE;
    }
    dsml_buf_free(&out);
    dsml_buf_free(&wl.json);
    dsml_message_free(&m);
    dsml_buf_free(&in);
    dsml_jv_free(tools_doc);
    dsml_buf_free(&tools_text);
    return status;
}
