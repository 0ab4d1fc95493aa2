"""Loading saved models and scoring them: the fast path against ktrain's own predictor, hybrids, old folders."""
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from predictor import model_folder, models
from predictor.scorer import Scorer, load_scorer
from predictor.bert import runtime
from predictor.errors import UserError
from conftest import TINY_MAXLEN, TOPIC_WORDS

TEXTS = ["good film", "", "12345", "awful " * 40, "the battery was very broken and the plot bad " * 3, "émoji 👍 ok"]


def test_a_bert_model_reading_the_head_scores_exactly_as_ktrain_predicts_in_fp32(tiny_models_dir, monkeypatch):
    import ktrain

    monkeypatch.setenv(runtime.PRECISION_VARIABLE, runtime.FP32)  # the model's own precision may be bfloat16
    scorer = load_scorer("tiny-sentiment", tiny_models_dir)
    reference = ktrain.load_predictor(str(tiny_models_dir / "tiny-sentiment"))

    scores = scorer.score_batch(TEXTS, batch_size=4)

    ids = reference.preproc.preprocess_test(TEXTS, verbose=0)[0][0]
    bert = scorer.model.bert
    assert np.array_equal([bert.tokenizer.encode(t, bert.maxlen, "head").ids[0] for t in TEXTS], ids)
    np.testing.assert_allclose(scores.probabilities, reference.predict(TEXTS, return_proba=True), atol=1e-6)
    assert (scores.piece_counts + 2).tolist() == [bert.tokenizer.count(t) for t in TEXTS]
    assert scores.truncated.tolist() == [False, False, False, True, False, False]


def test_a_hybrid_reading_windows_averages_its_windows_and_blends_its_members(tiny_models_dir):
    scorer = load_scorer("tiny-topics", tiny_models_dir)
    record = scorer.info.record
    assert record.classifier == "hybrid" and record.reading == "windows"
    assert [m.kind for m in record.members] == ["bert", "nbsvm"] and 0 < record.bert_weight[0] < 1
    long_text = "the battery was very broken and the plot bad " * 6

    scores = scorer.score_batch([long_text])

    assert not scores.truncated[0] and scores.read[0] == scores.piece_counts[0] > record.maxlen
    w = np.asarray(record.bert_weight)
    expected = (w * scores.members["bert"] + (1 - w) * scores.members["nbsvm"])[0]
    np.testing.assert_allclose(scores.probabilities[0], expected, atol=1e-6)
    # BERT's part is the mean over the text's windows, each scored on its own.
    bert = models.BertMember.load(tiny_models_dir / "tiny-topics", record.maxlen, record.reading)
    windows = np.array(bert.encode(long_text).ids, np.int64)
    assert len(windows) > 1
    each = bert._forward(windows)
    np.testing.assert_allclose(bert.predict([long_text])[0], each.mean(axis=0), atol=1e-6)


@pytest.mark.parametrize("weight, loaded", [(0.0, ["nbsvm"]), (1.0, ["bert"]), (0.5, ["bert", "nbsvm"])])
def test_a_member_without_weight_is_loaded_only_when_every_member_is_asked_for(tiny_models_dir, weight, loaded):
    info = model_folder.read(tiny_models_dir / "tiny-topics")
    info = replace(info, record=replace(info.record, bert_weight=[weight] * len(info.classes)))

    scored = models.load_model(info).score(TEXTS)
    every = models.load_model(info, every_member=True).score(TEXTS)

    assert sorted(scored.members) == loaded and sorted(every.members) == ["bert", "nbsvm"]
    np.testing.assert_allclose(scored.probabilities, every.probabilities, atol=1e-6)


@pytest.mark.bad_input
def test_models_are_listed_default_first_and_loaded_only_from_the_models_folder(tiny_models_dir, tmp_path):
    # Nobody chose a default, so it is the first trained; the rest follow newest first.
    assert [info.name for info in model_folder.list_models(tiny_models_dir)] == ["tiny-sentiment", "tiny-topics"]
    (tiny_models_dir / ".half-written").mkdir(exist_ok=True)
    assert ".half-written" not in [info.name for info in model_folder.list_models(tiny_models_dir)]
    for outside in [tmp_path, tiny_models_dir / ".." / "elsewhere", "../x"]:
        with pytest.raises(UserError, match="only loaded from"):
            model_folder.inside_models_dir(outside, tiny_models_dir)


# A training.json as train.py wrote it before folders had a version (commit 39b2560), trimmed to what was read back.
VERSION_1_RECORD = {
    "data": {"path": "/data/reviews.csv", "sha256": "0" * 64, "sheet": None},
    "rows": {"read": 36, "dropped": {}, "train": 33, "validation": 3,
             "longer_than_maxlen": {"share": 0.0, "of_sampled_train_rows": 33}},
    "lr": {"chosen": 1e-4, "source": "--lr"},
    "classes": ["negative", "neutral", "positive"], "multilabel": False,
    "device": {"kind": "cpu", "name": "AMD EPYC, 2 cores"}, "bert": {"name": "dir:/tmp/tiny", "path": "/tmp/tiny"},
    "settings": {"data": "/data/reviews.csv", "text_column": "review", "label_columns": ["sentiment"],
                 "val_data": None, "val_fraction": 0.1, "sheet": None, "bert": "offline", "bert_dir": "/tmp/tiny",
                 "maxlen": 32, "batch_size": 8, "epochs": 1, "lr": 1e-4, "seed": 42, "out": "/m", "force": False},
    "reload_check": {"rows": 3, "max_difference": 0.0},
    "versions": {"python": "3.11.7", "ktrain": "0.41.4"},
    "started_at": "2026-11-23T10:00:00", "finished_at": "2026-11-23T10:01:00",
    "durations_s": {"read": 0.1, "fit": 3.0},
}


def test_a_folder_saved_before_versions_loads_and_scores_as_before(tiny_models_dir, tmp_path):
    import ktrain

    old = tmp_path / "old-model"
    shutil.copytree(tiny_models_dir / "tiny-sentiment", old)
    (old / "training.json").write_text(json.dumps(VERSION_1_RECORD))

    info = model_folder.read(old)
    scorer = Scorer(old)

    assert info.record.version == 1 and info.record.reading == "head" and info.maxlen == 32
    assert [m.kind for m in info.record.members] == ["bert"] and info.classes == VERSION_1_RECORD["classes"]
    reference = ktrain.load_predictor(str(old)).predict(TEXTS, return_proba=True)
    np.testing.assert_allclose(scorer.predict_proba(TEXTS), reference, atol=1e-6)


@pytest.mark.bad_input
def test_a_folder_from_a_newer_version_is_refused_with_what_to_do(tiny_models_dir, tmp_path):
    newer = tmp_path / "newer"
    shutil.copytree(tiny_models_dir / "tiny-sentiment", newer)
    record = json.loads((newer / "training.json").read_text())
    (newer / "training.json").write_text(json.dumps({**record, "version": model_folder.VERSION + 1}))

    with pytest.raises(UserError, match="newer version of this tool.*git pull.*retrain"):
        model_folder.read(newer)
    assert "newer" not in [info.name for info in model_folder.list_models(tmp_path)]


def test_a_record_reads_back_as_the_run_that_wrote_it_was_asked(tiny_models_dir):
    """Expected values come from conftest.tiny_models' command line and data, not from the reader itself."""
    record = model_folder.read(tiny_models_dir / "tiny-topics").record
    saved = json.loads((tiny_models_dir / "tiny-topics" / "training.json").read_text())
    assert saved["version"] == model_folder.VERSION
    assert (record.multilabel, record.classifier, record.reading, record.markup) == (True, "hybrid", "windows", "html")
    assert sorted(record.classes) == sorted(TOPIC_WORDS)  # one class per --label-column
    assert set(record.bert_weight) == {0.5} and len(record.bert_weight) in (1, len(TOPIC_WORDS))  # --bert-weight 0.5
    assert sorted(m.kind for m in record.members) == ["bert", "nbsvm"]
    assert (record.maxlen, record.settings["epochs"], record.rows["read"]) == (TINY_MAXLEN, 1, 40)  # topic_rows(40)
    assert record.data["path"].endswith("topics.csv") and record.window_overlap == 0.0
    assert record.calibration["method"] == "none" and "4 validation rows" in record.calibration["why"]  # 10% of 40


def test_a_version_2_folder_reads_texts_as_written_as_it_did(tiny_models_dir, tmp_path):
    old = tmp_path / "v2"
    shutil.copytree(tiny_models_dir / "tiny-sentiment", old)  # BERT counts the pieces
    record = json.loads((old / "training.json").read_text())
    del record["markup"]
    (old / "training.json").write_text(json.dumps({**record, "version": 2}))

    scorer = Scorer(old)

    assert scorer.info.record.markup == "keep"
    marked, plain = scorer.score_batch(["the <b>battery</b> broke", "the battery broke"]).piece_counts
    assert marked > plain  # the tags are read as text, as version 2 did


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_a_version_3_folder_scores_as_it_did_with_onnxruntime(tmp_path):
    """A folder as train.py saved it before the graph was written here (commit ad1d81d): tf2onnx's export, whose ids
    are float32, scored then by onnxruntime. Its probabilities were recorded by that code; OpenVINO runs the same
    file in fp32 now."""
    old = tmp_path / "v3"
    shutil.copytree(FIXTURES / "v3-bert-windows", old)
    expected = json.loads((FIXTURES / "v3-bert-windows-expected.json").read_text())

    scorer = Scorer(old)
    scores = scorer.score_batch(expected["texts"])

    assert scorer.info.record.version == 3 and scorer.info.record.window_overlap == 0.5
    assert scorer.model.temperatures == []  # saved before calibration: probabilities as blended, as they were
    assert scorer.model.bert.runtime == runtime.ENGINE and scorer.model.bert.precision == runtime.FP32
    np.testing.assert_allclose(scores.probabilities, expected["probabilities"], atol=1e-6)
    assert scores.piece_counts.tolist() == expected["pieces"] and scores.read.tolist() == expected["read"]


# ---------------------------------------------------------------------------------------------------------------------
# The default model


@pytest.fixture
def two_models(tiny_models_dir, tmp_path):
    root = tmp_path / "models"
    for name in ("tiny-sentiment", "tiny-topics"):
        shutil.copytree(tiny_models_dir / name, root / name)
    return root


def test_the_first_model_trained_is_the_default_until_someone_chooses_another(two_models):
    assert model_folder.default_name(model_folder.list_models(two_models), two_models) == "tiny-sentiment"

    assert model_folder.make_default("tiny-topics", two_models) == "tiny-topics"

    listed = model_folder.list_models(two_models)
    assert model_folder.default_name(listed, two_models) == "tiny-topics" and listed[0].name == "tiny-topics"
    assert (two_models / model_folder.DEFAULT_FILE).read_text() == "tiny-topics\n"


def test_a_default_that_was_deleted_falls_back_to_the_first_trained(two_models):
    model_folder.make_default("tiny-topics", two_models)
    shutil.rmtree(two_models / "tiny-topics")
    assert model_folder.default_name(model_folder.list_models(two_models), two_models) == "tiny-sentiment"


@pytest.mark.bad_input
@pytest.mark.parametrize("name", ["../elsewhere", "missing-model"])
def test_only_a_model_inside_the_models_folder_can_become_the_default(two_models, name):
    with pytest.raises(UserError):
        model_folder.make_default(name, two_models)
    assert not (two_models / model_folder.DEFAULT_FILE).exists()


def test_a_text_repeated_in_a_batch_is_scored_once_and_every_copy_gets_its_probabilities(tiny_models_dir):
    model = load_scorer("tiny-topics", tiny_models_dir).model
    seen = []
    bert_read, nbsvm_predict = model.bert.read, model.nbsvm.predict
    model.bert.read = lambda texts, *args: seen.append(("bert", list(texts))) or bert_read(texts, *args)
    model.nbsvm.predict = lambda texts: seen.append(("nbsvm", list(texts))) or nbsvm_predict(texts)
    texts = ["the battery broke", "Great", "the <b>battery</b> broke", "Great", "screen fine", "Great"]

    scores = model.score(texts)

    # Markup is cleaned first, so the third text is the first one again: three distinct texts in all.
    assert seen == [("bert", ["the battery broke", "Great", "screen fine"]),
                    ("nbsvm", ["the battery broke", "Great", "screen fine"])]
    alone = np.concatenate([model.score([text]).probabilities for text in texts])
    np.testing.assert_allclose(scores.probabilities, alone, atol=1e-6)
    assert scores.probabilities.shape == (6, len(model.classes)) and len(scores.piece_counts) == 6
    np.testing.assert_array_equal(scores.probabilities[1], scores.probabilities[5])


def test_a_saved_model_folder_respects_the_umask_so_others_sharing_the_models_folder_can_read_it(tmp_path):
    import os
    import stat

    previous = os.umask(0o022)
    try:
        with model_folder.staged(tmp_path / "shared") as staging:
            (staging / "training.json").write_text("{}")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o755
    assert [p.name for p in tmp_path.iterdir()] == ["shared"]  # no staging folder left beside it
