/*
 * diff_main.c - `dsml-diff`: compare another DSML parser with libdsml on a corpus.
 *
 *   dsml-diff (--cmd CMD | --lib LIB.so) [--dialect D] [--thinking] [--strict]
 *             [--valid-only] [--calls-only] [--max-reports N] FILE|DIR...
 *
 * Every file (directories: their regular files, one level) is one completion. Prints a
 * report for each input where the results differ or the other parser fails, then a
 * summary. Exit status: 0 all agree, 1 differences or failures, 2 usage or I/O error.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diff.h"

static const char usage[] =
    "usage: dsml-diff (--cmd CMD | --lib LIB.so) [options] FILE|DIR...\n"
    "\n"
    "Runs another DSML parser and libdsml on every input (one completion per file) and\n"
    "compares the OpenAI messages: tool calls (count, names, arguments as JSON values) and,\n"
    "unless --calls-only, content and reasoning_content.\n"
    "\n"
    "  --cmd CMD        shell command: reads the completion on stdin, prints the assistant\n"
    "                   message JSON on stdout; exit 0 parsed, 1 rejected. Its environment\n"
    "                   has DSML_DIFF_DIALECT, DSML_DIFF_THINKING, DSML_DIFF_STRICT.\n"
    "  --lib LIB.so     shared library exporting dsml_diff_parse (fuzz/dsml_diff.h)\n"
    "  --dialect D      v4 (default), v3.2, v3.1, auto\n"
    "  --thinking       completions start inside reasoning\n"
    "  --strict         both parsers in strict mode: acceptance must agree too\n"
    "  --valid-only     only inputs libdsml's strict mode accepts (the official semantics,\n"
    "                   where every conforming parser must agree)\n"
    "  --calls-only     compare tool calls only\n"
    "  --max-reports N  print at most N reports (default 20; the summary counts all)\n"
    "exit status: 0 all agree, 1 differences or failures, 2 usage or I/O error\n";

static fzd *d;
static size_t n_agree, n_skip, n_differ, n_fail, max_reports = 20;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    dsml_buf in = {0};
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) dsml_buf_add(&in, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad || in.oom) {
        fprintf(stderr, "%s: read failed\n", path);
        dsml_buf_free(&in);
        return -1;
    }
    dsml_buf report = {0};
    fzd_verdict v = fzd_check(d, in.data ? in.data : "", in.len, &report);
    if (v == FZD_AGREE) n_agree++;
    else if (v == FZD_SKIPPED) n_skip++;
    else {
        if (v == FZD_DIFFER) n_differ++;
        else n_fail++;
        if (n_differ + n_fail <= max_reports)
            printf("== %s: %s\n%s\n", path, v == FZD_DIFFER ? "DIFFERENT" : "FAILED", report.data);
    }
    dsml_buf_free(&report);
    dsml_buf_free(&in);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st)) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) return run_file(path);
    DIR *dir = opendir(path);
    if (!dir) {
        perror(path);
        return -1;
    }
    char **names = NULL;
    size_t k = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "README.md")) continue;
        if (k == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) return -1;
            names = nn;
        }
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        names[k] = malloc(l);
        if (!names[k]) return -1;
        snprintf(names[k++], l, "%s/%s", path, e->d_name);
    }
    closedir(dir);
    if (k) qsort(names, k, sizeof *names, cmp);
    int rc = 0;
    for (size_t i = 0; i < k; i++) {
        struct stat s2;
        if (!rc && !stat(names[i], &s2) && S_ISREG(s2.st_mode)) rc = run_file(names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    enum { O_CMD = 256, O_LIB, O_DIALECT, O_THINKING, O_STRICT, O_VALID, O_CALLS, O_MAX };
    static const struct option lo[] = {
        {"cmd", 1, 0, O_CMD},           {"lib", 1, 0, O_LIB},           {"dialect", 1, 0, O_DIALECT},
        {"thinking", 0, 0, O_THINKING}, {"strict", 0, 0, O_STRICT},     {"valid-only", 0, 0, O_VALID},
        {"calls-only", 0, 0, O_CALLS},  {"max-reports", 1, 0, O_MAX},   {"help", 0, 0, 'h'},
        {0, 0, 0, 0},
    };
    fzd_config c;
    memset(&c, 0, sizeof c);
    c.dialect = DSML_V4;
    int o;
    while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (o) {
        case O_CMD: c.cmd = optarg; break;
        case O_LIB: c.lib = optarg; break;
        case O_DIALECT:
            if (dsml_dialect_parse(optarg, &c.dialect)) {
                fprintf(stderr, "dsml-diff: unknown dialect '%s'\n", optarg);
                return 2;
            }
            break;
        case O_THINKING: c.thinking = 1; break;
        case O_STRICT: c.strict = 1; break;
        case O_VALID: c.valid_only = 1; break;
        case O_CALLS: c.calls_only = 1; break;
        case O_MAX: max_reports = strtoul(optarg, NULL, 10); break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind >= argc || !c.cmd == !c.lib) {
        fputs(usage, stderr);
        return 2;
    }
    char err[512];
    d = fzd_open(&c, err, sizeof err);
    if (!d) {
        fprintf(stderr, "dsml-diff: %s\n", err);
        return 2;
    }
    int rc = 0;
    for (int i = optind; i < argc && !rc; i++) rc = run_path(argv[i]);
    printf("dsml-diff: %zu inputs (%s): %zu agree, %zu skipped, %zu different, %zu failed\n",
           n_agree + n_skip + n_differ + n_fail, fzd_options(d), n_agree, n_skip, n_differ, n_fail);
    fzd_close(d);
    if (rc) return 2;
    return n_differ || n_fail ? 1 : 0;
}
