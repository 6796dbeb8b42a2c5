/*
 * 04_train_ar.cu -- train the two-stream model left to right (AR).
 *
 * The factorization (the paper's Eq. 1):
 *
 *      log p(x) = sum_{t>=1} log p(x_t | x_<t)
 *
 * In ranks: rank[i] = i. Position i is predicted from exactly the positions
 * before it, every position after BOS is scored, and nothing a sequence
 * contains after position i can ever help predict it. That is the whole
 * objective; the rest of training (data order, AdamW, logging, checkpoints,
 * evaluation) is the shared loop in 03_model.cu.
 *
 * Why it fails backward (section 2.1): the training text has "k : v" and the
 * queries "[key_of] v :" need p(k | v). AR only ever learned p(v | k): the key
 * is never predicted from a context that contains its value.
 *
 *   usage: 04_train_ar --data data/retrieval --out runs/ar [options]   (--help)
 */
#include "03_model.cu"

/* AR ranks: rank[i] = i for the sequence, padding never context. Score all
 * positions 1..length-1 (BOS at 0 is always given), or, for a problem whose
 * prompt is context only, the answer positions. */
static void sample_ranks_ar(Batch *bt, Rng *rng, const TrainConfig *tc) {
    (void)rng; /* deterministic: AR has a single factorization */
    (void)tc;
    for (int b = 0; b < bt->B; b++)
        for (int t = 0; t < bt->lengths[b]; t++) {
            bt->ranks[b * bt->T + t] = t;
            if (t >= bt->first_scored[b]) batch_score(bt, b, t);
        }
}

#ifndef TRAINER_NO_MAIN /* the tests include this file for its rank samplers */
static RankSampler sampler_for(int objective) {
    (void)objective; /* one objective */
    return sample_ranks_ar;
}

int main(int argc, char **argv) {
    TrainOptions o;
    train_options_defaults(&o, OBJ_AR);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: 04_train_ar --data DIR --out DIR [options]\n"
                   "Trains with the left-to-right objective (rank[i] = i, every position scored).\n");
            train_options_help();
            return 0;
        }
        if (!train_options_parse(&o, argc, argv, &i)) die("unknown flag '%s' (see --help)", argv[i]);
    }
    run_training(&o, sampler_for);
    return 0;
}
#endif
