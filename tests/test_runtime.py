"""The BERT member's graph, written from its weights and run by OpenVINO: in fp32 equal to the Keras model for every
reading and for the hybrid, checked before a folder is moved into place; its faster precision chosen on validation
rows and never kept when it loses; folders saved before graphs existed still scoring."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from predictor import explain, model_folder, models, training
from predictor.scorer import Scorer, load_scorer
from predictor.bert import runtime
from predictor.bert.graph import weights_of
from predictor.bert.tokenizer import READINGS
from conftest import TINY_MAXLEN, sentiment_rows, train_tiny

TEXTS = ["good film", "", "12345", "awful " * 40, "the battery was very broken and the plot bad " * 3, "émoji 👍 ok",
         "love it", "the screen " * 25 + "great"]
EXACT = 1e-6  # float rounding between two runtimes of the same arithmetic
# bfloat16 keeps 8 bits of mantissa: every product and sum rounds at about 0.4%. Through 2 layers the tiny models'
# probabilities moved by at most 6e-4 (MiniLM's 6 layers: 0.003 to 0.008, bench/results/runtimes.json); this bound
# says "the same model in a coarser arithmetic", far below what a wrong graph gives (0.1 and more).
BF16_CLOSE = 0.02


@pytest.fixture
def fp32(monkeypatch):
    """Score in fp32 whatever precision the folder chose: the arithmetic of the Keras model."""
    monkeypatch.setenv(runtime.PRECISION_VARIABLE, runtime.FP32)


@pytest.mark.parametrize("name", ["tiny-sentiment", "tiny-topics"])
def test_train_saves_a_checked_graph_with_its_precision_and_scoring_runs_it(tiny_models_dir, name):
    folder = tiny_models_dir / name
    record = model_folder.read(folder).record
    check = record.runtime["precision_check"]

    assert record.runtime["file"] == runtime.ONNX_FILE and (folder / runtime.ONNX_FILE).is_file()
    assert record.runtime["engine"] == "openvino" and record.runtime["precision"] == check["chosen"]
    assert record.runtime["check"]["rows"] > 0 and record.runtime["check"]["max_difference"] <= 1e-5
    assert check["rows"] == record.rows["validation"] and runtime.FP32 in check["scores"]
    bert = load_scorer(name, tiny_models_dir).model.bert
    assert (bert.runtime, bert.precision) == ("openvino", record.runtime["precision"])
    assert (folder / "tf_model.h5").is_file()  # the ktrain predictor stays: ktrain.load_predictor keeps working


@pytest.mark.parametrize("name", ["tiny-sentiment", "tiny-topics"])
@pytest.mark.parametrize("reading", READINGS)
def test_the_graph_scores_every_reading_as_the_keras_model_does(tiny_models_dir, name, reading, fp32):
    folder = tiny_models_dir / name
    record = model_folder.read(folder).record
    keras = models.BertMember.load(folder, record.maxlen, reading)
    graph = models.BertMember.load(folder, record.maxlen, reading, record.runtime)
    assert (keras.runtime, graph.runtime, graph.precision) == ("keras", "openvino", "fp32")

    expected, piece_counts, read = keras.read(TEXTS, batch_size=3)
    scored, graph_piece_counts, graph_read = graph.read(TEXTS, batch_size=3)

    np.testing.assert_allclose(scored, expected, atol=EXACT)
    assert piece_counts.tolist() == graph_piece_counts.tolist() and read.tolist() == graph_read.tolist()


@pytest.mark.skipif(runtime.BF16 not in runtime.native_precisions(), reason="this CPU has no native bfloat16")
def test_bfloat16_is_the_same_model_in_a_coarser_arithmetic(tiny_models_dir):
    folder = tiny_models_dir / "tiny-topics"
    record = model_folder.read(folder).record
    path = folder / record.runtime["file"]
    member = lambda precision: models.BertMember(  # noqa: E731
        None, models.BertMember.load(folder, record.maxlen, "windows", record.runtime).tokenizer, record.maxlen,
        "windows", runtime.GraphForward(path, precision))
    fp32, bf16 = member(runtime.FP32), member(runtime.BF16)
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")

    reference, coarse = fp32.predict(TEXTS), bf16.predict(TEXTS)

    assert 0 < np.abs(coarse - reference).max() <= BF16_CLOSE  # different arithmetic, same model


def test_each_batch_is_padded_only_to_its_longest_row_with_the_same_probabilities(tiny_models_dir, fp32):
    folder = tiny_models_dir / "tiny-sentiment"
    record = model_folder.read(folder).record
    forward = runtime.GraphForward(folder / record.runtime["file"])
    member = models.BertMember.load(folder, record.maxlen, "head")
    ids = np.array([member.tokenizer.encode(text, TINY_MAXLEN, "head").ids[0] for text in TEXTS[:3]], np.int64)
    assert ids.shape[1] == TINY_MAXLEN and (ids[:, 8:] == 0).all()  # short texts: most of each row is padding

    padded = forward(ids)
    trimmed = forward(ids[:, :8])

    np.testing.assert_allclose(trimmed, padded, atol=EXACT)
    np.testing.assert_allclose(padded, member.forward(ids), atol=EXACT)


def as_saved_before_exports(folder, to):
    """A copy of a model folder as train.py wrote it before exports: no graph, no `runtime` in the record."""
    shutil.copytree(folder, to)
    (to / runtime.ONNX_FILE).unlink()
    record = json.loads((to / model_folder.TRAINING_FILE).read_text())
    del record["runtime"]
    (to / model_folder.TRAINING_FILE).write_text(json.dumps(record))
    return to


@pytest.mark.parametrize("name", ["tiny-sentiment", "tiny-topics"])
def test_a_folder_saved_before_exports_scores_with_keras_as_before_and_equals_the_graph(tiny_models_dir, tmp_path,
                                                                                       name, fp32):
    old = as_saved_before_exports(tiny_models_dir / name, tmp_path / name)
    scorer = Scorer(old)
    assert scorer.info.record.runtime == {"file": "keras"} and scorer.model.bert.runtime == "keras"

    before = scorer.score_batch(TEXTS, batch_size=3)
    now = Scorer(tiny_models_dir / name).score_batch(TEXTS, batch_size=3)

    # The hybrid (tiny-topics) blends BERT with NBSVM: the blend, and each member, agree.
    np.testing.assert_allclose(now.probabilities, before.probabilities, atol=EXACT)
    for kind in before.members:
        np.testing.assert_allclose(now.members[kind], before.members[kind], atol=EXACT)


def test_explanations_are_the_same_through_the_graph(tiny_models_dir, tmp_path, fp32):
    old = as_saved_before_exports(tiny_models_dir / "tiny-topics", tmp_path / "old")
    text = "the battery was very broken and the plot bad " * 4

    before = explain.explain_with_scorer(Scorer(old), text, "battery")
    now = explain.explain_with_scorer(load_scorer("tiny-topics", tiny_models_dir), text, "battery")

    assert [(p.start, p.end) for p in now.phrases] == [(p.start, p.end) for p in before.phrases]
    np.testing.assert_allclose([p.weight for p in now.phrases], [p.weight for p in before.phrases], atol=EXACT)


def test_a_missing_graph_falls_back_to_keras_with_a_warning(tiny_models_dir, tmp_path, fp32):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_models_dir / "tiny-sentiment", copy)
    (copy / runtime.ONNX_FILE).unlink()

    with pytest.warns(UserWarning, match="bert.onnx is missing"):
        scorer = Scorer(copy)

    assert scorer.model.bert.runtime == "keras"
    np.testing.assert_allclose(scorer.predict_proba(TEXTS),
                               load_scorer("tiny-sentiment", tiny_models_dir).predict_proba(TEXTS), atol=EXACT)


def test_a_broken_graph_is_refused_and_the_folder_never_moves_into_place(tiny_bert_dir, tmp_path, monkeypatch):
    from train import main as train_main

    real_export = runtime.save_graph

    def wrong_export(weights, folder):
        """Write the graph with its classifier's bias shifted per class: a graph that runs but scores wrongly."""
        kernel, bias = weights.arrays["head"]
        weights.arrays["head"] = [kernel, bias + np.arange(len(bias), dtype=bias.dtype)]
        return real_export(weights, folder)

    monkeypatch.setattr(runtime, "save_graph", wrong_export)
    sentiment_rows(6).to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "models" / "broken"

    with pytest.raises(runtime.ExportMismatch, match="disagrees with the Keras model"):
        train_tiny(train_main, tiny_bert_dir, tmp_path / "rows.csv", out, "--text-column", "review",
                   "--label-column", "sentiment", "--epochs", "1", "--classifier", "bert", "--lr", "1e-4")

    assert not out.exists() and list((tmp_path / "models").iterdir()) == []  # no half model, no staging folder left


def test_the_check_measures_the_largest_difference():
    ids = np.ones((3, 4), np.int64)
    same = runtime.check(lambda x: np.zeros((len(x), 2)), lambda x: np.zeros((len(x), 2)), ids)
    off = runtime.check(lambda x: np.zeros((len(x), 2)), lambda x: np.full((len(x), 2), 0.25), ids)
    assert (same.rows, same.max_difference, off.max_difference) == (3, 0.0, 0.25)
    with pytest.raises(runtime.ExportMismatch):
        runtime.checked_record(Path("bert.onnx"), runtime.Check(3, float("nan")))
    assert runtime.checked_record(Path("bert.onnx"), same)["check"]["max_difference"] == 0.0


@pytest.mark.parametrize("bf16_score, chosen", [(0.90, "bf16"), (0.899, "bf16"), (0.8975, "fp32"), (0.93, "bf16")])
def test_a_faster_precision_is_kept_only_if_it_loses_at_most_a_fifth_of_a_point(bf16_score, chosen):
    check = runtime.choose_precision({"fp32": 0.90, "bf16": bf16_score}, "accuracy", {"bf16": 0.99},
                                     {"bf16": 0.004}, 400)
    assert check["chosen"] == chosen and check["scores"] == {"fp32": 0.90, "bf16": bf16_score}
    assert ("fp32" in check["why"]) and ("0.002" in check["why"])


def test_without_native_bfloat16_the_model_scores_in_fp32_and_the_record_says_why(tiny_models_dir, tmp_path,
                                                                                    monkeypatch):
    """train.py's precision step on a CPU without bf16, from a trained folder: the Keras model gives the reference,
    the graph is checked against it, and fp32 is kept with its reason."""
    import ktrain

    folder = tmp_path / "model"
    shutil.copytree(tiny_models_dir / "tiny-sentiment", folder)
    record = model_folder.read(folder).record
    keras = models.BertMember.load(folder, record.maxlen, record.reading)
    monkeypatch.setattr(runtime, "native_precisions", lambda: (runtime.FP32,))
    plan = training.Plan(None, None, record.maxlen, 8, 1, {})
    texts = TEXTS[:5]
    y = np.array([0, 1, 2, 0, 1])

    saved = training.checked_bert(folder, keras.forward(training.check_ids(keras, texts)), keras.tokenizer, plan,
                                  record.reading, texts, texts, y, record.classes, False)

    check = saved.runtime["precision_check"]
    assert saved.runtime["precision"] == check["chosen"] == "fp32" and "no native bfloat16" in check["why"]
    assert saved.member.precision == "fp32" and list(check["scores"]) == ["fp32"]
    np.testing.assert_allclose(saved.probabilities,
                               ktrain.load_predictor(str(folder)).predict(texts, return_proba=True), atol=EXACT)


def test_one_compiled_graph_is_shared_until_its_file_changes(tiny_models_dir, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_models_dir / "tiny-sentiment", folder)
    path = folder / runtime.ONNX_FILE

    first = runtime.GraphForward.shared(path, runtime.FP32)
    assert runtime.GraphForward.shared(path, runtime.FP32) is first
    assert runtime.GraphForward.shared(path, runtime.BF16) is not first

    weights = weights_of(models.load_ktrain_predictor(folder).model)
    runtime.save_graph(weights, folder)  # the folder replaced in place: a new file
    assert runtime.GraphForward.shared(path, runtime.FP32) is not first


def test_the_keras_model_can_still_be_asked_for(tiny_models_dir, monkeypatch, fp32):
    monkeypatch.setenv(runtime.RUNTIME_VARIABLE, "keras")
    scorer = load_scorer("tiny-sentiment", tiny_models_dir)
    assert scorer.model.bert.runtime == "keras"
    monkeypatch.delenv(runtime.RUNTIME_VARIABLE)
    np.testing.assert_allclose(scorer.predict_proba(TEXTS),
                               load_scorer("tiny-sentiment", tiny_models_dir).predict_proba(TEXTS), atol=EXACT)
