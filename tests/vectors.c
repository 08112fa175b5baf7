/*
 * vectors.c - runs every conformance vector in spec/vectors (see spec/vectors/README.md).
 *
 * For each vector: the tolerant result (and the strict result or error) must match the
 * expectation; the event log must be identical one-shot, at every chunk size 1..16 and at
 * every 2-way split, in both modes; the message must be identical at every chunk size; and
 * the streamed deltas, concatenated, must equal the message (a call cut off at end of input
 * is streamed but not part of the message).
 *
 * usage: vectors DIR [NAME-SUBSTRING]
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_openai.h"
#include "testutil.h"

static int failures, checks;

#define FAIL(name, ...)                                                                        \
    do {                                                                                       \
        failures++;                                                                            \
        fprintf(stderr, "FAIL %s: ", name);                                                    \
        fprintf(stderr, __VA_ARGS__);                                                          \
        fputc('\n', stderr);                                                                   \
    } while (0)

struct warnings {
    dsml_buf codes; /* space-separated */
};

static int rec_warning(void *ud, const dsml_diag *w)
{
    struct warnings *ws = ud;
    if (ws->codes.len) dsml_buf_putc(&ws->codes, ' ');
    dsml_buf_puts(&ws->codes, dsml_code_name(w->code));
    return 0;
}

static int opt_bool(json_t *o, const char *k)
{
    json_t *v = o ? json_object_get(o, k) : NULL;
    return v && json_is_true(v);
}

static int load_options(const char *name, json_t *vec, dsml_options *o)
{
    dsml_options_init(o);
    json_t *opts = json_object_get(vec, "options");
    json_t *d = opts ? json_object_get(opts, "dialect") : NULL;
    if (d && dsml_dialect_parse(json_string_value(d), &o->dialect)) {
        FAIL(name, "bad dialect");
        return -1;
    }
    if (opt_bool(opts, "thinking")) o->flags |= DSML_THINKING;
    if (opt_bool(opts, "lookalikes")) o->flags |= DSML_LOOKALIKES;
    json_t *mt = opts ? json_object_get(opts, "max_token") : NULL;
    if (mt) o->max_token = (size_t)json_integer_value(mt);
    json_t *mv = opts ? json_object_get(opts, "max_value") : NULL;
    if (mv) o->max_value = (uint64_t)json_integer_value(mv);
    return 0;
}

static void expect_str(const char *name, const char *what, json_t *exp, const char *got,
                       size_t glen, int got_null)
{
    checks++;
    if (json_is_null(exp) || !exp) {
        if (!got_null) FAIL(name, "%s: expected null, got \"%.*s\"", what, (int)glen, got);
        return;
    }
    const char *e = json_string_value(exp);
    size_t elen = json_string_length(exp);
    if (got_null) {
        FAIL(name, "%s: expected \"%s\", got null", what, e);
        return;
    }
    if (elen != glen || memcmp(e, got, glen))
        FAIL(name, "%s:\n  expected \"%.*s\"\n  got      \"%.*s\"", what, (int)elen, e, (int)glen,
             got);
}

/* Compare a message with an expectation object. */
static void check_message(const char *name, const char *mode, json_t *exp,
                          const dsml_message *m, const char *warnings)
{
    char what[64];
    snprintf(what, sizeof what, "%s content", mode);
    expect_str(name, what, json_object_get(exp, "content"), m->content.data, m->content.len,
               !(m->has_content && m->content.len));
    json_t *rc = json_object_get(exp, "reasoning_content");
    if (rc || m->has_reasoning) {
        snprintf(what, sizeof what, "%s reasoning_content", mode);
        expect_str(name, what, rc, m->reasoning.data, m->reasoning.len, !m->has_reasoning);
    }
    json_t *calls = json_object_get(exp, "tool_calls");
    size_t n = calls ? json_array_size(calls) : 0;
    checks++;
    if (n != m->ncalls) {
        FAIL(name, "%s: expected %zu tool calls, got %zu", mode, n, m->ncalls);
    } else {
        for (size_t i = 0; i < n; i++) {
            json_t *c = json_array_get(calls, i);
            snprintf(what, sizeof what, "%s call %zu name", mode, i);
            expect_str(name, what, json_object_get(c, "name"), m->calls[i].name.data,
                       m->calls[i].name.len, 0);
            snprintf(what, sizeof what, "%s call %zu arguments", mode, i);
            expect_str(name, what, json_object_get(c, "arguments"), m->calls[i].arguments.data,
                       m->calls[i].arguments.len, 0);
        }
    }
    json_t *fr = json_object_get(exp, "finish_reason");
    if (fr) {
        snprintf(what, sizeof what, "%s finish_reason", mode);
        expect_str(name, what, fr, m->finish, strlen(m->finish), 0);
    }
    /* warnings: exact list of codes in order */
    json_t *ws = json_object_get(exp, "warnings");
    dsml_buf want = {0};
    for (size_t i = 0; ws && i < json_array_size(ws); i++) {
        if (i) dsml_buf_putc(&want, ' ');
        dsml_buf_puts(&want, json_string_value(json_array_get(ws, i)));
    }
    checks++;
    if (strcmp(want.data ? want.data : "", warnings))
        FAIL(name, "%s warnings:\n  expected [%s]\n  got      [%s]", mode,
             want.data ? want.data : "", warnings);
    dsml_buf_free(&want);
}

/* Parse into a message with recorded warnings. */
static dsml_code parse_msg(const char *in, size_t len, const dsml_options *o, size_t chunk,
                           dsml_message *m, struct warnings *ws)
{
    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    oo.parse = *o;
    static uint64_t seed;
    seed = 7;
    oo.make_id = dsml_id_seeded;
    oo.id_ud = &seed;
    oo.on_warning = rec_warning;
    oo.warning_ud = ws;
    dsml_buf_clear(&ws->codes);
    return dsml_parse_message(in, len, &oo, chunk, m);
}

/* Every chunking gives the same event log. */
static void check_chunking(const char *name, const char *mode, const char *in, size_t len,
                           const dsml_options *o)
{
    tu_rec ref = {{0}, 0}, got = {{0}, 0};
    tu_parse_log(in, len, o, len ? len : 1, 0, &ref);
    for (size_t c = 1; c <= 16; c++) {
        tu_parse_log(in, len, o, c, 0, &got);
        checks++;
        if (strcmp(ref.log.data, got.log.data)) {
            FAIL(name, "%s: event log differs at chunk size %zu\n--- one-shot\n%s\n--- chunked\n%s",
                 mode, c, ref.log.data, got.log.data);
            goto out;
        }
    }
    for (size_t s = 0; s <= len; s++) {
        tu_parse_log(in, len, o, 0, s, &got);
        checks++;
        if (strcmp(ref.log.data, got.log.data)) {
            FAIL(name, "%s: event log differs at split %zu\n--- one-shot\n%s\n--- split\n%s", mode,
                 s, ref.log.data, got.log.data);
            goto out;
        }
    }
out:
    tu_rec_free(&ref);
    tu_rec_free(&got);
}

/* Streamed deltas, concatenated per field, equal the message. */
struct concat {
    dsml_buf content, reasoning;
    dsml_buf names[64], args[64];
    int complete[64];
    uint32_t n;
    int has_content;
};

static int concat_delta(void *ud, const dsml_delta *d)
{
    struct concat *c = ud;
    switch (d->kind) {
    case DSML_DELTA_REASONING: dsml_buf_add(&c->reasoning, d->text, d->len); break;
    case DSML_DELTA_CONTENT:
        c->has_content = 1;
        dsml_buf_add(&c->content, d->text, d->len);
        break;
    case DSML_DELTA_CALL:
        if (d->index != c->n || c->n >= 64) return -1;
        dsml_buf_add(&c->names[c->n], d->name, d->name_len);
        c->n++;
        break;
    case DSML_DELTA_ARGS:
        if (d->index + 1 != c->n) return -1;
        dsml_buf_add(&c->args[d->index], d->text, d->len);
        break;
    case DSML_DELTA_CALL_END: c->complete[d->index] = 1; break;
    case DSML_DELTA_FINISH:
    case DSML_DELTA_BLOCK: break;
    }
    return 0;
}

static void concat_free(struct concat *c)
{
    dsml_buf_free(&c->content);
    dsml_buf_free(&c->reasoning);
    for (int i = 0; i < 64; i++) dsml_buf_free(&c->names[i]), dsml_buf_free(&c->args[i]);
}

static int buf_eq(const dsml_buf *a, const dsml_buf *b)
{
    return a->len == b->len && (!a->len || !memcmp(a->data, b->data, a->len));
}

static void check_stream(const char *name, const char *in, size_t len, const dsml_options *o,
                         const dsml_message *m)
{
    for (size_t c = 1; c <= 17; c++) {
        size_t chunk = c == 17 ? (len ? len : 1) : c;
        struct concat cc;
        memset(&cc, 0, sizeof cc);
        dsml_oai_options oo;
        dsml_oai_options_init(&oo);
        oo.parse = *o;
        dsml_oai *s = dsml_oai_new(&oo, concat_delta, &cc);
        dsml_code code = DSML_OK;
        for (size_t i = 0; i < len && code == DSML_OK; i += chunk)
            code = dsml_oai_feed(s, in + i, len - i < chunk ? len - i : chunk);
        dsml_oai_finish(s);
        int incomplete = dsml_oai_result(s)->status == DSML_INCOMPLETE;
        dsml_oai_free(s);
        checks++;
        /* complete calls must match one to one; content too unless a cut-off element put its
           raw text there */
        uint32_t ncomplete = 0;
        for (uint32_t i = 0; i < cc.n; i++) ncomplete += cc.complete[i];
        int ok = ncomplete == m->ncalls && buf_eq(&cc.reasoning, &m->reasoning);
        if (!incomplete) ok = ok && buf_eq(&cc.content, &m->content);
        for (uint32_t i = 0, j = 0; ok && i < cc.n; i++) {
            if (!cc.complete[i]) continue;
            ok = buf_eq(&cc.names[i], &m->calls[j].name) &&
                 buf_eq(&cc.args[i], &m->calls[j].arguments);
            j++;
        }
        concat_free(&cc);
        if (!ok) {
            FAIL(name, "streamed deltas differ from the message at chunk size %zu", chunk);
            return;
        }
    }
}

static void run_vector(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    json_error_t jerr;
    json_t *vec = json_load_file(path, 0, &jerr);
    if (!vec) {
        FAIL(file, "cannot load: %s (line %d)", jerr.text, jerr.line);
        return;
    }
    char kind = file[0];
    json_t *input = json_object_get(vec, "input");
    json_t *expect = json_object_get(vec, "expect");
    json_t *strict = json_object_get(vec, "strict");
    if (!json_is_string(input) || !json_is_object(expect) || (kind != 'y' && !strict) ||
        (kind == 'y' && strict) || (kind != 'y' && kind != 'n' && kind != 'i')) {
        FAIL(file, "malformed vector (y_: input+expect; n_/i_: input+expect+strict)");
        json_decref(vec);
        return;
    }
    const char *in = json_string_value(input);
    size_t len = json_string_length(input);
    dsml_options o;
    if (load_options(file, vec, &o)) {
        json_decref(vec);
        return;
    }
    struct warnings ws = {{0}};
    dsml_message m, mc;

    /* tolerant */
    dsml_code c = parse_msg(in, len, &o, 0, &m, &ws);
    checks++;
    if (c != DSML_OK) FAIL(file, "tolerant parse failed: %s", dsml_code_name(c));
    else check_message(file, "tolerant", expect, &m, ws.codes.data ? ws.codes.data : "");
    check_chunking(file, "tolerant", in, len, &o);
    dsml_buf ref = {0}, got = {0};
    dsml_message_json(&m, &ref);
    for (size_t ch = 1; ch <= 16; ch++) {
        parse_msg(in, len, &o, ch, &mc, &ws);
        dsml_buf_clear(&got);
        dsml_message_json(&mc, &got);
        dsml_message_free(&mc);
        checks++;
        if (strcmp(ref.data, got.data)) {
            FAIL(file, "message differs at chunk size %zu:\n  %s\n  %s", ch, ref.data, got.data);
            break;
        }
    }
    check_stream(file, in, len, &o, &m);
    dsml_message_free(&m);

    /* strict */
    o.flags |= DSML_STRICT;
    c = parse_msg(in, len, &o, 0, &m, &ws);
    json_t *serr = strict ? json_object_get(strict, "error") : NULL;
    json_t *sexp = strict ? json_object_get(strict, "expect") : expect;
    checks++;
    if (serr) {
        const char *want = json_string_value(serr);
        if (c == DSML_OK) FAIL(file, "strict: expected error %s, parse succeeded", want);
        else if (strcmp(dsml_code_name(m.result.error.code), want))
            FAIL(file, "strict: expected error %s, got %s at %llu", want,
                 dsml_code_name(m.result.error.code), (unsigned long long)m.result.error.offset);
    } else if (c != DSML_OK) {
        FAIL(file, "strict parse failed: %s at offset %llu", dsml_code_name(c),
             (unsigned long long)m.result.error.offset);
    } else {
        check_message(file, "strict", sexp, &m, ws.codes.data ? ws.codes.data : "");
    }
    check_chunking(file, "strict", in, len, &o);
    dsml_message_free(&m);

    dsml_buf_free(&ref);
    dsml_buf_free(&got);
    dsml_buf_free(&ws.codes);
    json_decref(vec);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: vectors DIR [NAME-SUBSTRING]\n");
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 2;
    }
    char *names[4096];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".json") &&
            (argc < 3 || strstr(e->d_name, argv[2])))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    int before = 0;
    for (size_t i = 0; i < n; i++) {
        before = failures;
        run_vector(argv[1], names[i]);
        if (failures != before && getenv("VECTORS_VERBOSE")) fprintf(stderr, "  (%s)\n", names[i]);
        free(names[i]);
    }
    printf("vectors: %zu files, %d checks, %d failures\n", n, checks, failures);
    return failures ? 1 : 0;
}
