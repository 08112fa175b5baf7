#!/usr/bin/env python3
"""Reference logits of a `dsv4 mkmodel --safetensors DIR` model from Hugging Face
transformers' DeepseekV4ForCausalLM (pure PyTorch, fp32).

    oracle.py --model-dir DIR --n-tokens 448 --seed 1234 --out PREFILL.logits
              [--decode-out DECODE.logits] [--hidden-out HIDDEN.f16] [--device cpu|cuda]

The token ids are drawn from random.Random(seed) (BOS first) and stored in the output
files. Files use the engine's logits format (engine/logits_file.h): "DSV4LOGT", u32
version 1, u32 n_pos, u32 n_vocab, u32 flags, i32 tokens[n_pos], f32 logits[n_pos][n_vocab].

Checks made before any number is trusted:
  * the configuration HF derives from the official-style config.json (layer types,
    hash layers, rope parameters, ...) is printed and compared with the intended values;
    a mismatch is corrected explicitly and reported;
  * the model loaded by from_pretrained (official checkpoint names, converted by HF's own
    mapping) is compared tensor by tensor with an independent load of the safetensors
    through this script's name map; any missing, unexpected or different tensor is
    reported, and the independent load is used.
Prefill runs without a cache; decode feeds one token at a time through the cache.
"""
import argparse
import json
import math
import os
import random
import struct
import sys
import time

import torch


def log(*a):
    print(*a, flush=True)


def write_logits(path, tokens, logits):
    n, v = logits.shape
    with open(path, "wb") as f:
        f.write(b"DSV4LOGT")
        f.write(struct.pack("<4I", 1, n, v, 0))
        f.write(struct.pack("<%di" % n, *tokens))
        f.write(logits.detach().to(torch.float32).cpu().contiguous().numpy().tobytes())


def official_to_hf(name, n_experts):
    """The official checkpoint name -> this script's own HF parameter name(s).

    Written from the modeling code's module tree; independent of HF's conversion_mapping."""
    if name == "embed.weight":
        return "model.embed_tokens.weight"
    if name == "head.weight":
        return "lm_head.weight"
    if name == "norm.weight":
        return "model.norm.weight"
    if name.startswith("hc_head_"):
        return "model.hc_head.hc_" + name[len("hc_head_"):]
    parts = name.split(".")
    assert parts[0] == "layers", name
    l = parts[1]
    rest = ".".join(parts[2:])
    p = "model.layers.%s." % l
    simple = {
        "attn_norm.weight": "input_layernorm.weight",
        "ffn_norm.weight": "post_attention_layernorm.weight",
        "hc_attn_fn": "attn_hc.fn", "hc_attn_base": "attn_hc.base", "hc_attn_scale": "attn_hc.scale",
        "hc_ffn_fn": "ffn_hc.fn", "hc_ffn_base": "ffn_hc.base", "hc_ffn_scale": "ffn_hc.scale",
        "attn.wq_a.weight": "self_attn.q_a_proj.weight",
        "attn.q_norm.weight": "self_attn.q_a_norm.weight",
        "attn.wq_b.weight": "self_attn.q_b_proj.weight",
        "attn.wkv.weight": "self_attn.kv_proj.weight",
        "attn.kv_norm.weight": "self_attn.kv_norm.weight",
        "attn.wo_a.weight": "self_attn.o_a_proj.weight",
        "attn.wo_b.weight": "self_attn.o_b_proj.weight",
        "attn.attn_sink": "self_attn.sinks",
        "attn.compressor.wkv.weight": "self_attn.compressor.kv_proj.weight",
        "attn.compressor.wgate.weight": "self_attn.compressor.gate_proj.weight",
        "attn.compressor.ape": "self_attn.compressor.position_bias",
        "attn.compressor.norm.weight": "self_attn.compressor.kv_norm.weight",
        "attn.indexer.wq_b.weight": "self_attn.compressor.indexer.q_b_proj.weight",
        "attn.indexer.weights_proj.weight": "self_attn.compressor.indexer.scorer.weights_proj.weight",
        "attn.indexer.compressor.wkv.weight": "self_attn.compressor.indexer.kv_proj.weight",
        "attn.indexer.compressor.wgate.weight": "self_attn.compressor.indexer.gate_proj.weight",
        "attn.indexer.compressor.ape": "self_attn.compressor.indexer.position_bias",
        "attn.indexer.compressor.norm.weight": "self_attn.compressor.indexer.kv_norm.weight",
        "ffn.gate.weight": "mlp.gate.weight",
        "ffn.gate.bias": "mlp.gate.e_score_correction_bias",
        "ffn.gate.tid2eid": "mlp.gate.tid2eid",
        "ffn.shared_experts.w1.weight": "mlp.shared_experts.gate_proj.weight",
        "ffn.shared_experts.w3.weight": "mlp.shared_experts.up_proj.weight",
        "ffn.shared_experts.w2.weight": "mlp.shared_experts.down_proj.weight",
    }
    if rest in simple:
        return p + simple[rest]
    if rest.startswith("ffn.experts."):
        _, _, e, w, _ = rest.split(".")
        return (p + {"w1": "mlp.experts.gate_up_proj#g", "w3": "mlp.experts.gate_up_proj#u",
                     "w2": "mlp.experts.down_proj"}[w], int(e))
    raise KeyError(name)


def independent_state(model_dir, n_experts, inter):
    from safetensors.torch import load_file
    raw = load_file(os.path.join(model_dir, "model.safetensors"))
    out, experts = {}, {}
    for k, v in raw.items():
        t = official_to_hf(k, n_experts)
        if isinstance(t, tuple):
            experts.setdefault(t[0], {})[t[1]] = v
        else:
            out[t] = v
    for k, d in experts.items():
        base, part = (k.split("#") + [None])[:2]
        stacked = torch.stack([d[e] for e in range(len(d))])
        if part is None:
            out[base] = stacked
        else:
            out.setdefault(base, {})[part] = stacked
    for k in list(out):
        if isinstance(out[k], dict):
            out[k] = torch.cat([out[k]["g"], out[k]["u"]], dim=1)  # gate rows first
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--n-tokens", type=int, default=448)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--out", required=True)
    ap.add_argument("--decode-out")
    ap.add_argument("--hidden-out")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()

    import transformers
    from transformers import DeepseekV4Config, DeepseekV4ForCausalLM

    torch.set_grad_enabled(False)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    log("versions: python %s, torch %s, transformers %s" % (sys.version.split()[0], torch.__version__,
                                                            transformers.__version__))
    raw_cfg = json.load(open(os.path.join(a.model_dir, "config.json")))
    d = dict(raw_cfg)
    for k in ("swiglu_limit", "routed_scaling_factor", "rope_theta", "compress_rope_theta", "hc_eps", "rms_norm_eps"):
        if k in d:
            d[k] = float(d[k])  # the config class validates types strictly
    for _ in range(10):  # coerce or drop a field the strict config class rejects, and say so
        try:
            cfg = DeepseekV4Config(**d)
            break
        except Exception as e:
            import re
            m = re.search(r"field '([^']+)'", str(e))
            if not m or m.group(1) not in d:
                raise
            f, v = m.group(1), d[m.group(1)]
            log("config field %s = %r rejected: %s" % (f, v, str(e).splitlines()[-1]))
            if isinstance(v, int) and not isinstance(v, bool):
                d[f] = float(v)
            else:
                del d[f]
    n = cfg.num_hidden_layers
    want_layers = [{0: "sliding_attention", 4: "compressed_sparse_attention",
                    128: "heavily_compressed_attention"}[r] for r in raw_cfg["compress_ratios"][:n]]
    want_mlp = ["hash_moe"] * raw_cfg["num_hash_layers"] + ["moe"] * (n - raw_cfg["num_hash_layers"])
    fields = ["layer_types", "mlp_layer_types", "compress_rates", "rope_parameters", "qk_rope_head_dim",
              "partial_rotary_factor", "sliding_window", "index_topk", "index_n_heads", "index_head_dim",
              "swiglu_limit", "routed_scaling_factor", "norm_topk_prob", "scoring_func", "hc_mult",
              "hc_sinkhorn_iters", "hc_eps", "rms_norm_eps", "max_position_embeddings", "o_groups",
              "o_lora_rank", "q_lora_rank", "head_dim", "num_experts_per_tok", "n_routed_experts",
              "moe_intermediate_size", "tie_word_embeddings"]
    for f in fields:
        log("config.%s = %r" % (f, getattr(cfg, f, "<absent>")))
    fixes = []
    if list(cfg.layer_types) != want_layers:
        fixes.append("layer_types %r -> %r" % (cfg.layer_types, want_layers))
        cfg.layer_types = want_layers
    if list(cfg.mlp_layer_types) != want_mlp:
        fixes.append("mlp_layer_types %r -> %r" % (cfg.mlp_layer_types, want_mlp))
        cfg.mlp_layer_types = want_mlp
    if cfg.compress_rates.get("compressed_sparse_attention") != 4 or \
            cfg.compress_rates.get("heavily_compressed_attention") != 128:
        fixes.append("compress_rates %r" % (cfg.compress_rates,))
        cfg.compress_rates = {"compressed_sparse_attention": 4, "heavily_compressed_attention": 128}
    rp = cfg.rope_parameters or {}
    comp, main_ = rp.get("compress", {}) or {}, rp.get("main", {}) or {}
    rs = raw_cfg["rope_scaling"]
    prf = raw_cfg["qk_rope_head_dim"] / raw_cfg["head_dim"]
    want_comp = {"rope_type": "yarn", "rope_theta": float(raw_cfg["compress_rope_theta"]), "factor": float(rs["factor"]),
                 "original_max_position_embeddings": rs["original_max_position_embeddings"],
                 "beta_fast": float(rs["beta_fast"]), "beta_slow": float(rs["beta_slow"]),
                 "attention_factor": 1.0, "partial_rotary_factor": prf}
    want_main = {"rope_type": "default", "rope_theta": float(raw_cfg["rope_theta"]), "partial_rotary_factor": prf}
    def same(have, want):
        return all(k in have and (have[k] == want[k] if isinstance(want[k], str) else
                                  abs(float(have[k]) - float(want[k])) < 1e-12) for k in want)
    if not same(comp, want_comp) or not same(main_, want_main):
        fixes.append("rope_parameters %r -> main %r compress %r" % (rp, want_main, want_comp))
        cfg.rope_parameters = {"main": want_main, "compress": want_comp}
    if cfg.qk_rope_head_dim != raw_cfg["qk_rope_head_dim"]:
        fixes.append("qk_rope_head_dim %r" % cfg.qk_rope_head_dim)
    log("config fixes: %s" % (fixes or "none"))

    t0 = time.time()
    ref = independent_state(a.model_dir, cfg.n_routed_experts, cfg.moe_intermediate_size)
    try:
        model, info = DeepseekV4ForCausalLM.from_pretrained(a.model_dir, config=cfg, dtype=torch.float32,
                                                            output_loading_info=True)
        log("from_pretrained: %.1f s; missing %s; unexpected %s; mismatched %s" % (
            time.time() - t0, info.get("missing_keys"), info.get("unexpected_keys"), info.get("mismatched_keys")))
    except Exception as e:  # keep going with the independent load
        log("from_pretrained FAILED: %r" % (e,))
        model = DeepseekV4ForCausalLM(cfg).to(torch.float32)
        model.load_state_dict(ref, strict=False)
    sd = model.state_dict()
    problems = []
    for k, v in ref.items():
        if k not in sd:
            problems.append("not in model: %s" % k)
            continue
        mv = sd[k]
        if tuple(mv.shape) != tuple(v.shape):
            problems.append("%s shape %s vs %s" % (k, tuple(mv.shape), tuple(v.shape)))
        elif v.dtype.is_floating_point:
            if not torch.equal(mv.to(torch.float32), v.to(torch.float32)):
                problems.append("%s differs (max %g)" % (k, (mv.double() - v.double()).abs().max().item()))
        elif not torch.equal(mv.to(torch.int64), v.to(torch.int64)):
            problems.append("%s differs" % k)
    params = {k for k, _ in model.named_parameters()}
    uncovered = sorted(p for p in params if p not in ref)
    log("independent load: %d tensors; problems: %s; parameters without a source: %s" % (
        len(ref), problems or "none", uncovered or "none"))
    if problems:
        missing = model.load_state_dict(ref, strict=False)
        log("using the independent load: %s" % (missing,))
    model.to(a.device).eval()

    rnd = random.Random(a.seed)
    tokens = [0] + [rnd.randrange(cfg.vocab_size) for _ in range(a.n_tokens - 1)]
    ids = torch.tensor([tokens], device=a.device)
    t0 = time.time()
    try:
        out = model(input_ids=ids, use_cache=False, output_hidden_states=bool(a.hidden_out))
    except Exception as e:
        log("prefill with hidden states FAILED (%r); again without" % (e,))
        a.hidden_out = None
        out = model(input_ids=ids, use_cache=False)
    pre = out.logits[0].float()
    log("prefill: %d tokens in %.2f s, logits %s" % (len(tokens), time.time() - t0, tuple(pre.shape)))
    write_logits(a.out, tokens, pre)
    if a.hidden_out and getattr(out, "hidden_states", None):
        hs = [h[0].float().cpu() for h in out.hidden_states]
        log("hidden states: %d tensors of %s" % (len(hs), tuple(hs[0].shape)))
        with open(a.hidden_out, "wb") as f:
            f.write(struct.pack("<3I", len(hs), hs[-1].shape[0], hs[-1][0].numel()))
            for h in hs:
                f.write(h.reshape(h.shape[0], -1).to(torch.float16).numpy().tobytes())
    if a.decode_out:
        t0 = time.time()
        past, rows = None, []
        for t in range(len(tokens)):
            o = model(input_ids=ids[:, t:t + 1], past_key_values=past, use_cache=True)
            past = o.past_key_values
            rows.append(o.logits[0, -1].float())
        dec = torch.stack(rows)
        log("decode: %d steps in %.2f s" % (len(tokens), time.time() - t0))
        write_logits(a.decode_out, tokens, dec)
        rel = ((dec - pre).norm(dim=1) / pre.norm(dim=1)).cpu()
        log("oracle prefill vs decode: relative error per position max %.3e mean %.3e (argmax agree %d/%d)" % (
            rel.max().item(), rel.mean().item(), int((dec.argmax(1) == pre.argmax(1)).sum()), len(tokens)))


if __name__ == "__main__":
    main()
