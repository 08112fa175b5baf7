/*
 * dsml_check.h - conformance checks of tool-call output: what a model generated (raw
 * completion text) and what a runtime delivered (an OpenAI chat completion, or its SSE
 * stream). Used by `dsml check` (files) and `dsml conform` (live endpoints); usable by any
 * runtime that wants to test itself.
 *
 * Every problem is a *finding* with a stable code, a severity, a position and a one-line
 * message. Codes come from three tables, all stable (names and numbers never change):
 *   - C_* (this header, DSML_CHECKS): leaked markup, call shape, finish reasons, streams,
 *     live endpoints;
 *   - S_* (dsml_schema.h): argument validation against the tool's JSON Schema;
 *   - E_* / W_* (dsml.h): the parser's strict-mode errors and tolerant-mode warnings for
 *     raw completions (E_*: the official parser rejects the text there; W_*: a deviation a
 *     tolerant parser had to recover from).
 * spec/CHECK.md describes every code with an example.
 *
 * Positions: `offset` is a byte offset into the text handed to the check function (the
 * completion, the response JSON, the SSE capture); line and col (1-based, col in bytes) are
 * computed from it. `path` locates the element ("choices[0].message.content",
 * "event 4: choices[0].delta.tool_calls[0]", "calls[1] get_weather"), `pointer` the value
 * inside a call's arguments (JSON Pointer, S_* findings).
 *
 * Nothing here does I/O: callers hand in bytes and receive findings through a callback.
 * A checker is used by one thread at a time.
 */
#ifndef DSML_CHECK_H
#define DSML_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "dsml.h"
#include "dsml_buf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dsml_severity {
    DSML_SEV_WARNING = 1, /* a deviation; clients usually cope */
    DSML_SEV_ERROR = 2,   /* a call is lost, wrong or breaks a client */
} dsml_severity;

/* The C_* table: name, stable number, severity, reason. */
#define DSML_CHECKS(X)                                                                          \
    /* markup left in text */                                                                   \
    X(C_LEAKED_DSML, 1, ERROR, "tool-call markup in content: the runtime did not parse the call") \
    X(C_DSML_IN_REASONING, 2, ERROR, "tool-call markup inside reasoning: the call is not executed") \
    X(C_MARKUP_FRAGMENT, 3, ERROR, "fragment of tool-call markup in text (no complete call)")     \
    X(C_SPECIAL_TOKEN, 4, WARNING, "special-token text in content or reasoning")                 \
    X(C_TRUNCATED, 5, WARNING, "output ends inside a tool call, or at the token limit")          \
    /* calls */                                                                                 \
    X(C_UNKNOWN_TOOL, 10, ERROR, "call to a tool that was not declared")                         \
    X(C_FLAG_TRUE_NONSTRING, 11, ERROR,                                                         \
      "string=\"true\" on a parameter whose schema does not allow a string")                   \
    X(C_FLAG_FALSE_STRING, 12, WARNING,                                                         \
      "string=\"false\" on a parameter whose schema allows only strings")                      \
    X(C_ARGS_NOT_STRING, 13, ERROR, "function.arguments missing or not a JSON string")           \
    X(C_ARGS_JSON, 14, ERROR, "arguments text is not valid JSON")                                \
    X(C_ARGS_NOT_OBJECT, 15, ERROR, "arguments JSON is not an object")                           \
    X(C_CALL_ID, 16, ERROR, "tool call without an id")                                           \
    X(C_CALL_ID_DUP, 17, ERROR, "two tool calls share one id")                                   \
    X(C_CALL_TYPE, 18, ERROR, "tool call type missing or not \"function\"")                      \
    X(C_CALL_NAME, 19, ERROR, "tool call without a function name")                               \
    /* responses */                                                                             \
    X(C_FINISH_REASON, 20, ERROR,                                                               \
      "finish_reason missing, repeated, unknown or inconsistent with the tool calls")           \
    X(C_SHAPE, 21, ERROR, "not the shape of an OpenAI chat completion (or chunk)")               \
    X(C_NOT_JSON, 22, ERROR, "body or record is not JSON")                                       \
    X(C_API_ERROR, 23, ERROR, "the endpoint returned an error object")                           \
    X(C_PARSE_MISMATCH, 24, ERROR, "delivered output differs from the parse of the raw completion") \
    /* streams */                                                                               \
    X(C_STREAM_JSON, 30, ERROR, "stream event data is not JSON")                                 \
    X(C_STREAM_DONE, 31, ERROR, "stream not ended by data: [DONE], or events after it")          \
    X(C_STREAM_ROLE, 32, ERROR, "first chunk of a choice without role \"assistant\"")            \
    X(C_INDEX_GAP, 33, ERROR, "tool-call index missing, not an integer, or skipping a number")   \
    X(C_INDEX_REUSE, 34, ERROR, "tool-call index reused for another call")                       \
    X(C_STREAM_MISMATCH, 35, WARNING, "streamed result differs from the non-streamed one")       \
    /* live endpoints (dsml conform) */                                                         \
    X(C_HTTP_STATUS, 40, ERROR, "HTTP status other than 2xx")                                    \
    X(C_TIMEOUT, 41, ERROR, "no complete answer within the timeout")                             \
    X(C_TRANSPORT, 42, ERROR, "connection failed or broke off")                                  \
    X(C_EXPECT_CALLS, 43, ERROR, "number of tool calls outside what the case expects")           \
    X(C_EXPECT_NAME, 44, ERROR, "call to another tool than the case expects")                    \
    X(C_EXPECT_ARGS, 45, ERROR, "argument value differs from what the case expects")             \
    X(C_EXPECT_CONTENT, 46, ERROR, "content differs from what the case expects")

typedef enum dsml_check_code {
#define DSML_X_ENUM(name, num, sev, msg) DSML_##name = num,
    DSML_CHECKS(DSML_X_ENUM)
#undef DSML_X_ENUM
} dsml_check_code;

/* Stable name ("C_LEAKED_DSML"); "?" for an unknown code. */
const char *dsml_check_code_name(dsml_check_code code);
/* Static one-line reason; never NULL. */
const char *dsml_check_code_message(dsml_check_code code);
/* Severity of a C_* code (DSML_SEV_ERROR for unknown codes). */
dsml_severity dsml_check_code_severity(dsml_check_code code);
/* Iterate the table: the i-th C_* code (0-based), or 0 past the end. */
dsml_check_code dsml_check_code_at(size_t i);

#define DSML_NO_OFFSET UINT64_MAX

typedef struct dsml_finding {
    const char *code;       /* stable name: "C_…", "S_…", "E_…", "W_…" */
    int num;                /* its stable number within its table */
    dsml_severity severity; /* C_*: from the table; S_*, E_*: error; W_*: warning */
    const char *path;       /* element: JSON path, "event N: …", "calls[i] name"; "" if none */
    const char *pointer;    /* S_*: JSON Pointer inside the arguments; else "" */
    uint64_t offset;        /* byte offset in the checked text, or DSML_NO_OFFSET */
    uint64_t line, col;     /* 1-based position of offset; 0 when there is none */
    const char *message;    /* specific one-line explanation */
    const char *excerpt;    /* raw text worth showing (leaked markup), or NULL */
    size_t excerpt_len;
} dsml_finding;

/* Receives one finding; all strings are valid during the call only. Return 0 to go on,
 * nonzero to stop the current check early. */
typedef int (*dsml_finding_fn)(void *ud, const dsml_finding *f);

/* What a runtime delivered (or what a completion parses to): the message of choice 0. */
typedef struct dsml_check_call {
    dsml_buf id, name, arguments; /* raw bytes; arguments is the text as delivered */
} dsml_check_call;

typedef struct dsml_check_summary {
    dsml_buf content, reasoning;
    dsml_check_call *calls;
    size_t ncalls, cap;
    char finish[32];           /* finish_reason ("" when none was delivered) */
} dsml_check_summary;

/* Release a summary's memory and zero it (a zeroed summary is empty and valid). */
void dsml_check_summary_free(dsml_check_summary *s);

typedef struct dsml_check_options {
    dsml_dialect dialect;      /* raw completions: default DSML_V4 */
    unsigned flags;            /* raw completions: DSML_THINKING, DSML_LOOKALIKES */
    int finish_stop_ok;        /* accept finish_reason "stop" next to tool calls (OpenAI
                                  answers forced calls that way); default 0 */
    size_t max_excerpt;        /* bytes of raw text kept in excerpts; default 4096 */
} dsml_check_options;

/* Fill with the defaults above. */
void dsml_check_options_init(dsml_check_options *o);

typedef struct dsml_checker dsml_checker;

/* Create a checker. opts NULL = defaults; fn receives every finding (it may be NULL to only
 * count). Returns NULL when out of memory. */
dsml_checker *dsml_checker_new(const dsml_check_options *opts, dsml_finding_fn fn, void *ud);
void dsml_checker_free(dsml_checker *c);

/* Change the options between checks (dialect and thinking may differ per record). */
void dsml_checker_set_options(dsml_checker *c, const dsml_check_options *opts);

/* Declare the tools, so that calls are checked against them (unknown names, JSON Schema,
 * string flags). `json` is an OpenAI `tools` array, or an object with a `tools` member (a
 * whole chat request); each tool is {"type":"function","function":{"name","parameters"}} or
 * the flat {"name","parameters"}. The checker keeps its own copy. Problems of the schemas
 * themselves are reported as S_SCHEMA findings (severity error; offsets and line:col point
 * into `json`) with path "tools[i].function.parameters". Returns 0, or -1 when the
 * text is not usable (not JSON, no tools list, a tool without a name); then *why (if not
 * NULL) names the reason and the previous tools stay. len 0 clears the tools. */
int dsml_checker_set_tools(dsml_checker *c, const char *json, size_t len, const char **why);

/* Number of declared tools. */
size_t dsml_checker_ntools(const dsml_checker *c);

/* Check a raw completion (the text after <｜Assistant｜>): strict-mode error, tolerant
 * warnings, truncation, DSML in reasoning; with tools, unknown names, schemas and string
 * flags. out (may be NULL) receives the parsed message. Returns the number of findings
 * reported, or -1 when out of memory. */
int dsml_check_completion(dsml_checker *c, const char *text, size_t len,
                          dsml_check_summary *out);

/* Check a non-streamed OpenAI chat completion (JSON text): shape, leaked markup in content
 * and reasoning_content, call id/type/name, arguments, finish_reason, tools. out (may be
 * NULL) receives choice 0. Returns the number of findings, or -1 when out of memory. */
int dsml_check_response(dsml_checker *c, const char *json, size_t len, dsml_check_summary *out);

/* Check a streamed OpenAI chat completion (the SSE body: `data: {chunk}` events and
 * `data: [DONE]`): every chunk's shape, role, tool-call indices and first deltas, finish
 * reason, [DONE]; then the concatenated message like dsml_check_response. out (may be NULL)
 * receives choice 0 as a client would assemble it. Returns the number of findings, or -1. */
int dsml_check_stream(dsml_checker *c, const char *sse, size_t len, dsml_check_summary *out);

/* Compare two results of the same request: `code` is C_STREAM_MISMATCH (a streamed and a
 * non-streamed answer: calls compared) or C_PARSE_MISMATCH (`ref` parsed from the raw
 * completion, `got` delivered by the runtime: calls and content compared). Names must be
 * equal, arguments equal as JSON values, content equal up to surrounding whitespace. `path`
 * labels the findings. Returns the number of findings, or -1 when out of memory. */
int dsml_check_compare(dsml_checker *c, const dsml_check_summary *ref,
                       const dsml_check_summary *got, dsml_check_code code, const char *path);

/* Report a finding of the C_* table from outside (dsml conform's transport and expectation
 * findings), through the checker's callback. message may be NULL (the table's reason).
 * Returns 1 (one finding), or 0 when the callback asked to stop. */
int dsml_check_emit(dsml_checker *c, dsml_check_code code, const char *path,
                    const char *message, const char *excerpt, size_t excerpt_len);

/* What a file holds, guessed from its first bytes. */
typedef enum dsml_input_kind {
    DSML_INPUT_COMPLETION = 0, /* raw model output */
    DSML_INPUT_RESPONSE = 1,   /* one JSON value (an OpenAI chat completion, or an error) */
    DSML_INPUT_STREAM = 2,     /* SSE: the first non-blank line starts with data:, event:,
                                  id:, retry: or ':' */
    DSML_INPUT_JSONL = 3,      /* several lines, each one JSON value */
} dsml_input_kind;

/* Guess the kind of `data`: STREAM when the first non-blank line is an SSE field; RESPONSE
 * when it is one JSON object or array (even spanning lines); JSONL when the first line is a
 * complete JSON value and more non-blank lines follow; RESPONSE when it starts with '{' but
 * is not JSON (a broken response); COMPLETION otherwise. */
dsml_input_kind dsml_check_detect(const char *data, size_t len);

/* Name of a kind: "completion", "response", "stream", "jsonl". */
const char *dsml_input_kind_name(dsml_input_kind k);

#ifdef __cplusplus
}
#endif
#endif /* DSML_CHECK_H */
