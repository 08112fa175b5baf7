# DSML toolkit: one Makefile for the whole project.
#
#   make help        list the targets
#   make             build libdsml, the dsml tool, dsml-proxy and dsv4
#   make test        all tests: unit + spec vectors + e2e, then again under ASan+UBSan
#   make bench       benchmarks (numbers go to stdout and $(O)/bench/)
#
# Each component keeps its rules in its own fragment (dsml/build.mk, proxy/build.mk,
# engine/build.mk, tests/build.mk, fuzz/build.mk). Fragments append to the variables
# below; nothing in a fragment depends on another fragment's internals except the
# library it links (libdsml).
#
# Build output goes to $(O) (default build/); `make O=/tmp/x` builds out of tree, and the
# sanitizer pass of `make test` builds into $(O)/asan with the same rules.

O        ?= build
CC       ?= cc
WERROR   ?= 1
OPT      ?= -O2
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
             $(if $(filter 1,$(WERROR)),-Werror)
CPPFLAGS  += -D_GNU_SOURCE -Idsml -I$(O)/gen
CFLAGS    ?= $(OPT) -g
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) -fPIC -MMD -MP
LDFLAGS   ?=
LDLIBS    ?=

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Fragments append to these.
BINS        :=
LIBS        :=
TEST_RUNS   :=
BENCH_RUNS  :=
CLEAN_EXTRA :=
ALL_OBJS    :=
ASAN_TEST_RUNS :=

.DEFAULT_GOAL := all
.PHONY: all help deps test test-fast test-asan bench clean install run

all: ## build libraries and binaries (CPU only; `make cuda` for the GPU backend)

help: ## list the targets
	@echo "usage: make [target] [O=builddir] [WERROR=0] [OPT=-O3]"
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | sort -u | \
	  awk -F':.*## ' '{ printf "  %-16s %s\n", $$1, $$2 }'

# ---------------------------------------------------------------------------------------
# Set-up from nothing: Debian packages (versions known to work are pinned; when the
# archive has moved on, the current candidate is installed and a notice printed).
# Does nothing when everything is present.
# ---------------------------------------------------------------------------------------
DEB_PKGS := re2c=3.0-2 libcriterion-dev=2.4.1-2 libjansson-dev=2.14-2 \
            libevent-dev=2.1.12-stable-8+deb12u1 libcurl4-openssl-dev=7.88.1-10+deb12u15 \
            pkg-config clang llvm afl++=4.04c-4 python3 make gcc curl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

deps: ## install missing Debian packages (apt-get) and the pinned npm test clients
	@missing=""; for spec in $(DEB_PKGS); do p=$${spec%%=*}; \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$spec"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  $(SUDO) apt-get update -qq || exit 1; \
	  for spec in $$missing; do \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$spec >/dev/null 2>&1 || { \
	      p=$${spec%%=*}; echo "deps: $$spec not in the archive, installing the current $$p"; \
	      DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$p >/dev/null || exit 1; }; \
	  done; \
	fi
	@$(MAKE) --no-print-directory deps-npm

deps-npm: ## install the pinned npm test clients (tests/e2e, from its lockfile)
	@if command -v npm >/dev/null 2>&1; then \
	  [ -d tests/e2e/node_modules/openai ] || (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error); \
	else echo "deps-npm: npm not found (make deps installs it)"; exit 1; fi

include dsml/build.mk
-include proxy/build.mk
-include engine/build.mk
include tests/build.mk
-include tests/check/build.mk
-include fuzz/build.mk

all: $(LIBS) $(BINS)

test: deps ## run every test, then again under ASan+UBSan
	@$(MAKE) --no-print-directory test-fast
	@$(MAKE) --no-print-directory test-asan

test-fast: $(TEST_RUNS) ## run every test once (no sanitizer pass)

test-asan: ## run the unit tests and spec vectors under ASan+UBSan
	@echo "== sanitizer pass (ASan+UBSan) into $(O)/asan"
	@$(MAKE) --no-print-directory O=$(O)/asan OPT=-O1 SANITIZE=1 \
	  CFLAGS="-O1 -g $(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)" $(ASAN_TEST_RUNS)

run: deps ## the main job: dsml-proxy in front of a bundled recorded upstream, showing a tool call
	@$(MAKE) --no-print-directory demo-proxy

bench: deps $(BENCH_RUNS) ## run the benchmarks

clean: ## remove the build directory
	rm -rf $(O) $(CLEAN_EXTRA)

# Generic compile rule: every object lives under $(O) mirroring the source tree.
$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

-include $(ALL_OBJS:.o=.d)
