"""Shared fixtures: a tiny random-weight BERT in the real Google checkpoint layout, tiny datasets, trained models."""
import contextlib
import io
import json
import random
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import predictor  # noqa: F401  (TensorFlow's environment before anything imports it)
from predictor.bert.pretrained import checkpoint_shapes, write_checkpoint

REPO = Path(__file__).resolve().parent.parent
# Small enough that the whole ktrain path (lr_find, fit, save, reload) runs in seconds on two cores.
TINY_CONFIG = {"attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
               "hidden_size": 32, "initializer_range": 0.02, "intermediate_size": 64, "max_position_embeddings": 64,
               "num_attention_heads": 2, "num_hidden_layers": 2, "type_vocab_size": 2}
TINY_WORDS = ("good great love fine bad awful hate broken okay average plain film phone battery screen plot actor "
              "price delivery sound the a it was is and but very not this").split()
TINY_MAXLEN = 32
# Words that decide each class of the tiny datasets; the rest is filler, so a working pipeline learns them quickly.
CLASS_WORDS = {"negative": ["bad", "awful", "hate", "broken"], "neutral": ["okay", "average", "plain", "fine"],
               "positive": ["good", "great", "love"]}
TOPIC_WORDS = {"battery": "battery", "screen": "screen", "delivery": "delivery"}
FILLER = ["the", "film", "phone", "plot", "actor", "price", "sound", "it", "was", "very", "this", "and"]


def tiny_vocab():
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces = list(string.ascii_lowercase) + [f"##{c}" for c in string.ascii_lowercase] + list(string.digits)
    return list(dict.fromkeys(specials + TINY_WORDS + pieces + list(".,!?'")))  # no token twice, as in real vocabs


def build_tiny_bert(folder, seed=0):
    """Random weights with every tensor keras_bert expects, written by the same code that converts real weights."""
    vocab = tiny_vocab()
    config = {**TINY_CONFIG, "vocab_size": len(vocab)}
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, shape in checkpoint_shapes(config).items():
        if name.endswith("gamma"):
            tensors[name] = np.ones(shape, np.float32)
        elif name.endswith(("beta", "bias")):
            tensors[name] = np.zeros(shape, np.float32)
        else:
            tensors[name] = rng.normal(0, config["initializer_range"], shape).astype(np.float32)
    write_checkpoint(folder, config, vocab, tensors)
    return Path(folder)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


def sentiment_rows(n_per_class, classes=("negative", "neutral", "positive"), seed=0):
    """Short texts whose class shows in one keyword among filler words."""
    rng = random.Random(seed)
    rows = []
    for label in classes:
        for _ in range(n_per_class):
            words = rng.sample(FILLER, 4) + [rng.choice(CLASS_WORDS[label])]
            rng.shuffle(words)
            rows.append({"review": " ".join(words), "sentiment": label})
    rng.shuffle(rows)
    return pd.DataFrame(rows)


def topic_rows(n, seed=0):
    """Texts mentioning any subset of three topics, with one 0/1 column per topic (multi-label)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        on = [t for t in TOPIC_WORDS if rng.random() < 0.5] or [rng.choice(list(TOPIC_WORDS))]
        words = rng.sample(FILLER, 4) + [TOPIC_WORDS[t] for t in on]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), **{t: int(t in on) for t in TOPIC_WORDS}})
    return pd.DataFrame(rows)


def train_tiny(train_main, bert_dir, data, out, *extra):
    """Run train.py's main on tiny data; returns its exit code."""
    return train_main(["--data", str(data), "--bert-dir", str(bert_dir), "--maxlen", str(TINY_MAXLEN),
                       "--batch-size", "8", "--out", str(out), *extra])


@dataclass(frozen=True)
class TrainedModels:
    root: Path  # the models folder
    logs: dict  # model name -> what its train.py run printed


def train_logged(train_main, bert_dir, data, out, *extra):
    """train_tiny, returning what the run printed (its log, the decisions and the closing summary)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = train_tiny(train_main, bert_dir, data, out, *extra)
    assert code == 0, printed.getvalue()[-3000:]
    return printed.getvalue()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, tiny_bert_dir):
    """A models folder with `tiny-sentiment` (single-label BERT reading the head) and `tiny-topics` (multi-label, a
    hybrid reading windows), trained by train.py one after the other into that (empty) folder as the models folder, and
    what each run printed: tiny-sentiment became the default, tiny-topics did not.

    tiny-topics blends its members evenly (--bert-weight 0.5): its 4 validation rows are too few to choose a blend on
    (cross-validation there gives the random-weight BERT no weight), and the tests of a hybrid need both members
    scored. The chosen blend is tested in test_train and test_contracts.

    Built once per test run (per xdist worker): every test that only needs a trained model uses these, copying a
    folder into its own tmp_path before changing anything in it."""
    from train import main as train_main

    root = tmp_path_factory.mktemp("models")
    data = tmp_path_factory.mktemp("tiny_data")
    sentiment_rows(12).to_csv(data / "sentiment.csv", index=False)
    topic_rows(40).to_csv(data / "topics.csv", index=False)
    logs = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREDICTOR_MODELS_DIR", str(root))  # what the runs say about the default model is about root
        # BERT alone reading the start of each text: what every model was before hybrids, and what ktrain itself does.
        logs["tiny-sentiment"] = train_logged(
            train_main, tiny_bert_dir, data / "sentiment.csv", root / "tiny-sentiment", "--text-column", "review",
            "--label-column", "sentiment", "--epochs", "1", "--classifier", "bert", "--reading", "head")
        logs["tiny-topics"] = train_logged(
            train_main, tiny_bert_dir, data / "topics.csv", root / "tiny-topics", "--text-column", "text",
            *[arg for t in TOPIC_WORDS for arg in ("--label-column", t)], "--epochs", "1", "--bert-weight", "0.5")
    return TrainedModels(root, logs)


@pytest.fixture(scope="session")
def tiny_models_dir(tiny_models):
    return tiny_models.root


@pytest.fixture(scope="session")
def tiny_nbsvm_dir(tmp_path_factory, tiny_bert_dir):
    """`tiny-nbsvm`: NBSVM alone, single-label, trained by train.py (--classifier nbsvm) on the sentiment rows; a
    folder of its own, outside tiny_models_dir."""
    from train import main as train_main

    data = tmp_path_factory.mktemp("nbsvm_data") / "rows.csv"
    sentiment_rows(12).to_csv(data, index=False)
    out = tmp_path_factory.mktemp("nbsvm_models") / "tiny-nbsvm"
    train_logged(train_main, tiny_bert_dir, data, out, "--text-column", "review", "--label-column", "sentiment",
                 "--classifier", "nbsvm")
    return out


def read_json(path):
    return json.loads(Path(path).read_text())


# Under pytest-xdist (pytest.ini: -n 2 --dist loadgroup) each worker builds the session and module fixtures it uses.
# Every test that uses one of these trained-model fixtures is put in that model's xdist group, and a group runs on one
# worker, so each model is trained once per run: the session's tiny models on one worker, which then runs every test of
# them, while the other worker runs the trainings and the rest.
MODEL_GROUPS = {"tiny_models": "tiny_models", "tiny_nbsvm_dir": "tiny_models", "hybrid_sentiment": "hybrid_sentiment",
                "auto_lr_run": "auto_lr_run"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers under --dist loadgroup, else no-op
        return
    for item in items:
        group = next((MODEL_GROUPS[name] for name in MODEL_GROUPS if name in item.fixturenames), None)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    # The longest tests first, so that no worker is left with a training after the other has run out of tests: xdist
    # hands out the groups first (largest first), then single tests in this order, where those that train a tiny BERT
    # themselves (they use tiny_bert_dir) come before the rest.
    items.sort(key=lambda item: "tiny_bert_dir" not in item.fixturenames)
