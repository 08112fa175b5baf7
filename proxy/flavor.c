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
 *     mode: chat_template_kwargs {"thinking": bool}.
 *   ds4: thinking {"type": enabled|disabled} and reasoning_effort are passed as the
 *     DeepSeek API spells them.
 *   generic: nothing beyond the standard fields; thinking is forwarded as
 *     thinking {"type": …} (DeepSeek API convention).
 */
#include <string.h>

#include "proxy.h"

static const char *names[] = {"generic", "llamacpp", "vllm", "sglang", "ds4"};

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

static void set_default(json_t *o, const char *k, json_t *v)
{
    if (!json_object_get(o, k))
        json_object_set_new(o, k, v);
    else
        json_decref(v);
}

static void template_kwargs(json_t *body, int thinking)
{
    json_t *k = json_object_get(body, "chat_template_kwargs");
    if (!json_is_object(k)) {
        k = json_object();
        json_object_set_new(body, "chat_template_kwargs", k);
    }
    set_default(k, "thinking", json_boolean(thinking));
}

void proxy_flavor_apply(const proxy_config *c, int completions, json_t *body, int thinking,
                        const char *effort)
{
    switch (c->flavor) {
    case PROXY_FLAVOR_VLLM:
    case PROXY_FLAVOR_SGLANG:
        set_default(body, "skip_special_tokens", json_false());
        set_default(body, "spaces_between_special_tokens", json_false());
        if (completions) {
            if (c->flavor == PROXY_FLAVOR_VLLM)
                set_default(body, "add_special_tokens", json_false());
        } else {
            json_object_del(body, "thinking");
            template_kwargs(body, thinking);
            if (json_object_get(body, "tools"))
                json_object_set_new(body, "tool_choice", json_string("none"));
            json_object_del(body, "parallel_tool_calls");
        }
        break;
    case PROXY_FLAVOR_LLAMACPP:
        set_default(body, "cache_prompt", json_true());
        if (!completions) {
            json_object_del(body, "thinking");
            template_kwargs(body, thinking);
        }
        break;
    case PROXY_FLAVOR_DS4:
    case PROXY_FLAVOR_GENERIC:
        if (!completions) {
            json_t *t = json_object();
            json_object_set_new(t, "type", json_string(thinking ? "enabled" : "disabled"));
            json_object_set_new(body, "thinking", t);
            if (effort && c->flavor == PROXY_FLAVOR_DS4)
                set_default(body, "reasoning_effort", json_string(effort));
        }
        break;
    }
}
