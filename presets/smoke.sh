# presets/smoke.sh -- a few steps of every run, with a tiny model: checks the whole sweep and
# the report end to end in seconds (test/test_run_all.sh runs it). Sourced by run_all.sh.

data_flags=(
    [retrieval]="--pairs 40" [two-token]="--pairs 40" [relationship]="--triples 40 --question-mark"
    [bios]="--people 40" [wiki]="--min-relation-count 30" [star]="--train-graphs 60 --test-graphs 20"
)
tok_flags[wiki]="--bpe 300"
tiny="--layers 1 --heads 2 --embd 16"
steps="--steps 6 --batch 8 --lr 3e-3 --warmup 2 --eval-every 3 --eval-limit 20"
for task in retrieval two-token relationship bios wiki star; do
    model[$task]=$tiny; train_ar[$task]=$steps; train_mlm[$task]=$steps
done
# the quick preset's sequence lengths and vocabularies (--dry-run's estimate only)
avg_len=([retrieval]=8 [two-token]=6 [relationship]=5 [bios]=40 [wiki]=25 [star]=28)
vocab_est=([retrieval]=12007 [two-token]=2007 [relationship]=6006 [bios]=1300 [wiki]=1024 [star]=60)
