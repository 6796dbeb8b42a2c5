#!/usr/bin/env bash
# Runs every test in test/ and prints one summary line: "N passed, N failed, N skipped".
#
# A test is an executable (build/test_*) or a script (test/test_*.sh). Each prints one line
# per check, starting with "PASS: ", "FAIL: " or "SKIP: ". A test that exits non-zero without
# printing a FAIL line is counted as one failure, so a crash can never pass silently.
set -u
cd "$(dirname "$0")/.."
passed=0; failed=0; skipped=0
log_dir=build/test-logs
mkdir -p "$log_dir"
for t in build/test_* test/test_*.sh; do
    [ -x "$t" ] || [ "${t##*.}" = sh ] || continue
    name=$(basename "$t")
    log="$log_dir/$name.log"
    start=$(date +%s)
    if [ "${t##*.}" = sh ]; then bash "$t" >"$log" 2>&1; rc=$?; else "$t" >"$log" 2>&1; rc=$?; fi
    p=$(grep -c '^PASS: ' "$log"); f=$(grep -c '^FAIL: ' "$log"); s=$(grep -c '^SKIP: ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "FAIL: $name exited with status $rc" >>"$log"; fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then f=1; echo "FAIL: $name ran no check" >>"$log"; fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    printf '%-28s %3d passed %3d failed %3d skipped  (%ds)\n' "$name" "$p" "$f" "$s" $(( $(date +%s) - start ))
    grep -E '^(FAIL|SKIP): ' "$log" | sed 's/^/    /'
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
