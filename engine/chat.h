/*
 * chat.h - chat prompts for `dsv4 run --chat`: a user message rendered by the dsml
 * renderer into segments, whose special markers (and only those) become control tokens.
 * The only place where the engine depends on libdsml.
 */
#ifndef DSV4_CHAT_H
#define DSV4_CHAT_H

#include "tokenizer.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if this build includes the renderer. */
int dsv4_chat_available(void);

/* Tokenize the chat prompt of one user message (thinking: open <think>). Appends to *out.
 * Returns 0, or -1 with a message (renderer unavailable, render or tokenizer error). */
int dsv4_chat_tokenize(const struct dsv4_tokenizer *t, const char *user_text, int thinking, struct dsv4_ids *out,
                       char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
