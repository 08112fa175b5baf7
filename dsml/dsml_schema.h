/*
 * dsml_schema.h - JSON Schema validation of tool-call arguments.
 *
 * Validates a JSON value (a dsml_jv from dsml_jv.h) against a JSON Schema given as another
 * dsml_jv: the `parameters` object of an OpenAI tool declaration. The supported vocabulary is
 * what tool declarations use (JSON Schema draft 4 to 2020-12, OpenAI structured outputs):
 *
 *   type (string or array; "integer" = any number with an integral value, 1.0 included),
 *   enum, const, properties, required, additionalProperties (bool or schema),
 *   patternProperties, minProperties, maxProperties, items (schema, or array = tuple),
 *   prefixItems, additionalItems, minItems, maxItems, uniqueItems, minimum, maximum,
 *   exclusiveMinimum, exclusiveMaximum (number form, and draft-4 boolean form), multipleOf,
 *   minLength, maxLength (counted in Unicode code points), pattern, anyOf, oneOf, allOf, not,
 *   if/then/else, local $ref ("#", "#/$defs/x", "#/definitions/x", any JSON Pointer into
 *   the schema document, ~0 ~1 and %XX unescaped), boolean schemas, and OpenAPI's
 *   `nullable: true`.
 * Other keywords (format, contains, dependentRequired, $id, …) are ignored. $ref siblings are
 * applied too (2019-09 semantics). Numbers are compared exactly on their decimal text (no
 * double round trip: 12345678901234567890 < 12345678901234567891); multipleOf uses doubles.
 *
 * `pattern` and `patternProperties`: ECMA-262 regular expressions are translated to POSIX
 * extended expressions and run with regexec(), unanchored. Translated: \d \D \w \W \s \S
 * (ASCII classes; \s also inside brackets), \t \n \r \f \v \/ \- \uXXXX \xHH, escaped
 * metacharacters, (?: … ), lazy quantifiers (*? +? ?? {n,m}? - laziness does not change
 * whether a match exists), a '{' that does not start a quantifier. Not supported (reported
 * as S_SCHEMA, the keyword is then skipped): lookahead/lookbehind, named groups, \p{…},
 * backreferences, \D \W \S inside brackets. Differences that remain: '.' also matches a
 * newline; character semantics follow the caller's LC_CTYPE (under a UTF-8 locale '.' and
 * bracket ranges work on characters, under "C" on bytes).
 *
 * Errors are reported through a callback, each with a stable code (S_*), the JSON Pointer of
 * the offending instance value, the JSON Pointer of the failing schema keyword, the value's
 * byte offset in its document and a one-line message. anyOf/oneOf failures are reported as
 * one error (S_ANY_OF / S_ONE_OF) whose message names the closest alternative's first error.
 *
 * Thread safety: a dsml_schema caches compiled regular expressions; use one per thread.
 */
#ifndef DSML_SCHEMA_H
#define DSML_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "dsml_jv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Stable codes: names and numbers never change; new codes get new numbers. */
#define DSML_SCHEMA_ERRORS(X)                                                                  \
    X(S_TYPE, 1, "value has the wrong type")                                                   \
    X(S_REQUIRED, 2, "required property missing")                                              \
    X(S_ADDITIONAL, 3, "property not allowed by additionalProperties")                         \
    X(S_ENUM, 4, "value is not one of the enum values")                                        \
    X(S_CONST, 5, "value differs from const")                                                  \
    X(S_MIN_ITEMS, 6, "array has fewer items than minItems")                                   \
    X(S_MAX_ITEMS, 7, "array has more items than maxItems")                                    \
    X(S_UNIQUE_ITEMS, 8, "array items are not unique")                                         \
    X(S_MINIMUM, 9, "number below minimum (or not above exclusiveMinimum)")                    \
    X(S_MAXIMUM, 10, "number above maximum (or not below exclusiveMaximum)")                   \
    X(S_MULTIPLE_OF, 11, "number is not a multiple of multipleOf")                             \
    X(S_MIN_LENGTH, 12, "string shorter than minLength (code points)")                         \
    X(S_MAX_LENGTH, 13, "string longer than maxLength (code points)")                          \
    X(S_PATTERN, 14, "string does not match pattern")                                          \
    X(S_ANY_OF, 15, "value matches none of the anyOf alternatives")                            \
    X(S_ONE_OF, 16, "value matches none, or more than one, of the oneOf alternatives")         \
    X(S_NOT, 17, "value matches the schema under not")                                         \
    X(S_FALSE, 18, "schema false: no value is allowed here")                                   \
    X(S_MIN_PROPERTIES, 19, "object has fewer properties than minProperties")                  \
    X(S_MAX_PROPERTIES, 20, "object has more properties than maxProperties")                   \
    X(S_SCHEMA, 30, "the schema is invalid or uses an unsupported construct")

typedef enum dsml_schema_code {
    DSML_SCHEMA_OK = 0,
#define DSML_X_ENUM(name, num, msg) DSML_##name = num,
    DSML_SCHEMA_ERRORS(DSML_X_ENUM)
#undef DSML_X_ENUM
} dsml_schema_code;

/* Stable name ("S_TYPE"), or "?" for an unknown code. */
const char *dsml_schema_code_name(dsml_schema_code code);
/* Static one-line reason; never NULL. */
const char *dsml_schema_code_message(dsml_schema_code code);

typedef struct dsml_schema_error {
    dsml_schema_code code;
    const char *instance_path; /* JSON Pointer of the value ("" = the root), NUL-terminated */
    const char *schema_path;   /* JSON Pointer of the failing keyword in the schema */
    size_t offset;             /* dsml_jv offset of the value (instance document); for
                                  S_SCHEMA found by dsml_schema_check: of the keyword value */
    const char *message;       /* specific one-line explanation, NUL-terminated */
} dsml_schema_error;

/* Receives one error; the strings are valid during the call only. Return 0 to go on,
 * nonzero to stop validating. */
typedef int (*dsml_schema_fn)(void *ud, const dsml_schema_error *e);

typedef struct dsml_schema dsml_schema;

/* Bit set of JSON types, for dsml_schema_types(). */
enum dsml_schema_types {
    DSML_ST_NULL = 1u << 0,
    DSML_ST_BOOLEAN = 1u << 1,
    DSML_ST_INTEGER = 1u << 2, /* integral numbers */
    DSML_ST_NUMBER = 1u << 3,  /* non-integral numbers */
    DSML_ST_STRING = 1u << 4,
    DSML_ST_ARRAY = 1u << 5,
    DSML_ST_OBJECT = 1u << 6,
    DSML_ST_ANY = 0x7f,
};

/* Create a validator for the schema `root` (a boolean or an object; the document it belongs
 * to must outlive the validator and stay unchanged: the validator points into it). $refs
 * resolve against `root`. Returns NULL when out of memory. */
dsml_schema *dsml_schema_new(const dsml_jv *root);

/* Free a validator (NULL allowed). */
void dsml_schema_free(dsml_schema *s);

/* Report problems of the schema itself as S_SCHEMA errors (instance_path ""; schema_path and
 * offset point at the keyword): keywords of the wrong JSON type, $refs that do not resolve
 * or are not local, patterns that are not valid or not supported, unknown type names.
 * Validation skips such keywords. Returns the number of errors reported, -1 when out of
 * memory. */
int dsml_schema_check(dsml_schema *s, dsml_schema_fn fn, void *ud);

/* Validate `instance` against the schema. Every error is reported through fn (fn may be NULL
 * to just count). Returns the number of errors (0 = valid), -1 when out of memory. $ref
 * loops and nesting deeper than 256 levels are reported as S_SCHEMA. */
int dsml_schema_validate(dsml_schema *s, const dsml_jv *instance, dsml_schema_fn fn, void *ud);

/* The JSON types a (sub)schema can accept (enum dsml_schema_types), following $ref, allOf
 * (intersection), anyOf/oneOf (union), type, nullable, enum and const. sub NULL = the root.
 * A schema with no type constraint gives DSML_ST_ANY; false gives 0. */
unsigned dsml_schema_types(dsml_schema *s, const dsml_jv *sub);

/* The subschema that applies to member `name` (len bytes) of an object validated by `sub`
 * (NULL = the root), following $ref and allOf: properties, then patternProperties, then
 * additionalProperties when it is a schema. NULL when the schema says nothing about it. */
const dsml_jv *dsml_schema_property(dsml_schema *s, const dsml_jv *sub, const char *name,
                                    size_t len);

/* Exact comparison of two JSON number texts (RFC 8259 grammar; exponents are clamped to
 * +-10^9): returns <0, 0 or >0. "1.0" equals "1", "-0" equals "0", "1e2" equals "100". */
int dsml_json_number_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* 1 when the JSON number text has an integral value ("3", "3.0", "1e2", "1E400"). */
int dsml_json_number_is_integer(const char *num, size_t len);

/* JSON equality of two values: numbers by value, strings by bytes, arrays in order, objects
 * as sets of members. Returns 1 when equal. */
int dsml_jv_equal(const dsml_jv *a, const dsml_jv *b);

#ifdef __cplusplus
}
#endif
#endif /* DSML_SCHEMA_H */
