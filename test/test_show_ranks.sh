#!/usr/bin/env bash
# --show-ranks: the picture of each objective's factorization comes from the trainers' own
# samplers, so it must obey each objective's rank rule: AR sees exactly the positions before,
# a masked position of MLM sees exactly the visible ones, PLM's ranks are a permutation, and
# "visible" is rank[j] < rank[i] everywhere.
set -u
cd "$(dirname "$0")/.."
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1"; }
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
./build/04_train_ar --show-ranks csv >"$t/ar.csv" || fail "04_train_ar --show-ranks csv exits non-zero"
./build/05_train_mlmu --show-ranks csv >"$t/mlmu.csv" || fail "05_train_mlmu --show-ranks csv exits non-zero"
./build/05_train_mlmu --objective mlm --rate 0.4 --show-ranks csv >"$t/mlm.csv" || fail "mlm --show-ranks exits non-zero"
./build/05_train_mlmu --objective plm --show-ranks csv >"$t/plm.csv" || fail "plm --show-ranks exits non-zero"
# objective,draw,position,rank,scored,context,visible
awk -F, 'NR>1 { v = ($6 < $3); if ($7 != v || $4 != $3) bad++ } END { exit bad > 0 || NR != 65 }' "$t/ar.csv" \
    && pass "AR: rank = position, and position i sees exactly j < i (64 pairs)" || fail "AR's ranks or visibility are not left to right"
for f in mlmu mlm plm; do
    awk -F, 'NR>1 { key = $2 "," $6; r[$2 "," $3] = $4; vis[$2 "," $3 "," $6] = $7; n[$2]++ }
        END { for (k in vis) { split(k, a, ","); if (vis[k] != (r[a[1] "," a[3]] < r[a[1] "," a[2]])) bad++ }
              exit bad > 0 || length(n) != 3 }' "$t/$f.csv" \
        && pass "$f: visible exactly where rank[j] < rank[i], 3 draws" || fail "$f: visibility is not rank[j] < rank[i]"
done
awk -F, 'NR>1 && $5 == 1 && $4 != 1 { bad++ } NR>1 && $5 == 0 && $4 != 0 { bad++ } END { exit bad > 0 }' "$t/mlmu.csv" \
    && pass "MLM-U: masked (scored) positions rank 1, the rest rank 0" || fail "MLM-U ranks are not 0 visible / 1 masked"
awk -F, 'NR>1 && $6 == 0 { seen[$2 "," $4]++ } END { for (k in seen) if (seen[k] != 1) bad++; exit bad > 0 || length(seen) != 24 }' "$t/plm.csv" \
    && pass "PLM: each draw's ranks are a permutation of 0..7" || fail "PLM ranks are not a permutation"
./build/04_train_ar --show-ranks | grep -q "pos 7 rank 7 \* # # # # # # # ." \
    && pass "AR text picture: the last row sees every earlier position" || fail "AR text picture is wrong"
