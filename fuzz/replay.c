/*
 * replay.c - a plain main() for the fuzz harnesses: runs LLVMFuzzerTestOneInput once on
 * every file named on the command line (directories: every regular file in them, sorted,
 * one level deep). Linked instead of libFuzzer / AFL++ when the harnesses are built with
 * any C compiler for regression replay (`make test`, and its ASan+UBSan pass).
 *
 * usage: fuzz_NAME [-v] FILE|DIR...    exit 0 when every input ran (a failing invariant
 *                                      aborts the process, naming the input first)
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static int verbose;
static size_t ran;
static const char *current; /* the input being run, named when the process dies */

/* Optional in a harness (libFuzzer calls it once before the first input). */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Present when the harness is linked with a sanitizer runtime. */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static void name_current(void)
{
    if (!current) return;
    /* async-signal-safe: write(2) only */
    static const char pre[] = "\n==== while running input: ";
    if (write(2, pre, sizeof pre - 1) < 0 || write(2, current, strlen(current)) < 0 ||
        write(2, "\n", 1) < 0)
        return;
}

static void on_signal(int sig)
{
    name_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) buf = realloc(buf, cap *= 2);
    }
    if (!buf || ferror(f)) {
        fprintf(stderr, "%s: read failed\n", path);
        exit(2);
    }
    fclose(f);
    if (verbose) fprintf(stderr, "running %s (%zu bytes)\n", path, len);
    /* exact-size copy so ASan sees reads past the input */
    uint8_t *in = malloc(len ? len : 1);
    if (!in) exit(2);
    memcpy(in, buf, len);
    free(buf);
    current = path;
    LLVMFuzzerTestOneInput(in, len);
    current = NULL;
    free(in);
    ran++;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        exit(2);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "README.md")) continue;
        size_t l = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(l);
        if (!p) exit(2);
        snprintf(p, l, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) exit(2);
            names = nn;
        }
        names[n++] = p;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp);
    for (size_t i = 0; i < n; i++) {
        run_file(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    int first = 1;
    signal(SIGABRT, on_signal); /* failed invariants */
    if (__sanitizer_set_death_callback) {
        __sanitizer_set_death_callback(name_current); /* the sanitizer reports the rest */
    } else {
        signal(SIGSEGV, on_signal);
        signal(SIGBUS, on_signal);
        signal(SIGFPE, on_signal);
    }
    if (argc > 1 && !strcmp(argv[1], "-v")) verbose = 1, first = 2;
    if (argc <= first) {
        fprintf(stderr, "usage: %s [-v] FILE|DIR...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    for (int i = first; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) {
            perror(argv[i]);
            return 2;
        }
        if (S_ISDIR(st.st_mode)) run_dir(argv[i]);
        else run_file(argv[i]);
    }
    fprintf(stderr, "%s: %zu inputs ok\n", argv[0], ran);
    return 0;
}
