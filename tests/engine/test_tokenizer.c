/*
 * test_tokenizer.c - pre-tokenizer pieces, BPE merge order, special tokens only from
 * special segments, lossless byte round trips, and agreement with Hugging Face
 * `tokenizers` (expected ids committed in data/tokenizer_hf.txt).
 */
#include "fixtures.h"

#include "gguf.h"
#include "model.h"
#include "tokenizer.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- pre-tokenizer --------------------------------------------------------------------------- */

struct pieces {
    char buf[1024];
    size_t len;
    const char *text;
};

static void on_piece(void *ud, size_t off, size_t len)
{
    struct pieces *p = ud;
    p->len += (size_t)snprintf(p->buf + p->len, sizeof p->buf - p->len, "[%.*s]", (int)len, p->text + off);
}

static void expect_pieces(const char *text, const char *want)
{
    struct pieces p = {.text = text};
    dsv4_pretokenize(text, strlen(text), on_piece, &p);
    cr_assert_str_eq(p.buf, want, "pieces of \"%s\"", text);
}

Test(pretokenizer, splits_words_spaces_newlines_digits_and_punctuation)
{
    expect_pieces("Hello world", "[Hello][ world]");
    expect_pieces("  hi", "[ ][ hi]");
    expect_pieces("a\n\nb", "[a][\n\n][b]");
    expect_pieces("x   \n  y", "[x][   \n][ ][ y]");
    expect_pieces("a  ", "[a][  ]");
    expect_pieces("\t\tx", "[\t][\tx]");
    expect_pieces("12345", "[123][45]");
    expect_pieces("3.14", "[3][.][14]");
    expect_pieces("a1b", "[a][1][b]");
    expect_pieces(">;\n", "[>;\n]");
    expect_pieces(".Hello", "[.Hello]");
    expect_pieces("don't", "[don]['t]");
    expect_pieces("hello!!! world", "[hello][!!!][ world]");
    expect_pieces("你好world", "[你好][world]");
    expect_pieces("日本語です。", "[日本語です][。]");
    expect_pieces("", "");
}

Test(pretokenizer, keeps_invalid_utf8_bytes_as_their_own_pieces)
{
    const char text[] = "ab\xff\xfe cd";
    struct pieces p = {.text = text};
    dsv4_pretokenize(text, sizeof text - 1, on_piece, &p);
    cr_assert_str_eq(p.buf, "[ab][\xff\xfe][ cd]");
}

/* ---- a hand-made vocabulary -------------------------------------------------------------------- */

struct handvocab {
    uint8_t *file;
    struct dsv4_gguf g;
    struct dsv4_tokenizer *t;
};

static int hand_vocab_try(struct handvocab *h, const char *const *extra, int n_extra, const char *const *merges,
                          int n_merges, char *err, size_t errlen)
{
    const char *toks[300];
    char sym[256][4];
    int n = 0;
    for (int b = 0; b < 256; b++) {
        uint32_t cp = dsv4_byte_to_symbol((uint8_t)b);
        if (cp < 0x80) {
            sym[b][0] = (char)cp;
            sym[b][1] = 0;
        } else {
            sym[b][0] = (char)(0xC0 | cp >> 6);
            sym[b][1] = (char)(0x80 | (cp & 63));
            sym[b][2] = 0;
        }
        toks[n++] = sym[b];
    }
    for (int i = 0; i < n_extra; i++) toks[n++] = extra[i];
    int32_t types[300];
    for (int i = 0; i < n; i++) types[i] = i >= 256 && extra[i - 256][0] == '<' ? 3 : 1;
    struct dsv4_gguf_writer *w = dsv4_gguf_writer_new(32);
    dsv4_gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2");
    dsv4_gguf_writer_add_str(w, "tokenizer.ggml.pre", "joyai-llm");
    dsv4_gguf_writer_add_str_arr(w, "tokenizer.ggml.tokens", toks, NULL, (uint64_t)n);
    dsv4_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", DSV4_GGUF_I32, types, (uint64_t)n);
    dsv4_gguf_writer_add_str_arr(w, "tokenizer.ggml.merges", merges, NULL, (uint64_t)n_merges);
    size_t len;
    h->file = dsv4_gguf_writer_header(w, &len);
    dsv4_gguf_writer_free(w);
    cr_assert_eq(dsv4_gguf_parse(&h->g, h->file, len, err, errlen), 0, "%s", err);
    return dsv4_tokenizer_load(&h->t, &h->g, (uint32_t)n, err, errlen);
}

static void hand_vocab(struct handvocab *h, const char *const *extra, int n_extra, const char *const *merges,
                       int n_merges)
{
    char err[512];
    cr_assert_eq(hand_vocab_try(h, extra, n_extra, merges, n_merges, err, sizeof err), 0, "%s", err);
}

static void hand_free(struct handvocab *h)
{
    dsv4_tokenizer_free(h->t);
    dsv4_gguf_close(&h->g);
    free(h->file);
}

static void expect_tokens(const struct dsv4_tokenizer *t, const char *text, const char *want)
{
    struct dsv4_ids ids = {0};
    cr_assert_eq(dsv4_tokenize_text(t, text, strlen(text), &ids), 0);
    char got[512] = "";
    size_t k = 0;
    for (size_t i = 0; i < ids.n; i++) {
        size_t l;
        const char *s = dsv4_token_text(t, ids.v[i], &l);
        k += (size_t)snprintf(got + k, sizeof got - k, "[%.*s]", (int)l, s);
    }
    cr_assert_str_eq(got, want, "tokens of \"%s\"", text);
    dsv4_ids_free(&ids);
}

Test(bpe, merges_the_lowest_rank_pair_first_and_leftmost_on_ties)
{
    const char *extra[] = {"ab", "bc", "abc", "cd", "<|ctl|>"};
    const char *merges[] = {"b c", "a b", "a bc", "c d"};
    struct handvocab h;
    hand_vocab(&h, extra, 5, merges, 4);
    expect_tokens(h.t, "abcd", "[abc][d]");
    expect_tokens(h.t, "bcd", "[bc][d]");
    expect_tokens(h.t, "cd", "[cd]");
    expect_tokens(h.t, "abab", "[ab][ab]");
    expect_tokens(h.t, "ab cd", "[ab][Ġ][cd]");
    hand_free(&h);
}

Test(bpe, rejects_merges_whose_result_is_not_a_token)
{
    const char *extra[] = {"ab"};
    const char *merges[] = {"a b", "a x"};
    struct handvocab h = {0};
    char err[512];
    cr_assert_eq(hand_vocab_try(&h, extra, 1, merges, 2, err, sizeof err), -1);
    cr_assert(strstr(err, "tokenizer.ggml.merges': entry 1"), "%s", err);
    hand_free(&h);
}

Test(bpe, rejects_a_vocabulary_without_the_byte_symbols)
{
    const char *toks[] = {"ab"};
    struct dsv4_gguf_writer *w = dsv4_gguf_writer_new(32);
    dsv4_gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2");
    dsv4_gguf_writer_add_str_arr(w, "tokenizer.ggml.tokens", toks, NULL, 1);
    size_t len;
    uint8_t *f = dsv4_gguf_writer_header(w, &len);
    dsv4_gguf_writer_free(w);
    struct dsv4_gguf g;
    char err[512];
    cr_assert_eq(dsv4_gguf_parse(&g, f, len, err, sizeof err), 0);
    struct dsv4_tokenizer *t = NULL;
    cr_assert_eq(dsv4_tokenizer_load(&t, &g, 1, err, sizeof err), -1);
    cr_assert(strstr(err, "byte-level token for byte 0x00"), "%s", err);
    dsv4_gguf_close(&g);
    free(f);
}

/* ---- special tokens ------------------------------------------------------------------------------ */

static struct dsv4_tokenizer *model_tok;
static struct dsv4_model model;
static char *model_path;

static void open_small(void)
{
    char err[512];
    model_path = t_mkmodel("small", "f32", 0, 1, NULL);
    cr_assert_eq(dsv4_model_load(&model, model_path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dsv4_tokenizer_load(&model_tok, &model.gguf, model.hp.n_vocab, err, sizeof err), 0, "%s", err);
}

static void close_small(void)
{
    dsv4_tokenizer_free(model_tok);
    dsv4_model_free(&model);
    unlink(model_path);
    free(model_path);
}

TestSuite(tokenizer, .init = open_small, .fini = close_small);

Test(tokenizer, marker_strings_in_text_stay_text)
{
    const char *user = "<｜User｜>";
    int32_t id = dsv4_token_find(model_tok, user, strlen(user));
    cr_assert_geq(id, 0);
    cr_assert(dsv4_token_is_control(model_tok, id));
    struct dsv4_ids ids = {0};
    cr_assert_eq(dsv4_tokenize_text(model_tok, user, strlen(user), &ids), 0);
    cr_assert_gt(ids.n, 1);
    for (size_t i = 0; i < ids.n; i++) cr_assert_neq(ids.v[i], id, "text produced the control token");
    dsv4_ids_free(&ids);

    struct dsv4_tok_segment segs[] = {{"hi", 2, 0}, {user, strlen(user), 1}, {user, strlen(user), 0}};
    char err[256];
    cr_assert_eq(dsv4_tokenize(model_tok, segs, 3, &ids, err, sizeof err), 0, "%s", err);
    int hits = 0;
    for (size_t i = 0; i < ids.n; i++) hits += ids.v[i] == id;
    cr_assert_eq(hits, 1, "exactly the special segment becomes the control token");
    dsv4_ids_free(&ids);

    struct dsv4_tok_segment bad = {"<｜Nope｜>", strlen("<｜Nope｜>"), 1};
    cr_assert_eq(dsv4_tokenize(model_tok, &bad, 1, &ids, err, sizeof err), -1);
    cr_assert(strstr(err, "not a control token"), "%s", err);
    dsv4_ids_free(&ids);
}

Test(tokenizer, trusted_text_recognises_every_marker)
{
    const char *text = "<｜begin▁of▁sentence｜>hi<｜User｜>x</think>";
    struct dsv4_ids ids = {0};
    cr_assert_eq(dsv4_tokenize_trusted(model_tok, text, strlen(text), &ids), 0);
    cr_assert_eq(ids.v[0], dsv4_tokenizer_bos(model_tok));
    int ctl = 0;
    for (size_t i = 0; i < ids.n; i++) ctl += dsv4_token_is_control(model_tok, ids.v[i]);
    cr_assert_eq(ctl, 3);
    dsv4_ids_free(&ids);
}

/* ---- Hugging Face agreement ------------------------------------------------------------------------ */

static int unhex(const char *h, char *out)
{
    int n = 0;
    while (h[0] && h[1] && h[0] != '\n') {
        unsigned v;
        if (sscanf(h, "%2x", &v) != 1) break;
        out[n++] = (char)v;
        h += 2;
    }
    return n;
}

Test(tokenizer, matches_hugging_face_tokenizers_on_the_multilingual_sample)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/engine/data/tokenizer_hf.txt", t_datadir());
    size_t len;
    char *data = t_read_file(path, &len);
    cr_assert(data, "cannot read %s", path);
    struct dsv4_tok_segment segs[64];
    static char bufs[64][8192];
    int nseg = 0, cases = 0, ids_checked = 0;
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        if ((line[0] == 'T' || line[0] == 'S') && line[1] == ' ') {
            cr_assert_lt(nseg, 64);
            int n = unhex(line + 2, bufs[nseg]);
            segs[nseg] = (struct dsv4_tok_segment){bufs[nseg], (size_t)n, line[0] == 'S'};
            nseg++;
        } else if (line[0] == '=') {
            struct dsv4_ids ids = {0};
            char err[256];
            cr_assert_eq(dsv4_tokenize(model_tok, segs, (size_t)nseg, &ids, err, sizeof err), 0, "%s", err);
            char *p = line + 1;
            size_t k = 0;
            for (;;) {
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p) break;
                cr_assert_lt(k, ids.n, "case %d: engine gave %zu ids, fewer than expected", cases, ids.n);
                cr_assert_eq(ids.v[k], v, "case %d (\"%.*s\"): id %zu is %d, expected %ld", cases,
                             (int)(segs[0].len > 40 ? 40 : segs[0].len), segs[0].text, k, ids.v[k], v);
                k++;
                p = end;
            }
            cr_assert_eq(k, ids.n, "case %d: engine gave %zu ids, expected %zu", cases, ids.n, k);
            /* and the bytes round-trip */
            size_t off = 0;
            char joined[16384];
            for (size_t i = 0; i < ids.n; i++) {
                size_t l;
                const char *b = dsv4_token_bytes(model_tok, ids.v[i], &l);
                memcpy(joined + off, b, l);
                off += l;
            }
            size_t want = 0;
            for (int s = 0; s < nseg; s++) {
                cr_assert(!memcmp(joined + want, segs[s].text, segs[s].len), "case %d: bytes differ", cases);
                want += segs[s].len;
            }
            cr_assert_eq(off, want);
            ids_checked += (int)k;
            dsv4_ids_free(&ids);
            nseg = 0;
            cases++;
        }
    }
    cr_assert_geq(cases, 40, "only %d cases in %s", cases, path);
    cr_log_info("tokenizer: %d cases, %d ids agree with Hugging Face tokenizers", cases, ids_checked);
    free(data);
}
