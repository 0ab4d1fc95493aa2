"""train.py end to end on a tiny random-weight BERT: the real ktrain path, what it saves, and how it refuses bad
input."""
import contextlib
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, TOPIC_WORDS, read_json, sentiment_rows, topic_rows, train_tiny
from predictor.scorer import Scorer, load_scorer
from train import main


def load_predictor(folder):
    import ktrain

    return ktrain.load_predictor(str(folder))


@pytest.fixture(scope="module")
def hybrid_sentiment(tiny_bert_dir, tmp_path_factory):
    """A hybrid (the default classifier) trained by train.py on 120 single-label rows: the round trip checks what it
    learned and saved, the hybrid test its record; the --force and failed-retraining tests replace copies of it."""
    tmp_path = tmp_path_factory.mktemp("hybrid_sentiment")
    sentiment_rows(40).to_csv(tmp_path / "reviews.csv", index=False)
    out = tmp_path / "model"

    # A learnable task and a bold rate: a pipeline that scrambles labels or texts cannot reach the bound.
    assert train_tiny(main, tiny_bert_dir, tmp_path / "reviews.csv", out, "--text-column", "review",
                      "--label-column", "sentiment", "--epochs", "10", "--lr", "3e-3") == 0
    return SimpleNamespace(data=tmp_path / "reviews.csv", out=out)


def test_multiclass_round_trip_learns_and_saves_everything(hybrid_sentiment):
    out = hybrid_sentiment.out

    scores, record = read_json(out / "metrics.json"), read_json(out / "training.json")
    assert scores["accuracy"] >= 0.9
    assert set(scores["per_class"]) == {"negative", "neutral", "positive"}
    assert np.array(scores["confusion_matrix"]["matrix"]).sum() == record["rows"]["validation"] == 12
    assert record["rows"] == {"read": 120, "dropped": {}, "train": 108, "validation": 12, "markup_converted": 0,
                              "longer_than_maxlen": {"share": 0.0, "of_sampled_train_rows": 108},
                              # five vocabulary words each (conftest.sentiment_rows): five word pieces
                              "lengths_in_pieces": {"p99": 5, "of_sampled_train_rows": 108}}
    assert record["classes"] == ["negative", "neutral", "positive"] and record["multilabel"] is False
    assert record["settings"]["maxlen"] == 32 and record["settings"]["lr"] == 3e-3
    assert record["data"]["sha256"] == hashlib.sha256(hybrid_sentiment.data.read_bytes()).hexdigest()
    assert record["device"]["kind"] == "cpu" and record["versions"]["ktrain"] == "0.41.4"
    assert record["reload_check"]["max_difference"] <= 1e-5
    assert {"read", "prepare_bert", "fit", "save_bert", "fit_nbsvm", "save_nbsvm", "label_audit", "evaluate",
            "reload_check"} == set(record["durations_s"])  # --lr given: no lr_find
    assert (out / "confusion_matrix.png").stat().st_size > 1000

    probabilities = load_predictor(out).predict(["great film", "awful phone", "plain plot"], return_proba=True)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert load_predictor(out).predict(["i love it", "broken and bad"]) == ["positive", "negative"]


@pytest.fixture(scope="module")
def auto_lr_run(tiny_bert_dir, tmp_path_factory):
    """`python train.py` in a fresh process, as a user runs it: binary integer labels on an Excel sheet, 2 epochs, the
    learning rate estimated by lr_find (--lr auto, the default). The test of what the run saved and the test of what
    it printed share it."""
    tmp_path = tmp_path_factory.mktemp("auto_lr")
    rows = sentiment_rows(10, classes=("negative", "positive"))
    rows["stars"] = (rows.pop("sentiment") == "positive").astype(int)
    rows.to_excel(tmp_path / "reviews.xlsx", sheet_name="scores", index=False)
    out = tmp_path / "models" / "m"
    command = [sys.executable, str(REPO / "train.py"), "--data", str(tmp_path / "reviews.xlsx"), "--text-column",
               "review", "--label-column", "stars", "--sheet", "scores", "--bert-dir", str(tiny_bert_dir), "--maxlen",
               "32", "--batch-size", "8", "--epochs", "2", "--out", str(out)]  # --lr auto: lr_find
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "PREDICTOR_MODELS_DIR": str(tmp_path / "models")})
    return SimpleNamespace(returncode=result.returncode, output=result.stdout + result.stderr, out=out)


def test_binary_with_integer_labels_and_auto_lr(auto_lr_run):
    out = auto_lr_run.out
    assert auto_lr_run.returncode == 0, auto_lr_run.output[-3000:]

    record = read_json(out / "training.json")
    assert record["classes"] == ["0", "1"] and record["data"]["sheet"] == "scores"
    # lr_find's suggestion is used inside the band, else the fallback; either way the record says which, with figures.
    assert record["lr"]["source"].startswith(("lr_find", "fallback"))
    assert 1e-4 <= record["lr"]["chosen"] <= 2e-4  # where bench/results/lr_sweep.json found MiniLM trains well
    assert f"{record['lr']['estimates']['min_loss_div_10']:.1e}" in record["lr"]["why"]
    assert set(record["lr"]["estimates"]) == {"min_numerical_gradient", "min_loss_div_10", "longest_valley"}
    assert (out / "lr_find.png").stat().st_size > 1000
    assert load_predictor(out).predict(["good film"], return_proba=True).shape == (1, 2)


def test_multilabel_round_trip(tiny_bert_dir, tmp_path):
    topic_rows(110).to_csv(tmp_path / "topics.csv", index=False)
    out = tmp_path / "model"
    labels = [arg for topic in TOPIC_WORDS for arg in ("--label-column", topic)]

    # Half the rows for validation: enough (55) to choose thresholds on.
    assert train_tiny(main, tiny_bert_dir, tmp_path / "topics.csv", out, "--text-column", "text", *labels,
                      "--epochs", "1", "--val-fraction", "0.5") == 0

    scores, record = read_json(out / "metrics.json"), read_json(out / "training.json")
    assert record["multilabel"] is True and record["classes"] == list(TOPIC_WORDS)
    assert scores["task"] == "multi-label" and set(scores["per_label"]) == set(TOPIC_WORDS)
    assert all({"f1", "roc_auc", "precision", "recall"} <= set(v) for v in scores["per_label"].values())
    # The hybrid's blend was chosen by cross-validation among four candidates, and is never below a member's micro-F1.
    blend = record["combination"]
    assert set(blend["cross_validated_micro_f1"]) == {"per_label", "shared", "bert", "nbsvm"}
    assert blend["micro_f1"][blend["chosen"]] >= max(blend["micro_f1"]["bert"], blend["micro_f1"]["nbsvm"])
    assert len(record["bert_weight"]) == len(TOPIC_WORDS)
    # One threshold per label, chosen on the validation rows, and the metrics are the model's at those thresholds:
    # sklearn's micro-F1 there (metrics.json) equals the chooser's own count for the chosen rule.
    choice = record["threshold_choice"]
    assert choice["chosen"] in ("default", "shared", "per_label") and record["version"] == 7
    assert len(record["thresholds"]) == len(TOPIC_WORDS) and all(0 < t < 1 for t in record["thresholds"])
    assert [scores["per_label"][t]["threshold"] for t in TOPIC_WORDS] == record["thresholds"]
    assert scores["micro_f1"] == pytest.approx(choice["validation"][choice["chosen"]]["micro_f1"], abs=1e-5)
    assert scores["macro_f1"] == pytest.approx(choice["validation"][choice["chosen"]]["macro_f1"], abs=1e-5)
    probabilities = load_predictor(out).predict(["battery and screen"], return_proba=True)
    assert probabilities.shape == (1, 3) and ((probabilities >= 0) & (probabilities <= 1)).all()


def test_awkward_texts_are_counted_dropped_by_the_scoring_rule_or_truncated(tiny_bert_dir, tmp_path):
    rows = sentiment_rows(8)
    rows.loc[0, "review"] = 12345  # a number where text was expected: not text, as scoring would say
    rows.loc[1, "review"] = "   "  # blank: dropped and counted
    rows.loc[2, "review"] = "good " * 5000  # far past maxlen: truncated, not refused
    rows.loc[3, "sentiment"] = None  # blank label: dropped and counted, never trained on
    rows.to_csv(tmp_path / "reviews.csv", index=False)

    assert train_tiny(main, tiny_bert_dir, tmp_path / "reviews.csv", tmp_path / "model", "--text-column", "review",
                      "--label-column", "sentiment", "--epochs", "1", "--lr", "1e-4") == 0

    counts = read_json(tmp_path / "model" / "training.json")["rows"]
    assert counts["read"] == 24
    assert counts["dropped"] == {"empty text": 1, "not text (no letters)": 1, "blank label": 1}
    assert counts["train"] + counts["validation"] == 21
    assert 0 < counts["longer_than_maxlen"]["share"] <= 1 / counts["train"] + 1e-4


@pytest.mark.parametrize("reading, learns", [("head", False), ("head+tail", True), ("windows", True)])
def test_a_model_reads_long_texts_the_same_way_in_training_and_scoring(tiny_bert_dir, tmp_path, reading, learns):
    """The class word sits at the end of texts longer than maxlen: only a reading that sees the end can learn it, and
    only if scoring reads the same part as training did."""
    rows = sentiment_rows(30, classes=("negative", "positive"))
    end_word = rows["sentiment"].map({"negative": "bad", "positive": "good"})
    rows["review"] = [" ".join(["the film"] * 20 + [word, word]) for word in end_word]  # 42 pieces, maxlen 32
    rows.to_csv(tmp_path / "reviews.csv", index=False)
    out = tmp_path / "models" / "m"

    assert train_tiny(main, tiny_bert_dir, tmp_path / "reviews.csv", out, "--text-column", "review",
                      "--label-column", "sentiment", "--epochs", "8", "--lr", "3e-3", "--classifier", "bert",
                      "--reading", reading) == 0

    record, scores = read_json(out / "training.json"), read_json(out / "metrics.json")
    assert record["reading"] == reading and record["rows"]["longer_than_maxlen"]["share"] == 1.0
    assert (scores["accuracy"] >= 0.9) == learns, scores["accuracy"]
    scorer = Scorer(out)
    texts = ["the film " * 20 + "bad bad", "the film " * 20 + "good good"]
    if learns:
        assert scorer.predict_proba(texts).argmax(axis=1).tolist() == [0, 1]


def test_nbsvm_alone_is_a_ktrain_predictor_the_scorer_reads(tiny_nbsvm_dir):
    out = tiny_nbsvm_dir  # train.py --classifier nbsvm

    record = read_json(out / "training.json")
    assert [m["kind"] for m in record["members"]] == ["nbsvm"] and record["bert_weight"] == [0.0]
    assert record["maxlen"] is None and record["lr"] is None and not (out / "tf_model.h5").exists()
    texts = ["i love it, great", "broken and awful"]
    expected = load_predictor(out / "nbsvm").predict(texts, return_proba=True)
    np.testing.assert_allclose(Scorer(out).predict_proba(texts), expected, atol=1e-6)


@pytest.mark.bad_input
def test_nbsvm_alone_refuses_a_label_that_never_varies_with_what_to_do(tiny_bert_dir, tmp_path, capsys):
    rows = topic_rows(30)
    rows["battery"] = 1  # on for every row: no binary NBSVM can be trained for it
    rows.to_csv(tmp_path / "topics.csv", index=False)
    labels = [arg for topic in TOPIC_WORDS for arg in ("--label-column", topic)]

    assert train_tiny(main, tiny_bert_dir, tmp_path / "topics.csv", tmp_path / "models" / "nb", "--text-column",
                      "text", *labels, "--classifier", "nbsvm") == 2

    assert "--classifier hybrid or --classifier bert" in capsys.readouterr().err
    assert not (tmp_path / "models" / "nb").exists()


def test_hybrid_records_each_members_validation_and_its_blend(hybrid_sentiment):
    out = hybrid_sentiment.out  # train.py's default classifier, its blend chosen on the validation rows

    record, scores = read_json(out / "training.json"), read_json(out / "metrics.json")
    assert record["classifier"] == "hybrid" and [m["kind"] for m in record["members"]] == ["bert", "nbsvm"]
    best_member = max(m["validation"]["accuracy"] for m in record["members"])
    assert scores["accuracy"] >= best_member  # on the validation rows the blend is never worse
    w = record["bert_weight"][0]
    assert record["combination"]["chosen"] == w and 0 <= w <= 1
    assert record["combination"]["candidates"][str(w)]["accuracy"] == scores["accuracy"]


def file_hashes(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failed_retraining_leaves_the_previous_model_byte_identical(hybrid_sentiment, tiny_bert_dir, tmp_path,
                                                                   monkeypatch, failure):
    import predictor.model_folder

    sentiment_rows(6).to_csv(tmp_path / "reviews.csv", index=False)
    out = tmp_path / "models" / "keep-me"
    args = ["--text-column", "review", "--label-column", "sentiment", "--epochs", "1", "--lr", "1e-4"]
    shutil.copytree(hybrid_sentiment.out, out)  # the previous model, as train.py saved it
    before = file_hashes(out)

    def fail_after_saving(folder, *rest, **kwargs):  # the new model is fully written when this strikes
        real_write(folder, *rest, **kwargs)
        raise failure

    real_write = predictor.model_folder.write  # train()'s last write: the record, once the model checked out
    monkeypatch.setattr(predictor.model_folder, "write", fail_after_saving)
    if isinstance(failure, KeyboardInterrupt):
        assert train_tiny(main, tiny_bert_dir, tmp_path / "reviews.csv", out, *args, "--force") == 130
    else:
        with pytest.raises(RuntimeError, match="disk full"):
            train_tiny(main, tiny_bert_dir, tmp_path / "reviews.csv", out, *args, "--force")

    assert file_hashes(out) == before
    assert [p.name for p in out.parent.iterdir()] == ["keep-me"]  # no staging folder left behind


def test_force_replaces_a_model_only_after_the_new_one_checks_out(hybrid_sentiment, tiny_bert_dir, tmp_path):
    sentiment_rows(6).to_csv(tmp_path / "reviews.csv", index=False)
    out = tmp_path / "model"
    args = ["--text-column", "review", "--label-column", "sentiment", "--epochs", "1", "--lr", "1e-4"]
    shutil.copytree(hybrid_sentiment.out, out)  # the model to replace, as train.py saved it
    first = read_json(out / "training.json")["finished_at"], read_json(out / "training.json")["settings"]["seed"]

    assert train_tiny(main, tiny_bert_dir, tmp_path / "reviews.csv", out, *args, "--force", "--seed", "7") == 0

    assert read_json(out / "training.json")["settings"]["seed"] == 7 != first[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "reviews.csv"]


@pytest.mark.bad_input
def test_train_py_runs_as_a_script_and_reports_bad_input_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "train.py"), "--data", str(tmp_path / "missing.csv"),
                             "--text-column", "a", "--label-column", "b"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert "missing.csv" in result.stderr and "Traceback" not in result.stderr + result.stdout


def test_a_new_model_becomes_the_default_only_when_it_is_the_first_or_someone_says_so(tiny_models, tiny_bert_dir,
                                                                                    tmp_path, monkeypatch, capsys):
    """The session's tiny models were trained one after the other into an empty models folder (conftest.tiny_models):
    what those two runs printed, then a third run, with --make-default, into a copy of that folder."""
    from predictor import model_folder

    first, second = tiny_models.logs["tiny-sentiment"], tiny_models.logs["tiny-topics"]
    for name in ("tiny-sentiment", "tiny-topics"):
        shutil.copytree(tiny_models.root / name, tmp_path / "models" / name)
    monkeypatch.setenv("PREDICTOR_MODELS_DIR", str(tmp_path / "models"))
    sentiment_rows(4).to_csv(tmp_path / "few.csv", index=False)  # 12 rows: a validation set too small to mean much
    quick = ["--text-column", "review", "--label-column", "sentiment", "--epochs", "1", "--lr", "1e-4",
             "--classifier", "bert", "--reading", "head"]

    assert model_folder.default_name(model_folder.list_models()) == "tiny-sentiment"
    assert train_tiny(main, tiny_bert_dir, tmp_path / "few.csv", tmp_path / "models" / "third", *quick,
                      "--make-default") == 0
    third = capsys.readouterr().out

    assert "It is the default model" in first and "The default model is still tiny-sentiment" in second
    assert "It is now the default model" in third
    assert model_folder.default_name(model_folder.list_models()) == "third"
    warnings = read_json(tmp_path / "models" / "tiny-sentiment" / "training.json")["warnings"]
    validation_rows = read_json(tmp_path / "models" / "tiny-sentiment" / "training.json")["rows"]["validation"]
    assert f"validation has only {validation_rows} rows (under 50)" in warnings[0]
    assert "fewer than 5 rows of" in warnings[1]
    assert f"Warning: {warnings[0]}" in first and "(rough: see the warnings above)" in first


@pytest.mark.bad_input
def test_make_default_is_refused_before_training_for_a_model_outside_the_models_folder(tmp_path, monkeypatch,
                                                                                       capsys):
    monkeypatch.setenv("PREDICTOR_MODELS_DIR", str(tmp_path / "models"))
    sentiment_rows(4).to_csv(tmp_path / "few.csv", index=False)
    assert main(["--data", str(tmp_path / "few.csv"), "--text-column", "review", "--label-column", "sentiment",
                 "--out", str(tmp_path / "elsewhere"), "--make-default"]) == 2
    assert "--make-default needs the model inside the models folder" in capsys.readouterr().err


# What TensorFlow, tf_keras and ktrain print that a newcomer cannot act on (issue 11).
LIBRARY_NOISE = ["oneDNN", "cuda", "absl::InitializeLog", "is unseeded", "HDF5", "lr_plot",
                 "Failed to compute the gradients", "begin training using", "warnings.warn"]


def test_a_training_run_says_what_it_decided_and_none_of_the_libraries_noise(auto_lr_run):
    output = auto_lr_run.output
    assert auto_lr_run.returncode == 0, output[-3000:]
    assert not [noise for noise in LIBRARY_NOISE if noise.lower() in output.lower()], output
    assert set(re.findall(r"epoch \d+/(\d+), batch", output)) == {"2"}  # fit's own two epochs; lr_find's are not shown
    assert re.search(r"Training BERT with learning rate \S+ \((lr_find|fallback)[^)]*'min loss / 10'", output)
    assert "plots in that folder: confusion_matrix.png (validation), lr_find.png (the learning-rate search)" in output


# ---------------------------------------------------------------------------------------------------------------------
# --corrections: the analysts' corrections saved in the page, added to the training rows


SENTIMENT = ["--text-column", "review", "--label-column", "sentiment"]
QUICK = ["--epochs", "1", "--lr", "1e-4", "--classifier", "bert", "--reading", "head"]  # seconds, not minutes


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    root = tmp_path / "models"
    root.mkdir()
    monkeypatch.setenv("PREDICTOR_MODELS_DIR", str(root))
    return root


def store_corrections(model, *corrected):
    """Save (text, corrected label) pairs for `model` as the page does, in the models folder's corrections.sqlite."""
    from predictor.corrections import Correction, CorrectionsStore, store_path

    store = CorrectionsStore(store_path())
    for text, label in corrected:
        store.add(Correction(model=model, text=text, model_label="neutral", corrected_label=label,
                             probabilities={"negative": 0.2, "neutral": 0.5, "positive": 0.3}))


def other_class(label):
    return next(c for c in ("negative", "neutral", "positive") if c != label)


def test_corrections_relabel_their_texts_in_the_data_and_add_the_others_as_training_rows(tiny_bert_dir, tmp_path,
                                                                                        models_dir, capsys):
    rows = sentiment_rows(6)
    rows.to_csv(tmp_path / "reviews.csv", index=False)
    text, label = rows.loc[0, "review"], rows.loc[0, "sentiment"]
    # The model the analysts corrected has no folder (deleted since): its corrections still count.
    store_corrections("old-model", (f"  {text} ", other_class(label)), ("great great film", "positive"),
                      ("awful broken phone", "negative"))
    out = models_dir / "new-model"

    assert train_tiny(main, tiny_bert_dir, tmp_path / "reviews.csv", out, *SENTIMENT, *QUICK,
                      "--corrections", "old-model") == 0

    printed = capsys.readouterr().out
    counts = read_json(out / "training.json")["rows"]
    replaced = int((rows["review"] == text).sum())
    assert counts["corrections"] == {"model": "old-model", "added": 2, "replaced": replaced, "unchanged": 0}
    assert counts["read"] == len(rows) and counts["train"] + counts["validation"] == len(rows) + 2
    line = f"Corrections from old-model: 2 added, {replaced} replaced."
    assert printed.count(line) == 2, printed  # in what the run decided, and in the closing summary
    assert printed.index(line) < printed.index("Training BERT") < printed.rindex(line)


def test_a_model_without_corrections_trains_on_the_data_as_it_is_and_says_so(tiny_bert_dir, tmp_path, models_dir,
                                                                             monkeypatch, capsys):
    sentiment_rows(4).to_csv(tmp_path / "reviews.csv", index=False)
    store_corrections("another-model", ("great great film", "positive"))
    monkeypatch.chdir(tmp_path)  # models/gone, as typed beside the models folder, for a model whose folder is gone

    assert train_tiny(main, tiny_bert_dir, tmp_path / "reviews.csv", models_dir / "new", *SENTIMENT, *QUICK,
                      "--corrections", "models/gone") == 0

    assert capsys.readouterr().out.count("no corrections stored for gone") == 2
    counts = read_json(models_dir / "new" / "training.json")["rows"]
    assert counts["corrections"] == {"model": "gone", "added": 0, "replaced": 0, "unchanged": 0}
    assert counts["train"] + counts["validation"] == 12


@pytest.mark.bad_input
def test_a_corrected_label_that_is_not_a_class_is_refused_before_training_saying_how_to_allow_it(tmp_path, models_dir,
                                                                                                capsys):
    sentiment_rows(4).to_csv(tmp_path / "reviews.csv", index=False)
    store_corrections("old-model", ("so so film", "mixed"), ("great great film", "positive"))

    assert main(["--data", str(tmp_path / "reviews.csv"), *SENTIMENT, "--out", str(models_dir / "new"),
                 "--corrections", "old-model"]) == 2

    err = capsys.readouterr().err
    assert "'mixed' (1 correction)" in err and "--allow-new-classes" in err and "Traceback" not in err
    assert "negative, neutral, positive" in err
    assert not (models_dir / "new").exists()


def test_with_allow_new_classes_a_corrected_label_trains_as_a_new_class(tiny_bert_dir, tmp_path, models_dir):
    sentiment_rows(4).to_csv(tmp_path / "reviews.csv", index=False)
    store_corrections("old-model", ("so so film", "mixed"), ("good and bad phone", "mixed"))
    out = models_dir / "new"

    assert train_tiny(main, tiny_bert_dir, tmp_path / "reviews.csv", out, *SENTIMENT, *QUICK,
                      "--corrections", "old-model", "--allow-new-classes") == 0

    record = read_json(out / "training.json")
    assert record["classes"] == ["mixed", "negative", "neutral", "positive"]
    assert record["rows"]["corrections"]["added"] == 2 and record["settings"]["allow_new_classes"] is True
    assert Scorer(out).predict_proba(["so so film"]).shape == (1, 4)


@pytest.mark.bad_input
@pytest.mark.parametrize("args, message", [
    (["--corrections", "../elsewhere"], "Models are only loaded from"),
    (["--allow-new-classes"], "pass it with --corrections MODEL"),
])
def test_corrections_from_outside_the_models_folder_or_new_classes_without_corrections_are_refused(
        tmp_path, models_dir, capsys, args, message):
    sentiment_rows(4).to_csv(tmp_path / "reviews.csv", index=False)

    assert main(["--data", str(tmp_path / "reviews.csv"), *SENTIMENT, "--out", str(models_dir / "new"), *args]) == 2

    assert message in capsys.readouterr().err and not (models_dir / "new").exists()


def test_with_val_data_a_corrected_validation_text_is_relabelled_there_and_never_trained_on(tmp_path, models_dir):
    from predictor.training import Settings, read_labelled

    train_rows, val_rows = sentiment_rows(4, seed=1), sentiment_rows(2, seed=2)
    text, label = val_rows.loc[0, "review"], val_rows.loc[0, "sentiment"]
    assert text not in set(train_rows["review"])
    train_rows.to_csv(tmp_path / "train.csv", index=False)
    val_rows.to_csv(tmp_path / "val.csv", index=False)
    store_corrections("old-model", (text, other_class(label)), ("great great film", "positive"))

    labelled = read_labelled(Settings(data=tmp_path / "train.csv", text_column="review", label_columns=["sentiment"],
                                      val_data=tmp_path / "val.csv", corrections=Path("old-model")))

    assert text not in set(labelled.train.frame["text"])
    val = labelled.val.frame
    assert set(val.loc[val["text"] == text, "label"]) == {other_class(label)}
    assert "great great film" in set(labelled.train.frame["text"])
    replaced = int((val_rows["review"] == text).sum())
    assert labelled.counts["corrections"] == {"model": "old-model", "added": 1, "replaced": replaced, "unchanged": 0}
    assert (labelled.counts["train"], labelled.counts["validation"]) == (13, 6)


def test_multi_label_corrections_can_bring_a_new_label_to_both_training_and_validation_rows(tmp_path, models_dir):
    from predictor.training import Settings, label_matrix, read_labelled

    rows = topic_rows(20)
    rows.to_csv(tmp_path / "topics.csv", index=False)
    store_corrections("old-model", (rows.loc[0, "text"], "battery, price"), ("price too high", "price"))

    labelled = read_labelled(Settings(data=tmp_path / "topics.csv", text_column="text",
                                      label_columns=list(TOPIC_WORDS), corrections=Path("old-model"),
                                      allow_new_classes=True))

    classes = [*TOPIC_WORDS, "price"]
    assert labelled.train.label_columns == labelled.val.label_columns == classes
    both = pd.concat([labelled.train.frame, labelled.val.frame])
    assert both["price"].sum() == 1 + int((rows["text"] == rows.loc[0, "text"]).sum())
    assert label_matrix(labelled.val, classes).shape == (len(labelled.val.frame), 4)
    assert labelled.counts["corrections"]["added"] == 1


def test_probabilities_are_calibrated_on_the_validation_rows_without_changing_a_label(tiny_bert_dir, tmp_path):
    from predictor import calibration, model_folder

    rows = sentiment_rows(70, seed=3)
    rows.loc[rows.index % 7 == 0, "sentiment"] = "neutral"  # some wrong labels, so no model is sure of every row
    rows.to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "model"
    assert train_tiny(main, tiny_bert_dir, tmp_path / "rows.csv", out, "--text-column", "review", "--label-column",
                      "sentiment", "--classifier", "nbsvm", "--val-fraction", "0.3") == 0

    record = read_json(out / "training.json")["calibration"]
    assert record["method"] == "temperature" and record["rows"] == 63 and len(record["temperatures"]) == 1
    assert 0 <= record["ece_after"] <= 1 and 0 <= record["ece_before"] <= 1
    assert read_json(out / "metrics.json")["calibration"]["temperatures"] == record["temperatures"]
    assert (out / model_folder.RELIABILITY_FILE).stat().st_size > 1000
    # The saved model scores the blend, then divides its log-odds by the temperature: nothing else, no label changed.
    model = load_scorer(out, tmp_path).model
    texts = rows["review"].tolist()[:40]
    blended = model.nbsvm.predict(texts)
    scored = model.score(texts).probabilities
    np.testing.assert_allclose(scored, calibration.apply(blended, record["temperatures"], False), atol=1e-6)
    assert (scored.argmax(axis=1) == blended.argmax(axis=1)).all()


def test_train_says_what_it_is_doing_in_each_long_step_in_plain_words(tiny_models):
    """What the session's tiny-topics run printed (a hybrid, its learning rate searched for): each step that takes
    more than a few seconds on real data is announced in words, and none of ktrain's own output gets through."""
    printed = tiny_models.logs["tiny-topics"]
    steps = ["Scoring, it will read all of a text up to 1,920 word pieces",
             "Preparing BERT: reading the texts into word pieces", "Finding how fast BERT should learn: a trial run",
             "Training BERT with learning rate", "Saving BERT:", "  writing the trained model and its vocabulary",
             "  converting it into the faster form the page and score.py run",
             "  checking that the converted copy gives the trained model's answers", "BERT will score with ",
             "Training NBSVM", "Saving NBSVM, checking the saved copy", "On the validation rows: BERT ",
             "use it: streamlit run app.py (the page), or python score.py", "loads its BERT part alone"]
    places = [printed.find(step) for step in steps]
    assert -1 not in places and places == sorted(places), dict(zip(steps, places))
    assert "begin training" not in printed and "\n\n\n" not in printed  # ktrain's line and blank lines
    assert "member" not in printed and "lr_find trains" not in printed and "for the label" not in printed, printed


def test_a_long_step_says_it_is_still_going_while_ktrain_is_silenced(monkeypatch):
    from predictor import training

    monkeypatch.setattr(training.progress, "STILL_EVERY_S", 0.05)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        with training.still_working(print, "trying learning rates"), training.quiet():
            print("begin training using onecycle policy")  # what ktrain would print in this thread
            time.sleep(0.3)
        time.sleep(0.2)  # and nothing more once the step is over
    lines = printed.getvalue().splitlines()
    assert lines and all(line == "  ... still trying learning rates (0 s so far)" for line in lines), lines
    assert len(lines) <= 0.3 / 0.05 + 1
