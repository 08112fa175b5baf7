/*
 * check.c - conformance checks of completions, OpenAI responses and OpenAI streams
 * (dsml_check.h).
 *
 * Layout: the code table; the finding emitter (turns offsets into line:col of the text being
 * checked); the tool table (schemas compiled once per --tools file); the shared checks (text
 * scanned for leaked markup, a call's arguments, a finish reason); then one section per input
 * kind, and the comparison of two results.
 *
 * Raw completions are parsed three times, each with the one streaming parser: tolerant into
 * a message (what a good runtime would deliver, plus every warning with its offset), strict
 * (the first place the official parser would reject), and — when tools are declared — once
 * more fed one byte at a time with raw callbacks, which gives each invoke and parameter its
 * position and each parameter its string flag (the message alone has lost both).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_check.h"
#include "dsml_json.h"
#include "dsml_jv.h"
#include "dsml_openai.h"
#include "dsml_schema.h"
#include "dsml_sse.h"

/* ---- the code table ------------------------------------------------------------------- */

static const struct {
    dsml_check_code code;
    const char *name, *msg;
    dsml_severity sev;
} table[] = {
#define X(name, num, sev, msg) {DSML_##name, #name, msg, DSML_SEV_##sev},
    DSML_CHECKS(X)
#undef X
};
#define NCODES (sizeof table / sizeof table[0])

static size_t code_slot(dsml_check_code code)
{
    for (size_t i = 0; i < NCODES; i++)
        if (table[i].code == code) return i;
    return NCODES;
}

const char *dsml_check_code_name(dsml_check_code code)
{
    size_t i = code_slot(code);
    return i < NCODES ? table[i].name : "?";
}

const char *dsml_check_code_message(dsml_check_code code)
{
    size_t i = code_slot(code);
    return i < NCODES ? table[i].msg : "unknown code";
}

dsml_severity dsml_check_code_severity(dsml_check_code code)
{
    size_t i = code_slot(code);
    return i < NCODES ? table[i].sev : DSML_SEV_ERROR;
}

dsml_check_code dsml_check_code_at(size_t i) { return i < NCODES ? table[i].code : (dsml_check_code)0; }

const char *dsml_input_kind_name(dsml_input_kind k)
{
    switch (k) {
    case DSML_INPUT_COMPLETION: return "completion";
    case DSML_INPUT_RESPONSE: return "response";
    case DSML_INPUT_STREAM: return "stream";
    case DSML_INPUT_JSONL: return "jsonl";
    }
    return "?";
}

/* ---- summaries and options ------------------------------------------------------------ */

void dsml_check_summary_free(dsml_check_summary *s)
{
    if (!s) return;
    dsml_buf_free(&s->content);
    dsml_buf_free(&s->reasoning);
    for (size_t i = 0; i < s->ncalls; i++) {
        dsml_buf_free(&s->calls[i].id);
        dsml_buf_free(&s->calls[i].name);
        dsml_buf_free(&s->calls[i].arguments);
    }
    free(s->calls);
    memset(s, 0, sizeof *s);
}

static void summary_reset(dsml_check_summary *s)
{
    dsml_check_summary_free(s);
}

static dsml_check_call *summary_add_call(dsml_check_summary *s)
{
    if (s->ncalls == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        dsml_check_call *n = realloc(s->calls, cap * sizeof *n);
        if (!n) return NULL;
        s->calls = n;
        s->cap = cap;
    }
    dsml_check_call *c = &s->calls[s->ncalls++];
    memset(c, 0, sizeof *c);
    return c;
}

static void set_finish(dsml_check_summary *s, const char *f, size_t n)
{
    if (n >= sizeof s->finish) n = sizeof s->finish - 1;
    memcpy(s->finish, f, n);
    s->finish[n] = 0;
}

void dsml_check_options_init(dsml_check_options *o)
{
    memset(o, 0, sizeof *o);
    o->dialect = DSML_V4;
    o->max_excerpt = 4096;
}

/* ---- the checker ------------------------------------------------------------------------ */

typedef struct tool {
    const char *name;
    size_t name_len;
    const dsml_jv *params; /* NULL: no parameters declared */
    dsml_schema *schema;   /* NULL when params is NULL */
} tool;

struct dsml_checker {
    dsml_check_options opt;
    dsml_finding_fn fn;
    void *ud;
    /* tools */
    char *tools_text;
    dsml_jv_doc *tools_doc;
    tool *tools;
    size_t ntools;
    /* the text being checked (for line:col) */
    const char *doc;
    size_t doc_len;
    /* scratch */
    dsml_buf msg, path, path2, tmp;
    int count, stop, oom;
};

dsml_checker *dsml_checker_new(const dsml_check_options *opts, dsml_finding_fn fn, void *ud)
{
    dsml_checker *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (opts) c->opt = *opts;
    else dsml_check_options_init(&c->opt);
    if (!c->opt.max_excerpt) c->opt.max_excerpt = 4096;
    c->fn = fn;
    c->ud = ud;
    return c;
}

static void tools_clear(dsml_checker *c)
{
    for (size_t i = 0; i < c->ntools; i++) dsml_schema_free(c->tools[i].schema);
    free(c->tools);
    dsml_jv_free(c->tools_doc);
    free(c->tools_text);
    c->tools = NULL;
    c->ntools = 0;
    c->tools_doc = NULL;
    c->tools_text = NULL;
}

void dsml_checker_free(dsml_checker *c)
{
    if (!c) return;
    tools_clear(c);
    dsml_buf_free(&c->msg);
    dsml_buf_free(&c->path);
    dsml_buf_free(&c->path2);
    dsml_buf_free(&c->tmp);
    free(c);
}

void dsml_checker_set_options(dsml_checker *c, const dsml_check_options *opts)
{
    c->opt = *opts;
    if (!c->opt.max_excerpt) c->opt.max_excerpt = 4096;
}

size_t dsml_checker_ntools(const dsml_checker *c) { return c->ntools; }

static void begin(dsml_checker *c, const char *doc, size_t len)
{
    c->doc = doc;
    c->doc_len = len;
    c->count = 0;
    c->stop = 0;
    c->oom = 0;
}

static const char *cs(const dsml_buf *b) { return b->data ? b->data : ""; }

/* ---- emitting findings ------------------------------------------------------------------ */

static void vemit(dsml_checker *c, const char *name, int num, dsml_severity sev, const char *path,
                  const char *pointer, uint64_t off, const char *ex, size_t exlen, const char *fmt,
                  va_list ap)
{
    if (c->stop) return;
    char small[1024];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    dsml_buf_clear(&c->msg);
    if (n > 0) dsml_buf_add(&c->msg, small, (size_t)n < sizeof small ? (size_t)n : sizeof small - 1);
    if (c->msg.oom) {
        c->oom = 1;
        c->stop = 1;
        return;
    }
    dsml_finding f = {name, num, sev, path ? path : "", pointer ? pointer : "", off, 0, 0,
                      cs(&c->msg), ex, exlen};
    if (off != DSML_NO_OFFSET && c->doc && off <= c->doc_len)
        dsml_text_line_col(c->doc, c->doc_len, off, &f.line, &f.col);
    else f.offset = DSML_NO_OFFSET;
    c->count++;
    if (c->fn && c->fn(c->ud, &f)) c->stop = 1;
}

static void emit(dsml_checker *c, dsml_check_code code, const char *path, uint64_t off,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void emit(dsml_checker *c, dsml_check_code code, const char *path, uint64_t off,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vemit(c, dsml_check_code_name(code), (int)code, dsml_check_code_severity(code), path, NULL,
          off, NULL, 0, fmt, ap);
    va_end(ap);
}

static void emit_ex(dsml_checker *c, dsml_check_code code, const char *path, uint64_t off,
                    const char *ex, size_t exlen, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void emit_ex(dsml_checker *c, dsml_check_code code, const char *path, uint64_t off,
                    const char *ex, size_t exlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vemit(c, dsml_check_code_name(code), (int)code, dsml_check_code_severity(code), path, NULL,
          off, ex, exlen, fmt, ap);
    va_end(ap);
}

static void emit_raw(dsml_checker *c, const char *name, int num, dsml_severity sev,
                     const char *path, const char *pointer, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
static void emit_raw(dsml_checker *c, const char *name, int num, dsml_severity sev,
                     const char *path, const char *pointer, uint64_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vemit(c, name, num, sev, path, pointer, off, NULL, 0, fmt, ap);
    va_end(ap);
}

int dsml_check_emit(dsml_checker *c, dsml_check_code code, const char *path, const char *message,
                    const char *excerpt, size_t excerpt_len)
{
    const char *saved = c->doc;
    int stop = c->stop;
    c->doc = NULL;
    c->stop = 0;
    emit_ex(c, code, path, DSML_NO_OFFSET, excerpt, excerpt_len, "%s",
            message ? message : dsml_check_code_message(code));
    int ok = !c->stop;
    c->doc = saved;
    c->stop = stop || c->stop;
    return ok;
}

/* Printable, shortened rendering of bytes for messages (at most max bytes of the text). */
static const char *quote(dsml_checker *c, const char *s, size_t n, size_t max)
{
    dsml_buf_clear(&c->tmp);
    size_t cut = n > max ? max : n;
    while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--;
    dsml_buf_putc(&c->tmp, '"');
    dsml_json_escape(s, cut, &c->tmp);
    dsml_buf_puts(&c->tmp, cut < n ? "\"\xE2\x80\xA6" : "\"");
    return cs(&c->tmp);
}

/* ---- tools ------------------------------------------------------------------------------ */

struct schema_ctx {
    dsml_checker *c;
    const char *path;
    uint64_t base;       /* added to offsets (schema check: offsets are in the tools text) */
    int have_offsets;
    const uint64_t *param_at; /* validation: offset per top-level member, or NULL */
    const char *const *param_names;
    const size_t *param_lens;
    size_t nparams;
    uint64_t fallback;
};

static int on_schema_error(void *ud, const dsml_schema_error *e)
{
    struct schema_ctx *x = ud;
    uint64_t off = x->fallback;
    if (x->have_offsets) off = x->base + e->offset;
    else if (x->param_at && e->instance_path[0] == '/') {
        /* map the first pointer segment to the parameter that produced it */
        const char *seg = e->instance_path + 1;
        size_t n = strcspn(seg, "/");
        char name[256];
        size_t k = 0;
        for (size_t i = 0; i < n && k < sizeof name; i++) {
            if (seg[i] == '~' && i + 1 < n && (seg[i + 1] == '0' || seg[i + 1] == '1'))
                name[k++] = seg[++i] == '0' ? '~' : '/';
            else name[k++] = seg[i];
        }
        for (size_t p = x->nparams; p-- > 0;)
            if (x->param_lens[p] == k && !memcmp(x->param_names[p], name, k)) {
                off = x->param_at[p];
                break;
            }
    }
    if (x->have_offsets) /* a problem of the declaration: point into the schema */
        emit_raw(x->c, dsml_schema_code_name(e->code), (int)e->code, DSML_SEV_ERROR, x->path,
                 e->schema_path, off, "%s", e->message);
    else
        emit_raw(x->c, dsml_schema_code_name(e->code), (int)e->code, DSML_SEV_ERROR, x->path,
                 e->instance_path, off, "%s (schema %s)", e->message,
                 e->schema_path[0] ? e->schema_path : "/");
    return x->c->stop;
}

int dsml_checker_set_tools(dsml_checker *c, const char *json, size_t len, const char **why)
{
    const char *dummy;
    if (!why) why = &dummy;
    if (!len) {
        tools_clear(c);
        return 0;
    }
    char *text = malloc(len + 1);
    if (!text) {
        *why = "out of memory";
        return -1;
    }
    memcpy(text, json, len);
    text[len] = 0;
    dsml_jv_error err;
    dsml_jv_doc *doc = dsml_jv_parse(text, len, 0, &err);
    if (!doc) {
        *why = "not JSON";
        free(text);
        return -1;
    }
    const dsml_jv *root = dsml_jv_root(doc), *list = root;
    if (root->type == DSML_JV_OBJECT) list = dsml_jv_get(root, "tools");
    if (!list || list->type != DSML_JV_ARRAY) {
        *why = "expected a tools array, or an object with a \"tools\" array";
        dsml_jv_free(doc);
        free(text);
        return -1;
    }
    tool *tl = calloc(list->len ? list->len : 1, sizeof *tl);
    if (!tl) {
        *why = "out of memory";
        dsml_jv_free(doc);
        free(text);
        return -1;
    }
    for (size_t i = 0; i < list->len; i++) {
        const dsml_jv *t = &list->u.items[i], *fn = dsml_jv_get(t, "function");
        if (!fn || fn->type != DSML_JV_OBJECT) fn = t;
        const dsml_jv *name = dsml_jv_get(fn, "name");
        if (!name || name->type != DSML_JV_STRING) {
            *why = "a tool without a name (expected {\"type\":\"function\",\"function\":{\"name\":…}})";
            for (size_t k = 0; k < i; k++) dsml_schema_free(tl[k].schema);
            free(tl);
            dsml_jv_free(doc);
            free(text);
            return -1;
        }
        tl[i].name = name->u.s;
        tl[i].name_len = name->len;
        tl[i].params = dsml_jv_get(fn, "parameters");
        if (tl[i].params && tl[i].params->type == DSML_JV_NULL) tl[i].params = NULL;
        if (tl[i].params && !(tl[i].schema = dsml_schema_new(tl[i].params))) {
            *why = "out of memory";
            for (size_t k = 0; k < i; k++) dsml_schema_free(tl[k].schema);
            free(tl);
            dsml_jv_free(doc);
            free(text);
            return -1;
        }
    }
    tools_clear(c);
    c->tools_text = text;
    c->tools_doc = doc;
    c->tools = tl;
    c->ntools = list->len;
    /* problems of the declarations themselves */
    begin(c, text, len);
    for (size_t i = 0; i < c->ntools && !c->stop; i++) {
        if (!c->tools[i].schema) continue;
        dsml_buf_clear(&c->path);
        dsml_buf_printf(&c->path, "tools[%zu].function.parameters", i);
        struct schema_ctx x = {c, cs(&c->path), 0, 1, NULL, NULL, NULL, 0, 0};
        dsml_schema_check(c->tools[i].schema, on_schema_error, &x);
    }
    c->doc = NULL;
    return 0;
}

static const tool *find_tool(const dsml_checker *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->ntools; i++)
        if (c->tools[i].name_len == len && !memcmp(c->tools[i].name, name, len)) return &c->tools[i];
    return NULL;
}

static const char *tool_names(dsml_checker *c)
{
    dsml_buf_clear(&c->tmp);
    for (size_t i = 0; i < c->ntools && i < 8; i++) {
        if (i) dsml_buf_puts(&c->tmp, ", ");
        dsml_buf_add(&c->tmp, c->tools[i].name, c->tools[i].name_len);
    }
    if (c->ntools > 8) dsml_buf_puts(&c->tmp, ", \xE2\x80\xA6");
    return cs(&c->tmp);
}

/* ---- shared checks ---------------------------------------------------------------------- */

/* Markers that open tool-call markup (DSML of every version, V3.1 tokens, look-alikes). */
static const char *const openers[] = {
    "<\xEF\xBD\x9C" "DSML\xEF\xBD\x9C",                       /* <｜DSML｜ */
    "<\xEF\xBD\x9C" "tool\xE2\x96\x81" "calls\xE2\x96\x81" "begin\xEF\xBD\x9C>",
    "<\xEF\xBD\x9C" "tool\xE2\x96\x81" "call\xE2\x96\x81" "begin\xEF\xBD\x9C>",
    "<|DSML|", "<DSML\xEF\xBD\x9C", "<\xEF\xBD\x9C\xEF\xBD\x9C" "DSML", "<||DSML",
};
/* Pieces of markup that should never reach a client. */
static const char *const fragments[] = {
    "\xEF\xBD\x9C" "DSML",  "DSML\xEF\xBD\x9C", "|DSML|",
    "tool\xE2\x96\x81" "call", "tool\xE2\x96\x81" "sep",
};

static size_t find_first(const char *s, size_t n, const char *const *pats, size_t npats,
                         size_t *which)
{
    size_t best = n;
    for (size_t i = 0; i < npats; i++) {
        const char *p = memmem(s, n, pats[i], strlen(pats[i]));
        if (p && (size_t)(p - s) < best) best = (size_t)(p - s), *which = i;
    }
    return best;
}

/* Start of the excerpt shown for markup found at `at`: up to 160 bytes before it, on a
 * character boundary. */
static size_t excerpt_start(const char *s, size_t at)
{
    size_t b = at > 160 ? at - 160 : 0;
    while (b > 0 && ((unsigned char)s[b] & 0xC0) == 0x80) b--;
    return b;
}

static size_t excerpt_len(const dsml_checker *c, const char *s, size_t n, size_t b)
{
    size_t e = n - b > c->opt.max_excerpt ? b + c->opt.max_excerpt : n;
    while (e > b && e < n && ((unsigned char)s[e] & 0xC0) == 0x80) e--;
    return e - b;
}

/* A special-token string at s[i..]: <｜…｜> (not DSML / tool markup), <think>, </think>.
 * Returns its length or 0. */
static size_t special_at(const char *s, size_t n, size_t i)
{
    static const char bar[] = "\xEF\xBD\x9C";
    if (n - i >= 7 && !memcmp(s + i, "<think>", 7)) return 7;
    if (n - i >= 8 && !memcmp(s + i, "</think>", 8)) return 8;
    if (n - i < 6 || s[i] != '<' || memcmp(s + i + 1, bar, 3)) return 0;
    size_t j = i + 4, lim = i + 64 < n ? i + 64 : n;
    if ((n - j >= 4 && !memcmp(s + j, "DSML", 4)) || (n - j >= 7 && !memcmp(s + j, "tool\xE2\x96\x81", 7)))
        return 0;
    for (; j + 4 <= lim; j++) {
        if (s[j] == '<' || s[j] == '>') return 0;
        if (!memcmp(s + j, bar, 3) && s[j + 3] == '>') return j + 4 - i;
    }
    return 0;
}

/* Look for tool-call markup and special tokens in a text the runtime delivered (content or
 * reasoning). `off` is the position reported (the JSON string value, or the stream event). */
static void scan_text(dsml_checker *c, const char *s, size_t n, int reasoning, const char *path,
                      uint64_t off)
{
    const char *field = reasoning ? "reasoning" : "content";
    size_t which = 0, at = find_first(s, n, openers, sizeof openers / sizeof *openers, &which);
    int reported = 0;
    if (at < n) {
        dsml_oai_options oo;
        dsml_oai_options_init(&oo);
        uint64_t seed = 0;
        oo.make_id = dsml_id_seeded;
        oo.id_ud = &seed;
        oo.parse.dialect = DSML_AUTO;
        oo.parse.flags = DSML_LOOKALIKES;
        dsml_message m;
        dsml_parse_message(s, n, &oo, 0, &m);
        if (m.ncalls || m.result.saw_block) {
            dsml_buf names = {0};
            for (size_t i = 0; i < m.ncalls && i < 6; i++) {
                if (i) dsml_buf_puts(&names, ", ");
                dsml_buf_add(&names, m.calls[i].name.data, m.calls[i].name.len);
            }
            if (m.ncalls > 6) dsml_buf_puts(&names, ", \xE2\x80\xA6");
            uint64_t line, col;
            dsml_text_line_col(s, n, at, &line, &col);
            size_t b = excerpt_start(s, at);
            const char *dialect = which >= 3 ? "look-alike DSML"
                                  : which >= 1 ? "V3.1 tool-call tokens"
                                  : m.result.dialect == DSML_V32 ? "V3.2 DSML"
                                                                 : "DSML";
            if (m.ncalls)
                emit_ex(c, reasoning ? DSML_C_DSML_IN_REASONING : DSML_C_LEAKED_DSML, path, off,
                        s + b, excerpt_len(c, s, n, b),
                        "%s holds %zu tool call%s (%s) as %s text at byte %zu (%llu:%llu of the "
                        "text)%s: the runtime did not turn %s into tool_calls",
                        field, m.ncalls, m.ncalls == 1 ? "" : "s", cs(&names), dialect, at,
                        (unsigned long long)line, (unsigned long long)col,
                        m.result.status == DSML_INCOMPLETE ? ", the last one unfinished" : "",
                        m.ncalls == 1 ? "it" : "them");
            else
                emit_ex(c, reasoning ? DSML_C_DSML_IN_REASONING : DSML_C_LEAKED_DSML, path, off,
                        s + b, excerpt_len(c, s, n, b),
                        "%s holds an unfinished %s tool call at byte %zu (%llu:%llu of the text)",
                        field, dialect, at, (unsigned long long)line, (unsigned long long)col);
            dsml_buf_free(&names);
            reported = 1;
        }
        dsml_message_free(&m);
    }
    if (!reported) {
        at = find_first(s, n, fragments, sizeof fragments / sizeof *fragments, &which);
        if (at < n) {
            size_t b = excerpt_start(s, at);
            uint64_t line, col;
            dsml_text_line_col(s, n, at, &line, &col);
            emit_ex(c, reasoning ? DSML_C_DSML_IN_REASONING : DSML_C_MARKUP_FRAGMENT, path, off,
                    s + b, excerpt_len(c, s, n, b),
                    "%s holds the markup fragment %s at byte %zu (%llu:%llu of the text) but no "
                    "complete tool call (a marker split across chunks, or markup stripped of its "
                    "special tokens)",
                    field, quote(c, fragments[which], strlen(fragments[which]), 40), at,
                    (unsigned long long)line, (unsigned long long)col);
        }
    }
    size_t first = n, first_len = 0, count = 0;
    for (const char *p = s; (p = memchr(p, '<', (size_t)(s + n - p))); p++) {
        size_t l = special_at(s, n, (size_t)(p - s));
        if (!l) continue;
        if (!count++) first = (size_t)(p - s), first_len = l;
    }
    if (count)
        emit(c, DSML_C_SPECIAL_TOKEN, path, off,
             "%s holds %zu special-token string%s, the first %s at byte %zu", field, count,
             count == 1 ? "" : "s", quote(c, s + first, first_len, 60), first);
}

/* Check one call's arguments text against the JSON grammar and the declared tool. */
typedef struct param_pos {
    const char *const *names;
    const size_t *lens;
    const uint64_t *at;
    size_t n;
} param_pos;

static void check_call_args(dsml_checker *c, const char *name, size_t nlen, const char *args,
                            size_t alen, const char *path, uint64_t off, const param_pos *pp)
{
    const tool *t = NULL;
    if (c->ntools && name) {
        t = find_tool(c, name, nlen);
        if (!t) {
            dsml_buf nm = {0};
            dsml_buf_puts(&nm, quote(c, name, nlen, 80));
            emit(c, DSML_C_UNKNOWN_TOOL, path, off, "%s is not one of the %zu declared tools (%s)",
                 cs(&nm), c->ntools, tool_names(c));
            dsml_buf_free(&nm);
        }
    }
    dsml_jv_error err;
    dsml_jv_doc *doc = dsml_jv_parse(args, alen, 0, &err);
    if (!doc) {
        if (err.code == DSML_JV_E_NOMEM) {
            c->oom = 1;
            return;
        }
        emit(c, DSML_C_ARGS_JSON, path, off, "arguments %s are not JSON: %s at byte %zu",
             quote(c, args, alen, 120), err.msg ? err.msg : "syntax error", err.offset);
        return;
    }
    const dsml_jv *root = dsml_jv_root(doc);
    if (root->type != DSML_JV_OBJECT) {
        emit(c, DSML_C_ARGS_NOT_OBJECT, path, off, "arguments %s are JSON but not an object",
             quote(c, args, alen, 120));
    } else if (t && t->schema) {
        struct schema_ctx x = {c, path, 0, 0, pp ? pp->at : NULL, pp ? pp->names : NULL,
                               pp ? pp->lens : NULL, pp ? pp->n : 0, off};
        if (dsml_schema_validate(t->schema, root, on_schema_error, &x) < 0) c->oom = 1;
    }
    dsml_jv_free(doc);
}

static int is_finish(const char *f, size_t n, const char *want)
{
    return strlen(want) == n && !memcmp(f, want, n);
}

/* Consistency of a finish reason with the calls delivered. f NULL = none delivered. */
static void check_finish(dsml_checker *c, const char *f, size_t n, size_t ncalls, const char *path,
                         uint64_t off)
{
    static const char *const known[] = {"stop", "length", "tool_calls", "content_filter",
                                        "function_call"};
    if (!f) {
        emit(c, DSML_C_FINISH_REASON, path, off,
             "no finish_reason (clients throw \"missing finish_reason\" or never end the turn)");
        return;
    }
    size_t i;
    for (i = 0; i < sizeof known / sizeof *known; i++)
        if (is_finish(f, n, known[i])) break;
    if (i == sizeof known / sizeof *known) {
        emit(c, DSML_C_FINISH_REASON, path, off,
             "unknown finish_reason %s (expected stop, length, tool_calls or content_filter)",
             quote(c, f, n, 40));
        return;
    }
    if (is_finish(f, n, "length")) {
        emit(c, DSML_C_TRUNCATED, path, off,
             "finish_reason \"length\": the output hit the token limit%s",
             ncalls ? "; arguments may be cut off" : "");
        return;
    }
    if (ncalls && !is_finish(f, n, "tool_calls") && !(c->opt.finish_stop_ok && is_finish(f, n, "stop")))
        emit(c, DSML_C_FINISH_REASON, path, off,
             "finish_reason %s although the message has %zu tool call%s (clients that key on "
             "\"tool_calls\" end their tool loop)",
             quote(c, f, n, 40), ncalls, ncalls == 1 ? "" : "s");
    if (!ncalls && is_finish(f, n, "tool_calls"))
        emit(c, DSML_C_FINISH_REASON, path, off, "finish_reason \"tool_calls\" but no tool calls");
}

/* ---- raw completions ---------------------------------------------------------------------- */

typedef struct rparam {
    size_t name_off, name_len;
    unsigned flags, end_flags;
    uint64_t at;
} rparam;

typedef struct rcall {
    size_t name_off, name_len;
    uint64_t at;
    size_t p0, np;
    int complete;
} rcall;

typedef struct raw_pass {
    const char *text;
    uint64_t pos; /* bytes fed so far */
    dsml_buf names;
    rparam *ps;
    size_t nps, capps;
    rcall *cs;
    size_t ncs, capcs;
    int oom;
} raw_pass;

/* Offset of the '<' that starts the tag ending just before pos. */
static uint64_t tag_start(const raw_pass *r)
{
    uint64_t i = r->pos, lim = r->pos > 4096 ? r->pos - 4096 : 0;
    while (i > lim) {
        i--;
        if (r->text[i] == '<') return i;
    }
    return r->pos ? r->pos - 1 : 0;
}

static int rp_invoke(void *ud, const char *name, size_t len)
{
    raw_pass *r = ud;
    if (r->ncs == r->capcs) {
        size_t cap = r->capcs ? r->capcs * 2 : 8;
        rcall *n = realloc(r->cs, cap * sizeof *n);
        if (!n) return r->oom = 1;
        r->cs = n;
        r->capcs = cap;
    }
    rcall *cl = &r->cs[r->ncs++];
    cl->name_off = r->names.len;
    cl->name_len = len;
    cl->at = tag_start(r);
    cl->p0 = r->nps;
    cl->np = 0;
    cl->complete = 0;
    return dsml_buf_add(&r->names, name, len) ? (r->oom = 1) : 0;
}

static int rp_param(void *ud, const char *name, size_t len, unsigned flags)
{
    raw_pass *r = ud;
    if (!r->ncs) return 0;
    if (r->nps == r->capps) {
        size_t cap = r->capps ? r->capps * 2 : 16;
        rparam *n = realloc(r->ps, cap * sizeof *n);
        if (!n) return r->oom = 1;
        r->ps = n;
        r->capps = cap;
    }
    rparam *p = &r->ps[r->nps++];
    p->name_off = r->names.len;
    p->name_len = len;
    p->flags = flags;
    p->end_flags = 0;
    p->at = tag_start(r);
    r->cs[r->ncs - 1].np++;
    return dsml_buf_add(&r->names, name, len) ? (r->oom = 1) : 0;
}

static int rp_param_end(void *ud, unsigned flags)
{
    raw_pass *r = ud;
    if (r->nps) r->ps[r->nps - 1].end_flags = flags;
    return 0;
}

static int rp_invoke_end(void *ud, unsigned flags)
{
    raw_pass *r = ud;
    (void)flags;
    if (r->ncs) r->cs[r->ncs - 1].complete = 1;
    return 0;
}

static void raw_free(raw_pass *r)
{
    dsml_buf_free(&r->names);
    free(r->ps);
    free(r->cs);
}

struct warn_ctx {
    dsml_checker *c;
    dsml_diag strict;
    int have_strict;
};

static int on_warning(void *ud, const dsml_diag *w)
{
    struct warn_ctx *x = ud;
    const char *name = dsml_code_name(w->code);
    if (w->code == DSML_W_IMPLICIT_THINK_END) {
        emit(x->c, DSML_C_DSML_IN_REASONING, "", w->offset,
             "the tool block starts inside the reasoning (no </think> before it): a runtime "
             "with a reasoning parser delivers it as reasoning_content and the call is lost");
        return x->c->stop;
    }
    /* the same deviation already reported as the strict error */
    if (x->have_strict && x->strict.offset == w->offset &&
        !strcmp(dsml_code_name(x->strict.code) + 1, name + 1))
        return 0;
    emit_raw(x->c, name, (int)w->code, DSML_SEV_WARNING, "", "", w->offset, "%s",
             dsml_code_message(w->code));
    return x->c->stop;
}

int dsml_check_completion(dsml_checker *c, const char *text, size_t len, dsml_check_summary *out)
{
    begin(c, text, len);
    if (out) summary_reset(out);
    dsml_options po;
    dsml_options_init(&po);
    po.dialect = c->opt.dialect;
    po.flags = c->opt.flags & (DSML_THINKING | DSML_LOOKALIKES);

    /* 1. strict: where the official parser rejects the text */
    struct warn_ctx wx = {c, {0}, 0};
    dsml_options so = po;
    so.flags = (so.flags & DSML_THINKING) | DSML_STRICT;
    dsml_parser *sp = dsml_parser_new(&so, NULL, NULL);
    if (!sp) return -1;
    dsml_feed(sp, text, len);
    dsml_finish(sp);
    const dsml_result *sr = dsml_result_get(sp);
    if (sr->status == DSML_FAILED && sr->error.code != DSML_E_NOMEM) {
        wx.strict = sr->error;
        wx.have_strict = 1;
        emit_raw(c, dsml_code_name(sr->error.code), (int)sr->error.code, DSML_SEV_ERROR, "", "",
                 sr->error.offset, "%s (the official parser rejects the completion here)",
                 dsml_code_message(sr->error.code));
    }
    int strict_nomem = sr->error.code == DSML_E_NOMEM;
    dsml_parser_free(sp);
    if (strict_nomem) return -1;

    /* 2. tolerant: the message and every deviation */
    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    uint64_t seed = 0;
    oo.parse = po;
    oo.make_id = dsml_id_seeded;
    oo.id_ud = &seed;
    oo.on_warning = on_warning;
    oo.warning_ud = &wx;
    dsml_message m;
    dsml_code code = dsml_parse_message(text, len, &oo, 0, &m);
    if (code == DSML_E_NOMEM) {
        dsml_message_free(&m);
        return -1;
    }
    if (code != DSML_OK)
        emit_raw(c, dsml_code_name(m.result.error.code), (int)m.result.error.code, DSML_SEV_ERROR,
                 "", "", m.result.error.offset, "%s (even a tolerant parser stops here)",
                 dsml_code_message(m.result.error.code));
    if (m.result.status == DSML_INCOMPLETE)
        emit(c, DSML_C_TRUNCATED, "", m.result.incomplete_at,
             "the completion ends inside a tool call: the unfinished call is not executed "
             "(finish_reason \"length\")");

    /* 3. with tools: names, schemas and string flags, with positions */
    if (c->ntools && m.ncalls && !c->stop) {
        raw_pass r = {0};
        r.text = text;
        dsml_callbacks cb = {0};
        cb.on_invoke = rp_invoke;
        cb.on_param = rp_param;
        cb.on_param_end = rp_param_end;
        cb.on_invoke_end = rp_invoke_end;
        dsml_parser *rp = dsml_parser_new(&po, &cb, &r);
        if (!rp) {
            dsml_message_free(&m);
            return -1;
        }
        for (size_t i = 0; i < len; i++) {
            r.pos = i + 1;
            if (dsml_feed(rp, text + i, 1) != DSML_OK) break;
        }
        r.pos = len;
        dsml_finish(rp);
        dsml_parser_free(rp);
        if (r.oom) {
            raw_free(&r);
            dsml_message_free(&m);
            return -1;
        }
        size_t k = 0;
        for (size_t i = 0; i < r.ncs && k < m.ncalls && !c->stop; i++) {
            const rcall *rc = &r.cs[i];
            if (!rc->complete) continue;
            const dsml_call *mc = &m.calls[k];
            dsml_buf_clear(&c->path);
            dsml_buf_printf(&c->path, "calls[%zu] ", k);
            dsml_buf_add(&c->path, mc->name.data, mc->name.len);
            const char *path = cs(&c->path);
            const char **names = calloc(rc->np + 1, sizeof *names);
            size_t *lens = calloc(rc->np + 1, sizeof *lens);
            uint64_t *ats = calloc(rc->np + 1, sizeof *ats);
            if (!names || !lens || !ats) {
                free(names), free(lens), free(ats);
                c->oom = 1;
                break;
            }
            for (size_t p = 0; p < rc->np; p++) {
                names[p] = r.names.data + r.ps[rc->p0 + p].name_off;
                lens[p] = r.ps[rc->p0 + p].name_len;
                ats[p] = r.ps[rc->p0 + p].at;
            }
            param_pos pp = {names, lens, ats, rc->np};
            check_call_args(c, mc->name.data, mc->name.len, mc->arguments.data ? mc->arguments.data : "",
                            mc->arguments.len, path, rc->at, &pp);
            const tool *t = find_tool(c, mc->name.data, mc->name.len);
            for (size_t p = 0; t && t->schema && p < rc->np && !c->stop; p++) {
                const rparam *rpm = &r.ps[rc->p0 + p];
                const dsml_jv *sub = dsml_schema_property(t->schema, NULL, names[p], lens[p]);
                if (!sub) continue;
                unsigned types = dsml_schema_types(t->schema, sub);
                dsml_buf pn = {0};
                dsml_buf_puts(&pn, quote(c, names[p], lens[p], 80));
                if ((rpm->flags & DSML_PARAM_STRING) && types && !(types & DSML_ST_STRING))
                    emit(c, DSML_C_FLAG_TRUE_NONSTRING, path, rpm->at,
                         "parameter %s is written with string=\"true\" but its schema does not "
                         "allow a string: the value arrives as a JSON string", cs(&pn));
                else if ((rpm->flags & DSML_PARAM_JSON) && types == DSML_ST_STRING)
                    emit(c, DSML_C_FLAG_FALSE_STRING, path, rpm->at,
                         "parameter %s is written with string=\"false\" but its schema allows "
                         "only strings (the official encoder writes string values with "
                         "string=\"true\")%s", cs(&pn),
                         (rpm->end_flags & DSML_END_INVALID_JSON) ? "; the value is not JSON" : "");
                dsml_buf_free(&pn);
            }
            free(names), free(lens), free(ats);
            k++;
        }
        raw_free(&r);
    }

    if (out) {
        if (m.content.len) dsml_buf_add(&out->content, m.content.data, m.content.len);
        if (m.reasoning.len) dsml_buf_add(&out->reasoning, m.reasoning.data, m.reasoning.len);
        for (size_t i = 0; i < m.ncalls; i++) {
            dsml_check_call *oc = summary_add_call(out);
            if (!oc) {
                c->oom = 1;
                break;
            }
            dsml_buf_puts(&oc->id, m.calls[i].id);
            dsml_buf_add(&oc->name, m.calls[i].name.data, m.calls[i].name.len);
            dsml_buf_add(&oc->arguments, m.calls[i].arguments.data, m.calls[i].arguments.len);
        }
        set_finish(out, m.finish ? m.finish : "stop", strlen(m.finish ? m.finish : "stop"));
    }
    dsml_message_free(&m);
    return c->oom ? -1 : c->count;
}

/* ---- non-streamed responses ---------------------------------------------------------------- */

static const char *set_path(dsml_checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *set_path(dsml_checker *c, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    dsml_buf_clear(&c->path);
    dsml_buf_puts(&c->path, small);
    return cs(&c->path);
}

static const dsml_jv *reasoning_of(const dsml_jv *msg, const char **key)
{
    const dsml_jv *r = dsml_jv_get(msg, "reasoning_content");
    *key = "reasoning_content";
    if (!r || r->type != DSML_JV_STRING) {
        const dsml_jv *alt = dsml_jv_get(msg, "reasoning");
        if (alt && alt->type == DSML_JV_STRING) r = alt, *key = "reasoning";
    }
    return r && r->type == DSML_JV_STRING ? r : NULL;
}

/* An error object ({"error":{"message":…}}) as one line. */
static const char *error_text(dsml_checker *c, const dsml_jv *err)
{
    const dsml_jv *m = dsml_jv_get(err, "message");
    if (m && m->type == DSML_JV_STRING) return quote(c, m->u.s, m->len, 200);
    if (err->type == DSML_JV_STRING) return quote(c, err->u.s, err->len, 200);
    return "(no message)";
}

int dsml_check_response(dsml_checker *c, const char *json, size_t len, dsml_check_summary *out)
{
    begin(c, json, len);
    if (out) summary_reset(out);
    dsml_jv_error err;
    dsml_jv_doc *doc = dsml_jv_parse(json, len, 0, &err);
    if (!doc) {
        if (err.code == DSML_JV_E_NOMEM) return -1;
        size_t b = err.offset > 40 ? err.offset - 40 : 0;
        emit_ex(c, DSML_C_NOT_JSON, "", err.offset, json, excerpt_len(c, json, len, 0),
                "the response is not JSON: %s (near %s)", err.msg ? err.msg : "syntax error",
                quote(c, json + b, len - b, 80));
        return c->count;
    }
    const dsml_jv *root = dsml_jv_root(doc), *k;
    if (root->type != DSML_JV_OBJECT) {
        emit(c, DSML_C_SHAPE, "", root->offset, "the response is a JSON %s, not an object",
             root->type == DSML_JV_ARRAY ? "array" : "scalar");
        goto done;
    }
    const dsml_jv *choices = dsml_jv_get(root, "choices");
    if ((k = dsml_jv_get(root, "error")) && !dsml_jv_is_null(k) && !choices) {
        emit(c, DSML_C_API_ERROR, "error", k->offset, "the endpoint answered with an error: %s",
             error_text(c, k));
        goto done;
    }
    if (!choices || choices->type != DSML_JV_ARRAY || choices->len == 0) {
        emit(c, DSML_C_SHAPE, "choices", choices ? choices->offset : root->offset,
             "no choices array (or an empty one)");
        goto done;
    }
    for (size_t ci = 0; ci < choices->len && !c->stop; ci++) {
        const dsml_jv *ch = &choices->u.items[ci];
        const dsml_jv *msg = dsml_jv_get(ch, "message");
        if (!msg || msg->type != DSML_JV_OBJECT) {
            emit(c, DSML_C_SHAPE, set_path(c, "choices[%zu].message", ci), ch->offset,
                 "choice without a message object");
            continue;
        }
        const dsml_jv *content = dsml_jv_get(msg, "content");
        if (content && content->type == DSML_JV_STRING)
            scan_text(c, content->u.s, content->len, 0, set_path(c, "choices[%zu].message.content", ci),
                      content->offset);
        else if (content && content->type != DSML_JV_NULL)
            emit(c, DSML_C_SHAPE, set_path(c, "choices[%zu].message.content", ci), content->offset,
                 "content is neither a string nor null");
        const char *rkey;
        const dsml_jv *reasoning = reasoning_of(msg, &rkey);
        if (reasoning)
            scan_text(c, reasoning->u.s, reasoning->len, 1,
                      set_path(c, "choices[%zu].message.%s", ci, rkey), reasoning->offset);
        const dsml_jv *tcs = dsml_jv_get(msg, "tool_calls");
        size_t ncalls = 0;
        if (tcs && tcs->type != DSML_JV_NULL && tcs->type != DSML_JV_ARRAY) {
            emit(c, DSML_C_SHAPE, set_path(c, "choices[%zu].message.tool_calls", ci), tcs->offset,
                 "tool_calls is not an array");
            tcs = NULL;
        }
        for (size_t j = 0; tcs && tcs->type == DSML_JV_ARRAY && j < tcs->len && !c->stop; j++) {
            const dsml_jv *tc = &tcs->u.items[j];
            const char *path = set_path(c, "choices[%zu].message.tool_calls[%zu]", ci, j);
            if (tc->type != DSML_JV_OBJECT) {
                emit(c, DSML_C_SHAPE, path, tc->offset, "tool call is not an object");
                continue;
            }
            ncalls++;
            const dsml_jv *id = dsml_jv_get(tc, "id"), *type = dsml_jv_get(tc, "type");
            const dsml_jv *fn = dsml_jv_get(tc, "function");
            const dsml_jv *name = dsml_jv_get(fn, "name"), *args = dsml_jv_get(fn, "arguments");
            if (!id || id->type != DSML_JV_STRING || !id->len)
                emit(c, DSML_C_CALL_ID, path, tc->offset, "tool call without an id");
            else
                for (size_t q = 0; q < j; q++) {
                    const dsml_jv *other = dsml_jv_get(&tcs->u.items[q], "id");
                    if (other && dsml_jv_equal(other, id)) {
                        emit(c, DSML_C_CALL_ID_DUP, path, id->offset,
                             "id %s is also the id of tool_calls[%zu]", quote(c, id->u.s, id->len, 60), q);
                        break;
                    }
                }
            if (!dsml_jv_str_is(type, "function"))
                emit(c, DSML_C_CALL_TYPE, path, type ? type->offset : tc->offset,
                     type ? "type is not \"function\"" : "tool call without type \"function\"");
            if (!fn || fn->type != DSML_JV_OBJECT) {
                emit(c, DSML_C_CALL_NAME, path, tc->offset, "tool call without a function object");
                continue;
            }
            if (!name || name->type != DSML_JV_STRING || !name->len)
                emit(c, DSML_C_CALL_NAME, path, fn->offset, "tool call without function.name");
            if (!args || args->type != DSML_JV_STRING) {
                emit(c, DSML_C_ARGS_NOT_STRING, path, args ? args->offset : fn->offset,
                     args ? "function.arguments is a JSON %s, not a string holding JSON text"
                          : "function.arguments is missing%s",
                     args ? (args->type == DSML_JV_OBJECT ? "object" : "non-string value") : "");
            } else {
                const int named = name && name->type == DSML_JV_STRING;
                dsml_buf_clear(&c->path2);
                dsml_buf_puts(&c->path2, path);
                check_call_args(c, named ? name->u.s : NULL, named ? name->len : 0, args->u.s,
                                args->len, cs(&c->path2), args->offset, NULL);
            }
            if (out && ci == 0) {
                dsml_check_call *oc = summary_add_call(out);
                if (!oc) {
                    c->oom = 1;
                    break;
                }
                if (id && id->type == DSML_JV_STRING) dsml_buf_add(&oc->id, id->u.s, id->len);
                if (name && name->type == DSML_JV_STRING) dsml_buf_add(&oc->name, name->u.s, name->len);
                if (args && args->type == DSML_JV_STRING) dsml_buf_add(&oc->arguments, args->u.s, args->len);
            }
        }
        const dsml_jv *fr = dsml_jv_get(ch, "finish_reason");
        int has_fr = fr && fr->type == DSML_JV_STRING;
        check_finish(c, has_fr ? fr->u.s : NULL, has_fr ? fr->len : 0, ncalls,
                     set_path(c, "choices[%zu].finish_reason", ci), fr ? fr->offset : ch->offset);
        if (out && ci == 0) {
            if (content && content->type == DSML_JV_STRING)
                dsml_buf_add(&out->content, content->u.s, content->len);
            if (reasoning) dsml_buf_add(&out->reasoning, reasoning->u.s, reasoning->len);
            if (has_fr) set_finish(out, fr->u.s, fr->len);
        }
    }
done:
    dsml_jv_free(doc);
    return c->oom ? -1 : c->count;
}

/* ---- streams ------------------------------------------------------------------------------ */

#define MAX_CHOICES 16

typedef struct scall {
    dsml_buf id, name, args;
    uint64_t at;            /* offset of its first delta */
    int seen, args_bad, reused;
} scall;

typedef struct schoice {
    int seen;
    dsml_buf content, reasoning;
    uint64_t content_at, reasoning_at, finish_at, first_at;
    int has_content, has_reasoning;
    const char *reasoning_key;
    scall *calls;
    size_t ncalls, cap;
    char finish[32];
    int has_finish;
} schoice;

typedef struct sctx {
    dsml_checker *c;
    uint64_t ev_at;         /* offset of the current event's first data line */
    uint64_t data_at;       /* offset of its data value */
    int in_event;
    size_t events, chunks;
    int done, after_done_reported, shape_reported;
    schoice ch[MAX_CHOICES];
} sctx;

static scall *stream_call(schoice *ch, size_t idx)
{
    if (idx >= ch->cap) {
        size_t cap = ch->cap ? ch->cap : 4;
        while (cap <= idx) cap *= 2;
        scall *n = realloc(ch->calls, cap * sizeof *n);
        if (!n) return NULL;
        memset(n + ch->cap, 0, (cap - ch->cap) * sizeof *n);
        ch->calls = n;
        ch->cap = cap;
    }
    if (idx >= ch->ncalls) ch->ncalls = idx + 1;
    return &ch->calls[idx];
}

static const char *ev_path(sctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *ev_path(sctx *x, const char *fmt, ...)
{
    char small[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    dsml_buf_clear(&x->c->path);
    dsml_buf_printf(&x->c->path, "event %zu: %s", x->events, small);
    return cs(&x->c->path);
}

static int is_integer_value(const dsml_jv *v, size_t *out)
{
    if (!v || v->type != DSML_JV_NUMBER || !v->len || v->u.s[0] == '-') return 0;
    size_t n = 0;
    for (size_t i = 0; i < v->len; i++) {
        if (v->u.s[i] < '0' || v->u.s[i] > '9' || n > 100000000) return 0;
        n = n * 10 + (size_t)(v->u.s[i] - '0');
    }
    *out = n;
    return 1;
}

static void stream_tool_delta(sctx *x, schoice *ch, size_t ci, const dsml_jv *tc, size_t j,
                              uint64_t at)
{
    dsml_checker *c = x->c;
    const dsml_jv *jidx = dsml_jv_get(tc, "index"), *id = dsml_jv_get(tc, "id");
    const dsml_jv *type = dsml_jv_get(tc, "type"), *fn = dsml_jv_get(tc, "function");
    const dsml_jv *name = dsml_jv_get(fn, "name"), *args = dsml_jv_get(fn, "arguments");
    int has_id = id && id->type == DSML_JV_STRING && id->len;
    int has_name = name && name->type == DSML_JV_STRING && name->len;
    size_t idx;
    if (!is_integer_value(jidx, &idx)) {
        /* without an index a client cannot tell calls apart; attribute it as best we can */
        idx = has_id || !ch->ncalls ? ch->ncalls : ch->ncalls - 1;
        emit(c, DSML_C_INDEX_GAP, ev_path(x, "choices[%zu].delta.tool_calls[%zu].index", ci, j),
             at, jidx ? "tool-call index is not a non-negative integer" : "tool-call delta without an index");
    } else if (idx > ch->ncalls) {
        size_t gap = idx - ch->ncalls;
        emit(c, DSML_C_INDEX_GAP, ev_path(x, "choices[%zu].delta.tool_calls[%zu].index", ci, j), at,
             "tool-call index %zu after %zu call%s: index%s %zu%s never used (indices must be "
             "0, 1, 2, ... in order)", idx, ch->ncalls, ch->ncalls == 1 ? "" : "s",
             gap > 1 ? "es" : "", ch->ncalls, gap > 1 ? " and up are" : " is");
    }
    if (idx > 10000) return;
    int is_new = idx >= ch->ncalls || !ch->calls[idx].seen;
    scall *sc = stream_call(ch, idx);
    if (!sc) {
        c->oom = 1;
        return;
    }
    const char *path = ev_path(x, "choices[%zu].delta.tool_calls[%zu]", ci, j);
    if (is_new) {
        sc->seen = 1;
        sc->at = at;
        if (!has_id)
            emit(c, DSML_C_CALL_ID, path, at,
                 "first delta of tool call %zu without an id (the openai SDK invents one; other "
                 "clients fail)", idx);
        if (!dsml_jv_str_is(type, "function"))
            emit(c, DSML_C_CALL_TYPE, path, at,
                 "first delta of tool call %zu without type \"function\" (the openai SDK throws "
                 "\"tool call snapshot missing `type`\")", idx);
        if (!has_name)
            emit(c, DSML_C_CALL_NAME, path, at, "first delta of tool call %zu without function.name",
                 idx);
        if (has_id) dsml_buf_add(&sc->id, id->u.s, id->len);
        if (has_name) dsml_buf_add(&sc->name, name->u.s, name->len);
    } else {
        int new_id = has_id && sc->id.len && (sc->id.len != id->len || memcmp(sc->id.data, id->u.s, id->len));
        int new_name = has_name && sc->name.len &&
                       (sc->name.len != name->len || memcmp(sc->name.data, name->u.s, name->len));
        if (new_id || new_name) {
            dsml_buf what = {0};
            if (new_id) dsml_buf_printf(&what, "id %s", quote(c, id->u.s, id->len, 60));
            if (new_name) {
                if (new_id) dsml_buf_puts(&what, ", ");
                dsml_buf_printf(&what, "name %s", quote(c, name->u.s, name->len, 60));
            }
            emit(c, DSML_C_INDEX_REUSE, path, at,
                 "index %zu carries a second call (%s): clients merge both calls into one and "
                 "concatenate their arguments", idx, cs(&what));
            dsml_buf_free(&what);
            sc->reused = 1;
        }
        if (type && !dsml_jv_str_is(type, "function"))
            emit(c, DSML_C_CALL_TYPE, path, at, "type is not \"function\"");
        if (has_id && !sc->id.len) dsml_buf_add(&sc->id, id->u.s, id->len);
        if (has_name && !sc->name.len) dsml_buf_add(&sc->name, name->u.s, name->len);
    }
    if (args && args->type == DSML_JV_STRING) dsml_buf_add(&sc->args, args->u.s, args->len);
    else if (args && args->type != DSML_JV_NULL && !sc->args_bad) {
        sc->args_bad = 1;
        emit(c, DSML_C_ARGS_NOT_STRING, path, at,
             "function.arguments is a JSON %s, not a string fragment",
             args->type == DSML_JV_OBJECT ? "object" : "non-string value");
    }
}

static void stream_chunk(sctx *x, const dsml_jv *root, uint64_t at)
{
    dsml_checker *c = x->c;
    const dsml_jv *k, *choices = dsml_jv_get(root, "choices");
    if ((k = dsml_jv_get(root, "error")) && !dsml_jv_is_null(k)) {
        emit(c, DSML_C_API_ERROR, ev_path(x, "error"), at,
             "the stream carries an error event: %s", error_text(c, k));
        return;
    }
    x->chunks++;
    if (!choices || choices->type != DSML_JV_ARRAY) {
        if (!x->shape_reported++)
            emit(c, DSML_C_SHAPE, ev_path(x, "choices"), at, "chunk without a choices array");
        return;
    }
    for (size_t i = 0; i < choices->len && !c->stop; i++) {
        const dsml_jv *cv = &choices->u.items[i];
        size_t ci = 0;
        const dsml_jv *jidx = dsml_jv_get(cv, "index");
        if (jidx && !is_integer_value(jidx, &ci)) ci = MAX_CHOICES;
        if (ci >= MAX_CHOICES) {
            emit(c, DSML_C_SHAPE, ev_path(x, "choices[%zu].index", i), at,
                 "choice index is not an integer below %d", MAX_CHOICES);
            continue;
        }
        schoice *ch = &x->ch[ci];
        const dsml_jv *delta = dsml_jv_get(cv, "delta");
        if (!ch->seen) {
            ch->seen = 1;
            ch->first_at = at;
            const dsml_jv *role = dsml_jv_get(delta, "role");
            if (!dsml_jv_str_is(role, "assistant"))
                emit(c, DSML_C_STREAM_ROLE, ev_path(x, "choices[%zu].delta.role", ci), at,
                     role ? "the first chunk's role is not \"assistant\""
                          : "the first chunk has no role \"assistant\" (the openai SDK throws "
                            "\"missing role\" when no chunk has one)");
        }
        if (delta && delta->type == DSML_JV_OBJECT) {
            const dsml_jv *t = dsml_jv_get(delta, "content");
            if (t && t->type == DSML_JV_STRING) {
                if (!ch->has_content) ch->content_at = at;
                ch->has_content = 1;
                dsml_buf_add(&ch->content, t->u.s, t->len);
            } else if (t && t->type != DSML_JV_NULL)
                emit(c, DSML_C_SHAPE, ev_path(x, "choices[%zu].delta.content", ci), at,
                     "delta content is neither a string nor null");
            const char *rkey;
            if ((t = reasoning_of(delta, &rkey))) {
                if (!ch->has_reasoning) ch->reasoning_at = at, ch->reasoning_key = rkey;
                ch->has_reasoning = 1;
                dsml_buf_add(&ch->reasoning, t->u.s, t->len);
            }
            const dsml_jv *tcs = dsml_jv_get(delta, "tool_calls");
            if (tcs && tcs->type == DSML_JV_ARRAY)
                for (size_t j = 0; j < tcs->len && !c->stop; j++)
                    stream_tool_delta(x, ch, ci, &tcs->u.items[j], j, at);
            else if (tcs && tcs->type != DSML_JV_NULL)
                emit(c, DSML_C_SHAPE, ev_path(x, "choices[%zu].delta.tool_calls", ci), at,
                     "delta tool_calls is not an array");
        } else if (delta && delta->type != DSML_JV_NULL) {
            emit(c, DSML_C_SHAPE, ev_path(x, "choices[%zu].delta", ci), at, "delta is not an object");
        }
        const dsml_jv *fr = dsml_jv_get(cv, "finish_reason");
        if (fr && fr->type == DSML_JV_STRING) {
            if (ch->has_finish)
                emit(c, DSML_C_FINISH_REASON, ev_path(x, "choices[%zu].finish_reason", ci), at,
                     "a second finish_reason (%s after \"%s\")", quote(c, fr->u.s, fr->len, 40),
                     ch->finish);
            else {
                ch->has_finish = 1;
                ch->finish_at = at;
                size_t n = fr->len < sizeof ch->finish - 1 ? fr->len : sizeof ch->finish - 1;
                memcpy(ch->finish, fr->u.s, n);
                ch->finish[n] = 0;
            }
        }
    }
}

static int on_event(void *ud, const dsml_sse_event *e)
{
    sctx *x = ud;
    dsml_checker *c = x->c;
    x->events++;
    uint64_t at = x->ev_at;
    if (e->data_len == 6 && !memcmp(e->data, "[DONE]", 6)) {
        if (x->done)
            emit(c, DSML_C_STREAM_DONE, ev_path(x, "data"), at, "a second data: [DONE]");
        x->done = 1;
        return c->stop;
    }
    if (x->done && !x->after_done_reported++)
        emit(c, DSML_C_STREAM_DONE, ev_path(x, "data"), at,
             "events after data: [DONE] (clients stop reading at [DONE])");
    dsml_jv_error err;
    dsml_jv_doc *doc = dsml_jv_parse(e->data, e->data_len, 0, &err);
    if (!doc) {
        if (err.code == DSML_JV_E_NOMEM) {
            c->oom = 1;
            return 1;
        }
        emit_ex(c, DSML_C_STREAM_JSON, ev_path(x, "data"), x->data_at + err.offset, e->data,
                excerpt_len(c, e->data, e->data_len, 0), "event data is not JSON: %s (%s)",
                err.msg ? err.msg : "syntax error", quote(c, e->data, e->data_len, 80));
        return c->stop;
    }
    const dsml_jv *root = dsml_jv_root(doc);
    if (root->type != DSML_JV_OBJECT)
        emit(c, DSML_C_SHAPE, ev_path(x, "data"), at, "event data is JSON but not an object");
    else stream_chunk(x, root, at);
    dsml_jv_free(doc);
    return c->stop || c->oom;
}

/* The calls of one choice, as a client assembles them: shape, arguments, tools. */
static void stream_final(sctx *x, size_t ci, dsml_check_summary *out)
{
    dsml_checker *c = x->c;
    schoice *ch = &x->ch[ci];
    char prefix[48];
    snprintf(prefix, sizeof prefix, "choices[%zu]", ci);
    if (ch->has_content)
        scan_text(c, ch->content.data, ch->content.len, 0, set_path(c, "%s.delta.content (all chunks)", prefix),
                  ch->content_at);
    if (ch->has_reasoning)
        scan_text(c, ch->reasoning.data, ch->reasoning.len, 1,
                  set_path(c, "%s.delta.%s (all chunks)", prefix, ch->reasoning_key), ch->reasoning_at);
    size_t real = 0;
    for (size_t i = 0; i < ch->ncalls && !c->stop; i++) {
        scall *sc = &ch->calls[i];
        if (!sc->seen) continue;
        real++;
        const char *path = set_path(c, "%s.tool_calls[%zu] (all chunks)", prefix, i);
        for (size_t q = 0; q < i && sc->id.len; q++)
            if (ch->calls[q].seen && ch->calls[q].id.len == sc->id.len &&
                !memcmp(ch->calls[q].id.data, sc->id.data, sc->id.len)) {
                emit(c, DSML_C_CALL_ID_DUP, path, sc->at, "id %s is also the id of call %zu",
                     quote(c, sc->id.data, sc->id.len, 60), q);
                break;
            }
        if (!sc->args_bad) {
            dsml_buf_clear(&c->path2);
            dsml_buf_puts(&c->path2, path);
            check_call_args(c, sc->name.len ? sc->name.data : NULL, sc->name.len,
                            sc->args.data ? sc->args.data : "", sc->args.len, cs(&c->path2), sc->at, NULL);
        }
        if (out && ci == 0) {
            dsml_check_call *oc = summary_add_call(out);
            if (!oc) {
                c->oom = 1;
                return;
            }
            dsml_buf_add(&oc->id, sc->id.data ? sc->id.data : "", sc->id.len);
            dsml_buf_add(&oc->name, sc->name.data ? sc->name.data : "", sc->name.len);
            dsml_buf_add(&oc->arguments, sc->args.data ? sc->args.data : "", sc->args.len);
        }
    }
    check_finish(c, ch->has_finish ? ch->finish : NULL, strlen(ch->finish), real,
                 set_path(c, "%s.finish_reason", prefix), ch->has_finish ? ch->finish_at : DSML_NO_OFFSET);
    if (out && ci == 0) {
        if (ch->content.len) dsml_buf_add(&out->content, ch->content.data, ch->content.len);
        if (ch->reasoning.len) dsml_buf_add(&out->reasoning, ch->reasoning.data, ch->reasoning.len);
        set_finish(out, ch->finish, strlen(ch->finish));
    }
}

int dsml_check_stream(dsml_checker *c, const char *sse, size_t len, dsml_check_summary *out)
{
    begin(c, sse, len);
    if (out) summary_reset(out);
    sctx *x = calloc(1, sizeof *x);
    if (!x) return -1;
    x->c = c;
    dsml_sse r;
    dsml_sse_init(&r, 0, 0, on_event, x);
    dsml_sse_status st = DSML_SSE_OK;
    /* feed line by line, so each event knows where its first data line starts */
    size_t i = 0;
    while (i < len && st == DSML_SSE_OK && !c->stop) {
        size_t j = i;
        while (j < len && sse[j] != '\n' && sse[j] != '\r') j++;
        size_t content_end = j;
        if (j < len) j += (sse[j] == '\r' && j + 1 < len && sse[j + 1] == '\n') ? 2 : 1;
        if (content_end > i && !x->in_event && content_end - i >= 5 && !memcmp(sse + i, "data:", 5)) {
            x->in_event = 1;
            x->ev_at = i;
            x->data_at = i + 5 + (content_end - i > 5 && sse[i + 5] == ' ');
        }
        st = dsml_sse_feed(&r, sse + i, j - i);
        if (content_end == i) x->in_event = 0;
        i = j;
    }
    if (st == DSML_SSE_OK && !c->stop) st = dsml_sse_finish(&r);
    if (st == DSML_SSE_TRUNCATED)
        emit(c, DSML_C_STREAM_DONE, "", r.error_at, "the stream ends inside an event (no blank line after it)");
    else if (st == DSML_SSE_NOMEM) c->oom = 1;
    else if (st == DSML_SSE_LINE_TOO_LONG || st == DSML_SSE_EVENT_TOO_LONG)
        emit(c, DSML_C_SHAPE, "", r.error_at, "%s", dsml_sse_strerror(st));
    dsml_sse_free(&r);
    if (!c->stop && !c->oom) {
        if (!x->chunks && !x->done)
            emit(c, DSML_C_SHAPE, "", 0, "the stream holds no chunks (is it an SSE capture?)");
        else if (!x->done && st != DSML_SSE_TRUNCATED)
            emit(c, DSML_C_STREAM_DONE, "", len, "the stream does not end with data: [DONE]");
        int any = 0;
        for (size_t ci = 0; ci < MAX_CHOICES && !c->stop; ci++)
            if (x->ch[ci].seen) any = 1, stream_final(x, ci, out);
        if (!any && x->chunks && !c->stop)
            emit(c, DSML_C_SHAPE, "", 0, "no chunk carries a choice");
    }
    for (size_t ci = 0; ci < MAX_CHOICES; ci++) {
        schoice *ch = &x->ch[ci];
        dsml_buf_free(&ch->content);
        dsml_buf_free(&ch->reasoning);
        for (size_t k = 0; k < ch->cap; k++) {
            dsml_buf_free(&ch->calls[k].id);
            dsml_buf_free(&ch->calls[k].name);
            dsml_buf_free(&ch->calls[k].args);
        }
        free(ch->calls);
    }
    free(x);
    return c->oom ? -1 : c->count;
}

/* ---- comparing two results ------------------------------------------------------------------ */

static int args_equal(const dsml_buf *a, const dsml_buf *b)
{
    dsml_jv_doc *x = dsml_jv_parse(a->data ? a->data : "", a->len, 0, NULL);
    dsml_jv_doc *y = dsml_jv_parse(b->data ? b->data : "", b->len, 0, NULL);
    int eq;
    if (x && y) eq = dsml_jv_equal(dsml_jv_root(x), dsml_jv_root(y));
    else eq = a->len == b->len && (!a->len || !memcmp(a->data, b->data, a->len));
    dsml_jv_free(x);
    dsml_jv_free(y);
    return eq;
}

static void trim(const dsml_buf *b, const char **s, size_t *n)
{
    const char *p = b->data ? b->data : "";
    size_t l = b->len;
    while (l && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++, l--;
    while (l && (p[l - 1] == ' ' || p[l - 1] == '\n' || p[l - 1] == '\r' || p[l - 1] == '\t')) l--;
    *s = p;
    *n = l;
}

int dsml_check_compare(dsml_checker *c, const dsml_check_summary *ref, const dsml_check_summary *got,
                       dsml_check_code code, const char *path)
{
    begin(c, NULL, 0);
    const char *what = code == DSML_C_PARSE_MISMATCH ? "the completion parses to" : "non-streamed:";
    const char *got_what = code == DSML_C_PARSE_MISMATCH ? "the runtime delivered" : "streamed:";
    if (ref->ncalls != got->ncalls)
        emit(c, code, path, DSML_NO_OFFSET, "%s %zu tool call%s, %s %zu", what, ref->ncalls,
             ref->ncalls == 1 ? "" : "s", got_what, got->ncalls);
    for (size_t i = 0; i < ref->ncalls && i < got->ncalls && !c->stop; i++) {
        const dsml_check_call *a = &ref->calls[i], *b = &got->calls[i];
        if (a->name.len != b->name.len || (a->name.len && memcmp(a->name.data, b->name.data, a->name.len))) {
            dsml_buf an = {0};
            dsml_buf_puts(&an, quote(c, cs(&a->name), a->name.len, 60));
            emit(c, code, path, DSML_NO_OFFSET, "call %zu: %s name %s, %s %s", i, what, cs(&an),
                 got_what, quote(c, cs(&b->name), b->name.len, 60));
            dsml_buf_free(&an);
        } else if (!args_equal(&a->arguments, &b->arguments)) {
            dsml_buf aa = {0};
            dsml_buf_puts(&aa, quote(c, cs(&a->arguments), a->arguments.len, 120));
            emit(c, code, path, DSML_NO_OFFSET, "call %zu %.*s: %s arguments %s, %s %s", i,
                 (int)a->name.len, cs(&a->name), what, cs(&aa), got_what,
                 quote(c, cs(&b->arguments), b->arguments.len, 120));
            dsml_buf_free(&aa);
        }
    }
    if (code == DSML_C_PARSE_MISMATCH && !c->stop) {
        const char *s1, *s2;
        size_t n1, n2;
        trim(&ref->content, &s1, &n1);
        trim(&got->content, &s2, &n2);
        if (n1 != n2 || memcmp(s1, s2, n1)) {
            dsml_buf a = {0};
            dsml_buf_puts(&a, quote(c, s1, n1, 100));
            emit(c, code, path, DSML_NO_OFFSET, "%s content %s, %s %s", what, cs(&a), got_what,
                 quote(c, s2, n2, 100));
            dsml_buf_free(&a);
        }
    }
    return c->oom ? -1 : c->count;
}

/* ---- input detection -------------------------------------------------------------------------- */

dsml_input_kind dsml_check_detect(const char *data, size_t len)
{
    size_t i = 0;
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) i = 3;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r')) i++;
    if (i == len) return DSML_INPUT_COMPLETION;
    static const char *const sse[] = {"data:", "event:", "id:", "retry:", ":"};
    for (size_t k = 0; k < sizeof sse / sizeof *sse; k++) {
        size_t n = strlen(sse[k]);
        if (len - i >= n && !memcmp(data + i, sse[k], n)) return DSML_INPUT_STREAM;
    }
    if (data[i] == '{' || data[i] == '[') {
        if (dsml_json_valid(data + i, len - i)) return DSML_INPUT_RESPONSE;
    }
    /* JSONL: the first line is a JSON value and a second non-blank line follows */
    const char *nl = memchr(data + i, '\n', len - i);
    if (nl && dsml_json_valid(data + i, (size_t)(nl - data) - i))
        for (size_t k = (size_t)(nl - data) + 1; k < len; k++)
            if (data[k] != ' ' && data[k] != '\t' && data[k] != '\n' && data[k] != '\r')
                return DSML_INPUT_JSONL;
    /* an object that does not parse is a broken response rather than model output */
    return data[i] == '{' ? DSML_INPUT_RESPONSE : DSML_INPUT_COMPLETION;
}
