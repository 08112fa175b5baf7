/*
 * dsml_render.h - OpenAI chat-completions request -> DeepSeek prompt text, byte for byte
 * what DeepSeek's reference encoders produce (encoding_dsv4.py for V4, encoding_dsv32.py
 * for V3.2), and OpenAI tool_calls -> canonical DSML / V3.1 tool-call blocks.
 *
 * The rules are in spec/RENDER.md; the request mapping in short:
 *
 *   input        an object {"messages": [...], "tools": [...], ...} (a request body) or a
 *                bare array of messages.
 *   roles        system, user, assistant, tool; "developer" is mapped to system (OpenAI
 *                meaning) unless DSML_RENDER_DEEPSEEK_ROLES keeps DeepSeek's developer
 *                turn; "latest_reminder" (V4 only) as in the encoder; anything else is an
 *                error.
 *   tools        request-level `tools` are attached to messages[0] when it is a system
 *                message (or a developer message with DSML_RENDER_DEEPSEEK_ROLES),
 *                replacing tools already on it; otherwise an empty system message
 *                carrying them is put first (vLLM's convention). `tool_choice: "none"`
 *                renders no tools block at all (request- or message-level).
 *   response_format  request-level, unless {"type":"text"}: attached like tools (same
 *                message); the whole object is written with pyjson.
 *   mode         thinking vs chat, in order of precedence: the option (--thinking/--chat),
 *                request `thinking: {"type": "enabled"|"disabled"}` (or true/false),
 *                `chat_template_kwargs: {"thinking"|"enable_thinking": bool}`,
 *                `reasoning_effort` ("none" -> chat, any other value -> thinking); default
 *                chat.
 *   effort       the option, else `reasoning_effort`: "max"/"xhigh" -> the V4 maximum
 *                effort prefix (thinking mode only), "none"/"minimal"/"low"/"medium"/
 *                "high" -> nothing (the release encoder has no other prefix); anything
 *                else is an error. V3.2 has no effort prefix.
 *   arguments    `function.arguments` as a JSON string holding an object -> one parameter
 *                per member (duplicate keys: last value, first position); JSON string
 *                values -> string="true" with the raw text; other values -> string="false"
 *                with pyjson. "" (or only whitespace), null, absent, and the text "null"
 *                -> no parameters. Any other text (invalid JSON, or JSON that is not an
 *                object) -> one parameter `arguments` string="true" with the raw text
 *                (deepseek-recipe's rule; the official encoder crashes on JSON
 *                non-objects). `arguments` given as a JSON object (not a string) is used
 *                as the parameter object (V4.1 encoder behaviour); as another non-string
 *                value, its pyjson text is the raw text.
 *   closer       a string value containing "/｜DSML｜parameter" cannot be written raw (the
 *                official parser ends a value there): it is written as string="false"
 *                with its JSON string literal, that '/' escaped as "\u002f" — the same
 *                value for any JSON reader — or, with DSML_RENDER_CLOSER_ERROR, it is an
 *                error. Inside string="false" values the same escape is applied to JSON
 *                strings (E10). Tool and parameter names containing '"' or "｜DSML｜" are
 *                an error (no escaping exists).
 *   content      a string; null -> ""; an array of parts -> text parts' `text` joined by
 *                "\n\n", other parts "[Unsupported <type>]" (the encoder's rule for tool
 *                results, applied to every role).
 *   reasoning    `reasoning_content`, or `reasoning` when that is absent or null.
 *   prefix       `wo_eos: true` or DeepSeek's `prefix: true` on an assistant message: no
 *                EOS after it (continuation). Honoured in V3.2 too.
 *
 * Errors carry a message, the JSON path of the offending element (messages[3].tool_calls
 * [0].function.arguments) and its byte offset in the request text.
 *
 * Threading: no global state; every call is independent. Memory: the request is parsed
 * into one arena (dsml_jv.h) that is freed before the call returns.
 */
#ifndef DSML_RENDER_H
#define DSML_RENDER_H

#include <stddef.h>

#include "dsml.h"
#include "dsml_buf.h"
#include "dsml_jv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Thinking mode selection (dsml_render_options.thinking). */
enum dsml_render_thinking {
    DSML_THINKING_FROM_REQUEST = -1, /* decide from the request's fields (default) */
    DSML_THINKING_OFF = 0,           /* chat mode: prompts end "<｜Assistant｜></think>" */
    DSML_THINKING_ON = 1,            /* thinking mode: prompts end "<｜Assistant｜><think>" */
};

/* Reasoning effort selection (dsml_render_options.effort). */
enum dsml_render_effort {
    DSML_EFFORT_FROM_REQUEST = -1, /* decide from reasoning_effort (default) */
    DSML_EFFORT_NONE = 0,          /* no prefix (the encoder's None and "high") */
    DSML_EFFORT_MAX = 2,           /* V4 maximum-effort prefix, thinking mode only */
};

enum dsml_render_flags {
    /* Do not start the prompt with <｜begin▁of▁sentence｜>. */
    DSML_RENDER_NO_BOS = 1u << 0,
    /* drop_thinking=False: keep reasoning_content of assistant turns before the last user
     * turn (the encoder default drops it in thinking mode; V4 keeps it anyway when tools
     * are declared). */
    DSML_RENDER_KEEP_REASONING = 1u << 1,
    /* Use the encoder's own roles: "developer" is DeepSeek's developer turn (rendered as a
     * user turn, dropped from history in thinking mode) instead of OpenAI's system
     * meaning. For feeding encoder-level message lists (the golden test inputs). */
    DSML_RENDER_DEEPSEEK_ROLES = 1u << 2,
    /* A string argument value containing "/｜DSML｜parameter" is an error instead of being
     * written as a JSON string literal with string="false". */
    DSML_RENDER_CLOSER_ERROR = 1u << 3,
};

typedef struct dsml_render_options {
    dsml_dialect dialect; /* DSML_V4 (default) or DSML_V32 */
    int thinking;         /* enum dsml_render_thinking */
    int effort;           /* enum dsml_render_effort */
    unsigned flags;       /* enum dsml_render_flags */
    unsigned max_depth;   /* JSON nesting limit of the request; 0 = DSML_JV_DEFAULT_DEPTH */
} dsml_render_options;

/* Defaults: V4, mode and effort from the request, BOS, drop_thinking as the encoder. */
void dsml_render_options_init(dsml_render_options *o);

typedef struct dsml_render_error {
    char message[256]; /* what is wrong, in English */
    char path[192];    /* JSON path of the element ("messages[2].content"), "" = the input */
    size_t offset;     /* byte offset of that element (or of the JSON syntax error) */
} dsml_render_error;

/* A sink that is told which bytes are the renderer's own special markers: BOS, EOS,
 * <｜User｜>, <｜Assistant｜>, <think>, </think>, <｜latest_reminder｜>, task tokens, and
 * "｜DSML｜" inside the DSML tags it writes (the rest of a DSML tag is ordinary text, as in
 * the tokenizer) — including those in the fixed tools-block text. Everything that comes
 * from the request (content, reasoning, tool results, arguments, schemas) is delivered with
 * is_special = 0, even when it spells a marker, so a tokenizer can turn only real markers
 * into control tokens (E57). Ordinary text arrives in maximal runs: two is_special = 0
 * calls never follow each other. write() returns 0, or nonzero to abort the render. */
typedef struct dsml_segment_sink {
    int (*write)(void *ud, const char *data, size_t len, int is_special);
    void *ud;
} dsml_segment_sink;

/* Render the prompt for the request JSON text json[0..len) into *out.
 * o may be NULL (defaults); err may be NULL. Returns 0, or -1 with *err filled (bad
 * request, unrepresentable value, or out->write failed); bytes already written to out
 * before a failure are not taken back. No trailing newline is added. */
int dsml_render_prompt(const char *json, size_t len, const dsml_render_options *o,
                       const dsml_sink *out, dsml_render_error *err);

/* The same, for a request already parsed with dsml_jv_parse() (offsets in errors refer to
 * the text that document was parsed from). */
int dsml_render_prompt_jv(const dsml_jv *request, const dsml_render_options *o,
                          const dsml_sink *out, dsml_render_error *err);

/* The same as dsml_render_prompt(), delivering the prompt as segments marked special or
 * ordinary (see dsml_segment_sink). Concatenating the segments gives exactly the bytes
 * dsml_render_prompt() writes. */
int dsml_render_prompt_segments(const char *json, size_t len, const dsml_render_options *o,
                                const dsml_segment_sink *out, dsml_render_error *err);

/* Render OpenAI tool calls as one canonical tool-call block of dialect d:
 *   DSML_V4   <｜DSML｜tool_calls>⏎<｜DSML｜invoke name="f">⏎<｜DSML｜parameter …>…⏎
 *             </｜DSML｜tool_calls>
 *   DSML_V32  the same with function_calls
 *   DSML_V31  <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{args}
 *             <｜tool▁call▁end｜>…<｜tool▁calls▁end｜>  (arguments text verbatim; ""/null/
 *             absent -> {}; a non-string value -> its pyjson text)
 * Nothing before or after the block: in an assistant turn the official encoder writes
 * content + "\n\n" + block + EOS (V4/V3.2), content + block + EOS (V3.1).
 * Input: a JSON array of tool calls ({"id","type","function":{"name","arguments"}}), a
 * single tool-call object, or an object with a "tool_calls" array (an assistant message).
 * Parameters follow the same rules as the prompt renderer. flags: DSML_RENDER_CLOSER_ERROR
 * is honoured. An empty list writes nothing. Returns 0, or -1 with *err filled. */
int dsml_render_tool_calls(const char *json, size_t len, dsml_dialect d, unsigned flags,
                           const dsml_sink *out, dsml_render_error *err);

/* The same for an already parsed value. */
int dsml_render_tool_calls_jv(const dsml_jv *calls, dsml_dialect d, unsigned flags,
                              const dsml_sink *out, dsml_render_error *err);

/* The start of a forced tool call, for servers that enforce tool_choice by prefilling the
 * assistant turn (completions mode): append it to the prompt, feed the same bytes to the
 * parser before the generated text, and the model continues inside the call.
 *   name != NULL: V4/V3.2 "\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name=\"NAME\">\n",
 *                 V3.1 "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>NAME<｜tool▁sep｜>"
 *   name == NULL (tool_choice "required"): the block opener only
 *                 ("\n\n<｜DSML｜tool_calls>\n" / "<｜tool▁calls▁begin｜>").
 * Returns 0, or -1 when the name cannot be written (it holds '"' or "｜DSML｜", or '<' in
 * V3.1) or the sink refused the bytes. */
int dsml_render_call_prefix(dsml_dialect d, const char *name, size_t len, const dsml_sink *out);

#ifdef __cplusplus
}
#endif
#endif /* DSML_RENDER_H */
