#!/usr/bin/env bash
# test_programs_emu.sh -- the programs themselves on their GPU path
# (--device cuda), built against the CUDA emulator (build/emu/, see
# test/cuda_emu/cuda_runtime.h), against the same programs on the CPU. Where
# test_parity compares one step of the layers, this runs what a user runs:
# the training loop, its evaluation, resume, and 06_eval's two decoders.
# The emulator is not a GPU; these lines say "[CUDA emulator]".
set -u
cd "$(dirname "$0")/.."
B=build
E=build/emu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=2
pass() { echo "PASS: [CUDA emulator] $*"; }
fail() { echo "FAIL: [CUDA emulator] $*"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
for p in 04_train_ar 05_train_mlmu 06_eval; do
    [ -x $E/$p ] || { fail "$E/$p is not built (make builds it with g++)"; exit 1; }
done

# the losses of two log.csv files agree to 1e-4 (relative) at every logged step,
# and every evaluation column is the same
logs_agree() {
    awk -F, 'NR == FNR { loss[$1] = $2; ev[$1] = $7 FS $8 FS $9 FS $10 FS $11 FS $12; next }
             FNR > 1 { n++; d = $2 - loss[$1]; if (d < 0) d = -d
                       if (!($1 in loss) || d > 1e-4 * loss[$1] || ev[$1] != $7 FS $8 FS $9 FS $10 FS $11 FS $12) bad++ }
             END { exit !(n > 0 && bad == 0) }' "$1" "$2"
}

$B/01_data --pairs 40 --out "$tmp/d" --seed 5 >/dev/null || fail "01_data"
$B/02_tokenize --in "$tmp/d/examples.txt" >/dev/null || fail "02_tokenize"
MODEL="--layers 2 --embd 32 --heads 2 --batch 16 --lr 3e-3 --warmup 5 --eval-every 10 --quiet"

for trainer in 04_train_ar 05_train_mlmu; do
    $B/$trainer --data "$tmp/d" --out "$tmp/cpu-$trainer" $MODEL --steps 20 --device cpu >/dev/null
    $E/$trainer --data "$tmp/d" --out "$tmp/emu-$trainer" $MODEL --steps 20 --device cuda >"$tmp/emu-$trainer.out" 2>&1
    check "$trainer --device cuda trains: the same losses (to 1e-4) and evaluations as on the CPU, 20 steps" \
        logs_agree "$tmp/cpu-$trainer/log.csv" "$tmp/emu-$trainer/log.csv"
    $E/$trainer --data "$tmp/d" --out "$tmp/split-$trainer" $MODEL --steps 20 --stop-at 10 --device cuda >/dev/null 2>&1
    $E/$trainer --resume "$tmp/split-$trainer/model.ckpt" --data "$tmp/d" --out "$tmp/split-$trainer" --quiet \
        --device cuda >/dev/null 2>&1
    check "$trainer --device cuda: 10 steps + resume to 20 is bit-identical to 20 steps straight" \
        cmp -s "$tmp/emu-$trainer/model.ckpt" "$tmp/split-$trainer/model.ckpt"
done

# --attention fused: the same losses as the CPU's (to 1e-4)
$E/04_train_ar --data "$tmp/d" --out "$tmp/fused" $MODEL --steps 20 --device cuda --attention fused >/dev/null 2>&1
check "04_train_ar --attention fused trains: the same losses (to 1e-4) and evaluations as on the CPU" \
    logs_agree "$tmp/cpu-04_train_ar/log.csv" "$tmp/fused/log.csv"

# --matmul bf16: the products rounded to bf16 (the loss within 1e-2 of the CPU's), and said so
$E/05_train_mlmu --data "$tmp/d" --out "$tmp/bf16" $MODEL --steps 20 --device cuda --matmul bf16 >/dev/null 2>&1
check "05_train_mlmu --matmul bf16 trains: its losses within 1e-2 of the CPU's, but not the same" \
    awk -F, 'NR == FNR { loss[$1] = $2; next }
             FNR > 1 { n++; d = $2 - loss[$1]; if (d < 0) d = -d; if (d > 1e-2 * loss[$1]) bad++; if (d > 0) differ++ }
             END { exit !(n > 0 && bad == 0 && differ > 0) }' "$tmp/cpu-05_train_mlmu/log.csv" "$tmp/bf16/log.csv"
${E}/05_train_mlmu --data "$tmp/d" --out "$tmp/bf16-say" ${MODEL/--quiet/} --steps 1 --device cuda --matmul bf16 \
    >"$tmp/bf16-say.out" 2>&1
check "05_train_mlmu --matmul bf16 says so on its first line" grep -q 'on cuda (bf16 matrix products, plain attention)' "$tmp/bf16-say.out"
${E}/05_train_mlmu --data "$tmp/d" --out "$tmp/bad" $MODEL --steps 1 --device cuda --matmul fp8 >"$tmp/bad.out" 2>&1
rc=$?
check "--matmul fp8 is refused (exit $rc) with a message naming the choices" \
    eval '[ $rc -ne 0 ] && grep -q "fp32, tf32 or bf16" "$tmp/bad.out" && [ ! -e "$tmp/bad/model.ckpt" ]'

# bench --profile: each layer function of a GPU step gets a row, and the rows add up to the step
$E/bench --device cuda --size 2,2,32,50,4,8 --steps 2 --profile >"$tmp/profile.out" 2>&1
check "bench --profile: a row for each layer of a step, the shares adding up to 100%" \
    awk '/where a step.s time goes/ { on = 1; next }
         on { for (k = 1; k <= NF; k++) { seen[$k] = 1; if ($k ~ /^[0-9.]+%$/) share += $k + 0 } }
         END { need = "attention_forward attention_backward matmul_forward matmul_backward layernorm_forward " \
                      "layernorm_backward crossentropy_forward_backward embedding_backward adamw_update clip_grad_norm"
               n = split(need, names, " "); for (k = 1; k <= n; k++) if (!(names[k] in seen)) exit 1
               exit !(share > 99.5 && share < 100.5) }' "$tmp/profile.out"

# 06_eval: the same answers from either device, for a checkpoint trained on either
evaluate() { # BINARY DEVICE CHECKPOINT OUT [options]
    local bin=$1 dev=$2 ckpt=$3 out=$4; shift 4
    $bin --model "$ckpt" --data "$tmp/d" --out "$out" --device "$dev" --batch 7 "$@" >/dev/null 2>&1
}
for trainer in 04_train_ar 05_train_mlmu; do
    for from in cpu emu; do
        ckpt="$tmp/$from-$trainer/model.ckpt"
        evaluate $B/06_eval cpu "$ckpt" "$tmp/ev-$from-$trainer-cpu"
        evaluate $E/06_eval cuda "$ckpt" "$tmp/ev-$from-$trainer-emu"
        check "06_eval --device cuda answers every query as the CPU does ($trainer, trained on the ${from/emu/emulated GPU})" \
            eval 'cmp -s "$tmp/ev-$from-$trainer-cpu.answers.txt" "$tmp/ev-$from-$trainer-emu.answers.txt" &&
                  [ -s "$tmp/ev-$from-$trainer-emu.answers.txt" ]'
    done
done
ckpt="$tmp/emu-04_train_ar/model.ckpt"
evaluate $E/06_eval cuda "$ckpt" "$tmp/ev-fused" --attention fused
check "06_eval --attention fused --device cuda answers every query as the CPU does" \
    eval 'cmp -s "$tmp/ev-emu-04_train_ar-cpu.answers.txt" "$tmp/ev-fused.answers.txt" && [ -s "$tmp/ev-fused.answers.txt" ]'
ckpt="$tmp/emu-05_train_mlmu/model.ckpt"
evaluate $B/06_eval cpu "$ckpt" "$tmp/conf-cpu" --order confidence
evaluate $E/06_eval cuda "$ckpt" "$tmp/conf-emu" --order confidence
check "06_eval --order confidence --device cuda answers every query as the CPU does" \
    eval 'cmp -s "$tmp/conf-cpu.answers.txt" "$tmp/conf-emu.answers.txt" && [ -s "$tmp/conf-emu.answers.txt" ]'
