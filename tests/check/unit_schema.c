/*
 * unit_schema.c - the JSON Schema validator (dsml_schema.h): every keyword with a value that
 * passes and one that fails (with the code, instance path and schema path expected), the
 * schema self-check, ECMA-262 pattern translation, exact number comparison, JSON equality and
 * the type / property queries used for the string-flag checks.
 */
#include <criterion/criterion.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "dsml_jv.h"
#include "dsml_schema.h"

typedef struct collect {
    char codes[2048];
    char paths[2048];
    char spaths[2048];
    char first_msg[512];
    int n;
} collect;

static int on_err(void *ud, const dsml_schema_error *e)
{
    collect *c = ud;
    if (!c->n) snprintf(c->first_msg, sizeof c->first_msg, "%s", e->message);
    c->n++;
    size_t l = strlen(c->codes);
    snprintf(c->codes + l, sizeof c->codes - l, "%s%s", l ? " " : "", dsml_schema_code_name(e->code));
    l = strlen(c->paths);
    snprintf(c->paths + l, sizeof c->paths - l, "%s%s", l ? " " : "", e->instance_path[0] ? e->instance_path : "(root)");
    l = strlen(c->spaths);
    snprintf(c->spaths + l, sizeof c->spaths - l, "%s%s", l ? " " : "", e->schema_path);
    return 0;
}

/* Validate inst against schema; the codes reported, space-separated ("" when valid). */
static collect validate(const char *schema, const char *inst)
{
    collect c;
    memset(&c, 0, sizeof c);
    dsml_jv_doc *sd = dsml_jv_parse(schema, strlen(schema), 0, NULL);
    dsml_jv_doc *id = dsml_jv_parse(inst, strlen(inst), 0, NULL);
    cr_assert(sd, "schema is JSON: %s", schema);
    cr_assert(id, "instance is JSON: %s", inst);
    dsml_schema *s = dsml_schema_new(dsml_jv_root(sd));
    int n = dsml_schema_validate(s, dsml_jv_root(id), on_err, &c);
    cr_assert_eq(n, c.n, "return value counts the errors");
    dsml_schema_free(s);
    dsml_jv_free(sd);
    dsml_jv_free(id);
    return c;
}

static collect self_check(const char *schema)
{
    collect c;
    memset(&c, 0, sizeof c);
    dsml_jv_doc *sd = dsml_jv_parse(schema, strlen(schema), 0, NULL);
    cr_assert(sd, "schema is JSON: %s", schema);
    dsml_schema *s = dsml_schema_new(dsml_jv_root(sd));
    dsml_schema_check(s, on_err, &c);
    dsml_schema_free(s);
    dsml_jv_free(sd);
    return c;
}

/* One keyword: {schema, a passing instance, a failing instance, the code it must give}. */
static const struct kcase {
    const char *schema, *good, *bad, *code;
} kcases[] = {
    {"{\"type\":\"integer\"}", "3", "3.5", "S_TYPE"},
    {"{\"type\":\"integer\"}", "3.0", "\"3\"", "S_TYPE"},
    {"{\"type\":\"integer\"}", "1e2", "1.5e0", "S_TYPE"},
    {"{\"type\":\"number\"}", "3", "\"3\"", "S_TYPE"},
    {"{\"type\":\"string\"}", "\"x\"", "null", "S_TYPE"},
    {"{\"type\":\"boolean\"}", "false", "0", "S_TYPE"},
    {"{\"type\":\"array\"}", "[]", "{}", "S_TYPE"},
    {"{\"type\":\"object\"}", "{}", "[]", "S_TYPE"},
    {"{\"type\":\"null\"}", "null", "false", "S_TYPE"},
    {"{\"type\":[\"string\",\"null\"]}", "null", "1", "S_TYPE"},
    {"{\"type\":\"string\",\"nullable\":true}", "null", "1", "S_TYPE"},
    {"{\"required\":[\"a\",\"b\"]}", "{\"a\":1,\"b\":2}", "{\"a\":1}", "S_REQUIRED"},
    {"{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"a\":\"x\",\"b\":1}", "{\"a\":1}", "S_TYPE"},
    {"{\"properties\":{\"a\":{}},\"additionalProperties\":false}", "{\"a\":1}", "{\"a\":1,\"b\":2}", "S_ADDITIONAL"},
    {"{\"properties\":{\"a\":{}},\"additionalProperties\":{\"type\":\"integer\"}}", "{\"a\":\"x\",\"b\":2}",
     "{\"b\":\"x\"}", "S_TYPE"},
    {"{\"patternProperties\":{\"^x_\":{\"type\":\"integer\"}},\"additionalProperties\":false}", "{\"x_a\":1}",
     "{\"y\":1}", "S_ADDITIONAL"},
    {"{\"patternProperties\":{\"^x_\":{\"type\":\"integer\"}}}", "{\"x_a\":1,\"y\":\"s\"}", "{\"x_a\":\"s\"}", "S_TYPE"},
    {"{\"enum\":[\"c\",\"f\",1]}", "\"f\"", "\"k\"", "S_ENUM"},
    {"{\"enum\":[1,[1,2],{\"a\":null}]}", "1.0", "2", "S_ENUM"},
    {"{\"enum\":[1,[1,2],{\"a\":null}]}", "{\"a\":null}", "{\"a\":0}", "S_ENUM"},
    {"{\"const\":{\"a\":[1,\"x\"]}}", "{\"a\":[1,\"x\"]}", "{\"a\":[\"x\",1]}", "S_CONST"},
    {"{\"items\":{\"type\":\"integer\"}}", "[1,2]", "[1,\"2\"]", "S_TYPE"},
    {"{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"items\":false}", "[\"a\",1]",
     "[\"a\",1,2]", "S_FALSE"},
    {"{\"items\":[{\"type\":\"string\"}],\"additionalItems\":{\"type\":\"integer\"}}", "[\"a\",1]",
     "[\"a\",\"b\"]", "S_TYPE"},
    {"{\"minItems\":2}", "[1,2]", "[1]", "S_MIN_ITEMS"},
    {"{\"maxItems\":1}", "[1]", "[1,2]", "S_MAX_ITEMS"},
    {"{\"uniqueItems\":true}", "[1,\"1\",[1]]", "[1,1.0]", "S_UNIQUE_ITEMS"},
    {"{\"minimum\":1}", "1", "0.999", "S_MINIMUM"},
    {"{\"maximum\":10}", "10", "10.0001", "S_MAXIMUM"},
    {"{\"exclusiveMinimum\":0}", "0.1", "0", "S_MINIMUM"},
    {"{\"exclusiveMaximum\":5}", "4.99", "5", "S_MAXIMUM"},
    {"{\"minimum\":0,\"exclusiveMinimum\":true}", "1", "0", "S_MINIMUM"},
    {"{\"maximum\":0,\"exclusiveMaximum\":true}", "-1", "0", "S_MAXIMUM"},
    {"{\"maximum\":12345678901234567890}", "12345678901234567890", "12345678901234567891", "S_MAXIMUM"},
    {"{\"multipleOf\":0.5}", "2.5", "2.25", "S_MULTIPLE_OF"},
    {"{\"minLength\":3}", "\"\xC3\xA9\xC3\xA9\xC3\xA9\"", "\"\xF0\x9F\x9A\x80\xF0\x9F\x9A\x80\"", "S_MIN_LENGTH"},
    {"{\"maxLength\":2}", "\"\xE6\x97\xA5\xE6\x9C\xAC\"", "\"abc\"", "S_MAX_LENGTH"},
    {"{\"pattern\":\"^[a-z]+$\"}", "\"abc\"", "\"abC\"", "S_PATTERN"},
    {"{\"pattern\":\"\\\\d{3}-\\\\d{4}\"}", "\"call 555-1234 now\"", "\"555-12a4\"", "S_PATTERN"},
    {"{\"pattern\":\"^[\\\\w.-]+@[\\\\w-]+\\\\.\\\\w+$\"}", "\"a.b-c@d-e.org\"", "\"a b@c.org\"", "S_PATTERN"},
    {"{\"pattern\":\"^(?:ab)+?c$\"}", "\"ababc\"", "\"abac\"", "S_PATTERN"},
    {"{\"pattern\":\"^\\\\/tmp\\\\/\\\\S+$\"}", "\"/tmp/x.py\"", "\"/tmp/a b\"", "S_PATTERN"},
    {"{\"pattern\":\"^[^\\\\]]*$\"}", "\"a[b\"", "\"a]b\"", "S_PATTERN"},
    {"{\"pattern\":\"^\\\\u00e9{2}$\"}", "\"\xC3\xA9\xC3\xA9\"", "\"ee\"", "S_PATTERN"},
    {"{\"pattern\":\"a{x\"}", "\"a{x\"", "\"ax\"", "S_PATTERN"},
    {"{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "5", "5.5", "S_ANY_OF"},
    {"{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":10}]}", "5", "11", "S_ONE_OF"},
    {"{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}]}", "\"x\"", "null", "S_ONE_OF"},
    {"{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}", "4", "2", "S_MINIMUM"},
    {"{\"not\":{\"type\":\"null\"}}", "0", "null", "S_NOT"},
    {"{\"if\":{\"properties\":{\"k\":{\"const\":\"n\"}}},\"then\":{\"required\":[\"v\"]},\"else\":{\"required\":[\"s\"]}}",
     "{\"k\":\"n\",\"v\":1}", "{\"k\":\"n\",\"s\":1}", "S_REQUIRED"},
    {"{\"$defs\":{\"pos\":{\"type\":\"integer\",\"minimum\":1}},\"properties\":{\"n\":{\"$ref\":\"#/$defs/pos\"}}}",
     "{\"n\":2}", "{\"n\":0}", "S_MINIMUM"},
    {"{\"definitions\":{\"a/b\":{\"type\":\"string\"}},\"items\":{\"$ref\":\"#/definitions/a~1b\"}}", "[\"x\"]",
     "[1]", "S_TYPE"},
    {"{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#\"}},\"additionalProperties\":false}",
     "{\"next\":{\"next\":{}}}", "{\"next\":{\"x\":1}}", "S_ADDITIONAL"},
    {"{\"properties\":{\"a\":false}}", "{}", "{\"a\":1}", "S_FALSE"},
    {"{\"minProperties\":1}", "{\"a\":1}", "{}", "S_MIN_PROPERTIES"},
    {"{\"maxProperties\":1}", "{\"a\":1}", "{\"a\":1,\"b\":2}", "S_MAX_PROPERTIES"},
    {"{\"properties\":{\"n\":{\"$ref\":\"#/$defs/missing\"}}}", "{}", "{\"n\":1}", "S_SCHEMA"},
};

Test(schema, every_keyword_accepts_a_good_value_and_reports_a_bad_one)
{
    setlocale(LC_CTYPE, "C.UTF-8");
    for (size_t i = 0; i < sizeof kcases / sizeof *kcases; i++) {
        const struct kcase *k = &kcases[i];
        collect g = validate(k->schema, k->good);
        cr_expect_eq(g.n, 0, "case %zu %s: %s should be valid, got %s (%s)", i, k->schema, k->good, g.codes,
                     g.first_msg);
        collect b = validate(k->schema, k->bad);
        cr_expect_str_eq(b.codes, k->code, "case %zu %s: %s gives %s (%s)", i, k->schema, k->bad, b.codes,
                         b.first_msg);
    }
}

Test(schema, every_code_has_a_keyword_case)
{
#define X(name, num, msg)                                                                          \
    {                                                                                               \
        size_t i;                                                                                   \
        for (i = 0; i < sizeof kcases / sizeof *kcases; i++)                                        \
            if (!strcmp(kcases[i].code, #name)) break;                                              \
        cr_expect(i < sizeof kcases / sizeof *kcases, "no keyword case produces " #name);           \
    }
    DSML_SCHEMA_ERRORS(X)
#undef X
}

Test(schema, reports_instance_and_schema_paths)
{
    collect c = validate("{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":"
                         "{\"type\":\"object\",\"properties\":{\"qty\":{\"type\":\"integer\"}},\"required\":[\"sku\"]}}}}",
                         "{\"items\":[{\"sku\":\"a\",\"qty\":1},{\"qty\":\"2\"}]}");
    cr_assert_str_eq(c.codes, "S_REQUIRED S_TYPE");
    cr_assert_str_eq(c.paths, "/items/1 /items/1/qty");
    cr_assert_str_eq(c.spaths, "/properties/items/items/required/0 /properties/items/items/properties/qty/type");
}

Test(schema, json_pointer_segments_are_escaped)
{
    collect c = validate("{\"properties\":{\"a/b~c\":{\"type\":\"string\"}}}", "{\"a/b~c\":1}");
    cr_assert_str_eq(c.paths, "/a~1b~0c");
    cr_assert_str_eq(c.spaths, "/properties/a~1b~0c/type");
}

Test(schema, any_of_names_the_closest_alternative)
{
    collect c = validate("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"object\",\"required\":[\"a\",\"b\"]},"
                         "{\"type\":\"object\",\"required\":[\"a\"]}]}",
                         "{\"c\":1}");
    cr_assert_str_eq(c.codes, "S_ANY_OF");
    cr_assert(strstr(c.first_msg, "#2") && strstr(c.first_msg, "\"a\""), "%s", c.first_msg);
}

Test(schema, errors_inside_alternatives_are_not_reported_on_their_own)
{
    collect c = validate("{\"anyOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}", "{\"b\":1}");
    cr_assert_eq(c.n, 0);
}

Test(schema, every_error_is_reported_not_only_the_first)
{
    collect c = validate("{\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"string\"}},\"required\":[\"c\"]}",
                         "{\"a\":1,\"b\":2}");
    cr_assert_eq(c.n, 3, "%s", c.codes);
}

Test(schema, ref_loops_are_reported_not_followed_forever)
{
    collect c = validate("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}",
                         "1");
    cr_assert_str_eq(c.codes, "S_SCHEMA");
}

Test(schema, boolean_schemas)
{
    cr_assert_eq(validate("true", "{\"x\":[1]}").n, 0);
    cr_assert_str_eq(validate("false", "1").codes, "S_FALSE");
}

Test(schema, self_check_accepts_a_good_tool_schema)
{
    collect c = self_check("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"pattern\":\"^[A-Z]\"},"
                           "\"n\":{\"type\":[\"integer\",\"null\"],\"minimum\":0,\"maximum\":9},"
                           "\"tags\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/tag\"},\"maxItems\":3}},"
                           "\"$defs\":{\"tag\":{\"enum\":[\"a\",\"b\"]}},\"required\":[\"city\"],"
                           "\"additionalProperties\":false}");
    cr_assert_eq(c.n, 0, "%s: %s", c.codes, c.first_msg);
}

Test(schema, self_check_reports_broken_schemas)
{
    static const char *const bad[] = {
        "{\"type\":\"text\"}",
        "{\"required\":\"a\"}",
        "{\"properties\":{\"a\":{\"$ref\":\"#/nowhere\"}}}",
        "{\"$ref\":\"https://example.com/s.json\"}",
        "{\"pattern\":\"(?=a)b\"}",
        "{\"pattern\":\"a(\"}",
        "{\"pattern\":\"\\\\p{L}\"}",
        "{\"pattern\":\"(a)\\\\1\"}",
        "{\"patternProperties\":{\"[\":{}}}",
        "{\"minLength\":-1}",
        "{\"maxItems\":1.5}",
        "{\"multipleOf\":0}",
        "{\"anyOf\":[]}",
        "{\"items\":5}",
        "{\"properties\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        collect c = self_check(bad[i]);
        cr_expect(c.n >= 1 && !strncmp(c.codes, "S_SCHEMA", 8), "%s: %s", bad[i], c.codes);
    }
}

Test(schema, unusable_patterns_are_skipped_during_validation)
{
    cr_assert_eq(validate("{\"pattern\":\"(?=a)b\"}", "\"zzz\"").n, 0);
}

Test(schema, number_comparison_is_exact_on_the_decimal_text)
{
    static const struct { const char *a, *b; int cmp; } t[] = {
        {"1", "1.0", 0},         {"-0", "0", 0},          {"1e2", "100", 0},
        {"0.1", "1e-1", 0},      {"10", "9.999", 1},      {"-10", "-9.999", -1},
        {"12345678901234567890", "12345678901234567891", -1},
        {"1E400", "1e399", 1},   {"-1e-400", "0", -1},    {"0.0001", "0.001", -1},
        {"123.456", "123.4560", 0}, {"5", "-5", 1},       {"0.00", "-0.0e5", 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        int c = dsml_json_number_cmp(t[i].a, strlen(t[i].a), t[i].b, strlen(t[i].b));
        cr_expect_eq((c > 0) - (c < 0), t[i].cmp, "%s vs %s", t[i].a, t[i].b);
        c = dsml_json_number_cmp(t[i].b, strlen(t[i].b), t[i].a, strlen(t[i].a));
        cr_expect_eq((c > 0) - (c < 0), -t[i].cmp, "%s vs %s (swapped)", t[i].b, t[i].a);
    }
}

Test(schema, integers_are_numbers_with_an_integral_value)
{
    static const char *const yes[] = {"0", "-0", "3", "3.0", "3.000", "1e2", "1.5e1", "1E400", "-12e0",
                                      "12345678901234567890"};
    static const char *const no[] = {"0.5", "1e-1", "3.01", "1.55e1", "-0.000001"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        cr_expect(dsml_json_number_is_integer(yes[i], strlen(yes[i])), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        cr_expect(!dsml_json_number_is_integer(no[i], strlen(no[i])), "%s", no[i]);
}

static int equal(const char *a, const char *b)
{
    dsml_jv_doc *x = dsml_jv_parse(a, strlen(a), 0, NULL), *y = dsml_jv_parse(b, strlen(b), 0, NULL);
    int eq = dsml_jv_equal(dsml_jv_root(x), dsml_jv_root(y));
    dsml_jv_free(x);
    dsml_jv_free(y);
    return eq;
}

Test(schema, json_equality_ignores_member_order_and_number_spelling)
{
    cr_assert(equal("{\"a\":1,\"b\":[true,null]}", "{\"b\":[true,null],\"a\":1.0}"));
    cr_assert(!equal("{\"a\":1}", "{\"a\":1,\"b\":2}"));
    cr_assert(!equal("[1,2]", "[2,1]"));
    cr_assert(!equal("\"1\"", "1"));
    cr_assert(!equal("true", "false"));
}

static unsigned types_of(const char *schema, const char *prop)
{
    dsml_jv_doc *d = dsml_jv_parse(schema, strlen(schema), 0, NULL);
    dsml_schema *s = dsml_schema_new(dsml_jv_root(d));
    const dsml_jv *sub = prop ? dsml_schema_property(s, NULL, prop, strlen(prop)) : NULL;
    unsigned t = prop && !sub ? 0xFFu : dsml_schema_types(s, sub);
    dsml_schema_free(s);
    dsml_jv_free(d);
    return t;
}

Test(schema, types_follow_refs_unions_enums_and_intersections)
{
    cr_assert_eq(types_of("{\"type\":\"string\"}", NULL), DSML_ST_STRING);
    cr_assert_eq(types_of("{\"type\":\"number\"}", NULL), DSML_ST_INTEGER | DSML_ST_NUMBER);
    cr_assert_eq(types_of("{}", NULL), DSML_ST_ANY);
    cr_assert_eq(types_of("false", NULL), 0u);
    cr_assert_eq(types_of("{\"enum\":[\"a\",1]}", NULL), DSML_ST_STRING | DSML_ST_INTEGER);
    cr_assert_eq(types_of("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", NULL), DSML_ST_STRING | DSML_ST_NULL);
    cr_assert_eq(types_of("{\"allOf\":[{\"type\":[\"string\",\"integer\"]},{\"type\":\"integer\"}]}", NULL), DSML_ST_INTEGER);
    cr_assert_eq(types_of("{\"$defs\":{\"n\":{\"type\":\"integer\"}},\"properties\":{\"k\":{\"$ref\":\"#/$defs/n\"}}}", "k"),
                 DSML_ST_INTEGER);
    cr_assert_eq(types_of("{\"allOf\":[{\"properties\":{\"k\":{\"type\":\"boolean\"}}}]}", "k"), DSML_ST_BOOLEAN);
    cr_assert_eq(types_of("{\"patternProperties\":{\"^n_\":{\"type\":\"array\"}}}", "n_x"), DSML_ST_ARRAY);
    cr_assert_eq(types_of("{\"additionalProperties\":{\"type\":\"object\"}}", "z"), DSML_ST_OBJECT);
    cr_assert_eq(types_of("{\"properties\":{\"a\":{}}}", "b"), 0xFFu, "unknown property: no subschema");
}

Test(schema, code_names_are_stable)
{
    cr_assert_str_eq(dsml_schema_code_name(DSML_S_TYPE), "S_TYPE");
    cr_assert_eq(DSML_S_TYPE, 1);
    cr_assert_eq(DSML_S_REQUIRED, 2);
    cr_assert_eq(DSML_S_PATTERN, 14);
    cr_assert_eq(DSML_S_SCHEMA, 30);
    cr_assert_str_eq(dsml_schema_code_name((dsml_schema_code)999), "?");
}
