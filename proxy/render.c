/*
 * render.c - completions mode: a chat-completions request -> DeepSeek prompt text, by the
 * libdsml renderer (dsml_render.h). The proxy only chooses the options (dialect, thinking
 * mode); the text is entirely libdsml's. Reasoning effort is read by the renderer from
 * the request's `reasoning_effort`.
 *
 * Builds without the renderer (a libdsml that predates dsml_render.h) answer every
 * completions-mode request with a clear error instead of failing to compile.
 */
#include <stdio.h>

#include "proxy.h"

#if defined(__has_include)
#if __has_include("dsml_render.h")
#define HAVE_DSML_RENDER 1
#include "dsml_render.h"
#endif
#endif

int proxy_render_prompt(const proxy_config *c, const json_t *req, int thinking,
                        const char *effort, dsml_buf *out, char *err, size_t errlen)
{
    (void)effort;
#ifdef HAVE_DSML_RENDER
    dsml_buf json = {0};
    if (proxy_json_write(req, &json) < 0) {
        dsml_buf_free(&json);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    dsml_render_options o;
    dsml_render_options_init(&o);
    o.dialect = c->dialect == DSML_V32 ? DSML_V32 : DSML_V4;
    o.thinking = thinking ? DSML_THINKING_ON : DSML_THINKING_OFF;
    dsml_sink sink = dsml_buf_sink(out);
    dsml_render_error re;
    int rc = dsml_render_prompt(json.data, json.len, &o, &sink, &re);
    dsml_buf_free(&json);
    if (rc < 0) {
        snprintf(err, errlen, "%s%s%s", re.message, re.path[0] ? " at " : "", re.path);
        return -1;
    }
    return out->oom ? -1 : 0;
#else
    (void)c;
    (void)req;
    (void)thinking;
    (void)out;
    snprintf(err, errlen, "this build of libdsml has no prompt renderer (dsml_render.h); "
                          "use --mode chat");
    return -1;
#endif
}
