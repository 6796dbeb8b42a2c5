# Builds every stage into build/.  `make` builds, `make test` runs the tests,
# `make bench` runs the CPU benchmark.  The .cu files are compiled as C by gcc
# into build/ (their CUDA part, 03_model_gpu.cuh, is included only by nvcc);
# where nvcc is installed, `make` also compiles them with nvcc into build/cuda/
# (the GPU build: the same programs, which run on the GPU when there is one). g++ also
# compiles the CUDA code against the CPU stand-ins of test/cuda_emu/ into
# build/emu/ (the CUDA emulator: the kernels tested without a GPU).
#
# CBLAS: OpenBLAS built for OpenMP (Debian libopenblas-openmp-dev) shares the
# program's OpenMP threads; the pthread build (libopenblas-dev) works too but
# its threads fight OpenMP's for the cores (about 2x slower here). Without a
# CBLAS the model uses its own OpenMP matmul. Force that with NO_BLAS=1.
CC      = gcc
CFLAGS  ?= -O3 -march=native
# -fno-trapping-math: lets gcc vectorize the clamps in exp_vec (03_model_cpu.h); no
# value changes (unlike -ffast-math), we never rely on floating-point traps
CFLAGS  += -Wall -Wextra -std=gnu11 -fopenmp -fno-trapping-math -I.
LDLIBS  += -lm -fopenmp

OMP_BLAS_HEADER := $(firstword $(wildcard /usr/include/*/openblas-openmp/cblas.h))
BLAS_HEADER     := $(firstword $(wildcard /usr/include/cblas.h /usr/include/*/cblas.h))
ifeq ($(NO_BLAS),)
ifneq ($(OMP_BLAS_HEADER),)
  OMP_BLAS_LIB := $(subst /include/,/lib/,$(dir $(OMP_BLAS_HEADER)))
  BLAS_CFLAGS := -DUSE_CBLAS -I$(dir $(OMP_BLAS_HEADER))
  BLAS_LIBS   := -L$(OMP_BLAS_LIB) -Wl,-rpath,$(OMP_BLAS_LIB) -lopenblas
else ifneq ($(BLAS_HEADER),)
ifneq ($(wildcard /usr/lib/*/libopenblas.so /usr/lib/libopenblas.so /usr/lib64/libopenblas.so),)
  # (a cblas.h without OpenBLAS beside it, as another BLAS installs, is not enough)
  BLAS_CFLAGS := -DUSE_CBLAS -I$(dir $(BLAS_HEADER))
  BLAS_LIBS   := -lopenblas
endif
endif
endif
CFLAGS += $(BLAS_CFLAGS)
LDLIBS += $(BLAS_LIBS)

# Sanitizer build: make -B SANITIZE=1 test (slow; for checking memory errors; -B because
# the flags are not a dependency: binaries built without them would be kept).
# -fno-sanitize-recover: undefined behaviour stops the program (non-zero exit), so a
# test notices it even where the program's messages are thrown away; otherwise UBSan
# only prints, and with ASan beside it its log_path option is not honoured here.
ifneq ($(SANITIZE),)
  CFLAGS := $(filter-out -O3,$(CFLAGS)) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
  LDLIBS += -fsanitize=address,undefined
endif

# 03_model.cu and the headers it includes (03_model_gpu.cuh: the CUDA twins, nvcc only)
MODEL_DEPS := 03_model.cu 03_model_device.h 03_model_profile.h 03_model_cpu.h 03_model_buffers.h 03_model_decode.h \
              03_model_train.h 03_model_gpu.cuh common.h
PROGRAMS := build/01_data build/02_tokenize build/03_model build/04_train_ar build/05_train_mlmu build/06_eval
TESTS    := build/test_model build/test_matmul build/test_bpe

all: $(PROGRAMS) $(TESTS) build/bench

build:
	mkdir -p build

# 01_data.c includes its two larger tasks (01_data_bios.h, 01_data_wiki.h);
# WikiReversal parses GenWiki's JSON with Jansson (Debian libjansson-dev)
build/01_data: 01_data.c 01_data_bios.h 01_data_wiki.h common.h | build
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS) -ljansson

build/02_tokenize: 02_tokenize.c common.h | build
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

build/03_model: $(MODEL_DEPS) | build
	$(CC) $(CFLAGS) -DMODEL_MAIN -x c $< -o $@ $(LDLIBS)

build/04_train_ar: 04_train_ar.cu $(MODEL_DEPS) | build
	$(CC) $(CFLAGS) -x c $< -o $@ $(LDLIBS)

build/05_train_mlmu: 05_train_mlmu.cu $(MODEL_DEPS) | build
	$(CC) $(CFLAGS) -x c $< -o $@ $(LDLIBS)

build/06_eval: 06_eval.c $(MODEL_DEPS) | build
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

build/test_%: test/test_%.c $(MODEL_DEPS) | build
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

# test_bpe includes the tokenizer itself (its main left out)
build/test_bpe: 02_tokenize.c

build/bench: test/bench.c $(MODEL_DEPS) | build
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

test: all
	bash test/run_tests.sh

# OPENBLAS_CORETYPE: where OpenBLAS does not recognise the CPU, its faster
# kernels instead of the generic ones (03_model_cpu.h)
# With the GPU build and a GPU (nvidia-smi lists one), the GPU benchmark too,
# with fp32, TF32 and bf16 matrix products.
# The picture of each objective's factorization (README): the trainers' own rank samplers
# on one example sequence (--show-ranks csv), drawn by gnuplot.
ranks-figure: build/04_train_ar build/05_train_mlmu
	./build/04_train_ar --show-ranks csv > build/ranks-ar.csv
	./build/05_train_mlmu --objective mlm --rate 0.15 --show-ranks csv > build/ranks-mlm15.csv
	./build/05_train_mlmu --objective mlm-u --show-ranks csv > build/ranks-mlmu.csv
	./build/05_train_mlmu --objective plm --show-ranks csv > build/ranks-plm.csv
	gnuplot -c report/ranks.gp docs/factorizations.png build/ranks-ar.csv build/ranks-mlm15.csv build/ranks-mlmu.csv build/ranks-plm.csv

# OpenBLAS's kernels for a CPU it does not recognise (03_model --blas-coretype), for the benches
SET_CORETYPE = ct=$$(./build/03_model --blas-coretype); \
	if [ -z "$$OPENBLAS_CORETYPE" ] && [ -n "$$ct" ]; then \
		echo "OPENBLAS_CORETYPE=$$ct (OpenBLAS does not recognise this CPU)"; export OPENBLAS_CORETYPE=$$ct; fi
bench: build/bench build/03_model
	@$(SET_CORETYPE); \
	./build/bench
	@if [ -x build/cuda/bench ] && nvidia-smi -L >/dev/null 2>&1; then \
		for m in fp32 tf32 bf16; do ./build/cuda/bench --device cuda --matmul $$m || exit 1; done; fi

# The presets' real shapes (layers, heads, width, vocabulary, batch, longest sequence of each
# task's training data, as 02_tokenize reports them: update them with the presets), one thread each as run_all.sh runs them (docs/benchmark.md).
PRESET_SHAPES := retrieval:2,4,128,12007,256,8 relationship:2,4,128,9007,128,7 \
                 bios:2,4,128,1229,64,74 wiki:2,4,128,1024,64,138 star:4,4,128,38,64,27 \
                 two-token:2,4,128,2007,128,6
bench-presets: build/bench build/03_model
	@$(SET_CORETYPE); \
	for s in $(PRESET_SHAPES); do echo "== $${s%%:*} (quick preset)"; \
		OMP_NUM_THREADS=1 ./build/bench --size $${s#*:} || exit 1; done

# ---- the GPU build: nvcc compiles the same sources (03_model_gpu.cuh included) ----
# CUDA_ARCH: Ampere (A100) and Hopper (H100) code, plus PTX for newer cards.
NVCC      ?= $(firstword $(wildcard /usr/local/cuda/bin/nvcc) $(shell command -v nvcc 2>/dev/null))
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=[sm_90,compute_90]
NVCCFLAGS  = -O3 -std=c++17 $(CUDA_ARCH) -I. $(BLAS_CFLAGS) -Xcompiler -fopenmp,-fno-trapping-math,-Wall,-Wextra
NVCC_LIBS  = $(subst -Wl$(comma)-rpath$(comma),-Xlinker -rpath -Xlinker ,$(BLAS_LIBS)) -lcublas -lgomp -lm
comma := ,
CUDA_PROGRAMS := build/cuda/04_train_ar build/cuda/05_train_mlmu build/cuda/06_eval build/cuda/test_parity \
                 build/cuda/bench

ifneq ($(NVCC),)
all: $(CUDA_PROGRAMS)
endif

build/cuda:
	mkdir -p build/cuda

build/cuda/%: %.cu $(MODEL_DEPS) | build/cuda
	$(NVCC) $(NVCCFLAGS) $< -o $@ $(NVCC_LIBS)

build/cuda/06_eval: 06_eval.c $(MODEL_DEPS) | build/cuda
	$(NVCC) $(NVCCFLAGS) -x cu $< -o $@ $(NVCC_LIBS)

build/cuda/test_parity: test/test_parity.cu $(MODEL_DEPS) 04_train_ar.cu 05_train_mlmu.cu | build/cuda
	$(NVCC) $(NVCCFLAGS) $< -o $@ $(NVCC_LIBS)

build/cuda/bench: test/bench.c $(MODEL_DEPS) | build/cuda
	$(NVCC) $(NVCCFLAGS) -x cu $< -o $@ $(NVCC_LIBS)

# ---- the emulated GPU build: the CUDA code run on the CPU (test/cuda_emu/) ----
# g++ compiles the CUDA sources against test/cuda_emu's stand-ins for
# cuda_runtime.h and cublas_v2.h, after sed has rewritten each launch
# `kernel<<<grid, block>>>(args)` as `emu_launch("kernel", kernel, grid, block)(args)`.
# No GPU is involved: test/cuda_emu/cuda_runtime.h says what this checks and what not.
CXX       = g++
# (-Wno-unknown-pragmas: the kernels' `#pragma unroll` is nvcc's; g++ ignores it)
EMU_FLAGS = -O2 -g -std=c++20 -U_FORTIFY_SOURCE -D__CUDACC__ -Itest/cuda_emu -I. $(BLAS_CFLAGS) -fopenmp -fno-trapping-math \
            -Wall -Wextra -Wno-unknown-pragmas
# never with the sanitizers (SANITIZE=1): AddressSanitizer does not follow the
# emulator's switches between its threads' stacks
EMU_LDLIBS = $(filter-out -fsanitize=%,$(LDLIBS))
EMU_SOURCES := $(addprefix build/emu/src/,03_model.cu 03_model_gpu.cuh 04_train_ar.cu 05_train_mlmu.cu 06_eval.c \
                                          test/test_parity.cu test/bench.c)
EMU_DEPS    := $(EMU_SOURCES) $(MODEL_DEPS) test/cuda_emu/cuda_runtime.h test/cuda_emu/cublas_v2.h

$(EMU_SOURCES): build/emu/src/%: %
	@mkdir -p $(dir $@)
	{ echo '#line 1 "$<"'; sed -E 's/\b([A-Za-z_][A-Za-z0-9_]*)<<<(.*)>>>\(/emu_launch("\1", \1, \2)(/' $<; } >$@

build/emu/test_parity: $(EMU_DEPS)
	$(CXX) $(EMU_FLAGS) -x c++ build/emu/src/test/test_parity.cu -o $@ $(EMU_LDLIBS)

# the programs themselves, their GPU path on the emulator (--device cuda)
build/emu/04_train_ar build/emu/05_train_mlmu build/emu/06_eval: build/emu/%: $(EMU_DEPS)
	$(CXX) $(EMU_FLAGS) -x c++ $(filter build/emu/src/$*.%,$^) -o $@ $(EMU_LDLIBS)

build/emu/bench: $(EMU_DEPS)
	$(CXX) $(EMU_FLAGS) -x c++ build/emu/src/test/bench.c -o $@ $(EMU_LDLIBS)

EMU_PROGRAMS := build/emu/test_parity build/emu/04_train_ar build/emu/05_train_mlmu build/emu/06_eval build/emu/bench
all: $(EMU_PROGRAMS)
emu: $(EMU_PROGRAMS)

# the compile command, for test/test_parity_emu.sh (it builds copies of the kernels with planted bugs)
emu-command:
	@echo '$(CXX) $(EMU_FLAGS) -O1 -x c++'
	@echo '$(EMU_LDLIBS)'

# what ptxas says of every kernel for Hopper: registers, shared memory, stack,
# spills (costs no GPU time; needs nvcc)
cuda-resources:
	@bash test/cuda_resources.sh

# compile the GPU build (no-op without nvcc; `make` already does it with nvcc)
cuda: $(CUDA_PROGRAMS)
cuda-check: cuda

clean:
	rm -rf build

.PHONY: all test bench bench-presets ranks-figure clean cuda cuda-check cuda-resources emu emu-command
