/*
 * render.c - completions mode: a chat-completions request -> DeepSeek prompt text, by the
 * libdsml renderer (dsml_render.h). The proxy only chooses the options (dialect, thinking
 * mode); the text is entirely libdsml's. The renderer reads the request document the proxy
 * parsed (number text as the client wrote it), and itself takes `reasoning_effort` and
 * `tool_choice: "none"` (no tools block) from it.
 *
 * A forced tool_choice (named or "required") is enforced by prefilling the start of the
 * call (dsml_render_call_prefix): the prompt ends inside the tool-call block, so the model
 * can only continue the call. The same bytes are fed to the parser before the upstream's
 * text. Not in thinking mode: there the model must reason first, and the choice is only
 * checked on the output (the DeepSeek API refuses forced calls in thinking mode).
 */
#include <stdio.h>
#include <string.h>

#include "dsml_render.h"
#include "proxy.h"

static dsml_dialect render_dialect(const proxy_config *c)
{
    return c->dialect == DSML_V32 ? DSML_V32 : DSML_V4;
}

int proxy_render_prompt(const proxy_config *c, const proxy_req *q, int thinking, dsml_buf *out,
                        char *err, size_t errlen)
{
    dsml_render_options o;
    dsml_render_options_init(&o);
    o.dialect = render_dialect(c);
    o.thinking = thinking ? DSML_THINKING_ON : DSML_THINKING_OFF;
    dsml_sink sink = dsml_buf_sink(out);
    dsml_render_error re;
    if (dsml_render_prompt_jv(q->root, &o, &sink, &re) < 0) {
        snprintf(err, errlen, "%s%s%s (byte %zu)", re.message, re.path[0] ? " at " : "", re.path,
                 re.offset);
        return -1;
    }
    if (out->oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int proxy_call_prefix(const proxy_config *c, const proxy_req *q, int thinking, dsml_buf *out)
{
    if (thinking || (q->tool_choice != PROXY_TC_NAMED && q->tool_choice != PROXY_TC_REQUIRED))
        return 0;
    const char *name = q->tool_choice == PROXY_TC_NAMED ? q->tool_choice_name : NULL;
    dsml_sink sink = dsml_buf_sink(out);
    if (dsml_render_call_prefix(render_dialect(c), name, name ? strlen(name) : 0, &sink) < 0)
        return -1;
    return out->oom ? -1 : 0;
}
