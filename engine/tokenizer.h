/*
 * tokenizer.h - DeepSeek's byte-level BPE tokenizer, built from a GGUF's tokenizer.ggml.*
 * keys (model "gpt2", pre-tokenizer "joyai-llm" / "deepseek-v3").
 *
 * Text is cut by DeepSeek's three pre-tokenizer regexes applied in sequence (digit runs of
 * 1-3, CJK runs, then the word/punctuation/whitespace pattern), each piece is mapped to
 * GPT-2 byte symbols and merged by rank. Special (control) tokens are never recognised
 * inside text: the caller says which segments are special markers (the dsml renderer
 * reports its own marker byte ranges), so the same strings in user text or tool output
 * tokenize as ordinary text.
 */
#ifndef DSV4_TOKENIZER_H
#define DSV4_TOKENIZER_H

#include "gguf.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dsv4_tokenizer;

/* A growable list of token ids. Zero-initialise; release with dsv4_ids_free. */
struct dsv4_ids {
    int32_t *v;
    size_t n, cap;
};
/* Append one id. Returns 0 or -1 (out of memory). */
int dsv4_ids_push(struct dsv4_ids *ids, int32_t id);
/* Release the list and zero it. */
void dsv4_ids_free(struct dsv4_ids *ids);

/* One piece of input: ordinary text, or (special != 0) exactly one control (type 3) or
 * user-defined (type 4) token. */
struct dsv4_tok_segment {
    const char *text;
    size_t len;
    int special;
};

/* Build from the tokenizer keys of g (which must outlive nothing: strings are copied).
 * n_vocab: the model's vocabulary size, which the token list must match. Returns 0 or -1
 * with a one-line message naming the key and index. */
int dsv4_tokenizer_load(struct dsv4_tokenizer **out, const struct dsv4_gguf *g, uint32_t n_vocab,
                        char *err, size_t errlen);
/* Release a tokenizer (NULL is allowed). */
void dsv4_tokenizer_free(struct dsv4_tokenizer *t);

/* Append the ids of n segments to *out. A special segment must be the exact text of a
 * control token. Returns 0, or -1 with a message (unknown special, out of memory). */
int dsv4_tokenize(const struct dsv4_tokenizer *t, const struct dsv4_tok_segment *segs, size_t n,
                  struct dsv4_ids *out, char *err, size_t errlen);

/* Ordinary text only (no special tokens are recognised). Returns 0 or -1 (out of memory). */
int dsv4_tokenize_text(const struct dsv4_tokenizer *t, const char *text, size_t len, struct dsv4_ids *out);

/* Trusted text: every occurrence of a control or user-defined token's string becomes that
 * token (longest match wins); the rest is ordinary text. For prompts written by hand. */
int dsv4_tokenize_trusted(const struct dsv4_tokenizer *t, const char *text, size_t len,
                          struct dsv4_ids *out);

/* Pre-tokenizer alone: calls piece(ud, offset, len) for each piece of text, in order. */
void dsv4_pretokenize(const char *text, size_t len, void (*piece)(void *ud, size_t off, size_t len),
                      void *ud);

/* The bytes a token stands for (control tokens: their text). NULL for an invalid id. */
const char *dsv4_token_bytes(const struct dsv4_tokenizer *t, int32_t id, size_t *len);
/* The token's vocabulary string (byte-level symbols). NULL for an invalid id. */
const char *dsv4_token_text(const struct dsv4_tokenizer *t, int32_t id, size_t *len);
/* 1 if the token is a control token. */
int dsv4_token_is_control(const struct dsv4_tokenizer *t, int32_t id);
/* Id of the token whose vocabulary string is exactly s[0..len), or -1. */
int32_t dsv4_token_find(const struct dsv4_tokenizer *t, const char *s, size_t len);

/* Vocabulary size. */
int32_t dsv4_tokenizer_n_vocab(const struct dsv4_tokenizer *t);
int32_t dsv4_tokenizer_bos(const struct dsv4_tokenizer *t); /* -1 if none */
int32_t dsv4_tokenizer_eos(const struct dsv4_tokenizer *t); /* -1 if none */

/* GPT-2's byte -> code point map (bytes_to_unicode). */
uint32_t dsv4_byte_to_symbol(uint8_t b);

#ifdef __cplusplus
}
#endif
#endif
