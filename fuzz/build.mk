# fuzz/: fuzz harnesses for libFuzzer, AFL++ and plain replay (fuzz/README.md).
#
# Every harness fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput. One source, three links:
#   FUZZ_ENGINE=replay     any compiler + fuzz/replay.c (a main that runs files): the
#                          regression replay of `make test` and its ASan+UBSan pass
#   FUZZ_ENGINE=libfuzzer  clang -fsanitize=fuzzer,address,undefined: `make fuzz-smoke`, and
#                          the binaries that reproduce crashes
#   FUZZ_ENGINE=afl        afl-clang-fast -fsanitize=fuzzer (AFL++'s persistent-mode driver):
#                          `make fuzz`, plain and with AFL_USE_ASAN/AFL_USE_UBSAN
# The libFuzzer and AFL++ builds are sub-makes of this Makefile into their own build
# directories ($(O)/fuzz-libfuzzer, $(O)/fuzz-afl, $(O)/fuzz-afl-asan), so libdsml is
# compiled with the same instrumentation as the harness.
#
#   make fuzz-smoke [FUZZ_SECONDS=30]      every harness for FUZZ_SECONDS s, plus replay of
#                                          fuzz/corpus and fuzz/regress (libFuzzer, sanitizers)
#   make fuzz TARGET=parse [SECONDS=3600] [INSTANCES=2]
#                                          AFL++ with its status screen; crashes are listed
#                                          with a command that reproduces each
#   make fuzz-seeds                        regenerate fuzz/corpus from spec/ and tests/proxy/rec
#   make fuzz-diff DIFF_CMD='...' | DIFF_LIB=path.so   compare another DSML parser with ours

FUZZ_TARGETS := parse chunk stream roundtrip_dsml roundtrip_openai json request sse
# the engine's GGUF reader, when the engine is in the tree
FUZZ_HAVE_ENGINE := $(wildcard engine/gguf.h)
ifneq ($(FUZZ_HAVE_ENGINE),)
FUZZ_TARGETS += gguf
endif
FUZZ_ENGINE  ?= replay

FUZZ_SRCS    := $(FUZZ_TARGETS:%=fuzz/fuzz_%.c)
FUZZ_OBJS    := $(FUZZ_TARGETS:%=$(O)/fuzz/fuzz_%.o)
FUZZ_COMMON  := $(O)/fuzz/common.o $(O)/tests/testutil.o
FUZZ_BINDIR  := $(O)/fuzz/bin
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BINDIR)/fuzz_%)
ALL_OBJS     += $(FUZZ_OBJS) $(O)/fuzz/common.o $(O)/fuzz/replay.o

$(FUZZ_OBJS) $(O)/fuzz/common.o $(O)/fuzz/replay.o: CPPFLAGS += -Ifuzz -Iproxy $(PROXY_CFLAGS)
$(O)/fuzz/fuzz_gguf.o: CPPFLAGS += -Iengine

ifeq ($(FUZZ_ENGINE),replay)
FUZZ_MAIN := $(O)/fuzz/replay.o
FUZZ_LINK :=
else
FUZZ_MAIN :=
FUZZ_LINK := -fsanitize=fuzzer
endif

# harnesses of the proxy's parsing paths link the proxy's reader objects
$(FUZZ_BINDIR)/fuzz_request: $(O)/proxy/request.o $(O)/proxy/render.o $(O)/proxy/flavor.o
# the GGUF harness links the engine's library (after libdsml, which engine/chat.o uses)
$(FUZZ_BINDIR)/fuzz_gguf: $(ENGINE_LIB)
$(FUZZ_BINDIR)/fuzz_gguf: FUZZ_EXTRA_LIBS = $(DSML_LIB) -lpthread
FUZZ_LIBS = $(FUZZ_EXTRA_LIBS) -ljansson -lm

$(FUZZ_BINDIR)/fuzz_%: $(O)/fuzz/fuzz_%.o $(FUZZ_COMMON) $(FUZZ_MAIN) $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(FUZZ_LINK) -o $@ $^ $(FUZZ_LIBS)

.PHONY: fuzz-bins fuzz-libfuzzer-bins fuzz-afl-bins test-fuzz-replay fuzz-smoke fuzz fuzz-seeds
fuzz-bins: $(FUZZ_BINS) $(FUZZ_BINDIR)/fuzz_diff

# --- regression replay (part of `make test`) -------------------------------------------
# Runs every harness over its seed corpus and every past crash, with the compiler and
# flags of the current build (the sanitizer pass of `make test` repeats it under ASan).
FUZZ_CASE_DIRS = $(wildcard fuzz/corpus/$(1) fuzz/regress/$(1))

test-fuzz-replay: $(FUZZ_BINS) ## replay fuzz/corpus and fuzz/regress through every harness
	@echo "== fuzz corpus and regression replay ($(O))"
	@set -e; $(foreach t,$(FUZZ_TARGETS),$(if $(call FUZZ_CASE_DIRS,$(t)),\
	  $(FUZZ_BINDIR)/fuzz_$(t) $(call FUZZ_CASE_DIRS,$(t));))

TEST_RUNS      += test-fuzz-replay
ASAN_TEST_RUNS += test-fuzz-replay

# --- libFuzzer (clang) with ASan+UBSan --------------------------------------------------
LF_CC      ?= clang
LF_O       := $(O)/fuzz-libfuzzer
LF_BINDIR  := $(LF_O)/fuzz/bin
# clang flags its own warning on the lexer's concatenated marker strings; that is style,
# not a defect, and gcc builds keep every warning as an error.
FUZZ_CLANG_WARN := -Wno-string-concatenation
LF_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=all $(FUZZ_CLANG_WARN)
LF_LDFLAGS := -fsanitize=address,undefined

fuzz-libfuzzer-bins: ## build the harnesses for libFuzzer with ASan+UBSan (into O/fuzz-libfuzzer)
	@$(MAKE) --no-print-directory O=$(LF_O) CC=$(LF_CC) FUZZ_ENGINE=libfuzzer \
	  CFLAGS="$(LF_CFLAGS)" LDFLAGS="$(LF_LDFLAGS)" fuzz-bins

FUZZ_SECONDS ?= 30
FUZZ_SMOKE   := $(O)/fuzz-smoke
FUZZ_DICT_parse            := fuzz/dsml.dict
FUZZ_DICT_chunk            := fuzz/dsml.dict
FUZZ_DICT_stream           := fuzz/dsml.dict
FUZZ_DICT_roundtrip_dsml   := fuzz/dsml.dict
FUZZ_DICT_roundtrip_openai := fuzz/openai.dict
FUZZ_DICT_json             := fuzz/json.dict
FUZZ_DICT_request          := fuzz/openai.dict
FUZZ_DICT_sse              := fuzz/sse.dict
FUZZ_DICT_gguf             := fuzz/gguf.dict
# libFuzzer: inputs up to 64 KiB, 10 s per input, 2 GiB; leaks are failures
LF_RUN_FLAGS := -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

fuzz-smoke: ## every harness FUZZ_SECONDS s (default 30) + corpus and crash replay, libFuzzer+sanitizers
	@command -v $(LF_CC) >/dev/null || { echo "fuzz-smoke: $(LF_CC) not found (make deps installs clang)"; exit 2; }
	@$(MAKE) --no-print-directory fuzz-libfuzzer-bins
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=fuzz-smoke-%)
	@echo "fuzz-smoke: $(words $(FUZZ_TARGETS)) harnesses, $(FUZZ_SECONDS) s each: no crash"

fuzz-smoke-%:
	@rm -rf $(FUZZ_SMOKE)/$* && mkdir -p $(FUZZ_SMOKE)/$*/corpus $(FUZZ_SMOKE)/$*/crashes
	@echo "== fuzz-smoke $*: replay $(call FUZZ_CASE_DIRS,$*)"
	@$(LF_BINDIR)/fuzz_$* -runs=0 $(LF_RUN_FLAGS) -artifact_prefix=$(FUZZ_SMOKE)/$*/crashes/ \
	  $(call FUZZ_CASE_DIRS,$*) \
	  > $(FUZZ_SMOKE)/$*/replay.log 2>&1 || { tail -n 60 $(FUZZ_SMOKE)/$*/replay.log; exit 1; }
	@echo "== fuzz-smoke $*: $(FUZZ_SECONDS) s of libFuzzer"
	@$(LF_BINDIR)/fuzz_$* -max_total_time=$(FUZZ_SECONDS) $(LF_RUN_FLAGS) \
	  -dict=$(FUZZ_DICT_$*) -artifact_prefix=$(FUZZ_SMOKE)/$*/crashes/ \
	  $(FUZZ_SMOKE)/$*/corpus $(call FUZZ_CASE_DIRS,$*) > $(FUZZ_SMOKE)/$*/fuzz.log 2>&1 || { \
	  tail -n 60 $(FUZZ_SMOKE)/$*/fuzz.log; \
	  for f in $(FUZZ_SMOKE)/$*/crashes/*; do [ -f "$$f" ] && \
	    echo "reproduce: $(LF_BINDIR)/fuzz_$* $$f"; done; exit 1; }
	@grep -E "^Done" $(FUZZ_SMOKE)/$*/fuzz.log || true

# --- AFL++ ------------------------------------------------------------------------------
AFL_CC      ?= afl-clang-fast
AFL_O       := $(O)/fuzz-afl
AFL_ASAN_O  := $(O)/fuzz-afl-asan
AFL_CFLAGS  := -O2 -g $(FUZZ_CLANG_WARN)

fuzz-afl-bins: ## build the harnesses for AFL++ (plain and ASan+UBSan)
	@AFL_QUIET=1 $(MAKE) --no-print-directory O=$(AFL_O) CC=$(AFL_CC) FUZZ_ENGINE=afl \
	  CFLAGS="$(AFL_CFLAGS)" LDFLAGS= fuzz-bins
	@AFL_QUIET=1 AFL_USE_ASAN=1 AFL_USE_UBSAN=1 $(MAKE) --no-print-directory O=$(AFL_ASAN_O) \
	  CC=$(AFL_CC) FUZZ_ENGINE=afl CFLAGS="$(AFL_CFLAGS)" LDFLAGS= fuzz-bins

TARGET  ?= parse
SECONDS ?= 0
FUZZ_OUT ?= $(O)/fuzz-out
INSTANCES ?= 1

fuzz: ## AFL++ run: TARGET=<harness> [SECONDS=n, 0 = until Ctrl-C] [INSTANCES=n]
	@command -v afl-fuzz >/dev/null || { echo "fuzz: afl-fuzz not found (make deps installs afl++)"; exit 2; }
	@case " $(FUZZ_TARGETS) " in *" $(TARGET) "*) ;; *) \
	  echo "fuzz: unknown TARGET '$(TARGET)' (one of: $(FUZZ_TARGETS))"; exit 2;; esac
	@$(MAKE) --no-print-directory fuzz-afl-bins fuzz-libfuzzer-bins
	@sh fuzz/run-afl.sh "$(TARGET)" "$(SECONDS)" "$(INSTANCES)" "$(FUZZ_OUT)/$(TARGET)" \
	  "$(AFL_O)/fuzz/bin/fuzz_$(TARGET)" "$(AFL_ASAN_O)/fuzz/bin/fuzz_$(TARGET)" \
	  "$(LF_BINDIR)/fuzz_$(TARGET)" "$(FUZZ_DICT_$(TARGET))" $(call FUZZ_CASE_DIRS,$(TARGET))

# --- seeds -------------------------------------------------------------------------------
fuzz-seeds: $(if $(FUZZ_HAVE_ENGINE),$(DSV4_BIN)) ## regenerate the seed corpora fuzz/corpus/* and the dictionaries
	python3 fuzz/gen_seeds.py $(if $(FUZZ_HAVE_ENGINE),--dsv4 $(DSV4_BIN))

# --- differential mode: another project's parser against libdsml --------------------------
# dsml-diff (a command, part of `make all`), the fuzz_diff harness (the other parser named
# in the environment), and an example library implementing fuzz/dsml_diff.h with libdsml.
DIFF_BIN     := $(O)/bin/dsml-diff
DIFF_OBJS    := $(O)/fuzz/diff.o $(O)/fuzz/diff_main.o $(O)/fuzz/common.o $(O)/tests/testutil.o
DIFF_EXAMPLE := $(O)/fuzz/lib/libdsml_diff_example.so
ALL_OBJS     += $(O)/fuzz/diff.o $(O)/fuzz/diff_main.o $(O)/fuzz/fuzz_diff.o $(O)/fuzz/diff_example.o
BINS         += $(DIFF_BIN)
$(O)/fuzz/diff.o $(O)/fuzz/diff_main.o $(O)/fuzz/fuzz_diff.o $(O)/fuzz/diff_example.o: CPPFLAGS += -Ifuzz

$(DIFF_BIN): $(DIFF_OBJS) $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -ldl -lm

$(FUZZ_BINDIR)/fuzz_diff: $(O)/fuzz/fuzz_diff.o $(O)/fuzz/diff.o $(FUZZ_COMMON) $(FUZZ_MAIN) $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(FUZZ_LINK) -o $@ $^ -ldl -lm

$(DIFF_EXAMPLE): $(O)/fuzz/diff_example.o $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) -o $@ $^ -lm

DIFF_CORPUS   ?= fuzz/corpus/diff
DIFF_DIALECT  ?= v4
DIFF_THINKING ?= 0
DIFF_STRICT   ?= 0
DIFF_CLI_FLAGS = --dialect $(DIFF_DIALECT) $(if $(filter 1,$(DIFF_THINKING)),--thinking) \
                 $(if $(filter 1,$(DIFF_STRICT)),--strict)
DIFF_OUT      := $(O)/fuzz-diff
.PHONY: test-fuzz-diff fuzz-diff
test-fuzz-diff: $(DIFF_BIN) $(DIFF_EXAMPLE) $(DSML_BIN) ## differential mode against libdsml itself (library and command), and a disagreement it must report
	@echo "== differential mode self-test ($(O))"
	@set -e; \
	$(DIFF_BIN) --lib $(DIFF_EXAMPLE) $(DIFF_CORPUS) | tail -n 1; \
	$(DIFF_BIN) --lib $(DIFF_EXAMPLE) --strict --thinking --dialect auto $(DIFF_CORPUS) | tail -n 1; \
	$(DIFF_BIN) --cmd '$(abspath $(DSML_BIN)) parse' $(DIFF_CORPUS) | tail -n 1; \
	$(DIFF_BIN) --cmd '$(abspath $(DSML_BIN)) parse --strict' --strict $(DIFF_CORPUS) | tail -n 1; \
	rc=0; $(DIFF_BIN) --max-reports 1 --strict --cmd '$(abspath $(DSML_BIN)) parse' $(DIFF_CORPUS) \
	  > $(O)/fuzz/diff-negative.txt || rc=$$?; \
	[ $$rc = 1 ] && grep -q 'acceptance differs' $(O)/fuzz/diff-negative.txt || \
	  { echo "dsml-diff did not report a strict/tolerant disagreement"; cat $(O)/fuzz/diff-negative.txt; exit 1; }; \
	echo "dsml-diff: a strict/tolerant disagreement is reported (exit 1)"

TEST_RUNS      += test-fuzz-diff
ASAN_TEST_RUNS += test-fuzz-diff

fuzz-diff: $(DIFF_BIN) ## compare your parser with libdsml: DIFF_CMD='cmd' or DIFF_LIB=lib.so [DIFF_DIALECT= DIFF_THINKING= DIFF_STRICT= SECONDS=]
	@if [ -n "$(DIFF_LIB)" ]; then set -- --lib "$(DIFF_LIB)"; \
	elif [ -n "$(DIFF_CMD)" ]; then set -- --cmd "$(DIFF_CMD)"; \
	else echo "fuzz-diff: set DIFF_CMD='your-parser ...' or DIFF_LIB=path/to/lib.so"; exit 2; fi; \
	$(DIFF_BIN) "$$@" $(DIFF_CLI_FLAGS) $(DIFF_CORPUS)
	@if [ "$(SECONDS)" -gt 0 ] 2>/dev/null; then \
	  $(MAKE) --no-print-directory fuzz-libfuzzer-bins && \
	  mkdir -p $(DIFF_OUT)/corpus $(DIFF_OUT)/crashes && \
	  DSML_DIFF_LIB="$(DIFF_LIB)" DSML_DIFF_CMD="$(DIFF_CMD)" \
	  DSML_DIFF_OPTIONS="dialect=$(DIFF_DIALECT) thinking=$(DIFF_THINKING) strict=$(DIFF_STRICT)" \
	  $(LF_BINDIR)/fuzz_diff -max_total_time=$(SECONDS) $(LF_RUN_FLAGS) -dict=fuzz/dsml.dict \
	    -artifact_prefix=$(DIFF_OUT)/crashes/ $(DIFF_OUT)/corpus $(DIFF_CORPUS) || { \
	  for f in $(DIFF_OUT)/crashes/*; do [ -f "$$f" ] && echo "reproduce: DSML_DIFF_LIB='$(DIFF_LIB)' \
	    DSML_DIFF_CMD='$(DIFF_CMD)' DSML_DIFF_OPTIONS='dialect=$(DIFF_DIALECT) thinking=$(DIFF_THINKING) strict=$(DIFF_STRICT)' \
	    $(LF_BINDIR)/fuzz_diff $$f"; done; exit 1; }; fi
