/*
 * flavor.c - per-runtime knobs added to the upstream request body.
 *
 * Every knob exists because a runtime otherwise damages or misreads DSML; README.md
 * (proxy/) documents each one. Knobs are only added when the client did not set the
 * field itself.
 *
 *   all flavors, completions mode: stream_options.include_usage when streaming (token
 *     counts for the log; the client only gets the usage chunk if it asked).
 *   vllm, sglang: skip_special_tokens=false and spaces_between_special_tokens=false (｜DSML｜
 *     is a special token and is otherwise stripped before the proxy sees it); in chat mode
 *     thinking goes in chat_template_kwargs {"thinking": bool} and tool_choice is sent as
 *     "none" (the runtime must not run its own tool parser or guided decoding: the proxy
 *     parses and enforces the choice itself; tools stay in the request so the chat
 *     template renders them).
 *   vllm, completions: add_special_tokens=false (the rendered prompt carries BOS itself).
 *   llamacpp: cache_prompt=true (reuse the KV cache across turns of an agent loop); chat
 *     mode: chat_template_kwargs {"thinking": bool}; completions mode: preserved_tokens
 *     lists ｜DSML｜, <think>, </think> and the V3.1 tool tokens. llama-server prints a
 *     control token's text only when it was started with --special or the request lists
 *     the token in "preserved_tokens" (tools/server/server-context.cpp,
 *     accept_special_token; the field is read by params_from_json_cmpl in
 *     tools/server/server-task.cpp, and /v1/completions passes it through). On
 *     /v1/chat/completions llama-server replaces the field with its template's own list,
 *     so chat mode depends on the server's --special.
 *   ds4: thinking {"type": enabled|disabled} and reasoning_effort are passed as the
 *     DeepSeek API spells them.
 *   generic: nothing beyond the standard fields; thinking is forwarded as
 *     thinking {"type": …} (DeepSeek API convention).
 */
#include <string.h>

#include "proxy.h"

static const char *names[] = {"generic", "llamacpp", "vllm", "sglang", "ds4"};

/* Special tokens llama-server must print (completions mode). Tokens a vocabulary does not
 * have as one token are ignored by llama-server. */
#define LLAMACPP_PRESERVED                                                                    \
    "[\"｜DSML｜\",\"<think>\",\"</think>\",\"<｜tool▁calls▁begin｜>\",\"<｜tool▁calls▁end｜>\","       \
    "\"<｜tool▁call▁begin｜>\",\"<｜tool▁call▁end｜>\",\"<｜tool▁sep｜>\"]"

int proxy_flavor_parse(const char *s, proxy_flavor *out)
{
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(s, names[i])) {
            *out = (proxy_flavor)i;
            return 0;
        }
    if (!strcmp(s, "llama.cpp")) {
        *out = PROXY_FLAVOR_LLAMACPP;
        return 0;
    }
    return -1;
}

const char *proxy_flavor_name(proxy_flavor f)
{
    return (unsigned)f < sizeof names / sizeof *names ? names[f] : "?";
}

/* chat_template_kwargs.thinking, unless the client set it (its other members kept). */
static void template_kwargs(proxy_jobj *body, int thinking)
{
    const proxy_jmember *m = proxy_jobj_get(body, "chat_template_kwargs");
    proxy_jobj k = {0};
    if (m && m->jv)
        proxy_jobj_init(&k, m->jv);
    else if (m) /* set by the proxy itself: not expected; start afresh */
        proxy_jobj_del(body, "chat_template_kwargs");
    proxy_jobj_default(&k, "thinking", thinking ? "true" : "false");
    dsml_buf b = {0};
    if (proxy_jobj_write(&k, &b) < 0)
        body->oom = 1;
    else
        proxy_jobj_set(body, "chat_template_kwargs", b.data);
    dsml_buf_free(&b);
    proxy_jobj_free(&k);
}

void proxy_flavor_apply(const proxy_config *c, int completions, proxy_jobj *body, int thinking,
                        const char *effort)
{
    switch (c->flavor) {
    case PROXY_FLAVOR_VLLM:
    case PROXY_FLAVOR_SGLANG:
        proxy_jobj_default(body, "skip_special_tokens", "false");
        proxy_jobj_default(body, "spaces_between_special_tokens", "false");
        if (completions) {
            if (c->flavor == PROXY_FLAVOR_VLLM)
                proxy_jobj_default(body, "add_special_tokens", "false");
        } else {
            proxy_jobj_del(body, "thinking");
            template_kwargs(body, thinking);
            if (proxy_jobj_get(body, "tools"))
                proxy_jobj_set(body, "tool_choice", "\"none\"");
            proxy_jobj_del(body, "parallel_tool_calls");
        }
        break;
    case PROXY_FLAVOR_LLAMACPP:
        proxy_jobj_default(body, "cache_prompt", "true");
        if (completions)
            proxy_jobj_default(body, "preserved_tokens", LLAMACPP_PRESERVED);
        else {
            proxy_jobj_del(body, "thinking");
            template_kwargs(body, thinking);
        }
        break;
    case PROXY_FLAVOR_DS4:
    case PROXY_FLAVOR_GENERIC:
        if (!completions) {
            proxy_jobj_set(body, "thinking", thinking ? "{\"type\":\"enabled\"}"
                                                      : "{\"type\":\"disabled\"}");
            if (effort && c->flavor == PROXY_FLAVOR_DS4 && !proxy_jobj_get(body, "reasoning_effort"))
                proxy_jobj_set_str(body, "reasoning_effort", effort, strlen(effort));
        }
        break;
    }
}
