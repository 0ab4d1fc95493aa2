"""What a user would otherwise pick: TF-IDF + logistic regression (scikit-learn) and ktrain's own NBSVM.

Each function trains on (texts, labels), predicts the test texts and returns predictions plus timings. Labels are
class names (single-label) or a 0/1 matrix (multi-label, TF-IDF only). Run them through bench.common.isolated so
that each model's peak RSS is its own.

Equal work: a baseline trains on every row the product saw (`rows_the_product_saw`) and reads every text cleaned as
the product reads it by default (`readable`), so a difference in accuracy is the model's, not the data's.
"""
import time

import numpy as np
import pandas as pd

import predictor  # noqa: F401  (before TensorFlow)
from bench.common import log
from predictor import markup
from predictor.training import NBSVM_RECIPE

# scikit-learn defaults apart from the features: word 1-2 grams, sublinear tf, terms seen in at least 2 texts.
# Not tuned: this is the first thing a practitioner would try.
TFIDF = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2}
LOGREG = {"max_iter": 1000}  # C=1.0, lbfgs: scikit-learn's defaults
MARKUP = markup.HTML  # train.py's default: HTML turned into the text a reader sees (predictor/markup.py)


def rows_the_product_saw(train_df, val_df):
    """The product's training rows and its validation rows, which chose its blend weight and its precision: training
    data to the product, so training rows to a baseline."""
    return pd.concat([train_df, val_df], ignore_index=True)


def readable(texts):
    """The texts as the product reads them by default (markup turned into text)."""
    return [markup.to_text(str(text), MARKUP) for text in texts]

# ktrain's IMDb NBSVM recipe, the one the product's NBSVM member uses (predictor/training/members.py).
NBSVM = NBSVM_RECIPE


def tfidf_logreg(train_texts, train_labels, test_texts, multilabel=False):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline

    classifier = LogisticRegression(**LOGREG)
    if multilabel:
        classifier = OneVsRestClassifier(classifier)
    model = make_pipeline(TfidfVectorizer(**TFIDF), classifier)
    started = time.perf_counter()
    model.fit(readable(train_texts), np.asarray(train_labels))
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    predicted = model.predict(readable(test_texts))
    eval_s = time.perf_counter() - started
    log(f"TF-IDF+LR: trained on {len(train_texts):,} in {train_s:.1f}s, predicted {len(test_texts):,} in {eval_s:.1f}s")
    return {"pred": np.asarray(predicted).tolist(), "train_s": round(train_s, 4), "eval_s": round(eval_s, 4),
            "settings": {"tfidf": {**TFIDF, "ngram_range": list(TFIDF["ngram_range"])}, "logreg": LOGREG,
                         "one_vs_rest": multilabel, "markup": MARKUP}}


def nbsvm(train_texts, train_labels, test_texts, seed=42):
    import ktrain
    import tensorflow as tf
    from ktrain import text

    tf.keras.utils.set_random_seed(seed)
    classes = sorted(set(train_labels))
    y = np.array([classes.index(label) for label in train_labels])
    train_texts, test_texts = readable(train_texts), readable(test_texts)
    started = time.perf_counter()
    # ktrain wants a validation set; a few training rows serve (only printed per epoch, never used to choose).
    trn, val, preproc = text.texts_from_array(
        list(train_texts), y, x_test=list(train_texts[:100]), y_test=y[:100], class_names=classes,
        max_features=NBSVM["max_features"], maxlen=NBSVM["maxlen"], ngram_range=NBSVM["ngram_range"],
        preprocess_mode="standard", lang="en", random_state=seed, verbose=0)
    model = text.text_classifier("nbsvm", trn, preproc=preproc, verbose=0)
    learner = ktrain.get_learner(model, train_data=trn, val_data=val, batch_size=NBSVM["batch_size"])
    learner.autofit(NBSVM["lr"], NBSVM["epochs"], verbose=0)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    x_test = preproc.preprocess_test(list(test_texts), verbose=0)
    x_test = x_test[0] if isinstance(x_test, tuple) else x_test
    probabilities = learner.model.predict(x_test, batch_size=256, verbose=0)
    eval_s = time.perf_counter() - started
    log(f"NBSVM: trained on {len(train_texts):,} in {train_s:.1f}s, predicted {len(test_texts):,} in {eval_s:.1f}s")
    return {"pred": [classes[i] for i in np.asarray(probabilities).argmax(axis=1)], "train_s": round(train_s, 4),
            "eval_s": round(eval_s, 4), "settings": {**NBSVM, "recipe": "ktrain tutorial-04 (IMDb NBSVM)",
                                                                 "markup": MARKUP}}
