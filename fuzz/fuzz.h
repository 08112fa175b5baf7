/*
 * fuzz.h - helpers shared by the fuzz harnesses (fuzz/fuzz_*.c).
 *
 * Every harness is one LLVMFuzzerTestOneInput() function; the same source links against
 * libFuzzer (clang -fsanitize=fuzzer), AFL++'s persistent-mode driver (afl-clang-fast
 * -fsanitize=fuzzer) or fuzz/replay.c (a plain main() that runs files, for regression
 * replay with any compiler). A harness checks invariants with FZ_CHECK: a violated
 * invariant prints what differed and aborts, which every engine records as a crash.
 *
 * Input layout shared by the parser harnesses (fuzz/README.md documents it for people who
 * write seeds by hand):
 *   byte 0  options: bits 0-1 dialect (v4, v3.2, v3.1, auto), bit 2 DSML_THINKING,
 *           bit 3 DSML_STRICT, bit 4 DSML_LOOKALIKES, bit 5 DSML_LINES,
 *           bits 6-7 max_token (4096, 64, 100, 300)
 *   byte 1  limits: bits 0-2 max_params (default, or 1 << (v - 1)), bits 3-5 max_value
 *           (default, or 8 << v bytes), bits 6-7 allocation failure (harness 1 only: the
 *           allocator fails after 0 = never, 1, 2 or 3 successful allocations)
 *   then    a feeding plan (fz_plan_read; only the harnesses that chunk their input)
 *   rest    the completion text
 */
#ifndef DSML_FUZZ_H
#define DSML_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "dsml.h"
#include "dsml_buf.h"
#include "dsml_convert.h"
#include "dsml_jv.h"
#include "testutil.h"

/* The entry point every harness defines (libFuzzer's name, also used by AFL++'s driver). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Print "invariant failed at FILE:LINE: COND" and the formatted detail to stderr, then
 * abort(). Never returns. */
void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

#define FZ_CHECK(cond, ...)                                                                    \
    do {                                                                                       \
        if (!(cond)) fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                          \
    } while (0)

/* ---------------------------------------------------------------------------------------
 * Reading the input: a cursor over the fuzz bytes. Reads past the end return 0.
 * ------------------------------------------------------------------------------------- */
typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;

unsigned fz_u8(fz_in *in);
unsigned fz_u16(fz_in *in);  /* little endian */
uint32_t fz_u32(fz_in *in);  /* little endian */

/* Decode the two option bytes (see the file header) into *o (initialised here).
 * *alloc_fail receives the allocation-failure setting (0 = never). */
void fz_read_options(fz_in *in, dsml_options *o, unsigned *alloc_fail);

/* The inverse, for messages: "dialect=v4 thinking strict ..." of o into buf. */
void fz_describe_options(const dsml_options *o, char *buf, size_t size);

/* ---------------------------------------------------------------------------------------
 * Feeding plans: how the harness cuts the text into feed calls. One plan byte p:
 *   p & 3 == 0   fixed chunks of (p >> 2) + 1 bytes
 *   p & 3 == 1   ((p >> 2) & 15) + 1 cut points follow as u16 (each taken modulo len + 1;
 *                repeated cuts give zero-length feeds)
 *   p & 3 == 2   random sizes 0..((p >> 2) + 1) from the u32 seed that follows
 *   p & 3 == 3   one byte at a time with a zero-length feed between bytes
 * ------------------------------------------------------------------------------------- */
typedef struct fz_plan {
    unsigned mode, arg;
    uint32_t seed;
    unsigned ncuts;
    unsigned cuts[16];
} fz_plan;

void fz_plan_read(fz_in *in, fz_plan *pl);

/* The chunk lengths for a text of len bytes: returns a malloc'd array of *n lengths that
 * sum to len (zero-length entries are feeds of nothing). */
size_t *fz_plan_chunks(const fz_plan *pl, size_t len, size_t *n);

/* ---------------------------------------------------------------------------------------
 * Event recorder with a grammar check: records the normalised log (testutil.h) and aborts
 * when events come in an order dsml.h does not allow (a value outside a parameter, an
 * invoke outside a block, reasoning after content, ...).
 * ------------------------------------------------------------------------------------- */
typedef struct fz_events {
    tu_rec rec;
    dsml_callbacks inner;
    unsigned flags;          /* the parser's option flags */
    int reasoning_ended, in_block, in_invoke, in_param, blocks, had_content;
    int invoke_params, invoke_args;
    uint32_t invoke_ends, warnings;
    uint32_t not_object;     /* invoke ends flagged DSML_END_ARGS_NOT_OBJECT */
    int think_open;          /* W_THINK_OPEN was reported (an echoed <think> was dropped) */
    uint64_t fed;            /* bytes fed so far (set by the harness before each feed) */
    const char *text;        /* whole input, for line:col checks (DSML_LINES) */
    size_t len;
} fz_events;

/* Callbacks for a parser whose ud is &ev. ev is reset here. */
dsml_callbacks fz_events_init(fz_events *ev, const dsml_options *o, const char *text,
                              size_t len);
/* After dsml_finish: the result agrees with the events seen (call and warning counts,
 * nothing left open unless the result says so, offsets within the input). */
void fz_events_final(const fz_events *ev, const dsml_result *r, dsml_code code);
void fz_events_free(fz_events *ev);

/* Parse text with a fresh parser, feeding it per the chunk list (NULL: one shot), with the
 * grammar-checking recorder. The log (with the final "=" line of tu_parse_log) is left in
 * ev->rec.log. Returns the final code. The parser is freed. */
dsml_code fz_parse_checked(const char *text, size_t len, const dsml_options *o,
                           const size_t *chunks, size_t nchunks, fz_events *ev);

/* ---------------------------------------------------------------------------------------
 * Conversion
 * ------------------------------------------------------------------------------------- */
/* dsml_convert from one format to another into out (cleared first), ids from a fixed seed
 * (dsml_id_seeded; the harnesses do not compare ids). A failure must come with a message;
 * running out of memory fails the check. Returns dsml_convert's result. */
int fz_convert(const char *in, size_t len, dsml_format from, dsml_format to, unsigned flags,
               dsml_buf *out, dsml_convert_error *err);

/* ---------------------------------------------------------------------------------------
 * JSON comparison
 * ------------------------------------------------------------------------------------- */
/* Structural equality with number text compared byte for byte (writers that keep number
 * text: the minifier, the proxy's request writer). */
int fz_jv_identical(const dsml_jv *a, const dsml_jv *b);

/* 1 when a[0..an) and b[0..bn) hold the same bytes (either pointer may be NULL when its
 * length is 0). */
int fz_bytes_eq(const void *a, size_t an, const void *b, size_t bn);

/* 1 when two JSON values are strings with the same bytes; a missing (NULL) or non-string
 * value counts as "". */
int fz_jv_str_eq(const dsml_jv *a, const dsml_jv *b);

/* 1 when two texts are byte equal, or both parse as JSON and are equal by tu_jv_equal
 * (testutil.h); 0 otherwise. */
int fz_json_text_equal(const char *a, size_t alen, const char *b, size_t blen);

/* 1 when s[0..n) is valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF). */
int fz_utf8_valid(const char *s, size_t n);

/* Printable form of bytes for failure messages (non-printable bytes as \xHH), in a
 * per-call-site rotating static buffer set: valid until the 4th next call. */
const char *fz_show(const char *s, size_t n);

/* 1 when the bytes contain needle. */
int fz_contains(const char *s, size_t n, const char *needle);

/* 1 when a text can travel through a DeepSeek turn unchanged in every dialect: nothing
 * that a parser could take for markup: no "DSML" (real or look-alike tags), no "<think>" /
 * "</think>", no BOS / EOS, no V3.1 "<｜tool▁…" tokens. Other <｜…｜> tokens are text. */
int fz_text_is_plain(const char *s, size_t n);

#endif
