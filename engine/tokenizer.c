/*
 * tokenizer.c - byte-level BPE with DeepSeek's pre-tokenizer.
 *
 * The pre-tokenizer reproduces three regexes applied in sequence, each with "isolated"
 * semantics (matches and the gaps between them both become pieces; a later regex only
 * sees the pieces of the earlier one):
 *   1. \p{N}{1,3}
 *   2. [\x{4e00}-\x{9fa5}\x{3040}-\x{309f}\x{30a0}-\x{30ff}]+
 *   3. [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+ | [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
 *      | ?[\p{P}\p{S}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
 * Pattern 3 is matched by hand with the leftmost-first, greedy-with-backtracking semantics
 * of a backtracking regex engine (see match3); \s is Oniguruma's Unicode whitespace.
 *
 * BPE merges the lowest-ranked adjacent pair first (leftmost on ties) with a binary heap
 * and lazy invalidation, O(n log n) per piece.
 */
#include "tokenizer.h"
#include "err.h"

#include "unicode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int dsv4_ids_push(struct dsv4_ids *ids, int32_t id)
{
    if (ids->n == ids->cap) {
        size_t nc = ids->cap ? 2 * ids->cap : 64;
        int32_t *v = realloc(ids->v, nc * sizeof *v);
        if (!v) return -1;
        ids->v = v;
        ids->cap = nc;
    }
    ids->v[ids->n++] = id;
    return 0;
}

void dsv4_ids_free(struct dsv4_ids *ids)
{
    free(ids->v);
    memset(ids, 0, sizeof *ids);
}

/* ---- byte symbols ------------------------------------------------------------------------ */

uint32_t dsv4_byte_to_symbol(uint8_t b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) return b;
    /* the others map to 256, 257, ... in byte order */
    unsigned n = 0;
    for (unsigned x = 0; x < b; x++)
        if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174)) n++;
    return 256 + n;
}

static int put_utf8(uint32_t cp, char *o)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 63)); o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 63));
    o[2] = (char)(0x80 | ((cp >> 6) & 63)); o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* ---- tables ------------------------------------------------------------------------------ */

struct merge_slot {
    uint64_t key; /* (left+1) << 32 | (right+1); 0 = empty */
    int32_t rank, id;
};

struct dsv4_tokenizer {
    int32_t n_vocab;
    char *text;            /* all vocabulary strings, NUL-separated */
    size_t *text_off;      /* [n_vocab + 1] */
    char *bytes;           /* decoded bytes of every token */
    size_t *bytes_off;     /* [n_vocab + 1] */
    uint8_t *type;         /* token type (3 = control, 4 = user-defined) */
    int32_t *vhash;        /* open addressing, id+1, 0 = empty */
    size_t vcap;
    struct merge_slot *mh; /* merges */
    size_t mcap;
    int32_t byte_tok[256];
    int32_t bos, eos;
    int32_t *controls;     /* ids of control / user-defined tokens, longest text first */
    size_t n_controls;
};

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

int32_t dsv4_token_find(const struct dsv4_tokenizer *t, const char *s, size_t len)
{
    size_t h = fnv(s, len) & (t->vcap - 1);
    while (t->vhash[h]) {
        int32_t id = t->vhash[h] - 1;
        size_t l = t->text_off[id + 1] - t->text_off[id] - 1;
        if (l == len && !memcmp(t->text + t->text_off[id], s, len)) return id;
        h = (h + 1) & (t->vcap - 1);
    }
    return -1;
}

static const struct merge_slot *merge_find(const struct dsv4_tokenizer *t, int32_t a, int32_t b)
{
    if (!t->mcap) return NULL;
    uint64_t key = (uint64_t)(uint32_t)(a + 1) << 32 | (uint32_t)(b + 1);
    size_t h = mix64(key) & (t->mcap - 1);
    while (t->mh[h].key) {
        if (t->mh[h].key == key) return &t->mh[h];
        h = (h + 1) & (t->mcap - 1);
    }
    return NULL;
}

void dsv4_tokenizer_free(struct dsv4_tokenizer *t)
{
    if (!t) return;
    free(t->text);
    free(t->text_off);
    free(t->bytes);
    free(t->bytes_off);
    free(t->type);
    free(t->vhash);
    free(t->mh);
    free(t->controls);
    free(t);
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n) c *= 2;
    return c;
}

static int ctl_cmp(const void *a, const void *b, void *ud)
{
    const struct dsv4_tokenizer *t = ud;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    size_t lx = t->text_off[x + 1] - t->text_off[x], ly = t->text_off[y + 1] - t->text_off[y];
    return lx > ly ? -1 : lx < ly ? 1 : (x > y) - (x < y);
}

static int key_int(const struct dsv4_gguf *g, const char *key, int32_t n_vocab, int32_t *out, char *err,
                   size_t errlen)
{
    const struct dsv4_gguf_kv *kv = dsv4_gguf_find_kv(g, key);
    *out = -1;
    if (!kv) return 0;
    int64_t v;
    if (dsv4_gguf_kv_i64(kv, &v) || v < -1 || v >= n_vocab) {
        dsv4_seterr(err, errlen, "tokenizer: key '%s' is not a token id below %d", key, n_vocab);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

int dsv4_tokenizer_load(struct dsv4_tokenizer **out, const struct dsv4_gguf *g, uint32_t n_vocab,
                        char *err, size_t errlen)
{
    *out = NULL;
    struct dsv4_gguf_str *strs = NULL;
    struct dsv4_tokenizer *t = calloc(1, sizeof *t);
    if (!t) goto oom;
    const struct dsv4_gguf_kv *kv = dsv4_gguf_find_kv(g, "tokenizer.ggml.model");
    struct dsv4_gguf_str s;
    if (!kv || dsv4_gguf_kv_str(kv, &s) || s.len != 4 || memcmp(s.ptr, "gpt2", 4)) {
        dsv4_seterr(err, errlen, "tokenizer: key 'tokenizer.ggml.model' must be the string \"gpt2\" (byte-level BPE)");
        goto fail;
    }
    kv = dsv4_gguf_find_kv(g, "tokenizer.ggml.pre");
    if (kv && (dsv4_gguf_kv_str(kv, &s) ||
               !((s.len == 9 && !memcmp(s.ptr, "joyai-llm", 9)) || (s.len == 11 && !memcmp(s.ptr, "deepseek-v3", 11))))) {
        char v[80];
        dsv4_gguf_kv_format(kv, v, sizeof v);
        dsv4_seterr(err, errlen, "tokenizer: key 'tokenizer.ggml.pre' = %s is not a supported pre-tokenizer "
                    "(\"joyai-llm\", \"deepseek-v3\")", v);
        goto fail;
    }
    kv = dsv4_gguf_find_kv(g, "tokenizer.ggml.tokens");
    if (!kv) {
        dsv4_seterr(err, errlen, "tokenizer: missing metadata key 'tokenizer.ggml.tokens'");
        goto fail;
    }
    if (kv->type != DSV4_GGUF_ARRAY || kv->arr_type != DSV4_GGUF_STRING || kv->arr_n != n_vocab) {
        dsv4_seterr(err, errlen, "tokenizer: key 'tokenizer.ggml.tokens' must be an array of %u strings (vocab_size)",
                    n_vocab);
        goto fail;
    }
    t->n_vocab = (int32_t)n_vocab;
    strs = malloc((size_t)n_vocab * sizeof *strs);
    t->text_off = malloc(((size_t)n_vocab + 1) * sizeof *t->text_off);
    t->bytes_off = malloc(((size_t)n_vocab + 1) * sizeof *t->bytes_off);
    t->type = malloc(n_vocab);
    if (!strs || !t->text_off || !t->bytes_off || !t->type) goto oom;
    dsv4_gguf_arr_strs(kv, strs);
    size_t total = 0;
    for (uint32_t i = 0; i < n_vocab; i++) {
        if (strs[i].len == 0 || strs[i].len > 4096) {
            dsv4_seterr(err, errlen, "tokenizer: key 'tokenizer.ggml.tokens': token %u has length %llu (1..4096)", i,
                        (unsigned long long)strs[i].len);
            goto fail;
        }
        total += strs[i].len + 1;
    }
    t->text = malloc(total);
    t->bytes = malloc(total);
    if (!t->text || !t->bytes) goto oom;
    for (size_t i = 0, off = 0; i < n_vocab; i++) {
        t->text_off[i] = off;
        memcpy(t->text + off, strs[i].ptr, strs[i].len);
        off += strs[i].len;
        t->text[off++] = 0;
        t->text_off[i + 1] = off;
    }

    memset(t->type, 1, n_vocab);
    kv = dsv4_gguf_find_kv(g, "tokenizer.ggml.token_type");
    if (kv) {
        if (kv->type != DSV4_GGUF_ARRAY || kv->arr_n != n_vocab) {
            dsv4_seterr(err, errlen,
                        "tokenizer: key 'tokenizer.ggml.token_type' must be an integer array of %u entries",
                        n_vocab);
            goto fail;
        }
        for (uint32_t i = 0; i < n_vocab; i++) {
            int64_t v;
            if (dsv4_gguf_arr_i64(kv, i, &v) || v < 0 || v > 6) {
                dsv4_seterr(err, errlen, "tokenizer: key 'tokenizer.ggml.token_type': entry %u is not a type 0..6", i);
                goto fail;
            }
            t->type[i] = (uint8_t)v;
        }
    }

    /* vocabulary hash */
    t->vcap = pow2_at_least(2 * (size_t)n_vocab);
    t->vhash = calloc(t->vcap, sizeof *t->vhash);
    if (!t->vhash) goto oom;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        const char *p = t->text + t->text_off[i];
        size_t l = t->text_off[i + 1] - t->text_off[i] - 1;
        size_t h = fnv(p, l) & (t->vcap - 1);
        int dup = 0;
        while (t->vhash[h]) {
            int32_t o = t->vhash[h] - 1;
            if (t->text_off[o + 1] - t->text_off[o] - 1 == l && !memcmp(t->text + t->text_off[o], p, l)) {
                dup = 1; /* first id wins */
                break;
            }
            h = (h + 1) & (t->vcap - 1);
        }
        if (!dup) t->vhash[h] = i + 1;
    }

    /* byte symbols */
    for (int b = 0; b < 256; b++) {
        char u[4];
        int n = put_utf8(dsv4_byte_to_symbol((uint8_t)b), u);
        t->byte_tok[b] = dsv4_token_find(t, u, (size_t)n);
        if (t->byte_tok[b] < 0) {
            dsv4_seterr(err, errlen, "tokenizer: vocabulary lacks the byte-level token for byte 0x%02x", b);
            goto fail;
        }
    }

    /* decoded bytes of every token */
    int16_t sym_byte[324];
    for (int b = 0; b < 256; b++) sym_byte[dsv4_byte_to_symbol((uint8_t)b)] = (int16_t)b;
    for (size_t i = 0, off = 0; i < n_vocab; i++) {
        const unsigned char *p = (const unsigned char *)t->text + t->text_off[i];
        size_t l = t->text_off[i + 1] - t->text_off[i] - 1, k = 0;
        int ok = t->type[i] != 3;
        t->bytes_off[i] = off;
        while (ok && k < l) {
            uint32_t cp;
            k += (size_t)dsv4_utf8_decode(p + k, l - k, &cp);
            int byte = cp < 324 && (cp >= 256 || dsv4_byte_to_symbol((uint8_t)cp) == cp) ? sym_byte[cp] : -1;
            if (byte < 0) ok = 0;
            else t->bytes[off++] = (char)byte;
        }
        if (!ok) { /* control tokens and strings outside the byte alphabet: their text */
            off = t->bytes_off[i];
            memcpy(t->bytes + off, p, l);
            off += l;
        }
        t->bytes_off[i + 1] = off;
    }

    /* merges */
    kv = dsv4_gguf_find_kv(g, "tokenizer.ggml.merges");
    if (kv) {
        if (kv->type != DSV4_GGUF_ARRAY || kv->arr_type != DSV4_GGUF_STRING) {
            dsv4_seterr(err, errlen, "tokenizer: key 'tokenizer.ggml.merges' must be an array of strings");
            goto fail;
        }
        if (kv->arr_n > (uint64_t)n_vocab * 4) {
            dsv4_seterr(err, errlen, "tokenizer: key 'tokenizer.ggml.merges' has %llu entries (more than 4x vocab)",
                        (unsigned long long)kv->arr_n);
            goto fail;
        }
        struct dsv4_gguf_str *ms = malloc((kv->arr_n ? kv->arr_n : 1) * sizeof *ms);
        if (!ms) goto oom;
        dsv4_gguf_arr_strs(kv, ms);
        t->mcap = pow2_at_least(2 * (size_t)kv->arr_n);
        t->mh = calloc(t->mcap, sizeof *t->mh);
        char *cat = malloc(8192);
        if (!t->mh || !cat) {
            free(ms);
            free(cat);
            goto oom;
        }
        for (uint64_t r = 0; r < kv->arr_n; r++) {
            const char *p = ms[r].ptr, *sp = memchr(p, ' ', ms[r].len);
            int32_t a = -1, b = -1, c = -1;
            if (sp && ms[r].len < 8192) {
                size_t la = (size_t)(sp - p), lb = ms[r].len - la - 1;
                a = dsv4_token_find(t, p, la);
                b = dsv4_token_find(t, sp + 1, lb);
                memcpy(cat, p, la);
                memcpy(cat + la, sp + 1, lb);
                c = dsv4_token_find(t, cat, la + lb);
            }
            if (a < 0 || b < 0 || c < 0) {
                dsv4_seterr(err, errlen,
                            "tokenizer: key 'tokenizer.ggml.merges': entry %llu is not \"left right\" with both parts "
                            "and their concatenation in the vocabulary",
                            (unsigned long long)r);
                free(ms);
                free(cat);
                goto fail;
            }
            uint64_t key = (uint64_t)(uint32_t)(a + 1) << 32 | (uint32_t)(b + 1);
            size_t h = mix64(key) & (t->mcap - 1);
            while (t->mh[h].key && t->mh[h].key != key) h = (h + 1) & (t->mcap - 1);
            if (!t->mh[h].key) t->mh[h] = (struct merge_slot){key, (int32_t)r, c}; /* first rank wins */
        }
        free(ms);
        free(cat);
    }

    if (key_int(g, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos, err, errlen) ||
        key_int(g, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos, err, errlen))
        goto fail;

    t->controls = malloc((size_t)n_vocab * sizeof *t->controls);
    if (!t->controls) goto oom;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->type[i] == 3 || t->type[i] == 4) t->controls[t->n_controls++] = i;
    qsort_r(t->controls, t->n_controls, sizeof *t->controls, ctl_cmp, t);

    free(strs);
    *out = t;
    return 0;
oom:
    dsv4_seterr(err, errlen, "tokenizer: out of memory");
fail:
    free(strs);
    dsv4_tokenizer_free(t);
    return -1;
}

/* ---- pre-tokenizer ------------------------------------------------------------------------ */

struct ch {
    uint32_t cp;
    uint32_t off; /* byte offset in the segment */
    uint8_t cls;
    uint8_t space;
};

static int is_ascii_punct(uint32_t c)
{
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}
static int is_ascii_alpha(uint32_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static int is_lm(const struct ch *c) { return c->cls == DSV4_UC_LETTER || c->cls == DSV4_UC_MARK; }
static int is_ps(const struct ch *c) { return c->cls == DSV4_UC_PUNCT || c->cls == DSV4_UC_SYMBOL; }
static int is_nl(const struct ch *c) { return c->cp == '\r' || c->cp == '\n'; }
static int is_cjk(uint32_t c)
{
    return (c >= 0x4e00 && c <= 0x9fa5) || (c >= 0x3040 && c <= 0x309f) || (c >= 0x30a0 && c <= 0x30ff);
}

/* Pattern 3 at position i of c[0..n). Returns the end of the match, or i if none. */
static size_t match3(const struct ch *c, size_t n, size_t i)
{
    size_t j;
    /* [ascii punct][A-Za-z]+ */
    if (is_ascii_punct(c[i].cp) && i + 1 < n && is_ascii_alpha(c[i + 1].cp)) {
        for (j = i + 1; j < n && is_ascii_alpha(c[j].cp); j++) {}
        return j;
    }
    /* [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+ */
    if (!is_nl(&c[i]) && c[i].cls != DSV4_UC_LETTER && !is_ps(&c[i]) && i + 1 < n && is_lm(&c[i + 1])) {
        for (j = i + 1; j < n && is_lm(&c[j]); j++) {}
        return j;
    }
    if (is_lm(&c[i])) {
        for (j = i; j < n && is_lm(&c[j]); j++) {}
        return j;
    }
    /*  ?[\p{P}\p{S}]+[\r\n]* */
    j = i;
    if (c[i].cp == ' ' && i + 1 < n && is_ps(&c[i + 1])) j = i + 1;
    if (is_ps(&c[j])) {
        while (j < n && is_ps(&c[j])) j++;
        while (j < n && is_nl(&c[j])) j++;
        return j;
    }
    if (!c[i].space) return i;
    size_t e = i; /* end of the whitespace run */
    while (e < n && c[e].space) e++;
    /* \s*[\r\n]+ : up to and including the last newline of the run */
    for (size_t k = e; k > i; k--)
        if (is_nl(&c[k - 1])) return k;
    /* \s+(?!\S) */
    if (e == n) return e;
    if (e - 1 > i) return e - 1;
    /* \s+ */
    return e;
}

struct pt {
    const char *text;
    size_t len;
    struct ch *c;
    void (*piece)(void *ud, size_t off, size_t len);
    void *ud;
};

static void emit(struct pt *p, size_t a, size_t b) /* chars [a, b); c[n] is a sentinel */
{
    if (b > a) p->piece(p->ud, p->c[a].off, (size_t)(p->c[b].off - p->c[a].off));
}

static void stage3(struct pt *p, size_t a, size_t b)
{
    size_t gap = a, i = a;
    while (i < b) {
        size_t e = match3(p->c + a, b - a, i - a) + a;
        if (e > i) {
            emit(p, gap, i);
            emit(p, i, e);
            i = gap = e;
        } else {
            i++;
        }
    }
    emit(p, gap, b);
}

static void stage2(struct pt *p, size_t a, size_t b)
{
    size_t gap = a, i = a;
    while (i < b) {
        if (is_cjk(p->c[i].cp)) {
            size_t e = i;
            while (e < b && is_cjk(p->c[e].cp)) e++;
            stage3(p, gap, i);
            stage3(p, i, e);
            i = gap = e;
        } else {
            i++;
        }
    }
    stage3(p, gap, b);
}

static void stage1(struct pt *p, size_t n)
{
    size_t gap = 0, i = 0;
    while (i < n) {
        if (p->c[i].cls == DSV4_UC_NUMBER) {
            size_t e = i;
            while (e < n && e - i < 3 && p->c[e].cls == DSV4_UC_NUMBER) e++;
            stage2(p, gap, i);
            stage2(p, i, e);
            i = gap = e;
        } else {
            i++;
        }
    }
    stage2(p, gap, n);
}

static void pretokenize(const char *text, size_t len, struct ch *c,
                        void (*piece)(void *ud, size_t off, size_t len), void *ud)
{
    size_t n = 0;
    for (size_t k = 0; k < len;) {
        uint32_t cp;
        int l = dsv4_utf8_decode((const unsigned char *)text + k, len - k, &cp);
        c[n].cp = cp;
        c[n].off = (uint32_t)k;
        c[n].cls = (uint8_t)dsv4_uc_classify(cp);
        c[n].space = (uint8_t)dsv4_uc_is_space(cp);
        n++;
        k += (size_t)l;
    }
    c[n].off = (uint32_t)len;
    c[n].cp = 0;
    struct pt p = {text, len, c, piece, ud};
    stage1(&p, n);
}

void dsv4_pretokenize(const char *text, size_t len, void (*piece)(void *ud, size_t off, size_t len),
                      void *ud)
{
    if (!len) return;
    struct ch *c = malloc((len + 1) * sizeof *c);
    if (!c) return;
    pretokenize(text, len, c, piece, ud);
    free(c);
}

/* ---- BPE ---------------------------------------------------------------------------------- */

struct heap_item {
    int32_t rank;
    int32_t pos; /* index of the left symbol */
    int32_t right;
    int32_t lid, rid;
};

struct bpe {
    const struct dsv4_tokenizer *t;
    const char *text;
    struct dsv4_ids *out;
    int32_t *id, *prev, *next;
    struct heap_item *heap;
    size_t nheap, cap;
    int oom;
};

static int heap_less(const struct heap_item *a, const struct heap_item *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(struct bpe *B, struct heap_item it)
{
    size_t i = B->nheap++;
    B->heap[i] = it;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&B->heap[i], &B->heap[p])) break;
        struct heap_item tmp = B->heap[i];
        B->heap[i] = B->heap[p];
        B->heap[p] = tmp;
        i = p;
    }
}

static struct heap_item heap_pop(struct bpe *B)
{
    struct heap_item top = B->heap[0];
    B->heap[0] = B->heap[--B->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < B->nheap && heap_less(&B->heap[l], &B->heap[m])) m = l;
        if (r < B->nheap && heap_less(&B->heap[r], &B->heap[m])) m = r;
        if (m == i) break;
        struct heap_item tmp = B->heap[i];
        B->heap[i] = B->heap[m];
        B->heap[m] = tmp;
        i = m;
    }
    return top;
}

static void try_pair(struct bpe *B, int32_t l)
{
    if (l < 0) return;
    int32_t r = B->next[l];
    if (r < 0) return;
    const struct merge_slot *ms = merge_find(B->t, B->id[l], B->id[r]);
    if (ms) heap_push(B, (struct heap_item){ms->rank, l, r, B->id[l], B->id[r]});
}

static void bpe_piece(void *ud, size_t off, size_t len)
{
    struct bpe *B = ud;
    if (B->oom) return;
    const unsigned char *s = (const unsigned char *)B->text + off;
    if (len > B->cap) {
        size_t nc = len * 2;
        int32_t *a = realloc(B->id, nc * sizeof *a), *b = NULL, *c = NULL;
        if (a) B->id = a;
        b = a ? realloc(B->prev, nc * sizeof *b) : NULL;
        if (b) B->prev = b;
        c = b ? realloc(B->next, nc * sizeof *c) : NULL;
        if (c) B->next = c;
        struct heap_item *h = c ? realloc(B->heap, 2 * nc * sizeof *h) : NULL;
        if (!h) {
            B->oom = 1;
            return;
        }
        B->heap = h;
        B->cap = nc;
    }
    int32_t n = (int32_t)len;
    for (int32_t i = 0; i < n; i++) {
        B->id[i] = B->t->byte_tok[s[i]];
        B->prev[i] = i - 1;
        B->next[i] = i + 1 < n ? i + 1 : -1;
    }
    B->nheap = 0;
    for (int32_t i = 0; i + 1 < n; i++) try_pair(B, i);
    while (B->nheap) {
        struct heap_item it = heap_pop(B);
        int32_t l = it.pos, r = it.right;
        if (B->id[l] != it.lid || B->next[l] != r || B->id[r] != it.rid) continue; /* stale */
        const struct merge_slot *ms = merge_find(B->t, it.lid, it.rid);
        B->id[l] = ms->id;
        B->id[r] = -1;
        B->next[l] = B->next[r];
        if (B->next[r] >= 0) B->prev[B->next[r]] = l;
        try_pair(B, B->prev[l]);
        try_pair(B, l);
    }
    for (int32_t i = 0; i >= 0; i = B->next[i])
        if (dsv4_ids_push(B->out, B->id[i])) {
            B->oom = 1;
            return;
        }
}

int dsv4_tokenize_text(const struct dsv4_tokenizer *t, const char *text, size_t len, struct dsv4_ids *out)
{
    if (!len) return 0;
    struct bpe B = {.t = t, .text = text, .out = out};
    struct ch *c = malloc((len + 1) * sizeof *c);
    if (!c) return -1;
    pretokenize(text, len, c, bpe_piece, &B);
    free(c);
    free(B.id);
    free(B.prev);
    free(B.next);
    free(B.heap);
    return B.oom ? -1 : 0;
}

int dsv4_tokenize(const struct dsv4_tokenizer *t, const struct dsv4_tok_segment *segs, size_t n,
                  struct dsv4_ids *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (segs[i].special) {
            int32_t id = dsv4_token_find(t, segs[i].text, segs[i].len);
            if (id < 0 || (t->type[id] != 3 && t->type[id] != 4)) {
                dsv4_seterr(err, errlen, "tokenizer: segment %zu (%.*s) is not a control token", i,
                            (int)(segs[i].len > 60 ? 60 : segs[i].len), segs[i].text);
                return -1;
            }
            if (dsv4_ids_push(out, id)) goto oom;
        } else if (dsv4_tokenize_text(t, segs[i].text, segs[i].len, out)) {
            goto oom;
        }
    }
    return 0;
oom:
    dsv4_seterr(err, errlen, "tokenizer: out of memory");
    return -1;
}

int dsv4_tokenize_trusted(const struct dsv4_tokenizer *t, const char *text, size_t len, struct dsv4_ids *out)
{
    size_t start = 0, i = 0;
    while (i < len) {
        int32_t hit = -1;
        size_t hl = 0;
        for (size_t k = 0; k < t->n_controls; k++) { /* longest first */
            int32_t id = t->controls[k];
            size_t l = t->text_off[id + 1] - t->text_off[id] - 1;
            if (l <= len - i && !memcmp(text + i, t->text + t->text_off[id], l)) {
                hit = id;
                hl = l;
                break;
            }
        }
        if (hit < 0) {
            i++;
            continue;
        }
        if (dsv4_tokenize_text(t, text + start, i - start, out) || dsv4_ids_push(out, hit)) return -1;
        i += hl;
        start = i;
    }
    return dsv4_tokenize_text(t, text + start, len - start, out);
}

const char *dsv4_token_bytes(const struct dsv4_tokenizer *t, int32_t id, size_t *len)
{
    if (id < 0 || id >= t->n_vocab) return NULL;
    *len = t->bytes_off[id + 1] - t->bytes_off[id];
    return t->bytes + t->bytes_off[id];
}

const char *dsv4_token_text(const struct dsv4_tokenizer *t, int32_t id, size_t *len)
{
    if (id < 0 || id >= t->n_vocab) return NULL;
    *len = t->text_off[id + 1] - t->text_off[id] - 1;
    return t->text + t->text_off[id];
}

int dsv4_token_is_control(const struct dsv4_tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_vocab && t->type[id] == 3;
}

int32_t dsv4_tokenizer_n_vocab(const struct dsv4_tokenizer *t) { return t->n_vocab; }
int32_t dsv4_tokenizer_bos(const struct dsv4_tokenizer *t) { return t->bos; }
int32_t dsv4_tokenizer_eos(const struct dsv4_tokenizer *t) { return t->eos; }
