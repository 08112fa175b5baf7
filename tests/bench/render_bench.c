/*
 * render_bench.c - prompt rendering speed: a 50-message agent history (system prompt, one
 * user request, 8 assistant turns with reasoning making 40 tool calls over 20 declared
 * tools, 40 tool results) rendered again and again from its JSON text, as a proxy does per
 * request. Reports the median and 90th percentile in microseconds per render for V4,
 * V4 with special-marker segments, and V3.2.
 *
 *   render_bench [runs]     (default 2000 runs per variant after 200 warm-up renders)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsml_render.h"

static void add_tools(dsml_buf *b)
{
    dsml_buf_puts(b, "\"tools\": [");
    for (int t = 0; t < 20; t++) {
        dsml_buf_printf(b,
                        "%s{\"type\": \"function\", \"function\": {\"name\": \"tool_%02d\", "
                        "\"description\": \"Tool number %d: reads, searches or edits files in the "
                        "workspace and reports what it did.\", \"parameters\": {\"type\": \"object\", "
                        "\"properties\": {\"path\": {\"type\": \"string\", \"description\": \"File "
                        "path\"}, \"limit\": {\"type\": \"integer\", \"default\": 100}, \"ratio\": "
                        "{\"type\": \"number\"}, \"flags\": {\"type\": \"array\", \"items\": "
                        "{\"type\": \"string\"}}, \"options\": {\"type\": \"object\", "
                        "\"properties\": {\"recursive\": {\"type\": \"boolean\"}}}}, \"required\": "
                        "[\"path\"]}}}",
                        t ? ", " : "", t, t);
    }
    dsml_buf_puts(b, "]");
}

static void build_request(dsml_buf *b)
{
    dsml_buf_puts(b, "{\"model\": \"deepseek-v4\", \"thinking\": {\"type\": \"enabled\"}, ");
    add_tools(b);
    dsml_buf_puts(b, ", \"messages\": [{\"role\": \"system\", \"content\": \"You are a careful "
                     "software engineer working in a large C repository. Prefer small, tested "
                     "changes.\"}, {\"role\": \"user\", \"content\": \"Find why the parser drops "
                     "the last byte of a chunk and fix it; run the tests afterwards.\"}");
    int call = 0;
    for (int turn = 0; turn < 8; turn++) {
        dsml_buf_printf(b, ", {\"role\": \"assistant\", \"content\": \"\", \"reasoning_content\": "
                           "\"Step %d. I should look at the files involved, compare the chunk "
                           "boundary handling with the one-shot path and check which offsets are "
                           "used when a marker is cut in the middle of a multi-byte character.\", "
                           "\"tool_calls\": [",
                        turn);
        for (int c = 0; c < 5; c++, call++)
            dsml_buf_printf(b,
                            "%s{\"id\": \"call_%04d\", \"type\": \"function\", \"function\": "
                            "{\"name\": \"tool_%02d\", \"arguments\": \"{\\\"path\\\": "
                            "\\\"src/module_%d/file_%d.c\\\", \\\"limit\\\": %d, \\\"ratio\\\": "
                            "0.%d5, \\\"flags\\\": [\\\"-n\\\", \\\"--color=never\\\"], "
                            "\\\"options\\\": {\\\"recursive\\\": true}, \\\"pattern\\\": "
                            "\\\"feed\\\\\\\\(.*chunk\\\"}\"}}",
                            c ? ", " : "", call, call % 20, turn, c, 50 + call, c);
        dsml_buf_puts(b, "]}");
        for (int c = 0; c < 5; c++) {
            dsml_buf_printf(b, ", {\"role\": \"tool\", \"tool_call_id\": \"call_%04d\", "
                               "\"content\": \"",
                            call - 5 + (c + 2) % 5);
            for (int l = 0; l < 8; l++)
                dsml_buf_printf(b, "src/module_%d/file_%d.c:%d: static size_t feed_chunk(parser "
                                   "*p, const char *data, size_t len)\\n",
                                turn, c, 100 + l * 7);
            dsml_buf_puts(b, "\"}");
        }
    }
    dsml_buf_puts(b, "]}");
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int null_seg(void *ud, const char *d, size_t n, int special)
{
    (void)special;
    return dsml_buf_add(ud, d, n);
}

static int run(const char *label, const dsml_buf *req, dsml_dialect d, int segments, int runs)
{
    dsml_render_options o;
    dsml_render_options_init(&o);
    o.dialect = d;
    dsml_buf out = {0};
    dsml_sink sink = dsml_buf_sink(&out);
    dsml_segment_sink seg = {null_seg, &out};
    dsml_render_error err;
    double *t = malloc(sizeof *t * (size_t)runs);
    if (!t) return 1;
    for (int i = -200; i < runs; i++) {
        dsml_buf_clear(&out);
        double t0 = now_us();
        int rc = segments ? dsml_render_prompt_segments(req->data, req->len, &o, &seg, &err)
                          : dsml_render_prompt(req->data, req->len, &o, &sink, &err);
        double t1 = now_us();
        if (rc) {
            fprintf(stderr, "render_bench: %s: %s: %s\n", label, err.path, err.message);
            free(t);
            return 1;
        }
        if (i >= 0) t[i] = t1 - t0;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    double med = t[runs / 2], p90 = t[runs * 9 / 10];
    printf("render %-14s %7.1f us/render (median of %d), p90 %7.1f us, prompt %zu bytes, "
           "%.0f MB/s\n",
           label, med, runs, p90, out.len, out.len / med);
    free(t);
    dsml_buf_free(&out);
    return 0;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 2000;
    if (runs < 1) runs = 1;
    dsml_buf req = {0};
    build_request(&req);
    if (req.oom) return 1;
    printf("render: request %zu bytes: 50 messages, 20 tools, 40 tool calls, 40 results\n",
           req.len);
    int rc = run("v4", &req, DSML_V4, 0, runs) || run("v4-segments", &req, DSML_V4, 1, runs) ||
             run("v3.2", &req, DSML_V32, 0, runs);
    dsml_buf_free(&req);
    return rc;
}
