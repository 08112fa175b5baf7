/*
 * dsml.h - streaming parser for DeepSeek tool-call markup (DSML and V3.1 tokens).
 *
 * Push model: the caller feeds bytes in chunks of any size (one byte, a token, a megabyte)
 * with dsml_feed(), then calls dsml_finish() once at end of input. The parser fires
 * callbacks as soon as it knows what the bytes are; it never asks for more input, never
 * blocks and never re-scans. Any chunking of the same input produces the same events,
 * except that text runs (reasoning, content, values, raw arguments) may be delivered in
 * more or fewer pieces: after merging adjacent pieces of the same kind the event logs are
 * identical, and so is the result.
 *
 * Guarantees that consumers rely on:
 *   - text pieces never contain a partial marker, the blank-line separator before a tool
 *     block, or a partial UTF-8 sequence (an incomplete but possibly valid lead sequence at
 *     the end of the input seen so far is held back; invalid bytes are passed through);
 *   - values are verbatim: no entity decoding, no trimming;
 *   - a call is reported complete (on_invoke_end) only once its closer (or, in tolerant
 *     mode, an element that unambiguously ends it) has been seen;
 *   - tolerant mode never drops bytes: whatever it cannot place comes back through
 *     on_content together with a warning.
 *
 * Threading: a dsml_parser is used by one thread at a time; there is no global state.
 * Memory: one allocation at dsml_parser_new() (state + token buffer of max_token bytes);
 * nothing is allocated per feed call except the per-invoke parameter-name set, which grows
 * to the largest invoke seen and is then reused.
 */
#ifndef DSML_H
#define DSML_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DSML_VERSION "0.1.0"

/* ---------------------------------------------------------------------------------------
 * Errors and warnings: one table generates the enum, the names and the messages.
 * Errors (DSML_E_*) stop the parser (sticky until dsml_reset()); warnings (DSML_W_*) are
 * reported through on_warning and parsing continues. Codes and names are stable.
 * ------------------------------------------------------------------------------------- */
#define DSML_ERRORS(X)                                                                         \
    X(OK, 0, "no error")                                                                       \
    /* strict-mode syntax errors (the official parser's rules) */                              \
    X(E_NO_SEPARATOR, 1, "tool block not preceded by a blank line")                            \
    X(E_THINK_NOT_CLOSED, 2, "tool block inside reasoning (missing </think>)")                 \
    X(E_WHITESPACE, 3, "expected exactly one newline between tags")                            \
    X(E_TAG, 4, "malformed tag")                                                               \
    X(E_ATTR, 5, "malformed or unexpected attribute")                                          \
    X(E_STRING_FLAG, 6, "string attribute must be \"true\" or \"false\"")                      \
    X(E_MISSING_STRING_ATTR, 7, "parameter has no string attribute")                           \
    X(E_ATTR_ORDER, 8, "attributes out of order (name must come before string)")               \
    X(E_INVALID_JSON, 9, "string=\"false\" value is not one JSON value")                       \
    X(E_DUPLICATE_PARAM, 10, "duplicate parameter name in one invoke")                         \
    X(E_TEXT_AFTER_BLOCK, 11, "text after the tool block (only EOS may follow)")               \
    X(E_UNEXPECTED_TEXT, 12, "unexpected text between tags")                                   \
    X(E_UNEXPECTED_TAG, 13, "tag not allowed here")                                            \
    X(E_SPECIAL_IN_TEXT, 14, "special token inside content or reasoning")                      \
    X(E_STRAY_CLOSER, 15, "closing marker inside a value not preceded by '<'")                 \
    X(E_MISMATCHED_CLOSE, 16, "block closer does not match its opener")                        \
    X(E_DIALECT, 17, "markup of another dialect")                                              \
    X(E_ARGS_JSON, 18, "call arguments are not a JSON object")                                 \
    X(E_UNTERMINATED, 19, "tool block not closed before end of sentence")                      \
    X(E_TEXT_AFTER_EOS, 20, "text after the end-of-sentence token")                            \
    /* limits */                                                                               \
    X(E_TOKEN_TOO_LONG, 30, "marker or tag longer than max_token")                             \
    X(E_VALUE_TOO_LONG, 31, "parameter value longer than max_value")                           \
    X(E_TOO_MANY_PARAMS, 32, "more parameters in one invoke than max_params")                  \
    X(E_JSON_TOO_DEEP, 33, "JSON value nested deeper than the validator's limit")              \
    /* API misuse and callbacks */                                                             \
    X(E_CALLBACK, 40, "a callback asked the parser to stop")                                   \
    X(E_FINISHED, 41, "feed after finish (call dsml_reset first)")                             \
    X(E_NOMEM, 42, "out of memory")                                                            \
    /* tolerant-mode deviations (warnings) */                                                  \
    X(W_NO_SEPARATOR, 100, "no blank line before the tool block")                              \
    X(W_WHITESPACE, 101, "non-canonical whitespace between tags")                              \
    X(W_TAG_SPACE, 102, "whitespace before '>' or between attributes")                         \
    X(W_ATTR_ORDER, 103, "attributes in non-canonical order")                                  \
    X(W_MISSING_STRING_ATTR, 104, "missing string attribute, value taken as a string")         \
    X(W_STRING_FLAG, 105, "string attribute neither true nor false, value taken as a string")  \
    X(W_INVALID_JSON, 106, "string=\"false\" value is not valid JSON, kept as a JSON string")  \
    X(W_DUPLICATE_PARAM, 107, "duplicate parameter name (readers keep the last value)")        \
    X(W_V41_TAGS, 108, "V4.1 spaced tags")                                                     \
    X(W_OTHER_DIALECT, 109, "block name of another DeepSeek version")                          \
    X(W_IMPLICIT_THINK_END, 110, "tool block inside reasoning ended the reasoning")            \
    X(W_IMPLICIT_INVOKE_END, 111, "invoke not closed before the next element")                 \
    X(W_TEXT_AFTER_BLOCK, 112, "text after the tool block, returned as content")               \
    X(W_UNEXPECTED_TEXT, 113, "text between tags, returned as content")                        \
    X(W_SPECIAL_IN_TEXT, 114, "special token inside content or reasoning, kept as text")       \
    X(W_LOOKALIKE, 115, "look-alike marker accepted (ASCII or missing bar)")                   \
    X(W_MISMATCHED_CLOSE, 116, "block closer does not match its opener")                       \
    X(W_BARE_INVOKE, 117, "invoke without an enclosing tool block")                            \
    X(W_SINGLE_QUOTES, 118, "attribute value in single quotes")                                \
    X(W_JSON_BODY, 119, "invoke body is a JSON object instead of parameters")                  \
    X(W_ARGS_JSON, 120, "call arguments are not a JSON object, passed through as text")       \
    X(W_TRAILING_WS, 121, "whitespace after the tool block")                                   \
    X(W_THINK_OPEN, 122, "<think> at the start of reasoning ignored")                          \
    X(W_IMPLICIT_BLOCK_END, 123, "tool block not closed before end of sentence")               \
    X(W_TEXT_AFTER_EOS, 124, "text after the end-of-sentence token, returned as content")      \
    X(W_ATTR, 125, "unknown or repeated attribute ignored")                                    \
    X(W_CLOSER_IN_VALUE, 126, "parameter closer followed by text: taken as part of the value")  \
    X(W_TOKEN_TOO_LONG, 127, "markup candidate longer than max_token, taken as text")

typedef enum dsml_code {
#define DSML_X_ENUM(name, num, msg) DSML_##name = num,
    DSML_ERRORS(DSML_X_ENUM)
#undef DSML_X_ENUM
} dsml_code;

/* Stable symbolic name of a code ("E_TAG", "W_NO_SEPARATOR"); "?" for unknown codes. */
const char *dsml_code_name(dsml_code code);
/* Static one-line English reason for a code; never NULL. */
const char *dsml_code_message(dsml_code code);
/* Nonzero when the code is a warning (DSML_W_*). */
int dsml_code_is_warning(dsml_code code);

/* A diagnostic: error or warning. `offset` is the absolute byte offset (0-based, counted
 * over all bytes fed since the last reset) of the first byte the diagnostic is about.
 * line and col (1-based; col counts bytes) are filled when the parser was created with
 * DSML_LINES, else 0. */
typedef struct dsml_diag {
    dsml_code code;
    uint64_t offset;
    uint64_t line, col;
} dsml_diag;

/* ---------------------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------------------- */
typedef enum dsml_dialect {
    DSML_V4 = 0,   /* <｜DSML｜tool_calls> (tolerant also: function_calls, V4.1 spaced tags) */
    DSML_V32 = 1,  /* <｜DSML｜function_calls> (tolerant also: tool_calls, V4.1) */
    DSML_V31 = 2,  /* <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>name<｜tool▁sep｜>{json}… */
    DSML_AUTO = 3, /* any of the above; the first opener seen decides */
} dsml_dialect;

/* Name of a dialect as used on command lines: "v4", "v3.2", "v3.1", "auto". */
const char *dsml_dialect_name(dsml_dialect d);
/* Parse a dialect name ("v4", "v3.2", "v3.1", "auto"); returns 0 and sets *out, or -1. */
int dsml_dialect_parse(const char *name, dsml_dialect *out);

enum dsml_flags {
    /* The completion starts inside reasoning; `</think>` ends it. Without this flag the
     * completion starts in content (chat mode). */
    DSML_THINKING = 1u << 0,
    /* Strict mode: the official encoder's parser semantics (spec/DSML.md §4). Without it
     * the parser is tolerant (spec/DSML.md §5). */
    DSML_STRICT = 1u << 1,
    /* Tolerant only, opt-in: accept look-alike markers: ASCII bars `<|DSML|…`, a missing
     * first bar `<DSML｜…`. Risk: prose that quotes such text becomes a call. */
    DSML_LOOKALIKES = 1u << 2,
    /* Count lines so diagnostics carry line:col (costs one newline count per byte). */
    DSML_LINES = 1u << 3,
};

/* Allocator hooks (all three or none). ud is passed back unchanged. */
typedef struct dsml_allocator {
    void *(*malloc)(void *ud, size_t size);
    void *(*realloc)(void *ud, void *ptr, size_t size);
    void (*free)(void *ud, void *ptr);
    void *ud;
} dsml_allocator;

typedef struct dsml_options {
    dsml_dialect dialect;          /* default DSML_V4 */
    unsigned flags;                /* enum dsml_flags */
    size_t max_token;              /* longest tag/marker incl. attributes; default 4096, min 64 */
    uint64_t max_value;            /* longest parameter value / argument text; default 64 MiB,
                                      0 = default */
    size_t max_params;             /* parameters per invoke; default 1024 */
    const dsml_allocator *alloc;   /* NULL = malloc/realloc/free */
} dsml_options;

/* Fill *o with the defaults listed above. */
void dsml_options_init(dsml_options *o);

/* ---------------------------------------------------------------------------------------
 * Events. Every callback may be NULL. Data callbacks receive (ud, at, len) and may fire
 * several times for one run; `at` points into the parser's buffer and is valid only during
 * the call. A callback returning nonzero stops the parser with DSML_E_CALLBACK.
 *
 * Order for one completion (thinking mode shown; chat mode starts at content):
 *   on_reasoning* [on_reasoning_end] on_content*
 *   [ on_block_begin
 *       ( on_invoke  ( on_param on_value* on_param_end )*  |  on_args* )  on_invoke_end
 *       …
 *     on_block_end ]
 *   on_content* (tolerant: stray text, text after the block)
 * on_warning may come at any point. In tolerant mode on_content may also fire between
 * tool-call events (text inside a block that is not markup).
 * ------------------------------------------------------------------------------------- */
enum dsml_param_flags {
    DSML_PARAM_STRING = 1u << 0,  /* string="true" (or taken as a string): value is raw text */
    DSML_PARAM_JSON = 1u << 1,    /* string="false": value is JSON text */
};

enum dsml_end_flags {
    /* on_param_end: the string="false" value was not exactly one JSON value; in tolerant
     * mode consumers should treat it as a string (the raw bytes). */
    DSML_END_INVALID_JSON = 1u << 0,
    /* on_invoke_end: the raw arguments (V3.1, or a JSON body) are not a JSON object. */
    DSML_END_ARGS_NOT_OBJECT = 1u << 1,
    /* on_invoke_end / on_block_end: closed implicitly by a following element (tolerant). */
    DSML_END_IMPLICIT = 1u << 2,
};

typedef struct dsml_callbacks {
    int (*on_reasoning)(void *ud, const char *at, size_t len);
    int (*on_reasoning_end)(void *ud);                      /* </think> or implicit end */
    int (*on_content)(void *ud, const char *at, size_t len);
    int (*on_block_begin)(void *ud, dsml_dialect dialect);  /* dialect of the opener seen */
    int (*on_invoke)(void *ud, const char *name, size_t len);      /* complete tool name */
    int (*on_param)(void *ud, const char *name, size_t len, unsigned param_flags);
    int (*on_value)(void *ud, const char *at, size_t len);  /* parameter value bytes */
    int (*on_param_end)(void *ud, unsigned end_flags);
    int (*on_args)(void *ud, const char *at, size_t len);   /* raw JSON arguments text */
    int (*on_invoke_end)(void *ud, unsigned end_flags);
    int (*on_block_end)(void *ud, unsigned end_flags);
    int (*on_warning)(void *ud, const dsml_diag *w);
} dsml_callbacks;

/* ---------------------------------------------------------------------------------------
 * Parser
 * ------------------------------------------------------------------------------------- */
typedef struct dsml_parser dsml_parser;

/* Create a parser. opts may be NULL (defaults); cb may be NULL (validation only).
 * Returns NULL when out of memory or when an option is out of range. The parser keeps
 * copies of *opts and *cb; ud is passed to every callback. Free with dsml_parser_free(). */
dsml_parser *dsml_parser_new(const dsml_options *opts, const dsml_callbacks *cb, void *ud);

/* Free a parser and everything it owns. NULL is allowed. */
void dsml_parser_free(dsml_parser *p);

/* Feed the next len bytes (len may be 0; data may be NULL when len is 0). Fires callbacks
 * for everything that can be decided; holds back (copies) at most max_token bytes.
 * Returns DSML_OK or the sticky error code; after an error further feeds return the same
 * code and fire nothing. Must not be called from inside a callback. */
dsml_code dsml_feed(dsml_parser *p, const char *data, size_t len);

/* End of input: flush held-back bytes that turned out not to be markup, close what can be
 * closed, and fill the result. Calling it again returns the same code. */
dsml_code dsml_finish(dsml_parser *p);

/* End the reasoning now, as if `</think>` had been fed (for callers whose upstream already
 * separates reasoning from content). Flushes held-back reasoning bytes, fires
 * on_reasoning_end and continues in content. No effect outside reasoning. Returns DSML_OK or
 * the sticky error. Must not be called from inside a callback. */
dsml_code dsml_end_reasoning(dsml_parser *p);

/* Forget all input and errors; keeps options, callbacks and buffers. */
void dsml_reset(dsml_parser *p);

/* Outcome of a parse, valid after dsml_finish() (and partly during parsing). */
typedef enum dsml_status {
    DSML_DONE = 0,        /* input complete; every call found is complete */
    DSML_INCOMPLETE = 1,  /* input ended inside a tool block: see incomplete_at */
    DSML_FAILED = 2,      /* a sticky error stopped the parser: see error */
} dsml_status;

typedef struct dsml_result {
    dsml_status status;
    dsml_diag error;            /* code DSML_OK unless FAILED */
    dsml_dialect dialect;       /* dialect of the block seen, or the configured one */
    uint32_t calls;             /* complete calls (on_invoke_end fired) */
    uint32_t warnings;          /* on_warning count */
    uint64_t bytes;             /* bytes fed */
    uint64_t incomplete_at;     /* INCOMPLETE: offset of the first byte of the unfinished
                                   element (the invoke, or the block opener and its
                                   separator when no invoke had started) */
    int saw_block;              /* a tool block (or bare invoke) was opened */
    int saw_eos;                /* <｜end▁of▁sentence｜> ended the completion */
    int reasoning_closed;       /* thinking mode: reasoning ended (</think> or implicitly) */
} dsml_result;

/* Current result; complete after dsml_finish(). Never NULL. */
const dsml_result *dsml_result_get(const dsml_parser *p);

/* Line and column (both 1-based; the column counts bytes) of byte `offset` in text[0..len)
 * (offset may equal len). For callers that hold the whole input. */
void dsml_text_line_col(const char *text, size_t len, uint64_t offset, uint64_t *line,
                        uint64_t *col);

/* Inside a callback: the absolute byte offset of what is being reported. For a data
 * callback pass its `at` (the offset of that byte); for any other callback pass NULL (the
 * offset of the markup token that caused it: the tag, closer, opener or marker). Outside
 * callbacks the value is unspecified. */
uint64_t dsml_callback_offset(const dsml_parser *p, const char *at);

/* Bytes of memory the parser holds (state, token buffer, parameter-name set). */
size_t dsml_parser_memory(const dsml_parser *p);

#ifdef __cplusplus
}
#endif
#endif /* DSML_H */
