#!/usr/bin/env bash
# test_parity_emu.sh -- the CPU/GPU parity test (test/test_parity.cu) run on
# the CUDA emulator (test/cuda_emu/): every kernel and cuBLAS call of
# 03_model_gpu.cuh runs on the CPU, one thread at a time, and is compared with
# the CPU layers of 03_model.cu. This is not a GPU; its lines say "[CUDA emulator]".
#
# Then the emulator has to catch bugs planted one at a time in a copy of
# 03_model_gpu.cuh (a missing barrier, a host pointer given to a kernel, a
# write past a buffer...): a checker that cannot fail proves nothing.
set -u
cd "$(dirname "$0")/.."
if [ ! -x build/emu/test_parity ]; then
    echo "FAIL: build/emu/test_parity is not built (make builds it with g++)"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- the parity test on the emulator ----
# EMU_RACECHECK: every launch also runs its blocks in the reverse order, from the
# same memory, and compares (test/cuda_emu/cuda_runtime.h): a race between blocks
# stops it. It doubles the time, so the planted bugs below run without it, but
# for the race, which is what it is there to catch.
EMU_RACECHECK=1 build/emu/test_parity >"$tmp/out" 2>&1
rc=$?
sed -nE 's/^(PASS|FAIL|SKIP): /\1: [CUDA emulator] /p' "$tmp/out"
if [ $rc -ne 0 ] && ! grep -q '^FAIL' "$tmp/out"; then
    echo "FAIL: [CUDA emulator] test_parity exited with status $rc: $(tail -n 1 "$tmp/out")"
fi

# ---- planted bugs: each must make a case fail (the AR case, or the one named) ----
# name | what the bug is | the file it is planted in | sed -E -z substitution on that file
# [| the case to run [| what the failure must say (and the race check is on)]]
G=03_model_gpu.cuh
mutants=(
"syncwarp|no __syncwarp before the lanes of a warp read each other's attention weights|$G|s/__syncwarp\(\); \/\* every lane reads every p\[j\] below \*\///"
"syncthreads|no __syncthreads before a block reduction reuses its shared scratch|$G|s/__syncthreads\(\); \/\* partial may still be read from a previous call \*\///"
"tree|no __syncthreads between the steps of a tree reduction in shared memory|$G|s/(shared\[tid \+ stride\];)\n( *)__syncthreads\(\);/\1/"
"hostptr|a host array (the batch's ranks) given to a kernel|$G|s/g->batch\.tokens, g->batch\.ranks, bt->B/g->batch.tokens, bt->ranks, bt->B/"
"deref|host code reading the logits where they live, in device memory|$G|s/return gpu_model_of\(m\)->host_logits;/return gpu_model_of(m)->tensors.acts.logits;/"
"overrun|a kernel writing one element past the end of its buffer|$G|s/partial\[blockIdx\.x\] = shared\[0\]/partial[blockIdx.x + 1] = shared[0]/"
"lda|a wrong leading dimension in a cuBLAS call|$G|s/weight, IC, inp, IC,/weight, IC, inp, OC,/"
"beta|the bias dropped from the cuBLAS product (beta 0 instead of 1)|$G|s/(gemm_gpu\(CUBLAS_OP_T, CUBLAS_OP_N, OC, N, IC, 1\.0f, weight, IC, inp, IC, )bias \? 1\.0f : 0\.0f/\10.0f/"
"online|fused attention: the running sum not rescaled when a later tile raises the max|$G|s/acc\[k\] = acc\[k\] \* rescale \+ tile_column_sum/acc[k] = acc[k] + tile_column_sum/|large fused AR"
"tile|fused attention: no __syncthreads before a warp loads the next key tile over the one others still read|$G|s/__syncthreads\(\); \/\* every warp is done with the previous tile \*\///|large fused AR"
"kvrows|fused attention backward: no __syncthreads before the next query rows overwrite the ones being added in|$G|s/__syncthreads\(\); \/\* the tile is loaded, and the previous rows have been added in \*\///|large fused AR"
"race|the row sums in one kernel, each chunk adding into dvec[c] itself (a race between blocks; in one order the sum is right)|$G|s/    partial\[i\] = sum;/    partial[c] += sum;/;s/256\)\(partial, x, N, C\);/256)(dvec, x, N, C); return;/|large AR|a race between blocks"
)
mapfile -t cmd < <(make -s --no-print-directory emu-command)
# one planted bug: build the copy, run its case, print one PASS or FAIL line
try_mutant() {
    local name what file expr case must dir rc caught
    IFS='|' read -r name what file expr case must <<<"$1"
    dir="$tmp/$name"
    mkdir -p "$dir/test"
    cp build/emu/src/*.cu build/emu/src/*.cuh build/emu/src/*.c "$dir/"
    cp build/emu/src/test/test_parity.cu "$dir/test/"
    sed -E -z "$expr" "build/emu/src/$file" >"$dir/$file"
    if cmp -s "$dir/$file" "build/emu/src/$file"; then
        echo "FAIL: planted bug '$name' no longer matches $file: update test/test_parity_emu.sh"
        return
    fi
    # shellcheck disable=SC2086
    if ! ${cmd[0]} "$dir/test/test_parity.cu" -o "$dir/test_parity" ${cmd[1]} >"$dir/build.log" 2>&1; then
        echo "FAIL: planted bug '$name' does not compile: $(head -n 1 "$dir/build.log")"
        return
    fi
    env ${must:+EMU_RACECHECK=1} "$dir/test_parity" "${case:-AR}" >"$dir/out" 2>&1
    rc=$?
    caught=$(grep -m 1 -E '^FAIL|^CUDA emulator:|^error:' "$dir/out")
    if [ -n "$must" ] && ! grep -q -F "$must" <<<"$caught"; then
        echo "FAIL: the CUDA emulator does not say '$must' of $what (exit status $rc: ${caught:-no failure reported})"
    elif [ $rc -ne 0 ] && [ -n "$caught" ]; then
        echo "PASS: the CUDA emulator catches $what ($caught)"
    else
        echo "FAIL: the CUDA emulator misses $what (exit status $rc, no failure reported)"
    fi
}
# as many at once as there are cores; the lines come out in the list's order
cores=$(nproc --all)
for k in "${!mutants[@]}"; do
    while [ "$(jobs -r | wc -l)" -ge "$cores" ]; do sleep 0.2; done
    try_mutant "${mutants[$k]}" >"$tmp/result-$k" &
done
wait
for k in "${!mutants[@]}"; do cat "$tmp/result-$k"; done
