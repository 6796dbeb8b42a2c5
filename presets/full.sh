# presets/full.sh -- every run of every table, with the budgets that the single runs measured
# one at a time (docs/cpu-scale-tries) need; each table's runs are sized for at most about two
# hours with -j 2 on a 2-core CPU (./run_all.sh --preset full --table tN). Sourced by
# run_all.sh; the quick preset's settings are the start, and only what differs is below.

source presets/quick.sh

# every run of the catalogue: the fixed rates 40% and 85% and PLM beside the quick ones
preset_runs=""

# ---- BioS (Tables 2 and 6, Figures 4a and 8) ----
# 8000 steps for the masked runs: MLM-U answered 23 / 6 at step 4000, forward still rising
train_mlm[bios]="--steps 8000 --batch 64 --lr 3e-3 --warmup 200 --eval-every 500 --valid-fraction 0.1 --ema 0.999"

# ---- WikiReversal, both splits (Tables 3 and 8, Figure 8) ----
# 2000 steps: AR memorizes the training questions and answers 0.0 / 1.0 of the unseen ones,
# MLM-U 0.0 / 0.0 (no CPU-scale recipe found yet; docs/cpu-scale-tries)
train_ar[wiki]="--steps 2000 --batch 64 --lr 3e-3 --warmup 100 --eval-every 250"
train_mlm[wiki]="--steps 2000 --batch 64 --lr 3e-3 --warmup 100 --eval-every 250"

# ---- star graph (Figure 5) ----
# 4-node paths, as near G(2, 5, 50) as an hour a run allows: AR 53.6, MLM-U 99.4 at step 16000
data_flags[star]="--degree 2 --path-length 4 --nodes 30 --train-graphs 50000 --test-graphs 500"
train_ar[star]="--steps 16000 --batch 64 --lr 1e-3 --warmup 100 --eval-every 1000"
train_mlm[star]="--steps 16000 --batch 64 --lr 1e-3 --warmup 100 --eval-every 1000"
avg_len[star]=34
