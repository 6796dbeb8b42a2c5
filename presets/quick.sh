# presets/quick.sh -- the quick preset: every table and figure at sizes for a 2-core CPU, about
# an hour with -j 2 and one thread a run (README, "The quick preset"). Sourced by run_all.sh,
# whose section 3 says what each setting is; the comment above a value is why it is so.
# Retrieval, two-token and relationship hold out 10% of the training questions
# (--valid-fraction 0.1): 06_eval scores the checkpoint that answers those best (best.ckpt).

small="--layers 2 --heads 4 --embd 128"

# The runs the quick hour holds: every table's contrast (AR against MLM-U, the reversed
# baselines, MLM 15%). The fixed rates 40% and 85%, PLM, BioS's masked runs and WikiReversal's
# MLM 15% are the full preset's (presets/full.sh): their cells read "-" here. (BioS's MLM-U
# needs about 8000 steps, four times the hour's share, to answer backward: the report says.)
preset_runs="retrieval/ar retrieval/ar-rev-token retrieval/mlm15 retrieval/mlmu
  relationship/ar relationship/ar-rev-entity relationship/ar-rev-entity-nodelim relationship/mlm15 relationship/mlmu
  bios/ar bios/ar-rev-token
  wiki-same/ar wiki-same/mlmu wiki-different/ar wiki-different/mlmu
  star/ar star/mlmu two-token/ar two-token/mlmu"

# ---- retrieval (Table 1 top, Table 5, Figure 9) ----
# 80% of the pairs' questions in training: MLM-U then learns the backward ones in every run (50%: some)
data_flags[retrieval]="--pairs 3000 --query-fraction 0.8"
model[retrieval]=$small
# 700 steps: AR answers forward by then, and backward it stays at 0 however long it trains
train_ar[retrieval]="--steps 700 --batch 256 --lr 3e-3 --warmup 50 --min-lr-frac 0.5 --eval-every 100 --valid-fraction 0.1"
# --ema 0.999: at lr 3e-3 the weights swing from one evaluation to the next, their average does not
train_mlm[retrieval]="--steps 6000 --batch 128 --lr 3e-3 --warmup 200 --eval-every 500 --valid-fraction 0.1 --ema 0.999"
# Eq. 5's loss weights: MLM-U learned the backward questions in 6 of 6 runs, with the plain mean 6 of 7
mlmu_extra[retrieval]="--elbo"
# (mean tokens a sequence and vocabulary size, measured from the data: --dry-run's estimate only)
avg_len[retrieval]=8; vocab_est[retrieval]=12007

# ---- two-token retrieval (Figure 7) ----
data_flags[two-token]="--pairs 1000"
model[two-token]=$small
# AR answers forward by step 1000, and backward it stays at 0; MLM-U needs 6000 steps for
# 90-99% backward (1500: 0-30%)
train_ar[two-token]="--steps 1000 --batch 128 --lr 3e-3 --warmup 200 --eval-every 500 --valid-fraction 0.1 --ema 0.999"
# no --elbo here: with it MLM-U answered 57.8% backward (seed 2), without it 98.6%
train_mlm[two-token]="--steps 6000 --batch 128 --lr 3e-3 --warmup 200 --eval-every 500 --valid-fraction 0.1 --ema 0.999"
avg_len[two-token]=6; vocab_est[two-token]=2007

# ---- relationship (Table 1 bottom, Table 7, Figure 4b/c) ----
# "B => ?" (--question-mark): without the '?' MLM-U copies B's token into the answer (0% backward).
# 3000 triples: with 2000, MLM-U answered forward on one seed of two (docs/cpu-scale-tries)
data_flags[relationship]="--triples 3000 --entity-tokens 1 --question-mark --query-fraction 0.8"
model[relationship]=$small
# weight decay 0.5 for every objective of the table: with 0.1, MLM-U's forward answers drift to
# the statements' "=>" at the answer's position once the training questions are memorized
# 1500 steps: AR peaks by step 1000-1250 and then memorizes (best.ckpt keeps the peak)
train_ar[relationship]="--steps 1500 --batch 128 --lr 3e-3 --warmup 100 --eval-every 250 --valid-fraction 0.1 --wd 0.5"
# 8000 steps: MLM-U 98.8 / 99.2 (seed 1) and 77.7 / 85.7 (seed 2, whose forward answers
# drift to "=> C" after step 4500; on another CPU the same flags gave 99.7 / 99.7)
train_mlm[relationship]="--steps 8000 --batch 128 --lr 3e-3 --warmup 200 --eval-every 500 --valid-fraction 0.1 --ema 0.999 --wd 0.5"
avg_len[relationship]=5; vocab_est[relationship]=9006

# ---- BioS (Tables 2 and 6, Figures 4a and 8) ----
# 500 people, four biographies each in shuffled sentence orders (Allen-Zhu & Li's multiplicity
# and permutation, --bios-per-person 4 --shuffle-sentences), 80% with training questions: AR
# answers 87-96% of the unseen people's forward questions from step 1000 (one biography a
# person, 3000 people: 0.5% after 3000 steps)
data_flags[bios]="--people 500 --bios-per-person 4 --shuffle-sentences --query-fraction 0.8"
model[bios]=$small
# 1500 steps (about 35 epochs): AR's forward answers level off from step 1250. In batches of one
# length (--group-by-length) AR stores the biographies more slowly (62% forward at step 1250
# against 92%), so the quick preset's AR runs mix biographies and questions in a batch
train_ar[bios]="--steps 1500 --batch 64 --lr 3e-3 --warmup 100 --eval-every 250 --valid-fraction 0.1"
# (the masked runs are the full preset's; this is their setting at the hour's scale)
train_mlm[bios]="--steps 1500 --batch 64 --lr 3e-3 --warmup 100 --eval-every 250 --valid-fraction 0.1 --ema 0.999"
avg_len[bios]=51; vocab_est[bios]=1229

# ---- WikiReversal, both splits (Tables 3 and 8, Figure 8) ----
data_flags[wiki]="--min-relation-count 30"
# one token a word (the paper: a BPE vocabulary): an entity is 1-3 tokens, a sequence 16 on
# average, and the 2949 words of the passages all in the vocabulary. With --bpe 1024 MLM-U had not
# learned the training questions after 3000 steps (2.9 / 0); with words it had by step 2500
tok_flags[wiki]=""
model[wiki]=$small
# --group-by-length: passages (up to 63 words) apart from questions (up to 18): less padding, and
# the questions' tokens weigh more. No validation hold-out: in the different-split mode it would
# take away the other direction of test questions; the last checkpoint is evaluated.
# AR memorizes its training questions by step 1000 (100 / 100 at 2000); they teach it nothing
# about the other direction
train_ar[wiki]="--steps 1500 --batch 64 --lr 3e-3 --warmup 100 --eval-every 250 --group-by-length"
# 3000 steps: MLM-U answers 17 / 8 of the different split's test questions (6000: 23 / 9)
train_mlm[wiki]="--steps 3000 --batch 64 --lr 3e-3 --warmup 200 --eval-every 500 --ema 0.999 --group-by-length"
avg_len[wiki]=16; vocab_est[wiki]=2949

# ---- star graph (Figure 5) ----
# 3-node paths: the first step is one lookup back; with 4 nodes the same model needs 16000 steps
data_flags[star]="--degree 2 --path-length 3 --nodes 30 --train-graphs 50000 --test-graphs 500"
# 4 layers: with 2, neither objective gets past 50%
model[star]="--layers 4 --heads 4 --embd 128"
# 2000 steps: MLM-U answers 98-100% from step 1500, AR stays at the Clever-Hans 50%
train_ar[star]="--steps 2000 --batch 64 --lr 1e-3 --warmup 100 --eval-every 250"
train_mlm[star]="--steps 2000 --batch 64 --lr 1e-3 --warmup 100 --eval-every 250"
avg_len[star]=28; vocab_est[star]=60
