/*
 * lexer.re - the DSML streaming parser (re2c push lexer with storable state + the structural
 * state machine). This file owns everything behind dsml.h's parser functions.
 *
 * How bytes flow
 *   dsml_feed() copies input into one buffer of max_token + PIECE bytes, piece by piece, and
 *   runs scan() over it. Two token classes (STYLE.md):
 *     - text runs (reasoning, content, values, raw arguments, stray text) are found with a
 *       memchr-style scan for the few bytes that can start markup ('<', plus 0xEF or '/'
 *       in strict mode) and emitted as spans straight from the buffer;
 *     - bounded tokens (markers, tags with attributes, closers) are matched by the re2c DFA.
 *       When the buffer runs out inside one, the DFA's state is stored (re2c -f) and the
 *       token's bytes stay in the buffer; the next feed resumes the DFA where it stopped.
 *   Resuming the DFA without new input means end of input: a partial marker then resolves to
 *   "not a marker" (the default rule) and its bytes become text. That is all dsml_finish()
 *   does besides closing structures.
 *
 * Invariants
 *   - buf <= run <= cur <= lim, buf <= tok <= cur, *lim == 0 (sentinel for re2c:eof).
 *   - Bytes in [run, cur) are text of the current kind not yet emitted; text is emitted only
 *     up to a point where no held-back suffix remains: a partial UTF-8 sequence, up to four
 *     CR/LF bytes that may be the blank line before a block (content and reasoning), or a
 *     short whitespace-only tail after the block (which is dropped if nothing follows).
 *   - The buffer keeps [min(run, tok), lim) across feeds; everything before is gone. So held
 *     text is at most 256 bytes and a token at most max_token bytes (else E_TOKEN_TOO_LONG).
 *   - Errors are sticky: once err is set, nothing fires until dsml_reset().
 */
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dsml.h"
#include "dsml_json.h"
#include "utf8.h"

/*!types:re2c*/

typedef unsigned char uchar;

#define PIECE 2048         /* work space beyond max_token */
#define HOLD_AFTER_MAX 256 /* whitespace held after a block / EOS */

enum tok {
    T_NEED = -1,
    T_EOF = 0,
    T_TEXT,        /* default rule: one byte that starts no token */
    T_THINK_END,   /* </think> */
    T_THINK_BEGIN, /* <think> */
    T_OPEN,        /* DSML block opener; p->tv = variant */
    T_V31_OPEN,    /* <｜tool▁calls▁begin｜> */
    T_EOS,         /* <｜end▁of▁sentence｜> */
    T_BOS,         /* <｜begin▁of▁sentence｜> */
    T_SPECIAL,     /* any other <｜name｜> */
    T_DSML_BARE,   /* ｜DSML｜ outside a tag (strict scans only) */
    T_WS,          /* one whitespace byte between tags */
    T_INVOKE,      /* <｜DSML｜invoke …> */
    T_PARAM,       /* <｜DSML｜parameter …> */
    T_INVOKE_END,  /* </｜DSML｜invoke> */
    T_PARAM_END,   /* </｜DSML｜parameter> */
    T_CLOSE,       /* block closer; p->tv = variant */
    T_BRACE,       /* '{' between tags */
    T_V31_CALL,    /* <｜tool▁call▁begin｜>name<｜tool▁sep｜> */
    T_V31_CALL_END,
    T_V31_CLOSE,
    T_STRAY_CLOSER, /* /｜DSML｜parameter without '<' (strict value scans only) */
};

/* M_PCLOSE: a parameter closer was seen (tolerant); it and the whitespace after it stay in
 * the buffer until the next byte tells whether it really ended the value (markup follows) or
 * was part of it (text follows: E08/E10). */
enum mode { M_REASONING, M_CONTENT, M_BLOCK, M_INVOKE, M_VALUE, M_PCLOSE, M_ARGS, M_V31, M_AFTER,
            M_END };
enum variant { V_TC, V_FC, V_SP, V_31 };
enum after { A_OPEN, A_INVOKE_HDR, A_PARAM, A_INVOKE_END };

struct name_ent {
    uint32_t hash, off, len;
};

struct dsml_parser {
    dsml_options opt;
    dsml_callbacks cb;
    void *ud;
    dsml_allocator al;

    uchar *buf;
    size_t cap; /* usable bytes; buf has cap + 1 (sentinel) */
    uchar *cur, *lim, *mar, *tok, *run;
    uchar *dlim; /* the DFA's limit: lim, or tok + max_token when that comes first */
    int ystate, cond;
    uint64_t base;                /* absolute offset of buf[0] */
    uint64_t base_line, line_start; /* DSML_LINES: newlines before buf[0], offset after the last */

    uint8_t mode, stray, after, variant, tv, final, finished, bare_block;
    uint8_t in_invoke, param_json, args_v31, warned_after, ws_warned, in_flush;
    uint8_t ws_spilled; /* whitespace after the block / EOS outgrew HOLD_AFTER_MAX: content */
    uint32_t ws_n, ws_lf;
    dsml_code err;
    dsml_result res;
    uint64_t blk_start, inv_start, elem_end, value_start, value_len;
    uint64_t value_line, value_col;
    dsml_jval jv;

    /* parameter names of the current invoke (duplicate detection) */
    char *nm;
    size_t nm_len, nm_cap;
    struct name_ent *ent;
    size_t n_ent, ent_cap;
};

/* ------------------------------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------------------------- */
#define DS "\xEF\xBD\x9C" "DSML" "\xEF\xBD\x9C"
#define DS_LEN 10

static void *def_malloc(void *ud, size_t n) { (void)ud; return malloc(n); }
static void *def_realloc(void *ud, void *q, size_t n) { (void)ud; return realloc(q, n); }
static void def_free(void *ud, void *q) { (void)ud; free(q); }

static uint64_t abs_off(const dsml_parser *p, const uchar *at)
{
    return p->base + (uint64_t)(at - p->buf);
}

static void line_col(const dsml_parser *p, uint64_t off, uint64_t *line, uint64_t *col)
{
    *line = *col = 0;
    if (!(p->opt.flags & DSML_LINES)) return;
    if (off == p->value_start && off < p->base) {
        /* diagnostics about a whole value (invalid JSON, too long, raw arguments not an
           object) point at its start, which a long value has pushed out of the buffer:
           use the position recorded when the value began */
        *line = p->value_line;
        *col = p->value_col;
        return;
    }
    if (off < p->base || off > abs_off(p, p->lim)) return;
    uint64_t l = p->base_line, start = p->line_start;
    const uchar *s = p->buf, *e = p->buf + (off - p->base);
    while (s < e && (s = memchr(s, '\n', (size_t)(e - s))) != NULL) {
        l++;
        s++;
        start = abs_off(p, s);
    }
    *line = l + 1;
    *col = off - start + 1;
}

static void sync_text(dsml_parser *p);

static int fail(dsml_parser *p, dsml_code code, uint64_t off)
{
    if (p->err) return -1;
    sync_text(p);
    if (p->err) return -1;
    p->err = code;
    p->res.status = DSML_FAILED;
    p->res.error.code = code;
    p->res.error.offset = off;
    line_col(p, off, &p->res.error.line, &p->res.error.col);
    return -1;
}

static int warn(dsml_parser *p, dsml_code code, uint64_t off)
{
    if (p->err) return -1;
    sync_text(p);
    if (p->err) return -1;
    p->res.warnings++;
    if (!p->cb.on_warning) return 0;
    dsml_diag d = {code, off, 0, 0};
    line_col(p, off, &d.line, &d.col);
    if (p->cb.on_warning(p->ud, &d)) return fail(p, DSML_E_CALLBACK, off);
    return 0;
}

/* strict: error; tolerant: warning. Returns -1 when the parse must stop. */
static int deviate(dsml_parser *p, dsml_code strict_err, dsml_code warning, uint64_t off)
{
    if (p->opt.flags & DSML_STRICT) return fail(p, strict_err, off);
    return warn(p, warning, off);
}

#define STRICT(p) ((p)->opt.flags & DSML_STRICT)
#define FIRE(p, fn, ...)                                                                       \
    (((p)->cb.fn && (p)->cb.fn((p)->ud, __VA_ARGS__)) ? fail(p, DSML_E_CALLBACK, abs_off(p, (p)->cur)) : 0)
#define FIRE0(p, fn)                                                                           \
    (((p)->cb.fn && (p)->cb.fn((p)->ud)) ? fail(p, DSML_E_CALLBACK, abs_off(p, (p)->cur)) : 0)

static int is_ws(uchar c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static dsml_dialect variant_dialect(int v)
{
    return v == V_FC ? DSML_V32 : v == V_31 ? DSML_V31 : DSML_V4;
}

/* Does the markup prefix after "<" or "</" use the real ｜DSML｜ (0) or a look-alike (1)?
 * *after receives the first byte after the prefix. */
static int lookalike(const uchar *s, const uchar **after)
{
    static const char *const looks[] = {"|DSML|", "DSML\xEF\xBD\x9C",
                                        "\xEF\xBD\x9C\xEF\xBD\x9C" "DSML\xEF\xBD\x9C\xEF\xBD\x9C",
                                        "||DSML||"};
    if (!memcmp(s, DS, DS_LEN)) {
        *after = s + DS_LEN;
        return 0;
    }
    for (size_t i = 0; i < sizeof looks / sizeof looks[0]; i++) {
        size_t n = strlen(looks[i]);
        if (!memcmp(s, looks[i], n)) {
            *after = s + n;
            return 1;
        }
    }
    *after = s;
    return 1;
}

/* ------------------------------------------------------------------------------------------
 * Text emission with hold-back
 * ---------------------------------------------------------------------------------------- */
static int text_mode(const dsml_parser *p)
{
    switch (p->mode) {
    case M_PCLOSE:
        return 0;
    case M_BLOCK:
    case M_INVOKE:
    case M_V31:
        return p->stray;
    default:
        return 1;
    }
}


/* The largest cut <= at (at < n) that does not split a valid character of s[0..n). Text
 * pieces never split a valid character, so this depends on the bytes, not the chunking. */
static size_t char_boundary(const uchar *s, size_t n, size_t at)
{
    for (size_t j = at, back = 0; j > 0 && back < 3; back++) {
        j--;
        if ((s[j] & 0xC0) != 0x80) {
            size_t len = dsml_utf8_len(s + j, n - j);
            return len && j + len > at ? j : at;
        }
    }
    return at;
}

static int emit(dsml_parser *p, const uchar *s, size_t n)
{
    if (!n || p->err) return p->err ? -1 : 0;
    const char *c = (const char *)s;
    if (p->stray) return FIRE(p, on_content, c, n);
    switch (p->mode) {
    case M_REASONING:
        return FIRE(p, on_reasoning, c, n);
    case M_VALUE:
    case M_ARGS:
        if (n > p->opt.max_value - p->value_len) {
            /* deliver exactly the first max_value bytes (cut back to the start of a valid
               character that straddles the limit) before the error, so that the events
               before it do not depend on how the input was chunked */
            size_t keep = char_boundary(s, n, (size_t)(p->opt.max_value - p->value_len));
            p->value_len += keep;
            if (p->param_json || p->mode == M_ARGS) dsml_jval_feed(&p->jv, c, keep);
            if (keep && (p->mode == M_VALUE ? FIRE(p, on_value, c, keep)
                                            : FIRE(p, on_args, c, keep)))
                return -1;
            return fail(p, DSML_E_VALUE_TOO_LONG, p->value_start);
        }
        p->value_len += n;
        if (p->param_json || p->mode == M_ARGS) dsml_jval_feed(&p->jv, c, n);
        return p->mode == M_VALUE ? FIRE(p, on_value, c, n) : FIRE(p, on_args, c, n);
    case M_AFTER:
    case M_END:
        if (STRICT(p)) /* only EOS may follow: even whitespace is an error */
            return fail(p, p->mode == M_AFTER ? DSML_E_TEXT_AFTER_BLOCK : DSML_E_TEXT_AFTER_EOS,
                        abs_off(p, s));
        return FIRE(p, on_content, c, n);
    default:
        return FIRE(p, on_content, c, n);
    }
}

/* Emit pending text [run, end). Unless final, keep back what may still turn into markup
 * or a split character. */
static int flush(dsml_parser *p, const uchar *end, int final)
{
    const uchar *e = end;
    if (e <= p->run) return 0;
    if (!final) {
        size_t n = (size_t)(e - p->run);
        e = p->run + dsml_utf8_safe_len((const char *)p->run, n);
        if (!p->stray && (p->mode == M_CONTENT || p->mode == M_REASONING)) {
            int k = 0;
            while (e > p->run && k < 4 && (e[-1] == '\n' || e[-1] == '\r')) e--, k++;
        } else if (!p->stray && (p->mode == M_AFTER || p->mode == M_END) && !p->warned_after &&
                   !STRICT(p) && !p->ws_spilled) {
            if ((size_t)(e - p->run) <= HOLD_AFTER_MAX) {
                const uchar *s = p->run;
                while (s < e && is_ws(*s)) s++;
                if (s == e) e = p->run; /* whitespace only so far: hold it */
            } else {
                /* too long to hold: it is content, and so is the rest of this tail (the
                   decision must not depend on where the feeds were cut) */
                p->ws_spilled = 1;
            }
        }
    }
    p->in_flush = 1;
    int r = emit(p, p->run, (size_t)(e - p->run));
    p->in_flush = 0;
    p->run = (uchar *)e;
    return r;
}

/* Before a diagnostic: emit the text scanned so far (with the usual hold-back), so that a
 * diagnostic sits at the same place among the text events whatever the chunking. */
static void sync_text(dsml_parser *p)
{
    if (!p->in_flush && text_mode(p) && p->run < p->tok && p->tok <= p->lim) flush(p, p->tok, 0);
}

/* End of a run after the block or EOS: a whitespace-only tail of at most HOLD_AFTER_MAX
 * bytes is dropped with a warning; a longer one is content (as when it was fed in pieces
 * and outgrew the hold-back). */
static int finish_after(dsml_parser *p, const uchar *end)
{
    if (!p->warned_after && !STRICT(p) && !p->ws_spilled &&
        (size_t)(end - p->run) <= HOLD_AFTER_MAX) {
        const uchar *s = p->run;
        while (s < end && is_ws(*s)) s++;
        if (s == end && end > p->run) {
            p->run = (uchar *)end;
            return warn(p, DSML_W_TRAILING_WS, abs_off(p, end));
        }
    }
    return flush(p, end, 1);
}

/* ------------------------------------------------------------------------------------------
 * The lexer (re2c)
 * ---------------------------------------------------------------------------------------- */
static int lex(dsml_parser *p)
{
    uchar yych;
    /*!getstate:re2c*/
    /*!re2c
        re2c:api:style = free-form;
        re2c:define:YYCTYPE = "uchar";
        re2c:define:YYCURSOR = "p->cur";
        re2c:define:YYMARKER = "p->mar";
        re2c:define:YYLIMIT = "p->dlim";
        re2c:define:YYGETSTATE = "p->ystate";
        re2c:define:YYSETSTATE = "p->ystate = @@;";
        re2c:define:YYFILL = "return T_NEED;";
        re2c:define:YYGETCONDITION = "p->cond";
        re2c:define:YYSETCONDITION = "p->cond = @@;";
        re2c:eof = 0;

        B    = "\xEF\xBD\x9C";
        L    = "\xE2\x96\x81";
        DSM  = B "DSML" B;
        LK   = "|DSML|" | "DSML" B | B B "DSML" B B | "||DSML||";
        PFX  = DSM | LK;
        W    = [ \t\r\n];
        ATTR = W+ [A-Za-z_]+ "=" ( "\"" [^"]* "\"" | "'" [^']* "'" );
        SPN  = ( [A-Za-z0-9_] | L )+;
        EOS  = "<" B "end" L "of" L "sentence" B ">";
        INV  = "<" PFX " "? "invoke" ATTR* W* ">";
        PAR  = "<" PFX " "? "parameter" ATTR* W* ">";
        INVE = "</" PFX " "? "invoke" W* ">";
        PARE = "</" PFX " "? "parameter" W* ">";

        <TEXT> "</think>"                    { return T_THINK_END; }
        <TEXT> "<think>"                     { return T_THINK_BEGIN; }
        <TEXT> "<" PFX "tool_calls>"         { p->tv = V_TC; return T_OPEN; }
        <TEXT> "<" PFX "function_calls>"     { p->tv = V_FC; return T_OPEN; }
        <TEXT> "<" PFX " calls>"             { p->tv = V_SP; return T_OPEN; }
        <TEXT> INV                           { return T_INVOKE; }
        <TEXT> "<" B "tool" L "calls" L "begin" B ">" { return T_V31_OPEN; }
        <TEXT> EOS                           { return T_EOS; }
        <TEXT> "<" B "begin" L "of" L "sentence" B ">" { return T_BOS; }
        <TEXT> "<" B SPN B ">"               { return T_SPECIAL; }
        <TEXT> DSM                           { return T_DSML_BARE; }
        <TEXT> $                             { return T_EOF; }
        <TEXT> *                             { return T_TEXT; }

        <TAGS> W                             { return T_WS; }
        <TAGS> INV                           { return T_INVOKE; }
        <TAGS> PAR                           { return T_PARAM; }
        <TAGS> INVE                          { return T_INVOKE_END; }
        <TAGS> PARE                          { return T_PARAM_END; }
        <TAGS> "</" PFX "tool_calls" W* ">"      { p->tv = V_TC; return T_CLOSE; }
        <TAGS> "</" PFX "function_calls" W* ">"  { p->tv = V_FC; return T_CLOSE; }
        <TAGS> "</" PFX " calls" W* ">"          { p->tv = V_SP; return T_CLOSE; }
        <TAGS> EOS                           { return T_EOS; }
        <TAGS> "{"                           { return T_BRACE; }
        <TAGS> $                             { return T_EOF; }
        <TAGS> *                             { return T_TEXT; }

        <VALUE> PARE                         { return T_PARAM_END; }
        <VALUE> "/" DSM "parameter"          { return T_STRAY_CLOSER; }
        <VALUE> $                            { return T_EOF; }
        <VALUE> *                            { return T_TEXT; }

        <ARGSD> INVE                         { return T_INVOKE_END; }
        <ARGSD> $                            { return T_EOF; }
        <ARGSD> *                            { return T_TEXT; }

        <ARGS31> "<" B "tool" L "call" L "end" B ">" { return T_V31_CALL_END; }
        <ARGS31> $                           { return T_EOF; }
        <ARGS31> *                           { return T_TEXT; }

        <V31> W                              { return T_WS; }
        <V31> "<" B "tool" L "call" L "begin" B ">" [^<]* "<" B "tool" L "sep" B ">" { return T_V31_CALL; }
        <V31> "<" B "tool" L "calls" L "end" B ">" { return T_V31_CLOSE; }
        <V31> EOS                            { return T_EOS; }
        <V31> $                              { return T_EOF; }
        <V31> *                              { return T_TEXT; }
    */
}

static int cond_for(const dsml_parser *p)
{
    switch (p->mode) {
    case M_BLOCK:
    case M_INVOKE:
    case M_PCLOSE:
        return yycTAGS;
    case M_VALUE:
        return yycVALUE;
    case M_ARGS:
        return p->args_v31 ? yycARGS31 : yycARGSD;
    case M_V31:
        return yycV31;
    default:
        return yycTEXT;
    }
}

/* Find the next byte that may start a token: '<' always; in strict mode also the first byte
 * of ｜ (text) or '/' (values), so that bare markers are caught. */
static const uchar *find2(const uchar *s, const uchar *e, uchar a, uchar b)
{
#if defined(__SSE2__)
    __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b);
    while (e - s >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)s);
        int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)));
        if (m) return s + __builtin_ctz((unsigned)m);
        s += 16;
    }
#endif
    while (s < e && *s != a && *s != b) s++;
    return s;
}

static const uchar *find_stop(const dsml_parser *p, const uchar *s, const uchar *e)
{
    if (STRICT(p) && !p->stray) {
        if (p->mode == M_VALUE) return find2(s, e, '<', '/');
        if (p->mode == M_CONTENT || p->mode == M_REASONING) return find2(s, e, '<', 0xEF);
    }
    if (e - s < 16) {
        while (s < e && *s != '<') s++;
        return s;
    }
    const uchar *r = memchr(s, '<', (size_t)(e - s));
    return r ? r : e;
}

/* ------------------------------------------------------------------------------------------
 * Structure
 * ---------------------------------------------------------------------------------------- */
static void ws_reset(dsml_parser *p) { p->ws_n = p->ws_lf = 0; }

/* A parameter or arguments value starts at absolute offset start (buffer position run):
 * its length, its recorded line:col for later diagnostics, and a fresh JSON validator
 * when the value is JSON. */
static void value_begin(dsml_parser *p, uint64_t start, uchar *run, int json)
{
    if (json) dsml_jval_init(&p->jv);
    p->value_start = start;
    p->value_len = 0;
    line_col(p, start, &p->value_line, &p->value_col);
    p->run = run;
}

/* The end-of-sentence token closed the completion: only whitespace may follow. */
static void eos_seen(dsml_parser *p)
{
    p->res.saw_eos = 1;
    p->mode = M_END;
    p->warned_after = p->ws_spilled = 0;
    p->run = p->cur;
}

/* Check the whitespace seen since the previous element before a tag at tok. */
static int check_ws(dsml_parser *p)
{
    int one = p->ws_n == 1 && p->ws_lf == 1, two = p->ws_n == 2 && p->ws_lf == 2;
    int ok = p->after == A_INVOKE_HDR ? (one || two) : one;
    ws_reset(p);
    if (ok) return 0;
    return deviate(p, DSML_E_WHITESPACE, DSML_W_WHITESPACE, abs_off(p, p->tok));
}

struct attr {
    const uchar *v;
    size_t len;
    int present, quote, index;
};

struct attrs {
    struct attr name, string;
    int canon, extra;
};

/* Parse the attributes of a complete tag token: s points after the keyword, e at '>'. The
 * DFA already checked the shape, so only bookkeeping happens here. */
static void parse_attrs(const uchar *s, const uchar *e, struct attrs *a)
{
    memset(a, 0, sizeof *a);
    a->canon = 1;
    int i = 0;
    while (s < e) {
        const uchar *w = s;
        while (s < e && is_ws(*s)) s++;
        if (s == e) {
            a->canon = 0; /* whitespace before '>' */
            break;
        }
        if (s - w != 1 || *w != ' ') a->canon = 0;
        const uchar *k = s;
        while (*s != '=') s++;
        size_t klen = (size_t)(s - k);
        s++;
        uchar q = *s++;
        const uchar *v = s;
        while (*s != q) s++;
        struct attr at = {v, (size_t)(s - v), 1, q, i++};
        s++;
        if (q != '"') a->canon = 0;
        struct attr *slot = NULL;
        if (klen == 4 && !memcmp(k, "name", 4)) slot = &a->name;
        else if (klen == 6 && !memcmp(k, "string", 6)) slot = &a->string;
        if (!slot || slot->present) {
            a->extra = 1;
            a->canon = 0;
            continue;
        }
        *slot = at;
    }
}

/* Locate the keyword of a tag token and report look-alike/spaced prefixes. Returns -1 when
 * the look-alike is not enabled (the '<' is then text). */
static int tag_prefix(dsml_parser *p, int closer, const uchar **kw, int *spaced)
{
    const uchar *s = p->tok + 1 + (closer ? 1 : 0);
    int look = lookalike(s, &s);
    if (look) {
        if (!(p->opt.flags & DSML_LOOKALIKES) || STRICT(p)) return -1;
        if (warn(p, DSML_W_LOOKALIKE, abs_off(p, p->tok))) return -2;
    }
    *spaced = *s == ' ';
    if (*spaced) s++;
    *kw = s;
    return 0;
}

static int names_add(dsml_parser *p, const uchar *name, size_t len, int *dup)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ name[i]) * 16777619u;
    *dup = 0;
    for (size_t i = 0; i < p->n_ent; i++)
        if (p->ent[i].hash == h && p->ent[i].len == len &&
            !memcmp(p->nm + p->ent[i].off, name, len)) {
            *dup = 1;
            return 0;
        }
    if (p->n_ent == p->ent_cap) {
        size_t nc = p->ent_cap ? p->ent_cap * 2 : 16;
        void *q = p->al.realloc(p->al.ud, p->ent, nc * sizeof *p->ent);
        if (!q) return -1;
        p->ent = q;
        p->ent_cap = nc;
    }
    /* allocate on the first name even when it is empty (name=""): with nm still NULL the
       lookup above and the copy below would compute NULL + 0 (undefined behaviour) */
    if (!p->nm || p->nm_len + len > p->nm_cap) {
        size_t nc = p->nm_cap ? p->nm_cap : 256;
        while (nc < p->nm_len + len) nc *= 2;
        void *q = p->al.realloc(p->al.ud, p->nm, nc);
        if (!q) return -1;
        p->nm = q;
        p->nm_cap = nc;
    }
    memcpy(p->nm + p->nm_len, name, len);
    p->ent[p->n_ent++] = (struct name_ent){h, (uint32_t)p->nm_len, (uint32_t)len};
    p->nm_len += len;
    return 0;
}

static int block_begin(dsml_parser *p, int variant, uint64_t start)
{
    p->variant = (uint8_t)variant;
    p->blk_start = start;
    p->res.saw_block = 1;
    p->res.dialect = variant_dialect(variant);
    p->mode = variant == V_31 ? M_V31 : M_BLOCK;
    p->after = A_OPEN;
    ws_reset(p);
    return FIRE(p, on_block_begin, variant_dialect(variant));
}

static int block_end(dsml_parser *p, unsigned flags)
{
    p->mode = M_AFTER;
    p->warned_after = p->ws_spilled = 0;
    p->run = p->cur;
    p->elem_end = abs_off(p, p->cur);
    return FIRE(p, on_block_end, flags);
}

static int invoke_begin(dsml_parser *p, const uchar *name, size_t len)
{
    p->in_invoke = 1;
    p->inv_start = abs_off(p, p->tok);
    p->mode = M_INVOKE;
    p->after = A_INVOKE_HDR;
    p->nm_len = p->n_ent = 0;
    ws_reset(p);
    return FIRE(p, on_invoke, (const char *)name, len);
}

static int invoke_end(dsml_parser *p, unsigned flags)
{
    p->in_invoke = 0;
    p->res.calls++;
    p->mode = p->variant == V_31 ? M_V31 : M_BLOCK;
    p->after = A_INVOKE_END;
    p->elem_end = abs_off(p, p->cur);
    ws_reset(p);
    return FIRE(p, on_invoke_end, flags);
}

/* Is the block variant acceptable in the configured dialect? 0 ok, 1 accept with warning
 * (already issued), -1 stop. */
static int dialect_ok(dsml_parser *p, int variant)
{
    dsml_dialect d = p->opt.dialect;
    uint64_t off = abs_off(p, p->tok);
    if (d == DSML_AUTO) {
        if (variant == V_SP && STRICT(p)) return fail(p, DSML_E_DIALECT, off);
        if (variant == V_SP) return warn(p, DSML_W_V41_TAGS, off);
        return 0;
    }
    if (variant == V_SP) return deviate(p, DSML_E_DIALECT, DSML_W_V41_TAGS, off);
    if (variant_dialect(variant) == d) return 0;
    return deviate(p, DSML_E_DIALECT, DSML_W_OTHER_DIALECT, off);
}

/* Strip the separator before a block opener from the pending text and emit the rest. */
static int open_block(dsml_parser *p, int variant)
{
    uint64_t off = abs_off(p, p->tok);
    const uchar *e = p->tok;
    size_t n = (size_t)(e - p->run), k = 0;
    if (variant != V_31) {
        if (n >= 2 && e[-1] == '\n' && e[-2] == '\n') k = 2;
        else if (n >= 4 && !memcmp(e - 4, "\r\n\r\n", 4)) k = 4;
        else if (n >= 1 && e[-1] == '\n') k = 1;
        if (k == 4 && deviate(p, DSML_E_NO_SEPARATOR, DSML_W_WHITESPACE, off)) return -1;
        if (k < 2 && deviate(p, DSML_E_NO_SEPARATOR, DSML_W_NO_SEPARATOR, off)) return -1;
    }
    if (p->mode == M_REASONING) {
        if (deviate(p, DSML_E_THINK_NOT_CLOSED, DSML_W_IMPLICIT_THINK_END, off)) return -1;
        if (flush(p, e - k, 1) || FIRE0(p, on_reasoning_end)) return -1;
        p->res.reasoning_closed = 1;
    } else if (flush(p, e - k, 1)) {
        return -1;
    }
    return block_begin(p, variant, off - k);
}

/* An invoke tag at tok (complete token [tok, cur)). */
static int tag_invoke(dsml_parser *p)
{
    const uchar *kw;
    int spaced, r = tag_prefix(p, 0, &kw, &spaced);
    if (r) return r;
    struct attrs a;
    parse_attrs(kw + 6, p->cur - 1, &a);
    uint64_t off = abs_off(p, p->tok);
    if (spaced && deviate(p, DSML_E_TAG, DSML_W_V41_TAGS, off)) return -2;
    if (!a.name.present) {
        if (STRICT(p)) return fail(p, DSML_E_ATTR, off), -2;
        return -1; /* cannot place it: stray text */
    }
    if (a.string.present || a.extra) {
        if (deviate(p, DSML_E_ATTR, DSML_W_ATTR, off)) return -2;
    } else if (!a.canon) {
        if (deviate(p, DSML_E_TAG, a.name.quote == '"' ? DSML_W_TAG_SPACE : DSML_W_SINGLE_QUOTES,
                    off))
            return -2;
    }
    return invoke_begin(p, a.name.v, a.name.len) ? -2 : 0;
}

/* A parameter tag at tok. */
static int tag_param(dsml_parser *p)
{
    const uchar *kw;
    int spaced, r = tag_prefix(p, 0, &kw, &spaced);
    if (r) return r;
    struct attrs a;
    parse_attrs(kw + 9, p->cur - 1, &a);
    uint64_t off = abs_off(p, p->tok);
    if (spaced && deviate(p, DSML_E_TAG, DSML_W_V41_TAGS, off)) return -2;
    if (!a.name.present) {
        if (STRICT(p)) return fail(p, DSML_E_ATTR, off), -2;
        return -1;
    }
    unsigned flags = DSML_PARAM_STRING;
    if (!a.string.present) {
        if (deviate(p, DSML_E_MISSING_STRING_ATTR, DSML_W_MISSING_STRING_ATTR, off)) return -2;
    } else if (a.string.len == 5 && !memcmp(a.string.v, "false", 5)) {
        flags = DSML_PARAM_JSON;
    } else if (!(a.string.len == 4 && !memcmp(a.string.v, "true", 4))) {
        if (deviate(p, DSML_E_STRING_FLAG, DSML_W_STRING_FLAG, off)) return -2;
    }
    if (a.string.present && a.string.index < a.name.index) {
        if (deviate(p, DSML_E_ATTR_ORDER, DSML_W_ATTR_ORDER, off)) return -2;
    } else if (a.extra) {
        if (deviate(p, DSML_E_ATTR, DSML_W_ATTR, off)) return -2;
    } else if (!a.canon) {
        if (deviate(p, DSML_E_TAG, a.name.quote == '"' && (!a.string.present ||
                                      a.string.quote == '"') ? DSML_W_TAG_SPACE
                                                             : DSML_W_SINGLE_QUOTES, off))
            return -2;
    }
    int dup;
    if (names_add(p, a.name.v, a.name.len, &dup)) return fail(p, DSML_E_NOMEM, off), -2;
    if (dup && deviate(p, DSML_E_DUPLICATE_PARAM, DSML_W_DUPLICATE_PARAM, off)) return -2;
    if (p->n_ent > p->opt.max_params) return fail(p, DSML_E_TOO_MANY_PARAMS, off), -2;
    if (FIRE(p, on_param, (const char *)a.name.v, a.name.len, flags)) return -2;
    p->param_json = flags == DSML_PARAM_JSON;
    p->mode = M_VALUE;
    value_begin(p, abs_off(p, p->cur), p->cur, p->param_json);
    return 0;
}

/* Closer tags between tags: is the prefix acceptable? 0 yes, -1 text, -2 stop. */
static int closer_ok(dsml_parser *p, int block_close)
{
    const uchar *kw;
    int spaced, r = tag_prefix(p, 1, &kw, &spaced);
    if (r) return r;
    uint64_t off = abs_off(p, p->tok);
    if (spaced && !(block_close && p->tv == V_SP) && deviate(p, DSML_E_TAG, DSML_W_V41_TAGS, off)) return -2;
    if (is_ws(p->cur[-2]) && deviate(p, DSML_E_TAG, DSML_W_TAG_SPACE, off)) return -2;
    return 0;
}

/* Start stray text at tok: tolerant returns it as content. */
static int stray_begin(dsml_parser *p)
{
    if (deviate(p, DSML_E_UNEXPECTED_TEXT, DSML_W_UNEXPECTED_TEXT, abs_off(p, p->tok)))
        return -1;
    p->stray = 1;
    p->run = p->tok;
    ws_reset(p);
    return 0;
}

/* Unexpected (but well-formed) tag at tok: strict error, tolerant stray text. */
static int unexpected_tag(dsml_parser *p)
{
    if (STRICT(p)) return fail(p, DSML_E_UNEXPECTED_TAG, abs_off(p, p->tok));
    p->cur = p->tok + 1;
    return stray_begin(p);
}

static void mark_incomplete(dsml_parser *p)
{
    if (p->res.status == DSML_FAILED) return;
    p->res.status = DSML_INCOMPLETE;
    if (p->res.calls == 0) p->res.incomplete_at = p->blk_start;
    else if (p->in_invoke) p->res.incomplete_at = p->inv_start;
    else p->res.incomplete_at = p->elem_end;
}

/* ------------------------------------------------------------------------------------------
 * Token handlers, one per mode family
 * ---------------------------------------------------------------------------------------- */
/* The first non-whitespace byte after the block (or after EOS) at s. */
static int after_text(dsml_parser *p, uchar *s)
{
    p->warned_after = 1;
    p->tok = s;
    if (p->mode == M_AFTER)
        return deviate(p, DSML_E_TEXT_AFTER_BLOCK, DSML_W_TEXT_AFTER_BLOCK, abs_off(p, s));
    return deviate(p, DSML_E_TEXT_AFTER_EOS, DSML_W_TEXT_AFTER_EOS, abs_off(p, s));
}

static void on_text_token(dsml_parser *p, int t)
{
    uint64_t off = abs_off(p, p->tok);
    int after = p->mode == M_AFTER || p->mode == M_END;
    if (after && !p->warned_after && !(t == T_EOS && p->mode == M_AFTER) && t != T_EOF &&
        after_text(p, p->tok))
        return;
    switch (t) {
    case T_TEXT:
    case T_EOF:
        return;
    case T_THINK_END:
        if (p->mode == M_REASONING) {
            if (flush(p, p->tok, 1) || FIRE0(p, on_reasoning_end)) return;
            p->res.reasoning_closed = 1;
            p->mode = M_CONTENT;
            p->run = p->cur;
            return;
        }
        deviate(p, DSML_E_SPECIAL_IN_TEXT, DSML_W_SPECIAL_IN_TEXT, off);
        return;
    case T_THINK_BEGIN:
        if (p->mode == M_REASONING && off == 0 && !STRICT(p)) {
            if (warn(p, DSML_W_THINK_OPEN, off)) return;
            p->run = p->cur;
            return;
        }
        deviate(p, DSML_E_SPECIAL_IN_TEXT, DSML_W_SPECIAL_IN_TEXT, off);
        return;
    case T_BOS:
    case T_DSML_BARE:
        deviate(p, DSML_E_SPECIAL_IN_TEXT, DSML_W_SPECIAL_IN_TEXT, off);
        return;
    case T_SPECIAL:
        warn(p, DSML_W_SPECIAL_IN_TEXT, off);
        return;
    case T_EOS:
        if (p->mode == M_END) {
            deviate(p, DSML_E_TEXT_AFTER_EOS, DSML_W_TEXT_AFTER_EOS, off);
            return;
        }
        if (p->mode == M_AFTER ? finish_after(p, p->tok) : flush(p, p->tok, 1)) return;
        eos_seen(p);
        return;
    case T_OPEN:
    case T_V31_OPEN:
    case T_INVOKE: {
        if (after) return; /* a second block is text (the warning comes with the bytes) */
        const uchar *kw;
        int spaced, variant = t == T_V31_OPEN ? V_31 : t == T_INVOKE ? V_TC : p->tv;
        if (t == T_INVOKE) {
            if (lookalike(p->tok + 1, &kw) &&
                (!(p->opt.flags & DSML_LOOKALIKES) || STRICT(p))) {
                p->cur = p->tok + 1;
                return;
            }
        } else if (t != T_V31_OPEN) {
            int r = tag_prefix(p, 0, &kw, &spaced);
            if (r == -1) {
                p->cur = p->tok + 1;
                return;
            }
            if (r) return;
        }
        if (t == T_INVOKE) {
            if (deviate(p, DSML_E_SPECIAL_IN_TEXT, DSML_W_BARE_INVOKE, off)) return;
            if (p->opt.dialect == DSML_V32) variant = V_FC;
            else if (p->opt.dialect == DSML_V31 && STRICT(p)) {
                fail(p, DSML_E_DIALECT, off);
                return;
            }
        } else if (dialect_ok(p, variant)) {
            return;
        }
        if (open_block(p, variant)) return;
        if (t == T_INVOKE) {
            p->bare_block = 1;
            int r = tag_invoke(p);
            if (r == -1) {
                p->cur = p->tok + 1;
                stray_begin(p);
            }
        }
        p->run = p->cur;
        return;
    }
    }
}

static void on_tags_token(dsml_parser *p, int t)
{
    uint64_t off = abs_off(p, p->tok);
    if (p->stray) {
        if (t == T_TEXT || t == T_EOF) return;
        if (t == T_WS) return;
        if (flush(p, p->tok, 1)) return;
        p->stray = 0;
        ws_reset(p);
        p->ws_n = p->ws_lf = 1; /* don't complain twice about the same spot */
    }
    switch (t) {
    case T_EOF:
        return;
    case T_WS:
        p->ws_n++;
        if (p->tok[0] == '\n') p->ws_lf++;
        return;
    case T_TEXT:
        stray_begin(p);
        return;
    case T_BRACE:
        if (p->mode == M_INVOKE && p->after == A_INVOKE_HDR && !STRICT(p)) {
            if (warn(p, DSML_W_JSON_BODY, off)) return;
            ws_reset(p);
            p->mode = M_ARGS;
            p->args_v31 = 0;
            value_begin(p, off, p->tok, 1);
            return;
        }
        stray_begin(p);
        return;
    case T_INVOKE: {
        if (p->mode == M_INVOKE) {
            if (deviate(p, DSML_E_UNEXPECTED_TAG, DSML_W_IMPLICIT_INVOKE_END, off) ||
                invoke_end(p, DSML_END_IMPLICIT))
                return;
            ws_reset(p);
        } else if (check_ws(p)) {
            return;
        }
        int r = tag_invoke(p);
        if (r == -1) {
            p->cur = p->tok + 1;
            stray_begin(p);
        }
        return;
    }
    case T_PARAM: {
        if (p->mode != M_INVOKE) {
            unexpected_tag(p);
            return;
        }
        if (check_ws(p)) return;
        int r = tag_param(p);
        if (r == -1) {
            p->cur = p->tok + 1;
            stray_begin(p);
        }
        return;
    }
    case T_INVOKE_END: {
        if (p->mode != M_INVOKE) {
            unexpected_tag(p);
            return;
        }
        int r = closer_ok(p, 0);
        if (r == -1) {
            p->cur = p->tok + 1;
            stray_begin(p);
            return;
        }
        if (r || check_ws(p)) return;
        invoke_end(p, 0);
        return;
    }
    case T_PARAM_END:
        unexpected_tag(p);
        return;
    case T_CLOSE: {
        int r = closer_ok(p, 1);
        if (r == -1) {
            p->cur = p->tok + 1;
            stray_begin(p);
            return;
        }
        if (r) return;
        if (p->mode == M_INVOKE) {
            if (deviate(p, DSML_E_UNEXPECTED_TAG, DSML_W_IMPLICIT_INVOKE_END, off) ||
                invoke_end(p, DSML_END_IMPLICIT))
                return;
            ws_reset(p);
            p->ws_n = p->ws_lf = 1;
        } else if (p->after == A_OPEN && STRICT(p)) {
            fail(p, DSML_E_UNEXPECTED_TAG, off); /* a block needs at least one invoke */
            return;
        }
        if (check_ws(p)) return;
        if (p->tv != p->variant &&
            deviate(p, DSML_E_MISMATCHED_CLOSE, DSML_W_MISMATCHED_CLOSE, off))
            return;
        block_end(p, 0);
        return;
    }
    case T_EOS:
        if (p->mode == M_INVOKE) {
            if (STRICT(p)) {
                fail(p, DSML_E_UNTERMINATED, off);
                return;
            }
            mark_incomplete(p);
        } else if (!p->bare_block) {
            if (deviate(p, DSML_E_UNTERMINATED, DSML_W_IMPLICIT_BLOCK_END, off) ||
                FIRE(p, on_block_end, DSML_END_IMPLICIT))
                return;
        } else if (FIRE(p, on_block_end, DSML_END_IMPLICIT)) {
            return;
        }
        p->in_invoke = 0;
        eos_seen(p);
        return;
    }
}

/* The value ended at the closer at [tok, cur): validate and report. */
static int commit_param(dsml_parser *p)
{
    unsigned flags = 0;
    if (p->param_json && dsml_jval_end(&p->jv) != DSML_JVAL_OK) {
        if (STRICT(p)) {
            return fail(p, DSML_E_INVALID_JSON, p->value_start);
        }
        if (warn(p, DSML_W_INVALID_JSON, p->value_start)) return -1;
        flags |= DSML_END_INVALID_JSON;
    }
    p->mode = M_INVOKE;
    p->after = A_PARAM;
    return FIRE(p, on_param_end, flags);
}

static void on_value_token(dsml_parser *p, int t)
{
    if (t == T_TEXT || t == T_EOF) return;
    if (t == T_STRAY_CLOSER) {
        fail(p, DSML_E_STRAY_CLOSER, abs_off(p, p->tok));
        return;
    }
    /* T_PARAM_END */
    const uchar *kw;
    int spaced, r = tag_prefix(p, 1, &kw, &spaced);
    if (r == -1) {
        p->cur = p->tok + 1; /* a look-alike that is not enabled: value text */
        return;
    }
    if (r) return;
    if (spaced && STRICT(p)) {
        /* the official parser ends a value only at "/｜DSML｜parameter": the V4.1 spaced
           closer "</｜DSML｜ parameter>" is value text there */
        p->cur = p->tok + 1;
        return;
    }
    uint64_t off = abs_off(p, p->tok);
    if (spaced && deviate(p, DSML_E_TAG, DSML_W_V41_TAGS, off)) return;
    if (p->cur[-2] != 'r' && deviate(p, DSML_E_TAG, DSML_W_TAG_SPACE, off)) return;
    if (flush(p, p->tok, 1)) return;
    ws_reset(p);
    if (STRICT(p)) {
        commit_param(p); /* official semantics: the first closer ends the value */
        return;
    }
    p->mode = M_PCLOSE;
    p->run = p->tok; /* keep the closer in the buffer until we know */
}

/* Tolerant: what follows a parameter closer decides whether it closed the value. */
static void on_pclose_token(dsml_parser *p, int t)
{
    switch (t) {
    case T_WS:
        p->ws_n++;
        if (p->tok[0] == '\n') p->ws_lf++;
        if (p->cur - p->run <= HOLD_AFTER_MAX) return;
        /* a long run of whitespace: the closer was real */
        /* fall through */
    case T_PARAM:
    case T_INVOKE:
    case T_INVOKE_END:
    case T_CLOSE:
    case T_EOS:
    case T_EOF: {
        uint32_t n = p->ws_n, lf = p->ws_lf;
        if (commit_param(p)) return;
        p->ws_n = n, p->ws_lf = lf;
        if (t != T_EOF && t != T_WS) on_tags_token(p, t);
        return;
    }
    default:
        /* text follows: the closer and the whitespace were value bytes */
        if (warn(p, DSML_W_CLOSER_IN_VALUE, abs_off(p, p->run))) return;
        p->mode = M_VALUE;
        p->cur = p->tok;
        ws_reset(p);
        return;
    }
}

static void on_args_token(dsml_parser *p, int t)
{
    if (t == T_TEXT || t == T_EOF) return;
    if (t == T_INVOKE_END) {
        const uchar *kw;
        int spaced, r = tag_prefix(p, 1, &kw, &spaced);
        if (r == -1) {
            p->cur = p->tok + 1;
            return;
        }
        if (r) return;
    }
    if (flush(p, p->tok, 1)) return;
    unsigned flags = 0;
    if (dsml_jval_end(&p->jv) != DSML_JVAL_OK || p->jv.kind != '{') {
        if (deviate(p, DSML_E_ARGS_JSON, DSML_W_ARGS_JSON, p->value_start)) return;
        flags |= DSML_END_ARGS_NOT_OBJECT;
    }
    invoke_end(p, flags);
}

static void on_v31_token(dsml_parser *p, int t)
{
    uint64_t off = abs_off(p, p->tok);
    if (p->stray) {
        if (t == T_TEXT || t == T_EOF || t == T_WS) return;
        if (flush(p, p->tok, 1)) return;
        p->stray = 0;
    }
    switch (t) {
    case T_EOF:
        return;
    case T_WS:
        if (!p->ws_warned) {
            p->ws_warned = 1;
            deviate(p, DSML_E_WHITESPACE, DSML_W_WHITESPACE, off);
        }
        return;
    case T_TEXT:
        stray_begin(p);
        return;
    case T_V31_CALL: {
        static const char begin[] = "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "begin\xEF\xBD\x9C>";
        static const char sep[] = "<\xEF\xBD\x9Ctool\xE2\x96\x81sep\xEF\xBD\x9C>";
        const uchar *name = p->tok + sizeof begin - 1;
        size_t len = (size_t)(p->cur - name) - (sizeof sep - 1);
        if (invoke_begin(p, name, len)) return;
        p->mode = M_ARGS;
        p->args_v31 = 1;
        value_begin(p, abs_off(p, p->cur), p->cur, 1);
        return;
    }
    case T_V31_CLOSE:
        block_end(p, 0);
        return;
    case T_EOS:
        if (deviate(p, DSML_E_UNTERMINATED, DSML_W_IMPLICIT_BLOCK_END, off) ||
            FIRE(p, on_block_end, DSML_END_IMPLICIT))
            return;
        eos_seen(p);
        return;
    }
}

static void handle(dsml_parser *p, int t)
{
    switch (p->mode) {
    case M_REASONING:
    case M_CONTENT:
    case M_AFTER:
    case M_END:
        on_text_token(p, t);
        break;
    case M_BLOCK:
    case M_INVOKE:
        on_tags_token(p, t);
        break;
    case M_VALUE:
        on_value_token(p, t);
        break;
    case M_PCLOSE:
        on_pclose_token(p, t);
        break;
    case M_ARGS:
        on_args_token(p, t);
        break;
    case M_V31:
        on_v31_token(p, t);
        break;
    }
}

/* Run the lexer over the buffer until it needs more input (returns DSML_OK), reaches the
 * end of input in final mode, or fails. */
static dsml_code scan(dsml_parser *p)
{
    for (;;) {
        if (p->err) return p->err;
        if (p->ystate < 0) {
            if (text_mode(p)) {
                if ((p->mode == M_AFTER || p->mode == M_END) && !p->warned_after && !p->stray) {
                    uchar *s = p->cur;
                    while (s < p->lim && is_ws(*s)) s++;
                    /* '<' may start the EOS marker: the token handler decides */
                    if (s < p->lim && *s != '<' && after_text(p, s)) return p->err;
                }
                p->cur = (uchar *)find_stop(p, p->cur, p->lim);
                if (p->cur == p->lim && !p->final) {
                    p->tok = p->cur;
                    flush(p, p->lim, 0);
                    return p->err;
                }
            }
            p->tok = p->cur;
            if (!text_mode(p) && p->mode != M_PCLOSE) p->run = p->cur;
            p->cond = cond_for(p);
        }
        /* The DFA never looks further than max_token bytes from the token start, whatever
         * the piece boundaries: a sentinel at tok + max_token makes it stop there. */
        uchar *dl = p->lim, saved = 0;
        if ((size_t)(p->lim - p->tok) > p->opt.max_token) {
            dl = p->tok + p->opt.max_token;
            saved = *dl;
            *dl = 0;
        }
        p->dlim = dl;
        /* resuming a token that already reached max_token bytes */
        int t = p->ystate >= 0 && p->cur >= dl && dl != p->lim ? T_NEED : lex(p);
        if (dl != p->lim) *dl = saved;
        p->dlim = p->lim;
        if (t == T_NEED && dl != p->lim) {
            /* a candidate as long as max_token: not markup */
            p->ystate = -1;
            p->cur = p->tok + 1;
            if (deviate(p, DSML_E_TOKEN_TOO_LONG, DSML_W_TOKEN_TOO_LONG, abs_off(p, p->tok)))
                return p->err;
            t = T_TEXT;
        } else if (t == T_NEED) {
            if (p->final) continue; /* resume without input = end of input */
            if (text_mode(p)) flush(p, p->tok, 0);
            return p->err;
        }
        p->ystate = -1;
        handle(p, t);
        if (t == T_EOF) return p->err;
    }
}

/* Drop what the buffer no longer needs and move the rest to its start. */
static void compact(dsml_parser *p)
{
    uchar *keep = p->tok < p->run ? p->tok : p->run;
    if (p->cur < keep) keep = p->cur;
    size_t shift = (size_t)(keep - p->buf);
    if (!shift) return;
    if (p->opt.flags & DSML_LINES) {
        const uchar *s = p->buf;
        while (s < keep && (s = memchr(s, '\n', (size_t)(keep - s))) != NULL) {
            p->base_line++;
            s++;
            p->line_start = abs_off(p, s);
        }
    }
    size_t used = (size_t)(p->lim - keep);
    memmove(p->buf, keep, used + 1);
    p->base += shift;
    p->cur -= shift;
    p->lim -= shift;
    p->dlim = p->lim;
    p->tok -= shift;
    p->run -= shift;
    p->mar = p->mar >= keep ? p->mar - shift : p->buf;
}

/* ------------------------------------------------------------------------------------------
 * Public API
 * ---------------------------------------------------------------------------------------- */
void dsml_options_init(dsml_options *o)
{
    memset(o, 0, sizeof *o);
    o->dialect = DSML_V4;
    o->max_token = 4096;
    o->max_value = 64u << 20;
    o->max_params = 1024;
}

static void init_state(dsml_parser *p)
{
    p->cur = p->lim = p->mar = p->tok = p->run = p->dlim = p->buf;
    p->buf[0] = 0;
    p->ystate = -1;
    p->cond = yycTEXT;
    p->base = p->base_line = p->line_start = 0;
    p->mode = (p->opt.flags & DSML_THINKING) ? M_REASONING : M_CONTENT;
    p->stray = p->after = p->variant = p->tv = p->final = p->finished = p->bare_block = 0;
    p->in_invoke = p->param_json = p->args_v31 = p->warned_after = p->ws_warned = 0;
    p->ws_spilled = 0;
    p->ws_n = p->ws_lf = 0;
    p->err = DSML_OK;
    memset(&p->res, 0, sizeof p->res);
    p->res.dialect = p->opt.dialect;
    p->blk_start = p->inv_start = p->elem_end = p->value_start = p->value_len = 0;
    p->nm_len = p->n_ent = 0;
}

dsml_parser *dsml_parser_new(const dsml_options *opts, const dsml_callbacks *cb, void *ud)
{
    dsml_options o;
    if (opts) o = *opts;
    else dsml_options_init(&o);
    if (!o.max_token) o.max_token = 4096;
    if (!o.max_value) o.max_value = 64u << 20;
    if (!o.max_params) o.max_params = 1024;
    if (o.max_token < 64 || o.max_token > ((size_t)1 << 30) || (unsigned)o.dialect > DSML_AUTO)
        return NULL;
    dsml_allocator al = {def_malloc, def_realloc, def_free, NULL};
    if (o.alloc) {
        if (!o.alloc->malloc || !o.alloc->realloc || !o.alloc->free) return NULL;
        al = *o.alloc;
    }
    dsml_parser *p = al.malloc(al.ud, sizeof *p);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->opt = o;
    p->opt.alloc = NULL;
    p->al = al;
    if (cb) p->cb = *cb;
    p->ud = ud;
    p->cap = o.max_token + PIECE;
    p->buf = al.malloc(al.ud, p->cap + 1);
    if (!p->buf) {
        al.free(al.ud, p);
        return NULL;
    }
    init_state(p);
    return p;
}

void dsml_parser_free(dsml_parser *p)
{
    if (!p) return;
    dsml_allocator al = p->al;
    al.free(al.ud, p->nm);
    al.free(al.ud, p->ent);
    al.free(al.ud, p->buf);
    al.free(al.ud, p);
}

void dsml_reset(dsml_parser *p) { init_state(p); }

dsml_code dsml_feed(dsml_parser *p, const char *data, size_t len)
{
    if (p->err) return p->err;
    if (p->finished) return fail(p, DSML_E_FINISHED, p->res.bytes), p->err;
    while (len) {
        size_t space = p->cap - (size_t)(p->lim - p->buf);
        if (space < len && space < PIECE / 2) { /* move the kept bytes down only when short */
            compact(p);
            space = p->cap - (size_t)(p->lim - p->buf);
        }
        size_t n = len < space ? len : space;
        if (!n) return fail(p, DSML_E_TOKEN_TOO_LONG, abs_off(p, p->tok)), p->err;
        memcpy(p->lim, data, n);
        p->lim += n;
        *p->lim = 0;
        data += n;
        len -= n;
        p->res.bytes += n;
        if (scan(p)) return p->err;
    }
    return DSML_OK;
}

/* Resolve everything pending as if the input ended here. */
static dsml_code drain(dsml_parser *p)
{
    p->final = 1;
    scan(p);
    p->final = 0;
    p->ystate = -1;
    if (p->err) return p->err;
    if (text_mode(p)) {
        if (!p->stray && (p->mode == M_AFTER || p->mode == M_END)) finish_after(p, p->lim);
        else flush(p, p->lim, 1);
    }
    p->tok = p->cur;
    return p->err;
}

dsml_code dsml_end_reasoning(dsml_parser *p)
{
    if (p->err || p->finished || p->mode != M_REASONING) return p->err;
    if (drain(p)) return p->err;
    if (p->mode != M_REASONING) return p->err;
    if (FIRE0(p, on_reasoning_end)) return p->err;
    p->res.reasoning_closed = 1;
    p->mode = M_CONTENT;
    p->run = p->cur;
    return p->err;
}

dsml_code dsml_finish(dsml_parser *p)
{
    if (p->finished || p->err) {
        p->finished = 1;
        return p->err;
    }
    p->finished = 1;
    if (text_mode(p) && drain(p)) return p->err;
    switch (p->mode) {
    case M_REASONING:
        if (STRICT(p)) return fail(p, DSML_E_THINK_NOT_CLOSED, p->res.bytes), p->err;
        break;
    case M_BLOCK:
        if (p->bare_block) {
            FIRE(p, on_block_end, DSML_END_IMPLICIT);
            break;
        }
        if (STRICT(p)) return fail(p, DSML_E_UNTERMINATED, p->res.bytes), p->err;
        mark_incomplete(p);
        break;
    case M_PCLOSE:
        if (commit_param(p)) return p->err;
        /* fall through */
    case M_INVOKE:
    case M_VALUE:
    case M_ARGS:
    case M_V31:
        if (STRICT(p)) return fail(p, DSML_E_UNTERMINATED, p->res.bytes), p->err;
        mark_incomplete(p);
        break;
    default:
        break;
    }
    return p->err;
}

const dsml_result *dsml_result_get(const dsml_parser *p) { return &p->res; }

uint64_t dsml_callback_offset(const dsml_parser *p, const char *at)
{
    const uchar *u = (const uchar *)at;
    if (u && u >= p->buf && u <= p->lim) return abs_off(p, u);
    return abs_off(p, p->tok);
}

size_t dsml_parser_memory(const dsml_parser *p)
{
    return sizeof *p + p->cap + 1 + p->nm_cap + p->ent_cap * sizeof *p->ent;
}
