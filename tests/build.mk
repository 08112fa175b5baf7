# tests/: Criterion unit tests of libdsml and the spec-vector runner.
#
# tests/unit/*.c link into one Criterion binary; tests/vectors.c runs every file in
# spec/vectors one-shot, at every chunk size 1..16 and at every 2-way split. Other
# components add their own test groups in their build.mk (TEST_RUNS / ASAN_TEST_RUNS).

CRITERION_LIBS := -lcriterion
CPPFLAGS += -Itests
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(O)/%.o)
UNIT_BIN  := $(O)/tests/unit_tests
VEC_BIN   := $(O)/tests/vectors
ALL_OBJS  += $(UNIT_OBJS) $(O)/tests/vectors.o $(O)/tests/testutil.o

$(UNIT_BIN): $(UNIT_OBJS) $(O)/tests/testutil.o $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS) -ljansson -lm

$(VEC_BIN): $(O)/tests/vectors.o $(O)/tests/testutil.o $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -ljansson -lm

.PHONY: test-unit test-vectors test-cli
test-cli: $(DSML_BIN) ## the dsml command line over every spec vector
	@echo "== dsml command line ($(O))"
	@python3 tests/cli_test.py $(DSML_BIN) spec/vectors

test-unit: $(UNIT_BIN) ## libdsml unit tests (Criterion)
	@echo "== unit tests ($(O))"
	@$(UNIT_BIN) --jobs $(JOBS) --short-filename

test-vectors: $(VEC_BIN) ## every spec vector at every chunking
	@echo "== spec vectors ($(O))"
	@$(VEC_BIN) spec/vectors

TEST_RUNS += test-unit test-vectors test-cli
ASAN_TEST_RUNS += test-unit test-vectors test-cli

# --- parser benchmark -------------------------------------------------------------------
BENCH_CORPUS := $(O)/bench/corpus
PARSE_BENCH  := $(O)/tests/bench/parse_bench
ALL_OBJS += $(O)/tests/bench/parse_bench.o

$(BENCH_CORPUS)/corpus.dsml: tests/bench/gen_corpus.py
	@mkdir -p $(@D)
	python3 tests/bench/gen_corpus.py --seed 4 --size-mb 20 --out $(BENCH_CORPUS)

$(PARSE_BENCH): $(O)/tests/bench/parse_bench.o $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lm

.PHONY: bench-parse
bench-parse: $(PARSE_BENCH) $(BENCH_CORPUS)/corpus.dsml ## parser throughput on the 20 MB mixed corpus
	@echo "== parser benchmark (one core)"
	@$(PARSE_BENCH) $(BENCH_CORPUS)

BENCH_RUNS += bench-parse
