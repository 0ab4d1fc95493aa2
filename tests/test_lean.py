"""Scoring without TensorFlow: the BERT vocabulary and the NBSVM arrays saved beside the ktrain predictors give exactly
ktrain's probabilities, a scoring process never imports TensorFlow or ktrain, and older folders still score."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from predictor import model_folder, models, nbsvm
from predictor.scorer import Scorer
from predictor.bert.tokenizer import WordPieces
from conftest import REPO, sentiment_rows, train_tiny

EXACT = 1e-6  # float rounding between two runtimes of the same arithmetic
# ktrain sums NBSVM's up to 2,000 terms in float32, the export in float64: measured up to 1.5e-6 apart on these texts,
# so 1e-5 leaves room for another summation order and still fails on any wrong term (one term moves a probability by
# far more). Written out here, not taken from predictor.nbsvm, so that loosening the product's check fails this test.
SUMS = 1e-5
# Everything that reaches a member: empty, markup left over, separators Keras' tokenizer splits on and those it keeps
# inside a word, accents, emoji, CJK, and a text of more than NBSVM's 2,000 ids (ktrain keeps the last 2,000).
TEXTS = ["good film", "", "   ", "12345", "great!!! love,it;very(good)", "good\rfilm\tbad\nfine", "good\xa0film",
         "Ｇｏｏｄ ＦＩＬＭ", "café naïve ÉCOLE", "émoji 👍 ok", "電池 很好",
         "the battery was very broken and the plot bad " * 3,
         "awful " * 40, "the screen " * 25 + "great", " ".join(["good film", "awful plot", "the battery"] * 400)]


@pytest.fixture(scope="module")
def nbsvm_models(tiny_models_dir, tiny_nbsvm_dir):
    """The multi-label hybrid (one binary NBSVM per label) and a single-label NBSVM trained by train.py."""
    return {"tiny-topics": tiny_models_dir / "tiny-topics", "tiny-nbsvm": tiny_nbsvm_dir}


@pytest.mark.parametrize("name", ["tiny-topics", "tiny-nbsvm"])
def test_nbsvm_arrays_give_ktrains_probabilities_on_any_text(nbsvm_models, name):
    folder = nbsvm_models[name]
    record = model_folder.read(folder).record
    directories = model_folder.member_dirs(folder, record.member(model_folder.NBSVM), record)
    assert record.runtime["nbsvm"]["check"]["max_difference"] <= SUMS

    for directory in directories:
        expected = models.load_ktrain_predictor(directory).predict(TEXTS, return_proba=True)
        arrays = nbsvm.NbsvmArrays(directory / nbsvm.FILE)
        np.testing.assert_allclose(arrays.predict(TEXTS), expected, atol=SUMS)
    assert len(arrays.ids(TEXTS[-1])) == 2000  # the long text really was cut, as ktrain cuts it


def test_the_saved_vocabulary_gives_the_same_pieces_as_the_predictors(tiny_models_dir):
    folder = tiny_models_dir / "tiny-topics"
    saved = WordPieces.from_vocab_file(folder / model_folder.VOCAB_FILE)
    ktrains = WordPieces.of_preprocessor(models.load_preprocessor(folder))
    assert saved._ids == ktrains._ids and model_folder.read(folder).record.runtime["vocab"] == model_folder.VOCAB_FILE


SCORE_IN_A_FRESH_PROCESS = """
import json, sys
from predictor.scorer import load_scorer
scores = load_scorer(sys.argv[1]).score_batch(json.loads(sys.argv[2]))
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "ktrain", "keras", "tf_keras", "keras_bert",
                                                         "sklearn", "tf2onnx", "onnx", "onnxruntime"})
print(json.dumps({"heavy": heavy, "probabilities": scores.probabilities.tolist(),
                  "members": {k: v.tolist() for k, v in scores.members.items()}}))
"""


@pytest.mark.parametrize("name", ["tiny-sentiment", "tiny-topics"])
def test_a_saved_model_scores_in_a_process_that_never_imports_tensorflow(tiny_models_dir, tmp_path, name):
    env = {"PREDICTOR_MODELS_DIR": str(tiny_models_dir), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", SCORE_IN_A_FRESH_PROCESS, name, json.dumps(TEXTS)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    fresh = json.loads(done.stdout.strip().splitlines()[-1])

    assert fresh["heavy"] == []
    ktrains = Scorer(as_exported_before_lean_scoring(tiny_models_dir / name, tmp_path / name))
    assert "nbsvm" not in ktrains.info.record.runtime and "vocab" not in ktrains.info.record.runtime
    before = ktrains.score_batch(TEXTS)
    np.testing.assert_allclose(fresh["probabilities"], before.probabilities, atol=SUMS)
    for kind, probabilities in before.members.items():
        np.testing.assert_allclose(fresh["members"][kind], probabilities, atol=EXACT if kind == "bert" else SUMS)


def as_exported_before_lean_scoring(folder, to):
    """A copy of a folder as train.py saved it with the ONNX export but before the vocabulary and NBSVM arrays."""
    shutil.copytree(folder, to)
    for path in [to / model_folder.VOCAB_FILE, *to.glob(f"**/{nbsvm.FILE}")]:
        path.unlink()
    record = json.loads((to / model_folder.TRAINING_FILE).read_text())
    record["runtime"] = {k: v for k, v in record["runtime"].items() if k not in ("vocab", "nbsvm")}
    (to / model_folder.TRAINING_FILE).write_text(json.dumps(record))
    return to


def test_a_score_py_run_never_imports_tensorflow(tiny_models_dir, tmp_path):
    import pandas as pd

    pd.DataFrame({"review": TEXTS, "id": range(len(TEXTS))}).to_csv(tmp_path / "in.csv", index=False)
    program = ("import runpy, sys; sys.argv = ['score.py', *sys.argv[1:]]\n"
               "try:\n    runpy.run_path('score.py', run_name='__main__')\n"
               "finally:\n    print('heavy:', 'tensorflow' in sys.modules or 'ktrain' in sys.modules)")
    env = {"PREDICTOR_MODELS_DIR": str(tiny_models_dir), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", program, str(tmp_path / "in.csv"), "--text-column", "review",
                           "--model", "tiny-topics", "--out", str(tmp_path / "out.csv")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)

    assert "heavy: False" in done.stdout, done.stdout + done.stderr
    assert pd.read_csv(tmp_path / "out.csv")["id"].tolist() == list(range(len(TEXTS)))


def test_missing_nbsvm_arrays_fall_back_to_ktrain_with_a_warning(nbsvm_models, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(nbsvm_models["tiny-topics"], copy)
    (copy / "nbsvm" / "1" / nbsvm.FILE).unlink()

    with pytest.warns(UserWarning, match="nbsvm exports are missing"):
        scorer = Scorer(copy)

    expected = Scorer(nbsvm_models["tiny-topics"]).score_batch(TEXTS)
    np.testing.assert_allclose(scorer.score_batch(TEXTS).members["nbsvm"], expected.members["nbsvm"], atol=SUMS)


def test_a_wrong_nbsvm_export_is_refused_and_the_folder_never_moves_into_place(tiny_bert_dir, tmp_path,
                                                                               monkeypatch):
    from train import main as train_main

    real_export = nbsvm.save_arrays

    def wrong_export(predictor, folder):
        """Export, then scale the table: arrays that load and score, but not as ktrain does."""
        path = real_export(predictor, folder)
        with np.load(path) as data:
            arrays = {key: data[key] for key in data.files}
        arrays["table"] = arrays["table"] * 1.5
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)
        return path

    monkeypatch.setattr(nbsvm, "save_arrays", wrong_export)
    sentiment_rows(6).to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "models" / "broken"

    with pytest.raises(nbsvm.ExportMismatch, match="disagrees with ktrain's predictor"):
        train_tiny(train_main, tiny_bert_dir, tmp_path / "rows.csv", out, "--text-column", "review",
                   "--label-column", "sentiment", "--classifier", "nbsvm")

    assert not out.exists() and list((tmp_path / "models").iterdir()) == []


def test_the_exported_arrays_cannot_carry_code(nbsvm_models):
    path = nbsvm_models["tiny-nbsvm"] / "nbsvm" / nbsvm.FILE
    with np.load(path, allow_pickle=False) as data:  # raises if any array were a pickled object
        assert all(data[key].dtype != object for key in data.files)
