/*
 * convert.c - assistant turns between DSML dialects and OpenAI messages (dsml_convert.h).
 *
 * Everything goes through one intermediate form: reasoning, content, the tool calls as an
 * OpenAI tool_calls array (JSON), and whether the turn ended with EOS. DeepSeek input is
 * read by the streaming parser (dsml_parse_message), DeepSeek output is written by the
 * renderer's tool-call writer (dsml_render_tool_calls*), so this file only moves pieces.
 */
#include <stdio.h>
#include <string.h>

#include "dsml_convert.h"
#include "dsml_json.h"
#include "dsml_jv.h"
#include "dsml_render.h"

#define EOS_TEXT "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"

int dsml_format_parse(const char *name, dsml_format *out)
{
    if (!strcmp(name, "openai") || !strcmp(name, "json")) return *out = DSML_FMT_OPENAI, 0;
    dsml_dialect d;
    if (dsml_dialect_parse(name, &d) || d == DSML_AUTO) return -1;
    *out = (dsml_format)d;
    return 0;
}

static int set_err(dsml_convert_error *err, uint64_t offset, const char *fmt, const char *a)
{
    if (err) {
        snprintf(err->message, sizeof err->message, fmt, a);
        err->offset = offset;
    }
    return -1;
}

static int put(const dsml_sink *out, const char *s, size_t n)
{
    return n ? out->write(out->ud, s, n) : 0;
}

static void json_str(dsml_buf *b, const char *s, size_t n)
{
    dsml_buf_putc(b, '"');
    dsml_json_escape(s ? s : "", n, b);
    dsml_buf_putc(b, '"');
}

/* The DeepSeek form of one turn. calls: a tool_calls array (may be NULL or empty). */
static int write_deepseek(dsml_format to, const char *reasoning, size_t rlen, int has_reasoning,
                          const char *content, size_t clen, const dsml_jv *calls, int eos,
                          const dsml_sink *out, dsml_convert_error *err)
{
    if (has_reasoning && (put(out, reasoning, rlen) || put(out, "</think>", 8)))
        return set_err(err, 0, "%s", "output refused");
    if (put(out, content, clen)) return set_err(err, 0, "%s", "output refused");
    if (calls && calls->type == DSML_JV_ARRAY && calls->len) {
        if (to != DSML_FMT_V31 && put(out, "\n\n", 2)) return set_err(err, 0, "%s", "output refused");
        dsml_render_error rerr;
        if (dsml_render_tool_calls_jv(calls, (dsml_dialect)to, 0, out, &rerr))
            return set_err(err, rerr.offset, "%s", rerr.message);
    }
    if (eos && put(out, EOS_TEXT, sizeof EOS_TEXT - 1)) return set_err(err, 0, "%s", "output refused");
    return 0;
}

/* DeepSeek text in. */
static int from_deepseek(const char *in, size_t len, const dsml_convert_options *o,
                         const dsml_sink *out, dsml_convert_error *err)
{
    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    oo.parse.dialect = (dsml_dialect)o->from;
    oo.parse.flags = o->parse_flags;
    oo.make_id = o->make_id;
    oo.id_ud = o->id_ud;
    dsml_message m;
    dsml_code c = dsml_parse_message(in, len, &oo, o->chunk, &m);
    int rc = 0;
    if (c != DSML_OK) {
        if (err) {
            snprintf(err->message, sizeof err->message, "%s: %s", dsml_code_name(c),
                     dsml_code_message(c));
            err->offset = m.result.error.offset;
        }
        rc = -1;
        goto done;
    }
    dsml_buf js = {0};
    if (o->to == DSML_FMT_OPENAI) {
        dsml_message_json(&m, &js);
        rc = js.oom ? set_err(err, 0, "%s", "out of memory") : put(out, js.data, js.len);
        dsml_buf_free(&js);
        goto done;
    }
    /* calls -> a tool_calls array -> the renderer */
    dsml_buf_putc(&js, '[');
    for (size_t i = 0; i < m.ncalls; i++) {
        if (i) dsml_buf_putc(&js, ',');
        dsml_buf_puts(&js, "{\"id\":");
        json_str(&js, m.calls[i].id, strlen(m.calls[i].id));
        dsml_buf_puts(&js, ",\"type\":\"function\",\"function\":{\"name\":");
        json_str(&js, m.calls[i].name.data, m.calls[i].name.len);
        dsml_buf_puts(&js, ",\"arguments\":");
        json_str(&js, m.calls[i].arguments.data, m.calls[i].arguments.len);
        dsml_buf_puts(&js, "}}");
    }
    dsml_buf_putc(&js, ']');
    dsml_jv_error jerr;
    dsml_jv_doc *doc = js.oom ? NULL : dsml_jv_parse(js.data, js.len, 0, &jerr);
    if (!doc) {
        rc = set_err(err, 0, "%s", "out of memory");
    } else {
        rc = write_deepseek(o->to, m.reasoning.data, m.reasoning.len, m.has_reasoning,
                            m.content.data, m.content.len, dsml_jv_root(doc), m.result.saw_eos,
                            out, err);
        dsml_jv_free(doc);
    }
    dsml_buf_free(&js);
done:
    dsml_message_free(&m);
    return rc;
}

/* content: a string, null, or an array of parts whose text parts are concatenated. */
static void content_text(const dsml_jv *c, dsml_buf *b)
{
    if (!c) return;
    if (c->type == DSML_JV_STRING) {
        dsml_buf_add(b, c->u.s, c->len);
    } else if (c->type == DSML_JV_ARRAY) {
        for (size_t i = 0; i < c->len; i++) {
            const dsml_jv *t = dsml_jv_get(&c->u.items[i], "text");
            if (t && t->type == DSML_JV_STRING) dsml_buf_add(b, t->u.s, t->len);
        }
    }
}

static int from_openai(const char *in, size_t len, const dsml_convert_options *o,
                       const dsml_sink *out, dsml_convert_error *err)
{
    dsml_jv_error jerr;
    dsml_jv_doc *doc = dsml_jv_parse(in, len, 0, &jerr);
    if (!doc) return set_err(err, jerr.offset, "input is not JSON: %s", jerr.msg);
    const dsml_jv *root = dsml_jv_root(doc), *msg = root, *calls = NULL;
    const dsml_jv *choices = dsml_jv_get(root, "choices");
    if (choices && choices->type == DSML_JV_ARRAY && choices->len)
        msg = dsml_jv_get(&choices->u.items[0], "message");
    if (root->type == DSML_JV_ARRAY) {
        calls = root;
        msg = NULL;
    } else if (msg && msg->type == DSML_JV_OBJECT) {
        calls = dsml_jv_get(msg, "tool_calls");
    } else {
        dsml_jv_free(doc);
        return set_err(err, 0, "%s", "expected an assistant message, a chat completion or a "
                                     "tool_calls array");
    }
    if (calls && calls->type != DSML_JV_ARRAY && calls->type != DSML_JV_NULL) {
        size_t off = calls->offset;
        dsml_jv_free(doc);
        return set_err(err, off, "%s", "tool_calls is not an array");
    }
    dsml_buf content = {0}, reasoning = {0}, js = {0};
    const dsml_jv *rc_v = msg ? dsml_jv_get(msg, "reasoning_content") : NULL;
    int has_reasoning = rc_v && rc_v->type == DSML_JV_STRING;
    content_text(msg ? dsml_jv_get(msg, "content") : NULL, &content);
    if (has_reasoning) dsml_buf_add(&reasoning, rc_v->u.s, rc_v->len);
    int rc = 0;
    if (o->to != DSML_FMT_OPENAI) {
        rc = write_deepseek(o->to, reasoning.data, reasoning.len, has_reasoning, content.data,
                            content.len, calls, 0, out, err);
        goto done;
    }
    /* OpenAI -> OpenAI: the normalised message */
    dsml_buf_puts(&js, "{\"role\":\"assistant\",\"content\":");
    if (content.len) json_str(&js, content.data, content.len);
    else dsml_buf_puts(&js, "null");
    if (has_reasoning) {
        dsml_buf_puts(&js, ",\"reasoning_content\":");
        json_str(&js, reasoning.data, reasoning.len);
    }
    if (calls && calls->type == DSML_JV_ARRAY && calls->len) {
        dsml_buf_puts(&js, ",\"tool_calls\":[");
        for (size_t i = 0; i < calls->len; i++) {
            const dsml_jv *c = &calls->u.items[i], *fn = dsml_jv_get(c, "function");
            const dsml_jv *id = dsml_jv_get(c, "id"), *name = fn ? dsml_jv_get(fn, "name") : NULL;
            const dsml_jv *args = fn ? dsml_jv_get(fn, "arguments") : NULL;
            if (!name || name->type != DSML_JV_STRING) {
                rc = set_err(err, c->offset, "%s", "tool call without function.name");
                goto done;
            }
            if (i) dsml_buf_putc(&js, ',');
            dsml_buf_puts(&js, "{\"id\":");
            if (id && id->type == DSML_JV_STRING) json_str(&js, id->u.s, id->len);
            else {
                char gen[DSML_ID_MAX];
                if (o->make_id) o->make_id(o->id_ud, (uint32_t)i, gen);
                else dsml_id_random(NULL, (uint32_t)i, gen);
                json_str(&js, gen, strlen(gen));
            }
            dsml_buf_puts(&js, ",\"type\":\"function\",\"function\":{\"name\":");
            json_str(&js, name->u.s, name->len);
            dsml_buf_puts(&js, ",\"arguments\":");
            if (args && args->type == DSML_JV_STRING) {
                json_str(&js, args->u.s, args->len);
            } else if (!args || args->type == DSML_JV_NULL) {
                dsml_buf_puts(&js, "\"{}\"");
            } else { /* a dict given as arguments: its JSON text */
                dsml_buf tmp = {0};
                dsml_sink s = dsml_buf_sink(&tmp);
                dsml_jv_write_py(args, 0, &s, &jerr);
                json_str(&js, tmp.data, tmp.len);
                dsml_buf_free(&tmp);
            }
            dsml_buf_puts(&js, "}}");
        }
        dsml_buf_putc(&js, ']');
    }
    dsml_buf_putc(&js, '}');
    rc = js.oom ? set_err(err, 0, "%s", "out of memory") : put(out, js.data, js.len);
done:
    dsml_buf_free(&content);
    dsml_buf_free(&reasoning);
    dsml_buf_free(&js);
    dsml_jv_free(doc);
    return rc;
}

int dsml_convert(const char *in, size_t len, const dsml_convert_options *o,
                 const dsml_sink *out, dsml_convert_error *err)
{
    if (err) err->message[0] = 0, err->offset = 0;
    if ((unsigned)o->from > DSML_FMT_OPENAI || (unsigned)o->to > DSML_FMT_OPENAI)
        return set_err(err, 0, "%s", "unknown format");
    if (o->from == DSML_FMT_OPENAI) return from_openai(in, len, o, out, err);
    return from_deepseek(in, len, o, out, err);
}
