"""The label audit (predictor/audit.py): out-of-fold NBSVM probabilities ranked by cleanlab, label_issues.csv, and
the page's tab that turns decisions into corrections."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO, read_json, sentiment_rows
from predictor import audit, model_folder
from predictor.tables import writing
from predictor.corrections import CorrectionsStore, store_path

APP = REPO / "app.py"
CLASSES = ["negative", "neutral", "positive"]
OTHER = {"negative": "positive", "neutral": "negative", "positive": "neutral"}


def flipped_rows(n_per_class, flips):
    """sentiment_rows with the labels of the first `flips` rows changed to another class (each text still shows its
    true class in its keyword)."""
    rows = sentiment_rows(n_per_class, seed=3)
    truth = rows["sentiment"].copy()
    rows.loc[:flips - 1, "sentiment"] = rows.loc[:flips - 1, "sentiment"].map(OTHER)
    return rows, truth


def test_flipped_labels_come_first_with_their_true_class_suggested():
    rows, truth = flipped_rows(60, 3)  # 180 rows, 3 flipped
    texts, labels = rows["review"].tolist(), rows["sentiment"].tolist()
    found = audit.run(texts, texts, list(range(1, 181)), labels, CLASSES, seed=42)

    assert found.record == {"audited": True, "rows": 180, "folds": 5, "classifier": "tfidf+logreg",
                            "issues": len(found.issues),
                            "method": "cleanlab.filter.find_label_issues, ranked by self_confidence",
                            "file": "label_issues.csv"}
    top = found.issues.head(3)
    assert sorted(top["row"]) == [1, 2, 3]  # the flipped rows, by their position in the file
    assert (top["given_label"].tolist() == [labels[r - 1] for r in top["row"]]
            and top["suggested_label"].tolist() == [truth[r - 1] for r in top["row"]])
    assert list(found.issues.columns) == audit.COLUMNS
    assert found.issues["label_quality"].is_monotonic_increasing  # the most doubtful first


def test_a_class_with_one_row_is_not_audited_and_says_why():
    texts = ["good", "bad", "awful"]
    found = audit.run(texts, texts, [1, 2, 3], ["positive", "negative", "negative"], ["negative", "positive"], seed=0)
    assert found.record == {"audited": False,
                            "why": "a class has 1 row: each needs at least 2 for the audit's folds"}
    assert found.issues.empty


def test_label_issues_read_back_as_the_texts_were_trained_even_when_a_spreadsheet_would_run_them(tmp_path):
    texts = ["=1+1", "- great film", "+33 6 12", "@home", "plain text", "-5"]
    issues = pd.DataFrame({"row": [1, 2, 3, 4, None, 6], "text": texts, "given_label": ["=bad"] * 6,
                           "suggested_label": ["good"] * 6, "label_quality": [0.1] * 6})
    audit.write(audit.Audit(issues, {"audited": True}), tmp_path)

    raw = (tmp_path / audit.FILE).read_text(encoding="utf-8-sig")
    assert "\n=1+1" not in raw and "'=1+1" in raw  # the file a person opens runs nothing
    back = audit.read(tmp_path)
    assert back["text"].tolist() == texts and back["given_label"].tolist() == ["=bad"] * 6
    assert back["row"].tolist() == ["1", "2", "3", "4", "", "6"]
    assert writing.as_written("'plain") == "'plain"  # only what neutralising added is taken off


def test_training_audits_the_labels_of_a_single_label_file_and_says_why_not_for_multi_label(tiny_models):
    sentiment = model_folder.read(tiny_models.root / "tiny-sentiment")
    found = sentiment.record.label_audit
    assert {k: v for k, v in found.items() if k != "issues"} == {  # every row of conftest.sentiment_rows(12)
        "audited": True, "rows": 36, "folds": 5, "classifier": "tfidf+logreg", "file": "label_issues.csv",
        "method": "cleanlab.filter.find_label_issues, ranked by self_confidence"}
    issues = audit.read(sentiment.path)
    assert list(issues.columns) == audit.COLUMNS and len(issues) == found["issues"] < 36
    data = pd.read_csv(sentiment.record.data["path"])  # each listed row is the file's row of that number
    for row, text, given in issues[["row", "text", "given_label"]].itertuples(index=False):
        assert (data["review"].iloc[int(row) - 1], data["sentiment"].iloc[int(row) - 1]) == (text, given)
    said = tiny_models.logs["tiny-sentiment"]
    assert (f"Label audit: {found['issues']:,} of 36 rows have a label the audit disputes" in said if found["issues"]
            else "Label audit: no label of the 36 rows is disputed." in said)
    assert sentiment.record.durations_s["label_audit"] > 0
    topics = model_folder.read(tiny_models.root / "tiny-topics")
    assert topics.record.label_audit["audited"] is False and "multi-label" in topics.record.label_audit["why"]
    assert audit.read(topics.path) is None


@pytest.fixture
def audited_page(tiny_models_dir, tmp_path, monkeypatch):
    """The page on a copy of tiny-sentiment whose folder holds a label_issues.csv of two rows (hand-written, as
    training writes it: the ranking itself is tested above)."""
    root = tmp_path / "models"
    folder = root / "tiny-sentiment"
    shutil.copytree(tiny_models_dir / "tiny-sentiment", folder)
    issues = pd.DataFrame({"row": [7, None], "text": ["good film and plot", "awful price"],
                           "given_label": ["negative", "positive"], "suggested_label": ["positive", "negative"],
                           "label_quality": [0.02, 0.1]})
    audit.write(audit.Audit(issues, {"audited": True}), folder)
    record = read_json(folder / model_folder.TRAINING_FILE)
    record["label_audit"] = {"audited": True, "rows": 36, "folds": 5, "issues": 2}
    (folder / model_folder.TRAINING_FILE).write_text(json.dumps(record))
    monkeypatch.setenv("PREDICTOR_MODELS_DIR", str(root))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    return at, root


def test_an_analysts_decisions_on_disputed_labels_are_saved_as_corrections_from_the_audit(audited_page):
    at, root = audited_page
    said = [c.value.replace("\\", "") for c in at.caption]  # the page escapes Markdown
    assert any("2 training rows of 36 have a label that a word-count model" in s for s in said)
    assert at.button(key="save_audit").disabled  # nothing decided yet

    # The analyst decides both rows: the first is positive after all, the second's given label was right.
    at.session_state["audit_editor"] = {"edited_rows": {0: {"right label": "positive"}, 1: {"right label": "positive"}},
                                        "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="save_audit").click().run()
    assert not at.exception and not at.error

    saved = CorrectionsStore(store_path(root)).for_model("tiny-sentiment")
    assert saved[["text", "model_label", "corrected_label", "source_file", "suggested_by"]].values.tolist() == [
        ["good film and plot", "positive", "positive", "sentiment.csv", "label audit"],  # the file it was trained on
        ["awful price", "negative", "positive", "sentiment.csv", "label audit"]]
    assert saved["source_row"].tolist()[0] == 7 and pd.isna(saved["source_row"].tolist()[1])


def test_a_model_without_an_audit_says_why_on_its_tab(own_models_without_audit):
    at = own_models_without_audit
    said = [i.value.replace("\\", "") for i in at.info]  # the page escapes Markdown
    assert any("No label audit for this model: it was trained before train.py audited labels" in s for s in said)


@pytest.fixture
def own_models_without_audit(tiny_models_dir, tmp_path, monkeypatch):
    root = tmp_path / "models"
    folder = root / "tiny-sentiment"
    shutil.copytree(tiny_models_dir / "tiny-sentiment", folder)
    (folder / audit.FILE).unlink()
    record = read_json(folder / model_folder.TRAINING_FILE)
    del record["label_audit"]
    (folder / model_folder.TRAINING_FILE).write_text(json.dumps({**record, "version": 6}))
    monkeypatch.setenv("PREDICTOR_MODELS_DIR", str(root))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    return at


def test_the_out_of_fold_probabilities_of_each_row_come_from_a_fit_that_never_saw_it():
    seen = []

    class Remembering:
        """A real (if simple) classifier: each class's share of the rows it was fitted on, for every text."""

        def __init__(self, part, y):
            seen.append(set(part))
            self.p = np.bincount(y, minlength=2) / len(y)

        def predict(self, texts, return_proba=True):
            return np.tile(self.p, (len(texts), 1))

    texts = [f"text {i}" for i in range(10)]
    y = np.array([0, 1] * 5)
    probabilities = audit.out_of_fold(texts, y, 2, 5, Remembering, seed=0)
    assert len(seen) == 5 and all(len(fit) == 8 for fit in seen)
    held = [set(texts) - fit for fit in seen]
    assert set().union(*held) == set(texts) and sum(map(len, held)) == 10  # each row held out exactly once
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
