/*
 * cmd_conform.c - `dsml conform`: run the conformance suite (spec/conform, built in) against
 * a live OpenAI-compatible endpoint and grade every answer with the checks of `dsml check`
 * (dsml_check.h) plus each case's expectations.
 *
 * One run = one case in one mode (non-stream or stream). A run passes when it has no finding
 * of severity error. Transport problems (connection, timeout, HTTP status, a body that is not
 * JSON or SSE) are findings of the run like any other; nothing the endpoint does can make
 * this command fail with anything but exit status 1.
 *
 * Output: a progress line per run on stderr; on stdout a per-case table, the findings of
 * failing runs and a verdict line (or one JSON report with --format json); --report writes a
 * self-contained HTML page.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsml_check.h"
#include "dsml_json.h"
#include "dsml_jv.h"
#include "dsml_schema.h"
#include "findings.h"
#include "suite.h"
#include "tool.h"

static const char usage_text[] =
    "usage: dsml conform --endpoint URL [options]\n"
    "\n"
    "Sends the conformance suite (chat requests with tools: single and parallel calls, every\n"
    "argument type, unicode, a long string argument, a tool-result turn, tool_choice none /\n"
    "required / named; each streamed and not streamed) to an OpenAI-compatible endpoint and\n"
    "grades the answers with the checks of `dsml check` and each case's expectations.\n"
    "\n"
    "  --endpoint URL     base URL (http://host:port/v1) or the full .../chat/completions URL\n"
    "  --model NAME       model to ask for (default: the first id of GET <base>/models)\n"
    "  --api-key KEY      sent as 'Authorization: Bearer KEY' (default: $OPENAI_API_KEY)\n"
    "  --suite DIR        the cases to run (*.json); default: the built-in copy of spec/conform\n"
    "  --case NAME        run only this case (repeatable)\n"
    "  --mode M           both (default), stream or nonstream\n"
    "  --timeout S        seconds per request (default 120)\n"
    "  --report FILE      write a self-contained HTML report\n"
    "  --format F         text (default) or json\n"
    "  --ignore CODES     comma-separated codes to leave out\n"
    "  --list             list the cases and exit\n"
    "\n"
    "Each request carries the header X-DSML-Conform-Case: <case name>.\n"
    "exit status: 0 every run passed, 1 a run failed, 2 usage error (bad option or suite)\n";

/* ---- the suite ------------------------------------------------------------------------ */

typedef struct ccase {
    char name[64];
    char *text;
    size_t len;
    dsml_jv_doc *doc;
    const dsml_jv *request, *expect;
    const dsml_jv *description;
    int modes; /* 1: non-stream, 2: stream */
} ccase;

typedef struct suite {
    ccase *cases;
    size_t n;
    const char *source;
} suite;

/* Case name from a file name: the stem, without a leading "NN-" ordering prefix. */
static void case_name(const char *file, char out[64])
{
    const char *b = strrchr(file, '/');
    b = b ? b + 1 : file;
    size_t n = strlen(b);
    if (n > 5 && !strcmp(b + n - 5, ".json")) n -= 5;
    size_t k = 0;
    while (k < n && b[k] >= '0' && b[k] <= '9') k++;
    if (k && k < n && b[k] == '-') b += k + 1, n -= k + 1;
    snprintf(out, 64, "%.*s", (int)(n < 63 ? n : 63), b);
}

static int load_case(ccase *c, const char *file, const char *data, size_t len, const char **why)
{
    memset(c, 0, sizeof *c);
    case_name(file, c->name);
    c->text = malloc(len + 1);
    if (!c->text) return *why = "out of memory", -1;
    memcpy(c->text, data, len);
    c->text[len] = 0;
    c->len = len;
    dsml_jv_error err;
    c->doc = dsml_jv_parse(c->text, len, 0, &err);
    if (!c->doc) return *why = "not JSON", -1;
    const dsml_jv *root = dsml_jv_root(c->doc), *m;
    c->request = dsml_jv_get(root, "request");
    c->expect = dsml_jv_get(root, "expect");
    c->description = dsml_jv_get(root, "description");
    if (!c->request || c->request->type != DSML_JV_OBJECT)
        return *why = "no \"request\" object", -1;
    if (!dsml_jv_get(c->request, "messages")) return *why = "the request has no messages", -1;
    if (c->expect && c->expect->type != DSML_JV_OBJECT) return *why = "\"expect\" is not an object", -1;
    c->modes = 3;
    if ((m = dsml_jv_get(root, "modes")) && m->type == DSML_JV_ARRAY) {
        c->modes = 0;
        for (size_t i = 0; i < m->len; i++) {
            if (dsml_jv_str_is(&m->u.items[i], "nonstream")) c->modes |= 1;
            else if (dsml_jv_str_is(&m->u.items[i], "stream")) c->modes |= 2;
            else return *why = "modes must hold \"nonstream\" and/or \"stream\"", -1;
        }
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void suite_free(suite *s)
{
    for (size_t i = 0; i < s->n; i++) {
        dsml_jv_free(s->cases[i].doc);
        free(s->cases[i].text);
    }
    free(s->cases);
}

static int suite_load(suite *s, const char *dir)
{
    const char *why = NULL;
    if (!dir) {
        s->source = "built-in (spec/conform)";
        s->cases = calloc(suite_builtin_count + 1, sizeof *s->cases);
        if (!s->cases) return -1;
        for (size_t i = 0; i < suite_builtin_count; i++) {
            if (load_case(&s->cases[s->n], suite_builtin[i].name, suite_builtin[i].data,
                          suite_builtin[i].len, &why)) {
                tool_error("conform", "built-in case %s: %s", suite_builtin[i].name, why);
                s->n++;
                return -1;
            }
            s->n++;
        }
        return 0;
    }
    s->source = dir;
    DIR *d = opendir(dir);
    if (!d) {
        tool_error("conform", "cannot open suite %s: %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t nn = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") || e->d_name[0] == '.') continue;
        if (nn == cap) {
            cap = cap ? cap * 2 : 16;
            char **n2 = realloc(names, cap * sizeof *n2);
            if (!n2) break;
            names = n2;
        }
        names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_str);
    int rc = 0;
    s->cases = calloc(nn + 1, sizeof *s->cases);
    for (size_t i = 0; i < nn && s->cases; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        dsml_buf b = {0};
        if (tool_read_file(path, &b)) rc = -1;
        else {
            if (load_case(&s->cases[s->n], names[i], b.data, b.len, &why)) {
                tool_error("conform", "%s: %s", path, why);
                rc = -1;
            }
            s->n++; /* counted even when broken: suite_free releases it */
        }
        dsml_buf_free(&b);
        if (rc) break;
    }
    for (size_t i = 0; i < nn; i++) free(names[i]);
    free(names);
    if (!s->cases) return -1;
    if (!rc && !s->n) {
        tool_error("conform", "no *.json cases in %s", dir);
        rc = -1;
    }
    return rc;
}

/* ---- runs and their findings ------------------------------------------------------------- */

typedef struct rfinding {
    char *code, *path, *pointer, *msg, *excerpt;
    size_t exlen;
    dsml_severity sev;
} rfinding;

typedef struct crun {
    ccase *cs;
    int stream;
    double seconds;
    long http;
    dsml_buf body, reply;
    rfinding *f;
    size_t nf, capf;
    fd_counts counts;
    dsml_check_summary sum;
    int broken; /* no usable answer: expectations and comparison are skipped */
    int done;
} crun;

typedef struct ctx {
    crun *cur;
    fd_ignore ignore;
} ctx;

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n) memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static int on_finding(void *ud, const dsml_finding *f)
{
    ctx *x = ud;
    crun *r = x->cur;
    if (!r || fd_ignored(&x->ignore, f->code)) return 0;
    if (!strcmp(f->code, "C_NOT_JSON") || !strcmp(f->code, "C_HTTP_STATUS") ||
        !strcmp(f->code, "C_TIMEOUT") || !strcmp(f->code, "C_TRANSPORT") ||
        !strcmp(f->code, "C_API_ERROR") || !strcmp(f->code, "C_STREAM_JSON"))
        r->broken = 1;
    if (r->nf == r->capf) {
        size_t cap = r->capf ? r->capf * 2 : 8;
        rfinding *n = realloc(r->f, cap * sizeof *n);
        if (!n) return 1;
        r->f = n;
        r->capf = cap;
    }
    rfinding *o = &r->f[r->nf++];
    o->code = dupn(f->code, strlen(f->code));
    o->path = dupn(f->path, strlen(f->path));
    o->pointer = dupn(f->pointer, strlen(f->pointer));
    o->msg = dupn(f->message, strlen(f->message));
    o->excerpt = f->excerpt ? dupn(f->excerpt, f->excerpt_len) : NULL;
    o->exlen = f->excerpt ? f->excerpt_len : 0;
    o->sev = f->severity;
    fd_count(&r->counts, f);
    return 0;
}

static void run_free(crun *r)
{
    for (size_t i = 0; i < r->nf; i++) {
        free(r->f[i].code);
        free(r->f[i].path);
        free(r->f[i].pointer);
        free(r->f[i].msg);
        free(r->f[i].excerpt);
    }
    free(r->f);
    dsml_buf_free(&r->body);
    dsml_buf_free(&r->reply);
    dsml_check_summary_free(&r->sum);
}

static int run_passed(const crun *r) { return r->counts.errors == 0; }

static const char *mode_name(const crun *r) { return r->stream ? "stream" : "non-stream"; }

/* ---- HTTP --------------------------------------------------------------------------------- */

#define MAX_REPLY (64u << 20)

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    dsml_buf *b = ud;
    size_t len = size * n;
    if (b->len + len > MAX_REPLY || dsml_buf_add(b, p, len)) return 0;
    return len;
}

typedef struct http {
    const char *api_key;
    long timeout_s;
} http;

/* One request. Returns the curl code; *status is the HTTP status (0 if none). */
static CURLcode http_do(const http *h, const char *url, const char *body, size_t len,
                        const char *case_name, dsml_buf *reply, long *status, char err[CURL_ERROR_SIZE])
{
    CURL *c = curl_easy_init();
    *status = 0;
    err[0] = 0;
    if (!c) return CURLE_FAILED_INIT;
    struct curl_slist *hd = NULL;
    char line[512];
    hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Expect:");
    if (h->api_key && *h->api_key) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", h->api_key);
        hd = curl_slist_append(hd, line);
    }
    if (case_name) {
        snprintf(line, sizeof line, "X-DSML-Conform-Case: %s", case_name);
        hd = curl_slist_append(hd, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_s * 1000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (h->timeout_s < 10 ? h->timeout_s : 10) * 1000L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "dsml-conform/" DSML_VERSION);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(c);
    return rc;
}

/* The model to ask for: the first id of GET <base>/models, or "default". */
static void pick_model(const http *h, const char *models_url, char *out, size_t cap)
{
    dsml_buf reply = {0};
    long status;
    char err[CURL_ERROR_SIZE];
    snprintf(out, cap, "default");
    if (http_do(h, models_url, NULL, 0, NULL, &reply, &status, err) == CURLE_OK && status == 200 &&
        reply.len) {
        dsml_jv_doc *d = dsml_jv_parse(reply.data, reply.len, 0, NULL);
        const dsml_jv *data = d ? dsml_jv_get(dsml_jv_root(d), "data") : NULL;
        const dsml_jv *id = data && data->type == DSML_JV_ARRAY && data->len
                                ? dsml_jv_get(&data->u.items[0], "id")
                                : NULL;
        if (id && id->type == DSML_JV_STRING && id->len && id->len < cap)
            snprintf(out, cap, "%.*s", (int)id->len, id->u.s);
        dsml_jv_free(d);
    }
    dsml_buf_free(&reply);
}

/* ---- requests ------------------------------------------------------------------------------- */

static void build_body(const ccase *c, const char *model, int stream, dsml_buf *out)
{
    dsml_sink sink = dsml_buf_sink(out);
    dsml_buf_puts(out, "{\"model\": ");
    dsml_py_write_string(model, strlen(model), 0, &sink);
    dsml_buf_printf(out, ", \"stream\": %s", stream ? "true" : "false");
    const dsml_jv *req = c->request;
    for (size_t i = 0; i < req->len; i++) {
        const dsml_jv_member *m = &req->u.members[i];
        if ((m->key_len == 5 && !memcmp(m->key, "model", 5)) ||
            (m->key_len == 6 && !memcmp(m->key, "stream", 6)))
            continue;
        dsml_buf_puts(out, ", ");
        dsml_py_write_string(m->key, m->key_len, 0, &sink);
        dsml_buf_puts(out, ": ");
        dsml_jv_write_py(&m->value, 0, &sink, NULL);
    }
    dsml_buf_putc(out, '}');
}

/* ---- expectations ----------------------------------------------------------------------------- */

static int count_cp(const char *s, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* Does delivered call `dc` satisfy the expected entry `want` ({name, arguments, min_length})? */
static int call_matches(const dsml_check_call *dc, const dsml_jv *want)
{
    const dsml_jv *name = dsml_jv_get(want, "name");
    if (name && (name->type != DSML_JV_STRING || name->len != dc->name.len ||
                 (name->len && memcmp(name->u.s, dc->name.data, name->len))))
        return 0;
    const dsml_jv *args = dsml_jv_get(want, "arguments"), *minl = dsml_jv_get(want, "min_length");
    if (!args && !minl) return 1;
    dsml_jv_doc *d = dsml_jv_parse(dc->arguments.data ? dc->arguments.data : "", dc->arguments.len, 0, NULL);
    const dsml_jv *got = d ? dsml_jv_root(d) : NULL;
    int ok = got && got->type == DSML_JV_OBJECT;
    for (size_t i = 0; ok && args && args->type == DSML_JV_OBJECT && i < args->len; i++) {
        const dsml_jv_member *m = &args->u.members[i];
        const dsml_jv *v = NULL;
        for (size_t k = 0; k < got->len; k++)
            if (got->u.members[k].key_len == m->key_len && !memcmp(got->u.members[k].key, m->key, m->key_len))
                v = &got->u.members[k].value;
        ok = v && dsml_jv_equal(v, &m->value);
    }
    for (size_t i = 0; ok && minl && minl->type == DSML_JV_OBJECT && i < minl->len; i++) {
        const dsml_jv_member *m = &minl->u.members[i];
        double want_n = 0;
        dsml_json_number_to_double(m->value.u.s, m->value.type == DSML_JV_NUMBER ? m->value.len : 0, &want_n);
        const dsml_jv *v = NULL;
        for (size_t k = 0; k < got->len; k++)
            if (got->u.members[k].key_len == m->key_len && !memcmp(got->u.members[k].key, m->key, m->key_len))
                v = &got->u.members[k].value;
        ok = v && v->type == DSML_JV_STRING && count_cp(v->u.s, v->len) >= (int)want_n;
    }
    dsml_jv_free(d);
    return ok;
}

static void describe_want(const dsml_jv *want, dsml_buf *out)
{
    dsml_sink sink = dsml_buf_sink(out);
    const dsml_jv *name = dsml_jv_get(want, "name"), *args = dsml_jv_get(want, "arguments");
    const dsml_jv *minl = dsml_jv_get(want, "min_length");
    if (name && name->type == DSML_JV_STRING) dsml_buf_add(out, name->u.s, name->len);
    else dsml_buf_puts(out, "a call");
    if (args) {
        dsml_buf_puts(out, " with ");
        dsml_jv_write_py(args, 0, &sink, NULL);
    }
    if (minl) {
        dsml_buf_puts(out, args ? " and string lengths >= " : " with string lengths >= ");
        dsml_jv_write_py(minl, 0, &sink, NULL);
    }
    if (out->len > 400) {
        out->len = 400;
        while (out->len && ((unsigned char)out->data[out->len] & 0xC0) == 0x80) out->len--;
        out->data[out->len] = 0;
        dsml_buf_puts(out, "\xE2\x80\xA6");
    }
}

static void check_expect(dsml_checker *chk, const ccase *c, const dsml_check_summary *s)
{
    const dsml_jv *e = c->expect, *k;
    char msg[1024];
    if (!e) return;
    if ((k = dsml_jv_get(e, "calls")) && k->type == DSML_JV_ARRAY && k->len == 2) {
        double lo = 0, hi = -1;
        if (k->u.items[0].type == DSML_JV_NUMBER)
            dsml_json_number_to_double(k->u.items[0].u.s, k->u.items[0].len, &lo);
        if (k->u.items[1].type == DSML_JV_NUMBER)
            dsml_json_number_to_double(k->u.items[1].u.s, k->u.items[1].len, &hi);
        if ((double)s->ncalls < lo || (hi >= 0 && (double)s->ncalls > hi)) {
            if (hi < 0) snprintf(msg, sizeof msg, "expected at least %.0f tool call%s, got %zu", lo, lo == 1 ? "" : "s", s->ncalls);
            else if (lo == hi) snprintf(msg, sizeof msg, "expected %.0f tool call%s, got %zu", lo, lo == 1 ? "" : "s", s->ncalls);
            else snprintf(msg, sizeof msg, "expected %.0f to %.0f tool calls, got %zu", lo, hi, s->ncalls);
            dsml_check_emit(chk, DSML_C_EXPECT_CALLS, "expect.calls", msg, NULL, 0);
        }
    }
    if ((k = dsml_jv_get(e, "names")) && k->type == DSML_JV_ARRAY)
        for (size_t i = 0; i < s->ncalls; i++) {
            const dsml_check_call *dc = &s->calls[i];
            size_t j;
            for (j = 0; j < k->len; j++)
                if (k->u.items[j].type == DSML_JV_STRING && k->u.items[j].len == dc->name.len &&
                    !memcmp(k->u.items[j].u.s, dc->name.data ? dc->name.data : "", dc->name.len))
                    break;
            if (j == k->len) {
                snprintf(msg, sizeof msg, "call %zu is to \"%.*s\", expected %s%.*s%s", i,
                         (int)(dc->name.len > 100 ? 100 : dc->name.len), dc->name.data ? dc->name.data : "",
                         k->len == 1 ? "\"" : "one of the listed tools (",
                         k->len == 1 ? (int)k->u.items[0].len : 0, k->len == 1 ? k->u.items[0].u.s : "",
                         k->len == 1 ? "\"" : ")");
                dsml_check_emit(chk, DSML_C_EXPECT_NAME, "expect.names", msg, NULL, 0);
            }
        }
    if ((k = dsml_jv_get(e, "include")) && k->type == DSML_JV_ARRAY && s->ncalls) {
        char used[256] = {0};
        for (size_t i = 0; i < k->len; i++) {
            size_t j;
            for (j = 0; j < s->ncalls && j < sizeof used; j++)
                if (!used[j] && call_matches(&s->calls[j], &k->u.items[i])) break;
            if (j < s->ncalls && j < sizeof used) {
                used[j] = 1;
                continue;
            }
            dsml_buf w = {0};
            describe_want(&k->u.items[i], &w);
            dsml_buf_puts(&w, "; got ");
            for (size_t q = 0; q < s->ncalls && q < 4; q++) {
                if (q) dsml_buf_puts(&w, ", ");
                dsml_buf_add(&w, s->calls[q].name.data ? s->calls[q].name.data : "", s->calls[q].name.len);
                dsml_buf_putc(&w, ' ');
                size_t al = s->calls[q].arguments.len;
                dsml_buf_add(&w, s->calls[q].arguments.data ? s->calls[q].arguments.data : "", al > 200 ? 200 : al);
                if (al > 200) dsml_buf_puts(&w, "\xE2\x80\xA6");
            }
            snprintf(msg, sizeof msg, "no delivered call matches %s", w.data ? w.data : "");
            dsml_check_emit(chk, DSML_C_EXPECT_ARGS, "expect.include", msg, NULL, 0);
            dsml_buf_free(&w);
        }
    }
    const char *s1 = s->content.data ? s->content.data : "";
    size_t n1 = s->content.len;
    while (n1 && (*s1 == ' ' || *s1 == '\n' || *s1 == '\t' || *s1 == '\r')) s1++, n1--;
    if ((k = dsml_jv_get(e, "content")) && dsml_jv_str_is(k, "nonempty") && !n1)
        dsml_check_emit(chk, DSML_C_EXPECT_CONTENT, "expect.content", "expected a text answer, content is empty", NULL, 0);
    if ((k = dsml_jv_get(e, "content")) && dsml_jv_str_is(k, "empty") && n1)
        dsml_check_emit(chk, DSML_C_EXPECT_CONTENT, "expect.content", "expected no text content", s1, n1);
    if ((k = dsml_jv_get(e, "content_contains")) && k->type == DSML_JV_STRING && k->len &&
        !memmem(s1, n1, k->u.s, k->len)) {
        snprintf(msg, sizeof msg, "content does not contain \"%.*s\"", (int)(k->len > 200 ? 200 : k->len), k->u.s);
        dsml_check_emit(chk, DSML_C_EXPECT_CONTENT, "expect.content_contains", msg, s1, n1 > 2000 ? 2000 : n1);
    }
}

/* ---- one run ---------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void do_run(crun *r, dsml_checker *chk, ctx *x, const http *h, const char *url, const char *model)
{
    ccase *c = r->cs;
    x->cur = r;
    build_body(c, model, r->stream, &r->body);
    dsml_check_options o;
    dsml_check_options_init(&o);
    o.finish_stop_ok = c->expect && dsml_jv_get(c->expect, "finish_stop_ok") &&
                       dsml_jv_get(c->expect, "finish_stop_ok")->type == DSML_JV_TRUE;
    dsml_checker_set_options(chk, &o);
    const char *why = NULL;
    if (dsml_checker_set_tools(chk, r->body.data, r->body.len, &why)) dsml_checker_set_tools(chk, NULL, 0, NULL);
    char err[CURL_ERROR_SIZE], msg[CURL_ERROR_SIZE + 200];
    double t0 = now_s();
    CURLcode rc = http_do(h, url, r->body.data, r->body.len, c->name, &r->reply, &r->http, err);
    r->seconds = now_s() - t0;
    const char *body = r->reply.data ? r->reply.data : "";
    size_t blen = r->reply.len;
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(msg, sizeof msg, "no complete answer within %ld s (%zu bytes received)%s%s",
                 h->timeout_s, blen, err[0] ? ": " : "", err);
        dsml_check_emit(chk, DSML_C_TIMEOUT, "", msg, blen ? body : NULL, blen > 4096 ? 4096 : blen);
    } else if (rc != CURLE_OK) {
        snprintf(msg, sizeof msg, "%s%s%s (after %zu bytes of the answer)", curl_easy_strerror(rc),
                 err[0] ? ": " : "", err, blen);
        dsml_check_emit(chk, DSML_C_TRANSPORT, "", msg, blen ? body : NULL, blen > 4096 ? 4096 : blen);
    }
    if (rc == CURLE_OK && (r->http < 200 || r->http > 299)) {
        dsml_jv_doc *d = dsml_jv_parse(body, blen, 0, NULL);
        const dsml_jv *em = d ? dsml_jv_get(dsml_jv_get(dsml_jv_root(d), "error"), "message") : NULL;
        if (em && em->type == DSML_JV_STRING)
            snprintf(msg, sizeof msg, "HTTP %ld: %.*s", r->http, (int)(em->len > 300 ? 300 : em->len), em->u.s);
        else snprintf(msg, sizeof msg, "HTTP %ld", r->http);
        dsml_jv_free(d);
        dsml_check_emit(chk, DSML_C_HTTP_STATUS, "", msg, body, blen > 4096 ? 4096 : blen);
    } else if (rc == CURLE_OK || blen) {
        /* grade what came back (for a broken connection: what arrived before it broke) */
        dsml_input_kind k = dsml_check_detect(body, blen);
        if (r->stream && k != DSML_INPUT_STREAM && rc == CURLE_OK) {
            dsml_check_emit(chk, DSML_C_SHAPE, "", "stream requested, but the answer is not an SSE stream",
                            body, blen > 4096 ? 4096 : blen);
            dsml_check_response(chk, body, blen, &r->sum);
        } else if (!r->stream && k == DSML_INPUT_STREAM) {
            dsml_check_emit(chk, DSML_C_SHAPE, "", "non-streamed answer requested, but an SSE stream came back",
                            body, blen > 4096 ? 4096 : blen);
            dsml_check_stream(chk, body, blen, &r->sum);
        } else if (r->stream) dsml_check_stream(chk, body, blen, &r->sum);
        else dsml_check_response(chk, body, blen, &r->sum);
    }
    if (!r->broken) check_expect(chk, c, &r->sum);
    r->done = 1;
    x->cur = NULL;
}

/* ---- output -------------------------------------------------------------------------------- */

static void print_findings(FILE *f, const crun *r)
{
    for (size_t i = 0; i < r->nf; i++) {
        const rfinding *q = &r->f[i];
        fprintf(f, "    %s %s: ", fd_sev_name(q->sev), q->code);
        if (q->path[0] || q->pointer[0])
            fprintf(f, "%s%s%s: ", q->path, q->path[0] && q->pointer[0] ? " " : "", q->pointer);
        fprintf(f, "%s\n", q->msg);
        if (q->excerpt && q->exlen) {
            fprintf(f, "      | ");
            fd_print_excerpt(f, q->excerpt, q->exlen, 160);
            fputc('\n', f);
        }
    }
}

static void html_esc(dsml_buf *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '<': dsml_buf_puts(o, "&lt;"); break;
        case '>': dsml_buf_puts(o, "&gt;"); break;
        case '&': dsml_buf_puts(o, "&amp;"); break;
        case '"': dsml_buf_puts(o, "&quot;"); break;
        case 0: dsml_buf_puts(o, "\xEF\xBF\xBD"); break;
        default: dsml_buf_putc(o, s[i]);
        }
    }
}

static void html_s(dsml_buf *o, const char *s) { html_esc(o, s, strlen(s)); }

static void html_cell(dsml_buf *o, const crun *r)
{
    if (!r) {
        dsml_buf_puts(o, "<td class=na>-</td>");
        return;
    }
    int pass = run_passed(r);
    dsml_buf_printf(o, "<td class=%s><a href=\"#%s-%s\">%s</a>", pass ? (r->counts.warnings ? "warn" : "pass") : "fail",
                    r->cs->name, r->stream ? "stream" : "nonstream", pass ? "PASS" : "FAIL");
    if (r->counts.ncodes) {
        dsml_buf codes = {0};
        fd_codes_text(&r->counts, &codes);
        dsml_buf_puts(o, "<div class=codes>");
        html_esc(o, codes.data, codes.len);
        dsml_buf_puts(o, "</div>");
        dsml_buf_free(&codes);
    }
    dsml_buf_puts(o, "</td>");
}

static int write_html(const char *path, const char *endpoint, const char *model, const suite *s,
                      crun *runs, size_t nruns, size_t failed, const fd_counts *total)
{
    dsml_buf o = {0};
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    dsml_buf_puts(&o, "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\n<title>dsml conform: ");
    html_s(&o, failed ? "FAIL" : "PASS");
    dsml_buf_puts(&o, " ");
    html_s(&o, endpoint);
    dsml_buf_puts(&o, "</title>\n<style>\n"
        "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222;padding:0 1em}\n"
        "h1{font-size:1.5em}.verdict{font-size:1.3em;padding:.6em 1em;border-radius:6px;color:#fff}\n"
        ".verdict.pass{background:#2e7d32}.verdict.fail{background:#c62828}\n"
        "table{border-collapse:collapse;margin:1em 0;width:100%}td,th{border:1px solid #ccc;padding:.35em .6em;text-align:left;vertical-align:top}\n"
        "th{background:#f3f3f3}td.pass{background:#e8f5e9}td.warn{background:#fff8e1}td.fail{background:#ffebee}td.na{color:#999}\n"
        "td a{color:inherit;font-weight:600;text-decoration:none}.codes{font:12px monospace;color:#555}\n"
        ".run{border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.3em 1em}.run.fail{border-color:#e57373}\n"
        ".f{margin:.4em 0}.f code{font-weight:600}.sev-error{color:#c62828}.sev-warning{color:#b26a00}\n"
        "pre{background:#f7f7f7;border:1px solid #e0e0e0;padding:.6em;white-space:pre-wrap;word-break:break-all;max-height:24em;overflow:auto;font-size:12px}\n"
        "pre.leak{background:#fff3f3;border-color:#e57373}.meta{color:#555}\n"
        "</style></head><body>\n<h1>dsml conform</h1>\n<p class=meta>endpoint <code>");
    html_s(&o, endpoint);
    dsml_buf_puts(&o, "</code> &middot; model <code>");
    html_s(&o, model);
    dsml_buf_puts(&o, "</code> &middot; suite ");
    html_s(&o, s->source);
    dsml_buf_printf(&o, " &middot; %s</p>\n", when);
    dsml_buf codes = {0};
    fd_codes_text(total, &codes);
    dsml_buf_printf(&o, "<p class=\"verdict %s\">%s &mdash; %zu of %zu runs passed", failed ? "fail" : "pass",
                    failed ? "FAIL" : "PASS", nruns - failed, nruns);
    if (codes.len) {
        dsml_buf_puts(&o, " &middot; ");
        html_esc(&o, codes.data, codes.len);
    }
    dsml_buf_puts(&o, "</p>\n<table><tr><th>case</th><th>what it tests</th><th>non-stream</th><th>stream</th></tr>\n");
    for (size_t i = 0; i < s->n; i++) {
        const ccase *c = &s->cases[i];
        crun *ns = NULL, *st = NULL;
        for (size_t k = 0; k < nruns; k++)
            if (runs[k].cs == c && runs[k].done) *(runs[k].stream ? &st : &ns) = &runs[k];
        if (!ns && !st) continue;
        dsml_buf_puts(&o, "<tr><td><code>");
        html_s(&o, c->name);
        dsml_buf_puts(&o, "</code></td><td>");
        if (c->description && c->description->type == DSML_JV_STRING)
            html_esc(&o, c->description->u.s, c->description->len);
        dsml_buf_puts(&o, "</td>");
        html_cell(&o, ns);
        html_cell(&o, st);
        dsml_buf_puts(&o, "</tr>\n");
    }
    dsml_buf_puts(&o, "</table>\n<h2>Runs</h2>\n");
    for (size_t k = 0; k < nruns; k++) {
        crun *r = &runs[k];
        if (!r->done) continue;
        int pass = run_passed(r);
        dsml_buf_printf(&o, "<div class=\"run %s\" id=\"%s-%s\"><h3>%s &middot; %s &middot; %s</h3>\n",
                        pass ? "pass" : "fail", r->cs->name, r->stream ? "stream" : "nonstream",
                        r->cs->name, mode_name(r), pass ? "PASS" : "FAIL");
        dsml_buf_printf(&o, "<p class=meta>HTTP %ld &middot; %.2f s &middot; %zu tool call%s &middot; finish_reason <code>",
                        r->http, r->seconds, r->sum.ncalls, r->sum.ncalls == 1 ? "" : "s");
        html_s(&o, r->sum.finish[0] ? r->sum.finish : "(none)");
        dsml_buf_puts(&o, "</code></p>\n");
        for (size_t i = 0; i < r->nf; i++) {
            const rfinding *q = &r->f[i];
            dsml_buf_printf(&o, "<div class=f><span class=sev-%s>%s</span> <code>", fd_sev_name(q->sev), fd_sev_name(q->sev));
            html_s(&o, q->code);
            dsml_buf_puts(&o, "</code> ");
            if (q->path[0] || q->pointer[0]) {
                dsml_buf_puts(&o, "<span class=meta>");
                html_s(&o, q->path);
                if (q->pointer[0]) dsml_buf_putc(&o, ' ');
                html_s(&o, q->pointer);
                dsml_buf_puts(&o, "</span> ");
            }
            html_s(&o, q->msg);
            if (q->excerpt && q->exlen) {
                int leak = !strcmp(q->code, "C_LEAKED_DSML") || !strcmp(q->code, "C_DSML_IN_REASONING") ||
                           !strcmp(q->code, "C_MARKUP_FRAGMENT");
                dsml_buf_printf(&o, "<pre%s>", leak ? " class=leak" : "");
                html_esc(&o, q->excerpt, q->exlen);
                dsml_buf_puts(&o, "</pre>");
            }
            dsml_buf_puts(&o, "</div>\n");
        }
        for (size_t i = 0; i < r->sum.ncalls; i++) {
            if (!i) dsml_buf_puts(&o, "<p>tool calls delivered:</p><pre>");
            html_esc(&o, r->sum.calls[i].name.data ? r->sum.calls[i].name.data : "", r->sum.calls[i].name.len);
            dsml_buf_putc(&o, ' ');
            html_esc(&o, r->sum.calls[i].arguments.data ? r->sum.calls[i].arguments.data : "",
                     r->sum.calls[i].arguments.len > 2000 ? 2000 : r->sum.calls[i].arguments.len);
            dsml_buf_puts(&o, i + 1 == r->sum.ncalls ? "</pre>\n" : "\n");
        }
        if (r->sum.content.len) {
            dsml_buf_puts(&o, "<p>content delivered:</p><pre>");
            html_esc(&o, r->sum.content.data, r->sum.content.len > 8000 ? 8000 : r->sum.content.len);
            dsml_buf_puts(&o, "</pre>\n");
        }
        dsml_buf_puts(&o, "<details><summary>request</summary><pre>");
        html_esc(&o, r->body.data ? r->body.data : "", r->body.len > 16384 ? 16384 : r->body.len);
        dsml_buf_printf(&o, "</pre></details>\n<details><summary>raw answer (%zu bytes)</summary><pre>", r->reply.len);
        html_esc(&o, r->reply.data ? r->reply.data : "", r->reply.len > 65536 ? 65536 : r->reply.len);
        dsml_buf_puts(&o, "</pre></details></div>\n");
    }
    dsml_buf_puts(&o, "<p class=meta>Finding codes are described in spec/CHECK.md (<code>dsml check --list-codes</code>).</p>\n</body></html>\n");
    dsml_buf_free(&codes);
    FILE *f = fopen(path, "wb");
    int rc = 0;
    if (!f || o.oom || fwrite(o.data, 1, o.len, f) != o.len) rc = -1;
    if (f && fclose(f)) rc = -1;
    if (rc) tool_error("conform", "cannot write %s: %s", path, o.oom ? "out of memory" : strerror(errno));
    dsml_buf_free(&o);
    return rc;
}

static void write_json(const char *endpoint, const char *model, const suite *s, crun *runs,
                       size_t nruns, size_t failed, const fd_counts *total)
{
    dsml_buf o = {0};
    dsml_buf_printf(&o, "{\"tool\":\"dsml conform\",\"version\":\"%s\",\"endpoint\":", DSML_VERSION);
    fd_json_str(&o, endpoint, strlen(endpoint));
    dsml_buf_puts(&o, ",\"model\":");
    fd_json_str(&o, model, strlen(model));
    dsml_buf_puts(&o, ",\"suite\":");
    fd_json_str(&o, s->source, strlen(s->source));
    dsml_buf_printf(&o, ",\"verdict\":\"%s\",\"runs\":[\n", failed ? "fail" : "pass");
    int first = 1;
    for (size_t k = 0; k < nruns; k++) {
        crun *r = &runs[k];
        if (!r->done) continue;
        dsml_buf_puts(&o, first ? "{\"case\":" : ",\n{\"case\":");
        first = 0;
        fd_json_str(&o, r->cs->name, strlen(r->cs->name));
        dsml_buf_printf(&o, ",\"mode\":\"%s\",\"result\":\"%s\",\"seconds\":%.3f,\"http_status\":%ld,"
                            "\"calls\":%zu,\"finish_reason\":",
                        r->stream ? "stream" : "nonstream", run_passed(r) ? "pass" : "fail", r->seconds,
                        r->http, r->sum.ncalls);
        fd_json_str(&o, r->sum.finish, strlen(r->sum.finish));
        dsml_buf_puts(&o, ",\"findings\":[");
        for (size_t i = 0; i < r->nf; i++) {
            const rfinding *q = &r->f[i];
            dsml_finding f = {q->code, 0, q->sev, q->path, q->pointer, DSML_NO_OFFSET, 0, 0, q->msg,
                              q->excerpt, q->exlen};
            if (i) dsml_buf_putc(&o, ',');
            fd_json_finding(&o, &f);
        }
        dsml_buf_puts(&o, "]}");
    }
    dsml_buf_printf(&o, "],\n\"summary\":{\"runs\":%zu,\"passed\":%zu,\"failed\":%zu,\"errors\":%zu,"
                        "\"warnings\":%zu,\"codes\":",
                    nruns, nruns - failed, failed, total->errors, total->warnings);
    fd_codes_json(total, &o);
    dsml_buf_puts(&o, "}}\n");
    tool_write_stdout(o.data ? o.data : "", o.len);
    dsml_buf_free(&o);
}

/* ---- main ------------------------------------------------------------------------------------ */

int cmd_conform(int argc, char **argv)
{
    enum { O_ENDPOINT = 256, O_MODEL, O_KEY, O_SUITE, O_CASE, O_MODE, O_TIMEOUT, O_REPORT, O_FORMAT,
           O_IGNORE, O_LIST };
    static const struct option longopts[] = {
        {"endpoint", required_argument, 0, O_ENDPOINT},
        {"model", required_argument, 0, O_MODEL},
        {"api-key", required_argument, 0, O_KEY},
        {"suite", required_argument, 0, O_SUITE},
        {"case", required_argument, 0, O_CASE},
        {"mode", required_argument, 0, O_MODE},
        {"timeout", required_argument, 0, O_TIMEOUT},
        {"report", required_argument, 0, O_REPORT},
        {"format", required_argument, 0, O_FORMAT},
        {"ignore", required_argument, 0, O_IGNORE},
        {"list", no_argument, 0, O_LIST},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    setlocale(LC_CTYPE, "C.UTF-8");
    const char *endpoint = NULL, *model_opt = NULL, *suite_dir = NULL, *report = NULL, *bad;
    const char *only[64];
    size_t nonly = 0, n;
    int modes = 3, json = 0, list = 0, c;
    http h = {getenv("OPENAI_API_KEY"), 120};
    ctx x;
    memset(&x, 0, sizeof x);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_ENDPOINT: endpoint = optarg; break;
        case O_MODEL: model_opt = optarg; break;
        case O_KEY: h.api_key = optarg; break;
        case O_SUITE: suite_dir = optarg; break;
        case O_CASE:
            if (nonly < sizeof only / sizeof *only) only[nonly++] = optarg;
            break;
        case O_MODE:
            if (!strcmp(optarg, "both")) modes = 3;
            else if (!strcmp(optarg, "nonstream")) modes = 1;
            else if (!strcmp(optarg, "stream")) modes = 2;
            else {
                tool_error("conform", "--mode takes both, stream or nonstream");
                return TOOL_USAGE;
            }
            break;
        case O_TIMEOUT:
            if (tool_parse_size(optarg, &n) || n == 0 || n > 86400) {
                tool_error("conform", "bad --timeout '%s' (seconds, 1..86400)", optarg);
                return TOOL_USAGE;
            }
            h.timeout_s = (long)n;
            break;
        case O_REPORT: report = optarg; break;
        case O_FORMAT:
            if (!strcmp(optarg, "json")) json = 1;
            else if (strcmp(optarg, "text")) {
                tool_error("conform", "unknown format '%s' (text, json)", optarg);
                return TOOL_USAGE;
            }
            break;
        case O_IGNORE:
            if (fd_ignore_add(&x.ignore, optarg, &bad)) {
                tool_error("conform", "unknown code '%s' in --ignore (dsml check --list-codes)", bad);
                return TOOL_USAGE;
            }
            break;
        case O_LIST: list = 1; break;
        case 'h': fputs(usage_text, stdout); return TOOL_OK;
        default: fputs(usage_text, stderr); return TOOL_USAGE;
        }
    }
    if (optind < argc || (!endpoint && !list)) {
        if (!endpoint && !list) tool_error("conform", "--endpoint is required");
        fputs(usage_text, stderr);
        return TOOL_USAGE;
    }
    suite s = {0};
    if (suite_load(&s, suite_dir)) {
        suite_free(&s);
        return TOOL_USAGE;
    }
    for (size_t i = 0; i < nonly; i++) {
        size_t k;
        for (k = 0; k < s.n && strcmp(s.cases[k].name, only[i]); k++) {}
        if (k == s.n) {
            tool_error("conform", "no case named '%s' in %s (--list)", only[i], s.source);
            suite_free(&s);
            return TOOL_USAGE;
        }
    }
    if (list) {
        for (size_t i = 0; i < s.n; i++) {
            const dsml_jv *d = s.cases[i].description;
            int dl = d && d->type == DSML_JV_STRING ? (int)d->len : 0;
            printf("%-24s %.*s\n", s.cases[i].name, dl, dl ? d->u.s : "");
        }
        suite_free(&s);
        return TOOL_OK;
    }
    /* URLs */
    size_t el = strlen(endpoint);
    while (el && endpoint[el - 1] == '/') el--;
    static const char tail[] = "/chat/completions";
    size_t tl = sizeof tail - 1;
    int full = el > tl && !memcmp(endpoint + el - tl, tail, tl);
    size_t base_len = full ? el - tl : el;
    char *chat_url = malloc(base_len + tl + 1), *models_url = malloc(base_len + 8);
    if (!chat_url || !models_url) {
        free(chat_url), free(models_url), suite_free(&s);
        return TOOL_USAGE;
    }
    snprintf(chat_url, base_len + tl + 1, "%.*s%s", (int)base_len, endpoint, tail);
    snprintf(models_url, base_len + 8, "%.*s/models", (int)base_len, endpoint);
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        tool_error("conform", "libcurl initialisation failed");
        free(chat_url), free(models_url), suite_free(&s);
        return TOOL_USAGE;
    }
    char model[256];
    if (model_opt) snprintf(model, sizeof model, "%s", model_opt);
    else pick_model(&h, models_url, model, sizeof model);

    /* the runs, in suite order: non-stream then stream for each case */
    crun *runs = calloc(s.n * 2 + 1, sizeof *runs);
    size_t nruns = 0;
    for (size_t i = 0; runs && i < s.n; i++) {
        int selected = !nonly;
        for (size_t k = 0; k < nonly; k++) selected |= !strcmp(only[k], s.cases[i].name);
        if (!selected) continue;
        for (int st = 0; st < 2; st++)
            if ((s.cases[i].modes & modes) & (1 << st)) {
                runs[nruns].cs = &s.cases[i];
                runs[nruns++].stream = st;
            }
    }
    dsml_checker *chk = runs ? dsml_checker_new(NULL, on_finding, &x) : NULL;
    if (!chk) {
        tool_error("conform", "out of memory");
        free(runs), free(chat_url), free(models_url), suite_free(&s);
        curl_global_cleanup();
        return TOOL_USAGE;
    }
    fprintf(stderr, "dsml conform: %s, model %s, %zu runs (%s)\n", chat_url, model, nruns, s.source);
    for (size_t k = 0; k < nruns; k++) {
        crun *r = &runs[k];
        fprintf(stderr, "[%2zu/%zu] %-24s %-10s ... ", k + 1, nruns, r->cs->name, mode_name(r));
        fflush(stderr);
        do_run(r, chk, &x, &h, chat_url, model);
        /* both modes done: the streamed answer must carry the same calls */
        if (r->stream && k && runs[k - 1].cs == r->cs && !runs[k - 1].stream && !r->broken &&
            !runs[k - 1].broken) {
            const dsml_jv *cmp = r->cs->expect ? dsml_jv_get(r->cs->expect, "compare") : NULL;
            if (!cmp || cmp->type != DSML_JV_FALSE) {
                x.cur = r;
                dsml_check_compare(chk, &runs[k - 1].sum, &r->sum, DSML_C_STREAM_MISMATCH, "stream vs non-stream");
                x.cur = NULL;
            }
        }
        dsml_buf codes = {0};
        fd_codes_text(&r->counts, &codes);
        fprintf(stderr, "%s %.2f s%s%s\n", run_passed(r) ? (r->counts.warnings ? "pass (warnings)" : "pass") : "FAIL",
                r->seconds, codes.len ? "  " : "", codes.len ? codes.data : "");
        dsml_buf_free(&codes);
    }
    size_t failed = 0;
    fd_counts total;
    memset(&total, 0, sizeof total);
    for (size_t k = 0; k < nruns; k++) {
        failed += !run_passed(&runs[k]);
        fd_merge(&total, &runs[k].counts);
    }
    dsml_buf codes = {0};
    fd_codes_text(&total, &codes);
    if (json) write_json(chat_url, model, &s, runs, nruns, failed, &total);
    else {
        printf("%-24s %-10s %-6s %8s  %s\n", "case", "mode", "result", "time", "findings");
        for (size_t k = 0; k < nruns; k++) {
            crun *r = &runs[k];
            dsml_buf rc = {0};
            fd_codes_text(&r->counts, &rc);
            printf("%-24s %-10s %-6s %7.2fs  %s\n", r->cs->name, mode_name(r), run_passed(r) ? "pass" : "FAIL",
                   r->seconds, rc.data ? rc.data : "");
            dsml_buf_free(&rc);
        }
        for (size_t k = 0; k < nruns; k++)
            if (runs[k].nf) {
                printf("\n%s (%s): %s\n", runs[k].cs->name, mode_name(&runs[k]), run_passed(&runs[k]) ? "pass" : "FAIL");
                print_findings(stdout, &runs[k]);
            }
        printf("\nverdict: %s - %zu of %zu runs passed%s%s%s\n", failed ? "FAIL" : "PASS", nruns - failed, nruns,
               codes.len ? " (" : "", codes.len ? codes.data : "", codes.len ? ")" : "");
    }
    fflush(stdout);
    int status = failed ? TOOL_FINDINGS : TOOL_OK;
    if (report && write_html(report, chat_url, model, &s, runs, nruns, failed, &total)) status = TOOL_USAGE;
    else if (report) fprintf(stderr, "dsml conform: report written to %s\n", report);
    dsml_buf_free(&codes);
    for (size_t k = 0; k < nruns; k++) run_free(&runs[k]);
    free(runs);
    dsml_checker_free(chk);
    free(chat_url);
    free(models_url);
    suite_free(&s);
    curl_global_cleanup();
    return status;
}
