/*
 * parser_test.c - contract tests of the streaming parser (dsml.h): sticky errors, reset,
 * finish twice, empty feeds, callbacks that stop, allocation failures, reads past the input,
 * memory bound, limits, positions, end_reasoning. Conformance cases live in spec/vectors.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dsml.h"
#include "testutil.h"

#define DS "\xEF\xBD\x9C" "DSML" "\xEF\xBD\x9C"
#define CALL "\n\n<" DS "tool_calls>\n<" DS "invoke name=\"f\">\n<" DS "parameter name=\"a\" string=\"true\">x</" DS "parameter>\n</" DS "invoke>\n</" DS "tool_calls>"

static dsml_parser *strict_parser(tu_rec *rec)
{
    dsml_options o;
    dsml_options_init(&o);
    o.flags = DSML_STRICT;
    dsml_callbacks cb = tu_callbacks();
    return dsml_parser_new(&o, &cb, rec);
}

Test(parser, error_is_sticky_until_reset)
{
    tu_rec rec = {{0}, 0};
    dsml_parser *p = strict_parser(&rec);
    cr_assert_eq(dsml_feed(p, "Hi<" DS "tool_calls>", 2 + 22), DSML_E_NO_SEPARATOR);
    size_t logged = rec.log.len;
    cr_assert_eq(dsml_feed(p, "more text", 9), DSML_E_NO_SEPARATOR);
    cr_assert_eq(dsml_finish(p), DSML_E_NO_SEPARATOR);
    cr_assert_eq(rec.log.len, logged, "nothing fires after an error");
    cr_assert_eq(dsml_result_get(p)->status, DSML_FAILED);
    cr_assert_eq(dsml_result_get(p)->error.offset, 2);
    dsml_reset(p);
    cr_assert_eq(dsml_feed(p, "fine", 4), DSML_OK);
    cr_assert_eq(dsml_finish(p), DSML_OK);
    cr_assert_eq(dsml_result_get(p)->status, DSML_DONE);
    dsml_parser_free(p);
    tu_rec_free(&rec);
}

Test(parser, finish_twice_and_feed_after_finish)
{
    dsml_parser *p = dsml_parser_new(NULL, NULL, NULL);
    cr_assert_eq(dsml_feed(p, "abc", 3), DSML_OK);
    cr_assert_eq(dsml_finish(p), DSML_OK);
    cr_assert_eq(dsml_finish(p), DSML_OK);
    cr_assert_eq(dsml_feed(p, "x", 1), DSML_E_FINISHED);
    cr_assert_eq(dsml_feed(p, "x", 1), DSML_E_FINISHED, "still sticky");
    dsml_parser_free(p);
}

Test(parser, zero_length_feeds_change_nothing)
{
    tu_rec a = {{0}, 0}, b = {{0}, 0};
    dsml_callbacks cb = tu_callbacks();
    dsml_parser *p = dsml_parser_new(NULL, &cb, &a);
    cr_assert_eq(dsml_feed(p, NULL, 0), DSML_OK);
    const char *in = "Hi" CALL;
    for (size_t i = 0; i < strlen(in); i++) {
        cr_assert_eq(dsml_feed(p, in + i, 1), DSML_OK);
        cr_assert_eq(dsml_feed(p, in + i, 0), DSML_OK);
    }
    dsml_finish(p);
    dsml_options o;
    dsml_options_init(&o);
    tu_parse_log(in, strlen(in), &o, strlen(in), 0, &b);
    /* the recorder of p has no final line; compare the event part */
    cr_assert(!strncmp(a.log.data, b.log.data, a.log.len));
    dsml_parser_free(p);
    dsml_parser_free(NULL);
    tu_rec_free(&a);
    tu_rec_free(&b);
}

static int stop_at_invoke(void *ud, const char *name, size_t len)
{
    (void)ud, (void)name, (void)len;
    return 1;
}

Test(parser, callback_can_stop_the_parse)
{
    dsml_callbacks cb = {.on_invoke = stop_at_invoke};
    dsml_parser *p = dsml_parser_new(NULL, &cb, NULL);
    cr_assert_eq(dsml_feed(p, "Hi" CALL, strlen("Hi" CALL)), DSML_E_CALLBACK);
    cr_assert_eq(dsml_finish(p), DSML_E_CALLBACK);
    dsml_parser_free(p);
}

static int fail_after;
static void *f_malloc(void *ud, size_t n) { (void)ud; return fail_after-- > 0 ? malloc(n) : NULL; }
static void *f_realloc(void *ud, void *q, size_t n)
{
    (void)ud;
    return fail_after-- > 0 ? realloc(q, n) : NULL;
}
static void f_free(void *ud, void *q) { (void)ud; free(q); }

Test(parser, allocation_failures_never_crash)
{
    static const dsml_allocator al = {f_malloc, f_realloc, f_free, NULL};
    const char *in = "Hi\n\n<" DS "tool_calls>\n<" DS "invoke name=\"f\">\n<" DS
                     "parameter name=\"a\" string=\"true\">x</" DS "parameter>\n<" DS
                     "parameter name=\"b\" string=\"true\">y</" DS "parameter>\n</" DS
                     "invoke>\n</" DS "tool_calls>";
    int succeeded = 0;
    for (int n = 0; n < 8; n++) {
        fail_after = n;
        dsml_options o;
        dsml_options_init(&o);
        o.alloc = &al;
        dsml_parser *p = dsml_parser_new(&o, NULL, NULL);
        if (!p) continue;
        dsml_code c = dsml_feed(p, in, strlen(in));
        if (c == DSML_OK) c = dsml_finish(p);
        cr_assert(c == DSML_OK || c == DSML_E_NOMEM, "n=%d: %s", n, dsml_code_name(c));
        if (c == DSML_OK) {
            succeeded = 1;
            cr_assert_eq(dsml_result_get(p)->calls, 1);
        }
        dsml_parser_free(p);
    }
    cr_assert(succeeded, "with enough allocations the parse succeeds");
}

/* Input placed right before an inaccessible page: any read past the end faults. */
Test(parser, never_reads_past_the_input)
{
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(m, MAP_FAILED);
    cr_assert_eq(mprotect(m + pg, (size_t)pg, PROT_NONE), 0);
    const char *inputs[] = {"Hi" CALL, "abc<", "<" DS "tool", "x</" DS "par", "\xE6\x97", "\n\n<"};
    for (size_t k = 0; k < sizeof inputs / sizeof *inputs; k++) {
        size_t len = strlen(inputs[k]);
        char *at = m + pg - len;
        memcpy(at, inputs[k], len);
        for (size_t chunk = 1; chunk <= len; chunk++) {
            dsml_parser *p = dsml_parser_new(NULL, NULL, NULL);
            for (size_t i = 0; i < len; i += chunk)
                dsml_feed(p, at + i, len - i < chunk ? len - i : chunk);
            dsml_finish(p);
            dsml_parser_free(p);
        }
    }
    munmap(m, (size_t)pg * 2);
}

Test(parser, state_is_at_most_4k_plus_max_token)
{
    size_t sizes[] = {64, 4096, 65536};
    for (size_t i = 0; i < 3; i++) {
        dsml_options o;
        dsml_options_init(&o);
        o.max_token = sizes[i];
        dsml_parser *p = dsml_parser_new(&o, NULL, NULL);
        cr_assert_leq(dsml_parser_memory(p), 4096 + sizes[i], "max_token %zu: %zu bytes", sizes[i],
                      dsml_parser_memory(p));
        dsml_parser_free(p);
    }
}

Test(parser, rejects_bad_options)
{
    dsml_options o;
    dsml_options_init(&o);
    o.max_token = 10;
    cr_assert_null(dsml_parser_new(&o, NULL, NULL));
    dsml_options_init(&o);
    o.dialect = (dsml_dialect)9;
    cr_assert_null(dsml_parser_new(&o, NULL, NULL));
}

Test(parser, value_limit_has_its_own_code)
{
    dsml_options o;
    dsml_options_init(&o);
    o.max_value = 4;
    dsml_parser *p = dsml_parser_new(&o, NULL, NULL);
    const char *in = "\n\n<" DS "tool_calls>\n<" DS "invoke name=\"f\">\n<" DS
                     "parameter name=\"a\" string=\"true\">12345</" DS "parameter>";
    dsml_code c = dsml_feed(p, in, strlen(in));
    if (c == DSML_OK) c = dsml_finish(p);
    cr_assert_eq(c, DSML_E_VALUE_TOO_LONG);
    dsml_parser_free(p);
}

Test(parser, param_limit_has_its_own_code)
{
    dsml_options o;
    dsml_options_init(&o);
    o.max_params = 1;
    dsml_parser *p = dsml_parser_new(&o, NULL, NULL);
    const char *in = "\n\n<" DS "tool_calls>\n<" DS "invoke name=\"f\">\n<" DS
                     "parameter name=\"a\" string=\"true\">1</" DS "parameter>\n<" DS
                     "parameter name=\"b\" string=\"true\">2</" DS "parameter>\n";
    cr_assert_eq(dsml_feed(p, in, strlen(in)), DSML_E_TOO_MANY_PARAMS);
    dsml_parser_free(p);
}

Test(parser, errors_carry_offset_and_line_col)
{
    dsml_options o;
    dsml_options_init(&o);
    o.flags = DSML_STRICT | DSML_LINES;
    dsml_parser *p = dsml_parser_new(&o, NULL, NULL);
    const char *in = "line one\nline two\n\n<" DS "tool_calls>\n  <" DS "invoke name=\"f\">";
    dsml_feed(p, in, 5);
    dsml_feed(p, in + 5, strlen(in) - 5);
    const dsml_result *r = dsml_result_get(p);
    cr_assert_eq(r->error.code, DSML_E_WHITESPACE);
    cr_assert_eq(r->error.offset, (uint64_t)(strstr(in, "  <") + 2 - in));
    cr_assert_eq(r->error.line, 5);
    cr_assert_eq(r->error.col, 3);
    uint64_t line, col;
    dsml_text_line_col(in, strlen(in), r->error.offset, &line, &col);
    cr_assert_eq(line, 5);
    cr_assert_eq(col, 3);
    dsml_parser_free(p);
}

Test(parser, end_reasoning_flushes_held_bytes_as_reasoning)
{
    tu_rec rec = {{0}, 0};
    dsml_options o;
    dsml_options_init(&o);
    o.flags = DSML_THINKING;
    dsml_callbacks cb = tu_callbacks();
    dsml_parser *p = dsml_parser_new(&o, &cb, &rec);
    dsml_feed(p, "abc</thi", 8);
    cr_assert_eq(dsml_end_reasoning(p), DSML_OK);
    dsml_feed(p, "nk> answer", 10);
    dsml_finish(p);
    cr_assert_str_eq(rec.log.data, "R:abc</thi\nr\nC:nk> answer");
    cr_assert(dsml_result_get(p)->reasoning_closed);
    dsml_parser_free(p);
    tu_rec_free(&rec);
}

Test(parser, codes_have_names_and_messages)
{
    cr_assert_str_eq(dsml_code_name(DSML_E_NO_SEPARATOR), "E_NO_SEPARATOR");
    cr_assert_str_eq(dsml_code_name(DSML_W_LOOKALIKE), "W_LOOKALIKE");
    cr_assert_str_eq(dsml_code_name((dsml_code)9999), "?");
    cr_assert(dsml_code_is_warning(DSML_W_NO_SEPARATOR));
    cr_assert(!dsml_code_is_warning(DSML_E_TAG));
    cr_assert_str_neq(dsml_code_message(DSML_E_TAG), "");
    dsml_dialect d;
    cr_assert_eq(dsml_dialect_parse("v3.2", &d), 0);
    cr_assert_eq(d, DSML_V32);
    cr_assert_eq(dsml_dialect_parse("v9", &d), -1);
    cr_assert_str_eq(dsml_dialect_name(DSML_AUTO), "auto");
}

Test(parser, incomplete_reports_where_the_unfinished_element_starts)
{
    const char *in = "Hi" CALL;
    size_t cut = (size_t)(strstr(in, "x</") - in); /* inside the value */
    dsml_parser *p = dsml_parser_new(NULL, NULL, NULL);
    dsml_feed(p, in, cut);
    cr_assert_eq(dsml_finish(p), DSML_OK);
    const dsml_result *r = dsml_result_get(p);
    cr_assert_eq(r->status, DSML_INCOMPLETE);
    cr_assert_eq(r->incomplete_at, 2, "the block's separator starts at offset 2");
    cr_assert_eq(r->calls, 0);
    dsml_parser_free(p);
}

Test(parser, every_split_of_a_long_mixed_input_gives_the_same_log)
{
    dsml_buf in = {0};
    for (int i = 0; i < 40; i++) {
        dsml_buf_printf(&in, "Para %d: a < b && c; \xE6\x97\xA5\xE6\x9C\xAC <\xEF\xBD\x9C not \n", i);
    }
    dsml_buf_puts(&in, "\n\n<" DS "tool_calls>\n<" DS "invoke name=\"w\">\n<" DS
                       "parameter name=\"c\" string=\"true\">");
    for (int i = 0; i < 300; i++) dsml_buf_puts(&in, "if (x </y) { s = \"</\"; } // \xF0\x9F\x9A\x80\n");
    dsml_buf_puts(&in, "</" DS "parameter>\n<" DS "parameter name=\"n\" string=\"false\">[1, {\"a\": 2}]</" DS
                       "parameter>\n</" DS "invoke>\n</" DS "tool_calls>");
    dsml_options o;
    dsml_options_init(&o);
    tu_rec ref = {{0}, 0}, got = {{0}, 0};
    tu_parse_log(in.data, in.len, &o, in.len, 0, &ref);
    cr_assert(strstr(ref.log.data, "=0:OK@0:1:0"), "%s", ref.log.data);
    size_t sizes[] = {1, 2, 3, 5, 7, 13, 64, 1000, 4095, 4096, 4097};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        tu_parse_log(in.data, in.len, &o, sizes[i], 0, &got);
        cr_assert_str_eq(got.log.data, ref.log.data, "chunk %zu", sizes[i]);
    }
    for (size_t s = 0; s < in.len; s += 7) {
        tu_parse_log(in.data, in.len, &o, 0, s, &got);
        cr_assert_str_eq(got.log.data, ref.log.data, "split %zu", s);
    }
    tu_rec_free(&ref);
    tu_rec_free(&got);
    dsml_buf_free(&in);
}

struct offs {
    dsml_parser *p;
    uint64_t invoke, param, value;
};

static int off_invoke(void *ud, const char *name, size_t len)
{
    struct offs *o = ud;
    (void)name, (void)len;
    o->invoke = dsml_callback_offset(o->p, NULL);
    return 0;
}
static int off_param(void *ud, const char *name, size_t len, unsigned f)
{
    struct offs *o = ud;
    (void)name, (void)len, (void)f;
    o->param = dsml_callback_offset(o->p, NULL);
    return 0;
}
static int off_value(void *ud, const char *at, size_t len)
{
    struct offs *o = ud;
    (void)len;
    if (o->value == (uint64_t)-1) o->value = dsml_callback_offset(o->p, at);
    return 0;
}

Test(parser, callbacks_can_ask_for_the_offset_of_what_they_report)
{
    const char *in = "Hi" CALL;
    uint64_t want_inv = (uint64_t)(strstr(in, "<" DS "invoke") - in);
    uint64_t want_par = (uint64_t)(strstr(in, "<" DS "parameter") - in);
    uint64_t want_val = (uint64_t)(strstr(in, "x</") - in);
    for (size_t chunk = 1; chunk <= strlen(in); chunk += 5) {
        struct offs o = {NULL, 0, 0, (uint64_t)-1};
        dsml_callbacks cb = {.on_invoke = off_invoke, .on_param = off_param, .on_value = off_value};
        o.p = dsml_parser_new(NULL, &cb, &o);
        for (size_t i = 0; i < strlen(in); i += chunk)
            dsml_feed(o.p, in + i, strlen(in) - i < chunk ? strlen(in) - i : chunk);
        dsml_finish(o.p);
        cr_assert_eq(o.invoke, want_inv, "chunk %zu", chunk);
        cr_assert_eq(o.param, want_par, "chunk %zu", chunk);
        cr_assert_eq(o.value, want_val, "chunk %zu", chunk);
        dsml_parser_free(o.p);
    }
}
