/*
 * dsml_diff.h - the C interface a DSML parser implements to be compared with libdsml by
 * dsml-diff and the fuzz_diff harness (fuzz/README.md, "Differential mode").
 *
 * Build your parser as a shared library exporting dsml_diff_parse (and optionally
 * dsml_diff_free), then:
 *
 *   dsml-diff --lib ./libyours.so [--dialect v4] [--thinking] [--strict] CORPUS...
 *   DSML_DIFF_LIB=./libyours.so fuzz_diff -max_total_time=600 CORPUS
 *
 * The functions are called from one thread, once per input, any number of times.
 */
#ifndef DSML_DIFF_H
#define DSML_DIFF_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parse one whole completion text[0..len) (the model's output after the prompt; bytes, not
 * necessarily valid UTF-8, no NUL terminator).
 *
 * options: NUL-terminated, space-separated words, always all three:
 *   dialect=v4|v3.2|v3.1|auto   the markup to expect (auto: the first opener decides)
 *   thinking=0|1                1: the text starts inside reasoning (prompt ended in <think>)
 *   strict=0|1                  1: reject anything the official DeepSeek parser rejects
 *
 * On success return 0 and set *out to a malloc'd, NUL-terminated OpenAI assistant message:
 *   {"role":"assistant","content":"…"|null,"reasoning_content":"…",
 *    "tool_calls":[{"id":"…","type":"function","function":{"name":"…","arguments":"…"}}]}
 * (reasoning_content in thinking mode; tool_calls may be absent when there are none; ids and
 * "type" are not compared). Return 1 when the input is rejected (strict mode: not a valid
 * completion); *out is then ignored. Any other return value is reported as a failure of the
 * parser under test. */
int dsml_diff_parse(const char *text, size_t len, const char *options, char **out);

/* Optional: release a string returned in *out. When the library does not export it, the
 * driver calls free(). */
void dsml_diff_free(char *out);

#ifdef __cplusplus
}
#endif
#endif
