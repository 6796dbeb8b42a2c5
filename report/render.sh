# report/render.sh -- section 6 of run_all.sh, the report: results/RESULTS.md and the plots.
# Sourced by run_all.sh after the runs (it uses the catalogue, the presets and run_is_done
# from there); it measures each run's eval.csv and renders report/tables.md, the checks and
# report/why-PRESET.md into RESULTS.md, and report/figures.tsv into the plots.
#
# Every cell is "measured (paper)": the mean over the seeds that finished of
# the run's eval.csv (exact match %, token accuracy % or incorrect-inference %,
# by direction), and the paper's number. A missing run shows "-". Under each
# table: the runs behind it (seeds, steps, batch, lr, evaluated step, wall
# time) and the checks of the paper's pattern, shown or NOT shown. What the
# report says, its tables and their paper numbers, and its checks are in
# report/tables.md; this section measures and renders them.
results=$out/results
report=$results/RESULTS.md
[ "$preset" = quick ] || report=$results/RESULTS-$preset.md
mkdir -p "$results"

# A run counts only if it is done with the settings of this preset as they are
# now: a run made with other settings (say, before a data flag changed) is
# left out of the tables and the plots, and its provenance row says so.
dataset_of() { catalogue | awk -v id="$1" '$1 == id { print $2 }'; }
run_current() { run_is_done "$1" "$2" "$(dataset_of "$1")"; }   # ID SEED
# (one_seed=S limits a measurement to that seed; the checks use it to test each seed)
eval_files() { local s; for s in ${one_seed:-$seed_list}; do run_current "$1" "$s" && echo "$runs_root/seed$s/$1/eval.csv"; done; return 0; }
# eval.csv's columns, by the names report/tables.md uses
declare -A column=([EM]=6 [TOK]=7 [INC]=9)   # exact match, token accuracy, incorrect inference
# measure ID DIRECTION COLUMN: mean over seeds; DIRECTION "both" averages forward and backward
measure() {
    local files
    files=$(eval_files "$1")
    [ -n "$files" ] || { echo "-"; return; }
    # shellcheck disable=SC2086
    awk -F, -v d="$2" -v c="$3" 'FNR > 1 && ($4 == d || (d == "both" && ($4 == "forward" || $4 == "backward")) || (d == "forward" && $4 == "none")) { s += $c; n++ }
        END { if (n) printf "%.1f", s / n; else printf "-" }' $files
}

# provenance ID ...: the runs behind a table
provenance() {
    local id s dir step secs
    echo
    echo "<details><summary>runs behind this table</summary>"
    echo
    echo "| run | seed | trainer flags | evaluated step | training wall time |"
    echo "|---|---|---|---|---|"
    for id in "$@"; do
        for s in $seed_list; do
            dir=$runs_root/seed$s/$id
            if [ -f "$dir/eval.csv" ] && ! run_current "$id" "$s"; then
                echo "| $id | $s | made with other settings (see its config.txt): not counted | | |"
            elif [ -f "$dir/eval.csv" ]; then
                step=$(awk -F, 'NR == 2 { print $8 }' "$dir/eval.csv")
                secs=$(awk '$1 == "train_seconds" { print $2 " s" }' "$dir/run.txt" 2>/dev/null)
                echo "| $id | $s | \`$(cut -d'|' -f2 "$dir/config.txt" | sed 's/ --seed [0-9]*//; s/^ *//; s/ *$//')\` | $step | ${secs:--} |"
            elif [ -f "$dir/FAILED" ]; then echo "| $id | $s | FAILED: $(cat "$dir/FAILED") | | |"
            else echo "| $id | $s | not run | | |"; fi
        done
    done
    echo
    echo "</details>"
}

# check TEXT ID DIRECTION COLUMN OP VALUE-or-ID [given TEXT2 ID2 DIRECTION2 COLUMN2 OP2 VALUE2]:
# one line of the pattern checks. A check holds on a seed when "ID OP VALUE"
# does, and where it has a "given" (a "fails" check: AR fails backward only
# means something if AR answers forward) only when the given holds too: a model
# that learned nothing fails everything. It is shown only if it holds on every
# seed; the line gives the mean over seeds and, with several seeds, each one's verdict.
# A comparison ("MLM-U beats MLM 15%") has a given too: 0.4 > 0.0 is no contrast.
holds() { # ID DIRECTION COLUMN OP VALUE-or-ID -> prints "a b", exits 0 if a OP b; 2 if unmeasured
    local a b
    a=$(measure "$1" "$2" "$3")
    case "$5" in */*) b=$(measure "$5" "$2" "$3") ;; *) b=$5 ;; esac
    echo "$a $b"
    [ "$a" = "-" ] || [ "$b" = "-" ] && return 2
    awk -v a="$a" -v b="$b" -v op="$4" 'BEGIN { exit !((op == ">=" && a >= b) || (op == "<=" && a <= b) || (op == ">" && a > b)) }'
}
check() {
    local text=$1 id=$2 dir=$3 col=$4 op=$5 val=$6 gtext="" g=() ab gab="" s rc grc verdict good=0 vacuous=0 extra=""
    [ "${7:-}" = given ] && { gtext=$8; g=("${@:9:5}"); }
    ab=$(holds "$id" "$dir" "$col" "$op" "$val") && rc=0 || rc=$?
    if [ "$rc" = 2 ]; then echo "- not measured: $text"; return; fi
    if [ -n "$gtext" ]; then gab=$(holds "${g[@]}") || true; extra="; given $gtext: ${gab% *} ${g[3]} ${gab#* }"; fi
    local nseeds; nseeds=$(wc -w <<<"$seed_list")
    [ "$nseeds" -gt 1 ] && extra="$extra;"
    for s in $seed_list; do
        one_seed=$s holds "$id" "$dir" "$col" "$op" "$val" >/dev/null && rc=0 || rc=$?
        grc=0; [ -z "$gtext" ] || { one_seed=$s holds "${g[@]}" >/dev/null || grc=1; }
        if [ "$rc" = 0 ] && [ "$grc" = 0 ]; then good=$((good + 1)); verdict=yes
        elif [ "$rc" = 0 ]; then vacuous=$((vacuous + 1)); verdict=vacuous
        elif [ "$rc" = 2 ]; then verdict="not run"
        else verdict=no; fi
        [ "$nseeds" -gt 1 ] && extra="$extra seed $s $verdict,"
    done
    extra=${extra%,}
    if [ "$good" = "$nseeds" ]; then echo "- shown: $text (${ab% *} $op ${ab#* }$extra)"; return; fi
    if [ "$good" -gt 0 ]; then echo "- **NOT shown** (holds on some seeds only): $text (${ab% *} $op ${ab#* }$extra)"
    elif [ "$vacuous" -gt 0 ]; then echo "- **NOT shown** (vacuous: $gtext is not so): $text (${ab% *} $op ${ab#* }$extra)"
    else echo "- **NOT shown**: $text (${ab% *}, wanted $op ${ab#* }$extra)"; fi
    not_shown=$((not_shown + 1))
}
# why KEY: after a table's checks, if one was NOT shown, what the measurements
# say about why at this preset: KEY's note in report/why-PRESET.md, its lines
# joined into one paragraph (a preset without that file has no notes)
not_shown=0
why() {
    local note="" notes=report/why-$preset.md
    if [ "$not_shown" -gt 0 ] && [ -f "$notes" ]; then
        note=$(awk -v k="$1" '/^\/\// { next } /^## / { on = ($2 == k); next } on && NF { printf "%s%s", sep, $0; sep = " " }' "$notes")
    fi
    if [ -n "$note" ]; then echo; echo "*Why, at the $preset scale:* $note"; fi
    not_shown=0
}

# ---- the plots (gnuplot; where it is missing the tables still come out) ----
# report/figures.tsv lists them, report/*.gp draws each kind; from the first seed's runs.
first_seed=${seed_list%% *}
fig=""; [ "$preset" = quick ] || fig="$preset-"   # plot file prefix: results/[PRESET-]figN.png
plot() { # KIND OUT ARG...: report/KIND.gp draws results/OUT
    gnuplot -c "report/$1.gp" "$results/$2.tmp" "${@:3}" && mv "$results/$2.tmp" "$results/$2"
}
# curves OUT TITLE XCOL XLABEL RUN:LABEL ...: test exact match (log.csv columns
# 7 forward, 8 backward; the star graph has no backward) of each run, against column XCOL
curves() {
    local out=$1 title=$2 xcol=$3 xlabel=$4 spec lines="" f
    shift 4
    for spec in "$@"; do
        f=$runs_root/seed$first_seed/${spec%%:*}/log.csv
        [ -f "$f" ] && run_current "${spec%%:*}" "$first_seed" || continue
        lines="$lines${lines:+, }'$f' using $xcol:(strcol(7) eq \"\" ? NaN : \$7) with linespoints title '${spec#*:} forward'"
        [ "${spec%%/*}" = star ] || lines="$lines, '$f' using $xcol:(strcol(8) eq \"\" ? NaN : \$8) with linespoints dt 2 title '${spec#*:} backward'"
    done
    [ -z "$lines" ] || plot curves "$out" "$title" "$xlabel" "$lines"
}
# pca_plot OUT TITLE RUN: the entity PCA of 06_eval --pca
pca_plot() {
    local f=$runs_root/seed$first_seed/$3/pca.csv
    [ -f "$f" ] && run_current "$3" "$first_seed" || return 0
    plot pca "$1" "$2" "$f" "$(sed -n 's/.*(together \([0-9.]*%\)).*/\1/p' "$f")"
}
# bars OUT TITLE RUN:LABEL ...: each run's backward exact match, one bar a run
bars() {
    local out=$1 title=$2 spec v data=""
    shift 2
    for spec in "$@"; do
        v=$(measure "${spec%%:*}" backward "${column[EM]}")
        [ "$v" = "-" ] || data="$data\"${spec#*:}\" $v\n"
    done
    [ -n "$data" ] || return 0
    printf "%b" "$data" >"$results/$out.dat"
    plot bars "$out" "$title" "$results/$out.dat"
    rm -f "$results/$out.dat"
}
if command -v gnuplot >/dev/null 2>&1; then
    while IFS=$'\t' read -r -a f; do
        case "${f[0]}" in ""|"#"*) continue ;; esac
        case "${f[1]}" in
            curves) curves "$fig${f[0]}" "${f[4]}" "${f[2]}" "${f[3]}" "${f[@]:5}" ;;
            pca) pca_plot "$fig${f[0]}" "${f[4]}" "${f[5]}" ;;
            bars) bars "$fig${f[0]}" "${f[4]}" "${f[@]:5}" ;;
            *) die "report/figures.tsv: '${f[0]}' has no kind '${f[1]}' (curves, pca, bars)" ;;
        esac
    done <report/figures.tsv
    plots=made
else
    plots="skipped: gnuplot not found (apt-get install gnuplot-nox); the tables are complete without them"
fi

# ---- RESULTS.md: report/tables.md rendered (its first lines say how to read it) ----
declare -A value=([preset]=$preset [seeds]=$seeds [date]=$(date -u +%Y-%m-%d) [machine]=$(uname -n) [cores]=$cores
    [cpu]=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown CPU)
    [build]=$B [runs_root]=$runs_root [genwiki_source]=$genwiki_source)
# A name the file gets wrong stops the report (no partial RESULTS.md), naming its line ($where).
known_run() { [ -n "$(dataset_of "$1")" ] || die "$where: no run '$1' in presets/catalogue.txt"; }
known_measure() { # ID DIRECTION COLUMN
    known_run "$1"
    case "$2" in forward|backward|both) ;; *) die "$where: no direction '$2' (forward, backward, both)" ;; esac
    [ -n "${column[$3]:-}" ] || die "$where: no column '$3' (EM, TOK, INC)"
}
known_condition() { # ID DIRECTION COLUMN OP VALUE TEXT...
    known_measure "$1" "$2" "$3"
    case "$4" in ">="|"<="|">") ;; *) die "$where: no comparison '$4' (>=, <=, >)" ;; esac
    case "$5" in */*) known_run "$5" ;; *[!0-9.]*|"") die "$where: '$5' is neither a number nor a run" ;; esac
    [ -n "${6:-}" ] || die "$where: the check has no text"
}
fill() { # LINE -> the line with its {name} and {ID DIRECTION COLUMN} filled in
    local line=$1 k
    for k in "${!value[@]}"; do line=${line//"{$k}"/"${value[$k]}"}; done
    while [[ $line =~ \{([^{} ]+/[^{} ]+)\ ([a-z]+)\ ([A-Z]+)\} ]]; do
        known_measure "${BASH_REMATCH[@]:1}"
        line=${line/"${BASH_REMATCH[0]}"/"$(measure "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${column[${BASH_REMATCH[3]}]}")"}
    done
    printf '%s\n' "$line"
}
render() { # TEMPLATE: writes the report
    local lines=() ids=() cells=() c=() g=() i k line where label dir col out file text
    mapfile -t lines <"$1"
    for ((i = 0; i < ${#lines[@]}; i++)); do
        line=${lines[i]}; where="$1 line $((i + 1))"
        case "$line" in
        //*) ;;
        "|"*)   # a table line: the runs of its columns, a measured row, or markdown as it is
            IFS='|' read -r -a cells <<<"${line#|}"
            for k in "${!cells[@]}"; do read -r "cells[k]" <<<"${cells[k]}"; done
            if [ "${cells[0]}" = runs ]; then
                ids=("${cells[@]:1}")
                for k in "${ids[@]}"; do known_run "$k"; done
            elif [[ ${cells[0]} =~ ^(.*)\ \[([a-z]+)\ ([A-Z]+)\]$ ]]; then
                label=${BASH_REMATCH[1]} dir=${BASH_REMATCH[2]} col=${BASH_REMATCH[3]}
                [ "$(( ${#cells[@]} - 1 ))" = "${#ids[@]}" ] || die "$where: ${#ids[@]} runs above, $(( ${#cells[@]} - 1 )) paper numbers"
                known_measure "${ids[0]}" "$dir" "$col"
                out="| $label |"
                for ((k = 1; k < ${#cells[@]}; k++)); do out="$out $(measure "${ids[k - 1]}" "$dir" "${column[$col]}") (${cells[k]}) |"; done
                echo "$out"
            else fill "$line"; fi ;;
        "@provenance "*)
            for k in ${line#@provenance }; do known_run "$k"; done
            provenance ${line#@provenance } ;;
        "@check "*)
            read -r -a c <<<"${line#@check }"; known_condition "${c[@]}"
            g=()
            if [[ ${lines[i + 1]:-} == "@given "* ]]; then
                i=$((i + 1)); where="$1 line $((i + 1))"
                read -r -a g <<<"${lines[i]#@given }"; known_condition "${g[@]}"
                g=(given "${g[*]:5}" "${g[0]}" "${g[1]}" "${column[${g[2]}]}" "${g[3]}" "${g[4]}")
            fi
            check "${c[*]:5}" "${c[0]}" "${c[1]}" "${column[${c[2]}]}" "${c[3]}" "${c[4]}" "${g[@]}" ;;
        "@given "*) die "$where: @given is not right after a @check" ;;
        "@why "*) why "${line#@why }" ;;
        "@image "*) line=${line#@image }
            if [ -f "$results/$fig${line##* }" ]; then echo; echo "![${line% *}]($fig${line##* })"; fi ;;
        "@missing "*) read -r file text <<<"${line#@missing }"
            if [ ! -f "$(fill "$file")" ]; then fill "$text"; fi ;;
        @*) die "$where: no directive '${line%% *}' (see the file's first lines)" ;;
        *) fill "$line" ;;
        esac
    done
}
trap 'rm -f "$report.tmp"' EXIT
render report/tables.md >"$report.tmp"
mv "$report.tmp" "$report"
echo
sed -n '/^## Table 1 (top)/,/^<details>/p' "$report" | grep -v '^<details>'
echo "report: $report (every table, the runs behind each, the pattern checks); plots: $plots"
echo "pattern checks: $(grep -c '^- shown' "$report") shown, $(grep -c '^- \*\*NOT shown' "$report") NOT shown ($(grep -c '^- \*\*NOT shown\*\* (vacuous' "$report") of them vacuous), $(grep -c '^- not measured' "$report") not measured"
[ "$report_only" = 1 ] || echo "total time: $(( $(date +%s) - start )) s"
