#!/usr/bin/env bash
# test/gpu_check.sh -- everything issue 3 needs a GPU for, in one command:
# for a machine with an NVIDIA GPU, such as the one the `device` tool lends
# for a few minutes (one call, at most 10 minutes; see the README, "The GPU
# build"). Steps, most important first, each with its own time limit so
# one stuck step cannot use up the others' time:
#   1. build the GPU programs and the CPU ones that run_all.sh needs (make,
#      or the same commands written out where the machine has no make)
#   2. the card (nvidia-smi)
#   3. the CPU/GPU parity test, every case (build/cuda/test_parity)
#   4. the GPU benchmark with fp32, TF32 and bf16 products, and TF32 with the
#      fused attention, each with its profile (build/cuda/bench --profile);
#      then a 300-step training run twice (the same bytes?)
#   5. the paper's headline table on the GPU:
#      ./run_all.sh -j 1 --tasks retrieval --objectives ar,mlmu (quick preset)
#   6. compute-sanitizer's memcheck, racecheck and initcheck on the parity
#      test's AR case, where the tool runs
# Logs and a summary go to $OUT (the device tool's output folder) or, where
# OUT is unset, to gpu-check/; the summary is printed last.
#
# The whole check stops by GPU_CHECK_SECONDS (default 570, inside the device
# tool's 600-second call): a step gets its own limit or what is left,
# whichever is less, and once time is up the remaining steps are skipped and
# say so. The steps run most important first.
#
# A rehearsal without a GPU: GPU_CHECK_REHEARSAL=1 runs every step on the CUDA
# emulator's build (build/emu: the same kernels on the CPU) at tiny sizes, the
# smoke preset for the table: it checks this script, not a GPU.
#
#   usage: bash test/gpu_check.sh [--skip-run-all]
set -u
cd "$(dirname "$0")/.."
out=${OUT:-gpu-check}
mkdir -p "$out"
summary=$out/summary.md
skip_run_all=0
[ "${1:-}" = --skip-run-all ] && skip_run_all=1
rehearsal=${GPU_CHECK_REHEARSAL:-0}
bin=build/cuda            # the programs under test
bench_size=()             # the bench's own two sizes (the quick preset's and the paper's)
det_steps=300
det_model=(--layers 2 --embd 128 --heads 4 --batch 128 --eval-every 100)
table_preset=quick
table_out=results-gpu     # run_all.sh's folder for the table (data, runs, results)
parity_cases=()           # all of them
if [ "$rehearsal" = 1 ]; then
    bin=build/emu
    bench_size=(--size 2,2,32,64,2,16)
    det_steps=10
    det_model=(--layers 1 --embd 32 --heads 2 --batch 16 --eval-every 10)
    table_preset=smoke
    table_out=$out/results-gpu
    parity_cases=(AR)
fi
started=$(date +%s)
deadline=$(( started + ${GPU_CHECK_SECONDS:-570} ))
note() { echo "$*" | tee -a "$summary"; }
# step NAME SECONDS COMMAND...: run it with a time limit, log to $out/NAME.log
step() {
    local name=$1 limit=$2 t0 rc left
    shift 2
    t0=$(date +%s)
    left=$(( deadline - t0 ))
    if [ "$left" -lt 10 ]; then
        note "- $name: skipped, out of time (GPU_CHECK_SECONDS)"
        return 124
    fi
    [ "$left" -lt "$limit" ] && limit=$left
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    rc=$?
    note "- $name: exit $rc$([ $rc -eq 124 ] && echo " (stopped at its ${limit} s limit)") in $(( $(date +%s) - t0 )) s (log: $name.log)"
    return $rc
}

: >"$summary"
rm -f "$out/table1.md"   # this run's table only (step 5)
[ "$rehearsal" = 1 ] && note "# REHEARSAL on the CUDA emulator (build/emu), not a GPU: tiny sizes, smoke preset"
note "# GPU check, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
note ""
note "machine: $(nproc --all) cores; $(grep -m 1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader >"$out/gpu.txt" 2>&1 ||
    echo "no nvidia-smi answer" >>"$out/gpu.txt"
note "GPU: $(head -n 1 "$out/gpu.txt")"
note "nvcc: $( (command -v nvcc >/dev/null && nvcc --version || /usr/local/cuda/bin/nvcc --version) 2>/dev/null | tail -n 2 | head -n 1)"
note ""

# 0. Jansson, where the device's image lacks it (test/device_jansson.sh)
source test/device_jansson.sh
[ -n "$jansson_note" ] && note "$jansson_note"

# 1. build what the steps below run: the GPU build, and the CPU programs that
#    run_all.sh uses (01, 02, 03 and the CPU trainers); not the tests or the
#    emulator, which the device does not need. Machine code for this card only
#    (its compute capability, from nvidia-smi), so nvcc compiles once, not twice.
#    -k: a target that fails does not stop the rest.
#    The device's image is not ours: where it has no make, the same compile
#    commands as the Makefile's, written out (without OpenBLAS: the model's own
#    matmul on the CPU; cuBLAS on the GPU as always).
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
arch=${cc:+-gencode arch=compute_$cc,code=[sm_$cc,compute_$cc]}
cpu_programs="build/01_data build/02_tokenize build/03_model build/04_train_ar build/05_train_mlmu build/06_eval"
build_without_make() {
    local nvcc cflags nvflags ok=0
    nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
    cflags="-O3 -march=native -Wall -Wextra -std=gnu11 -fopenmp -fno-trapping-math -I."
    nvflags="-O3 -std=c++17 ${arch:--arch=native} -I. -Xcompiler -fopenmp,-fno-trapping-math,-Wall,-Wextra"
    mkdir -p build/cuda
    gcc $cflags 01_data.c -o build/01_data -lm -fopenmp || ok=1
    gcc $cflags 02_tokenize.c -o build/02_tokenize -lm -fopenmp || ok=1
    gcc $cflags -DMODEL_MAIN -x c 03_model.cu -o build/03_model -lm -fopenmp || ok=1
    for p in 04_train_ar 05_train_mlmu; do
        gcc $cflags -x c $p.cu -o build/$p -lm -fopenmp || ok=1
        "$nvcc" $nvflags $p.cu -o build/cuda/$p -lcublas -lgomp -lm || ok=1
    done
    gcc $cflags 06_eval.c -o build/06_eval -lm -fopenmp || ok=1
    "$nvcc" $nvflags -x cu 06_eval.c -o build/cuda/06_eval -lcublas -lgomp -lm || ok=1
    "$nvcc" $nvflags test/test_parity.cu -o build/cuda/test_parity -lcublas -lgomp -lm || ok=1
    "$nvcc" $nvflags -x cu test/bench.c -o build/cuda/bench -lcublas -lgomp -lm || ok=1
    return $ok
}
if command -v make >/dev/null 2>&1; then
    step build 300 make -k -j"$(nproc --all)" ${arch:+CUDA_ARCH="$arch"} $cpu_programs cuda
    # a CBLAS that does not link there: once more with the model's own matmul on the CPU
    [ -x $bin/test_parity ] || [ "$rehearsal" = 1 ] ||
        step build-no-blas 300 make -B -k -j"$(nproc --all)" ${arch:+CUDA_ARCH="$arch"} NO_BLAS=1 $cpu_programs cuda
else
    note "- make: not found on this machine; building with the commands written out in gpu_check.sh"
    export -f build_without_make
    export arch
    step build 300 bash -c build_without_make
fi
[ "$rehearsal" = 1 ] && step build-emu 300 make -j"$(nproc --all)" emu
if [ ! -x $bin/test_parity ]; then
    note "$bin/test_parity was not built: see build.log"
    cat "$summary"
    exit 1
fi

# 3. parity, every case
step parity 120 $bin/test_parity "${parity_cases[@]}"
grep -E '^(PASS|FAIL|SKIP|GPU)' "$out/parity.log" | sed 's/^/    /' | tee -a "$summary"
# 4. the benchmark, in each arithmetic of the matrix products
for matmul in fp32 tf32 bf16; do
    step "bench-$matmul" 120 $bin/bench --device cuda --steps 10 --matmul $matmul --profile "${bench_size[@]}"
    sed 's/^/    /' "$out/bench-$matmul.log" | tee -a "$summary"
done
step bench-tf32-fused 120 $bin/bench --device cuda --steps 10 --matmul tf32 --attention fused --profile "${bench_size[@]}"
sed 's/^/    /' "$out/bench-tf32-fused.log" | tee -a "$summary"

# 4b. a whole training run twice on the GPU, same seed: the same checkpoint, bit for bit
det=$out/determinism
rm -rf "$det"
mkdir -p "$det"
if build/01_data --pairs 500 --out "$det/d" --seed 2 >/dev/null 2>&1 &&
    build/02_tokenize --in "$det/d/examples.txt" >/dev/null 2>&1; then
    for k in 1 2; do
        step "determinism-$k" 120 $bin/05_train_mlmu --data "$det/d" --out "$det/run$k" "${det_model[@]}" --steps $det_steps \
            --device cuda --quiet
    done
    if [ ! -s "$det/run1/model.ckpt" ] || [ ! -s "$det/run2/model.ckpt" ]; then
        determinism="- determinism: a run did not finish (see its log)"
    elif cmp -s "$det/run1/model.ckpt" "$det/run2/model.ckpt"; then
        determinism="- determinism: two $det_steps-step MLM-U runs on the GPU wrote the same checkpoint, bit for bit"
    else
        determinism="- determinism: FAILED, the two runs' checkpoints differ"
    fi
    note "$determinism"
    rm -rf "$det/d"
fi

# 5. the headline table on the GPU
if [ $skip_run_all = 0 ]; then
    rm -rf "$table_out"
    RUN_ALL_BUILD=$bin step run_all 400 ./run_all.sh -j 1 --preset $table_preset --tasks retrieval \
        --objectives ar,mlmu --out "$table_out"
    report=$table_out/results/RESULTS.md   # run_all.sh's name for it (RESULTS-PRESET.md but for quick)
    [ $table_preset = quick ] || report=$table_out/results/RESULTS-$table_preset.md
    # the first table (Table 1, the retrieval task): up to its backward row, then stop
    sed -n '/^| | AR /,/^| backward/{p;/^| backward/q}' "$report" >"$out/table1.md" 2>/dev/null
    sed 's/^/    /' "$out/table1.md" | tee -a "$summary"
    grep -E '^\| retrieval/' "$report" 2>/dev/null | sed 's/^/    /' | tee -a "$summary"
    cp "$report" "$out/RESULTS-gpu.md" 2>/dev/null || note "- run_all: no report ($report)"
fi

# 6. compute-sanitizer's memcheck, racecheck and initcheck on the parity test's AR case
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
if [ -n "$sanitizer" ]; then
    for tool in memcheck racecheck initcheck; do
        step "sanitizer-$tool" 120 "$sanitizer" --tool "$tool" --error-exitcode 9 $bin/test_parity AR
        grep -E '(ERROR|RACECHECK) SUMMARY|^=+ .*[Ee]rror' "$out/sanitizer-$tool.log" | head -n 3 | sed 's/^/    /' | tee -a "$summary"
    done
else
    note "- compute-sanitizer: not found"
fi

# At a glance, last: the device tool returns only the end of what a command
# prints (the whole summary and the logs come back in $OUT)
note ""
note "## At a glance"
note "- parity: $(grep -c '^PASS' "$out/parity.log" 2>/dev/null) passed, $(grep -c '^FAIL' "$out/parity.log" 2>/dev/null) failed, $(grep -c '^SKIP' "$out/parity.log" 2>/dev/null) skipped"
for b in fp32 tf32 bf16 tf32-fused; do
    grep -h 'tokens/s' "$out/bench-$b.log" 2>/dev/null | sed "s/^/- bench $b: /" | tee -a "$summary"
done
[ -n "${determinism:-}" ] && note "$determinism"
[ -s "$out/table1.md" ] && tee -a "$summary" <"$out/table1.md"
for tool in memcheck racecheck initcheck; do
    grep -h -m 1 -E "(ERROR|RACECHECK) SUMMARY" "$out/sanitizer-$tool.log" 2>/dev/null | sed "s/^/- compute-sanitizer $tool: /" |
        tee -a "$summary"
done
note "total: $(( $(date +%s) - started )) s"
