/*
 * render_cases.c - runs every case in spec/render/: y_NAME.json (+ NAME.args options) must
 * render to y_NAME.txt byte for byte, also through the segment sink; n_NAME.json must fail
 * with an error whose "path: message" contains the text of n_NAME.err. Each .args file
 * says where its expected output comes from.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <string.h>

#include "dsml_render.h"
#include "render_support.h"

/* Options from the NAME.args file: '#' lines are comments, the rest are `dsml render`
 * flags. Returns 0, or -1 for an unknown flag. */
static int parse_args(char *text, dsml_render_options *o)
{
    dsml_render_options_init(o);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        char *s2 = NULL;
        for (char *w = strtok_r(line, " \t", &s2); w; w = strtok_r(NULL, " \t", &s2)) {
            if (!strcmp(w, "--dialect")) {
                char *v = strtok_r(NULL, " \t", &s2);
                if (!v) return -1;
                if (!strcmp(v, "v4")) o->dialect = DSML_V4;
                else if (!strcmp(v, "v3.2")) o->dialect = DSML_V32;
                else return -1;
            } else if (!strcmp(w, "--effort")) {
                char *v = strtok_r(NULL, " \t", &s2);
                if (!v) return -1;
                if (!strcmp(v, "max")) o->effort = DSML_EFFORT_MAX;
                else if (!strcmp(v, "none") || !strcmp(v, "high")) o->effort = DSML_EFFORT_NONE;
                else return -1;
            } else if (!strcmp(w, "--thinking")) o->thinking = DSML_THINKING_ON;
            else if (!strcmp(w, "--chat")) o->thinking = DSML_THINKING_OFF;
            else if (!strcmp(w, "--no-bos")) o->flags |= DSML_RENDER_NO_BOS;
            else if (!strcmp(w, "--keep-reasoning")) o->flags |= DSML_RENDER_KEEP_REASONING;
            else if (!strcmp(w, "--deepseek-roles")) o->flags |= DSML_RENDER_DEEPSEEK_ROLES;
            else if (!strcmp(w, "--closer-error")) o->flags |= DSML_RENDER_CLOSER_ERROR;
            else return -1;
        }
    }
    return 0;
}

typedef struct seglog {
    dsml_buf all;
    int last_plain, plain_twice, bad_special;
} seglog;

static int seg_write(void *ud, const char *d, size_t n, int special)
{
    seglog *l = ud;
    if (!special && l->last_plain) l->plain_twice = 1;
    if (special && !n) l->bad_special = 1;
    l->last_plain = !special;
    return dsml_buf_add(&l->all, d, n);
}

static char *read_case(const char *name, const char *ext, size_t *len)
{
    char rel[512];
    snprintf(rel, sizeof rel, "spec/render/%s%s", name, ext);
    return rs_read(rs_path(rel), len);
}

/* Returns 1 when the case passed (failures are logged). */
static int run_case(const char *name)
{
    size_t jlen, alen, elen;
    char *json = read_case(name, ".json", &jlen);
    char *args = read_case(name, ".args", &alen);
    int ok = 1;
    dsml_render_options o;
    if (!json || !args || parse_args(args, &o)) {
        cr_log_error("%s: missing .json/.args or unknown option", name);
        ok = 0;
        goto out;
    }
    dsml_buf b = {0};
    dsml_sink s = dsml_buf_sink(&b);
    dsml_render_error err;
    int rc = dsml_render_prompt(json, jlen, &o, &s, &err);
    if (name[0] == 'n') {
        char *want = read_case(name, ".err", &elen);
        char got[512];
        snprintf(got, sizeof got, "%s: %s", err.path, err.message);
        if (want) want[strcspn(want, "\n")] = 0;
        if (!want || rc != -1 || !strstr(got, want) || err.offset > jlen) {
            cr_log_error("%s: rc %d, error \"%s\" at %zu; want one containing \"%s\"", name, rc,
                         got, err.offset, want ? want : "(missing .err)");
            ok = 0;
        }
        free(want);
    } else {
        char *want = read_case(name, ".txt", &elen);
        if (!want || rc || b.len != elen || (elen && memcmp(b.data, want, elen))) {
            size_t i = 0;
            while (want && i < b.len && i < elen && b.data[i] == want[i]) i++;
            cr_log_error("%s: rc %d (%s: %s); output differs at byte %zu (got %zu bytes, want %zu)",
                         name, rc, err.path, err.message, i, b.len, elen);
            ok = 0;
        }
        seglog l = {{0}, 0, 0, 0};
        dsml_segment_sink ss = {seg_write, &l};
        rc = dsml_render_prompt_segments(json, jlen, &o, &ss, &err);
        if (rc || l.all.len != b.len || (b.len && memcmp(l.all.data, b.data, b.len)) ||
            l.plain_twice || l.bad_special) {
            cr_log_error("%s: segment rendering differs (rc %d, plain twice %d)", name, rc,
                         l.plain_twice);
            ok = 0;
        }
        dsml_buf_free(&l.all);
        free(want);
    }
    dsml_buf_free(&b);
out:
    free(json);
    free(args);
    return ok;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int only_json(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return (e->d_name[0] == 'y' || e->d_name[0] == 'n') && e->d_name[1] == '_' && n > 5 &&
           !strcmp(e->d_name + n - 5, ".json");
}

Test(render_cases, every_spec_render_case_gives_its_expected_output)
{
    struct dirent **list;
    int n = scandir(rs_path("spec/render"), &list, only_json, by_name);
    cr_assert_gt(n, 0, "no cases in spec/render (run from the repository root)");
    int failed = 0, ny = 0, nn = 0;
    for (int i = 0; i < n; i++) {
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(strlen(list[i]->d_name) - 5), list[i]->d_name);
        if (name[0] == 'y') ny++;
        else nn++;
        failed += !run_case(name);
        free(list[i]);
    }
    free(list);
    cr_log_info("spec/render: %d rendering cases, %d error cases", ny, nn);
    cr_expect_eq(failed, 0, "%d of %d spec/render cases failed (see the log)", failed, n);
    cr_expect_gt(ny, 50);
    cr_expect_gt(nn, 20);
}
