/*
 * main.c - the dsv4 command: info, mkmodel, tokenize, logits, run.
 *
 * Every command validates its inputs fully before work starts and reports errors as one
 * line on stderr with exit status 1 (2 for usage errors).
 */
#include "backend.h"
#include "chat.h"
#include "forward.h"
#include "gguf.h"
#include "logits_file.h"
#include "mkmodel.h"
#include "model.h"
#include "quant.h"
#include "sample.h"
#include "tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "dsv4";

static void usage(void)
{
    fprintf(stderr,
            "usage:\n"
            "  %s info FILE [--validate]\n"
            "  %s mkmodel --preset tiny|small|flash --quant f32|f16|q8|q2|q4 [--seed S] -o FILE\n"
            "             [--safetensors DIR] [--zeros] [--index-topk N] [-q]\n"
            "  %s tokenize -m FILE -p TEXT [--trusted]\n"
            "  %s logits -m FILE (--tokens IDS | -p TEXT [--trusted] [--no-bos]) [--decode]\n"
            "             [-o OUT] [--exact] [--top N] [common]\n"
            "  %s run -m FILE -p PROMPT [-n N] [--temp T] [--seed S] [--top-k K] [--top-p P]\n"
            "             [--chat] [--thinking] [--exact] [common]\n"
            "  %s bench -m FILE [--prompt N] [--gen N] [--exact] [common]\n"
            "common: -t THREADS, --ctx N (positions, default 4096), --ubatch N (default 64),\n"
            "        --topk N (indexer top-k override), --cuda (run on the GPU; builds made with\n"
            "        `make cuda`), --device N (CUDA device), --random-weights SEED (with --cuda: fill\n"
            "        the weights with random values on the GPU instead of reading them; for\n"
            "        full-size speed runs from a `mkmodel --zeros` file)\n"
            "--exact: fp32 math without the FP8/FP4 quantisation simulation (on by default)\n",
            prog, prog, prog, prog, prog, prog);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int parse_ll(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_f(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

#define NEED_ARG()                                                          \
    do {                                                                    \
        if (i + 1 >= argc) {                                                \
            fprintf(stderr, "%s: option %s needs a value\n", prog, argv[i]); \
            return 2;                                                       \
        }                                                                   \
    } while (0)

#define BAD_VALUE()                                                                       \
    do {                                                                                  \
        fprintf(stderr, "%s: invalid value '%s' for %s\n", prog, argv[i + 1], argv[i]);  \
        return 2;                                                                         \
    } while (0)

/* ---- info ---------------------------------------------------------------------------- */

static int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    int validate = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--validate")) validate = 1;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "%s info: unknown option %s\n", prog, argv[i]);
            return 2;
        } else path = argv[i];
    }
    if (!path) {
        usage();
        return 2;
    }
    char err[512];
    struct dsv4_gguf g;
    if (dsv4_gguf_open(&g, path, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    if (!validate) {
        printf("file: %s\n  %zu bytes, GGUF v%u, alignment %u, %llu keys, %llu tensors, data at offset %llu\n", path,
               g.size, g.version, g.alignment, (unsigned long long)g.n_kv, (unsigned long long)g.n_tensors,
               (unsigned long long)g.data_offset);
        printf("metadata:\n");
        for (uint64_t i = 0; i < g.n_kv; i++) {
            char v[320];
            dsv4_gguf_kv_format(&g.kv[i], v, sizeof v);
            printf("  %-48.*s %-7s %s\n", (int)g.kv[i].key.len, g.kv[i].key.ptr, dsv4_gguf_vtype_name(g.kv[i].type),
                   v);
        }
        printf("tensors:\n  %-40s %-24s %-8s %14s\n", "name", "shape", "type", "bytes");
        uint64_t per_type_n[64] = {0}, per_type_b[64] = {0}, total = 0;
        for (uint64_t i = 0; i < g.n_tensors; i++) {
            const struct dsv4_gguf_tensor *t = &g.tensors[i];
            char shape[96];
            size_t k = 0;
            for (uint32_t d = 0; d < t->n_dims; d++)
                k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%lld", d ? ", " : "[", (long long)t->ne[d]);
            snprintf(shape + k, sizeof shape - k, "]");
            printf("  %-40.*s %-24s %-8s %14llu\n", (int)t->name.len, t->name.ptr, shape, dsv4_type_name(t->type),
                   (unsigned long long)t->nbytes);
            if (t->type < 64) {
                per_type_n[t->type]++;
                per_type_b[t->type] += t->nbytes;
            }
            total += t->nbytes;
        }
        printf("totals by type:\n");
        for (int ty = 0; ty < 64; ty++)
            if (per_type_n[ty])
                printf("  %-8s %6llu tensors %16llu bytes (%.2f GiB)\n", dsv4_type_name((uint32_t)ty),
                       (unsigned long long)per_type_n[ty], (unsigned long long)per_type_b[ty],
                       (double)per_type_b[ty] / (1 << 30));
        printf("  %-8s %6llu tensors %16llu bytes (%.2f GiB)\n", "total", (unsigned long long)g.n_tensors,
               (unsigned long long)total, (double)total / (1 << 30));
    }
    struct dsv4_model m;
    if (dsv4_model_bind(&m, &g, err, sizeof err)) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, err);
        dsv4_gguf_close(&g);
        return 1;
    }
    struct dsv4_tokenizer *tok = NULL;
    if (dsv4_tokenizer_load(&tok, &m.gguf, m.hp.n_vocab, err, sizeof err)) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, err);
        dsv4_model_free(&m);
        return 1;
    }
    const struct dsv4_hparams *hp = &m.hp;
    int n0 = 0, n4 = 0, nh = 0;
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        if (hp->ratio[l] == 0) n0++;
        else if (hp->ratio[l] == 4) n4++;
        else nh++;
    }
    if (validate) {
        printf("%s: ok (deepseek4, %u layers, %d tensors bound, %d unused, vocab %u)\n", path, hp->n_layer,
               m.n_tensors, m.n_unused, hp->n_vocab);
    } else {
        printf("model: deepseek4, %u layers (%d sliding-only, %d ratio-4, %d other ratio), %u hash-routed\n",
               hp->n_layer, n0, n4, nh, hp->n_hash_layer);
        printf("  D %u, vocab %u, heads %u x %u (rope %u), q_lora %u, output %u groups x %u\n", hp->n_embd,
               hp->n_vocab, hp->n_head, hp->head_dim, hp->n_rot, hp->q_lora, hp->o_groups, hp->o_lora);
        printf("  experts %u (top %u, width %u) + 1 shared, window %u, indexer %u x %u top %u, hc %u\n",
               hp->n_expert, hp->n_expert_used, hp->n_ff_exp, hp->n_swa, hp->idx_head, hp->idx_dim, hp->idx_topk,
               hp->n_hc);
        printf("  tokenizer: %d tokens, bos %d, eos %d; %d tensors bound, %d not used by the architecture\n",
               dsv4_tokenizer_n_vocab(tok), dsv4_tokenizer_bos(tok), dsv4_tokenizer_eos(tok), m.n_tensors,
               m.n_unused);
    }
    dsv4_tokenizer_free(tok);
    dsv4_model_free(&m);
    return 0;
}

/* ---- mkmodel ---------------------------------------------------------------------------- */

static int cmd_mkmodel(int argc, char **argv)
{
    struct dsv4_mkmodel_opts o = {.preset = "tiny", .quant = "f32", .seed = 1};
    for (int i = 1; i < argc; i++) {
        long long v;
        if (!strcmp(argv[i], "--preset")) {
            NEED_ARG();
            o.preset = argv[++i];
        } else if (!strcmp(argv[i], "--quant")) {
            NEED_ARG();
            o.quant = argv[++i];
        } else if (!strcmp(argv[i], "--seed")) {
            NEED_ARG();
            if (parse_ll(argv[i + 1], 0, (long long)(~0ull >> 1), &v)) BAD_VALUE();
            o.seed = (uint64_t)v;
            i++;
        } else if (!strcmp(argv[i], "-o")) {
            NEED_ARG();
            o.out = argv[++i];
        } else if (!strcmp(argv[i], "--safetensors")) {
            NEED_ARG();
            o.st_dir = argv[++i];
        } else if (!strcmp(argv[i], "--zeros")) {
            o.zeros = 1;
        } else if (!strcmp(argv[i], "--index-topk")) {
            NEED_ARG();
            if (parse_ll(argv[i + 1], 1, 1 << 24, &v)) BAD_VALUE();
            o.index_topk = (int)v;
            i++;
        } else if (!strcmp(argv[i], "-q")) {
            o.quiet = 1;
        } else {
            fprintf(stderr, "%s mkmodel: unknown option %s\n", prog, argv[i]);
            return 2;
        }
    }
    if (!o.out) {
        fprintf(stderr, "%s mkmodel: -o FILE is required\n", prog);
        return 2;
    }
    char err[512];
    double t0 = now_s();
    if (dsv4_mkmodel(&o, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    if (!o.quiet) fprintf(stderr, "mkmodel: wrote %s in %.1f s\n", o.out, now_s() - t0);
    return 0;
}

/* ---- shared model setup ------------------------------------------------------------------ */

struct common {
    const char *model, *prompt, *tokens, *out;
    int threads, ubatch, topk, exact, trusted, no_bos, decode, top, n_predict, chat, thinking, top_k;
    int cuda, device;
    long long ctx;
    uint64_t random_weights;
    double temp, top_p;
    uint64_t seed;
};

/* Returns 1 if argv[i] was a common option (i advanced), 0 if not, -1 on a bad value. */
static int common_opt(struct common *c, int argc, char **argv, int *ip)
{
    int i = *ip;
    long long v;
    double f;
#define TAKE(field) (i + 1 < argc ? (c->field = argv[++i], 1) : -1)
    if (!strcmp(argv[i], "-m")) {
        if (TAKE(model) < 0) return -1;
    } else if (!strcmp(argv[i], "-p")) {
        if (TAKE(prompt) < 0) return -1;
    } else if (!strcmp(argv[i], "--tokens")) {
        if (TAKE(tokens) < 0) return -1;
    } else if (!strcmp(argv[i], "-o")) {
        if (TAKE(out) < 0) return -1;
    } else if (!strcmp(argv[i], "-t") || !strcmp(argv[i], "--ctx") || !strcmp(argv[i], "--ubatch") ||
               !strcmp(argv[i], "--topk") || !strcmp(argv[i], "--top") || !strcmp(argv[i], "-n") ||
               !strcmp(argv[i], "--top-k") || !strcmp(argv[i], "--seed") || !strcmp(argv[i], "--device") ||
               !strcmp(argv[i], "--random-weights")) {
        if (i + 1 >= argc || parse_ll(argv[i + 1], 0, 1ll << 40, &v)) return -1;
        const char *o = argv[i];
        if (!strcmp(o, "-t")) c->threads = (int)v;
        else if (!strcmp(o, "--ctx")) c->ctx = v;
        else if (!strcmp(o, "--ubatch")) c->ubatch = (int)v;
        else if (!strcmp(o, "--topk")) c->topk = (int)v;
        else if (!strcmp(o, "--top")) c->top = (int)v;
        else if (!strcmp(o, "-n")) c->n_predict = (int)v;
        else if (!strcmp(o, "--top-k")) c->top_k = (int)v;
        else if (!strcmp(o, "--device")) c->device = (int)v;
        else if (!strcmp(o, "--random-weights")) c->random_weights = (uint64_t)v;
        else c->seed = (uint64_t)v;
        i++;
    } else if (!strcmp(argv[i], "--temp") || !strcmp(argv[i], "--top-p")) {
        if (i + 1 >= argc || parse_f(argv[i + 1], &f) || f < 0) return -1;
        if (!strcmp(argv[i], "--temp")) c->temp = f;
        else c->top_p = f;
        i++;
    } else if (!strcmp(argv[i], "--exact")) {
        c->exact = 1;
    } else if (!strcmp(argv[i], "--cuda")) {
        c->cuda = 1;
    } else if (!strcmp(argv[i], "--sim")) {
        c->exact = 0;
    } else if (!strcmp(argv[i], "--trusted")) {
        c->trusted = 1;
    } else if (!strcmp(argv[i], "--no-bos")) {
        c->no_bos = 1;
    } else if (!strcmp(argv[i], "--decode")) {
        c->decode = 1;
    } else if (!strcmp(argv[i], "--chat")) {
        c->chat = 1;
    } else if (!strcmp(argv[i], "--thinking")) {
        c->thinking = 1;
    } else {
        return 0;
    }
#undef TAKE
    *ip = i;
    return 1;
}

static int parse_common(struct common *c, int argc, char **argv, const char *cmd)
{
    memset(c, 0, sizeof *c);
    c->top = 5;
    c->n_predict = 64;
    c->top_p = 1;
    for (int i = 1; i < argc; i++) {
        int r = common_opt(c, argc, argv, &i);
        if (r < 0) {
            fprintf(stderr, "%s %s: option %s needs a valid value\n", prog, cmd, argv[i]);
            return 2;
        }
        if (r == 0) {
            fprintf(stderr, "%s %s: unknown option %s\n", prog, cmd, argv[i]);
            return 2;
        }
    }
    if (!c->model) {
        fprintf(stderr, "%s %s: -m FILE is required\n", prog, cmd);
        return 2;
    }
    if (c->random_weights && !c->cuda) {
        fprintf(stderr, "%s %s: --random-weights needs --cuda\n", prog, cmd);
        return 2;
    }
    return 0;
}

struct loaded {
    struct dsv4_model m;
    struct dsv4_tokenizer *tok;
    struct dsv4_backend *b;
    struct dsv4_ctx *ctx;
};

static void unload(struct loaded *L)
{
    dsv4_ctx_free(L->ctx);
    if (L->b) L->b->ops->destroy(L->b);
    dsv4_tokenizer_free(L->tok);
    if (L->m.layers) dsv4_model_free(&L->m);
}

/* done/total are tensors (CPU backend) or bytes (CUDA upload); large uploads also report
 * every tenth when stderr is not a terminal. */
static void load_progress(void *ud, size_t done, size_t total)
{
    int *last_tenth = ud;
    if (total <= 1) return;
    const int pct = (int)(100.0 * (double)done / (double)total);
    if (isatty(2)) {
        if (total > ((size_t)1 << 24))
            fprintf(stderr, "\rloading weights: %.2f / %.2f GB (%d%%)%s", done / 1e9, total / 1e9, pct,
                    done == total ? "\n" : "");
        else fprintf(stderr, "\rloading weights: %zu / %zu%s", done, total, done == total ? "\n" : "");
    } else if (total > ((size_t)1 << 30) && pct / 10 > *last_tenth) {
        *last_tenth = pct / 10;
        fprintf(stderr, "loading weights: %.2f / %.2f GB (%d%%)\n", done / 1e9, total / 1e9, pct);
    }
}

/* The backend the options ask for; NULL with a message on stderr. */
static struct dsv4_backend *make_backend(const struct common *c)
{
    if (!c->cuda) {
        struct dsv4_backend *b = dsv4_backend_cpu_new(c->threads);
        if (!b) fprintf(stderr, "%s: cannot create the CPU backend\n", prog);
        return b;
    }
#ifdef DSV4_HAVE_CUDA
    char err[512], desc[256];
    struct dsv4_cuda_params p = {.device = c->device, .random_seed = c->random_weights};
    struct dsv4_backend *b = dsv4_backend_cuda_new(&p, err, sizeof err);
    if (!b) fprintf(stderr, "%s: %s\n", prog, err);
    else if (!dsv4_cuda_describe(c->device, desc, sizeof desc))
        fprintf(stderr, "cuda: device %d: %s%s\n", c->device, desc,
                c->random_weights ? ", random weights generated on the device" : "");
    return b;
#else
    fprintf(stderr, "%s: --cuda: this dsv4 was built without CUDA (build it with `make cuda`)\n", prog);
    return NULL;
#endif
}

static int load(struct loaded *L, const struct common *c)
{
    char err[512];
    memset(L, 0, sizeof *L);
    if (dsv4_model_load(&L->m, c->model, err, sizeof err) ||
        dsv4_tokenizer_load(&L->tok, &L->m.gguf, L->m.hp.n_vocab, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        unload(L);
        return -1;
    }
    L->b = make_backend(c);
    if (!L->b) {
        unload(L);
        return -1;
    }
    int tenth = 0;
    const double t0 = now_s();
    if (L->b->ops->load_weights(L->b, &L->m, load_progress, &tenth, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        unload(L);
        return -1;
    }
    if (c->cuda) fprintf(stderr, "cuda: weights ready in %.1f s\n", now_s() - t0);
    struct dsv4_ctx_params p = {.n_ctx = c->ctx, .n_ubatch = c->ubatch, .sim = !c->exact, .topk = c->topk};
    if (dsv4_ctx_new(&L->ctx, &L->m, L->b, &p, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        unload(L);
        return -1;
    }
    return 0;
}

static int prompt_ids(struct loaded *L, const struct common *c, struct dsv4_ids *ids)
{
    char err[512];
    if (c->tokens) {
        const char *s = c->tokens;
        while (*s) {
            char *end;
            errno = 0;
            long v = strtol(s, &end, 10);
            if (end == s || errno || v < 0 || v >= (long)L->m.hp.n_vocab) {
                fprintf(stderr, "%s: --tokens: invalid token id at '%.20s' (vocabulary %u)\n", prog, s, L->m.hp.n_vocab);
                return -1;
            }
            dsv4_ids_push(ids, (int32_t)v);
            s = end;
            while (*s == ',' || *s == ' ') s++;
        }
        return 0;
    }
    if (!c->prompt) {
        fprintf(stderr, "%s: give --tokens IDS or -p TEXT\n", prog);
        return -1;
    }
    if (c->chat) {
        if (dsv4_chat_tokenize(L->tok, c->prompt, c->thinking, ids, err, sizeof err)) {
            fprintf(stderr, "%s: %s\n", prog, err);
            return -1;
        }
        return 0;
    }
    if (!c->no_bos && dsv4_tokenizer_bos(L->tok) >= 0) dsv4_ids_push(ids, dsv4_tokenizer_bos(L->tok));
    int rc = c->trusted ? dsv4_tokenize_trusted(L->tok, c->prompt, strlen(c->prompt), ids)
                        : dsv4_tokenize_text(L->tok, c->prompt, strlen(c->prompt), ids);
    if (rc) {
        fprintf(stderr, "%s: out of memory while tokenizing\n", prog);
        return -1;
    }
    return 0;
}

/* Evaluate ids with progress on stderr for long prompts. With s, the last chunk also
 * samples the next token on the backend (*next; the logits stay there). */
static int eval_progress(struct loaded *L, const int32_t *ids, int n, float *logits, int all, int step,
                         struct dsv4_sampler *s, int32_t *next)
{
    char err[512];
    const double t0 = now_s();
    const int show = n >= 256 && isatty(2);
    const int64_t V = L->m.hp.n_vocab;
    for (int i = 0; i < n; i += step) {
        int cnt = n - i < step ? n - i : step;
        float *lg = logits ? (all ? logits + (size_t)i * (size_t)V : (i + cnt == n ? logits : NULL)) : NULL;
        const int rc = s && i + cnt == n ? dsv4_eval_sample(L->ctx, ids + i, cnt, s, next, err, sizeof err)
                                         : dsv4_eval(L->ctx, ids + i, cnt, lg, all, err, sizeof err);
        if (rc) {
            fprintf(stderr, "%s: %s\n", prog, err);
            return -1;
        }
        if (show) fprintf(stderr, "\rprefill: %d / %d tokens (%.1f tok/s)", i + cnt, n, (i + cnt) / (now_s() - t0));
    }
    if (show) fputc('\n', stderr);
    return 0;
}

/* ---- tokenize -------------------------------------------------------------------------------- */

static int cmd_tokenize(int argc, char **argv)
{
    struct common c;
    int rc = parse_common(&c, argc, argv, "tokenize");
    if (rc) return rc;
    char err[512];
    struct dsv4_model m;
    struct dsv4_tokenizer *tok = NULL;
    if (dsv4_model_load(&m, c.model, err, sizeof err) ||
        dsv4_tokenizer_load(&tok, &m.gguf, m.hp.n_vocab, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    struct dsv4_ids ids = {0};
    const char *p = c.prompt ? c.prompt : "";
    rc = c.trusted ? dsv4_tokenize_trusted(tok, p, strlen(p), &ids) : dsv4_tokenize_text(tok, p, strlen(p), &ids);
    for (size_t i = 0; i < ids.n; i++) printf("%s%d", i ? " " : "", ids.v[i]);
    printf("\n");
    dsv4_ids_free(&ids);
    dsv4_tokenizer_free(tok);
    dsv4_model_free(&m);
    return rc ? 1 : 0;
}

/* ---- logits ---------------------------------------------------------------------------------- */

static int cmd_logits(int argc, char **argv)
{
    struct common c;
    int rc = parse_common(&c, argc, argv, "logits");
    if (rc) return rc;
    struct loaded L;
    if (load(&L, &c)) return 1;
    struct dsv4_ids ids = {0};
    float *logits = NULL;
    rc = 1;
    if (prompt_ids(&L, &c, &ids)) goto done;
    if (!ids.n) {
        fprintf(stderr, "%s: no tokens\n", prog);
        goto done;
    }
    const size_t V = L.m.hp.n_vocab;
    logits = malloc(ids.n * V * sizeof *logits);
    if (!logits) {
        fprintf(stderr, "%s: out of memory for %zu x %zu logits\n", prog, ids.n, V);
        goto done;
    }
    if (eval_progress(&L, ids.v, (int)ids.n, logits, 1, c.decode ? 1 : (c.ubatch > 0 ? c.ubatch : 64), NULL, NULL))
        goto done;
    if (c.out) {
        char err[512];
        if (dsv4_logits_write(c.out, ids.v, (uint32_t)ids.n, (uint32_t)V, logits, err, sizeof err)) {
            fprintf(stderr, "%s: %s\n", prog, err);
            goto done;
        }
    } else {
        for (size_t t = 0; t < ids.n; t++) {
            const float *l = logits + t * V;
            printf("%zu\t%d", t, ids.v[t]);
            int shown[64];
            int top = c.top < 64 ? c.top : 64;
            for (int k = 0; k < top && k < (int)V; k++) {
                int best = -1;
                for (size_t v = 0; v < V; v++) {
                    int used = 0;
                    for (int j = 0; j < k; j++) used |= shown[j] == (int)v;
                    if (!used && (best < 0 || l[v] > l[best])) best = (int)v;
                }
                shown[k] = best;
                printf("\t%d:%.5f", best, l[best]);
            }
            printf("\n");
        }
    }
    rc = 0;
done:
    free(logits);
    dsv4_ids_free(&ids);
    unload(&L);
    return rc;
}

/* ---- run ------------------------------------------------------------------------------------- */

static int cmd_run(int argc, char **argv)
{
    struct common c;
    int rc = parse_common(&c, argc, argv, "run");
    if (rc) return rc;
    if (!c.prompt) {
        fprintf(stderr, "%s run: -p PROMPT is required\n", prog);
        return 2;
    }
    struct loaded L;
    if (load(&L, &c)) return 1;
    struct dsv4_ids ids = {0};
    rc = 1;
    if (prompt_ids(&L, &c, &ids)) goto done;
    if (!ids.n) {
        fprintf(stderr, "%s: no tokens\n", prog);
        goto done;
    }
    /* sampling runs on the backend: per token only the chosen id comes back */
    struct dsv4_sampler s;
    dsv4_sampler_init(&s, (float)c.temp, c.top_k, (float)c.top_p, c.seed);
    int32_t tok = -1;
    if (c.n_predict > 0 &&
        eval_progress(&L, ids.v, (int)ids.n, NULL, 0, c.ubatch > 0 ? c.ubatch : 64, &s, &tok))
        goto done;
    const double t0 = now_s();
    int produced = 0, steps = 0;
    while (produced < c.n_predict && tok >= 0 && tok != dsv4_tokenizer_eos(L.tok)) {
        size_t len;
        const char *bytes = dsv4_token_bytes(L.tok, tok, &len);
        fwrite(bytes, 1, len, stdout);
        fflush(stdout);
        if (++produced == c.n_predict) break;
        char err[512];
        if (dsv4_eval_sample(L.ctx, &tok, 1, &s, &tok, err, sizeof err)) {
            fprintf(stderr, "\n%s: %s\n", prog, err);
            goto done;
        }
        steps++;
    }
    printf("\n");
    fprintf(stderr, "run: %zu prompt tokens, %d generated, %.2f tok/s (%d decode steps, sampling on the %s backend)\n",
            ids.n, produced, steps / (now_s() - t0 + 1e-9), steps, L.b->ops->name);
    rc = 0;
done:
    dsv4_ids_free(&ids);
    unload(&L);
    return rc;
}

/* ---- bench ----------------------------------------------------------------------------------- */

static int cmd_bench(int argc, char **argv)
{
    int n_prompt = 256, n_gen = 32;
    char **rest = malloc((size_t)argc * sizeof *rest);
    int nrest = 0;
    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        long long v;
        if ((!strcmp(argv[i], "--prompt") || !strcmp(argv[i], "--gen")) && i + 1 < argc &&
            !parse_ll(argv[i + 1], 1, 1 << 24, &v)) {
            if (!strcmp(argv[i], "--prompt")) n_prompt = (int)v;
            else n_gen = (int)v;
            i++;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    struct common c;
    int rc = parse_common(&c, nrest, rest, "bench");
    free(rest);
    if (rc) return rc;
    if (!c.ctx) c.ctx = n_prompt + n_gen;
    struct loaded L;
    if (load(&L, &c)) return 1;
    const int V = (int)L.m.hp.n_vocab;
    int32_t *tok = malloc((size_t)(n_prompt + n_gen) * sizeof *tok);
    float *logits = malloc((size_t)V * sizeof *logits);
    uint64_t s = 12345;
    for (int i = 0; i < n_prompt + n_gen; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        tok[i] = (int32_t)((s >> 33) % (uint64_t)V);
    }
    char err[512];
    rc = 1;
    double t0 = now_s();
    if (dsv4_eval(L.ctx, tok, n_prompt, logits, 0, err, sizeof err)) goto fail;
    double t1 = now_s();
    struct dsv4_sampler smp; /* greedy on the backend, as `run --temp 0` decodes */
    dsv4_sampler_init(&smp, 0, 0, 1, 0);
    for (int i = 0; i < n_gen; i++) {
        int32_t next;
        if (dsv4_eval_sample(L.ctx, tok + n_prompt + i, 1, &smp, &next, err, sizeof err)) goto fail;
    }
    double t2 = now_s();
    printf("bench: %s, %s backend, %d threads, %s\n", c.model, L.b->ops->name,
           c.threads > 0 ? c.threads : (int)sysconf(_SC_NPROCESSORS_ONLN),
           c.exact ? "exact fp32" : "FP8/FP4 simulation");
    printf("  prefill %d tokens: %.2f s, %.2f tok/s\n", n_prompt, t1 - t0, n_prompt / (t1 - t0));
    printf("  decode  %d tokens: %.2f s, %.2f tok/s (greedy sampling on the backend)\n", n_gen, t2 - t1,
           n_gen / (t2 - t1));
    rc = 0;
fail:
    if (rc) fprintf(stderr, "%s: %s\n", prog, err);
    free(tok);
    free(logits);
    unload(&L);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "mkmodel")) return cmd_mkmodel(argc - 1, argv + 1);
    if (!strcmp(cmd, "tokenize")) return cmd_tokenize(argc - 1, argv + 1);
    if (!strcmp(cmd, "logits")) return cmd_logits(argc - 1, argv + 1);
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
    usage();
    return 2;
}
