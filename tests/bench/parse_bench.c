/*
 * parse_bench.c - parser throughput on the mixed completion corpus (tests/bench/gen_corpus.py).
 *
 * Measures, on one core, over every completion of the corpus (parser reset between them):
 *   memchr   scanning each completion for '<' with memchr (the ceiling of our text path)
 *   one-shot each completion fed in one dsml_feed call, callbacks counting bytes
 *   4-byte   the same fed 4 bytes at a time
 *   1-byte   the same fed 1 byte at a time
 *   deltas   one-shot through the OpenAI delta layer (dsml_oai), deltas counted
 * It checks that the parser found every call the corpus index lists, counts allocations
 * after the first pass (steady state must allocate nothing per feed) and reports the
 * parser's memory. Each figure is the best of N passes (default 5).
 *
 * usage: parse_bench CORPUS_DIR [PASSES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsml.h"
#include "dsml_openai.h"

struct item {
    size_t off, len;
    int thinking;
    unsigned calls;
};

static char *corpus;
static size_t corpus_len, nitems;
static struct item *items;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    if (!d || fread(d, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    d[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return d;
}

static size_t field(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static void load(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/corpus.dsml", dir);
    corpus = slurp(path, &corpus_len);
    snprintf(path, sizeof path, "%s/index.jsonl", dir);
    size_t ilen;
    char *idx = slurp(path, &ilen);
    size_t cap = 1024;
    items = malloc(cap * sizeof *items);
    for (char *line = strtok(idx, "\n"); line; line = strtok(NULL, "\n")) {
        if (nitems == cap) items = realloc(items, (cap *= 2) * sizeof *items);
        struct item *it = &items[nitems++];
        it->off = field(line, "\"offset\": ");
        it->len = field(line, "\"length\": ");
        it->thinking = strstr(line, "\"mode\": \"thinking\"") != NULL;
        it->calls = (unsigned)field(line, "\"calls\": ");
    }
    free(idx);
}

/* counting callbacks */
static size_t sink_bytes;
static int cb_data(void *ud, const char *at, size_t len)
{
    (void)ud;
    (void)at;
    sink_bytes += len;
    return 0;
}
static int cb_name(void *ud, const char *at, size_t len) { return cb_data(ud, at, len); }
static int cb_param(void *ud, const char *at, size_t len, unsigned f)
{
    (void)f;
    return cb_data(ud, at, len);
}

static size_t allocs;
static void *c_malloc(void *ud, size_t n) { (void)ud; allocs++; return malloc(n); }
static void *c_realloc(void *ud, void *q, size_t n) { (void)ud; allocs++; return realloc(q, n); }
static void c_free(void *ud, void *q) { (void)ud; free(q); }
static const dsml_allocator counting = {c_malloc, c_realloc, c_free, NULL};

/* Parse every completion with the given chunk size (0 = one-shot). Returns total calls. */
static unsigned run(dsml_parser *chat, dsml_parser *think, size_t chunk)
{
    unsigned calls = 0;
    for (size_t i = 0; i < nitems; i++) {
        dsml_parser *p = items[i].thinking ? think : chat;
        dsml_reset(p);
        const char *s = corpus + items[i].off;
        size_t n = items[i].len;
        if (!chunk) {
            dsml_feed(p, s, n);
        } else {
            for (size_t k = 0; k < n; k += chunk) dsml_feed(p, s + k, n - k < chunk ? n - k : chunk);
        }
        dsml_finish(p);
        calls += dsml_result_get(p)->calls;
    }
    return calls;
}

static size_t ndeltas;
static int count_delta(void *ud, const dsml_delta *d)
{
    (void)ud;
    ndeltas++;
    sink_bytes += d->len;
    return 0;
}

static unsigned run_deltas(dsml_oai *chat, dsml_oai *think)
{
    unsigned calls = 0;
    for (size_t i = 0; i < nitems; i++) {
        dsml_oai *o = items[i].thinking ? think : chat;
        dsml_oai_reset(o);
        dsml_oai_feed(o, corpus + items[i].off, items[i].len);
        dsml_oai_finish(o);
        calls += dsml_oai_result(o)->calls;
    }
    return calls;
}

static size_t run_memchr(void)
{
    size_t hits = 0;
    for (size_t i = 0; i < nitems; i++) {
        const char *s = corpus + items[i].off, *e = s + items[i].len;
        while ((s = memchr(s, '<', (size_t)(e - s))) != NULL) hits++, s++;
    }
    return hits;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: parse_bench CORPUS_DIR [PASSES]\n");
        return 2;
    }
    int passes = argc > 2 ? atoi(argv[2]) : 5;
    load(argv[1]);
    size_t bytes = 0;
    unsigned want_calls = 0;
    for (size_t i = 0; i < nitems; i++) bytes += items[i].len, want_calls += items[i].calls;

    dsml_callbacks cb = {.on_reasoning = cb_data, .on_content = cb_data, .on_invoke = cb_name,
                         .on_param = cb_param, .on_value = cb_data, .on_args = cb_data};
    dsml_options o;
    dsml_options_init(&o);
    o.alloc = &counting;
    dsml_parser *chat = dsml_parser_new(&o, &cb, NULL);
    o.flags |= DSML_THINKING;
    dsml_parser *think = dsml_parser_new(&o, &cb, NULL);
    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    uint64_t seed = 1;
    oo.make_id = dsml_id_seeded;
    oo.id_ud = &seed;
    dsml_oai *ochat = dsml_oai_new(&oo, count_delta, NULL);
    oo.parse.flags |= DSML_THINKING;
    dsml_oai *othink = dsml_oai_new(&oo, count_delta, NULL);

    const char *names[] = {"memchr '<' (ceiling)", "one-shot parse", "fed 4 bytes at a time",
                           "fed 1 byte at a time", "one-shot + OpenAI deltas"};
    double best[5] = {1e30, 1e30, 1e30, 1e30, 1e30};
    unsigned got_calls[5] = {0};
    size_t steady_allocs = 0;
    volatile size_t guard = 0;
    for (int pass = 0; pass < passes; pass++) {
        for (int k = 0; k < 5; k++) {
            if (k == 3 && pass > 1) continue; /* 1-byte feeding is slow: two passes */
            if (getenv("BENCH_ONLY") && atoi(getenv("BENCH_ONLY")) != k) continue;
            if (pass == 1 && k == 1) allocs = 0;
            double t0 = now();
            switch (k) {
            case 0: guard += run_memchr(); break;
            case 1: got_calls[k] = run(chat, think, 0); break;
            case 2: got_calls[k] = run(chat, think, 4); break;
            case 3: got_calls[k] = run(chat, think, 1); break;
            case 4: got_calls[k] = run_deltas(ochat, othink); break;
            }
            double t = now() - t0;
            if (t < best[k]) best[k] = t;
            if (pass == 1 && k == 3) steady_allocs = allocs;
        }
    }
    printf("corpus: %zu completions, %.1f MB, %u tool calls\n", nitems, bytes / 1e6, want_calls);
    printf("%-28s %10s %10s %8s\n", "", "MB/s", "ms", "x memchr");
    for (int k = 0; k < 5; k++) {
        double mbs = bytes / best[k] / 1e6;
        printf("%-28s %10.0f %10.2f %8.1f\n", names[k], mbs, best[k] * 1e3, best[k] / best[0]);
    }
    printf("deltas/one-shot time ratio: %.2f\n", best[4] / best[1]);
    int ok = 1;
    for (int k = 1; k < 5; k++)
        if (got_calls[k] != want_calls) {
            printf("MISMATCH: %s found %u calls, the index lists %u\n", names[k], got_calls[k],
                   want_calls);
            ok = 0;
        }
    printf("allocations during steady-state passes (one-shot, 4-byte, 1-byte): %zu\n",
           steady_allocs);
    printf("parser memory: %zu bytes (max_token %zu)\n", dsml_parser_memory(chat), o.max_token);
    dsml_parser_free(chat);
    dsml_parser_free(think);
    dsml_oai_free(ochat);
    dsml_oai_free(othink);
    free(items);
    free(corpus);
    return ok ? 0 : 1;
}
