/*
 * openai_test.c - the OpenAI side (dsml_openai.h): message JSON shape, finish reasons, ids,
 * the SSE chunk writer's exact output.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dsml_openai.h"

#define DS "\xEF\xBD\x9C" "DSML" "\xEF\xBD\x9C"
#define EOS "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"
#define BLOCK(inv) "\n\n<" DS "tool_calls>\n" inv "\n</" DS "tool_calls>"
#define INV_A "<" DS "invoke name=\"f\">\n<" DS "parameter name=\"a\" string=\"true\">x</" DS "parameter>\n</" DS "invoke>"

static char *message_json(const char *in, unsigned flags, const char **finish)
{
    dsml_oai_options o;
    dsml_oai_options_init(&o);
    o.parse.flags = flags;
    uint64_t seed = 1;
    o.make_id = dsml_id_seeded;
    o.id_ud = &seed;
    dsml_message m;
    dsml_parse_message(in, strlen(in), &o, 0, &m);
    dsml_buf out = {0};
    dsml_message_json(&m, &out);
    *finish = m.finish;
    dsml_message_free(&m);
    return dsml_buf_take(&out, NULL);
}

Test(openai, chat_message_has_null_content_and_no_reasoning_key)
{
    const char *finish;
    char *j = message_json(BLOCK(INV_A) EOS, 0, &finish);
    cr_assert(!strncmp(j, "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_", 59), "%s", j);
    cr_assert(strstr(j, "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":\\\"x\\\"}\"}}]}"), "%s", j);
    cr_assert_null(strstr(j, "reasoning_content"));
    cr_assert_str_eq(finish, "tool_calls");
    free(j);
}

Test(openai, thinking_message_always_has_reasoning_content)
{
    const char *finish;
    char *j = message_json("</think>Hello" EOS, DSML_THINKING, &finish);
    cr_assert_str_eq(j, "{\"role\":\"assistant\",\"content\":\"Hello\",\"reasoning_content\":\"\"}");
    cr_assert_str_eq(finish, "stop");
    free(j);
}

Test(openai, cut_off_call_finishes_with_length)
{
    const char *finish;
    char *j = message_json("Hi" BLOCK(INV_A) "\n<" DS "invoke name=\"g\">", 0, &finish);
    cr_assert_str_eq(finish, "tool_calls", "the block closed: complete");
    free(j);
    j = message_json("Hi\n\n<" DS "tool_calls>\n<" DS "invoke name=\"g\">\n<" DS "parameter name=\"p\" string=\"true\">abc", 0, &finish);
    cr_assert_str_eq(finish, "length");
    cr_assert_null(strstr(j, "tool_calls\":["), "no call: %s", j);
    cr_assert(strstr(j, "abc"), "the text is kept: %s", j);
    free(j);
}

Test(openai, seeded_ids_are_deterministic_and_random_ids_differ)
{
    uint64_t s1 = 5, s2 = 5;
    char a[DSML_ID_MAX], b[DSML_ID_MAX], c[DSML_ID_MAX], d[DSML_ID_MAX];
    dsml_id_seeded(&s1, 0, a);
    dsml_id_seeded(&s2, 0, b);
    cr_assert_str_eq(a, b);
    cr_assert_eq(strlen(a), 5 + 24);
    cr_assert(!strncmp(a, "call_", 5));
    dsml_id_random(NULL, 0, c);
    dsml_id_random(NULL, 1, d);
    cr_assert_str_neq(c, d);
    cr_assert_eq(strlen(c), 5 + 24);
}

struct sse {
    dsml_buf out;
};

static int sse_write(void *ud, const char *s, size_t n) { return dsml_buf_add(&((struct sse *)ud)->out, s, n); }

static char *stream(const char *in, size_t chunk, int usage)
{
    struct sse s = {{0}};
    dsml_sink sink = {sse_write, &s};
    dsml_chunk_options co = {.id = "chatcmpl-1", .model = "m", .created = 7, .include_usage = usage};
    dsml_chunker *ch = dsml_chunker_new(&co, sink);
    dsml_oai_options o;
    dsml_oai_options_init(&o);
    uint64_t seed = 1;
    o.make_id = dsml_id_seeded;
    o.id_ud = &seed;
    dsml_oai *oai = dsml_oai_new(&o, dsml_chunker_on_delta, ch);
    dsml_chunker_start(ch);
    size_t len = strlen(in);
    for (size_t i = 0; i < len; i += chunk) dsml_oai_feed(oai, in + i, len - i < chunk ? len - i : chunk);
    dsml_chunker_usage(ch, 3, 4);
    dsml_oai_finish(oai);
    dsml_oai_free(oai);
    dsml_chunker_free(ch);
    return dsml_buf_take(&s.out, NULL);
}

#define HEAD "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":"
#define TAIL ",\"logprobs\":null,\"finish_reason\":null}]}\n\n"

Test(openai, chunker_writes_the_canonical_sse_sequence)
{
    char *s = stream("Hi" BLOCK(INV_A) EOS, 1000, 0);
    uint64_t seed = 1;
    char id[DSML_ID_MAX];
    dsml_id_seeded(&seed, 0, id);
    dsml_buf want = {0};
    dsml_buf_puts(&want, HEAD "{\"role\":\"assistant\",\"content\":\"\"}" TAIL);
    dsml_buf_puts(&want, HEAD "{\"content\":\"Hi\"}" TAIL);
    dsml_buf_printf(&want, HEAD "{\"tool_calls\":[{\"index\":0,\"id\":\"%s\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}" TAIL, id);
    dsml_buf_puts(&want, HEAD "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":\\\"\"}}]}" TAIL);
    dsml_buf_puts(&want, HEAD "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"x\"}}]}" TAIL);
    dsml_buf_puts(&want, HEAD "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"\"}}]}" TAIL);
    dsml_buf_puts(&want, HEAD "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"}\"}}]}" TAIL);
    dsml_buf_puts(&want, HEAD "{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}]}\n\n");
    dsml_buf_puts(&want, "data: [DONE]\n\n");
    cr_assert_str_eq(s, want.data);
    dsml_buf_free(&want);
    free(s);
}

Test(openai, chunker_adds_usage_chunk_and_null_usage_when_asked)
{
    char *s = stream("Hello", 2, 1);
    cr_assert(strstr(s, "\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}\n\ndata: [DONE]\n\n"), "%s", s);
    cr_assert(strstr(s, "\"finish_reason\":null}],\"usage\":null}"), "%s", s);
    /* content never splits a character or leaks half a marker: here simply "He","ll","o" */
    cr_assert(strstr(s, "{\"content\":\"He\"}"), "%s", s);
    free(s);
}

Test(openai, chunker_error_event)
{
    struct sse s = {{0}};
    dsml_sink sink = {sse_write, &s};
    dsml_chunker *ch = dsml_chunker_new(NULL, sink);
    dsml_chunker_error(ch, "upstream \"closed\"", "upstream_error", "upstream_closed");
    cr_assert_str_eq(s.out.data, "data: {\"error\":{\"message\":\"upstream \\\"closed\\\"\",\"type\":\"upstream_error\",\"code\":\"upstream_closed\"}}\n\n");
    dsml_chunker_free(ch);
    dsml_buf_free(&s.out);
}

Test(openai, streamed_arguments_never_split_a_character)
{
    const char *in = "\n\n<" DS "tool_calls>\n<" DS "invoke name=\"f\">\n<" DS
                     "parameter name=\"a\" string=\"true\">\xE6\x97\xA5\xE6\x9C\xAC\xF0\x9F\x9A\x80</" DS
                     "parameter>\n</" DS "invoke>\n</" DS "tool_calls>";
    for (size_t chunk = 1; chunk <= 5; chunk++) {
        char *s = stream(in, chunk, 0);
        cr_assert_null(strstr(s, "\xEF\xBF\xBD"), "no replacement character at chunk %zu", chunk);
        free(s);
    }
}
