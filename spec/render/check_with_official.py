#!/usr/bin/env python3
"""Re-derive the expected prompts of spec/render cases with DeepSeek's official encoders.

Cases whose .args file says "expected: output of the official encoder" were produced by
running DeepSeek's reference encoder (encoding/encoding_dsv4.py of the DeepSeek-V4 release,
encoding/encoding_dsv32.py of DeepSeek-V3.2 - the versions the golden pairs in spec/golden
test) on the encoder-level messages that the request maps to under spec/RENDER.md. This
script repeats that and compares with the committed .txt files. It needs those two files
on PYTHONPATH (they are not part of this repository):

    PYTHONPATH=/path/to/encoding python3 spec/render/check_with_official.py spec/render

Exit status 0 when every such case matches. The mapping below is the documented one
(spec/RENDER.md "Request mapping"); cases marked "derived by reasoning" are outside the
official encoder's domain and are skipped.
"""
import copy, json, os, sys

import encoding_dsv4 as E4
import encoding_dsv32 as E32


def encoder_messages(req, flags):
    """The request -> encoder call mapping of spec/RENDER.md."""
    if isinstance(req, list):
        req = {"messages": req}
    msgs = copy.deepcopy(req["messages"])
    if "--deepseek-roles" not in flags:
        for m in msgs:
            if m.get("role") == "developer":
                m["role"] = "system"
    eff = req.get("reasoning_effort")
    thinking = False
    if "thinking" in req:
        th = req["thinking"]
        thinking = th if isinstance(th, bool) else th["type"] == "enabled"
    elif "chat_template_kwargs" in req:
        kw = req["chat_template_kwargs"]
        thinking = bool(kw.get("thinking", kw.get("enable_thinking")))
    elif eff is not None:
        thinking = eff != "none"
    if "--thinking" in flags:
        thinking = True
    if "--chat" in flags:
        thinking = False
    effort = "max" if eff in ("max", "xhigh") else None
    if "--effort" in flags:
        effort = "max" if flags[flags.index("--effort") + 1] == "max" else None
    tools = req.get("tools")
    if req.get("tool_choice") == "none":
        tools = None
        for m in msgs:
            m.pop("tools", None)
    rf = req.get("response_format")
    if rf and rf.get("type") == "text":
        rf = None
    if tools or rf:
        if not msgs or msgs[0].get("role") not in ("system", "developer"):
            msgs.insert(0, {"role": "system"})
        if tools:
            msgs[0]["tools"] = tools
        if rf:
            msgs[0]["response_format"] = rf
    kw = dict(thinking_mode="thinking" if thinking else "chat",
              drop_thinking="--keep-reasoning" not in flags,
              add_default_bos_token="--no-bos" not in flags)
    if "v3.2" in flags:
        return E32.encode_messages(msgs, **kw)
    return E4.encode_messages(msgs, reasoning_effort=effort, **kw)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "spec/render"
    checked = bad = 0
    for name in sorted(os.listdir(d)):
        if not (name.startswith("y_") and name.endswith(".args")):
            continue
        base = os.path.join(d, name[:-5])
        lines = open(base + ".args", encoding="utf-8").read().splitlines()
        if not any(l.startswith("# expected: output of the official encoder") for l in lines):
            continue
        flags = " ".join(l for l in lines if not l.startswith("#")).split()
        req = json.load(open(base + ".json", encoding="utf-8"))
        want = open(base + ".txt", encoding="utf-8").read()
        got = encoder_messages(req, flags)
        checked += 1
        if got != want:
            bad += 1
            print("differs:", base)
    print("checked %d cases against the official encoders, %d differ" % (checked, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
