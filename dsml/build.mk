# dsml/: libdsml (static + shared + pkg-config) and the `dsml` command-line tool.
#
# Every dsml/*.c is part of the library; dsml/lexer.re is compiled with re2c into
# $(O)/gen/lexer.c. Every dsml/tool/*.c is part of the tool. Components that add commands
# needing extra libraries append to DSML_TOOL_LIBS.

RE2C       ?= re2c
RE2CFLAGS  := -W -Werror --no-generation-date --no-version -f -c

DSML_SRCS  := $(filter-out dsml/tool/%,$(wildcard dsml/*.c))
DSML_OBJS  := $(DSML_SRCS:%.c=$(O)/%.o) $(O)/gen/lexer.o
DSML_LIB   := $(O)/lib/libdsml.a
DSML_SO    := $(O)/lib/libdsml.so
DSML_PC    := $(O)/lib/pkgconfig/dsml.pc
DSML_TOOL_SRCS := $(wildcard dsml/tool/*.c)
DSML_TOOL_OBJS := $(DSML_TOOL_SRCS:%.c=$(O)/%.o)
DSML_TOOL_LIBS += -lm
DSML_BIN   := $(O)/bin/dsml
DSML_HEADERS := $(wildcard dsml/dsml*.h)

LIBS += $(DSML_LIB) $(DSML_SO) $(DSML_PC)
BINS += $(DSML_BIN)
ALL_OBJS += $(DSML_OBJS) $(DSML_TOOL_OBJS)

$(O)/gen/lexer.c: dsml/lexer.re
	@mkdir -p $(@D)
	$(RE2C) $(RE2CFLAGS) -o $@ $<

$(O)/gen/lexer.o: $(O)/gen/lexer.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Idsml $(ALL_CFLAGS) -Wno-unused-label -c $< -o $@

$(DSML_LIB): $(DSML_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(DSML_SO): $(DSML_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libdsml.so.0 $(LDFLAGS) -o $@ $^ -lm

$(DSML_PC): dsml/build.mk
	@mkdir -p $(@D)
	@printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include/dsml\n\nName: dsml\nDescription: streaming parser, renderer and converters for DeepSeek DSML tool calls\nVersion: 0.1.0\nLibs: -L$${libdir} -ldsml\nLibs.private: -lm\nCflags: -I$${includedir}\n' "$(PREFIX)" > $@

$(DSML_BIN): $(DSML_TOOL_OBJS) $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(DSML_TOOL_OBJS) $(DSML_LIB) $(DSML_TOOL_LIBS)

PREFIX ?= /usr/local
install: all ## install libdsml, headers, pkg-config file and binaries under PREFIX
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/dsml $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(DSML_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(DSML_SO) $(DESTDIR)$(PREFIX)/lib/libdsml.so.0
	ln -sf libdsml.so.0 $(DESTDIR)$(PREFIX)/lib/libdsml.so
	install -m 644 $(DSML_PC) $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 644 $(DSML_HEADERS) $(DESTDIR)$(PREFIX)/include/dsml/
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

dsml: $(DSML_BIN) ## build the dsml tool only

# --- renderer bench ---------------------------------------------------------------------
# Owned by the renderer: its benchmark and the end-to-end check of `dsml render` on the
# golden pairs (spec/golden).
RENDER_BENCH_BIN := $(O)/tests/bench/render_bench
ALL_OBJS += $(O)/tests/bench/render_bench.o

$(RENDER_BENCH_BIN): $(O)/tests/bench/render_bench.o $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lm

.PHONY: bench-render test-render-cli
bench-render: $(RENDER_BENCH_BIN) ## render a 50-message agent history (20 tools, 40 calls): us per render
	@mkdir -p $(O)/bench
	@$(RENDER_BENCH_BIN) | tee $(O)/bench/render.txt

test-render-cli: $(DSML_BIN) ## dsml render on the golden pairs, exit statuses
	@echo "== dsml render CLI ($(O))"
	@set -e; g=spec/golden; t=$(O)/render-cli.out; \
	for i in 1 2 3 4; do m=--thinking; [ $$i = 4 ] && m=--chat; \
	  $(DSML_BIN) render --deepseek-roles $$m $$g/deepseek-v4/test_input_$$i.json > $$t; \
	  cmp $$t $$g/deepseek-v4/test_output_$$i.txt; done; \
	$(DSML_BIN) render --dialect v3.2 --deepseek-roles --thinking < $$g/deepseek-v3.2/test_input.json > $$t; \
	echo >> $$t; cmp $$t $$g/deepseek-v3.2/test_output.txt; \
	rc=0; echo '{"messages": [{"role": "robot"}]}' | $(DSML_BIN) render > $$t 2>&1 || rc=$$?; \
	[ $$rc = 1 ] && grep -q 'messages\[0\].role' $$t; \
	rc=0; $(DSML_BIN) render --dialect v9 < /dev/null > $$t 2>&1 || rc=$$?; [ $$rc = 2 ]; \
	$(DSML_BIN) render --help | grep -q 'usage: dsml render'; \
	echo "dsml render: 5 golden pairs and exit statuses ok"

BENCH_RUNS += bench-render
TEST_RUNS += test-render-cli
ASAN_TEST_RUNS += test-render-cli

# --- dsml check / dsml conform ----------------------------------------------------------
# Owned by the conformance checks. `dsml conform` speaks HTTP through libcurl (the tool
# only; libdsml itself never links it) and carries the suite of spec/conform built in:
# dsml/tool/embed.sh turns the case files into $(O)/gen/conform_suite.c.
CONFORM_SUITE_FILES := $(sort $(wildcard spec/conform/*.json))
CONFORM_SUITE_OBJ   := $(O)/gen/conform_suite.o
DSML_TOOL_LIBS      += $(CONFORM_SUITE_OBJ) -lcurl
ALL_OBJS            += $(CONFORM_SUITE_OBJ)

$(O)/gen/conform_suite.c: dsml/tool/embed.sh $(CONFORM_SUITE_FILES)
	@mkdir -p $(@D)
	sh dsml/tool/embed.sh $@ $(CONFORM_SUITE_FILES)

$(CONFORM_SUITE_OBJ): $(O)/gen/conform_suite.c dsml/tool/suite.h
	$(CC) $(CPPFLAGS) -Idsml/tool $(ALL_CFLAGS) -c $< -o $@

$(DSML_BIN): $(CONFORM_SUITE_OBJ)
