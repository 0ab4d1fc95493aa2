"""How train.py --unlabelled learns, chosen on dev rows: which share of the first model's labels to keep, and whether
training BERT again on them pays beside training NBSVM again (issue 20).

    python -m bench.self_training           # IMDB: 500 labels, 20,000 unlabelled reviews, 2,000 dev rows (~60 min)
    python -m bench.self_training --quick   # 100 labels, 400 unlabelled, 100 dev rows, 1 epoch: a smoke check

The rows are bench.unlabelled's: bench.lowdata's 500 labelled rows (10% as --val-data), 20,000 other imdb_train
reviews with their labels dropped, and bench.defaults' dev rows, which neither holds. imdb_test is never read.
1. The first model: train.py on the labelled rows alone; it scores the dev rows and the unlabelled reviews.
2. For each share, the surest share of each label it gave (predictor/unlabelled.pseudo_labelled) joins the labelled
   rows and NBSVM alone is trained again (seconds), blended with the first BERT at the weight the validation rows
   choose, as train.py chooses it.
3. At the share that scored best, the whole model is trained again by train.py on the same rows (BERT too, at the first
   model's learning rate), as train.py --unlabelled does.
Both are judged on the dev rows; the results file says which was better, and at what cost in time.
"""
import numpy as np
import pandas as pd

import predictor  # noqa: F401  (before TensorFlow)
from bench import bert
from bench.common import Run, Steps, isolated, load, log, parser, single_label_scores, split_validation
from bench.imdb import LABEL, SAMPLE_SEED, SPLIT_SEED, TEXT, VAL_FRACTION
from bench.unlabelled import DEV_ROWS, LABELLED, POOL_SEED, UNLABELLED, labelled_pool_and_dev

SHARES = (0.25, 0.35, 0.5, 0.7, 1.0)


def main(argv=None):
    args = parser(__doc__).parse_args(argv)
    quick = args.quick
    labelled, pool_rows, dev_rows = (100, 400, 100) if quick else (LABELLED, UNLABELLED, DEV_ROWS)
    epochs, maxlen, lr = (1, 64, 5e-5) if quick else (None, None, None)  # None: train.py's own choice
    run = Run("self_training", quick, {
        "labelled": labelled, "unlabelled": pool_rows, "dev_rows": dev_rows, "shares": list(SHARES),
        "epochs": epochs or "auto (train.py)", "maxlen": maxlen or "auto (train.py)",
        "lr": lr or "auto (train.py lr_find)", "val_fraction": VAL_FRACTION, "sample_seed": SAMPLE_SEED,
        "split_seed": SPLIT_SEED, "pool_seed": POOL_SEED, "data": ["../shared/data/imdb_train.csv.gz"]})
    chosen, pool, dev = labelled_pool_and_dev(load("imdb_train"), labelled, pool_rows, dev_rows)
    train_df, val_df = split_validation(chosen, LABEL, VAL_FRACTION, SPLIT_SEED)
    steps = Steps({"first model": 300 + (dev_rows + pool_rows) / 45, "NBSVM again": 60 * len(SHARES),
                   "whole model again": 2400 if not quick else 120})
    steps.start("first model")
    texts = dev[TEXT].tolist() + pool[TEXT].tolist()
    first, _, _ = isolated(bert.train_and_score, "self-training-first", train_df, val_df, TEXT, [LABEL], texts,
                           epochs=epochs, maxlen=maxlen, lr=lr, seed=SPLIT_SEED)
    steps.finish("first model")
    classes, y_dev = first["classes"], dev[LABEL].tolist()
    members = {kind: p[:len(dev)] for kind, p in first["member_probabilities"].items()}
    given = blend(first, slice(len(dev), None))
    dev_scores = {"first model": single_label_scores(y_dev, bert.single_label_predictions(first)[:len(dev)]),
                  "first model: bert alone": score(y_dev, classes, members["bert"]),
                  "first model: nbsvm alone": score(y_dev, classes, members["nbsvm"])}
    steps.start("NBSVM again")
    by_share = {}
    for share in SHARES:
        rows = pseudo_rows(pool[TEXT].tolist(), given, classes, share)
        by_share[str(share)], _, _ = isolated(nbsvm_again, train_df, val_df, rows, dev[TEXT].tolist(), first, classes,
                                              y_dev)
        by_share[str(share)]["joined"] = len(rows)
        by_share[str(share)]["joined_labels_right"] = joined_accuracy(rows, pool, classes)
        log(f"share {share}: {len(rows):,} joined; dev {by_share[str(share)]['hybrid']['accuracy']:.4f}")
    steps.finish("NBSVM again")
    best = max(SHARES, key=lambda s: (by_share[str(s)]["hybrid"]["accuracy"], -abs(s - 0.5)))
    steps.start("whole model again")
    rows = pseudo_rows(pool[TEXT].tolist(), given, classes, best)
    both = pd.concat([train_df, rows.rename(columns={"text": TEXT, "label": LABEL})], ignore_index=True)
    again, _, _ = isolated(bert.train_and_score, "self-training-again", both, val_df, TEXT, [LABEL],
                           dev[TEXT].tolist(), epochs=epochs, maxlen=maxlen, lr=first["lr"]["chosen"],
                           seed=SPLIT_SEED)
    steps.finish("whole model again")
    whole = {"hybrid": single_label_scores(y_dev, bert.single_label_predictions(again)),
             "bert alone": single_label_scores(y_dev, bert.single_label_predictions(again, "bert")),
             "nbsvm alone": single_label_scores(y_dev, bert.single_label_predictions(again, "nbsvm")),
             "train_s": again["train_s"], "epochs": again["epochs"], "bert_weight": again["bert_weight"],
             "durations_s": again["durations_s"]}
    run.results.update({
        "first_model": {"dev": dev_scores, "train_s": first["train_s"], "bert_weight": first["bert_weight"],
                        "lr": first["lr"], "pool_scoring_rows_per_s": first["eval_rows_per_s"]},
        "nbsvm_again_by_share": by_share, "best_share": best, "whole_model_again_at_best_share": whole,
        "better": "whole model again" if whole["hybrid"]["accuracy"] > by_share[str(best)]["hybrid"]["accuracy"]
        else "NBSVM again"})
    for share in SHARES:
        s = by_share[str(share)]
        run.row(f"self-training, NBSVM again, share {share}", f"{labelled} labels + {len(pool):,} unlabelled / dev "
                f"{len(dev):,}", f"acc {s['hybrid']['accuracy']:.4f}")
    run.row(f"self-training, whole model again, share {best}", f"{labelled} labels + {len(pool):,} unlabelled / dev "
            f"{len(dev):,}", f"acc {whole['hybrid']['accuracy']:.4f}", f"train {whole['train_s'] / 60:.0f} min")
    run.note("Dev rows only: imdb_test is not read. One sample and one seed: gaps under a point are within noise.")
    run.finish()


def blend(result, where):
    """The first model's members blended at its weight, uncalibrated, as train.py labels the unlabelled reviews."""
    from predictor import hybrid

    members = result["member_probabilities"]
    return hybrid.combine(members["bert"][where], members["nbsvm"][where], result["bert_weight"])


def pseudo_rows(texts, probabilities, classes, share):
    from predictor import markup, unlabelled

    return unlabelled.pseudo_labelled([markup.to_text(t, markup.HTML) for t in texts], probabilities, classes, share)


def joined_accuracy(rows, pool, classes):
    """How many of the labels that joined are right (the pool's true labels, never shown to the model)."""
    from predictor import markup

    truth = dict(zip((markup.to_text(t, markup.HTML) for t in pool[TEXT]), pool["true_label"]))
    return round(float(np.mean([truth[t] == label for t, label in zip(rows["text"], rows["label"])])), 4)


def score(y, classes, probabilities):
    return single_label_scores(y, [classes[i] for i in probabilities.argmax(axis=1)])


def nbsvm_again(train_df, val_df, rows, dev_texts, first, classes, y_dev):
    """NBSVM trained on the labelled and joined rows, blended with the first model's BERT at the weight the
    validation rows choose (hybrid.choose_weights, as train.py does); its and the blend's dev scores."""
    import time

    from predictor import hybrid, markup, model_folder
    from predictor.models import BertMember
    from predictor.training import nbsvm_predictor

    clean = lambda texts: [markup.to_text(t, markup.HTML) for t in texts]  # noqa: E731
    texts = clean(train_df[TEXT]) + rows["text"].tolist()
    y = np.array([classes.index(c) for c in list(train_df[LABEL]) + rows["label"].tolist()])
    started = time.perf_counter()
    nbsvm = nbsvm_predictor(texts, y, classes, SPLIT_SEED)
    fit_s = time.perf_counter() - started
    info = model_folder.read(first["model_dir"])
    bert_member = BertMember.load(first["model_dir"], info.record.maxlen, info.record.reading)
    val_texts, y_val = clean(val_df[TEXT]), np.array([classes.index(c) for c in val_df[LABEL]])
    weight, _ = hybrid.choose_weights(y_val, bert_member.predict(val_texts), nbsvm.predict(val_texts,
                                                                                           return_proba=True), False)
    on_dev = nbsvm.predict(clean(dev_texts), return_proba=True)
    return {"hybrid": score(y_dev, classes, hybrid.combine(first["member_probabilities"]["bert"][:len(dev_texts)],
                                                         on_dev, weight)),
            "nbsvm alone": score(y_dev, classes, on_dev), "bert_weight": weight, "fit_s": round(fit_s, 1)}


if __name__ == "__main__":
    main()
