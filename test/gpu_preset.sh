#!/usr/bin/env bash
# test/gpu_preset.sh -- a whole preset of run_all.sh on a GPU, in one command
# for the device tool's few minutes: build the GPU programs, run the sweep
# with RUN_ALL_BUILD=build/cuda, and pack the report and every run's logs
# (not the checkpoints) into $OUT/PRESET-gpu.tgz, which ./run_all.sh --report
# renders again on any machine (with the plots, where gnuplot is there).
#
#   usage: bash test/gpu_preset.sh PRESET SEEDS JOBS SECONDS
#   e.g.   GENWIKI=gw/test.source bash test/gpu_preset.sh full 1,2 4 380
#
# SECONDS bounds the sweep: runs still going then are stopped, the report is
# made from the runs that finished (the rest say "not run"), and the pack is
# written all the same. Where the machine has no jansson.h, Debian's
# libjansson-dev and libjansson4 in device-debs/ are unpacked beside
# (test/device_jansson.sh). A rehearsal without a GPU: RUN_ALL_BUILD=build
# GPU_PRESET_TARGETS=all (the CPU programs). GENWIKI names the GenWiki passages where ../shared/data
# is not beside the checkout (README: Tasks, wikireversal).
set -u
cd "$(dirname "$0")/.."
[ $# -eq 4 ] || { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
preset=$1 seeds=$2 jobs=$3 seconds=$4
out=${OUT:-gpu-preset}
res=results-gpu-$preset
mkdir -p "$out"
source test/device_jansson.sh
[ -n "$jansson_note" ] && echo "$jansson_note"
bin=${RUN_ALL_BUILD:-build/cuda}
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
make -k -j"$(nproc --all)" ${cc:+CUDA_ARCH="-gencode arch=compute_$cc,code=[sm_$cc,compute_$cc]"} \
    build/01_data build/02_tokenize build/03_model ${GPU_PRESET_TARGETS:-cuda} >"$out/build.log" 2>&1 ||
    { tail -n 20 "$out/build.log"; exit 1; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
RUN_ALL_BUILD=$bin timeout "$seconds" ./run_all.sh -j "$jobs" --preset "$preset" --seeds "$seeds" \
    --out "$res" >"$out/run_all.log" 2>&1
echo "sweep: exit $? (124: stopped at $seconds s)"
pkill -f "$bin/0[456]_" 2>/dev/null   # the runs that timeout's signal to run_all.sh left going
./run_all.sh --report --preset "$preset" --seeds "$seeds" --out "$res" >"$out/report.log" 2>&1
tail -n 3 "$out/report.log"
tar czf "$out/$preset-gpu.tgz" --exclude='*.ckpt' --exclude='*.bin' "$res/runs" "$res/results" \
    "$out/run_all.log" "$out/gpu.txt"
grep -E '^\[.*(done|FAIL|failed)' "$out/run_all.log" | tail -n 40
