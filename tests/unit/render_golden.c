/*
 * render_golden.c - DeepSeek's official encoder input/output pairs (spec/golden/), rendered
 * byte for byte. See spec/golden/README.md for how each input maps to encoder arguments.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <string.h>

#include "dsml_render.h"
#include "render_support.h"

static void golden(const char *in, const char *out, dsml_dialect d, int thinking, int strip)
{
    size_t ilen, olen;
    char *input = rs_read(rs_path(in), &ilen);
    char *want = rs_read(rs_path(out), &olen);
    cr_assert(input && want, "golden files missing: %s %s (run from the repository root)", in,
              out);
    dsml_render_options o;
    dsml_render_options_init(&o);
    o.dialect = d;
    o.thinking = thinking ? DSML_THINKING_ON : DSML_THINKING_OFF;
    o.flags = DSML_RENDER_DEEPSEEK_ROLES;
    dsml_buf b = {0};
    dsml_sink s = dsml_buf_sink(&b);
    dsml_render_error err;
    int rc = dsml_render_prompt(input, ilen, &o, &s, &err);
    cr_assert_eq(rc, 0, "%s: %s: %s", in, err.path, err.message);
    const char *g = b.data ? b.data : "", *w = want;
    size_t gl = b.len, wl = olen;
    if (strip) {
        while (gl && isspace((unsigned char)*g)) g++, gl--;
        while (gl && isspace((unsigned char)g[gl - 1])) gl--;
        while (wl && isspace((unsigned char)*w)) w++, wl--;
        while (wl && isspace((unsigned char)w[wl - 1])) wl--;
    }
    size_t i = 0;
    while (i < gl && i < wl && g[i] == w[i]) i++;
    cr_expect(gl == wl && i == gl, "%s differs at byte %zu (got %zu bytes, want %zu):\n%.80s\n---\n%.80s",
              out, i, gl, wl, g + (i < gl ? i : gl), w + (i < wl ? i : wl));
    dsml_buf_free(&b);
    free(input);
    free(want);
}

Test(render_golden, v4_case1_tools_on_system_and_tool_result)
{
    golden("spec/golden/deepseek-v4/test_input_1.json", "spec/golden/deepseek-v4/test_output_1.txt",
           DSML_V4, 1, 0);
}

Test(render_golden, v4_case2_drop_thinking_without_tools)
{
    golden("spec/golden/deepseek-v4/test_input_2.json", "spec/golden/deepseek-v4/test_output_2.txt",
           DSML_V4, 1, 0);
}

Test(render_golden, v4_case3_developer_tools_and_latest_reminder)
{
    golden("spec/golden/deepseek-v4/test_input_3.json", "spec/golden/deepseek-v4/test_output_3.txt",
           DSML_V4, 1, 0);
}

Test(render_golden, v4_case4_chat_mode_and_action_task)
{
    golden("spec/golden/deepseek-v4/test_input_4.json", "spec/golden/deepseek-v4/test_output_4.txt",
           DSML_V4, 0, 0);
}

Test(render_golden, v32_thinking_with_tool_results)
{
    golden("spec/golden/deepseek-v3.2/test_input.json", "spec/golden/deepseek-v3.2/test_output.txt",
           DSML_V32, 1, 1);
}
