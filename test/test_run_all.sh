#!/usr/bin/env bash
# test_run_all.sh -- the sweep driver end to end, on the smoke preset (a few
# steps of every one of the 32 runs, 26 without GenWiki, in a temporary --out directory):
#
#   * every run finishes and RESULTS-smoke.md has every table, with no cell missing
#   * a cell of the report is the number in that run's eval.csv (nothing invented)
#   * a second call skips every run; a run whose eval is deleted is done again, alone
#   * --table selects the runs of a table; --dry-run lists runs and a GPU estimate
#   * --slurm writes a job-array script with one task per run that bash accepts
#   * a run's config names its data flags (changed flags rerun it); a run made
#     with other settings is not counted in the report
#   * without the GenWiki passages the WikiReversal runs are left out, with a reason
#   * the data files run_all.sh reads (presets/, report/): an edited value reaches the
#     runs or the report, a note is one paragraph, a wrong name stops with its file and line
#   * bad options exit non-zero with a message
# Prints one PASS:/FAIL: line per check. Run from the repository root after `make`.
set -u
# The 6 WikiReversal runs read the GenWiki passages from ../shared/data (never
# copied here); where they are absent run_all.sh leaves those runs out, and so
# the sweep has 26 runs, not 32.
n_runs=32; have_wiki=1
if [ ! -f ../shared/data/genwiki-hard/test.source ]; then
    n_runs=26; have_wiki=0
    echo "SKIP: the 6 WikiReversal runs of the smoke sweep (../shared/data/genwiki-hard/test.source not found)"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

# ---- the whole smoke sweep ----
./run_all.sh --preset smoke --out "$tmp" -j 2 >"$tmp/first.log" 2>&1
rc=$?
check "run_all.sh --preset smoke exits 0 (log tail: $(tail -n 2 "$tmp/first.log" | tr '\n' ' ' | cut -c1-200))" [ "$rc" -eq 0 ]
n_eval=$(find "$tmp/runs/smoke/seed1" -name eval.csv | wc -l)
check "all $n_runs runs have an eval.csv ($n_eval)" [ "$n_eval" -eq "$n_runs" ]
report=$tmp/results/RESULTS-smoke.md
check "the report exists" [ -f "$report" ]
for t in "Table 1 (top)" "Table 1 (bottom) and Table 7" "Table 5" "Table 2 and Table 6" "Figure 4a" \
         "Table 3 and Table 8" "Figure 5" "Figure 7" "Figures 8, 9 and 4b/c"; do
    check "the report has '$t'" grep -q "^## $t" "$report"
done
# a measured cell is "number (paper)"; a run that is missing would show "- (paper)"
# (without GenWiki, Table 3/8's cells are missing, and the report says why)
cells=$(awk '/^## / { wiki = /WikiReversal/ } !wiki || have' have="$have_wiki" "$report")
check "no cell of the report is missing" [ -z "$(grep -E '^\| ' <<<"$cells" | grep -E '\| - \(')" ]
if [ "$have_wiki" = 0 ]; then
    check "the log names each WikiReversal run left out" [ "$(grep -c 'skip   wiki-.*no GenWiki passages' "$tmp/first.log")" -eq 6 ]
    check "the report says WikiReversal was not run, and why" grep -q 'Not run on this machine: the GenWiki passages' "$report"
fi
check "no run of the report is marked not run or FAILED" [ -z "$(grep -E '\| (not run|FAILED)' <<<"$cells")" ]

# the report's numbers are the runs' numbers: put known values into two eval.csv
# files, rewrite the report (--report), and read them back from their cells
ar_csv=$tmp/runs/smoke/seed1/retrieval/ar/eval.csv
awk -F, -v OFS=, '$4 == "forward" { $7 = "37.50" } { print }' "$ar_csv" >"$tmp/x" && mv "$tmp/x" "$ar_csv"
rel_csv=$tmp/runs/smoke/seed1/relationship/mlmu/eval.csv
awk -F, -v OFS=, '$4 == "forward" { $9 = "10.00" } $4 == "backward" { $9 = "31.00" } { print }' "$rel_csv" >"$tmp/x" && mv "$tmp/x" "$rel_csv"
./run_all.sh --preset smoke --out "$tmp" --report >"$tmp/report.log" 2>&1
got=$(grep '^| forward (token acc.) |' "$report" | awk -F'|' '{ print $3 }' | awk '{ print $1 }')
check "Table 5's AR forward token accuracy is retrieval/ar's eval.csv (37.5: '$got')" [ "$got" = "37.5" ]
got=$(grep '^| incorrect inference |' "$report" | awk -F'|' '{ print $8 }' | awk '{ print $1 }')
check "Table 7's MLM-U incorrect inference is the mean of relationship/mlmu's two directions (20.5: '$got')" \
    [ "$got" = "20.5" ]

# the checks: a "fails" check counts only where the model answers the other
# direction, and a check counts only if it holds on every seed
plant() { # CSV FORWARD_EM BACKWARD_EM
    awk -F, -v OFS=, -v f="$2" -v b="$3" '$4 == "forward" { $6 = f } $4 == "backward" { $6 = b } { print }' "$1" >"$tmp/x" && mv "$tmp/x" "$1"
}
tt=$tmp/runs/smoke/seed1/two-token
plant "$tt/ar/eval.csv" 100.00 0.00
./run_all.sh --preset smoke --out "$tmp" --report >"$tmp/report.log" 2>&1
check "AR 100 / 0 on two-token: 'AR fails backward' is shown" grep -q '^- shown: AR fails backward (0.0 <= 10; given AR answers forward: 100.0 >= 80)' "$report"
plant "$tt/ar/eval.csv" 0.00 0.00
./run_all.sh --preset smoke --out "$tmp" --report >"$tmp/report.log" 2>&1
check "AR 0 / 0 on two-token: 'AR fails backward' is vacuous, not shown" \
    grep -q '^- \*\*NOT shown\*\* (vacuous: AR answers forward is not so): AR fails backward (0.0 <= 10' "$report"
check "the report's summary counts the vacuous checks" grep -q 'NOT shown ([0-9]* of them vacuous)' "$tmp/report.log"
./run_all.sh --preset smoke --out "$tmp" --tasks two-token --seeds 2 >"$tmp/seed2.log" 2>&1
plant "$tt/mlmu/eval.csv" 100.00 90.00
plant "$tmp/runs/smoke/seed2/two-token/mlmu/eval.csv" 100.00 10.00
./run_all.sh --preset smoke --out "$tmp" --seeds 1,2 --report >"$tmp/report.log" 2>&1
check "MLM-U backward 90 on seed 1, 10 on seed 2: not shown, 'on some seeds only', each seed's verdict" \
    grep -q '^- \*\*NOT shown\*\* (holds on some seeds only): MLM-U answers backward (50.0 >= 80; seed 1 yes, seed 2 no)' "$report"
plant "$tmp/runs/smoke/seed2/two-token/mlmu/eval.csv" 100.00 85.00
./run_all.sh --preset smoke --out "$tmp" --seeds 1,2 --report >"$tmp/report.log" 2>&1
check "MLM-U backward 90 and 85 on seeds 1 and 2: shown (mean 87.5)" \
    grep -q '^- shown: MLM-U answers backward (87.5 >= 80; seed 1 yes, seed 2 yes)' "$report"
./run_all.sh --preset smoke --out "$tmp" --report >"$tmp/report.log" 2>&1   # back to seed 1 alone

if command -v gnuplot >/dev/null 2>&1; then
    n_png=$(ls "$tmp"/results/smoke-fig*.png 2>/dev/null | wc -l)
    n_want=$(( 7 + have_wiki ))   # (no WikiReversal curves without its runs)
    check "$n_want plots written ($n_png)" [ "$n_png" -eq "$n_want" ]
else
    echo "SKIP: plots (gnuplot not installed)"
fi

# ---- the data files: presets/ and report/ (edited in a copy of the script and its files) ----
copy=$tmp/copy
mkdir -p "$copy" && cp -r run_all.sh presets report "$copy/"
edit() { # FILE SED-SCRIPT: edit the copy's FILE; fails if the edit changed nothing
    cp "$copy/$1" "$tmp/before" && sed -i "$2" "$copy/$1" && ! cmp -s "$tmp/before" "$copy/$1"
}
restore() { rm -rf "$copy/presets" "$copy/report" && cp -r presets report "$copy/"; }
smoke_report() { "$copy/run_all.sh" --preset smoke --out "$tmp" --report >"$tmp/copy.log" 2>&1; }
edit presets/quick.sh 's/^train_ar\[star\]="--steps 2000 /train_ar[star]="--steps 2345 /' &&
    "$copy/run_all.sh" --tasks star --dry-run >"$tmp/copy.log" 2>&1
check "presets/quick.sh: a changed value is the run's flags (star/ar --steps 2345)" \
    grep -q -- '^seed1/star/ar .* 04_train_ar --steps 2345 ' "$tmp/copy.log"
edit presets/quick.sh '/^train_mlm\[star\]=/d'; "$copy/run_all.sh" --dry-run >"$tmp/copy.log" 2>&1; rc=$?
check "presets/quick.sh without train_mlm[star]: refused, naming the file and the setting" \
    eval '[ $rc -ne 0 ] && grep -q "presets/quick.sh: no train_mlm\[star\]" "$tmp/copy.log"'
restore
edit report/tables.md 's/^| accuracy \[forward EM\]  | 50  /| accuracy [forward EM]  | 49.5/' && smoke_report
check "report/tables.md: a changed paper number is the cell's (49.5)" grep -q '^| accuracy | [0-9.]* (49.5) | ' "$report"
edit report/tables.md 's/^@check star\/mlmu forward EM >= 90 /@check star\/mlmu forward EM >= 0 /' && smoke_report
check "report/tables.md: a changed threshold is the check's (MLM-U plans the path, >= 0: shown)" \
    grep -q '^- shown: MLM-U plans the path ([0-9.]* >= 0)$' "$report"
cp report/why-quick.md "$copy/report/why-smoke.md" && smoke_report
why_line=$(grep '^\*Why, at the smoke scale:\* The star graph' "$report")
check "report/why-PRESET.md: a note under a table whose check is not shown, its lines one paragraph" \
    eval '[ -n "$why_line" ] && [[ $why_line == *"(the paper: 5) and a 4-layer model: MLM-U 98-100% from step 1500"*"gets past 50%." ]]'
restore
smoke_report; cp "$report" "$tmp/good.md"
refused() { # NAME PATTERN: the copy's --report exits non-zero with PATTERN, and the report is as it was
    smoke_report; local rc=$?
    if [ $rc -ne 0 ] && grep -q -- "$2" "$tmp/copy.log" && cmp -s "$report" "$tmp/good.md" && [ ! -e "$report.tmp" ]; then
        pass "$1"; else fail "$1 (status $rc: $(head -c 200 "$tmp/copy.log"))"; fi
    restore
}
edit report/tables.md 's/^@check star\/mlmu forward/@check star\/mlmx forward/'
refused "report/tables.md: a run not in the catalogue stops the report, naming its line" "report/tables.md line [0-9]*: no run 'star/mlmx'"
edit report/tables.md 's/^@why star$/@wy star/'
refused "report/tables.md: an unknown directive stops the report" "report/tables.md line [0-9]*: no directive '@wy'"
edit report/tables.md 's/^| accuracy \[forward EM\]  | 50      | 100 /| accuracy [forward EM]  | 50 /'
refused "report/tables.md: a row without a paper number for each run stops the report" "2 runs above, 1 paper numbers"
edit report/tables.md 's/^@check star\/mlmu forward EM >= 90 /@check star\/mlmu forward EX >= 90 /'
refused "report/tables.md: an unknown column stops the report" "no column 'EX'"

# ---- skip what is done, redo what is not ----
./run_all.sh --preset smoke --out "$tmp" -j 2 >"$tmp/second.log" 2>&1
check "a second call skips all $n_runs runs" [ "$(grep -c 'skip   seed1/' "$tmp/second.log")" -eq "$n_runs" ]
rm "$tmp/runs/smoke/seed1/star/ar/eval.csv"
./run_all.sh --preset smoke --out "$tmp" -j 2 >"$tmp/third.log" 2>&1
check "a run whose eval.csv is gone runs again, and only it" \
    eval '[ "$(grep -c "start  seed1/" "$tmp/third.log")" -eq 1 ] && grep -q "start  seed1/star/ar" "$tmp/third.log" &&
          [ -f "$tmp/runs/smoke/seed1/star/ar/eval.csv" ]'

# a run depends on how its data set is made: other 01_data flags, and it runs again
check "a run's config.txt names its data set's 01_data flags" \
    grep -q -- '| data retrieval: data v[0-9]*: 01_data --task retrieval --pairs 40 .*--seed 1 | 02_tokenize' "$tmp/runs/smoke/seed1/retrieval/ar/config.txt"
if [ "$have_wiki" = 1 ]; then
    # the same passages named by a path: 01_data gets --genwiki PATH, so a new data set
    GENWIKI=$PWD/../shared/data/genwiki-hard/test.source ./run_all.sh --preset smoke --out "$tmp" --tasks wiki-same \
        --objectives ar >"$tmp/fourth.log" 2>&1
    check "changed data flags: the data set is made again and its run runs again" \
        eval 'grep -q "data  wiki-same (seed 1): .*--genwiki" "$tmp/fourth.log" && grep -q "start  seed1/wiki-same/ar" "$tmp/fourth.log"'
fi

# a run made with other settings is not counted in the report
echo "changed" >>"$tmp/runs/smoke/seed1/star/mlmu/config.txt"
./run_all.sh --preset smoke --out "$tmp" --report >"$tmp/report2.log" 2>&1
star_mlmu_cell() { awk -F'|' '/^## Figure 5/ { on = 1 } on && /^\| accuracy/ { split($4, w, " "); print w[1]; exit }' "$report"; }
check "a run made with other settings: its cell is '-' and its row says not counted" \
    eval 'grep -q "^| star/mlmu | 1 | made with other settings" "$report" && [ "$(star_mlmu_cell)" = "-" ]'

# ---- selection, dry run, SLURM ----
./run_all.sh --preset paper --table t1 --dry-run >"$tmp/dry.log" 2>&1
check "--table t1 --dry-run lists the 8 runs of Table 1" grep -q '^8 runs; estimated GPU time' "$tmp/dry.log"
./run_all.sh --preset paper --dry-run >"$tmp/dry-all.log" 2>&1
check "--preset paper --dry-run lists all 32 runs with the paper's model" \
    [ "$(grep -c -- '--layers 12 --heads 9 --embd 576' "$tmp/dry-all.log")" -eq 32 ]
./run_all.sh --tasks retrieval,two-token --dry-run >"$tmp/dry-quick.log" 2>&1
check "quick: --elbo goes to retrieval MLM-U alone, not to MLM-r, PLM or two-token MLM-U" \
    eval '[ "$(grep -c -- "--elbo" "$tmp/dry-quick.log")" -eq 1 ] && grep -q -- "^seed1/retrieval/mlmu .*--elbo" "$tmp/dry-quick.log"'
./run_all.sh --dry-run >"$tmp/dry-quick-all.log" 2>&1
check "quick: --dry-run lists the 19 runs of presets/quick.sh's preset_runs, the last run of each of its lines too" \
    eval 'grep -q "^19 runs; estimated" "$tmp/dry-quick-all.log" && grep -q "^seed1/relationship/mlmu " "$tmp/dry-quick-all.log" && grep -q "^seed1/wiki-different/mlmu " "$tmp/dry-quick-all.log" && grep -q "^seed1/bios/ar-rev-token " "$tmp/dry-quick-all.log" && grep -q "^seed1/retrieval/mlmu " "$tmp/dry-quick-all.log" && grep -q "^seed1/two-token/mlmu " "$tmp/dry-quick-all.log" && ! grep -q "^seed1/retrieval/mlm40 " "$tmp/dry-quick-all.log"'
./run_all.sh --preset paper --seeds 1,2 --tasks star --slurm "$tmp/sweep.sbatch" >"$tmp/slurm.log" 2>&1
check "--slurm writes a job array of 2 runs x 2 seeds that bash parses" \
    eval 'grep -q "^#SBATCH --array=0-3\$" "$tmp/sweep.sbatch" && bash -n "$tmp/sweep.sbatch"'

./run_all.sh --preset paper --tasks star --gpu-flags "--matmul tf32 --attention fused" --dry-run >"$tmp/dry-gpu.log" 2>&1
check "--gpu-flags reach every run's trainer flags" \
    [ "$(grep -c -- '^seed1/star/.*--matmul tf32 --attention fused' "$tmp/dry-gpu.log")" -eq 2 ]
./run_all.sh --preset paper --tasks star --gpu-flags "--matmul bf16" --slurm "$tmp/gpu.sbatch" >/dev/null 2>&1
want='--run "$run" --gpu-flags --matmul\ bf16'
check "--slurm passes --gpu-flags on to each task" eval 'grep -qF -- "$want" "$tmp/gpu.sbatch" && bash -n "$tmp/gpu.sbatch"'
./run_all.sh --preset smoke --out "$tmp/gpuflags" --tasks star --objectives ar --gpu-flags "--matmul tf32" \
    >"$tmp/gpuflags.log" 2>&1
check "--gpu-flags on the CPU: the run trains and is evaluated (the flags change nothing there)" \
    eval '[ -f "$tmp/gpuflags/runs/smoke/seed1/star/ar/eval.csv" ] && grep -q -- "--matmul tf32" "$tmp/gpuflags/runs/smoke/seed1/star/ar/config.txt"'

# ---- GenWiki missing: its runs are left out, the others run ----
GENWIKI=$tmp/none.source ./run_all.sh --preset smoke --out "$tmp/nowiki" --tasks wiki-same,star --objectives ar \
    >"$tmp/nowiki.log" 2>&1
check "GENWIKI missing: star/ar runs, wiki-same/ar is left out with a reason" \
    eval '[ -f "$tmp/nowiki/runs/smoke/seed1/star/ar/eval.csv" ] && [ ! -d "$tmp/nowiki/runs/smoke/seed1/wiki-same" ] &&
          grep -q "skip   wiki-same/ar: no GenWiki passages at $tmp/none.source" "$tmp/nowiki.log"'

# ---- bad options ----
expect_fail() { local name=$1 pattern=$2; shift 2
    "$@" >"$tmp/out" 2>&1; local rc=$?
    if [ $rc -ne 0 ] && grep -q -- "$pattern" "$tmp/out"; then pass "$name"; else fail "$name (status $rc: $(head -c 200 "$tmp/out"))"; fi; }
expect_fail "an unknown table is refused" "no table or figure 'table9'" ./run_all.sh --table table9 --dry-run
expect_fail "an unknown preset is refused" "unknown preset" ./run_all.sh --preset huge --dry-run
expect_fail "bad seeds are refused" "--seeds wants numbers" ./run_all.sh --seeds one --dry-run
expect_fail "an unknown option is refused" "unknown argument" ./run_all.sh --frobnicate
expect_fail "--gpu-flags other than --matmul and --attention are refused" "--gpu-flags takes" \
    ./run_all.sh --gpu-flags "--matmul fp8" --dry-run
expect_fail "--gpu-flags with a setting flag are refused" "--gpu-flags takes" ./run_all.sh --gpu-flags "--lr 1" --dry-run
expect_fail "only WikiReversal runs and no GenWiki: refused" "every selected run is a WikiReversal run" \
    env GENWIKI="$tmp/none.source" ./run_all.sh --preset smoke --out "$tmp/nowiki" --tasks wiki-same
