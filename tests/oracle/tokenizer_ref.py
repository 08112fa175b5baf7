#!/usr/bin/env python3
"""Expected token ids of a multilingual sample from Hugging Face `tokenizers`, built from a
vocabulary exported by gguf_vocab.py with DeepSeek's pre-tokenizer configuration:

    tokenizer_ref.py --vocab vocab.json --out tests/engine/data/tokenizer_hf.txt

Each case is a list of segments: ordinary text (tokenized by a tokenizer that knows no
special tokens, so marker strings in text stay text) or one special marker (looked up).
Output format, per case: one line per segment, "T <hex>" (text) or "S <hex>" (special),
then "= id id ...", then a blank line. tests/engine/test_tokenizer.c reads it.
"""
import argparse
import json

CASES = [
    ["Hello world"],
    ["The quick brown fox jumps over the lazy dog."],
    ["I'm sure you'll see it's fine, isn't it? Don't worry."],
    ["  leading spaces and trailing spaces   "],
    ["tabs\tand\t\tmore\ttabs\n"],
    ["line one\nline two\n\nline four\r\nwindows\r\n\r\nend"],
    ["\n\n\n"],
    ["   \n   \n"],
    [" "],
    ["a  b   c    d"],
    ["12345678901234567890"],
    ["3.14159 2.71828 1,000,000 0.5%"],
    ["Version 1.2.3-beta+build.456, 2026-04-24 09:30:00"],
    ["$5.99, €12,50, £3 and ¥100"],
    ["def f(x):\n    return x ** 2  # square\n"],
    ["int main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n"],
    ["{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}"],
    ["if (a>=b && c!=d) { x->y = z[0]; } // comment"],
    ["<div class=\"main\">Hello</div>\n<br/>"],
    ["!!!??? ... --- *** >>> <<< ==="],
    [">;\n"],
    ["end.\n\nNext paragraph."],
    ["Größe, Straße, Mädchen, naïve café, résumé, coöperate"],
    ["e\u0301 combining acute, n\u0303, a\u0308"],
    ["¿Dónde está? ¡Olé! Ação e coração."],
    ["Привет, мир! Как дела?"],
    ["Καλημέρα κόσμε"],
    ["你好，世界！今天天气很好。"],
    ["人工智能正在改变世界，模型的参数越来越多。"],
    ["日本語のテキスト：カタカナとひらがな、漢字。"],
    ["東京タワー2024年に行きました"],
    ["안녕하세요, 만나서 반갑습니다."],
    ["مرحبا بالعالم"],
    ["नमस्ते दुनिया"],
    ["สวัสดีชาวโลก"],
    ["AI模型2024年发布，参数284B。"],
    ["emoji 😀😃😄 🚀🔥✨ 👍🏽 ❤️ 🇫🇷 👨‍👩‍👧‍👦 done"],
    ["full-width １２３ and ＡＢＣ, superscript x² and ½, Roman Ⅻ"],
    ["no\u00a0break\u2028line sep\u2029para\u200bzero width\u3000ideographic space"],
    ["form\x0bfeed\x0cand\x85next line"],
    ["mixed 123abc abc123 a1b2c3 ٣٤٥"],
    ["“smart quotes” ‘single’ — em dash – en dash … ellipsis"],
    ["<｜User｜> written in text stays text, and so does ｜DSML｜ and <think>"],
    [("<｜begin▁of▁sentence｜>", 1), "You are helpful.", ("<｜User｜>", 1), "What is 2+2?",
     ("<｜Assistant｜>", 1), ("</think>", 1), "It is 4.", ("<｜end▁of▁sentence｜>", 1)],
    [("<｜User｜>", 1), "Call the tool", ("<｜Assistant｜>", 1), ("<think>", 1), "thinking...",
     ("</think>", 1), "\n\n<", ("｜DSML｜", 1), "tool_calls>\n<", ("｜DSML｜", 1),
     "invoke name=\"get_weather\">\n<", ("｜DSML｜", 1), "parameter name=\"city\" string=\"true\">Paris</",
     ("｜DSML｜", 1), "parameter>\n</", ("｜DSML｜", 1), "invoke>\n</", ("｜DSML｜", 1), "tool_calls>"],
    ["A long line " * 20],
    ["x" * 300],
    ["    " * 30 + "indented"],
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    import tokenizers
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    v = json.load(open(a.vocab, encoding="utf-8"))
    vocab = {}
    for i, t in enumerate(v["tokens"]):
        vocab.setdefault(t, i)
    merges = [tuple(m.split(" ", 1)) for m in v["merges"]]
    tk = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\p{N}{1,3}"), behavior="isolated", invert=False),
        pre_tokenizers.Split(Regex("[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"), behavior="isolated", invert=False),
        pre_tokenizers.Split(Regex(
            r"""[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+"""
            r"""| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    out = ["# Expected ids from Hugging Face tokenizers %s (DeepSeek pre-tokenizer), vocabulary of"
           % tokenizers.__version__,
           "# `dsv4 mkmodel --preset small`; written by tests/oracle/tokenizer_ref.py.", ""]
    n_ids = 0
    for case in CASES:
        ids = []
        for seg in case:
            if isinstance(seg, tuple):
                text = seg[0]
                ids.append(vocab[text])
                out.append("S " + text.encode("utf-8").hex())
            else:
                ids.extend(tk.encode(seg, add_special_tokens=False).ids)
                out.append("T " + seg.encode("utf-8").hex())
        out.append("= " + " ".join(map(str, ids)))
        out.append("")
        n_ids += len(ids)
    open(a.out, "w").write("\n".join(out))
    print("tokenizer_ref: %d cases, %d ids, tokenizers %s" % (len(CASES), n_ids, tokenizers.__version__))


if __name__ == "__main__":
    main()
