/*
 * findings.c - counting, filtering and printing findings for `dsml check` and `dsml conform`
 * (findings.h).
 */
#include <string.h>

#include "dsml_json.h"
#include "dsml_schema.h"
#include "findings.h"

const char *fd_sev_name(dsml_severity s) { return s == DSML_SEV_WARNING ? "warning" : "error"; }

void fd_count(fd_counts *c, const dsml_finding *f)
{
    if (f->severity == DSML_SEV_WARNING) c->warnings++;
    else c->errors++;
    for (size_t i = 0; i < c->ncodes; i++)
        if (!strcmp(c->codes[i].name, f->code)) {
            c->codes[i].n++;
            return;
        }
    if (c->ncodes < FD_MAX_CODES) {
        snprintf(c->codes[c->ncodes].name, sizeof c->codes[0].name, "%s", f->code);
        c->codes[c->ncodes++].n = 1;
    }
}

void fd_merge(fd_counts *a, const fd_counts *b)
{
    a->errors += b->errors;
    a->warnings += b->warnings;
    for (size_t j = 0; j < b->ncodes; j++) {
        size_t i;
        for (i = 0; i < a->ncodes; i++)
            if (!strcmp(a->codes[i].name, b->codes[j].name)) break;
        if (i == a->ncodes) {
            if (a->ncodes == FD_MAX_CODES) continue;
            a->codes[a->ncodes] = b->codes[j];
            a->codes[a->ncodes++].n = 0;
        }
        a->codes[i].n += b->codes[j].n;
    }
}

void fd_codes_text(const fd_counts *c, dsml_buf *out)
{
    for (size_t i = 0; i < c->ncodes; i++) {
        if (i) dsml_buf_puts(out, ", ");
        dsml_buf_puts(out, c->codes[i].name);
        if (c->codes[i].n > 1) dsml_buf_printf(out, " x%zu", c->codes[i].n);
    }
}

void fd_codes_json(const fd_counts *c, dsml_buf *out)
{
    dsml_buf_putc(out, '{');
    for (size_t i = 0; i < c->ncodes; i++)
        dsml_buf_printf(out, "%s\"%s\":%zu", i ? "," : "", c->codes[i].name, c->codes[i].n);
    dsml_buf_putc(out, '}');
}

/* ---- code names ------------------------------------------------------------------------ */

int fd_known_code(const char *name)
{
    for (size_t i = 0; dsml_check_code_at(i); i++)
        if (!strcmp(dsml_check_code_name(dsml_check_code_at(i)), name)) return 1;
#define X(n, num, msg) if (!strcmp(#n, name)) return 1;
    DSML_SCHEMA_ERRORS(X)
#undef X
#define X(n, num, msg) if (num && !strcmp(#n, name)) return 1;
    DSML_ERRORS(X)
#undef X
    return 0;
}

int fd_ignore_add(fd_ignore *ig, const char *list, const char **bad)
{
    static char name[40];
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ", ");
        if (n) {
            if (n >= sizeof name) n = sizeof name - 1;
            memcpy(name, p, n);
            name[n] = 0;
            if (!fd_known_code(name)) {
                *bad = name;
                return -1;
            }
            if (ig->n < FD_MAX_IGNORE) memcpy(ig->names[ig->n++], name, n + 1);
        }
        p += n;
        while (*p == ',' || *p == ' ') p++;
    }
    return 0;
}

int fd_ignored(const fd_ignore *ig, const char *code)
{
    for (size_t i = 0; i < ig->n; i++)
        if (!strcmp(ig->names[i], code)) return 1;
    return 0;
}

/* ---- JSON ------------------------------------------------------------------------------- */

void fd_json_str(dsml_buf *out, const char *s, size_t n)
{
    dsml_buf_putc(out, '"');
    if (n) dsml_json_escape(s, n, out);
    dsml_buf_putc(out, '"');
}

void fd_json_finding(dsml_buf *out, const dsml_finding *f)
{
    dsml_buf_puts(out, "{\"code\":");
    fd_json_str(out, f->code, strlen(f->code));
    dsml_buf_printf(out, ",\"severity\":\"%s\",\"path\":", fd_sev_name(f->severity));
    fd_json_str(out, f->path, strlen(f->path));
    dsml_buf_puts(out, ",\"pointer\":");
    fd_json_str(out, f->pointer, strlen(f->pointer));
    if (f->offset != DSML_NO_OFFSET)
        dsml_buf_printf(out, ",\"offset\":%llu,\"line\":%llu,\"col\":%llu",
                        (unsigned long long)f->offset, (unsigned long long)f->line,
                        (unsigned long long)f->col);
    else dsml_buf_puts(out, ",\"offset\":null,\"line\":null,\"col\":null");
    dsml_buf_puts(out, ",\"message\":");
    fd_json_str(out, f->message, strlen(f->message));
    if (f->excerpt) {
        dsml_buf_puts(out, ",\"excerpt\":");
        fd_json_str(out, f->excerpt, f->excerpt_len);
    }
    dsml_buf_putc(out, '}');
}

/* ---- the code table ----------------------------------------------------------------------- */

static void list_one(FILE *f, int json, int *first, const char *name, int num, const char *sev,
                     const char *msg)
{
    if (json) {
        dsml_buf b = {0};
        dsml_buf_printf(&b, "%s{\"code\":\"%s\",\"number\":%d,\"severity\":\"%s\",\"message\":",
                        *first ? "" : ",\n", name, num, sev);
        fd_json_str(&b, msg, strlen(msg));
        dsml_buf_putc(&b, '}');
        fputs(b.data ? b.data : "", f);
        dsml_buf_free(&b);
    } else
        fprintf(f, "%-24s %4d  %-7s  %s\n", name, num, sev, msg);
    *first = 0;
}

void fd_list_codes(FILE *f, int json)
{
    int first = 1;
    if (json) fputs("[\n", f);
    for (size_t i = 0; dsml_check_code_at(i); i++) {
        dsml_check_code c = dsml_check_code_at(i);
        list_one(f, json, &first, dsml_check_code_name(c), (int)c,
                 fd_sev_name(dsml_check_code_severity(c)), dsml_check_code_message(c));
    }
#define X(n, num, msg) list_one(f, json, &first, #n, num, "error", msg);
    DSML_SCHEMA_ERRORS(X)
#undef X
#define X(n, num, msg)                                                                             \
    if (num) list_one(f, json, &first, #n, num, #n[0] == 'W' ? "warning" : "error", msg);
    DSML_ERRORS(X)
#undef X
    if (json) fputs("\n]\n", f);
}

void fd_print_excerpt(FILE *f, const char *ex, size_t n, size_t max)
{
    size_t shown = 0;
    for (size_t i = 0; i < n && shown < max; i++, shown++) {
        unsigned char ch = (unsigned char)ex[i];
        if (ch == '\n') fputs("\\n", f);
        else if (ch == '\t') fputs("\\t", f);
        else if (ch == '\r') fputs("\\r", f);
        else if (ch < 0x20) fprintf(f, "\\x%02x", ch);
        else {
            size_t l = ch < 0x80 ? 1 : ch < 0xE0 ? 2 : ch < 0xF0 ? 3 : 4;
            if (i + l > n) l = n - i;
            fwrite(ex + i, 1, l, f);
            i += l - 1;
        }
    }
    if (shown < n) fputs("\xE2\x80\xA6", f);
}
