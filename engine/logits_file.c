/*
 * logits_file.c - reader/writer of logits_file.h's format.
 */
#include "logits_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MAGIC[8] = {'D', 'S', 'V', '4', 'L', 'O', 'G', 'T'};

int dsv4_logits_write(const char *path, const int32_t *tokens, uint32_t n_pos, uint32_t n_vocab, const float *logits,
                      char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    uint32_t h[4] = {1, n_pos, n_vocab, 0};
    int ok = fwrite(MAGIC, 8, 1, f) == 1 && fwrite(h, sizeof h, 1, f) == 1 &&
             fwrite(tokens, 4, n_pos, f) == n_pos &&
             fwrite(logits, 4, (size_t)n_pos * n_vocab, f) == (size_t)n_pos * n_vocab;
    if (fclose(f) || !ok) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}

int dsv4_logits_read(const char *path, struct dsv4_logits_file *lf, char *err, size_t errlen)
{
    memset(lf, 0, sizeof *lf);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char m[8];
    uint32_t h[4];
    if (fread(m, 8, 1, f) != 1 || memcmp(m, MAGIC, 8) || fread(h, sizeof h, 1, f) != 1 || h[0] != 1 ||
        h[1] > (1u << 24) || h[2] > (1u << 24) || (uint64_t)h[1] * h[2] > (1ull << 32)) {
        fclose(f);
        snprintf(err, errlen, "%s: not a logits file (version 1)", path);
        return -1;
    }
    lf->n_pos = h[1];
    lf->n_vocab = h[2];
    lf->tokens = malloc((size_t)h[1] * 4 + 4);
    lf->logits = malloc((size_t)h[1] * h[2] * 4 + 4);
    if (!lf->tokens || !lf->logits || fread(lf->tokens, 4, h[1], f) != h[1] ||
        fread(lf->logits, 4, (size_t)h[1] * h[2], f) != (size_t)h[1] * h[2]) {
        fclose(f);
        dsv4_logits_free(lf);
        snprintf(err, errlen, "%s: truncated logits file", path);
        return -1;
    }
    fclose(f);
    return 0;
}

void dsv4_logits_free(struct dsv4_logits_file *f)
{
    free(f->tokens);
    free(f->logits);
    memset(f, 0, sizeof *f);
}
