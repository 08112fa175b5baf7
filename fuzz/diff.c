/*
 * diff.c - runs another DSML parser (command or shared library) and libdsml on the same
 * input and compares the OpenAI messages (diff.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diff.h"
#include "dsml_json.h"
#include "dsml_openai.h"
#include "fuzz.h"

#define CMD_TIMEOUT_MS 10000

struct fzd {
    fzd_config c;
    void *dl;
    int (*parse)(const char *, size_t, const char *, char **);
    void (*free_out)(char *);
    char options[64];
    char tmp[64]; /* input file for the command */
    int tmp_fd;
    char errf[64]; /* the command's stderr, shown in reports */
    int err_fd;
};

fzd *fzd_open(const fzd_config *c, char *err, size_t errlen)
{
    if (!c->cmd == !c->lib) {
        snprintf(err, errlen, "give exactly one of a command or a shared library");
        return NULL;
    }
    fzd *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->c = *c;
    d->tmp_fd = d->err_fd = -1;
    snprintf(d->options, sizeof d->options, "dialect=%s thinking=%d strict=%d",
             dsml_dialect_name(c->dialect), !!c->thinking, !!c->strict);
    if (c->lib) {
        d->dl = dlopen(c->lib, RTLD_NOW | RTLD_LOCAL);
        if (!d->dl) {
            snprintf(err, errlen, "cannot load %s: %s", c->lib, dlerror());
            free(d);
            return NULL;
        }
        *(void **)&d->parse = dlsym(d->dl, "dsml_diff_parse");
        *(void **)&d->free_out = dlsym(d->dl, "dsml_diff_free");
        if (!d->parse) {
            snprintf(err, errlen, "%s does not export dsml_diff_parse (see fuzz/dsml_diff.h)",
                     c->lib);
            dlclose(d->dl);
            free(d);
            return NULL;
        }
        return d;
    }
    const char *dir = getenv("TMPDIR");
    snprintf(d->tmp, sizeof d->tmp, "%s/dsml-diff-XXXXXX", dir && strlen(dir) < 40 ? dir : "/tmp");
    d->tmp_fd = mkstemp(d->tmp);
    memcpy(d->errf, d->tmp, sizeof d->errf);
    memcpy(d->errf + strlen(d->errf) - 6, "XXXXXX", 6);
    d->err_fd = d->tmp_fd < 0 ? -1 : mkstemp(d->errf);
    if (d->tmp_fd < 0 || d->err_fd < 0) {
        snprintf(err, errlen, "cannot create a temporary file: %s", strerror(errno));
        free(d);
        return NULL;
    }
    /* the command sees the options in its environment too */
    setenv("DSML_DIFF_DIALECT", dsml_dialect_name(c->dialect), 1);
    setenv("DSML_DIFF_THINKING", c->thinking ? "1" : "0", 1);
    setenv("DSML_DIFF_STRICT", c->strict ? "1" : "0", 1);
    setenv("DSML_DIFF_OPTIONS", d->options, 1);
    return d;
}

void fzd_close(fzd *d)
{
    if (!d) return;
    if (d->dl) dlclose(d->dl);
    if (d->tmp_fd >= 0) {
        close(d->tmp_fd);
        unlink(d->tmp);
    }
    if (d->err_fd >= 0) {
        close(d->err_fd);
        unlink(d->errf);
    }
    free(d);
}

const char *fzd_options(const fzd *d) { return d->options; }

/* ---- the other parser ------------------------------------------------------------------ */

enum { OTHER_OK, OTHER_REJECTED, OTHER_FAILED };

static int run_cmd(fzd *d, const char *text, size_t len, dsml_buf *out, dsml_buf *why)
{
    if (ftruncate(d->tmp_fd, 0) || pwrite(d->tmp_fd, text, len, 0) != (ssize_t)len ||
        ftruncate(d->err_fd, 0)) {
        dsml_buf_printf(why, "cannot write the input file: %s", strerror(errno));
        return OTHER_FAILED;
    }
    int p[2];
    if (pipe(p)) {
        dsml_buf_printf(why, "pipe: %s", strerror(errno));
        return OTHER_FAILED;
    }
    pid_t pid = fork();
    if (pid < 0) {
        dsml_buf_printf(why, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return OTHER_FAILED;
    }
    if (!pid) {
        int in = open(d->tmp, O_RDONLY), er = open(d->errf, O_WRONLY);
        if (in < 0 || er < 0 || dup2(in, 0) < 0 || dup2(p[1], 1) < 0 || dup2(er, 2) < 0)
            _exit(127);
        close(p[0]);
        execl("/bin/sh", "sh", "-c", d->c.cmd, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[65536];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int timed_out = 0;
    for (;;) {
        struct pollfd pf = {p[0], POLLIN, 0};
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = CMD_TIMEOUT_MS - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        ssize_t n = read(p[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        dsml_buf_add(out, buf, (size_t)n);
    }
    close(p[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (timed_out) {
        dsml_buf_printf(why, "the command ran longer than %d ms", CMD_TIMEOUT_MS);
        return OTHER_FAILED;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return OTHER_OK;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 1) return OTHER_REJECTED;
    if (WIFSIGNALED(st)) dsml_buf_printf(why, "the command died of signal %d", WTERMSIG(st));
    else dsml_buf_printf(why, "the command exited with status %d", WEXITSTATUS(st));
    return OTHER_FAILED;
}

static int run_lib(fzd *d, const char *text, size_t len, dsml_buf *out, dsml_buf *why)
{
    char *res = NULL;
    int rc = d->parse(text, len, d->options, &res);
    if (rc == 0) {
        if (!res) {
            dsml_buf_puts(why, "dsml_diff_parse returned 0 without a message");
            return OTHER_FAILED;
        }
        dsml_buf_puts(out, res);
    }
    if (res) {
        if (d->free_out) d->free_out(res);
        else free(res);
    }
    if (rc == 0) return OTHER_OK;
    if (rc == 1) return OTHER_REJECTED;
    dsml_buf_printf(why, "dsml_diff_parse returned %d", rc);
    return OTHER_FAILED;
}

/* ---- comparison ------------------------------------------------------------------------ */

/* The message object of an output: a message, {"message": …} or a chat completion. */
static const dsml_jv *message_of(const dsml_jv *root)
{
    const dsml_jv *m = dsml_jv_get(root, "message");
    if (m && m->type == DSML_JV_OBJECT) return m;
    const dsml_jv *ch = dsml_jv_get(root, "choices");
    if (ch && ch->type == DSML_JV_ARRAY && ch->len) {
        m = dsml_jv_get(&ch->u.items[0], "message");
        if (m && m->type == DSML_JV_OBJECT) return m;
    }
    return root->type == DSML_JV_OBJECT ? root : NULL;
}

static void str_of(const dsml_jv *v, const char **s, size_t *n)
{
    *s = v && v->type == DSML_JV_STRING ? v->u.s : "";
    *n = v && v->type == DSML_JV_STRING ? v->len : 0;
}

static const dsml_jv *calls_of(const dsml_jv *m)
{
    const dsml_jv *c = dsml_jv_get(m, "tool_calls");
    return c && c->type == DSML_JV_ARRAY ? c : NULL;
}

/* The first difference between two messages, or NULL. */
static const char *compare(const fzd *d, const dsml_jv *ours, const dsml_jv *theirs, char *why,
                           size_t wl)
{
    const dsml_jv *ca = calls_of(ours), *cb = calls_of(theirs);
    size_t na = ca ? ca->len : 0, nb = cb ? cb->len : 0;
    if (na != nb) {
        snprintf(why, wl, "tool call count: libdsml %zu, other %zu", na, nb);
        return why;
    }
    for (size_t i = 0; i < na; i++) {
        const dsml_jv *fa = dsml_jv_get(&ca->u.items[i], "function");
        const dsml_jv *fb = dsml_jv_get(&cb->u.items[i], "function");
        if (!fz_jv_str_eq(dsml_jv_get(fa, "name"), dsml_jv_get(fb, "name"))) {
            snprintf(why, wl, "tool call %zu: name differs", i);
            return why;
        }
        const char *x, *y;
        size_t xl, yl;
        str_of(dsml_jv_get(fa, "arguments"), &x, &xl);
        str_of(dsml_jv_get(fb, "arguments"), &y, &yl);
        if (!fz_json_text_equal(x, xl, y, yl)) {
            snprintf(why, wl, "tool call %zu: arguments differ (compared as JSON values)", i);
            return why;
        }
    }
    if (d->c.calls_only) return NULL;
    if (!fz_jv_str_eq(dsml_jv_get(ours, "content"), dsml_jv_get(theirs, "content"))) {
        snprintf(why, wl, "content differs");
        return why;
    }
    if (d->c.thinking && !fz_jv_str_eq(dsml_jv_get(ours, "reasoning_content"),
                                       dsml_jv_get(theirs, "reasoning_content"))) {
        snprintf(why, wl, "reasoning_content differs");
        return why;
    }
    return NULL;
}

static void show_input(dsml_buf *r, const char *text, size_t len)
{
    size_t n = len > 4000 ? 4000 : len;
    dsml_buf_printf(r, "input (%zu bytes%s): %s\n", len, n < len ? ", first 4000 shown" : "",
                    fz_show(text, n));
}

fzd_verdict fzd_check(fzd *d, const char *text, size_t len, dsml_buf *report)
{
    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    oo.parse.dialect = d->c.dialect;
    oo.parse.flags = (d->c.thinking ? DSML_THINKING : 0) | (d->c.strict ? DSML_STRICT : 0);
    uint64_t seed = 0;
    oo.make_id = dsml_id_seeded;
    oo.id_ud = &seed;
    if (d->c.valid_only && !d->c.strict) {
        dsml_oai_options so = oo;
        so.parse.flags |= DSML_STRICT;
        dsml_message sm;
        dsml_code sc = dsml_parse_message(text, len, &so, 0, &sm);
        dsml_message_free(&sm);
        if (sc != DSML_OK) return FZD_SKIPPED;
    }
    dsml_message m;
    dsml_code code = dsml_parse_message(text, len, &oo, 0, &m);
    int ours_rejected = code != DSML_OK;
    if (d->c.valid_only && ours_rejected) {
        dsml_message_free(&m);
        return FZD_SKIPPED;
    }
    dsml_buf ours = {0}, theirs = {0}, why = {0};
    dsml_message_json(&m, &ours);
    int other = d->c.lib ? run_lib(d, text, len, &theirs, &why) : run_cmd(d, text, len, &theirs, &why);
    fzd_verdict v = FZD_AGREE;
    dsml_jv_doc *da = NULL, *db = NULL;
    char what[160];
    if (other == OTHER_FAILED) {
        v = FZD_FAILED;
        dsml_buf_printf(report, "the other parser failed: %s\n", why.data ? why.data : "");
    } else if (ours_rejected != (other == OTHER_REJECTED)) {
        v = FZD_DIFFER;
        dsml_buf_printf(report, "acceptance differs: libdsml %s (%s at byte %llu), other %s\n",
                        ours_rejected ? "rejects" : "accepts",
                        ours_rejected ? dsml_code_name(m.result.error.code) : "ok",
                        (unsigned long long)m.result.error.offset,
                        other == OTHER_REJECTED ? "rejects" : "accepts");
    } else if (!ours_rejected) {
        dsml_jv_error e;
        da = dsml_jv_parse(ours.data, ours.len, 0, &e);
        db = dsml_jv_parse(theirs.data, theirs.len, 0, &e);
        const dsml_jv *mb = db ? message_of(dsml_jv_root(db)) : NULL;
        if (!mb) {
            v = FZD_FAILED;
            dsml_buf_printf(report, "the other parser's output is not a JSON message (%s)\n",
                            db ? "no message object" : e.msg);
        } else if (compare(d, dsml_jv_root(da), mb, what, sizeof what)) {
            v = FZD_DIFFER;
            dsml_buf_printf(report, "%s\n", what);
        }
    }
    if (v != FZD_AGREE) {
        dsml_buf_printf(report, "options: %s\n", d->options);
        show_input(report, text, len);
        dsml_buf_printf(report, "libdsml: %s\n", ours_rejected ? "(rejected)" : ours.data);
        if (other == OTHER_REJECTED) dsml_buf_puts(report, "other:   (rejected)\n");
        else if (dsml_json_valid(theirs.data, theirs.len)) dsml_buf_printf(report, "other:   %s\n", theirs.data);
        else dsml_buf_printf(report, "other:   %s\n", fz_show(theirs.data, theirs.len > 8000 ? 8000 : theirs.len));
        char eb[2000];
        ssize_t en = d->err_fd >= 0 ? pread(d->err_fd, eb, sizeof eb, 0) : 0;
        if (en > 0) dsml_buf_printf(report, "other's stderr: %s\n", fz_show(eb, (size_t)en));
    }
    dsml_jv_free(da);
    dsml_jv_free(db);
    dsml_buf_free(&ours);
    dsml_buf_free(&theirs);
    dsml_buf_free(&why);
    dsml_message_free(&m);
    return v;
}
