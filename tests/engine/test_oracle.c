/*
 * test_oracle.c - the CPU engine against reference logits of Hugging Face transformers'
 * DeepseekV4ForCausalLM (tests/oracle/data/, produced by tests/oracle/run_device.sh on
 * the tiny f32, q8 and q2 models; see tests/oracle/README.md). Exact fp32 mode, prefill,
 * chunked prefill and token-by-token decode: ||engine - oracle|| / ||oracle|| <= 1e-4 at
 * every position. Also checks that the generator still writes the models the oracle saw
 * and that the safetensors copy holds the dequantised GGUF tensors.
 */
#include "fixtures.h"

#include "gguf.h"
#include "logits_file.h"
#include "model.h"
#include "quant.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BOUND 1e-4

static void check_against_oracle(const char *quant)
{
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/oracle/data/tiny-%s.logits", t_datadir(), quant);
    struct dsv4_logits_file ref;
    cr_assert_eq(dsv4_logits_read(path, &ref, err, sizeof err), 0, "%s", err);
    struct t_engine e;
    t_engine_open(&e, quant, 0, 2, 64, 0);
    cr_assert_eq(ref.n_vocab, e.m.hp.n_vocab);
    const size_t V = ref.n_vocab;
    const int n = (int)ref.n_pos;
    float *lg = malloc((size_t)n * V * sizeof *lg);
    const int modes = t_quick() ? 1 : 3;
    static const char *const names[] = {"prefill", "decode", "chunked prefill"};
    for (int mode = 0; mode < modes; mode++) {
        const int step = mode == 0 ? n : mode == 1 ? 1 : 37;
        dsv4_ctx_reset(e.ctx);
        for (int i = 0; i < n; i += step) {
            int cnt = n - i < step ? n - i : step;
            cr_assert_eq(dsv4_eval(e.ctx, ref.tokens + i, cnt, lg + (size_t)i * V, 1, err, sizeof err), 0, "%s", err);
        }
        double worst = 0, sum = 0;
        int worst_at = 0, agree = 0;
        for (int t = 0; t < n; t++) {
            double num = 0, den = 0;
            int am = 0, bm = 0;
            for (size_t v = 0; v < V; v++) {
                const float a = lg[(size_t)t * V + v], b = ref.logits[(size_t)t * V + v];
                num += (double)(a - b) * (a - b);
                den += (double)b * b;
                if (a > lg[(size_t)t * V + am]) am = (int)v;
                if (b > ref.logits[(size_t)t * V + bm]) bm = (int)v;
            }
            double rel = sqrt(num / den);
            sum += rel;
            agree += am == bm;
            if (rel > worst) {
                worst = rel;
                worst_at = t;
            }
        }
        cr_log_info("oracle tiny-%s %s: %d positions, relative error max %.3e (position %d) mean %.3e, argmax "
                    "agree %d/%d",
                    quant, names[mode], n, worst, worst_at, sum / n, agree, n);
        cr_assert(worst <= BOUND, "tiny-%s %s: relative error %.3e at position %d exceeds %g", quant, names[mode],
                  worst, worst_at, BOUND);
    }
    free(lg);
    dsv4_logits_free(&ref);
    t_engine_close(&e);
}

Test(oracle, tiny_f32_matches_transformers) { check_against_oracle("f32"); }

Test(oracle, tiny_q8_matches_transformers_on_its_dequantised_weights)
{
    if (t_quick()) cr_skip_test("slow under the sanitizers; runs in the plain pass");
    check_against_oracle("q8");
}

Test(oracle, tiny_q2_matches_transformers_on_its_dequantised_weights)
{
    if (t_quick()) cr_skip_test("slow under the sanitizers; runs in the plain pass");
    check_against_oracle("q2");
}

/* The oracle data is only valid for the exact models it was computed on. */
Test(oracle, the_generator_still_writes_the_models_the_oracle_saw)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/oracle/sha256-local.txt", t_datadir());
    size_t len;
    char *list = t_read_file(path, &len);
    cr_assert(list, "cannot read %s", path);
    const char *quants[] = {"f32", "q8", "q2"};
    for (int q = 0; q < (t_quick() ? 1 : 3); q++) {
        char *p = t_mkmodel("tiny", quants[q], 0, 0, NULL);
        size_t n;
        unsigned char *f = t_read_file(p, &n), h[32];
        char hex[65], line[128];
        t_sha256(f, n, h);
        t_hex(h, 32, hex);
        snprintf(line, sizeof line, "%s  tiny-%s.gguf", hex, quants[q]);
        cr_assert(strstr(list, line), "tiny-%s.gguf is now %s, not the file the oracle ran on: regenerate the "
                  "oracle data (tests/oracle/README.md)", quants[q], hex);
        free(f);
        unlink(p);
        free(p);
    }
    free(list);
}

/* ---- safetensors copy -------------------------------------------------------------------------- */

/* GGUF name of an official checkpoint tensor name (written from the reference's name table);
 * *expert is set for per-expert tensors. */
static int official_to_gguf(const char *off, char *out, size_t n, int *expert)
{
    static const char *const globals[][2] = {
        {"embed.weight", "token_embd.weight"}, {"head.weight", "output.weight"},
        {"norm.weight", "output_norm.weight"}, {"hc_head_fn", "output_hc_fn.weight"},
        {"hc_head_base", "output_hc_base.weight"}, {"hc_head_scale", "output_hc_scale.weight"}};
    static const char *const layer[][2] = {
        {"hc_attn_fn", "hc_attn_fn.weight"}, {"hc_attn_base", "hc_attn_base.weight"},
        {"hc_attn_scale", "hc_attn_scale.weight"}, {"hc_ffn_fn", "hc_ffn_fn.weight"},
        {"hc_ffn_base", "hc_ffn_base.weight"}, {"hc_ffn_scale", "hc_ffn_scale.weight"},
        {"attn_norm.weight", "attn_norm.weight"}, {"ffn_norm.weight", "ffn_norm.weight"},
        {"attn.wq_a.weight", "attn_q_a.weight"}, {"attn.q_norm.weight", "attn_q_a_norm.weight"},
        {"attn.wq_b.weight", "attn_q_b.weight"}, {"attn.wkv.weight", "attn_kv.weight"},
        {"attn.kv_norm.weight", "attn_kv_a_norm.weight"}, {"attn.wo_a.weight", "attn_output_a.weight"},
        {"attn.wo_b.weight", "attn_output_b.weight"}, {"attn.attn_sink", "attn_sinks.weight"},
        {"attn.compressor.wkv.weight", "attn_compressor_kv.weight"},
        {"attn.compressor.wgate.weight", "attn_compressor_gate.weight"},
        {"attn.compressor.ape", "attn_compressor_ape.weight"},
        {"attn.compressor.norm.weight", "attn_compressor_norm.weight"},
        {"attn.indexer.wq_b.weight", "indexer.attn_q_b.weight"},
        {"attn.indexer.weights_proj.weight", "indexer.proj.weight"},
        {"attn.indexer.compressor.wkv.weight", "indexer_compressor_kv.weight"},
        {"attn.indexer.compressor.wgate.weight", "indexer_compressor_gate.weight"},
        {"attn.indexer.compressor.ape", "indexer_compressor_ape.weight"},
        {"attn.indexer.compressor.norm.weight", "indexer_compressor_norm.weight"},
        {"ffn.gate.weight", "ffn_gate_inp.weight"}, {"ffn.gate.bias", "exp_probs_b.bias"},
        {"ffn.gate.tid2eid", "ffn_gate_tid2eid.weight"},
        {"ffn.shared_experts.w1.weight", "ffn_gate_shexp.weight"},
        {"ffn.shared_experts.w3.weight", "ffn_up_shexp.weight"},
        {"ffn.shared_experts.w2.weight", "ffn_down_shexp.weight"}};
    *expert = -1;
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
        if (!strcmp(off, globals[i][0])) return snprintf(out, n, "%s", globals[i][1]) > 0;
    int l, e, used = 0;
    char w[8];
    if (sscanf(off, "layers.%d.ffn.experts.%d.%2[w0-9].weight%n", &l, &e, w, &used) == 3 && off[used] == 0) {
        *expert = e;
        const char *g = !strcmp(w, "w1") ? "ffn_gate_exps.weight" : !strcmp(w, "w3") ? "ffn_up_exps.weight"
                                                                                      : "ffn_down_exps.weight";
        return snprintf(out, n, "blk.%d.%s", l, g) > 0;
    }
    if (sscanf(off, "layers.%d.%n", &l, &used) == 1)
        for (size_t i = 0; i < sizeof layer / sizeof layer[0]; i++)
            if (!strcmp(off + used, layer[i][0])) return snprintf(out, n, "blk.%d.%s", l, layer[i][1]) > 0;
    return 0;
}

Test(oracle, safetensors_hold_the_dequantised_gguf_tensors)
{
    char dir[4096], st[4200], err[512];
    snprintf(dir, sizeof dir, "%s/st-%d", t_tmpdir(), (int)getpid());
    char *p = t_mkmodel("tiny", t_quick() ? "q8" : "q2", 0, 0, dir);
    struct dsv4_gguf g;
    cr_assert_eq(dsv4_gguf_open(&g, p, err, sizeof err), 0, "%s", err);
    snprintf(st, sizeof st, "%s/model.safetensors", dir);
    size_t len;
    char *f = t_read_file(st, &len);
    cr_assert(f);
    uint64_t hl;
    memcpy(&hl, f, 8);
    const char *data = f + 8 + hl;
    int checked = 0;
    size_t expected = 0;
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const struct dsv4_gguf_tensor *t = &g.tensors[i];
        expected += t->n_dims == 3 ? (size_t)t->ne[2] : 1;
    }
    /* walk the header's entries: "name":{"dtype":"X","shape":[..],"data_offsets":[a,b]} */
    for (const char *q = strstr(f + 8, ",\""); q && q < data; q = strstr(q + 1, ",\"")) {
        char name[128], dtype[8];
        unsigned long long a, b;
        if (sscanf(q, ",\"%127[^\"]\":{\"dtype\":\"%7[^\"]\"", name, dtype) != 2) continue;
        const char *o = strstr(q, "\"data_offsets\":[");
        cr_assert(o && sscanf(o, "\"data_offsets\":[%llu,%llu]", &a, &b) == 2);
        char gname[128];
        int e;
        cr_assert(official_to_gguf(name, gname, sizeof gname, &e), "unknown official name %s", name);
        const struct dsv4_gguf_tensor *t = dsv4_gguf_find_tensor(&g, gname);
        cr_assert(t, "%s -> %s not in the GGUF", name, gname);
        const int64_t per = t->ne[0] * t->ne[1];
        const uint8_t *src = t->data + (e >= 0 ? (size_t)e * (size_t)(per / dsv4_type_get(t->type)->block_elems) *
                                                     (size_t)dsv4_type_get(t->type)->block_bytes
                                               : 0);
        if (t->type == DSV4_TYPE_I32) {
            cr_assert_str_eq(dtype, "I64");
            cr_assert_eq(b - a, (unsigned long long)per * 8);
            for (int64_t k = 0; k < per; k++) {
                int32_t x;
                int64_t y;
                memcpy(&x, src + 4 * k, 4);
                memcpy(&y, data + a + 8 * k, 8);
                cr_assert_eq(x, y, "%s[%lld]", name, (long long)k);
            }
        } else {
            cr_assert_str_eq(dtype, "F32");
            cr_assert_eq(b - a, (unsigned long long)per * 4, "%s size", name);
            float *deq = malloc((size_t)per * sizeof *deq);
            dsv4_dequantize_row(t->type, src, deq, per);
            cr_assert(!memcmp(deq, data + a, (size_t)per * 4), "%s differs from dequantised %s", name, gname);
            free(deq);
        }
        checked++;
    }
    cr_assert_eq((size_t)checked, expected, "checked %d of %zu tensors", checked, expected);
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    char *c = t_read_file(cfg, &len);
    cr_assert(c && strstr(c, "\"model_type\": \"deepseek_v4\"") && strstr(c, "\"compress_ratios\": [0, 0, 4, 128, 4, 0]"));
    free(c);
    free(f);
    dsv4_gguf_close(&g);
    unlink(st);
    unlink(cfg);
    rmdir(dir);
    unlink(p);
    free(p);
}
