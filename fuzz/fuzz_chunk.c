/*
 * fuzz_chunk.c - harness 2: differential chunking.
 *
 * Input: two option bytes (fuzz.h), a feeding plan (fz_plan_read: fixed sizes, explicit
 * cut points, random sizes, or single bytes with empty feeds between them), a flags byte
 * (bit 0: call dsml_end_reasoning() at the offset given by the next u16, modulo the text
 * length + 1), then the completion text.
 *
 * The text is parsed one-shot by a fresh parser (the reference), then by a parser that
 * first saw other input and was dsml_reset(), fed per the plan. The normalised event log
 * (testutil.h: adjacent text pieces merged), the final result and the OpenAI message at a
 * fixed chunk size must equal the reference exactly; any difference aborts with both logs.
 */
#include <stdlib.h>
#include <string.h>

#include "dsml_openai.h"
#include "fuzz.h"

/* Result fields the "=" log line does not carry (bytes fed only without an error: after
 * one, how much was fed depends on where the feeds ended). */
static void result_extra(dsml_buf *b, const dsml_result *r)
{
    dsml_buf_printf(b, "\n+dialect=%d warnings=%u bytes=%llu block=%d eos=%d closed=%d",
                    (int)r->dialect, r->warnings,
                    r->status == DSML_FAILED ? 0ull : (unsigned long long)r->bytes,
                    r->saw_block, r->saw_eos, r->reasoning_closed);
}

/* Feed the part of text in [from, to) to p, cut as the chunk list says (zero-length chunks
 * inside the range are zero-length feeds). */
static dsml_code feed_range(dsml_parser *p, fz_events *ev, const char *text, const size_t *ch,
                            size_t nch, size_t from, size_t to)
{
    size_t at = 0;
    dsml_code c = DSML_OK;
    for (size_t i = 0; i < nch && c == DSML_OK; i++) {
        size_t a = at, b = at + ch[i];
        at = b;
        size_t lo = a > from ? a : from, hi = b < to ? b : to;
        if (a == b ? a >= from && a < to : lo < hi) {
            ev->fed = a == b ? a : hi;
            c = dsml_feed(p, text + (a == b ? a : lo), a == b ? 0 : hi - lo);
        }
    }
    return c;
}

static void message_json(const char *text, size_t len, const dsml_options *o, size_t chunk,
                         dsml_buf *out)
{
    dsml_oai_options oo;
    dsml_oai_options_init(&oo);
    oo.parse = *o;
    uint64_t seed = 5;
    oo.make_id = dsml_id_seeded;
    oo.id_ud = &seed;
    dsml_message m;
    dsml_code c = dsml_parse_message(text, len, &oo, chunk, &m);
    dsml_buf_clear(out);
    dsml_buf_printf(out, "code=%s ", dsml_code_name(c));
    dsml_message_json(&m, out);
    dsml_message_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    dsml_options o;
    fz_read_options(&in, &o, NULL);
    fz_plan plan;
    fz_plan_read(&in, &plan);
    unsigned flags = fz_u8(&in);
    unsigned end_at = flags & 1 ? fz_u16(&in) : 0;
    const char *text = (const char *)in.p;
    size_t len = in.n;
    size_t cut = flags & 1 ? end_at % (len + 1) : len;

    /* the reference: one feed (two around dsml_end_reasoning) */
    fz_events ref;
    memset(&ref, 0, sizeof ref);
    dsml_callbacks cb = fz_events_init(&ref, &o, text, len);
    dsml_parser *p = dsml_parser_new(&o, &cb, &ref);
    FZ_CHECK(p, "dsml_parser_new failed");
    ref.fed = cut;
    dsml_code c = dsml_feed(p, text, cut);
    if (flags & 1) {
        if (c == DSML_OK) c = dsml_end_reasoning(p);
        ref.fed = len;
        if (c == DSML_OK) c = dsml_feed(p, text + cut, len - cut);
    }
    dsml_code f = dsml_finish(p);
    fz_events_final(&ref, dsml_result_get(p), f);
    tu_log_result(&ref.rec, dsml_result_get(p));
    result_extra(&ref.rec.log, dsml_result_get(p));
    dsml_parser_free(p);

    /* the same text through a reused parser, fed per the plan */
    size_t nch;
    size_t *ch = fz_plan_chunks(&plan, len, &nch);
    fz_events got;
    memset(&got, 0, sizeof got);
    cb = fz_events_init(&got, &o, text, len);
    p = dsml_parser_new(&o, &cb, &got);
    FZ_CHECK(p, "dsml_parser_new failed");
    got.fed = len / 2;
    dsml_feed(p, text, len / 2); /* state to forget */
    dsml_reset(p);
    fz_events_init(&got, &o, text, len);
    c = feed_range(p, &got, text, ch, nch, 0, cut);
    if (flags & 1) {
        if (c == DSML_OK) c = dsml_end_reasoning(p);
        if (c == DSML_OK) c = feed_range(p, &got, text, ch, nch, cut, len);
    }
    f = dsml_finish(p);
    fz_events_final(&got, dsml_result_get(p), f);
    tu_log_result(&got.rec, dsml_result_get(p));
    result_extra(&got.rec.log, dsml_result_get(p));
    dsml_parser_free(p);

    char desc[160];
    fz_describe_options(&o, desc, sizeof desc);
    FZ_CHECK(!strcmp(ref.rec.log.data, got.rec.log.data),
             "event log differs between one-shot and chunked feeding (%s, plan mode %u, %zu "
             "feeds%s)\n--- one-shot\n%s\n--- chunked\n%s",
             desc, plan.mode, nch, flags & 1 ? ", end_reasoning" : "", ref.rec.log.data,
             got.rec.log.data);

    /* the message, one-shot and at a fixed chunk size */
    if (!(flags & 1)) {
        dsml_buf a = {0}, b = {0};
        message_json(text, len, &o, 0, &a);
        message_json(text, len, &o, plan.arg % 16 + 1, &b);
        FZ_CHECK(!strcmp(a.data, b.data),
                 "message differs at chunk size %u (%s)\n--- one-shot\n%s\n--- chunked\n%s",
                 plan.arg % 16 + 1, desc, a.data, b.data);
        dsml_buf_free(&a);
        dsml_buf_free(&b);
    }
    free(ch);
    fz_events_free(&ref);
    fz_events_free(&got);
    return 0;
}
