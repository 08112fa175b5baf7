# engine/cuda/build.mk: the CUDA backend (included by engine/build.mk).
#
#   make cuda               $(O)/cuda/bin/dsv4 (the dsv4 command with --cuda) and
#                           $(O)/cuda/tests/dsv4-cuda-tests; needs nvcc, not a GPU
#   make test-cuda-compile  compile every engine/cuda/*.cu (part of `make test`)
#   make test-cuda          GPU tests: every op vs the CPU, tiny-model agreement
#                           (part of `make test`; one "skipped" line without a GPU)
#
# Code is built for sm_90 (H100/H200) and sm_121 (GB10) with compute_90 PTX for other
# GPUs (CUDA_ARCH overrides). The CPU-only build (`make`) never needs nvcc. The CUDA
# runtime is linked statically, so the binaries need only the driver at run time.

NVCC      ?= $(or $(shell command -v nvcc 2>/dev/null),$(wildcard /usr/local/cuda/bin/nvcc))
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_ARCH ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_121,code=sm_121 \
             -gencode arch=compute_90,code=compute_90
NVCC_FLAGS := -std=c++17 -O3 $(CUDA_ARCH) -Iengine -Xcompiler -Wall,-Wextra,-fPIC \
              $(if $(filter 1,$(WERROR)),--Werror all-warnings -Xcompiler -Werror)
CUDA_SRCS  := $(wildcard engine/cuda/*.cu)
CUDA_OBJS  := $(CUDA_SRCS:%.cu=$(O)/cuda/%.o)
CUDA_LIB   := $(O)/cuda/lib/libdsv4-cuda.a
DSV4_CUDA_BIN := $(O)/cuda/bin/dsv4
CUDA_TEST_BIN := $(O)/cuda/tests/dsv4-cuda-tests
CUDA_LDLIBS := -L$(CUDA_HOME)/lib64 -L$(CUDA_HOME)/targets/x86_64-linux/lib -lcudart_static -lstdc++ -ldl -lrt \
               -lpthread -lm
CUDA_TEST_TMP := $(O)/tests/cuda-tmp

ALL_OBJS += $(CUDA_OBJS) $(O)/cuda/engine/main.o $(O)/cuda/tests/engine/cuda/test_backend_ops.o

.PHONY: cuda test-cuda test-cuda-compile

ifeq ($(NVCC),)
cuda: ## dsv4 with the CUDA backend ($(O)/cuda/bin/dsv4) and the GPU tests (needs nvcc)
	@echo "make cuda: nvcc not found (install the CUDA toolkit or set NVCC=/path/to/nvcc)"; exit 1
test-cuda-compile:
	@echo "== CUDA sources: skipped, nvcc not found (set NVCC=/path/to/nvcc)"
test-cuda:
	@echo "== CUDA tests: skipped, nvcc not found (set NVCC=/path/to/nvcc)"
else
$(O)/cuda/%.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) $(NVCC_FLAGS) -MMD -MP -c $< -o $@

$(O)/cuda/engine/main.o: engine/main.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iengine -DDSV4_HAVE_CUDA $(ALL_CFLAGS) -c $< -o $@

$(O)/cuda/tests/engine/cuda/test_backend_ops.o: tests/engine/cuda/test_backend_ops.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iengine -DDSV4_HAVE_CUDA $(ALL_CFLAGS) -c $< -o $@

$(CUDA_LIB): $(CUDA_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(DSV4_CUDA_BIN): $(O)/cuda/engine/main.o $(CUDA_LIB) $(ENGINE_LIB) $(DSV4_CHAT_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(O)/cuda/engine/main.o $(CUDA_LIB) $(ENGINE_LIB) $(DSV4_CHAT_LIBS) $(CUDA_LDLIBS)

$(CUDA_TEST_BIN): $(O)/cuda/tests/engine/cuda/test_backend_ops.o $(CUDA_LIB) $(ENGINE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(CUDA_LIB) $(ENGINE_LIB) $(CUDA_LDLIBS)

cuda: $(DSV4_CUDA_BIN) $(CUDA_TEST_BIN) ## dsv4 with the CUDA backend ($(O)/cuda/bin/dsv4) and the GPU tests (needs nvcc)

test-cuda-compile: $(CUDA_OBJS) ## compile every CUDA source for sm_90, sm_121 and PTX (no GPU needed)
	@echo "== CUDA sources: $(words $(CUDA_OBJS)) files compiled ($(O)/cuda)"

# Every op on several shapes and types, then the tiny model (f32 and q2, exact fp32 math)
# against the CPU over a prompt that fills ratio-4 and ratio-128 rows; the indexer
# selection runs with --topk 16.
test-cuda: $(CUDA_TEST_BIN) $(DSV4_BIN) ## GPU tests: every op vs the CPU, tiny-model agreement (skips without a GPU)
	@echo "== CUDA tests ($(O))"
	@if $(CUDA_TEST_BIN) probe; then \
	  mkdir -p $(CUDA_TEST_TMP) && $(CUDA_TEST_BIN) ops && \
	  for q in f32 q2; do \
	    $(DSV4_BIN) mkmodel --preset tiny --quant $$q --seed 3 -q -o $(CUDA_TEST_TMP)/tiny-$$q.gguf && \
	    $(CUDA_TEST_BIN) model $(CUDA_TEST_TMP)/tiny-$$q.gguf --tokens 300 --gen 64 && \
	    $(CUDA_TEST_BIN) model $(CUDA_TEST_TMP)/tiny-$$q.gguf --tokens 300 --gen 64 --topk 16 || exit 1; \
	  done; \
	fi
endif

TEST_RUNS += test-cuda-compile test-cuda
