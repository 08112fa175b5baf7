/*
 * dsml_openai.h - from parser events to the OpenAI chat-completions shapes.
 *
 * One layer turns parser events into *deltas* (reasoning text, content text, call header,
 * arguments fragments, finish). The non-stream message and the streamed chunks are both
 * built from the same deltas, so concatenating the streamed fragments gives the message's
 * fields byte for byte (the one documented exception: a call cut off at end of input is
 * sent while streaming, with finish_reason "length", but is not part of the message).
 *
 * Arguments text (spec/DSML.md §7): compact separators, members in parameter order,
 *   {"name":"<string value, JSON-escaped>","n":<JSON value minified>}
 * string="true" values stream as they arrive; string="false" values are buffered to their
 * closer, validated and minified (invalid JSON becomes a JSON string, tolerant mode only);
 * raw V3.1 arguments are buffered to the call's end, validated and minified (invalid:
 * passed through as they are, with a warning). Zero parameters give {}.
 */
#ifndef DSML_OPENAI_H
#define DSML_OPENAI_H

#include <stddef.h>
#include <stdint.h>

#include "dsml.h"
#include "dsml_buf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DSML_ID_MAX 64 /* tool-call id buffer size, NUL included */

typedef enum dsml_delta_kind {
    DSML_DELTA_REASONING = 0, /* text: raw UTF-8 reasoning bytes */
    DSML_DELTA_CONTENT = 1,   /* text: raw UTF-8 content bytes */
    DSML_DELTA_CALL = 2,      /* a call starts: index, id, name (raw UTF-8) */
    DSML_DELTA_ARGS = 3,      /* index, text: a fragment of the arguments JSON text */
    DSML_DELTA_CALL_END = 4,  /* index: the call is complete */
    DSML_DELTA_FINISH = 5,    /* finish: "stop", "tool_calls" or "length" (last delta) */
    DSML_DELTA_BLOCK = 6,     /* a tool block starts (no payload; for message builders) */
} dsml_delta_kind;

typedef struct dsml_delta {
    dsml_delta_kind kind;
    uint32_t index;           /* CALL, ARGS, CALL_END: 0, 1, 2 … in order */
    const char *text;         /* REASONING, CONTENT, ARGS: bytes (not NUL-terminated) */
    size_t len;
    const char *id;           /* CALL: NUL-terminated id */
    const char *name;         /* CALL: tool name bytes */
    size_t name_len;
    const char *finish;       /* FINISH: NUL-terminated finish reason */
} dsml_delta;

/* Receives deltas; returns 0, or nonzero to stop (the feed then returns DSML_E_CALLBACK). */
typedef int (*dsml_delta_fn)(void *ud, const dsml_delta *d);

/* Tool-call id generator: write a NUL-terminated id (at most DSML_ID_MAX bytes with the
 * NUL) for call number `index`. */
typedef void (*dsml_id_fn)(void *ud, uint32_t index, char out[DSML_ID_MAX]);

typedef struct dsml_oai_options {
    dsml_options parse;       /* parser options (dialect, flags, limits) */
    dsml_id_fn make_id;       /* NULL: "call_" + 24 hex from the system's random source */
    void *id_ud;
    /* Called for every parser warning (optional; for logs and `dsml check`). */
    int (*on_warning)(void *ud, const dsml_diag *w);
    void *warning_ud;
} dsml_oai_options;

/* Fill with defaults (parser defaults, random ids). */
void dsml_oai_options_init(dsml_oai_options *o);

/* Deterministic id generator for tests and CLI output: "call_" + 24 hex digits from a
 * splitmix64 sequence seeded with *(uint64_t *)ud (the seed advances per call). */
void dsml_id_seeded(void *ud, uint32_t index, char out[DSML_ID_MAX]);
/* Random id generator (getrandom); ud unused. */
void dsml_id_random(void *ud, uint32_t index, char out[DSML_ID_MAX]);

/* ---------------------------------------------------------------------------------------
 * Delta layer: owns a parser; feed completion text, receive deltas.
 * ------------------------------------------------------------------------------------- */
typedef struct dsml_oai dsml_oai;

/* Create. opts may be NULL (defaults). Returns NULL when out of memory or on bad options. */
dsml_oai *dsml_oai_new(const dsml_oai_options *opts, dsml_delta_fn fn, void *ud);
void dsml_oai_free(dsml_oai *o);
/* Feed completion bytes (any chunking). Returns DSML_OK or the parser's sticky error. */
dsml_code dsml_oai_feed(dsml_oai *o, const char *data, size_t len);
/* End of input: flushes, emits the FINISH delta. Returns the parser's final code. */
dsml_code dsml_oai_finish(dsml_oai *o);
/* Forget everything fed (options, callback and memory kept). */
void dsml_oai_reset(dsml_oai *o);
/* End the reasoning now (see dsml_end_reasoning); for upstreams that already separate
 * reasoning_content from content. */
dsml_code dsml_oai_end_reasoning(dsml_oai *o);
/* The parser's result (valid after finish). */
const dsml_result *dsml_oai_result(const dsml_oai *o);

/* ---------------------------------------------------------------------------------------
 * Message builder: the non-stream OpenAI assistant message.
 * ------------------------------------------------------------------------------------- */
typedef struct dsml_call {
    char id[DSML_ID_MAX];
    dsml_buf name;            /* raw UTF-8 */
    dsml_buf arguments;       /* JSON text */
    int complete;
} dsml_call;

typedef struct dsml_message {
    dsml_buf content;         /* raw UTF-8 */
    dsml_buf reasoning;       /* raw UTF-8 */
    int has_content;          /* any content byte was seen */
    int has_reasoning;        /* thinking mode: reasoning_content is reported */
    dsml_call *calls;         /* complete calls only, in order */
    size_t ncalls, cap;
    const char *finish;       /* "stop", "tool_calls", "length" (static string) */
    dsml_result result;       /* the parser's result */
    /* builder state (dsml_message_on_delta): content length when the block / the last call
     * began, and whether the last call is still open */
    size_t mark_block, mark_invoke;
    int open_call;
} dsml_message;

/* Parse a whole completion into *m (zeroed first). Built on the same streaming parser, fed
 * in chunks of `chunk` bytes (0 = all at once). A call cut off at end of input is left out
 * of m->calls and its raw text appended to m->content, finish "length". Returns the
 * parser's final code (DSML_OK, or an error in strict mode; m then holds what was parsed
 * up to the error). Release with dsml_message_free(). */
dsml_code dsml_parse_message(const char *text, size_t len, const dsml_oai_options *opts,
                             size_t chunk, dsml_message *m);

/* A dsml_delta_fn that builds a message: create the delta layer with
 * dsml_oai_new(opts, dsml_message_on_delta, &m) where m is a zeroed dsml_message (set
 * m.has_reasoning yourself for thinking mode), feed it (dsml_oai_end_reasoning works as
 * usual, so an upstream's separate reasoning and content can be fed one after the other),
 * finish it, then call dsml_message_finish(). Returns 0 or -1 (out of memory). */
int dsml_message_on_delta(void *message, const dsml_delta *d);

/* Complete a message built with dsml_message_on_delta once dsml_oai_finish() has returned:
 * stores *r in m->result, and when a call was cut off by the end of input (r->status ==
 * DSML_INCOMPLETE) removes it from m->calls and appends `tail` to the content - pass the
 * bytes fed to the parser from r->incomplete_at to the end (NULL/0 when you have not kept
 * them: then the cut-off call is only removed). Whitespace-only tails are not appended.
 * Returns 0 or -1 (out of memory). */
int dsml_message_finish(dsml_message *m, const dsml_result *r, const char *tail, size_t tail_len);

/* Release the memory of a message (the struct itself is the caller's). */
void dsml_message_free(dsml_message *m);

/* Write the message as one JSON object:
 *   {"role":"assistant","content":<string|null>[,"reasoning_content":<string>]
 *    [,"tool_calls":[{"id":…,"type":"function","function":{"name":…,"arguments":…}}…]]}
 * content is null when no content byte was seen; reasoning_content is present only when
 * m->has_reasoning; tool_calls is omitted when there are none. Returns 0 or -1. */
int dsml_message_json(const dsml_message *m, dsml_buf *out);

/* ---------------------------------------------------------------------------------------
 * Chunk writer: deltas -> OpenAI `chat.completion.chunk` SSE events
 * (reference/openai-wire.md §1.3). Writes `data: {…}\n\n` per chunk to the sink:
 *   - the first chunk carries {"role":"assistant","content":""} (dsml_chunker_start(), or
 *     automatically before the first delta);
 *   - REASONING -> {"reasoning_content":"…"}, CONTENT -> {"content":"…"};
 *   - CALL -> {"tool_calls":[{"index":i,"id":…,"type":"function",
 *             "function":{"name":…,"arguments":""}}]};
 *   - ARGS -> {"tool_calls":[{"index":i,"function":{"arguments":"…"}}]};
 *   - FINISH -> a chunk with an empty delta and finish_reason, then (include_usage) the usage
 *     chunk with "choices":[], then `data: [DONE]`.
 * Every chunk repeats id, object, created, model (and system_fingerprint when set); with
 * include_usage every other chunk carries "usage":null.
 * ------------------------------------------------------------------------------------- */
typedef struct dsml_chunk_options {
    const char *id;                 /* "chatcmpl-…"; NULL: generated */
    const char *model;              /* NULL: "" */
    int64_t created;                /* unix seconds; 0: now */
    const char *system_fingerprint; /* NULL: omitted */
    int include_usage;              /* stream_options.include_usage */
} dsml_chunk_options;

typedef struct dsml_chunker dsml_chunker;

/* Create a writer onto sink (the sink must outlive the writer). NULL when out of memory. */
dsml_chunker *dsml_chunker_new(const dsml_chunk_options *o, dsml_sink sink);
void dsml_chunker_free(dsml_chunker *c);
/* Write the role chunk now (idempotent). Returns 0, or the sink's nonzero failure. */
int dsml_chunker_start(dsml_chunker *c);
/* Write the chunk(s) for one delta. A dsml_delta_fn-compatible wrapper is
 * dsml_chunker_on_delta (ud = the chunker). Returns 0 or the sink's failure. */
int dsml_chunker_delta(dsml_chunker *c, const dsml_delta *d);
int dsml_chunker_on_delta(void *chunker, const dsml_delta *d);
/* Token counts for the usage chunk; call before the FINISH delta. */
void dsml_chunker_usage(dsml_chunker *c, uint64_t prompt_tokens, uint64_t completion_tokens);
/* Terminal error: writes `data: {"error":{"message":…,"type":…[,"code":…]}}` (code NULL:
 * omitted) and nothing else (clients treat the error event as the end). Returns 0 or the
 * sink's failure. */
int dsml_chunker_error(dsml_chunker *c, const char *message, const char *type,
                       const char *code);

#ifdef __cplusplus
}
#endif
#endif
