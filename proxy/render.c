/*
 * render.c - completions mode: a chat-completions request -> DeepSeek prompt text, by the
 * libdsml renderer (dsml_render.h). The proxy only chooses the options (dialect, thinking
 * mode, reasoning effort); the text is entirely libdsml's.
 */
#include <stdio.h>

#include "proxy.h"

#if defined(__has_include)
#if __has_include("dsml_render.h")
#define HAVE_DSML_RENDER 1
#endif
#endif

int proxy_render_prompt(const proxy_config *c, const json_t *req, int thinking,
                        const char *effort, dsml_buf *out, char *err, size_t errlen)
{
    (void)c;
    (void)req;
    (void)thinking;
    (void)effort;
    (void)out;
#ifdef HAVE_DSML_RENDER
#error "dsml_render.h is available: connect proxy_render_prompt() to it"
#else
    snprintf(err, errlen, "this build of libdsml has no prompt renderer (dsml_render.h); "
                          "use --mode chat");
    return -1;
#endif
}
