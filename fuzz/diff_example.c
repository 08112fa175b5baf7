/*
 * diff_example.c - dsml_diff_parse (dsml_diff.h) implemented with libdsml: the template for
 * wrapping another parser, and the library the differential self-test loads
 * (make test-fuzz-diff). Built as $(O)/fuzz/lib/libdsml_diff_example.so.
 */
#include <stdlib.h>
#include <string.h>

#include "dsml_diff.h"
#include "dsml_openai.h"

static int word(const char *options, const char *key, const char *value)
{
    size_t kl = strlen(key), vl = strlen(value);
    for (const char *p = options; (p = strstr(p, key)); p += kl)
        if ((p == options || p[-1] == ' ') && p[kl] == '=' && !strncmp(p + kl + 1, value, vl) &&
            (p[kl + 1 + vl] == ' ' || !p[kl + 1 + vl]))
            return 1;
    return 0;
}

int dsml_diff_parse(const char *text, size_t len, const char *options, char **out)
{
    dsml_oai_options o;
    dsml_oai_options_init(&o);
    static const char *const dialects[] = {"v4", "v3.2", "v3.1", "auto"};
    for (int i = 0; i < 4; i++)
        if (word(options, "dialect", dialects[i])) dsml_dialect_parse(dialects[i], &o.parse.dialect);
    if (word(options, "thinking", "1")) o.parse.flags |= DSML_THINKING;
    if (word(options, "strict", "1")) o.parse.flags |= DSML_STRICT;
    uint64_t seed = 0;
    o.make_id = dsml_id_seeded;
    o.id_ud = &seed;
    dsml_message m;
    dsml_code c = dsml_parse_message(text, len, &o, 0, &m);
    int rc = 1;
    if (c == DSML_OK) {
        dsml_buf js = {0};
        rc = dsml_message_json(&m, &js) ? -1 : 0;
        *out = rc ? NULL : dsml_buf_take(&js, NULL);
        dsml_buf_free(&js);
        if (!rc && !*out) rc = -1;
    } else if (c == DSML_E_NOMEM) {
        rc = -1;
    }
    dsml_message_free(&m);
    return rc;
}

void dsml_diff_free(char *out) { free(out); }
