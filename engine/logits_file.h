/*
 * logits_file.h - the binary file of per-position logits written by `dsv4 logits -o` and
 * by the oracle script (tests/oracle/), read by the tests.
 *
 * Layout (little-endian): "DSV4LOGT" (8 bytes), u32 version = 1, u32 n_pos, u32 n_vocab,
 * u32 flags (0), i32 tokens[n_pos], f32 logits[n_pos][n_vocab].
 */
#ifndef DSV4_LOGITS_FILE_H
#define DSV4_LOGITS_FILE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dsv4_logits_file {
    uint32_t n_pos, n_vocab;
    int32_t *tokens; /* [n_pos] */
    float *logits;   /* [n_pos * n_vocab] */
};

/* Write / read a logits file. Return 0 or -1 with a message naming the file. The reader
 * allocates tokens and logits (release with dsv4_logits_free). */
int dsv4_logits_write(const char *path, const int32_t *tokens, uint32_t n_pos, uint32_t n_vocab, const float *logits,
                      char *err, size_t errlen);
int dsv4_logits_read(const char *path, struct dsv4_logits_file *f, char *err, size_t errlen);
/* Release what dsv4_logits_read allocated and zero f. */
void dsv4_logits_free(struct dsv4_logits_file *f);

#ifdef __cplusplus
}
#endif
#endif
