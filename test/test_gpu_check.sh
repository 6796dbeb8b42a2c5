#!/usr/bin/env bash
# test_gpu_check.sh -- test/gpu_check.sh, the one command for a session with a
# GPU, rehearsed without one (GPU_CHECK_REHEARSAL=1: every step on the CUDA
# emulator's build at tiny sizes). A GPU session gets a few minutes of device
# time; a script that breaks there (a wrong file name, a table it cannot
# find, a deadline that does not hold) wastes them. This checks the script,
# not a GPU: its lines say "[rehearsal]".
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=2
pass() { echo "PASS: [rehearsal] $*"; }
fail() { echo "FAIL: [rehearsal] $*"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
[ -x build/emu/test_parity ] || { fail "build/emu/test_parity is not built (make builds it with g++)"; exit 1; }

# ---- the whole check, every step ----
GPU_CHECK_REHEARSAL=1 OUT="$tmp/all" bash test/gpu_check.sh >"$tmp/all.out" 2>&1
rc=$?
s=$tmp/all/summary.md
check "gpu_check.sh finishes (exit $rc) and writes its summary, marked a rehearsal" \
    eval '[ $rc -eq 0 ] && grep -q "^# REHEARSAL on the CUDA emulator" "$s" && grep -q "^total: " "$s"'
check "the parity step passes and its lines are in the summary" \
    eval 'grep -q "^- parity: exit 0" "$s" && grep -q "PASS: AR: gradients of all" "$s" && ! grep -q "FAIL:" "$s"'
for b in fp32 tf32 bf16 tf32-fused; do
    check "the bench step $b: a tokens/s and MFU line and its profile" \
        eval 'grep -q "^- bench-$b: exit 0" "$s" && [ "$(grep -c "tokens/s .* MFU" "$tmp/all/bench-$b.log")" = 1 ] &&
              grep -q "where a step.s time goes" "$tmp/all/bench-$b.log"'
done
check "the bench steps ran with the matmul and attention asked for" \
    eval 'grep -q "bf16 matrix products, plain attention" "$tmp/all/bench-bf16.log" &&
          grep -q "tf32 matrix products, fused attention" "$tmp/all/bench-tf32-fused.log"'
check "the determinism step: two runs, the same checkpoint bit for bit" \
    grep -q "^- determinism: two 10-step MLM-U runs on the GPU wrote the same checkpoint, bit for bit" "$s"
check "the table step: Table 1's forward and backward rows, once each, and the report copied" \
    eval '[ "$(grep -c "^    | forward |" "$s")" = 1 ] && [ "$(grep -c "^    | backward |" "$s")" = 1 ] &&
          grep -q "^    | retrieval/mlmu | 1 |" "$s" && [ -s "$tmp/all/RESULTS-gpu.md" ]'
check "the table's runs used the build under test (build/emu)" \
    grep -q "(build/emu)" "$tmp/all/run_all.log"
check "the summary ends with an at-a-glance section: parity counts, a line per bench, the verdict, the table" \
    eval 'sed -n "/^## At a glance/,\$p" "$s" >"$tmp/glance" && grep -q "^- parity: 7 passed, 0 failed, 0 skipped" "$tmp/glance" &&
          [ "$(grep -c "^- bench .* tokens/s" "$tmp/glance")" = 4 ] && grep -q "^- determinism: two" "$tmp/glance" &&
          grep -q "^| backward |" "$tmp/glance" && tail -n 1 "$tmp/all.out" | grep -q "^total: "'

# ---- the deadline: past it, the remaining steps are skipped and say so ----
start=$(date +%s)
GPU_CHECK_REHEARSAL=1 GPU_CHECK_SECONDS=14 OUT="$tmp/short" bash test/gpu_check.sh >/dev/null 2>&1
took=$(( $(date +%s) - start ))
s=$tmp/short/summary.md
check "GPU_CHECK_SECONDS=14: done in $took s, the later steps skipped as out of time, the summary complete" \
    eval '[ $took -le 30 ] && grep -q "skipped, out of time" "$s" && grep -q "^total: " "$s"'
