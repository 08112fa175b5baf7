/*
 * cmd_check.c - `dsml check`: conformance findings for completions, OpenAI responses,
 * OpenAI streams and JSONL files of them (the checks themselves are in dsml_check.h).
 *
 * Each input file is classified (dsml_check_detect, or --input), then checked as a whole or,
 * for JSONL, record by record with a progress line on long runs. Findings are printed as they
 * come (text) or collected into one JSON report (--format json).
 */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsml_check.h"
#include "dsml_json.h"
#include "dsml_jv.h"
#include "findings.h"
#include "tool.h"

static const char usage_text[] =
    "usage: dsml check [options] [FILE...]   (no FILE or '-': stdin)\n"
    "\n"
    "Checks tool-call output and reports findings with a stable code and a position.\n"
    "Each FILE holds one of (set with --input, else known from the extension .json, .sse,\n"
    ".jsonl/.ndjson, else detected from the first bytes):\n"
    "  completion  raw model output (the text after <\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>)\n"
    "  response    an OpenAI chat completion (JSON)\n"
    "  stream      an OpenAI SSE stream capture (data: {chunk} ... data: [DONE])\n"
    "  jsonl       one record per line: a completion as a JSON string, a response object, a\n"
    "              string holding an SSE capture, or {\"completion\":…, \"response\":…|\"stream\":…,\n"
    "              \"thinking\":bool, \"dialect\":…} (delivered output is then compared with the\n"
    "              parse of the completion); a file of chat.completion.chunk lines is one stream\n"
    "\n"
    "options:\n"
    "  --tools FILE       tools array (or a chat request with \"tools\"): unknown tool names,\n"
    "                     JSON Schema validation of arguments, string=\"true\"/\"false\" flags\n"
    "  --dialect D        completions: v4 (default), v3.2, v3.1 or auto\n"
    "  --thinking         completions start in reasoning (prompt ended with <think>)\n"
    "  --lookalikes       completions: accept ASCII-bar / missing-bar DSML markers\n"
    "  --input KIND       completion, response, stream, jsonl or auto (default)\n"
    "  --format F         text (default) or json (one report for CI)\n"
    "  --finish-stop-ok   accept finish_reason \"stop\" next to tool calls (OpenAI's forced calls)\n"
    "  --ignore CODES     comma-separated codes to leave out (e.g. W_TRAILING_WS,C_SPECIAL_TOKEN)\n"
    "  --fail-on S        exit 1 on findings of severity S or worse: warning (default) or error\n"
    "  --no-progress      no progress line for long JSONL files\n"
    "  --list-codes       print every finding code (C_, S_, E_, W_) and exit (with --format json:\n"
    "                     as JSON)\n"
    "\n"
    "exit status: 0 no findings, 1 findings, 2 usage or I/O error\n";

typedef struct run {
    int json, fail_on_error, progress;
    fd_ignore ignore;
    fd_counts total;
    size_t inputs, records, flagged;
    dsml_buf out;      /* JSON report: the results array */
    int nresults;
    /* the input being checked */
    const char *file;
    size_t record;     /* 0: whole file */
    size_t rec_line;   /* JSONL: line of the record */
    const char *kind;
    const char *part;  /* JSONL: which member of the record ("completion", "response", …) */
    uint64_t base_col; /* JSONL: column of the checked text in its line, 0 if not inline */
    fd_counts cur;     /* findings of the current input */
    dsml_buf cur_json; /* its findings as JSON */
} run;

/* ---- printing findings ------------------------------------------------------------------- */

static void print_text(run *r, const dsml_finding *f)
{
    if (r->record) {
        if (f->offset != DSML_NO_OFFSET && r->base_col)
            printf("%s:%zu:%llu: ", r->file, r->rec_line,
                   (unsigned long long)(r->base_col + f->col - 1));
        else printf("%s:%zu: ", r->file, r->rec_line);
        printf("record %zu %s", r->record, r->part ? r->part : r->kind);
        if (f->offset != DSML_NO_OFFSET && !r->base_col)
            printf(" %llu:%llu", (unsigned long long)f->line, (unsigned long long)f->col);
        printf(": ");
    } else if (f->offset != DSML_NO_OFFSET)
        printf("%s:%llu:%llu: ", r->file, (unsigned long long)f->line, (unsigned long long)f->col);
    else printf("%s: ", r->file);
    printf("%s %s: ", fd_sev_name(f->severity), f->code);
    if (f->path[0] || f->pointer[0])
        printf("%s%s%s: ", f->path, f->path[0] && f->pointer[0] ? " " : "", f->pointer);
    printf("%s\n", f->message);
    if (f->excerpt && f->excerpt_len) {
        printf("    | ");
        fd_print_excerpt(stdout, f->excerpt, f->excerpt_len, 160);
        printf("\n");
    }
}

static int on_finding(void *ud, const dsml_finding *f)
{
    run *r = ud;
    if (fd_ignored(&r->ignore, f->code)) return 0;
    fd_count(&r->cur, f);
    if (r->json) {
        if (r->cur_json.len) dsml_buf_putc(&r->cur_json, ',');
        dsml_buf_puts(&r->cur_json, r->part ? "{\"part\":" : "");
        if (r->part) {
            fd_json_str(&r->cur_json, r->part, strlen(r->part));
            dsml_buf_puts(&r->cur_json, ",\"finding\":");
        }
        fd_json_finding(&r->cur_json, f);
        if (r->part) dsml_buf_putc(&r->cur_json, '}');
    } else print_text(r, f);
    return 0;
}

/* Start and end one input (a file or a JSONL record). */
static void input_begin(run *r, const char *kind, size_t record, size_t line)
{
    r->kind = kind;
    r->record = record;
    r->rec_line = line;
    r->part = NULL;
    r->base_col = 0;
    memset(&r->cur, 0, sizeof r->cur);
    dsml_buf_clear(&r->cur_json);
}

static void input_end(run *r)
{
    size_t n = r->cur.errors + r->cur.warnings;
    if (r->record) r->records++;
    if (n) r->flagged++;
    fd_merge(&r->total, &r->cur);
    if (!r->json || (r->record && !n)) return;
    dsml_buf *o = &r->out;
    if (r->nresults++) dsml_buf_puts(o, ",\n");
    dsml_buf_puts(o, "{\"file\":");
    fd_json_str(o, r->file, strlen(r->file));
    if (r->record) dsml_buf_printf(o, ",\"record\":%zu,\"line\":%zu", r->record, r->rec_line);
    dsml_buf_printf(o, ",\"kind\":\"%s\",\"errors\":%zu,\"warnings\":%zu,\"findings\":[", r->kind,
                    r->cur.errors, r->cur.warnings);
    if (r->cur_json.len) dsml_buf_add(o, r->cur_json.data, r->cur_json.len);
    dsml_buf_puts(o, "]}");
}

/* ---- JSONL -------------------------------------------------------------------------------- */

/* End offset of the object or array starting at text[start] (the record already parsed, so
 * brackets balance outside strings). */
static size_t value_end(const char *text, size_t len, size_t start)
{
    size_t depth = 0;
    int in_str = 0, esc = 0;
    for (size_t i = start; i < len; i++) {
        char ch = text[i];
        if (in_str) {
            if (esc) esc = 0;
            else if (ch == '\\') esc = 1;
            else if (ch == '"') in_str = 0;
        } else if (ch == '"') in_str = 1;
        else if (ch == '{' || ch == '[') depth++;
        else if ((ch == '}' || ch == ']') && --depth == 0) return i + 1;
    }
    return len;
}

static int looks_like_sse(const char *s, size_t n)
{
    return dsml_check_detect(s, n) == DSML_INPUT_STREAM;
}

static void check_record(run *r, dsml_checker *c, const dsml_check_options *base, const char *line,
                         size_t len, size_t recno, size_t lineno)
{
    dsml_jv_error err;
    dsml_jv_doc *doc = dsml_jv_parse(line, len, 0, &err);
    if (!doc) {
        input_begin(r, "record", recno, lineno);
        char msg[200];
        snprintf(msg, sizeof msg, "record is not JSON: %s at byte %zu", err.msg ? err.msg : "syntax error",
                 err.offset);
        dsml_check_emit(c, DSML_C_NOT_JSON, "", msg, NULL, 0);
        input_end(r);
        return;
    }
    const dsml_jv *root = dsml_jv_root(doc);
    dsml_check_options o = *base;
    if (root->type == DSML_JV_STRING) {
        int sse = looks_like_sse(root->u.s, root->len);
        input_begin(r, sse ? "stream" : "completion", recno, lineno);
        dsml_checker_set_options(c, &o);
        if (sse) dsml_check_stream(c, root->u.s, root->len, NULL);
        else dsml_check_completion(c, root->u.s, root->len, NULL);
        input_end(r);
    } else if (root->type == DSML_JV_OBJECT && dsml_jv_get(root, "completion")) {
        const dsml_jv *comp = dsml_jv_get(root, "completion"), *k;
        const dsml_jv *resp = dsml_jv_get(root, "response"), *strm = dsml_jv_get(root, "stream");
        input_begin(r, "record", recno, lineno);
        if ((k = dsml_jv_get(root, "thinking"))) {
            if (k->type == DSML_JV_TRUE) o.flags |= DSML_THINKING;
            else o.flags &= ~(unsigned)DSML_THINKING;
        }
        if ((k = dsml_jv_get(root, "dialect")) && k->type == DSML_JV_STRING) {
            char d[16];
            snprintf(d, sizeof d, "%.*s", (int)(k->len < 15 ? k->len : 15), k->u.s);
            dsml_dialect_parse(d, &o.dialect);
        }
        dsml_checker_set_options(c, &o);
        dsml_check_summary ref = {0}, got = {0};
        if (comp->type != DSML_JV_STRING) {
            dsml_check_emit(c, DSML_C_SHAPE, "completion", "\"completion\" is not a string", NULL, 0);
        } else {
            r->part = "completion";
            dsml_check_completion(c, comp->u.s, comp->len, &ref);
            int have = 0;
            if (resp && resp->type == DSML_JV_OBJECT) {
                r->part = "response";
                r->base_col = resp->offset + 1;
                dsml_check_response(c, line + resp->offset, value_end(line, len, resp->offset) - resp->offset, &got);
                r->base_col = 0;
                have = 1;
            } else if (strm && strm->type == DSML_JV_STRING) {
                r->part = "stream";
                dsml_check_stream(c, strm->u.s, strm->len, &got);
                have = 1;
            }
            if (have) {
                r->part = "compare";
                dsml_check_compare(c, &ref, &got, DSML_C_PARSE_MISMATCH, "");
            }
        }
        dsml_check_summary_free(&ref);
        dsml_check_summary_free(&got);
        input_end(r);
    } else if (root->type == DSML_JV_OBJECT && (dsml_jv_get(root, "response") || dsml_jv_get(root, "stream"))) {
        const dsml_jv *resp = dsml_jv_get(root, "response"), *strm = dsml_jv_get(root, "stream");
        dsml_checker_set_options(c, &o);
        if (resp && resp->type == DSML_JV_OBJECT) {
            input_begin(r, "response", recno, lineno);
            r->base_col = resp->offset + 1;
            dsml_check_response(c, line + resp->offset, value_end(line, len, resp->offset) - resp->offset, NULL);
        } else if (strm && strm->type == DSML_JV_STRING) {
            input_begin(r, "stream", recno, lineno);
            dsml_check_stream(c, strm->u.s, strm->len, NULL);
        } else {
            input_begin(r, "record", recno, lineno);
            dsml_check_emit(c, DSML_C_SHAPE, "", "\"response\" must be an object, \"stream\" a string", NULL, 0);
        }
        input_end(r);
    } else {
        input_begin(r, "response", recno, lineno);
        r->base_col = 1;
        dsml_checker_set_options(c, &o);
        dsml_check_response(c, line, len, NULL);
        input_end(r);
    }
    dsml_jv_free(doc);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check_jsonl(run *r, dsml_checker *c, const dsml_check_options *o, const char *data,
                        size_t len)
{
    size_t total = 0;
    for (size_t i = 0; i < len; i++) total += data[i] == '\n';
    if (len && data[len - 1] != '\n') total++;
    /* a file of chunk objects is one stream */
    const char *nl = memchr(data, '\n', len);
    size_t l0 = nl ? (size_t)(nl - data) : len;
    if (memmem(data, l0, "\"chat.completion.chunk\"", 23)) {
        dsml_buf sse = {0};
        size_t i = 0;
        while (i < len) {
            const char *e = memchr(data + i, '\n', len - i);
            size_t n = e ? (size_t)(e - data) - i : len - i;
            size_t a = i, b = i + n;
            while (a < b && (data[a] == ' ' || data[a] == '\r')) a++;
            while (b > a && (data[b - 1] == ' ' || data[b - 1] == '\r')) b--;
            if (b > a) {
                dsml_buf_puts(&sse, "data: ");
                dsml_buf_add(&sse, data + a, b - a);
                dsml_buf_puts(&sse, "\n\n");
            }
            i += n + 1;
        }
        input_begin(r, "stream", 0, 0);
        dsml_checker_set_options(c, o);
        dsml_check_stream(c, sse.data ? sse.data : "", sse.len, NULL);
        input_end(r);
        dsml_buf_free(&sse);
        return;
    }
    int tty = isatty(2);
    double t0 = now_s(), last = t0;
    int shown = 0;
    size_t recno = 0, lineno = 0, i = 0;
    while (i < len) {
        const char *e = memchr(data + i, '\n', len - i);
        size_t n = e ? (size_t)(e - data) - i : len - i;
        lineno++;
        size_t a = i, b = i + n;
        while (a < b && (data[a] == ' ' || data[a] == '\t' || data[a] == '\r')) a++;
        while (b > a && (data[b - 1] == ' ' || data[b - 1] == '\t' || data[b - 1] == '\r')) b--;
        if (b > a) check_record(r, c, o, data + a, b - a, ++recno, lineno);
        i += n + 1;
        if (r->progress && (recno & 63) == 0) {
            double t = now_s();
            if (t - last >= (tty ? 0.25 : 5.0) && t - t0 >= 1.0) {
                last = t;
                fprintf(stderr, "%sdsml check: %s: %zu/%zu lines, %zu records with findings%s",
                        tty ? "\r" : "", r->file, lineno, total, r->flagged, tty ? "" : "\n");
                shown = 1;
            }
        }
    }
    if (shown && tty) fprintf(stderr, "\r\033[K");
}

/* The kind of a file: its extension when it says (.jsonl/.ndjson, .sse, .json), else its
 * first bytes. */
static dsml_input_kind guess_kind(const char *path, const char *data, size_t len)
{
    dsml_input_kind k = dsml_check_detect(data, len);
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return k;
    if (!strcmp(dot, ".jsonl") || !strcmp(dot, ".ndjson")) return DSML_INPUT_JSONL;
    if (!strcmp(dot, ".sse")) return DSML_INPUT_STREAM;
    if (!strcmp(dot, ".json")) return k == DSML_INPUT_JSONL ? k : DSML_INPUT_RESPONSE;
    return k;
}

/* ---- main --------------------------------------------------------------------------------- */

int cmd_check(int argc, char **argv)
{
    enum { O_TOOLS = 256, O_DIALECT, O_THINKING, O_LOOK, O_INPUT, O_FORMAT, O_STOPOK, O_IGNORE,
           O_FAILON, O_NOPROG, O_LIST };
    static const struct option longopts[] = {
        {"tools", required_argument, 0, O_TOOLS},
        {"dialect", required_argument, 0, O_DIALECT},
        {"thinking", no_argument, 0, O_THINKING},
        {"lookalikes", no_argument, 0, O_LOOK},
        {"input", required_argument, 0, O_INPUT},
        {"format", required_argument, 0, O_FORMAT},
        {"finish-stop-ok", no_argument, 0, O_STOPOK},
        {"ignore", required_argument, 0, O_IGNORE},
        {"fail-on", required_argument, 0, O_FAILON},
        {"no-progress", no_argument, 0, O_NOPROG},
        {"list-codes", no_argument, 0, O_LIST},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    setlocale(LC_CTYPE, "C.UTF-8"); /* JSON Schema patterns work on characters */
    run r;
    memset(&r, 0, sizeof r);
    r.progress = 1;
    dsml_check_options o;
    dsml_check_options_init(&o);
    const char *tools_path = NULL, *bad;
    int forced = -1, list = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_TOOLS: tools_path = optarg; break;
        case O_DIALECT:
            if (dsml_dialect_parse(optarg, &o.dialect)) {
                tool_error("check", "unknown dialect '%s' (v4, v3.2, v3.1, auto)", optarg);
                return TOOL_USAGE;
            }
            break;
        case O_THINKING: o.flags |= DSML_THINKING; break;
        case O_LOOK: o.flags |= DSML_LOOKALIKES; break;
        case O_INPUT:
            if (!strcmp(optarg, "auto")) forced = -1;
            else if (!strcmp(optarg, "completion")) forced = DSML_INPUT_COMPLETION;
            else if (!strcmp(optarg, "response")) forced = DSML_INPUT_RESPONSE;
            else if (!strcmp(optarg, "stream")) forced = DSML_INPUT_STREAM;
            else if (!strcmp(optarg, "jsonl")) forced = DSML_INPUT_JSONL;
            else {
                tool_error("check", "unknown input kind '%s' (completion, response, stream, jsonl, auto)", optarg);
                return TOOL_USAGE;
            }
            break;
        case O_FORMAT:
            if (!strcmp(optarg, "json")) r.json = 1;
            else if (strcmp(optarg, "text")) {
                tool_error("check", "unknown format '%s' (text, json)", optarg);
                return TOOL_USAGE;
            }
            break;
        case O_STOPOK: o.finish_stop_ok = 1; break;
        case O_IGNORE:
            if (fd_ignore_add(&r.ignore, optarg, &bad)) {
                tool_error("check", "unknown code '%s' in --ignore (dsml check --list-codes)", bad);
                return TOOL_USAGE;
            }
            break;
        case O_FAILON:
            if (!strcmp(optarg, "error")) r.fail_on_error = 1;
            else if (strcmp(optarg, "warning")) {
                tool_error("check", "--fail-on takes warning or error");
                return TOOL_USAGE;
            }
            break;
        case O_NOPROG: r.progress = 0; break;
        case O_LIST: list = 1; break;
        case 'h': fputs(usage_text, stdout); return TOOL_OK;
        default: fputs(usage_text, stderr); return TOOL_USAGE;
        }
    }
    if (list) {
        fd_list_codes(stdout, r.json);
        return TOOL_OK;
    }
    dsml_checker *chk = dsml_checker_new(&o, on_finding, &r);
    if (!chk) {
        tool_error("check", "out of memory");
        return TOOL_USAGE;
    }
    int status = TOOL_OK;
    if (tools_path) {
        dsml_buf t = {0};
        const char *why = NULL;
        if (tool_read_file(tools_path, &t)) {
            dsml_checker_free(chk);
            return TOOL_USAGE;
        }
        r.file = tools_path;
        input_begin(&r, "tools", 0, 0);
        if (dsml_checker_set_tools(chk, t.data, t.len, &why)) {
            tool_error("check", "%s: %s", tools_path, why);
            dsml_buf_free(&t);
            dsml_checker_free(chk);
            return TOOL_USAGE;
        }
        if (r.cur.errors + r.cur.warnings) input_end(&r);
        dsml_buf_free(&t);
    }
    char *stdin_args[] = {"-"};
    char **files = optind < argc ? argv + optind : stdin_args;
    int nfiles = optind < argc ? argc - optind : 1;
    for (int i = 0; i < nfiles; i++) {
        dsml_buf in = {0};
        r.file = strcmp(files[i], "-") ? files[i] : "<stdin>";
        if (tool_read_file(files[i], &in)) {
            status = TOOL_USAGE;
            dsml_buf_free(&in);
            continue;
        }
        dsml_input_kind k = forced >= 0 ? (dsml_input_kind)forced : guess_kind(files[i], in.data, in.len);
        dsml_checker_set_options(chk, &o);
        r.inputs++;
        if (k == DSML_INPUT_JSONL) {
            check_jsonl(&r, chk, &o, in.data, in.len);
        } else {
            input_begin(&r, dsml_input_kind_name(k), 0, 0);
            int rc = k == DSML_INPUT_COMPLETION ? dsml_check_completion(chk, in.data, in.len, NULL)
                     : k == DSML_INPUT_RESPONSE ? dsml_check_response(chk, in.data, in.len, NULL)
                                                : dsml_check_stream(chk, in.data, in.len, NULL);
            if (rc < 0) {
                tool_error("check", "%s: out of memory", r.file);
                status = TOOL_USAGE;
            }
            input_end(&r);
        }
        dsml_buf_free(&in);
    }
    dsml_buf codes = {0};
    if (r.json) {
        dsml_buf rep = {0};
        dsml_buf_printf(&rep, "{\"tool\":\"dsml check\",\"version\":\"%s\",\"results\":[\n", DSML_VERSION);
        if (r.out.len) dsml_buf_add(&rep, r.out.data, r.out.len);
        dsml_buf_printf(&rep, "],\n\"summary\":{\"inputs\":%zu,\"records\":%zu,\"with_findings\":%zu,"
                              "\"errors\":%zu,\"warnings\":%zu,\"codes\":",
                        r.inputs, r.records, r.flagged, r.total.errors, r.total.warnings);
        fd_codes_json(&r.total, &rep);
        dsml_buf_puts(&rep, "}}\n");
        if (rep.oom || tool_write_stdout(rep.data, rep.len)) status = TOOL_USAGE;
        dsml_buf_free(&rep);
    } else {
        fd_codes_text(&r.total, &codes);
        printf("dsml check: %zu input%s", r.inputs, r.inputs == 1 ? "" : "s");
        if (r.records) printf(", %zu record%s", r.records, r.records == 1 ? "" : "s");
        printf(": %zu error%s, %zu warning%s%s%s%s\n", r.total.errors, r.total.errors == 1 ? "" : "s",
               r.total.warnings, r.total.warnings == 1 ? "" : "s", codes.len ? " (" : "",
               codes.len ? codes.data : "", codes.len ? ")" : "");
    }
    fflush(stdout);
    if (status == TOOL_OK && (r.total.errors || (!r.fail_on_error && r.total.warnings)))
        status = TOOL_FINDINGS;
    dsml_buf_free(&codes);
    dsml_buf_free(&r.out);
    dsml_buf_free(&r.cur_json);
    dsml_checker_free(chk);
    return status;
}
