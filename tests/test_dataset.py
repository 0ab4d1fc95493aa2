"""Cleaning and splitting labelled rows, without TensorFlow."""
import pandas as pd
import pytest

from predictor import dataset
from predictor.errors import UserError


def rows_of(table, labels=("sentiment",)):
    return dataset.labelled_rows(pd.DataFrame(table), "review", list(labels), "t.csv")


def test_rows_scoring_would_not_score_are_dropped_and_counted_numeric_labels_become_text():
    # The text column follows predictor/cells.py, as scoring does: a number is not a review to learn from.
    rows = rows_of({"review": ["fine", "", None, 3.0, "ok", "👍", "ok"],
                    "sentiment": ["pos", "neg", "pos", 1, " ", 1, 2.0]})
    assert rows.frame[dataset.TEXT].tolist() == ["fine", "👍", "ok"]
    assert rows.frame[dataset.LABEL].tolist() == ["pos", "1", "2"]
    assert rows.dropped == {"empty text": 2, "not text (number)": 1, "blank label": 1} and rows.read == 7


def test_split_is_stratified_seeded_and_keeps_every_class_on_both_sides():
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 3
    rows = rows_of({"review": [f"text {i}" for i in range(83)], "sentiment": labels})
    train, val = dataset.split_rows(rows, 0.1, seed=1)
    assert val[dataset.LABEL].value_counts().to_dict() == {"a": 5, "b": 3, "c": 1}
    assert set(train[dataset.LABEL]) == {"a", "b", "c"} and len(train) + len(val) == 83
    assert not set(train[dataset.TEXT]) & set(val[dataset.TEXT])
    again_train, again_val = dataset.split_rows(rows, 0.1, seed=1)
    assert again_val.equals(val) and again_train.equals(train)
    assert not dataset.split_rows(rows, 0.1, seed=2)[1].equals(val)


def test_multilabel_cells_accept_0_1_forms_and_name_bad_rows():
    rows = rows_of({"review": ["a", "b", "c"], "x": [1, "0", 1.0], "y": ["1", 0, "TRUE"]}, labels=("x", "y"))
    assert rows.multilabel and rows.frame[["x", "y"]].values.tolist() == [[1, 1], [0, 0], [1, 1]]
    with pytest.raises(UserError, match=r"row 3: 'maybe'"):
        rows_of({"review": ["a", "b"], "x": [1, "maybe"], "y": [0, 1]}, labels=("x", "y"))


def test_a_label_never_on_cannot_be_learnt():
    rows = rows_of({"review": ["a", "b", "c"], "x": [1, 0, 1], "y": [0, 0, 0]}, labels=("x", "y"))
    with pytest.raises(UserError, match=r"column\(s\) y in t.csv are never 1"):
        dataset.check_classes(rows, "t.csv")
