/*
 * testutil.h - helpers shared by the unit tests, the vector runner and the fuzz harnesses:
 * an event recorder that writes a normalised log of parser events (adjacent data pieces of
 * the same kind merged, so any chunking of the same input gives the same log) and feeding
 * plans (one-shot, fixed chunk size, one split point); and a semantic comparison of JSON
 * values.
 */
#ifndef DSML_TESTUTIL_H
#define DSML_TESTUTIL_H

#include <stddef.h>

#include "dsml.h"
#include "dsml_buf.h"
#include "dsml_jv.h"

/* Recorder state: pass &rec as ud with tu_callbacks(). */
typedef struct tu_rec {
    dsml_buf log;
    char last; /* kind letter of the last data entry, 0 if the last entry was not data */
} tu_rec;

/* Callbacks that append to a tu_rec. Log lines: "R:" reasoning, "r" reasoning end,
 * "C:" content, "B:<dialect>", "I:<name>", "P:<name>:<s|j>", "V:" value, "p:<flags>",
 * "A:" args, "i:<flags>", "b:<flags>", "W:<code>@<offset>". Data bytes are written with
 * non-printable bytes as \xHH. */
dsml_callbacks tu_callbacks(void);

/* Parse text with the given options, feeding it in pieces: chunk > 0 feeds chunk bytes at a
 * time; chunk == 0 feeds [0, split) then [split, len). Appends the log to rec (reset first)
 * and a final line "=<status>:<error code>@<offset>:<calls>:<incomplete_at>". Returns the
 * final code. */
dsml_code tu_parse_log(const char *text, size_t len, const dsml_options *o, size_t chunk,
                       size_t split, tu_rec *rec);

/* Append the final line "=<status>:<error code>@<offset>:<calls>:<incomplete_at>" for
 * result r to the log (as tu_parse_log does). */
void tu_log_result(tu_rec *rec, const dsml_result *r);

/* Free the recorder's memory. */
void tu_rec_free(tu_rec *rec);

/* Semantic equality of two JSON values: same types and structure, strings and keys byte
 * equal, integers by their text (with "-0" equal to "0"), floats as the nearest doubles.
 * Objects compare members in order (the document model already resolved duplicates).
 * Returns 1 when equal. */
int tu_jv_equal(const dsml_jv *a, const dsml_jv *b);

#endif
