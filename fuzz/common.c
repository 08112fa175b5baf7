/*
 * common.c - input decoding, feeding plans, the grammar-checking event recorder and JSON
 * comparison shared by the fuzz harnesses (fuzz.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_json.h"
#include "fuzz.h"

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    fprintf(stderr, "\n==== invariant failed at %s:%d: %s\n", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

/* ===================================================================================== */
/* Input                                                                                 */
/* ===================================================================================== */

unsigned fz_u8(fz_in *in)
{
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

unsigned fz_u16(fz_in *in)
{
    unsigned lo = fz_u8(in);
    return lo | fz_u8(in) << 8;
}

uint32_t fz_u32(fz_in *in)
{
    uint32_t lo = fz_u16(in);
    return lo | (uint32_t)fz_u16(in) << 16;
}

void fz_read_options(fz_in *in, dsml_options *o, unsigned *alloc_fail)
{
    static const size_t max_token[4] = {4096, 64, 100, 300};
    unsigned a = fz_u8(in), b = fz_u8(in);
    dsml_options_init(o);
    o->dialect = (dsml_dialect)(a & 3);
    if (a & 4) o->flags |= DSML_THINKING;
    if (a & 8) o->flags |= DSML_STRICT;
    if (a & 16) o->flags |= DSML_LOOKALIKES;
    if (a & 32) o->flags |= DSML_LINES;
    o->max_token = max_token[a >> 6];
    unsigned mp = b & 7, mv = (b >> 3) & 7;
    if (mp) o->max_params = (size_t)1 << (mp - 1);
    if (mv) o->max_value = (uint64_t)8 << mv;
    if (alloc_fail) *alloc_fail = b >> 6;
}

void fz_describe_options(const dsml_options *o, char *buf, size_t size)
{
    snprintf(buf, size, "dialect=%s%s%s%s%s max_token=%zu max_params=%zu max_value=%llu",
             dsml_dialect_name(o->dialect), o->flags & DSML_THINKING ? " thinking" : "",
             o->flags & DSML_STRICT ? " strict" : "",
             o->flags & DSML_LOOKALIKES ? " lookalikes" : "",
             o->flags & DSML_LINES ? " lines" : "", o->max_token, o->max_params,
             (unsigned long long)o->max_value);
}

/* ===================================================================================== */
/* Feeding plans                                                                         */
/* ===================================================================================== */

void fz_plan_read(fz_in *in, fz_plan *pl)
{
    unsigned p = fz_u8(in);
    memset(pl, 0, sizeof *pl);
    pl->mode = p & 3;
    pl->arg = p >> 2;
    if (pl->mode == 1) {
        pl->ncuts = (pl->arg & 15) + 1;
        for (unsigned i = 0; i < pl->ncuts; i++) pl->cuts[i] = fz_u16(in);
    } else if (pl->mode == 2) {
        pl->seed = fz_u32(in);
    }
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

size_t *fz_plan_chunks(const fz_plan *pl, size_t len, size_t *n)
{
    size_t cap = 2 * len + 20, k = 0;
    size_t *c = malloc(cap * sizeof *c);
    if (!c) abort();
    switch (pl->mode) {
    case 0: {
        size_t step = pl->arg + 1;
        for (size_t i = 0; i < len; i += step) c[k++] = len - i < step ? len - i : step;
        break;
    }
    case 1: {
        size_t cut[16];
        for (unsigned i = 0; i < pl->ncuts; i++) cut[i] = pl->cuts[i] % (len + 1);
        qsort(cut, pl->ncuts, sizeof *cut, cmp_size);
        size_t at = 0;
        for (unsigned i = 0; i < pl->ncuts; i++) {
            c[k++] = cut[i] - at;
            at = cut[i];
        }
        c[k++] = len - at;
        break;
    }
    case 2: {
        uint32_t s = pl->seed | 1;
        size_t at = 0, max = pl->arg + 1;
        while (at < len && k + 1 < cap) {
            s ^= s << 13, s ^= s >> 17, s ^= s << 5;
            size_t m = s % (max + 1);
            if (m > len - at) m = len - at;
            c[k++] = m;
            at += m;
        }
        if (at < len) c[k++] = len - at;
        break;
    }
    default:
        for (size_t i = 0; i < len; i++) c[k++] = 1, c[k++] = 0;
        break;
    }
    *n = k;
    return c;
}

/* ===================================================================================== */
/* Grammar-checking recorder                                                             */
/* ===================================================================================== */

#define EV(ud) ((fz_events *)(ud))

static int ev_reasoning(void *ud, const char *at, size_t len)
{
    fz_events *e = EV(ud);
    FZ_CHECK(e->flags & DSML_THINKING, "reasoning text in chat mode");
    FZ_CHECK(!e->reasoning_ended, "reasoning text after the reasoning ended");
    FZ_CHECK(!e->had_content && !e->blocks, "reasoning text after content or a block");
    return e->inner.on_reasoning(&e->rec, at, len);
}

static int ev_reasoning_end(void *ud)
{
    fz_events *e = EV(ud);
    FZ_CHECK(e->flags & DSML_THINKING, "reasoning end in chat mode");
    FZ_CHECK(!e->reasoning_ended, "second reasoning end");
    e->reasoning_ended = 1;
    return e->inner.on_reasoning_end(&e->rec);
}

static int ev_content(void *ud, const char *at, size_t len)
{
    fz_events *e = EV(ud);
    /* (content may follow reasoning without a reasoning end: text after an EOS that came
       inside the reasoning) */
    FZ_CHECK(!e->in_param, "content inside a parameter value");
    e->had_content = 1;
    return e->inner.on_content(&e->rec, at, len);
}

static int ev_block_begin(void *ud, dsml_dialect d)
{
    fz_events *e = EV(ud);
    FZ_CHECK(!e->in_block, "block begin inside a block");
    FZ_CHECK(!e->blocks, "second block (only the first block is markup)");
    FZ_CHECK(!(e->flags & DSML_THINKING) || e->reasoning_ended, "block inside reasoning");
    FZ_CHECK((unsigned)d <= DSML_V31, "block dialect %d", (int)d);
    e->in_block = 1;
    e->blocks++;
    return e->inner.on_block_begin(&e->rec, d);
}

static int ev_invoke(void *ud, const char *name, size_t len)
{
    fz_events *e = EV(ud);
    FZ_CHECK(e->in_block && !e->in_invoke, "invoke outside a block or inside an invoke");
    e->in_invoke = 1;
    e->invoke_params = e->invoke_args = 0;
    return e->inner.on_invoke(&e->rec, name, len);
}

static int ev_param(void *ud, const char *name, size_t len, unsigned flags)
{
    fz_events *e = EV(ud);
    FZ_CHECK(e->in_invoke && !e->in_param, "parameter outside an invoke or inside a parameter");
    FZ_CHECK(!e->invoke_args, "parameter after raw arguments in one invoke");
    FZ_CHECK(flags == DSML_PARAM_STRING || flags == DSML_PARAM_JSON, "parameter flags %u", flags);
    e->in_param = (int)flags;
    e->invoke_params++;
    return e->inner.on_param(&e->rec, name, len, flags);
}

static int ev_value(void *ud, const char *at, size_t len)
{
    fz_events *e = EV(ud);
    FZ_CHECK(e->in_param, "value outside a parameter");
    return e->inner.on_value(&e->rec, at, len);
}

static int ev_param_end(void *ud, unsigned flags)
{
    fz_events *e = EV(ud);
    FZ_CHECK(e->in_param, "parameter end outside a parameter");
    FZ_CHECK(!(flags & ~(unsigned)DSML_END_INVALID_JSON), "parameter end flags %u", flags);
    FZ_CHECK(!(flags & DSML_END_INVALID_JSON) || e->in_param == DSML_PARAM_JSON,
             "invalid-JSON flag on a string parameter");
    FZ_CHECK(!(flags & DSML_END_INVALID_JSON) || !(e->flags & DSML_STRICT),
             "invalid JSON accepted in strict mode");
    e->in_param = 0;
    return e->inner.on_param_end(&e->rec, flags);
}

static int ev_args(void *ud, const char *at, size_t len)
{
    fz_events *e = EV(ud);
    FZ_CHECK(e->in_invoke && !e->in_param && !e->invoke_params,
             "raw arguments outside an invoke or mixed with parameters");
    e->invoke_args = 1;
    return e->inner.on_args(&e->rec, at, len);
}

static int ev_invoke_end(void *ud, unsigned flags)
{
    fz_events *e = EV(ud);
    FZ_CHECK(e->in_invoke && !e->in_param, "invoke end outside an invoke or inside a parameter");
    FZ_CHECK(!(flags & ~(unsigned)(DSML_END_ARGS_NOT_OBJECT | DSML_END_IMPLICIT)),
             "invoke end flags %u", flags);
    /* (raw arguments may be empty: V3.1 "<｜tool▁sep｜><｜tool▁call▁end｜>" fires no on_args) */
    FZ_CHECK(!(flags & DSML_END_ARGS_NOT_OBJECT) || !e->invoke_params,
             "args-not-object flag on an invoke with parameters");
    e->in_invoke = 0;
    e->invoke_ends++;
    if (flags & DSML_END_ARGS_NOT_OBJECT) e->not_object++;
    return e->inner.on_invoke_end(&e->rec, flags);
}

static int ev_block_end(void *ud, unsigned flags)
{
    fz_events *e = EV(ud);
    FZ_CHECK(e->in_block && !e->in_invoke, "block end outside a block or inside an invoke");
    FZ_CHECK(!(flags & ~(unsigned)DSML_END_IMPLICIT), "block end flags %u", flags);
    e->in_block = 0;
    return e->inner.on_block_end(&e->rec, flags);
}

static int ev_warning(void *ud, const dsml_diag *w)
{
    fz_events *e = EV(ud);
    FZ_CHECK(dsml_code_is_warning(w->code), "warning with a non-warning code %d", (int)w->code);
    FZ_CHECK(w->offset <= e->fed, "warning %s at offset %llu beyond the %llu bytes fed",
             dsml_code_name(w->code), (unsigned long long)w->offset,
             (unsigned long long)e->fed);
    if (e->flags & DSML_LINES) {
        uint64_t line, col;
        dsml_text_line_col(e->text, e->len, w->offset, &line, &col);
        FZ_CHECK(line == w->line && col == w->col,
                 "warning %s at %llu: line:col %llu:%llu, the text says %llu:%llu",
                 dsml_code_name(w->code), (unsigned long long)w->offset,
                 (unsigned long long)w->line, (unsigned long long)w->col,
                 (unsigned long long)line, (unsigned long long)col);
    }
    e->warnings++;
    if (w->code == DSML_W_THINK_OPEN) e->think_open = 1;
    return e->inner.on_warning(&e->rec, w);
}

dsml_callbacks fz_events_init(fz_events *ev, const dsml_options *o, const char *text,
                              size_t len)
{
    dsml_buf log = ev->rec.log;
    memset(ev, 0, sizeof *ev);
    dsml_buf_clear(&log);
    ev->rec.log = log;
    ev->inner = tu_callbacks();
    ev->flags = o->flags;
    ev->text = text;
    ev->len = len;
    dsml_callbacks cb = {
        .on_reasoning = ev_reasoning, .on_reasoning_end = ev_reasoning_end,
        .on_content = ev_content,     .on_block_begin = ev_block_begin,
        .on_invoke = ev_invoke,       .on_param = ev_param,
        .on_value = ev_value,         .on_param_end = ev_param_end,
        .on_args = ev_args,           .on_invoke_end = ev_invoke_end,
        .on_block_end = ev_block_end, .on_warning = ev_warning,
    };
    return cb;
}

void fz_events_final(const fz_events *e, const dsml_result *r, dsml_code code)
{
    FZ_CHECK(r->calls == e->invoke_ends, "result says %u calls, %u invoke ends fired", r->calls,
             e->invoke_ends);
    FZ_CHECK(r->warnings == e->warnings, "result says %u warnings, %u fired", r->warnings,
             e->warnings);
    FZ_CHECK(!e->blocks || r->saw_block, "a block began but saw_block is 0");
    if (e->flags & DSML_THINKING)
        FZ_CHECK(!r->reasoning_closed == !e->reasoning_ended,
                 "reasoning_closed %d but reasoning end fired %d", r->reasoning_closed,
                 e->reasoning_ended);
    switch (r->status) {
    case DSML_DONE:
        FZ_CHECK(code == DSML_OK, "status DONE with code %s", dsml_code_name(code));
        FZ_CHECK(!e->in_invoke && !e->in_param && !e->in_block,
                 "status DONE with an element left open (block %d invoke %d param %d)",
                 e->in_block, e->in_invoke, e->in_param);
        FZ_CHECK(r->bytes == e->len, "status DONE after %llu of %zu bytes",
                 (unsigned long long)r->bytes, e->len);
        break;
    case DSML_INCOMPLETE:
        FZ_CHECK(code == DSML_OK, "status INCOMPLETE with code %s", dsml_code_name(code));
        FZ_CHECK(!(e->flags & DSML_STRICT), "status INCOMPLETE in strict mode");
        FZ_CHECK(r->saw_block, "status INCOMPLETE without a block");
        FZ_CHECK(r->incomplete_at <= r->bytes, "incomplete_at %llu beyond %llu bytes",
                 (unsigned long long)r->incomplete_at, (unsigned long long)r->bytes);
        break;
    case DSML_FAILED:
        FZ_CHECK(code != DSML_OK && code == r->error.code,
                 "status FAILED: returned %s, result error %s", dsml_code_name(code),
                 dsml_code_name(r->error.code));
        FZ_CHECK(!dsml_code_is_warning(r->error.code), "failed with warning code %s",
                 dsml_code_name(r->error.code));
        FZ_CHECK(r->error.offset <= r->bytes, "error %s at %llu beyond %llu bytes",
                 dsml_code_name(r->error.code), (unsigned long long)r->error.offset,
                 (unsigned long long)r->bytes);
        if (e->flags & DSML_LINES && r->error.code != DSML_E_NOMEM) {
            uint64_t line, col;
            dsml_text_line_col(e->text, e->len, r->error.offset, &line, &col);
            FZ_CHECK(line == r->error.line && col == r->error.col,
                     "error %s at %llu: line:col %llu:%llu, the text says %llu:%llu",
                     dsml_code_name(r->error.code), (unsigned long long)r->error.offset,
                     (unsigned long long)r->error.line, (unsigned long long)r->error.col,
                     (unsigned long long)line, (unsigned long long)col);
        }
        break;
    default: FZ_CHECK(0, "unknown status %d", (int)r->status);
    }
}

void fz_events_free(fz_events *ev) { tu_rec_free(&ev->rec); }

dsml_code fz_parse_checked(const char *text, size_t len, const dsml_options *o,
                           const size_t *chunks, size_t nchunks, fz_events *ev)
{
    dsml_callbacks cb = fz_events_init(ev, o, text, len);
    dsml_parser *p = dsml_parser_new(o, &cb, ev);
    FZ_CHECK(p, "dsml_parser_new failed for valid options");
    dsml_code c = DSML_OK;
    size_t at = 0;
    if (!chunks) {
        ev->fed = len;
        c = dsml_feed(p, text, len);
    } else {
        for (size_t i = 0; i < nchunks && c == DSML_OK; i++) {
            ev->fed = at + chunks[i];
            c = dsml_feed(p, text + at, chunks[i]);
            at += chunks[i];
        }
    }
    dsml_code f = dsml_finish(p);
    FZ_CHECK(c == DSML_OK || f == c, "feed returned %s, finish %s", dsml_code_name(c),
             dsml_code_name(f));
    FZ_CHECK(dsml_finish(p) == f, "second finish changed the code");
    const dsml_result *r = dsml_result_get(p);
    fz_events_final(ev, r, f);
    tu_log_result(&ev->rec, r);
    dsml_parser_free(p);
    return f;
}

/* ===================================================================================== */
/* JSON comparison                                                                       */
/* ===================================================================================== */

int fz_jv_identical(const dsml_jv *a, const dsml_jv *b)
{
    if (a->type != b->type || a->len != b->len) return 0;
    switch (a->type) {
    case DSML_JV_NUMBER:
    case DSML_JV_STRING: return !a->len || !memcmp(a->u.s, b->u.s, a->len);
    case DSML_JV_ARRAY:
        for (size_t i = 0; i < a->len; i++)
            if (!fz_jv_identical(&a->u.items[i], &b->u.items[i])) return 0;
        return 1;
    case DSML_JV_OBJECT:
        for (size_t i = 0; i < a->len; i++) {
            const dsml_jv_member *x = &a->u.members[i], *y = &b->u.members[i];
            if (x->key_len != y->key_len || (x->key_len && memcmp(x->key, y->key, x->key_len)) ||
                !fz_jv_identical(&x->value, &y->value))
                return 0;
        }
        return 1;
    default: return 1;
    }
}

int fz_bytes_eq(const void *a, size_t an, const void *b, size_t bn)
{
    return an == bn && (!an || !memcmp(a, b, an));
}

int fz_jv_str_eq(const dsml_jv *a, const dsml_jv *b)
{
    int as = a && a->type == DSML_JV_STRING, bs = b && b->type == DSML_JV_STRING;
    return fz_bytes_eq(as ? a->u.s : NULL, as ? a->len : 0, bs ? b->u.s : NULL, bs ? b->len : 0);
}

int fz_json_text_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    if (fz_bytes_eq(a, alen, b, blen)) return 1;
    dsml_jv_error e;
    dsml_jv_doc *da = dsml_jv_parse(a, alen, 0, &e);
    dsml_jv_doc *db = da ? dsml_jv_parse(b, blen, 0, &e) : NULL;
    int eq = da && db && tu_jv_equal(dsml_jv_root(da), dsml_jv_root(db));
    dsml_jv_free(da);
    dsml_jv_free(db);
    return eq;
}

int fz_convert(const char *in, size_t len, dsml_format from, dsml_format to, unsigned flags,
               dsml_buf *out, dsml_convert_error *err)
{
    uint64_t seed = 9;
    dsml_convert_options o = {.from = from, .to = to, .parse_flags = flags,
                              .make_id = dsml_id_seeded, .id_ud = &seed};
    dsml_buf_clear(out);
    dsml_sink s = dsml_buf_sink(out);
    int rc = dsml_convert(in, len, &o, &s, err);
    if (rc) FZ_CHECK(err->message[0], "dsml_convert failed without a message");
    FZ_CHECK(!out->oom, "out of memory");
    return rc;
}

int fz_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) k = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return 0;
        }
        if (n - i <= k) return 0;
        if (p[i + 1] < lo || p[i + 1] > hi) return 0;
        for (size_t j = 2; j <= k; j++)
            if (p[i + j] < 0x80 || p[i + j] > 0xBF) return 0;
        i += k + 1;
    }
    return 1;
}

const char *fz_show(const char *s, size_t n)
{
    static dsml_buf ring[4];
    static unsigned next;
    dsml_buf *b = &ring[next++ % 4];
    dsml_buf_clear(b);
    for (size_t i = 0; s && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') dsml_buf_puts(b, "\\\\");
        else if (c >= 0x20 && c < 0x7f) dsml_buf_putc(b, (char)c);
        else dsml_buf_printf(b, "\\x%02x", c);
    }
    return b->data ? b->data : "";
}

int fz_contains(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    return !k || (n && memmem(s, n, needle, k) != NULL);
}

int fz_text_is_plain(const char *s, size_t n)
{
    static const char *const markup[] = {
        "DSML", "<think>", "</think>", "<\xEF\xBD\x9C" "begin\xE2\x96\x81",
        "<\xEF\xBD\x9C" "end\xE2\x96\x81", "<\xEF\xBD\x9Ctool\xE2\x96\x81",
    };
    for (size_t i = 0; i < sizeof markup / sizeof *markup; i++)
        if (fz_contains(s, n, markup[i])) return 0;
    return 1;
}
