/*
 * unit_sse.c - the SSE reader the proxy reads its upstream with (libdsml's dsml_sse.h),
 * against the WHATWG event-stream rules, every input fed one-shot, at every 2-way split
 * and one byte at a time.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_sse.h"

typedef struct log {
    char text[8192];
    size_t len;
    int stop_after; /* stop (return 1) at this event number, 0 = never */
    int n;
} log;

static int on_event(void *ud, const dsml_sse_event *e)
{
    log *l = ud;
    l->n++;
    l->len += (size_t)snprintf(l->text + l->len, sizeof l->text - l->len, "[%s|%s|%ld|", e->type, e->id,
                               e->retry_ms);
    memcpy(l->text + l->len, e->data, e->data_len);
    l->len += e->data_len;
    l->len += (size_t)snprintf(l->text + l->len, sizeof l->text - l->len, "]");
    return l->stop_after && l->n == l->stop_after;
}

/* Parse `in` with the given split points (NULL = one shot; step>0 = chunks of step). */
static dsml_sse_status run(const char *in, size_t len, size_t split, size_t step, log *l)
{
    dsml_sse s;
    memset(l, 0, sizeof *l);
    dsml_sse_init(&s, 0, 0, on_event, l);
    dsml_sse_status st = DSML_SSE_OK;
    if (step) {
        for (size_t i = 0; i < len && st == DSML_SSE_OK; i += step)
            st = dsml_sse_feed(&s, in + i, len - i < step ? len - i : step);
    } else {
        st = dsml_sse_feed(&s, in, split);
        if (st == DSML_SSE_OK)
            st = dsml_sse_feed(&s, in + split, len - split);
    }
    if (st == DSML_SSE_OK)
        st = dsml_sse_finish(&s);
    dsml_sse_free(&s);
    return st;
}

/* The expected log must come out for every chunking. */
static void expect(const char *in, const char *want, dsml_sse_status want_st)
{
    size_t len = strlen(in);
    log l;
    for (size_t split = 0; split <= len; split++) {
        dsml_sse_status st = run(in, len, split, 0, &l);
        cr_assert_eq(st, want_st, "split %zu: status %d", split, st);
        cr_assert_str_eq(l.text, want, "split %zu", split);
    }
    for (size_t step = 1; step <= 3; step++) {
        dsml_sse_status st = run(in, len, 0, step, &l);
        cr_assert_eq(st, want_st, "step %zu", step);
        cr_assert_str_eq(l.text, want, "step %zu", step);
    }
}

Test(sse, data_line_dispatches_on_blank_line)
{
    expect("data: {\"a\":1}\n\n", "[message||-1|{\"a\":1}]", DSML_SSE_OK);
}

Test(sse, crlf_lf_and_cr_line_endings_are_equivalent)
{
    expect("data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d\r\n\n", "[message||-1|a][message||-1|b][message||-1|c][message||-1|d]",
           DSML_SSE_OK);
}

Test(sse, crlf_split_between_cr_and_lf_counts_once)
{
    /* "\r" then "\n" in separate feeds must not produce an extra blank line that would
     * dispatch an event early */
    expect("data: x\r\ndata: y\r\n\r\n", "[message||-1|x\ny]", DSML_SSE_OK);
}

Test(sse, comments_are_ignored)
{
    expect(": keep-alive\n:\ndata: a\n: inside\ndata: b\n\n", "[message||-1|a\nb]", DSML_SSE_OK);
}

Test(sse, multiple_data_lines_join_with_newline)
{
    expect("data: one\ndata:two\ndata:  three\n\n", "[message||-1|one\ntwo\n three]", DSML_SSE_OK);
}

Test(sse, only_one_space_after_colon_is_removed)
{
    expect("data:   x\n\n", "[message||-1|  x]", DSML_SSE_OK);
}

Test(sse, field_without_colon_is_a_field_with_empty_value)
{
    expect("data\n\ndata\ndata\n\n", "[message||-1|][message||-1|\n]", DSML_SSE_OK);
}

Test(sse, event_id_and_retry_fields)
{
    expect("event: delta\nid: 7\nretry: 1500\ndata: x\n\ndata: y\n\n",
           "[delta|7|1500|x][message|7|1500|y]", DSML_SSE_OK);
}

Test(sse, retry_with_non_digits_is_ignored)
{
    expect("retry: 12a\ndata: x\n\n", "[message||-1|x]", DSML_SSE_OK);
}

Test(sse, id_with_nul_is_ignored)
{
    const char in[] = "id: a\0b\ndata: x\n\n";
    log l;
    cr_assert_eq(run(in, sizeof in - 1, 0, 1, &l), DSML_SSE_OK);
    cr_assert_str_eq(l.text, "[message||-1|x]");
}

Test(sse, unknown_fields_are_ignored)
{
    expect("foo: bar\ndata: x\n\n", "[message||-1|x]", DSML_SSE_OK);
}

Test(sse, blank_line_without_data_resets_event_type)
{
    expect("event: a\n\ndata: x\n\n", "[message||-1|x]", DSML_SSE_OK);
}

Test(sse, leading_bom_is_skipped_once)
{
    expect("\xEF\xBB\xBF" "data: x\n\n\xEF\xBB\xBF" "data: y\n\n", "[message||-1|x]", DSML_SSE_OK);
}

Test(sse, utf8_data_survives_every_split)
{
    expect("data: {\"content\":\"<\xEF\xBD\x9C" "DSML\xEF\xBD\x9C" "tool_calls>\"}\n\n",
           "[message||-1|{\"content\":\"<\xEF\xBD\x9C" "DSML\xEF\xBD\x9C" "tool_calls>\"}]", DSML_SSE_OK);
}

Test(sse, openai_stream_with_done_marker)
{
    expect("data: {\"x\":1}\n\ndata: {\"x\":2}\n\ndata: [DONE]\n\n",
           "[message||-1|{\"x\":1}][message||-1|{\"x\":2}][message||-1|[DONE]]", DSML_SSE_OK);
}

Test(sse, stream_ending_inside_an_event_is_truncated)
{
    expect("data: {\"x\":1}\n\ndata: {\"x\":", "[message||-1|{\"x\":1}]", DSML_SSE_TRUNCATED);
    expect("data: a\n", "", DSML_SSE_TRUNCATED);
}

Test(sse, trailing_comment_without_newline_is_not_truncation)
{
    expect("data: a\n\n: bye", "[message||-1|a]", DSML_SSE_OK);
}

Test(sse, line_over_the_limit_is_an_error_with_offset)
{
    dsml_sse s;
    log l;
    memset(&l, 0, sizeof l);
    dsml_sse_init(&s, 16, 0, on_event, &l);
    cr_assert_eq(dsml_sse_feed(&s, "data: ok\n\n", 10), DSML_SSE_OK);
    cr_assert_eq(dsml_sse_feed(&s, "data: 0123456789", 16), DSML_SSE_OK);
    cr_assert_eq(dsml_sse_feed(&s, "abc", 3), DSML_SSE_LINE_TOO_LONG);
    cr_assert_eq(s.error_at, 10);
    cr_assert_eq(dsml_sse_feed(&s, "\n\n", 2), DSML_SSE_LINE_TOO_LONG, "sticky");
    dsml_sse_free(&s);
}

Test(sse, event_over_the_limit_is_an_error)
{
    dsml_sse s;
    log l;
    memset(&l, 0, sizeof l);
    dsml_sse_init(&s, 0, 8, on_event, &l);
    cr_assert_eq(dsml_sse_feed(&s, "data: 1234\ndata: 5678\n", 22), DSML_SSE_EVENT_TOO_LONG);
    dsml_sse_free(&s);
}

Test(sse, callback_can_stop_the_reader)
{
    dsml_sse s;
    log l;
    memset(&l, 0, sizeof l);
    l.stop_after = 1;
    dsml_sse_init(&s, 0, 0, on_event, &l);
    cr_assert_eq(dsml_sse_feed(&s, "data: a\n\ndata: b\n\n", 18), DSML_SSE_STOPPED);
    cr_assert_eq(l.n, 1);
    dsml_sse_free(&s);
}
