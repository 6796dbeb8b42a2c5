/*
 * 05_train_mlmu.cu -- train the two-stream model with MLM-U (or MLM at a fixed rate).
 *
 * MLM-U (section 2.2, Eq. 5): draw a masking rate r ~ U(0,1) per sequence,
 * mask each position independently with probability r, and predict every
 * masked token from all visible ones. Averaged over r this covers every way
 * of splitting a sequence into context and prediction: next token, previous
 * token, the key from its value, the value from its key. It is an absorbing
 * state discrete diffusion, and (Appendix B) the same objective as averaging
 * over all permutations (PLM).
 *
 * In ranks: visible positions have rank 0, masked positions rank 1. A masked
 * position sees every visible token (rank 0 < 1) and no masked one (1 < 1 is
 * false): the masked tokens are predicted independently given the visible ones.
 * BOS is always visible.
 *
 * MLM with a fixed rate (--objective mlm --rate r, BERT's 15% and friends) is
 * the same sampler with r fixed. Section 2.1: a fixed rate never shows the
 * model the "predict a whole entity from the rest" task when entities are
 * longer than what it masks, and it is a poor generative model at the
 * prefix-only contexts of left-to-right decoding.
 *
 * Loss: mean cross-entropy over the masked tokens of the batch (the authors'
 * later code), or with --elbo the weighting of Eq. 5: a sequence of D tokens
 * with m of them masked weights each masked token by D/m (about 1/r), so every
 * sequence counts about equally however many tokens it masks; the few-masked
 * sequences, the ones most like left-to-right decoding, are not drowned out.
 *
 *   usage: 05_train_mlmu --data data/retrieval --out runs/mlmu [options]   (--help)
 */
#include "03_model.cu"

/* MLM ranks: rank 0 visible, rank 1 masked (and scored), padding never
 * context. The rate is r ~ U(0,1) for MLM-U, tc->mlm_rate for MLM. Only
 * positions from first_scored on may be masked (a problem's prompt is always
 * visible context). */
static void sample_ranks_mlm(Batch *bt, Rng *rng, const TrainConfig *tc) {
    for (int b = 0; b < bt->B; b++) {
        float rate = tc->objective == OBJ_MLMU ? rng_uniform(rng) : tc->mlm_rate;
        int first_of_row = bt->n_scored;
        for (int t = 0; t < bt->lengths[b]; t++) {
            int masked = t >= bt->first_scored[b] && rng_uniform(rng) < rate;
            bt->ranks[b * bt->T + t] = masked ? 1 : 0;
            if (masked) batch_score(bt, b, t);
        }
        int n_masked = bt->n_scored - first_of_row, D = bt->lengths[b] - bt->first_scored[b];
        if (tc->elbo_weights) /* Eq. 5: weight D / (number masked) */
            for (int s = first_of_row; s < bt->n_scored; s++) bt->weights[s] = (float)D / n_masked;
    }
}

/* PLM ranks (XLNet; the paper's Appendix B): a uniform random order of the
 * positions 1..n-1 (BOS, rank 0, comes first). Position i is predicted from
 * BOS and the positions that come before it in that order, and every one is
 * scored: one random factorization of the joint per sequence, where AR always
 * uses the same one. For a problem, the context-only prompt keeps ranks
 * 0..a-1 and the order is drawn over the answer positions. */
static void sample_ranks_plm(Batch *bt, Rng *rng, const TrainConfig *tc) {
    (void)tc;
    int *order = (int *)xmalloc(sizeof(int) * (size_t)bt->T);
    for (int b = 0; b < bt->B; b++) {
        int first = bt->first_scored[b], n = bt->lengths[b] - first;
        for (int t = 0; t < first; t++) bt->ranks[b * bt->T + t] = t;
        for (int k = 0; k < n; k++) order[k] = k;
        rng_shuffle(rng, order, n);
        for (int k = 0; k < n; k++) {
            bt->ranks[b * bt->T + first + k] = first + order[k];
            batch_score(bt, b, first + k);
        }
    }
    free(order);
}

#ifndef TRAINER_NO_MAIN /* the tests include this file for its rank samplers */
/* The sampler for an objective. */
static RankSampler sampler_for(int objective) {
    return objective == OBJ_PLM ? sample_ranks_plm : sample_ranks_mlm;
}

int main(int argc, char **argv) {
    TrainOptions o;
    train_options_defaults(&o, OBJ_MLMU);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: 05_train_mlmu --data DIR --out DIR [options]\n"
                   "Trains with MLM-U (masking rate r ~ U(0,1) per sequence), with\n"
                   "--objective mlm MLM at the fixed rate --rate, or with --objective plm\n"
                   "the permutation objective (a random order of the positions per sequence).\n"
                   "  --objective mlm-u|mlm|plm   (default mlm-u)\n"
                   "  --rate R                fixed masking rate for mlm (default 0.15)\n"
                   "  --elbo                  weight masked tokens as in Eq. 5 (D / masked count)\n");
            train_options_help();
            return 0;
        }
        if (!strcmp(argv[i], "--objective")) {
            o.setting_flag = "--objective";
            static const char *const NAMES[] = {"mlm-u", "mlm", "plm"};
            static const int OBJECTIVES[] = {OBJ_MLMU, OBJ_MLM, OBJ_PLM};
            o.train.objective = OBJECTIVES[parse_choice("--objective", flag_value(argc, argv, &i), NAMES, 3)];
        } else if (!strcmp(argv[i], "--elbo")) {
            o.setting_flag = "--elbo";
            o.train.elbo_weights = 1;
        } else if (!strcmp(argv[i], "--rate")) {
            o.setting_flag = "--rate";
            o.train.mlm_rate = (float)parse_double("--rate", flag_value(argc, argv, &i), 0.001, 1.0);
        } else if (!train_options_parse(&o, argc, argv, &i)) {
            die("unknown flag '%s' (see --help)", argv[i]);
        }
    }
    run_training(&o, sampler_for);
    return 0;
}
#endif
