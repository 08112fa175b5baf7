# engine/: the DeepSeek-V4 reference engine. libdsv4.a (GGUF reader, formats, model,
# tokenizer, CPU backend, forward pass, model generator) and the `dsv4` command.
#
# The engine core does not depend on libdsml; only chat prompt rendering (engine/chat.c,
# `dsv4 run --chat`) uses the dsml renderer, and only when dsml/dsml_render.h exists.
# Tests: tests/engine/*.c (one Criterion binary) against committed oracle logits in
# tests/oracle/data/.

ENGINE_SRCS     := $(filter-out engine/main.c,$(wildcard engine/*.c))
ENGINE_OBJS     := $(ENGINE_SRCS:%.c=$(O)/%.o)
ENGINE_LIB      := $(O)/lib/libdsv4.a
DSV4_BIN        := $(O)/bin/dsv4
ENGINE_LDLIBS   := -lm -lpthread
ENGINE_TEST_SRCS := $(wildcard tests/engine/*.c)
ENGINE_TEST_OBJS := $(ENGINE_TEST_SRCS:%.c=$(O)/%.o)
ENGINE_TEST_BIN := $(O)/tests/engine_tests

ifneq ($(wildcard dsml/dsml_render.h),)
$(O)/engine/chat.o: CPPFLAGS += -DDSV4_HAVE_RENDER
$(O)/engine/chat.o: dsml/dsml_render.h
DSV4_CHAT_LIBS := $(DSML_LIB)
endif

$(ENGINE_OBJS) $(O)/engine/main.o $(ENGINE_TEST_OBJS): CPPFLAGS += -Iengine
# sampling weights must be the GPU's bits: no fused multiply-add (sample_math.h)
$(O)/engine/sample.o: CPPFLAGS += -ffp-contract=off

BINS     += $(DSV4_BIN)
LIBS     += $(ENGINE_LIB)
ALL_OBJS += $(ENGINE_OBJS) $(O)/engine/main.o $(ENGINE_TEST_OBJS)

$(ENGINE_LIB): $(ENGINE_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(DSV4_BIN): $(O)/engine/main.o $(ENGINE_LIB) $(DSV4_CHAT_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(O)/engine/main.o $(ENGINE_LIB) $(DSV4_CHAT_LIBS) $(ENGINE_LDLIBS)

$(ENGINE_TEST_BIN): $(ENGINE_TEST_OBJS) $(ENGINE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(ENGINE_TEST_OBJS) $(ENGINE_LIB) $(CRITERION_LIBS) $(ENGINE_LDLIBS)

dsv4: $(DSV4_BIN) ## build the dsv4 engine command only

.PHONY: test-engine test-engine-quick test-engine-cli bench-engine

# Tests write their models under $(O)/tests/engine-tmp (removed by `make clean`).
test-engine: $(ENGINE_TEST_BIN) ## engine tests: formats, loader, tokenizer, prefill=decode, oracle
	@echo "== engine tests ($(O))"
	@mkdir -p $(O)/tests/engine-tmp
	@DSV4_TEST_TMP=$(O)/tests/engine-tmp DSV4_TEST_DATA=tests $(ENGINE_TEST_BIN) --jobs $(JOBS) --short-filename

# Under ASan+UBSan: the same tests on tiny models, the slowest quantised oracle cases skipped.
test-engine-quick: $(ENGINE_TEST_BIN)
	@echo "== engine tests, quick ($(O))"
	@mkdir -p $(O)/tests/engine-tmp
	@DSV4_TEST_QUICK=1 DSV4_TEST_TMP=$(O)/tests/engine-tmp DSV4_TEST_DATA=tests $(ENGINE_TEST_BIN) --jobs $(JOBS) --short-filename

test-engine-cli: $(DSV4_BIN) ## dsv4 command smoke tests (mkmodel, info, logits, run)
	@echo "== dsv4 command ($(O))"
	@sh tests/engine/cli.sh $(DSV4_BIN) $(O)/tests/engine-cli

bench-engine: $(DSV4_BIN) ## CPU engine speed on the small preset (q2), prefill and decode
	@mkdir -p $(O)/bench
	@$(DSV4_BIN) mkmodel --preset small --quant q2 --seed 1 -q -o $(O)/bench/small-q2.gguf
	@$(DSV4_BIN) bench -m $(O)/bench/small-q2.gguf --prompt 256 --gen 32 | tee $(O)/bench/engine.txt

TEST_RUNS      += test-engine test-engine-cli
ASAN_TEST_RUNS += test-engine-quick
BENCH_RUNS     += bench-engine

include engine/cuda/build.mk
