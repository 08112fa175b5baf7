/*
 * render.c - the prompt renderer (DeepSeek V4 and V3.2 reference encoders, byte for byte)
 * and the OpenAI tool_calls -> DSML / V3.1 block writer (dsml_render.h).
 *
 * Pipeline for one request: parse the JSON text (dsml_jv.h) -> load the messages into a
 * flat array of `msg` (roles mapped, request-level tools attached) -> the encoder's
 * preprocessing (V4: merge tool results into user turns, sort them into call order,
 * drop_thinking; V3.2: drop_thinking) -> render message by message into the sink.
 *
 * Invariants:
 *   - the msg array only points into the request document; nothing is copied but the
 *     per-call arguments documents, which are freed as soon as the call is written;
 *   - every byte goes through out_plain() or out_special(); only out_special() and the
 *     fixed template text (out_template) produce is_special segments, so request text is
 *     never reported as a marker;
 *   - the first error wins and stops all output (r->failed); nothing after it is written.
 *
 * Where the reference encoder crashes or prints Python reprs (None, lists), this file
 * picks the behaviour documented in dsml_render.h and spec/RENDER.md instead.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_render.h"

/* ======================================================================================
 * Fixed text (checked byte for byte by the golden tests; lengths are in spec/RENDER.md)
 * ==================================================================================== */
#define U "\xEF\xBD\x9C" /* U+FF5C FULLWIDTH VERTICAL LINE */
#define B "\xE2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK */

#define BOS "<" U "begin" B "of" B "sentence" U ">"
#define EOS "<" U "end" B "of" B "sentence" U ">"
#define USER "<" U "User" U ">"
#define ASSISTANT "<" U "Assistant" U ">"
#define REMINDER "<" U "latest_reminder" U ">"
#define THINK "<think>"
#define UNTHINK "</think>"
#define DSML U "DSML" U

static const char response_format_header[] =
    "## Response Format:\n\nYou MUST strictly adhere to the following schema to reply:\n";

static const char tools_v4_prefix[] =
    "## Tools\n"
    "\n"
    "You have access to a set of tools to help answer the user's question. You can invoke tools by writing a \"<" U "DSML" U "tool_calls>\" block like the following:\n"
    "\n"
    "<" U "DSML" U "tool_calls>\n"
    "<" U "DSML" U "invoke name=\"$TOOL_NAME\">\n"
    "<" U "DSML" U "parameter name=\"$PARAMETER_NAME\" string=\"true|false\">$PARAMETER_VALUE</" U "DSML" U "parameter>\n"
    "...\n"
    "</" U "DSML" U "invoke>\n"
    "<" U "DSML" U "invoke name=\"$TOOL_NAME2\">\n"
    "...\n"
    "</" U "DSML" U "invoke>\n"
    "</" U "DSML" U "tool_calls>\n"
    "\n"
    "String parameters should be specified as is and set `string=\"true\"`. For all other types (numbers, booleans, arrays, objects), pass the value in JSON format and set `string=\"false\"`.\n"
    "\n"
    "If thinking_mode is enabled (triggered by <think>), you MUST output your complete reasoning inside <think>...</think> BEFORE any tool calls or final response.\n"
    "\n"
    "Otherwise, output directly after </think> with tool calls or final response.\n"
    "\n"
    "### Available Tool Schemas\n"
    "\n";

static const char tools_v4_suffix[] =
    "\n"
    "\n"
    "You MUST strictly follow the above defined tool name and parameter schemas to invoke tool calls.\n";

static const char effort_max_text[] =
    "Reasoning Effort: Absolute maximum with no shortcuts permitted.\n"
    "You MUST be very thorough in your thinking and comprehensively decompose the problem to resolve the root cause, rigorously stress-testing your logic against all potential paths, edge cases, and adversarial scenarios.\n"
    "Explicitly write out your entire deliberation process, documenting every intermediate step, considered alternative, and rejected hypothesis to ensure absolutely no assumption is left unchecked.\n"
    "\n";

static const char tools_v32_prefix[] =
    "## Tools\n"
    "\n"
    "You have access to a set of tools you can use to answer the user's question.\n"
    "You can invoke functions by writing a \"<" U "DSML" U "function_calls>\" block like the following as part of your reply to the user:\n"
    "<" U "DSML" U "function_calls>\n"
    "<" U "DSML" U "invoke name=\"$FUNCTION_NAME\">\n"
    "<" U "DSML" U "parameter name=\"$PARAMETER_NAME\" string=\"true|false\">$PARAMETER_VALUE</" U "DSML" U "parameter>\n"
    "...\n"
    "</" U "DSML" U "invoke>\n"
    "<" U "DSML" U "invoke name=\"$FUNCTION_NAME2\">\n"
    "...\n"
    "</" U "DSML" U "invoke>\n"
    "</" U "DSML" U "function_calls>\n"
    "\n"
    "String and scalar parameters should be specified as is without any escaping or quotes, while lists and objects should use JSON format. The \"string\" attribute should be set to \"true\" for string type parameters and \"false\" for other types (numbers, booleans, arrays, objects).\n"
    "\n"
    "If the thinking_mode is enabled, then after function results you should strongly consider outputting a thinking block. Here is an example:\n"
    "\n"
    "<" U "DSML" U "function_calls>\n"
    "...\n"
    "</" U "DSML" U "function_calls>\n"
    "\n"
    "<function_results>\n"
    "...\n"
    "</function_results>\n"
    "\n"
    "<think>...thinking about results</think>\n"
    "\n"
    "Here are the functions available in JSONSchema format:\n"
    "<functions>\n";

static const char tools_v32_suffix[] = "\n</functions>\n";

enum { TASK_ACTION = 0, TASK_COUNT = 6 };
static const char *const task_names[TASK_COUNT] = {"action", "query",  "authority",
                                                   "domain", "title", "read_url"};
static const char *const task_tokens[TASK_COUNT] = {
    "<" U "action" U ">", "<" U "query" U ">", "<" U "authority" U ">",
    "<" U "domain" U ">", "<" U "title" U ">", "<" U "read_url" U ">"};

/* The tail the official parser ends a parameter value at (with or without '<'). */
static const char closer_tail[] = "/" DSML "parameter";

/* ======================================================================================
 * State
 * ==================================================================================== */
enum role { R_SYSTEM, R_USER, R_ASSISTANT, R_TOOL, R_DEVELOPER, R_REMINDER };

/* One block of a merged V4 user turn: its text, or one tool result. */
typedef struct block {
    int result;             /* 0: text block (a user message), 1: tool_result */
    const dsml_jv *content; /* the source message's content */
    const dsml_jv *id;      /* tool_result: tool_call_id (may be NULL) */
    long src;               /* index of the source message */
} block;

typedef struct msg {
    int role;
    long src; /* index in the request's messages; -1 = the inserted system message */
    const dsml_jv *content, *tools, *rf, *tool_calls, *reasoning;
    const dsml_jv *call_id; /* tool: tool_call_id */
    int tools_top, rf_top; /* tools / response_format came from the request level */
    int task;              /* index in task_names, or -1 */
    int wo_eos;
    int has_blocks; /* V4 user turn built by merging: blocks b0 .. b0+nb */
    size_t b0, nb;
} msg;

typedef struct R {
    int v32, thinking, effort_max, drop;
    unsigned flags;
    const dsml_sink *sink;
    const dsml_segment_sink *seg;
    dsml_buf pend; /* segment mode: ordinary text not yet delivered */
    char stage[4096]; /* plain-sink mode: bytes not yet handed to the sink */
    size_t nstage;
    dsml_render_error *err;
    int failed;
    msg *m;
    size_t n;
    block *b;
    size_t nb;
    char calls_path[96]; /* path of the tool_calls array being written */
} R;

/* ======================================================================================
 * Errors
 * ==================================================================================== */
static int vfail(R *r, size_t offset, const char *message, const char *pathfmt, va_list ap)
{
    if (r->failed) return -1;
    r->failed = 1;
    if (r->err) {
        snprintf(r->err->message, sizeof r->err->message, "%s", message);
        vsnprintf(r->err->path, sizeof r->err->path, pathfmt, ap);
        r->err->offset = offset;
    }
    return -1;
}

static int fail(R *r, const dsml_jv *at, const char *message, const char *pathfmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(R *r, const dsml_jv *at, const char *message, const char *pathfmt, ...)
{
    va_list ap;
    va_start(ap, pathfmt);
    vfail(r, at ? at->offset : 0, message, pathfmt, ap);
    va_end(ap);
    return -1;
}

/* Path of message i's source ("messages[3]"), for error paths. */
static const char *msg_path(const msg *m, char buf[48])
{
    if (m->src < 0) snprintf(buf, 48, "(system message carrying the request's tools)");
    else snprintf(buf, 48, "messages[%ld]", m->src);
    return buf;
}

/* ======================================================================================
 * Output
 * ==================================================================================== */
static void sink_failed(R *r) { fail(r, NULL, "output sink failed", "%s", ""); }

static void flush_pending(R *r)
{
    if (r->failed || !r->pend.len) return;
    if (r->seg->write(r->seg->ud, r->pend.data, r->pend.len, 0)) sink_failed(r);
    dsml_buf_clear(&r->pend);
}

/* Plain-sink mode: hand the staged bytes to the sink. */
static void flush_stage(R *r)
{
    if (r->failed || !r->nstage) return;
    if (r->sink->write(r->sink->ud, r->stage, r->nstage)) sink_failed(r);
    r->nstage = 0;
}

static void out_plain(R *r, const char *s, size_t n)
{
    if (r->failed || !n) return;
    if (r->seg) {
        if (dsml_buf_add(&r->pend, s, n)) fail(r, NULL, "out of memory", "%s", "");
        return;
    }
    if (n > sizeof r->stage - r->nstage) {
        flush_stage(r);
        if (n >= sizeof r->stage) {
            if (!r->failed && r->sink->write(r->sink->ud, s, n)) sink_failed(r);
            return;
        }
    }
    memcpy(r->stage + r->nstage, s, n);
    r->nstage += n;
}

static void out_special(R *r, const char *s, size_t n)
{
    if (r->failed) return;
    if (!r->seg) {
        out_plain(r, s, n);
        return;
    }
    flush_pending(r);
    if (!r->failed && r->seg->write(r->seg->ud, s, n, 1)) sink_failed(r);
}

#define PUT(r, lit) out_plain((r), lit, sizeof lit - 1)
#define SPECIAL(r, lit) out_special((r), lit, sizeof lit - 1)

/* A DSML tag: `before` + the ｜DSML｜ token + `after` (only ｜DSML｜ is one token). */
static void out_dsml(R *r, const char *before, const char *after)
{
    out_plain(r, before, strlen(before));
    SPECIAL(r, DSML);
    out_plain(r, after, strlen(after));
}

/* Fixed template text: the markers it spells (｜DSML｜, <think>, </think>) are the
 * renderer's own and are reported as special in segment mode. */
static void out_template(R *r, const char *s, size_t n)
{
    if (!r->seg) {
        out_plain(r, s, n);
        return;
    }
    static const struct {
        const char *s;
        size_t n;
    } marks[] = {{DSML, sizeof DSML - 1}, {THINK, sizeof THINK - 1}, {UNTHINK, sizeof UNTHINK - 1}};
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < sizeof marks / sizeof marks[0]; k++)
            if (n - i >= marks[k].n && !memcmp(s + i, marks[k].s, marks[k].n)) break;
        if (k == sizeof marks / sizeof marks[0]) {
            i++;
            continue;
        }
        out_plain(r, s + run, i - run);
        out_special(r, marks[k].s, marks[k].n);
        i += marks[k].n;
        run = i;
    }
    out_plain(r, s + run, n - run);
}

/* dsml_sink adapter so the pyjson writer can write through out_plain(). */
static int r_sink_write(void *ud, const char *d, size_t n)
{
    R *r = ud;
    out_plain(r, d, n);
    return r->failed;
}

/* pyjson(v) as ordinary text. */
static void out_pyjson(R *r, const dsml_jv *v, unsigned flags, const char *pathfmt, ...)
    __attribute__((format(printf, 4, 5)));
static void out_pyjson(R *r, const dsml_jv *v, unsigned flags, const char *pathfmt, ...)
{
    if (r->failed) return;
    dsml_sink s = {r_sink_write, r};
    dsml_jv_error e;
    if (dsml_jv_write_py(v, flags, &s, &e) && !r->failed) {
        va_list ap;
        va_start(ap, pathfmt);
        vfail(r, e.offset, e.msg, pathfmt, ap);
        va_end(ap);
    }
}

/* ======================================================================================
 * Small helpers
 * ==================================================================================== */
/* Python truthiness of a JSON value (absent counts as None). */
static int truthy(const dsml_jv *v)
{
    if (!v) return 0;
    switch (v->type) {
    case DSML_JV_NULL:
    case DSML_JV_FALSE: return 0;
    case DSML_JV_TRUE: return 1;
    case DSML_JV_NUMBER:
        for (size_t i = 0; i < v->len; i++) {
            char c = v->u.s[i];
            if (c == 'e' || c == 'E') break;
            if (c >= '1' && c <= '9') return 1;
        }
        return 0;
    default: return v->len != 0;
    }
}

static int contains(const char *s, size_t n, const char *needle, size_t nn)
{
    if (nn > n) return 0;
    for (size_t i = 0; i + nn <= n; i++)
        if (s[i] == needle[0] && !memcmp(s + i, needle, nn)) return 1;
    return 0;
}

/* ======================================================================================
 * Content
 * ==================================================================================== */
/* A message content: string raw; null/absent ""; array of parts: text parts joined by
 * "\n\n", other parts "[Unsupported <type>]" (the encoder's rule for list tool results). */
static void out_content(R *r, const dsml_jv *c, long src, const char *field)
{
    if (!c || c->type == DSML_JV_NULL) return;
    if (c->type == DSML_JV_STRING) {
        out_plain(r, c->u.s, c->len);
        return;
    }
    if (c->type != DSML_JV_ARRAY) {
        fail(r, c, "content must be a string, an array of content parts or null",
             "messages[%ld].%s", src, field);
        return;
    }
    for (size_t i = 0; i < c->len && !r->failed; i++) {
        const dsml_jv *part = &c->u.items[i];
        if (part->type != DSML_JV_OBJECT) {
            fail(r, part, "content part must be an object", "messages[%ld].%s[%zu]", src, field,
                 i);
            return;
        }
        if (i) PUT(r, "\n\n");
        const dsml_jv *type = dsml_jv_get(part, "type");
        if (dsml_jv_str_is(type, "text")) {
            const dsml_jv *text = dsml_jv_get(part, "text");
            if (text && text->type == DSML_JV_STRING) out_plain(r, text->u.s, text->len);
            else if (!dsml_jv_is_null(text))
                fail(r, text, "text part must have a string \"text\"",
                     "messages[%ld].%s[%zu].text", src, field, i);
        } else if (dsml_jv_is_null(type)) {
            PUT(r, "[Unsupported None]");
        } else if (type->type == DSML_JV_STRING) {
            PUT(r, "[Unsupported ");
            out_plain(r, type->u.s, type->len);
            PUT(r, "]");
        } else {
            fail(r, type, "content part type must be a string", "messages[%ld].%s[%zu].type",
                 src, field, i);
        }
    }
}

/* ======================================================================================
 * Tools block and response format
 * ==================================================================================== */
static void out_tools(R *r, const msg *m)
{
    char mp[48];
    PUT(r, "\n\n");
    if (r->v32) out_template(r, tools_v32_prefix, sizeof tools_v32_prefix - 1);
    else out_template(r, tools_v4_prefix, sizeof tools_v4_prefix - 1);
    for (size_t k = 0; k < m->tools->len && !r->failed; k++) {
        const dsml_jv *t = &m->tools->u.items[k];
        const dsml_jv *fn = dsml_jv_get(t, "function");
        if (!fn) {
            if (m->tools_top)
                fail(r, t, "tool has no \"function\" object", "tools[%zu]", k);
            else
                fail(r, t, "tool has no \"function\" object", "%s.tools[%zu]", msg_path(m, mp),
                     k);
            return;
        }
        if (k) PUT(r, "\n");
        if (m->tools_top) out_pyjson(r, fn, 0, "tools[%zu].function", k);
        else out_pyjson(r, fn, 0, "%s.tools[%zu].function", msg_path(m, mp), k);
    }
    if (r->v32) out_template(r, tools_v32_suffix, sizeof tools_v32_suffix - 1);
    else out_template(r, tools_v4_suffix, sizeof tools_v4_suffix - 1);
}

static void out_response_format(R *r, const msg *m)
{
    char mp[48];
    PUT(r, "\n\n");
    PUT(r, response_format_header);
    if (m->rf_top) out_pyjson(r, m->rf, 0, "response_format");
    else out_pyjson(r, m->rf, 0, "%s.response_format", msg_path(m, mp));
}

/* ======================================================================================
 * Tool calls
 * ==================================================================================== */
/* Names are written raw between quotes: '"' or a DSML token inside cannot be expressed. */
static int check_name(R *r, const dsml_jv *v, const char *s, size_t n, const char *what,
                      size_t j, const char *sub)
{
    if (memchr(s, '"', n) || contains(s, n, DSML, sizeof DSML - 1)) {
        char m[128];
        snprintf(m, sizeof m, "%s contains '\"' or \"%s\", which DSML cannot express", what,
                 DSML);
        return fail(r, v, m, "%s[%zu]%s", r->calls_path, j, sub);
    }
    return 0;
}

static void out_param_head(R *r, const char *key, size_t klen, int is_string)
{
    PUT(r, "<");
    SPECIAL(r, DSML);
    PUT(r, "parameter name=\"");
    out_plain(r, key, klen);
    if (is_string) PUT(r, "\" string=\"true\">");
    else PUT(r, "\" string=\"false\">");
}

static void out_param_tail(R *r)
{
    PUT(r, "</");
    SPECIAL(r, DSML);
    PUT(r, "parameter>");
}

/* A string parameter: raw with string="true", unless the text holds the value closer. */
static void out_param_string(R *r, const char *key, size_t klen, const char *s, size_t n,
                             const dsml_jv *at, size_t j)
{
    if (contains(s, n, closer_tail, sizeof closer_tail - 1)) {
        if (r->flags & DSML_RENDER_CLOSER_ERROR) {
            fail(r, at, "string argument contains \"/" DSML "parameter\", which a DSML string "
                        "value cannot hold",
                 "%s[%zu].function.arguments", r->calls_path, j);
            return;
        }
        out_param_head(r, key, klen, 0);
        dsml_sink sk = {r_sink_write, r};
        dsml_py_write_string(s, n, DSML_PYJSON_GUARD_CLOSER, &sk);
        out_param_tail(r);
        return;
    }
    out_param_head(r, key, klen, 1);
    out_plain(r, s, n);
    out_param_tail(r);
}

/* What a call's arguments render as. */
typedef struct call_args {
    dsml_jv_doc *doc;   /* owned parse of the arguments string */
    const dsml_jv *obj; /* parameters, or NULL */
    const char *raw;    /* fallback: one `arguments` parameter with this text */
    size_t raw_len;
    dsml_buf tmp; /* holds raw when it had to be written (non-string arguments value) */
} call_args;

static int all_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return 0;
    return 1;
}

static int resolve_args(R *r, const dsml_jv *a, size_t j, call_args *ca)
{
    memset(ca, 0, sizeof *ca);
    if (dsml_jv_is_null(a)) return 0;
    if (a->type == DSML_JV_OBJECT) {
        ca->obj = a;
        return 0;
    }
    if (a->type != DSML_JV_STRING) {
        dsml_sink s = dsml_buf_sink(&ca->tmp);
        dsml_jv_error e;
        if (dsml_jv_write_py(a, 0, &s, &e) || ca->tmp.oom)
            return fail(r, a, e.msg, "%s[%zu].function.arguments", r->calls_path, j);
        ca->raw = ca->tmp.data;
        ca->raw_len = ca->tmp.len;
        return 0;
    }
    if (all_space(a->u.s, a->len)) return 0;
    dsml_jv_error e;
    ca->doc = dsml_jv_parse(a->u.s, a->len, 0, &e);
    if (!ca->doc) {
        if (e.code == DSML_JV_E_SYNTAX) {
            ca->raw = a->u.s;
            ca->raw_len = a->len;
            return 0;
        }
        char m[200];
        snprintf(m, sizeof m, "arguments text: %s (at byte %zu of the arguments)", e.msg,
                 e.offset);
        return fail(r, a, m, "%s[%zu].function.arguments", r->calls_path, j);
    }
    const dsml_jv *root = dsml_jv_root(ca->doc);
    if (root->type == DSML_JV_OBJECT) {
        ca->obj = root;
    } else if (root->type != DSML_JV_NULL) {
        ca->raw = a->u.s;
        ca->raw_len = a->len;
    }
    return 0;
}

static void out_invoke_params(R *r, const call_args *ca, const dsml_jv *a, size_t j)
{
    if (ca->raw) {
        out_param_string(r, "arguments", 9, ca->raw, ca->raw_len, a, j);
        return;
    }
    if (!ca->obj) return;
    for (size_t k = 0; k < ca->obj->len && !r->failed; k++) {
        const dsml_jv_member *m = &ca->obj->u.members[k];
        if (check_name(r, a, m->key, m->key_len, "parameter name", j, ".function.arguments"))
            return;
        if (k) PUT(r, "\n");
        if (m->value.type == DSML_JV_STRING) {
            out_param_string(r, m->key, m->key_len, m->value.u.s, m->value.len, a, j);
        } else {
            out_param_head(r, m->key, m->key_len, 0);
            if (ca->doc) {
                /* offsets inside the arguments text: report the arguments string */
                dsml_sink sk = {r_sink_write, r};
                dsml_jv_error e;
                if (dsml_jv_write_py(&m->value, DSML_PYJSON_GUARD_CLOSER, &sk, &e) &&
                    !r->failed) {
                    char why[200];
                    snprintf(why, sizeof why, "arguments text: %s (at byte %zu of the arguments)",
                             e.msg, e.offset);
                    fail(r, a, why, "%s[%zu].function.arguments", r->calls_path, j);
                }
            } else {
                out_pyjson(r, &m->value, DSML_PYJSON_GUARD_CLOSER,
                           "%s[%zu].function.arguments.%.*s", r->calls_path, j,
                           (int)(m->key_len > 64 ? 64 : m->key_len), m->key);
            }
            out_param_tail(r);
        }
    }
}

/* Validate call j and return its function object (or NULL after fail()). */
static const dsml_jv *call_function(R *r, const dsml_jv *tc, size_t j, const dsml_jv **name)
{
    const dsml_jv *fn = tc->type == DSML_JV_OBJECT ? dsml_jv_get(tc, "function") : NULL;
    if (!fn || fn->type != DSML_JV_OBJECT) {
        fail(r, tc, "tool call must be an object with a \"function\" object", "%s[%zu]",
             r->calls_path, j);
        return NULL;
    }
    *name = dsml_jv_get(fn, "name");
    if (!*name || (*name)->type != DSML_JV_STRING) {
        fail(r, *name ? *name : fn, "tool call needs a string function.name",
             "%s[%zu].function.name", r->calls_path, j);
        return NULL;
    }
    return fn;
}

/* The DSML block (V4 tool_calls / V3.2 function_calls) for the calls array, without the
 * "\n\n" before it and the EOS after it. */
static void out_dsml_block(R *r, const dsml_jv *calls)
{
    const char *blk = r->v32 ? "function_calls>\n" : "tool_calls>\n";
    out_dsml(r, "<", blk);
    for (size_t j = 0; j < calls->len && !r->failed; j++) {
        const dsml_jv *tc = &calls->u.items[j], *name;
        const dsml_jv *fn = call_function(r, tc, j, &name);
        if (!fn || check_name(r, name, name->u.s, name->len, "tool name", j, ".function.name"))
            return;
        const dsml_jv *a = dsml_jv_get(fn, "arguments");
        call_args ca;
        if (resolve_args(r, a, j, &ca)) {
            dsml_buf_free(&ca.tmp);
            return;
        }
        if (j) PUT(r, "\n");
        out_dsml(r, "<", "invoke name=\"");
        out_plain(r, name->u.s, name->len);
        PUT(r, "\">\n");
        out_invoke_params(r, &ca, a, j);
        out_dsml(r, "\n</", "invoke>");
        dsml_jv_free(ca.doc);
        dsml_buf_free(&ca.tmp);
    }
    out_dsml(r, "\n</", r->v32 ? "function_calls>" : "tool_calls>");
}

/* The V3.1 block: arguments text verbatim. */
static void out_v31_block(R *r, const dsml_jv *calls)
{
    SPECIAL(r, "<" U "tool" B "calls" B "begin" U ">");
    for (size_t j = 0; j < calls->len && !r->failed; j++) {
        const dsml_jv *tc = &calls->u.items[j], *name;
        const dsml_jv *fn = call_function(r, tc, j, &name);
        if (!fn) return;
        SPECIAL(r, "<" U "tool" B "call" B "begin" U ">");
        out_plain(r, name->u.s, name->len);
        SPECIAL(r, "<" U "tool" B "sep" U ">");
        const dsml_jv *a = dsml_jv_get(fn, "arguments");
        if (dsml_jv_is_null(a) || (a->type == DSML_JV_STRING && all_space(a->u.s, a->len)))
            PUT(r, "{}");
        else if (a->type == DSML_JV_STRING) out_plain(r, a->u.s, a->len);
        else out_pyjson(r, a, 0, "%s[%zu].function.arguments", r->calls_path, j);
        SPECIAL(r, "<" U "tool" B "call" B "end" U ">");
    }
    SPECIAL(r, "<" U "tool" B "calls" B "end" U ">");
}

/* ======================================================================================
 * Loading the request
 * ==================================================================================== */
static int get_mode(R *r, const dsml_jv *req, const dsml_render_options *o)
{
    const dsml_jv *eff = dsml_jv_get(req, "reasoning_effort");
    int eff_none = 0, eff_max = 0, eff_set = 0;
    if (!dsml_jv_is_null(eff)) {
        static const char *const plain[] = {"minimal", "low", "medium", "high"};
        if (eff->type != DSML_JV_STRING)
            return fail(r, eff, "reasoning_effort must be a string", "reasoning_effort");
        eff_set = 1;
        if (dsml_jv_str_is(eff, "none")) eff_none = 1;
        else if (dsml_jv_str_is(eff, "max") || dsml_jv_str_is(eff, "xhigh")) eff_max = 1;
        else {
            size_t k = 0;
            while (k < 4 && !dsml_jv_str_is(eff, plain[k])) k++;
            if (k == 4)
                return fail(r, eff,
                            "unknown reasoning_effort (none, minimal, low, medium, high, xhigh, "
                            "max)",
                            "reasoning_effort");
        }
    }
    if (o->thinking != DSML_THINKING_FROM_REQUEST) {
        r->thinking = o->thinking == DSML_THINKING_ON;
    } else {
        int t = -1;
        const dsml_jv *th = dsml_jv_get(req, "thinking");
        if (th && (th->type == DSML_JV_TRUE || th->type == DSML_JV_FALSE)) {
            t = th->type == DSML_JV_TRUE;
        } else if (!dsml_jv_is_null(th)) {
            const dsml_jv *ty = dsml_jv_get(th, "type");
            if (dsml_jv_str_is(ty, "enabled")) t = 1;
            else if (dsml_jv_str_is(ty, "disabled")) t = 0;
            else
                return fail(r, ty ? ty : th,
                            "thinking must be {\"type\": \"enabled\"|\"disabled\"} or a boolean",
                            "thinking");
        }
        const dsml_jv *kw = dsml_jv_get(req, "chat_template_kwargs");
        static const char *const kwn[] = {"thinking", "enable_thinking"};
        for (int k = 0; k < 2 && t < 0; k++) {
            const dsml_jv *v = dsml_jv_get(kw, kwn[k]);
            if (!v || v->type == DSML_JV_NULL) continue;
            if (v->type != DSML_JV_TRUE && v->type != DSML_JV_FALSE)
                return fail(r, v, "must be true or false", "chat_template_kwargs.%s", kwn[k]);
            t = v->type == DSML_JV_TRUE;
        }
        if (t < 0 && eff_set) t = !eff_none;
        r->thinking = t > 0;
    }
    if (o->effort != DSML_EFFORT_FROM_REQUEST) r->effort_max = o->effort == DSML_EFFORT_MAX;
    else r->effort_max = eff_max;
    return 0;
}

static int parse_task(R *r, const dsml_jv *t, long src)
{
    if (dsml_jv_is_null(t)) return -1;
    for (int k = 0; k < TASK_COUNT; k++)
        if (dsml_jv_str_is(t, task_names[k])) return k;
    fail(r, t, "unknown task (action, query, authority, domain, title, read_url)",
         "messages[%ld].task", src);
    return -2;
}

/* messages[] -> r->m (n + 1 slots: room for the inserted system message). */
static int load_messages(R *r, const dsml_jv *req, const dsml_jv *list)
{
    r->m = calloc(list->len + 1, sizeof *r->m);
    if (!r->m) return fail(r, NULL, "out of memory", "%s", "");
    int native = (r->flags & DSML_RENDER_DEEPSEEK_ROLES) != 0;
    const dsml_jv *choice = dsml_jv_get(req, "tool_choice");
    int no_tools = dsml_jv_str_is(choice, "none");
    size_t n = 0;
    for (size_t i = 0; i < list->len; i++) {
        const dsml_jv *v = &list->u.items[i];
        long src = (long)i;
        if (v->type != DSML_JV_OBJECT)
            return fail(r, v, "message must be an object", "messages[%ld]", src);
        const dsml_jv *role = dsml_jv_get(v, "role");
        msg *m = &r->m[n++];
        m->src = src;
        if (dsml_jv_str_is(role, "system")) m->role = R_SYSTEM;
        else if (dsml_jv_str_is(role, "developer")) m->role = native ? R_DEVELOPER : R_SYSTEM;
        else if (dsml_jv_str_is(role, "user")) m->role = R_USER;
        else if (dsml_jv_str_is(role, "assistant")) m->role = R_ASSISTANT;
        else if (dsml_jv_str_is(role, "tool")) m->role = R_TOOL;
        else if (dsml_jv_str_is(role, "latest_reminder") && !r->v32) m->role = R_REMINDER;
        else if (dsml_jv_str_is(role, "latest_reminder"))
            return fail(r, role, "role latest_reminder does not exist in V3.2",
                        "messages[%ld].role", src);
        else
            return fail(r, role ? role : v,
                        "unknown role (system, developer, user, assistant, tool, "
                        "latest_reminder)",
                        "messages[%ld].role", src);
        m->content = dsml_jv_get(v, "content");
        if (m->role == R_TOOL) m->call_id = dsml_jv_get(v, "tool_call_id");
        if (m->content && m->content->type != DSML_JV_STRING &&
            m->content->type != DSML_JV_ARRAY && m->content->type != DSML_JV_NULL)
            return fail(r, m->content,
                        "content must be a string, an array of content parts or null",
                        "messages[%ld].content", src);
        const dsml_jv *tools = dsml_jv_get(v, "tools");
        if (truthy(tools) && tools->type != DSML_JV_ARRAY)
            return fail(r, tools, "tools must be an array", "messages[%ld].tools", src);
        if (truthy(tools) && !no_tools && m->role != R_USER && m->role != R_TOOL)
            m->tools = tools;
        const dsml_jv *rf = dsml_jv_get(v, "response_format");
        if (truthy(rf)) m->rf = rf;
        const dsml_jv *tc = dsml_jv_get(v, "tool_calls");
        if (truthy(tc)) {
            if (tc->type != DSML_JV_ARRAY)
                return fail(r, tc, "tool_calls must be an array", "messages[%ld].tool_calls",
                            src);
            m->tool_calls = tc;
        }
        const dsml_jv *rc = dsml_jv_get(v, "reasoning_content");
        if (dsml_jv_is_null(rc)) rc = dsml_jv_get(v, "reasoning");
        if (!dsml_jv_is_null(rc) && rc->type != DSML_JV_STRING)
            return fail(r, rc, "reasoning_content must be a string or null",
                        "messages[%ld].reasoning_content", src);
        m->reasoning = dsml_jv_is_null(rc) ? NULL : rc;
        m->task = parse_task(r, dsml_jv_get(v, "task"), src);
        if (m->task == -2) return -1;
        m->wo_eos = truthy(dsml_jv_get(v, "wo_eos")) || truthy(dsml_jv_get(v, "prefix"));
    }
    r->n = n;

    /* Request-level tools / response_format: onto messages[0] when it is a system message
     * (or a DeepSeek developer message), else onto a new empty system message in front. */
    const dsml_jv *tools = dsml_jv_get(req, "tools");
    if (truthy(tools) && tools->type != DSML_JV_ARRAY)
        return fail(r, tools, "tools must be an array", "tools");
    if (no_tools || !truthy(tools)) tools = NULL;
    const dsml_jv *rf = dsml_jv_get(req, "response_format");
    if (!truthy(rf) || dsml_jv_str_is(dsml_jv_get(rf, "type"), "text")) rf = NULL;
    if (tools || rf) {
        if (!n || (r->m[0].role != R_SYSTEM && r->m[0].role != R_DEVELOPER)) {
            memmove(r->m + 1, r->m, n * sizeof *r->m);
            memset(r->m, 0, sizeof *r->m);
            r->m[0].role = R_SYSTEM;
            r->m[0].src = -1;
            r->m[0].task = -1;
            r->n = ++n;
        }
        if (tools) r->m[0].tools = tools, r->m[0].tools_top = 1;
        if (rf) r->m[0].rf = rf, r->m[0].rf_top = 1;
    }
    return 0;
}

/* ======================================================================================
 * V4 preprocessing (encoding_dsv4.py: merge_tool_messages, sort_tool_results_by_call_order,
 * _drop_thinking_messages)
 * ==================================================================================== */
static int v4_merge(R *r)
{
    r->b = calloc(r->n ? r->n : 1, sizeof *r->b);
    if (!r->b) return fail(r, NULL, "out of memory", "%s", "");
    size_t out = 0;
    for (size_t i = 0; i < r->n; i++) {
        msg m = r->m[i];
        msg *last = out ? &r->m[out - 1] : NULL;
        if (m.role == R_TOOL || m.role == R_USER) {
            block *bk = &r->b[r->nb++];
            bk->result = m.role == R_TOOL;
            bk->content = m.content;
            bk->src = m.src;
            bk->id = m.role == R_TOOL ? m.call_id : NULL;
            int append = last && last->role == R_USER && last->has_blocks &&
                         (m.role == R_TOOL || last->task < 0);
            if (append) {
                last->nb++;
                continue;
            }
            msg u;
            memset(&u, 0, sizeof u);
            u.role = R_USER;
            u.src = m.src;
            u.content = m.role == R_USER ? m.content : NULL;
            u.task = m.role == R_USER ? m.task : -1;
            u.wo_eos = m.role == R_USER ? m.wo_eos : 0;
            u.has_blocks = 1;
            u.b0 = r->nb - 1;
            u.nb = 1;
            r->m[out++] = u;
        } else {
            r->m[out++] = m;
        }
    }
    r->n = out;
    return 0;
}

/* Position of a tool_use_id in the call order of `calls` (Python: a dict id -> index built
 * from the calls, so a repeated id maps to its last call; unknown ids sort as 0). */
static size_t call_order(const dsml_jv *calls, const dsml_jv *id)
{
    size_t idx = 0;
    if (!id || id->type != DSML_JV_STRING) return 0;
    for (size_t j = 0; j < calls->len; j++) {
        const dsml_jv *tc = &calls->u.items[j];
        const dsml_jv *tid = dsml_jv_get(tc, "id");
        if (!truthy(tid)) tid = dsml_jv_get(dsml_jv_get(tc, "function"), "id");
        if (tid && tid->type == DSML_JV_STRING && tid->len == id->len &&
            !memcmp(tid->u.s, id->u.s, id->len))
            idx = j;
    }
    return idx;
}

static int calls_have_ids(const dsml_jv *calls)
{
    for (size_t j = 0; j < calls->len; j++) {
        const dsml_jv *tc = &calls->u.items[j];
        const dsml_jv *tid = dsml_jv_get(tc, "id");
        if (!truthy(tid)) tid = dsml_jv_get(dsml_jv_get(tc, "function"), "id");
        if (truthy(tid) && tid->type == DSML_JV_STRING) return 1;
    }
    return 0;
}

static int v4_sort_results(R *r)
{
    const dsml_jv *calls = NULL;
    int have_ids = 0;
    for (size_t i = 0; i < r->n; i++) {
        msg *m = &r->m[i];
        if (m->role == R_ASSISTANT && m->tool_calls) {
            calls = m->tool_calls;
            have_ids = calls_have_ids(calls);
            continue;
        }
        if (m->role != R_USER || !m->has_blocks || !have_ids) continue;
        block *bl = r->b + m->b0;
        size_t k = 0;
        for (size_t q = 0; q < m->nb; q++) k += bl[q].result;
        if (k < 2) continue;
        /* Stable insertion sort of the result blocks, in place over their positions. */
        size_t *pos = malloc(k * sizeof *pos), *key = malloc(k * sizeof *key);
        block *tmp = malloc(k * sizeof *tmp);
        if (!pos || !key || !tmp) {
            free(pos), free(key), free(tmp);
            return fail(r, NULL, "out of memory", "%s", "");
        }
        size_t c = 0;
        for (size_t q = 0; q < m->nb; q++)
            if (bl[q].result) pos[c] = q, tmp[c] = bl[q], key[c] = call_order(calls, bl[q].id), c++;
        for (size_t a = 1; a < k; a++) {
            block tb = tmp[a];
            size_t tk = key[a], z = a;
            while (z > 0 && key[z - 1] > tk) tmp[z] = tmp[z - 1], key[z] = key[z - 1], z--;
            tmp[z] = tb, key[z] = tk;
        }
        for (size_t a = 0; a < k; a++) bl[pos[a]] = tmp[a];
        free(pos), free(key), free(tmp);
    }
    return 0;
}

static long last_user_index(const R *r)
{
    for (size_t i = r->n; i-- > 0;)
        if (r->m[i].role == R_USER || r->m[i].role == R_DEVELOPER) return (long)i;
    return -1;
}

/* drop_thinking (both versions): before the last user/developer turn, assistant turns lose
 * their reasoning and roles other than the kept ones are deleted. */
static void drop_thinking(R *r)
{
    long lu = last_user_index(r);
    size_t out = 0;
    for (size_t i = 0; i < r->n; i++) {
        msg m = r->m[i];
        int keep = m.role == R_USER || m.role == R_SYSTEM || m.role == R_TOOL ||
                   (!r->v32 && m.role == R_REMINDER) || (long)i >= lu;
        if (!keep && m.role == R_ASSISTANT) {
            m.reasoning = NULL;
            keep = 1;
        }
        if (keep) r->m[out++] = m;
    }
    r->n = out;
}

/* ======================================================================================
 * V4 rendering (encoding_dsv4.py render_message)
 * ==================================================================================== */
static void out_calls_of(R *r, const msg *m)
{
    char mp[48];
    snprintf(r->calls_path, sizeof r->calls_path, "%s.tool_calls", msg_path(m, mp));
    PUT(r, "\n\n");
    out_dsml_block(r, m->tool_calls);
}

static void out_reasoning(R *r, const msg *m)
{
    if (m->reasoning) out_plain(r, m->reasoning->u.s, m->reasoning->len);
    SPECIAL(r, UNTHINK);
}

static void render_v4(R *r)
{
    long lu = last_user_index(r);
    for (size_t i = 0; i < r->n && !r->failed; i++) {
        const msg *m = &r->m[i];
        char mp[48];
        if (i == 0 && r->thinking && r->effort_max) out_template(r, effort_max_text, sizeof effort_max_text - 1);
        switch (m->role) {
        case R_SYSTEM:
            out_content(r, m->content, m->src, "content");
            if (m->tools) out_tools(r, m);
            if (m->rf) out_response_format(r, m);
            break;
        case R_DEVELOPER:
            if (!truthy(m->content)) {
                fail(r, m->content, "a developer message needs non-empty content", "%s.content",
                     msg_path(m, mp));
                return;
            }
            SPECIAL(r, USER);
            out_content(r, m->content, m->src, "content");
            if (m->tools) out_tools(r, m);
            if (m->rf) out_response_format(r, m);
            break;
        case R_USER:
            SPECIAL(r, USER);
            for (size_t q = 0; q < m->nb; q++) {
                const block *bk = &r->b[m->b0 + q];
                if (q) PUT(r, "\n\n");
                if (!bk->result) {
                    out_content(r, bk->content, bk->src, "content");
                    continue;
                }
                PUT(r, "<tool_result>");
                out_content(r, bk->content, bk->src, "content");
                PUT(r, "</tool_result>");
            }
            break;
        case R_REMINDER:
            SPECIAL(r, REMINDER);
            out_content(r, m->content, m->src, "content");
            break;
        case R_ASSISTANT: {
            int prev_task = i > 0 && r->m[i - 1].task >= 0;
            if (r->thinking && !prev_task && (!r->drop || (long)i > lu)) out_reasoning(r, m);
            out_content(r, m->content, m->src, "content");
            if (m->tool_calls) out_calls_of(r, m);
            if (!m->wo_eos) SPECIAL(r, EOS);
            break;
        }
        default: /* R_TOOL cannot survive the merge */
            break;
        }
        /* Transition: only before an assistant / latest_reminder turn or at the end. */
        if (i + 1 < r->n && r->m[i + 1].role != R_ASSISTANT && r->m[i + 1].role != R_REMINDER)
            continue;
        if (m->task >= 0) {
            if (m->task != TASK_ACTION) {
                out_special(r, task_tokens[m->task], strlen(task_tokens[m->task]));
            } else {
                SPECIAL(r, ASSISTANT);
                if (r->thinking) SPECIAL(r, THINK);
                else SPECIAL(r, UNTHINK);
                out_special(r, task_tokens[m->task], strlen(task_tokens[m->task]));
            }
        } else if (m->role == R_USER || m->role == R_DEVELOPER) {
            SPECIAL(r, ASSISTANT);
            if (r->thinking && (!r->drop || (long)i >= lu)) SPECIAL(r, THINK);
            else SPECIAL(r, UNTHINK);
        }
    }
}

/* ======================================================================================
 * V3.2 rendering (encoding_dsv32.py render_message)
 * ==================================================================================== */
static void render_v32(R *r)
{
    long lu = last_user_index(r);
    for (size_t i = 0; i < r->n && !r->failed; i++) {
        const msg *m = &r->m[i];
        char mp[48];
        switch (m->role) {
        case R_SYSTEM:
            out_content(r, m->content, m->src, "content");
            if (m->tools) out_tools(r, m);
            if (m->rf) out_response_format(r, m);
            break;
        case R_DEVELOPER:
            if (!truthy(m->content)) {
                fail(r, m->content, "a developer message needs non-empty content", "%s.content",
                     msg_path(m, mp));
                return;
            }
            SPECIAL(r, USER);
            if (m->tools) out_tools(r, m);
            if (m->rf) out_response_format(r, m);
            PUT(r, "\n\n# The user's message is: ");
            out_content(r, m->content, m->src, "content");
            SPECIAL(r, ASSISTANT);
            if ((long)i == lu && r->thinking) SPECIAL(r, THINK);
            else SPECIAL(r, UNTHINK);
            break;
        case R_USER:
            SPECIAL(r, USER);
            out_content(r, m->content, m->src, "content");
            SPECIAL(r, ASSISTANT);
            if ((long)i == lu && r->thinking) SPECIAL(r, THINK);
            else SPECIAL(r, UNTHINK);
            break;
        case R_TOOL: {
            size_t j = i;
            while (j > 0 && r->m[j - 1].role == R_TOOL) j--;
            if (j == 0 || r->m[j - 1].role != R_ASSISTANT) {
                fail(r, NULL, "tool message does not follow an assistant message with tool calls",
                     "%s", msg_path(m, mp));
                return;
            }
            const msg *a = &r->m[j - 1];
            size_t order = i - j + 1, ncalls = a->tool_calls ? a->tool_calls->len : 0;
            if (ncalls < order) {
                fail(r, NULL, "more tool results than tool calls in the assistant message "
                              "before them",
                     "%s", msg_path(m, mp));
                return;
            }
            if (order == 1) PUT(r, "\n\n<function_results>");
            PUT(r, "\n<result>");
            out_content(r, m->content, m->src, "content");
            PUT(r, "</result>");
            if (order == ncalls) {
                PUT(r, "\n</function_results>\n\n");
                if ((long)i >= lu && r->thinking) SPECIAL(r, THINK);
                else SPECIAL(r, UNTHINK);
            }
            break;
        }
        case R_ASSISTANT:
            if (r->thinking && (long)i > lu) out_reasoning(r, m);
            out_content(r, m->content, m->src, "content");
            if (m->tool_calls) out_calls_of(r, m);
            if (!m->wo_eos) SPECIAL(r, EOS);
            break;
        default: /* R_REMINDER is rejected while loading */
            break;
        }
    }
}

/* ======================================================================================
 * Entry points
 * ==================================================================================== */
void dsml_render_options_init(dsml_render_options *o)
{
    memset(o, 0, sizeof *o);
    o->dialect = DSML_V4;
    o->thinking = DSML_THINKING_FROM_REQUEST;
    o->effort = DSML_EFFORT_FROM_REQUEST;
}

static void clear_err(dsml_render_error *err)
{
    if (err) memset(err, 0, sizeof *err);
}

static int render(const dsml_jv *root, const dsml_render_options *o, const dsml_sink *sink,
                  const dsml_segment_sink *seg, dsml_render_error *err)
{
    dsml_render_options defaults;
    if (!o) {
        dsml_render_options_init(&defaults);
        o = &defaults;
    }
    R r;
    memset(&r, 0, sizeof r);
    r.sink = sink;
    r.seg = seg;
    r.err = err;
    r.flags = o->flags;
    r.v32 = o->dialect == DSML_V32;
    if (o->dialect != DSML_V4 && o->dialect != DSML_V32)
        return fail(&r, NULL, "the prompt renderer supports the v4 and v3.2 dialects", "%s", "");
    const dsml_jv *req = NULL, *list = root;
    if (root->type == DSML_JV_OBJECT) {
        req = root;
        list = dsml_jv_get(root, "messages");
        if (!list || list->type != DSML_JV_ARRAY)
            return fail(&r, list ? list : root, "the request needs a \"messages\" array",
                        "messages");
    } else if (root->type != DSML_JV_ARRAY) {
        return fail(&r, root, "input must be a request object or an array of messages", "%s",
                    "");
    }
    if (!get_mode(&r, req, o) && !load_messages(&r, req, list)) {
        r.drop = !(o->flags & DSML_RENDER_KEEP_REASONING);
        if (!(o->flags & DSML_RENDER_NO_BOS)) SPECIAL(&r, BOS);
        if (r.v32) {
            if (r.thinking && r.drop) drop_thinking(&r);
            render_v32(&r);
        } else if (!v4_merge(&r) && !v4_sort_results(&r)) {
            for (size_t i = 0; i < r.n; i++)
                if (r.m[i].tools) r.drop = 0; /* tools declared: keep every reasoning */
            if (r.thinking && r.drop) drop_thinking(&r);
            render_v4(&r);
        }
        if (seg) flush_pending(&r);
        else flush_stage(&r);
    }
    free(r.m);
    free(r.b);
    dsml_buf_free(&r.pend);
    return r.failed ? -1 : 0;
}

static int parse_then(const char *json, size_t len, unsigned max_depth, dsml_render_error *err,
                      dsml_jv_doc **doc)
{
    dsml_jv_error e;
    *doc = dsml_jv_parse(json, len, max_depth, &e);
    if (*doc) return 0;
    if (err) {
        snprintf(err->message, sizeof err->message, "invalid JSON: %s", e.msg);
        err->path[0] = 0;
        err->offset = e.offset;
    }
    return -1;
}

int dsml_render_prompt_jv(const dsml_jv *request, const dsml_render_options *o,
                          const dsml_sink *out, dsml_render_error *err)
{
    clear_err(err);
    return render(request, o, out, NULL, err);
}

int dsml_render_prompt(const char *json, size_t len, const dsml_render_options *o,
                       const dsml_sink *out, dsml_render_error *err)
{
    dsml_jv_doc *doc;
    clear_err(err);
    if (parse_then(json, len, o ? o->max_depth : 0, err, &doc)) return -1;
    int rc = render(dsml_jv_root(doc), o, out, NULL, err);
    dsml_jv_free(doc);
    return rc;
}

int dsml_render_prompt_segments(const char *json, size_t len, const dsml_render_options *o,
                                const dsml_segment_sink *out, dsml_render_error *err)
{
    dsml_jv_doc *doc;
    clear_err(err);
    if (parse_then(json, len, o ? o->max_depth : 0, err, &doc)) return -1;
    int rc = render(dsml_jv_root(doc), o, NULL, out, err);
    dsml_jv_free(doc);
    return rc;
}

int dsml_render_tool_calls_jv(const dsml_jv *calls, dsml_dialect d, unsigned flags,
                              const dsml_sink *out, dsml_render_error *err)
{
    R r;
    memset(&r, 0, sizeof r);
    clear_err(err);
    r.sink = out;
    r.err = err;
    r.flags = flags;
    r.v32 = d == DSML_V32;
    snprintf(r.calls_path, sizeof r.calls_path, "%s", "");
    const dsml_jv *list = calls;
    dsml_jv one;
    if (calls->type == DSML_JV_OBJECT) {
        const dsml_jv *tc = dsml_jv_get(calls, "tool_calls");
        if (tc) {
            list = tc;
            snprintf(r.calls_path, sizeof r.calls_path, "%s", "tool_calls");
        } else {
            one = *calls;
            one.type = DSML_JV_ARRAY;
            one.len = 1;
            one.u.items = calls;
            list = &one;
        }
    }
    if (list->type == DSML_JV_NULL) return 0;
    if (list->type != DSML_JV_ARRAY)
        return fail(&r, list, "tool calls must be an array", "%s", r.calls_path);
    if (d != DSML_V4 && d != DSML_V32 && d != DSML_V31)
        return fail(&r, NULL, "tool calls render as v4, v3.2 or v3.1", "%s", "");
    if (!list->len) return 0;
    if (d == DSML_V31) out_v31_block(&r, list);
    else out_dsml_block(&r, list);
    flush_stage(&r);
    return r.failed ? -1 : 0;
}

int dsml_render_tool_calls(const char *json, size_t len, dsml_dialect d, unsigned flags,
                           const dsml_sink *out, dsml_render_error *err)
{
    dsml_jv_doc *doc;
    clear_err(err);
    if (parse_then(json, len, 0, err, &doc)) return -1;
    int rc = dsml_render_tool_calls_jv(dsml_jv_root(doc), d, flags, out, err);
    dsml_jv_free(doc);
    return rc;
}

int dsml_render_call_prefix(dsml_dialect d, const char *name, size_t len, const dsml_sink *out)
{
    static const char v31_open[] = "<" U "tool" B "calls" B "begin" U ">";
    static const char v31_call[] = "<" U "tool" B "call" B "begin" U ">";
    static const char v31_sep[] = "<" U "tool" B "sep" U ">";
    if (d != DSML_V4 && d != DSML_V32 && d != DSML_V31) return -1;
    if (name) {
        if (memchr(name, '"', len) || (d == DSML_V31 && memchr(name, '<', len))) return -1;
        for (size_t i = 0; i + sizeof DSML - 1 <= len; i++)
            if (!memcmp(name + i, DSML, sizeof DSML - 1)) return -1;
    }
    dsml_buf b = {0};
    if (d == DSML_V31) {
        dsml_buf_puts(&b, v31_open);
        if (name) {
            dsml_buf_puts(&b, v31_call);
            dsml_buf_add(&b, name, len);
            dsml_buf_puts(&b, v31_sep);
        }
    } else {
        dsml_buf_puts(&b, d == DSML_V32 ? "\n\n<" DSML "function_calls>\n" : "\n\n<" DSML "tool_calls>\n");
        if (name) {
            dsml_buf_puts(&b, "<" DSML "invoke name=\"");
            dsml_buf_add(&b, name, len);
            dsml_buf_puts(&b, "\">\n");
        }
    }
    int rc = b.oom ? -1 : out->write(out->ud, b.data, b.len) ? -1 : 0;
    dsml_buf_free(&b);
    return rc;
}
