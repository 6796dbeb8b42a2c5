# presets/paper.sh -- the paper's sizes where it gives them (Appendix E.3, G), for a GPU: the
# 12-layer, 9-head, 576-wide encoder-decoder; BioS with 10k people; WikiReversal with lr 5e-5
# for MLM-U and 3e-4 for AR and MLM, 1% warmup, 1500 epochs. Where the paper does not give
# them (the retrieval, relationship and star sizes), our choices. Sourced by run_all.sh.

big="--layers 12 --heads 9 --embd 576"   # the paper's model (Appendix E.3), for every task

# ---- retrieval (Table 1 top, Table 5, Figure 9) ----
data_flags[retrieval]="--pairs 10000"
model[retrieval]=$big
train_ar[retrieval]="--steps 20000 --batch 256 --lr 3e-4 --warmup 200 --wd 0.01 --eval-every 1000"
train_mlm[retrieval]="--steps 60000 --batch 256 --lr 1e-4 --warmup 600 --wd 0 --eval-every 2000"
# (mean tokens a sequence and vocabulary size at these sizes: --dry-run's estimate only)
avg_len[retrieval]=8; vocab_est[retrieval]=40007

# ---- two-token retrieval (Figure 7) ----
data_flags[two-token]="--pairs 10000"
model[two-token]=$big
train_ar[two-token]="--steps 20000 --batch 256 --lr 3e-4 --warmup 200 --wd 0.01 --eval-every 1000"
train_mlm[two-token]="--steps 60000 --batch 256 --lr 1e-4 --warmup 600 --wd 0 --eval-every 2000"
avg_len[two-token]=6; vocab_est[two-token]=20007

# ---- relationship (Table 1 bottom, Table 7, Figure 4b/c) ----
# "B => ?": without the '?' MLM-U copies B's token into the answer
data_flags[relationship]="--triples 10000 --question-mark"
model[relationship]=$big
train_ar[relationship]="--steps 20000 --batch 256 --lr 3e-4 --warmup 200 --wd 0.01 --eval-every 1000"
train_mlm[relationship]="--steps 60000 --batch 256 --lr 1e-4 --warmup 600 --wd 0 --eval-every 2000"
avg_len[relationship]=5; vocab_est[relationship]=60006

# ---- BioS (Tables 2 and 6, Figures 4a and 8) ----
# 10k people (Appendix G)
data_flags[bios]="--people 10000"
tok_flags[bios]="--bpe 4096"
model[bios]=$big
train_ar[bios]="--steps 60000 --batch 256 --lr 3e-4 --warmup 600 --wd 0.01 --eval-every 2000 --eval-limit 2000"
train_mlm[bios]="--steps 120000 --batch 256 --lr 1e-4 --warmup 1200 --wd 0 --eval-every 4000 --eval-limit 2000"
avg_len[bios]=50; vocab_est[bios]=4096

# ---- WikiReversal, both splits (Tables 3 and 8, Figure 8) ----
data_flags[wiki]="--min-relation-count 30"
tok_flags[wiki]="--bpe 8192"
model[wiki]=$big
# the paper's lr 3e-4 for AR, 5e-5 for MLM-U, 1% warmup (Appendix G); MLM-r shares MLM-U's setting
train_ar[wiki]="--steps 7000 --batch 256 --lr 3e-4 --warmup 70 --wd 0.01 --eval-every 500"
train_mlm[wiki]="--steps 7000 --batch 256 --lr 5e-5 --warmup 70 --wd 0 --eval-every 500"
avg_len[wiki]=35; vocab_est[wiki]=8192

# ---- star graph (Figure 5) ----
data_flags[star]="--degree 2 --path-length 5 --nodes 50 --train-graphs 200000 --test-graphs 1000"
model[star]=$big
train_ar[star]="--steps 40000 --batch 256 --lr 3e-4 --warmup 400 --wd 0.01 --eval-every 2000"
train_mlm[star]="--steps 80000 --batch 256 --lr 1e-4 --warmup 800 --wd 0 --eval-every 4000"
avg_len[star]=47; vocab_est[star]=60
