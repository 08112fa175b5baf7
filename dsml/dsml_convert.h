/*
 * dsml_convert.h - conversion of assistant turns between DeepSeek-V4 DSML, V3.2 DSML, V3.1
 * special-token calls and the OpenAI assistant message with `tool_calls`.
 *
 * A turn is [reasoning "</think>"] content [separator block] [EOS] on the DeepSeek side and
 * {"role":"assistant","content",["reasoning_content"],["tool_calls"]} on the OpenAI side.
 * DeepSeek input is read with the streaming parser (any chunking), DeepSeek output is
 * written the way DeepSeek's official encoder writes an assistant turn (canonical form), so:
 *   - OpenAI -> DSML -> OpenAI keeps names and argument values (arguments compared as JSON);
 *   - canonical DSML -> OpenAI -> DSML is byte-identical.
 */
#ifndef DSML_CONVERT_H
#define DSML_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "dsml.h"
#include "dsml_buf.h"
#include "dsml_openai.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dsml_format {
    DSML_FMT_V4 = 0,     /* <｜DSML｜tool_calls> */
    DSML_FMT_V32 = 1,    /* <｜DSML｜function_calls> */
    DSML_FMT_V31 = 2,    /* <｜tool▁calls▁begin｜> … */
    DSML_FMT_OPENAI = 3, /* OpenAI assistant message JSON */
} dsml_format;

/* "v4", "v3.2", "v3.1", "openai" -> *out; returns 0 or -1. */
int dsml_format_parse(const char *name, dsml_format *out);

typedef struct dsml_convert_options {
    dsml_format from, to;
    unsigned parse_flags;  /* DeepSeek input: DSML_THINKING, DSML_STRICT, DSML_LOOKALIKES */
    size_t chunk;          /* DeepSeek input: feed size (0 = all at once) */
    dsml_id_fn make_id;    /* ids of calls read from DeepSeek input; NULL = random */
    void *id_ud;
} dsml_convert_options;

typedef struct dsml_convert_error {
    char message[256];     /* English reason */
    uint64_t offset;       /* byte offset in the input */
} dsml_convert_error;

/* Convert one assistant turn (a whole completion, or just a tool-call block) from o->from to
 * o->to and write it to out. OpenAI input may be an assistant message, a chat completion
 * response (choices[0].message is used) or a bare tool_calls array. OpenAI output is one
 * assistant message (dsml_message_json's shape; ids kept when the input had them).
 * DeepSeek output ends with EOS when the DeepSeek input did (OpenAI input: never).
 * Returns 0, or -1 with *err filled (invalid input JSON, strict-mode parse error, a value the
 * target format cannot carry). A call cut off at the end of DeepSeek input is not a call:
 * its text stays in the content. */
int dsml_convert(const char *in, size_t len, const dsml_convert_options *o,
                 const dsml_sink *out, dsml_convert_error *err);

#ifdef __cplusplus
}
#endif
#endif
