"""The BERT member exported to ONNX and scored by onnxruntime: equal to the Keras model for every reading and for the
hybrid, checked before a folder is moved into place, and folders saved before exports existed still scoring."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from predictor import model_folder, models, runtime
from predictor.pieces import READINGS
from conftest import TINY_MAXLEN, sentiment_rows, train_tiny

TEXTS = ["good film", "", "12345", "awful " * 40, "the battery was very broken and the plot bad " * 3, "émoji 👍 ok",
         "love it", "the screen " * 25 + "great"]
EXACT = 1e-6  # float rounding between two runtimes of the same arithmetic


@pytest.mark.parametrize("name", ["tiny-sentiment", "tiny-topics"])
def test_train_saves_a_checked_export_and_scoring_runs_it(tiny_models_dir, name):
    folder = tiny_models_dir / name
    record = model_folder.read(folder).record

    assert record.runtime["file"] == model_folder.ONNX_FILE and (folder / model_folder.ONNX_FILE).is_file()
    assert record.runtime["check"]["rows"] > 0 and record.runtime["check"]["max_difference"] <= 1e-5
    assert models.load_scorer(name, tiny_models_dir).model.bert.runtime == "onnxruntime"
    assert (folder / "tf_model.h5").is_file()  # the ktrain predictor stays: ktrain.load_predictor keeps working


@pytest.mark.parametrize("name", ["tiny-sentiment", "tiny-topics"])
@pytest.mark.parametrize("reading", READINGS)
def test_onnx_scores_every_reading_as_the_keras_model_does(tiny_models_dir, name, reading):
    folder = tiny_models_dir / name
    record = model_folder.read(folder).record
    keras = models.BertMember.load(folder, record.maxlen, reading)
    onnx = models.BertMember.load(folder, record.maxlen, reading, record.runtime)
    assert (keras.runtime, onnx.runtime) == ("keras", "onnxruntime")

    expected, pieces, read = keras.predict(TEXTS, batch_size=3)
    scored, onnx_pieces, onnx_read = onnx.predict(TEXTS, batch_size=3)

    np.testing.assert_allclose(scored, expected, atol=EXACT)
    assert pieces.tolist() == onnx_pieces.tolist() and read.tolist() == onnx_read.tolist()


def test_each_batch_is_padded_only_to_its_longest_row_with_the_same_probabilities(tiny_models_dir):
    folder = tiny_models_dir / "tiny-sentiment"
    record = model_folder.read(folder).record
    forward = runtime.OnnxForward(folder / record.runtime["file"])
    member = models.BertMember.load(folder, record.maxlen, "head")
    ids = np.array([member.pieces.encode(text, TINY_MAXLEN, "head").ids[0] for text in TEXTS[:3]], np.float32)
    assert ids.shape[1] == TINY_MAXLEN and (ids[:, 8:] == 0).all()  # short texts: most of each row is padding

    padded = forward(ids, np.zeros_like(ids)).numpy()
    trimmed = forward(ids[:, :8], np.zeros_like(ids[:, :8])).numpy()

    np.testing.assert_allclose(trimmed, padded, atol=EXACT)
    np.testing.assert_allclose(padded, member.forward(ids), atol=EXACT)


def as_saved_before_exports(folder, to):
    """A copy of a model folder as train.py wrote it before this change: no ONNX file, no `runtime` in the record."""
    shutil.copytree(folder, to)
    (to / model_folder.ONNX_FILE).unlink()
    record = json.loads((to / model_folder.TRAINING_FILE).read_text())
    del record["runtime"]
    (to / model_folder.TRAINING_FILE).write_text(json.dumps(record))
    return to


@pytest.mark.parametrize("name", ["tiny-sentiment", "tiny-topics"])
def test_a_folder_saved_before_exports_scores_with_keras_as_before_and_equals_the_export(tiny_models_dir, tmp_path,
                                                                                       name):
    old = as_saved_before_exports(tiny_models_dir / name, tmp_path / name)
    scorer = models.Scorer(old)
    assert scorer.info.record.runtime == {"file": "keras"} and scorer.model.bert.runtime == "keras"

    before = scorer.score_batch(TEXTS, batch_size=3)
    now = models.Scorer(tiny_models_dir / name).score_batch(TEXTS, batch_size=3)

    # The hybrid (tiny-topics) blends BERT with NBSVM: the blend, and each member, agree.
    np.testing.assert_allclose(now.probabilities, before.probabilities, atol=EXACT)
    for kind in before.members:
        np.testing.assert_allclose(now.members[kind], before.members[kind], atol=EXACT)


def test_explanations_are_the_same_through_the_export(tiny_models_dir, tmp_path):
    old = as_saved_before_exports(tiny_models_dir / "tiny-topics", tmp_path / "old")
    text = "the battery was very broken and the plot bad " * 4

    before = models.Scorer(old).explain(text, "battery")
    now = models.load_scorer("tiny-topics", tiny_models_dir).explain(text, "battery")

    assert [(p.start, p.end) for p in now.phrases] == [(p.start, p.end) for p in before.phrases]
    np.testing.assert_allclose([p.weight for p in now.phrases], [p.weight for p in before.phrases], atol=EXACT)


def test_a_missing_export_falls_back_to_keras_with_a_warning(tiny_models_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_models_dir / "tiny-sentiment", copy)
    (copy / model_folder.ONNX_FILE).unlink()

    with pytest.warns(UserWarning, match="bert.onnx is missing"):
        scorer = models.Scorer(copy)

    assert scorer.model.bert.runtime == "keras"
    np.testing.assert_allclose(scorer.predict_proba(TEXTS),
                               models.load_scorer("tiny-sentiment", tiny_models_dir).predict_proba(TEXTS), atol=EXACT)


def test_a_broken_export_is_refused_and_the_folder_never_moves_into_place(tiny_bert_dir, tmp_path, monkeypatch):
    from train import main as train_main

    real_export = runtime.export

    def wrong_export(model, folder):
        """Export the model with its classifier's bias shifted per class: a graph that runs but scores wrongly."""
        last = model.layers[-1]
        kernel, bias = last.get_weights()
        last.set_weights([kernel, bias + np.arange(len(bias), dtype=bias.dtype)])
        try:
            return real_export(model, folder)
        finally:
            last.set_weights([kernel, bias])

    monkeypatch.setattr(runtime, "export", wrong_export)
    sentiment_rows(6).to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "models" / "broken"

    with pytest.raises(runtime.ExportMismatch, match="disagrees with the Keras model"):
        train_tiny(train_main, tiny_bert_dir, tmp_path / "rows.csv", out, "--text-column", "review",
                   "--label-column", "sentiment", "--epochs", "1", "--classifier", "bert", "--lr", "1e-4")

    assert not out.exists() and list((tmp_path / "models").iterdir()) == []  # no half model, no staging folder left


def test_the_check_measures_the_largest_difference():
    ids = np.ones((3, 4), np.float32)
    same = runtime.check(lambda x: np.zeros((len(x), 2)), lambda x: np.zeros((len(x), 2)), ids)
    off = runtime.check(lambda x: np.zeros((len(x), 2)), lambda x: np.full((len(x), 2), 0.25), ids)
    assert (same.rows, same.max_difference, off.max_difference) == (3, 0.0, 0.25)
    with pytest.raises(runtime.ExportMismatch):
        runtime.checked_record(Path("bert.onnx"), runtime.Check(3, float("nan")))
    assert runtime.checked_record(Path("bert.onnx"), same)["check"]["max_difference"] == 0.0


@pytest.mark.parametrize("parallel", ["1", "3"])
def test_batches_run_side_by_side_or_in_turn_give_the_same_probabilities(tiny_models_dir, monkeypatch, parallel):
    folder = tiny_models_dir / "tiny-topics"
    record = model_folder.read(folder).record
    member = models.BertMember.load(folder, record.maxlen, record.reading, record.runtime)
    keras = models.BertMember.load(folder, record.maxlen, record.reading)
    monkeypatch.setenv(runtime.PARALLEL_VARIABLE, parallel)

    np.testing.assert_allclose(member.predict(TEXTS * 3, batch_size=2)[0], keras.predict(TEXTS * 3)[0], atol=EXACT)


def test_the_keras_model_can_still_be_asked_for(tiny_models_dir, monkeypatch):
    monkeypatch.setenv(runtime.RUNTIME_VARIABLE, "keras")
    scorer = models.load_scorer("tiny-sentiment", tiny_models_dir)
    assert scorer.model.bert.runtime == "keras"
    monkeypatch.delenv(runtime.RUNTIME_VARIABLE)
    np.testing.assert_allclose(scorer.predict_proba(TEXTS),
                               models.load_scorer("tiny-sentiment", tiny_models_dir).predict_proba(TEXTS), atol=EXACT)
