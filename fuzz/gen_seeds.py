#!/usr/bin/env python3
"""Generate the fuzz seed corpora (fuzz/corpus/<harness>/) and dictionaries (fuzz/*.dict).

Sources: the conformance vectors (spec/vectors), the golden encoder pairs (spec/golden), the
renderer cases (spec/render) and the proxy's recorded completions (tests/proxy/rec). The
input layouts are described in fuzz/fuzz.h and fuzz/README.md. Deterministic: running it
twice gives the same files, so the committed corpus only changes when its sources do.

usage: python3 fuzz/gen_seeds.py [--root DIR] [--dsv4 BIN]

--dsv4: the engine's command; its tiny model's metadata (every hyperparameter and the
tokenizer, no tensors) becomes a GGUF seed. Without it an existing such seed is kept.
"""
import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import tempfile

BAR = "\uff5c"
LOW = "\u2581"
EOS = f"<{BAR}end{LOW}of{LOW}sentence{BAR}>"
BOS = f"<{BAR}begin{LOW}of{LOW}sentence{BAR}>"
DIALECTS = {"v4": 0, "v3.2": 1, "v3.1": 2, "auto": 3}
MAX_TOKEN = {4096: 0, 64: 1, 100: 2, 300: 3}


def opt_bytes(dialect="v4", thinking=False, strict=False, lookalikes=False, lines=False,
              max_token=4096, max_value=0):
    """The two option bytes of fuzz.h for these options (nearest supported limits)."""
    a = DIALECTS[dialect] | (4 if thinking else 0) | (8 if strict else 0)
    a |= (16 if lookalikes else 0) | (32 if lines else 0)
    mt = min(MAX_TOKEN, key=lambda k: abs(k - max_token))
    a |= MAX_TOKEN[mt] << 6
    b = 0
    if max_value:
        v = 1
        while v < 7 and (8 << v) < max_value:
            v += 1
        b |= v << 3
    return bytes([a, b])


class Corpus:
    def __init__(self, root):
        self.root = root
        self.files = {}

    def add(self, harness, name, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        d = self.files.setdefault(harness, {})
        digest = hashlib.sha1(data).hexdigest()[:8]
        if any(v == data for v in d.values()):
            return
        d[f"{name}-{digest}"] = data

    def write(self):
        base = os.path.join(self.root, "fuzz", "corpus")
        if os.path.isdir(base):
            shutil.rmtree(base)
        total = 0
        for harness, files in sorted(self.files.items()):
            os.makedirs(os.path.join(base, harness))
            for name, data in sorted(files.items()):
                with open(os.path.join(base, harness, name), "wb") as f:
                    f.write(data)
                total += len(data)
            print(f"fuzz/corpus/{harness}: {len(files)} seeds")
        print(f"total {total} bytes")


# --------------------------------------------------------------------------------------
# completions (DSML text) with their options
# --------------------------------------------------------------------------------------
def completions(root):
    """Yield (name, text, options dict)."""
    vdir = os.path.join(root, "spec", "vectors")
    for fn in sorted(os.listdir(vdir)):
        if not fn.endswith(".json"):
            continue
        with open(os.path.join(vdir, fn), encoding="utf-8") as f:
            v = json.load(f)
        o = v.get("options", {})
        opts = dict(dialect=o.get("dialect", "v4"), thinking=bool(o.get("thinking")),
                    lookalikes=bool(o.get("lookalikes")), max_token=o.get("max_token", 4096),
                    max_value=o.get("max_value", 0))
        yield "v-" + fn[:-5], v["input"], opts, v
    gdir = os.path.join(root, "spec", "golden")
    for sub in sorted(os.listdir(gdir)):
        d = os.path.join(gdir, sub)
        if not os.path.isdir(d):
            continue
        dialect = "v3.2" if "v3.2" in sub else "v4"
        for fn in sorted(os.listdir(d)):
            if not fn.endswith(".txt"):
                continue
            with open(os.path.join(d, fn), encoding="utf-8") as f:
                prompt = f.read()
            turns = prompt.split(f"<{BAR}Assistant{BAR}>")[1:]
            for i, t in enumerate(turns):
                t = t.split(f"<{BAR}User{BAR}>")[0]
                thinking = t.startswith("<think>")
                if t.startswith("<think>"):
                    t = t[len("<think>"):]
                elif t.startswith("</think>"):
                    t = t[len("</think>"):]
                if t.strip():
                    yield (f"g-{sub}-{fn[:-4]}-{i}", t,
                           dict(dialect=dialect, thinking=thinking), None)
    rdir = os.path.join(root, "tests", "proxy", "rec")
    for fn in sorted(os.listdir(rdir)):
        if not fn.endswith(".txt") or fn in ("upcalls.txt", "bench.txt"):
            continue
        with open(os.path.join(rdir, fn), encoding="utf-8") as f:
            t = f.read()
        dialect = "v3.1" if "v31" in fn else "v3.2" if "v32" in fn else "v4"
        yield "r-" + fn[:-4], t, dict(dialect=dialect, thinking="thinking" in fn), None


def dsml_seeds(c, root):
    for name, text, opts, _ in completions(root):
        for strict in (False, True):
            h = opt_bytes(strict=strict, **opts)
            tag = name + ("-s" if strict else "-t")
            c.add("parse", tag, h + text.encode())
            # chunk/stream: plan byte 0x00 = one byte at a time; chunk: then a flags byte
            c.add("chunk", tag, h + b"\x00\x00" + text.encode())
            c.add("stream", tag, h + b"\x00" + text.encode())
            if not strict:
                c.add("roundtrip_dsml", tag, h + text.encode())
        c.add("diff", name, text)
    # line counting and small limits, a few times
    for name, text, opts, _ in list(completions(root))[:12]:
        o = dict(opts, lines=True, max_token=64)
        c.add("parse", name + "-lim", opt_bytes(**o) + text.encode())


# --------------------------------------------------------------------------------------
# OpenAI messages, requests, JSON values
# --------------------------------------------------------------------------------------
def assistant_messages(root):
    vdir = os.path.join(root, "spec", "vectors")
    for fn in sorted(os.listdir(vdir)):
        if not fn.endswith(".json"):
            continue
        with open(os.path.join(vdir, fn), encoding="utf-8") as f:
            v = json.load(f)
        e = v["expect"]
        m = {"role": "assistant", "content": e.get("content")}
        if "reasoning_content" in e:
            m["reasoning_content"] = e["reasoning_content"]
        calls = e.get("tool_calls") or []
        if calls:
            m["tool_calls"] = [{"id": f"call_{i}", "type": "function",
                                "function": {"name": tc["name"], "arguments": tc["arguments"]}}
                               for i, tc in enumerate(calls)]
        yield "v-" + fn[:-5], m
    for name, req, _ in requests(root):
        msgs = req.get("messages", req) if isinstance(req, dict) else req
        if not isinstance(msgs, list):
            continue
        for i, m in enumerate(msgs):
            if isinstance(m, dict) and m.get("role") == "assistant":
                yield f"{name}-{i}", m


def requests(root):
    rdir = os.path.join(root, "spec", "render")
    for fn in sorted(os.listdir(rdir)):
        if fn.endswith(".json"):
            with open(os.path.join(rdir, fn), encoding="utf-8") as f:
                text = f.read()
            try:
                yield "s-" + fn[:-5], json.loads(text), text
            except ValueError:
                yield "s-" + fn[:-5], None, text
    gdir = os.path.join(root, "spec", "golden")
    for sub in sorted(os.listdir(gdir)):
        d = os.path.join(gdir, sub)
        if not os.path.isdir(d):
            continue
        for fn in sorted(os.listdir(d)):
            if fn.endswith(".json"):
                with open(os.path.join(d, fn), encoding="utf-8") as f:
                    text = f.read()
                yield f"g-{sub}-{fn[:-5]}", json.loads(text), text


def compact(v):
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def openai_seeds(c, root):
    for name, m in assistant_messages(root):
        text = compact(m).encode("utf-8", "surrogatepass")
        for h in (0, 1, 2):  # target dialect v4, v3.2, v3.1
            c.add("roundtrip_openai", f"{name}-{h}", bytes([h]) + text)
        for tc in m.get("tool_calls") or []:
            args = tc.get("function", {}).get("arguments")
            if isinstance(args, str) and args:
                c.add("json", name, b"\x00" + args.encode("utf-8", "surrogatepass"))
    rdir = os.path.join(root, "spec", "render")
    for name, req, raw in requests(root):
        if isinstance(req, dict) and "model" in req or not isinstance(req, (dict, list)):
            text = raw.encode("utf-8", "surrogatepass")
        else:
            body = dict(req) if isinstance(req, dict) else {"messages": req}
            body["model"] = "deepseek-v4-flash"
            text = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
        c.add("request", name, b"\x00" + text)
        c.add("request", name + "-think", b"\x05" + text)
    for fn in sorted(os.listdir(rdir)):
        if fn.endswith(".txt") and fn.startswith("py"):
            with open(os.path.join(rdir, fn), encoding="utf-8") as f:
                lines = [ln.split() for ln in f if ln.strip() and not ln.startswith("#")]
            for i, parts in enumerate(lines[::40]):
                c.add("json", f"{fn[:-4]}-{i}", b"\x00" + parts[-1].encode())
    for i, t in enumerate([
        '{"a": [1, 2.50, -0, 1e400, "x\\u00e9\\ud83d\\ude00"], "b": {"c": null}}',
        '[true,false,null,"\\/\\b\\f\\n\\r\\t\\"\\\\"]', '"\\ud800"', '12345678901234567890123',
        '{"k":"v","k":"w"}', ' \t\r\n{} ', '[[[[[]]]]]', '0.1', '-0.0', '1E-7', '"\u65e5\U0001F600"',
    ]):
        c.add("json", f"x-{i}", bytes([i * 37 % 256]) + t.encode())


# --------------------------------------------------------------------------------------
# SSE streams (the proxy's upstream side)
# --------------------------------------------------------------------------------------
def sse_seeds(c, root):
    rdir = os.path.join(root, "tests", "proxy", "rec")
    for fn in sorted(os.listdir(rdir)):
        if not fn.endswith(".txt") or fn == "bench.txt":
            continue
        with open(os.path.join(rdir, fn), encoding="utf-8") as f:
            text = f.read()
        name = fn[:-4]
        thinking = "thinking" in fn
        pieces = [text[i:i + 7] for i in range(0, len(text), 7)]
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                "model": "m"}

        def chat(delta, finish=None):
            return dict(base, choices=[{"index": 0, "delta": delta,
                                        "finish_reason": finish}])

        events = []
        if fn == "upcalls.txt":
            for tc in json.loads(text):
                events.append(chat({"tool_calls": [tc]}))
        else:
            events.append(chat({"role": "assistant", "content": ""}))
            for p in pieces:
                events.append(chat({"content": p}))
        events.append(chat({}, "stop"))
        events.append(dict(base, choices=[], usage={"prompt_tokens": 3,
                                                    "completion_tokens": 9}))
        for variant in ("lf", "crlf", "comments"):
            nl = "\r\n" if variant == "crlf" else "\n"
            out = []
            for e in events:
                if variant == "comments":
                    out.append(": keep-alive" + nl)
                out.append("data: " + compact(e) + nl + nl)
            out.append("data: [DONE]" + nl + nl)
            h = 1 if thinking else 0
            c.add("sse", f"{name}-{variant}", bytes([h, 0x00]) + "".join(out).encode())
        # completions shape, split 3 ways
        comp = "".join("data: " + compact({"choices": [{"index": 0, "text": p,
                                                         "finish_reason": None}]}) + "\n\n"
                       for p in pieces) + "data: [DONE]\n\n"
        c.add("sse", f"{name}-completions", bytes([2, 0x05, 7, 0, 90, 0]) + comp.encode())
    c.add("sse", "error-event", b"\x00\x00" + b'data: {"error":{"message":"boom"}}\n\n')
    c.add("sse", "fields", b"\x00\x00" + "\ufeffevent: x\nid: 7\nretry: 30\ndata: a\ndata: b\n\n"
          "data\n\nid: a\x00b\ndata:c\r\rdata: d\r\n\r\n: tail\ndata: e".encode())


# --------------------------------------------------------------------------------------
# GGUF images (the engine's reader)
# --------------------------------------------------------------------------------------
GT = dict(u8=0, i8=1, u16=2, i16=3, u32=4, i32=5, f32=6, bool=7, str=8, arr=9, u64=10,
          i64=11, f64=12)
SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<B", 10: "<Q",
          11: "<q", 12: "<d"}


def gstr(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack("<Q", len(b)) + b


def gval(t, v):
    if t == GT["str"]:
        return gstr(v)
    if t == GT["arr"]:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(gval(et, x) for x in items)
    return struct.pack(SCALAR[t], v)


def gguf_image(kvs, tensors, align=32):
    """kvs: [(key, type, value)]; tensors: [(name, ggml type, dims, data bytes)]."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += gstr(k) + struct.pack("<I", t) + gval(t, v)
    offs, data = [], b""
    for name, t, dims, blob in tensors:
        data += b"\0" * (-len(data) % align)
        offs.append(len(data))
        data += blob
    for (name, t, dims, blob), off in zip(tensors, offs):
        out += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", t, off)
    out += b"\0" * (-len(out) % align)
    return out + data


def gguf_skip_value(b, i, t):
    if t == GT["str"]:
        (n,) = struct.unpack_from("<Q", b, i)
        return i + 8 + n
    if t == GT["arr"]:
        et, n = struct.unpack_from("<IQ", b, i)
        i += 12
        for _ in range(n):
            i = gguf_skip_value(b, i, et)
        return i
    return i + struct.calcsize(SCALAR[t])


def gguf_metadata_only(b):
    """The same image with its metadata and no tensors."""
    _, _, n_t, n_kv = struct.unpack_from("<4sIQQ", b, 0)
    i = 24
    for _ in range(n_kv):
        (kl,) = struct.unpack_from("<Q", b, i)
        i += 8 + kl
        (t,) = struct.unpack_from("<I", b, i)
        i = gguf_skip_value(b, i + 4, t)
    return b[:4] + struct.pack("<IQQ", 3, 0, n_kv) + b[24:i]


def gguf_seeds(c, root, dsv4):
    f16one = struct.pack("<e", 1.0)
    q8 = struct.pack("<e", 0.5) + bytes(range(32))
    kvs = [("general.architecture", GT["str"], "deepseek4"), ("general.alignment", GT["u32"], 32),
           ("a.u8", GT["u8"], 7), ("a.i8", GT["i8"], -7), ("a.u16", GT["u16"], 700),
           ("a.i16", GT["i16"], -700), ("a.u32", GT["u32"], 70000), ("a.i32", GT["i32"], -70000),
           ("a.f32", GT["f32"], 0.5), ("a.bool", GT["bool"], 1), ("a.u64", GT["u64"], 1 << 40),
           ("a.i64", GT["i64"], -(1 << 40)), ("a.f64", GT["f64"], 0.25),
           ("a.arr_i32", GT["arr"], (GT["i32"], [1, 2, 3])),
           ("a.arr_str", GT["arr"], (GT["str"], ["a", "", "\u65e5"])),
           ("a.arr_f32", GT["arr"], (GT["f32"], [1.0, -2.5]))]
    tensors = [("t.f32", 0, [4], struct.pack("<4f", 1, 2, 3, 4)),
               ("t.f16", 1, [8, 2], f16one * 16),
               ("t.q8_0", 8, [32], q8),
               ("t.i32", 26, [2, 1, 1, 2], struct.pack("<4i", 1, 2, 3, 4))]
    c.add("gguf", "containers", gguf_image(kvs, tensors))
    c.add("gguf", "metadata-only", gguf_image(kvs[:4], []))
    c.add("gguf", "align64", gguf_image([("general.alignment", GT["u32"], 64)], tensors[:2], 64))
    c.add("gguf", "empty", gguf_image([], []))
    base = os.path.join(root, "fuzz", "corpus", "gguf")
    if dsv4:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "tiny.gguf")
            subprocess.run([dsv4, "mkmodel", "--preset", "tiny", "--quant", "q8", "--seed", "1",
                            "-q", "-o", path], check=True)
            with open(path, "rb") as f:
                c.add("gguf", "m-tiny-metadata", gguf_metadata_only(f.read()))
    elif os.path.isdir(base):
        for fn in os.listdir(base):
            if fn.startswith("m-"):
                with open(os.path.join(base, fn), "rb") as f:
                    c.files.setdefault("gguf", {})[fn] = f.read()


# --------------------------------------------------------------------------------------
# dictionaries
# --------------------------------------------------------------------------------------
def dict_line(name, value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    out = []
    for b in value:
        if b in (0x22, 0x5C) or b < 0x20 or b > 0x7E:
            out.append("\\x%02x" % b)
        else:
            out.append(chr(b))
    return f'{name}="{"".join(out)}"'


def dsml_tokens():
    ds = f"{BAR}DSML{BAR}"
    toks = [
        f"<{ds}tool_calls>", f"</{ds}tool_calls>", f"<{ds}function_calls>",
        f"</{ds}function_calls>", f"<{ds} calls>", f"</{ds} calls>",
        f'<{ds}invoke name="', f"</{ds}invoke>", f'<{ds} invoke name="',
        f'<{ds}parameter name="', f"</{ds}parameter>", f"</{ds} parameter>", f"/{ds}parameter",
        ds, ' string="true">', ' string="false">', ' string="', " string='false'", " name='",
        'name="', '">', "'>", "=", '"', "'", " ", "\t", "\n", "\n\n", "\r\n",
        EOS, BOS, "<think>", "</think>", f"<{BAR}User{BAR}>", f"<{BAR}Assistant{BAR}>",
        f"<{BAR}tool{LOW}calls{LOW}begin{BAR}>", f"<{BAR}tool{LOW}calls{LOW}end{BAR}>",
        f"<{BAR}tool{LOW}call{LOW}begin{BAR}>", f"<{BAR}tool{LOW}call{LOW}end{BAR}>",
        f"<{BAR}tool{LOW}sep{BAR}>", f"<{BAR}latest_reminder{BAR}>",
        "<|DSML|", "</|DSML|", f"<DSML{BAR}", f"<{BAR}{BAR}DSML{BAR}{BAR}", "<||DSML||",
        BAR, LOW, b"\xef\xbd", "<", "</", ">",
        "{", "}", "[", "]", ":", ",", "true", "false", "null", "-0", "1.50", "1e400",
        "12345678901234567890", '"\\u0000"', '"\\ud83d\\ude00"', "\\/",
    ]
    return [t for t in toks if t]


def write_dicts(root):
    ds = dsml_tokens()
    json_toks = ["{", "}", "[", "]", ":", ",", '"', "\\", "true", "false", "null", "-", "0",
                 "1", ".5", "e+", "E-", "1e400", "-0", "0.1", "12345678901234567890",
                 "\\u", "\\ud83d", "\\ude00", "\\u0000", "\\n", "\\/", "\\\"", " ", "\t",
                 "\r\n", "\u65e5", "\u00e9", "\U0001F600", b"\xc0\x80", b"\xed\xa0\x80",
                 b"\xff"]
    openai = ['"role"', '"assistant"', '"user"', '"system"', '"tool"', '"developer"',
              '"content"', '"reasoning_content"', '"reasoning"', '"tool_calls"', '"id"',
              '"type"', '"function"', '"name"', '"arguments"', '"messages"', '"model"',
              '"tools"', '"parameters"', '"tool_choice"', '"none"', '"required"', '"auto"',
              '"stream"', '"stream_options"', '"include_usage"', '"thinking"',
              '"enabled"', '"disabled"', '"reasoning_effort"', '"max"', '"high"',
              '"chat_template_kwargs"', '"enable_thinking"', '"response_format"',
              '"json_object"', '"text"', '"image_url"', '"latest_reminder"', '"task"',
              '"action"', '"prefix"', '"wo_eos"', '"tool_call_id"', '"parallel_tool_calls"',
              '"choices"', '"message"', '"temperature"', '"max_tokens"', '"{}"',
              '"{\\"a\\": 1}"']
    sse = ["data: ", "data:", "event: ", "id: ", "retry: ", ": ", "\n\n", "\r\n", "\r",
           b"\xef\xbb\xbf", "[DONE]", '"choices":[{"index":0,"delta":{', '"content":"',
           '"reasoning_content":"', '"text":"', '"finish_reason":"stop"',
           '"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"f","arguments":"',
           '"usage":{"prompt_tokens":1,"completion_tokens":2}', '"error":{"message":"x"}']
    gguf = [b"GGUF\x03\x00\x00\x00", "general.alignment", "general.architecture",
            "deepseek4", "tokenizer.ggml.tokens", "tokenizer.ggml.merges",
            "tokenizer.ggml.token_type", "tokenizer.ggml.model", "block_count",
            "embedding_length", "context_length", "attention.head_count", "expert_count",
            "token_embd.weight", "output.weight", "blk.0.", ".weight",
            struct.pack("<Q", 0), struct.pack("<Q", 1 << 63), struct.pack("<I", 8),
            struct.pack("<I", 9), struct.pack("<I", 26), struct.pack("<Q", 32)]
    files = {
        "gguf.dict": gguf,
        "dsml.dict": ds,
        "json.dict": json_toks,
        "openai.dict": openai + json_toks + ds,
        "sse.dict": sse + json_toks + ds,
    }
    for fn, toks in files.items():
        seen, lines = set(), [f"# {fn}: generated by fuzz/gen_seeds.py (AFL++ and libFuzzer format)"]
        for i, t in enumerate(toks):
            line = dict_line(f"t{i}", t)
            key = line.split("=", 1)[1]
            if key in seen:
                continue
            seen.add(key)
            lines.append(line)
        with open(os.path.join(root, "fuzz", fn), "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"fuzz/{fn}: {len(lines) - 1} tokens")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--dsv4", help="the dsv4 command (for the tiny-model metadata seed)")
    a = ap.parse_args()
    c = Corpus(a.root)
    dsml_seeds(c, a.root)
    openai_seeds(c, a.root)
    sse_seeds(c, a.root)
    gguf_seeds(c, a.root, a.dsv4)
    c.write()
    write_dicts(a.root)


if __name__ == "__main__":
    main()
