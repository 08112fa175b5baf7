# tests/check/: tests of `dsml check`, `dsml conform`, the JSON Schema validator
# (dsml_schema.h) and the checks library (dsml_check.h).
#
#   $(O)/tests/check-unit   tests/check/unit_*.c (Criterion): every finding code with a
#                           positive and a negative case, schema keywords, number compare
#   $(O)/tests/replay       tests/check/replay.c: a recorded runtime, correct or broken
#   test-check-cli          tests/check/cli_test.py over tests/check/cases/
#   test-conform            tests/check/conform_test.py: dsml conform against replay

CHECK_UNIT_SRCS := $(wildcard tests/check/unit_*.c)
CHECK_UNIT_OBJS := $(CHECK_UNIT_SRCS:%.c=$(O)/%.o)
CHECK_UNIT_BIN  := $(O)/tests/check-unit
REPLAY_BIN      := $(O)/tests/replay
ALL_OBJS        += $(CHECK_UNIT_OBJS) $(O)/tests/check/replay.o

$(CHECK_UNIT_BIN): $(CHECK_UNIT_OBJS) $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion -lm

$(REPLAY_BIN): $(O)/tests/check/replay.o $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lm

.PHONY: test-check-unit test-check-cli test-conform test-check
test-check-unit: $(CHECK_UNIT_BIN) ## dsml check library: findings, JSON Schema validator (Criterion)
	@echo "== check unit tests ($(O))"
	@$(CHECK_UNIT_BIN) --jobs $(JOBS) --short-filename

test-check-cli: $(DSML_BIN) ## dsml check on the files of tests/check/cases (codes, positions, exit status)
	@echo "== dsml check command line ($(O))"
	@python3 tests/check/cli_test.py $(DSML_BIN) tests/check/cases

test-conform: $(DSML_BIN) $(REPLAY_BIN) ## dsml conform against a recorded runtime, correct and broken
	@echo "== dsml conform ($(O))"
	@python3 tests/check/conform_test.py $(DSML_BIN) $(REPLAY_BIN) tests/check/conform/rec

test-check: test-check-unit test-check-cli test-conform ## all tests of dsml check and dsml conform

TEST_RUNS      += test-check-unit test-check-cli test-conform
ASAN_TEST_RUNS += test-check-unit test-check-cli test-conform
