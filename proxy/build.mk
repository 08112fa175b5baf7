# proxy/: dsml-proxy, the HTTP serving layer (libhs, shared with the engine's server),
# the proxy's unit tests, the fake upstream, end-to-end tests with real npm clients, and
# the proxy benchmark.
#
#   $(O)/lib/libhs.a          proxy/http/*.c: routing, limits, SSE, JSON errors, logging
#   $(O)/bin/dsml-proxy       proxy/*.c + libhs + libdsml + libevent + libcurl
#   $(O)/tests/proxy-unit     tests/proxy/unit_*.c (Criterion)
#   $(O)/tests/fakeup         tests/proxy/fakeup.c: the recorded-runtime upstream
#   $(O)/bench/proxy-load     proxy/bench/load.c: load generator for `make bench`

PROXY_PKGS    := libevent libcurl
PROXY_CFLAGS  := $(shell pkg-config --cflags $(PROXY_PKGS) 2>/dev/null)
PROXY_LIBS    := $(shell pkg-config --libs $(PROXY_PKGS) 2>/dev/null || echo -levent -lcurl)

HS_SRCS    := $(wildcard proxy/http/*.c)
HS_OBJS    := $(HS_SRCS:%.c=$(O)/%.o)
HS_LIB     := $(O)/lib/libhs.a

PROXY_SRCS := $(wildcard proxy/*.c)
PROXY_OBJS := $(PROXY_SRCS:%.c=$(O)/%.o)
PROXY_BIN  := $(O)/bin/dsml-proxy

PROXY_UNIT_SRCS := $(wildcard tests/proxy/unit_*.c)
PROXY_UNIT_OBJS := $(PROXY_UNIT_SRCS:%.c=$(O)/%.o)
PROXY_UNIT_BIN  := $(O)/tests/proxy-unit
FAKEUP_BIN      := $(O)/tests/fakeup
PROXY_LOAD_BIN  := $(O)/bench/proxy-load

ALL_OBJS += $(HS_OBJS) $(PROXY_OBJS) $(PROXY_UNIT_OBJS) $(O)/tests/proxy/fakeup.o \
            $(O)/proxy/bench/load.o
LIBS     += $(HS_LIB)

$(HS_OBJS) $(PROXY_OBJS) $(PROXY_UNIT_OBJS) $(O)/tests/proxy/fakeup.o $(O)/proxy/bench/load.o: \
  CPPFLAGS += -Iproxy $(PROXY_CFLAGS)

$(HS_LIB): $(HS_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

BINS += $(PROXY_BIN)

$(PROXY_BIN): $(PROXY_OBJS) $(HS_LIB) $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(PROXY_OBJS) $(HS_LIB) $(DSML_LIB) $(PROXY_LIBS) -lm

$(PROXY_UNIT_BIN): $(PROXY_UNIT_OBJS) $(O)/proxy/request.o $(HS_LIB) $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS) $(PROXY_LIBS) -levent_pthreads -lpthread -lm

$(FAKEUP_BIN): $(O)/tests/proxy/fakeup.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROXY_LIBS)

$(PROXY_LOAD_BIN): $(O)/proxy/bench/load.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROXY_LIBS) -lm

.PHONY: dsml-proxy test-proxy-unit test-proxy-e2e bench-proxy demo-proxy
dsml-proxy: $(PROXY_BIN) ## build dsml-proxy only

test-proxy-unit: $(PROXY_UNIT_BIN) ## proxy unit tests: SSE reader, request reader and body builder, HTTP limits
	@echo "== proxy unit tests ($(O))"
	@$(PROXY_UNIT_BIN) --jobs $(JOBS) --short-filename

test-proxy-e2e: $(PROXY_BIN) $(FAKEUP_BIN) deps-npm ## proxy end to end: openai SDK -> proxy -> recorded upstreams
	@echo "== proxy end-to-end tests ($(O))"
	@if [ ! -d tests/e2e/node_modules/openai ]; then \
	  echo "test-proxy-e2e: npm clients missing (run 'make deps-npm')"; exit 1; fi
	@PROXY_BIN=$(abspath $(PROXY_BIN)) FAKEUP_BIN=$(abspath $(FAKEUP_BIN)) \
	  node --test --test-concurrency=1 tests/e2e/

bench-proxy: $(PROXY_BIN) $(FAKEUP_BIN) $(PROXY_LOAD_BIN) ## proxy latency, throughput, streams, memory
	@mkdir -p $(O)/bench
	@sh proxy/bench/run.sh $(PROXY_BIN) $(FAKEUP_BIN) $(PROXY_LOAD_BIN) | tee $(O)/bench/proxy.txt

demo-proxy: $(PROXY_BIN) $(FAKEUP_BIN) ## start a recorded upstream + dsml-proxy and show a tool call
	@sh proxy/demo.sh $(PROXY_BIN) $(FAKEUP_BIN)

TEST_RUNS      += test-proxy-unit test-proxy-e2e
ASAN_TEST_RUNS += test-proxy-unit test-proxy-e2e
BENCH_RUNS     += bench-proxy
