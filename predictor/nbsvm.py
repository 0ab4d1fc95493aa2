"""ktrain's NBSVM as plain arrays: exported when a model is saved, checked against the ktrain predictor it came from,
and scored with NumPy alone, so that a scoring process never loads TensorFlow for it.

What ktrain's NBSVM computes (ktrain/text/models.py `_build_nbsvm`, StandardTextPreprocessor): a text becomes Keras
Tokenizer word ids (lower-cased, punctuation out, split on spaces, words ranked below `num_words` kept), then the ids
of its word 2- and 3-grams seen in training are appended, and the last `maxlen` ids are kept (pad_sequences cuts from
the front). The model sums, over those ids, the naive-Bayes ratio of each class times the id's learnt weight, and
takes a softmax (or sigmoid) of the sums. So one table V[id, class] = ratio * weight, looked up and summed, is the
whole model; n-grams are found by a sorted int64 key per n-gram (21 bits per word id).

The export holds only arrays (np.load with allow_pickle=False): nothing in it can run code. Never imports TensorFlow.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "nbsvm.npz"  # in each NBSVM predictor's folder, beside ktrain's files
CHECK_TOLERANCE = 1e-5  # float32 sums in another order: measured differences are about 1e-7
ID_BITS = 21  # word ids per n-gram key; ktrain's NBSVM keeps 80,000 words (NBSVM_RECIPE), far below 2**21
# Keras' default filters: characters that separate words like a space (tf_keras text_to_word_sequence).
KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
FILTERS = str.maketrans({c: " " for c in KERAS_FILTERS})
ACTIVATIONS = ("softmax", "sigmoid")


class ExportMismatch(RuntimeError):
    """The exported arrays do not give ktrain's probabilities."""


@dataclass(frozen=True)
class Check:
    rows: int
    max_difference: float


class NbsvmArrays:
    """An exported NBSVM; `predict(texts, return_proba=True)` as ktrain's predictor gives it."""

    def __init__(self, path: Path):
        with np.load(path, allow_pickle=False) as data:
            words = bytes(data["words"]).decode("utf-8", "surrogatepass").split("\n") if len(data["words"]) else []
            self._word_ids = dict(zip(words, data["word_ids"].tolist()))
            self._keys, self._key_ids = data["ngram_keys"], data["ngram_ids"]
            self._table = data["table"]
            self._maxlen, self._ngrams = int(data["maxlen"]), int(data["ngram_range"])
            self._activation = str(data["activation"])

    def ids(self, text: str) -> np.ndarray:
        """What ktrain's preprocessing gives the model for `text`, without the padding."""
        return self.batch_ids([text])[0]

    def batch_ids(self, texts: list[str]) -> list[np.ndarray]:
        """ids() of each text; the n-grams of the whole batch are looked up at once, in sorted order."""
        known_word = self._word_ids.get  # ids start at 1, so filter(None, ...) drops exactly the unknown words
        unigrams = [np.fromiter(filter(None, map(known_word, text.lower().translate(FILTERS).split(" "))), np.int64)
                    for text in texts]
        found = [[u] for u in unigrams]
        for n in range(2, self._ngrams + 1 if len(self._keys) else 2):  # no n-grams were seen: none to look up
            grams = [np.stack([u[k:len(u) - n + 1 + k] for k in range(n)], axis=1) if len(u) >= n
                     else np.zeros((0, n), np.int64) for u in unigrams]
            keys = ngram_keys(np.concatenate(grams))
            order = np.argsort(keys)  # searching in order keeps the table's pages in cache: 2x faster
            at = np.empty(len(keys), np.int64)
            at[order] = np.minimum(np.searchsorted(self._keys, keys[order]), len(self._keys) - 1)
            ids = np.where(self._keys[at] == keys, self._key_ids[at], -1)
            for parts, text_ids in zip(found, np.split(ids, np.cumsum([len(g) for g in grams])[:-1])):
                parts.append(text_ids[text_ids >= 0])
        return [np.concatenate(parts)[-self._maxlen:] for parts in found]

    def predict(self, texts: list[str], return_proba: bool = True) -> np.ndarray:
        sums = np.stack([self._table[ids].sum(axis=0, dtype=np.float64) for ids in self.batch_ids(list(texts))]) \
            if len(texts) else np.zeros((0, self._table.shape[1]))
        if self._activation == "sigmoid":
            return (1 / (1 + np.exp(-sums))).astype(np.float32)
        exp = np.exp(sums - sums.max(axis=1, keepdims=True))
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def ngram_keys(grams: np.ndarray) -> np.ndarray:
    """One int64 per n-gram of word ids (rows of `grams`): ids are >= 1, so a bigram and a trigram never share one."""
    keys = np.zeros(len(grams), np.int64)
    for k in range(grams.shape[1]):
        keys |= grams[:, k].astype(np.int64) << (ID_BITS * k)
    return keys


def save_arrays(predictor: object, folder: Path) -> Path:
    """Write a ktrain NBSVM predictor's arrays to folder/FILE; ExportMismatch if it is not the NBSVM this module
    computes (train.py's NBSVM_RECIPE always is)."""
    preproc, model = predictor.preproc, predictor.model
    tokenizer = preproc.tok
    if type(preproc).__name__ != "StandardTextPreprocessor" or tokenizer.char_level or tokenizer.oov_token \
            or tokenizer.analyzer is not None or not tokenizer.lower or tokenizer.split != " " \
            or tokenizer.filters != KERAS_FILTERS or preproc.process_chinese(["a b"]) != ["a b"]:
        raise ExportMismatch(f"cannot export {type(preproc).__name__}: not ktrain's standard word preprocessing")
    activation = model.layers[-1].get_config().get("activation")
    embeddings = [layer for layer in model.layers if type(layer).__name__ == "Embedding"]
    if activation not in ACTIVATIONS or len(embeddings) != 2:
        raise ExportMismatch(f"cannot export a model ending in {activation!r} with {len(embeddings)} embeddings: "
                             "not ktrain's NBSVM")
    ratios, weights = (layer.get_weights()[0] for layer in embeddings)
    table = (ratios.astype(np.float32) * weights.astype(np.float32)).astype(np.float32)
    num_words = tokenizer.num_words
    vocabulary = {w: i for w, i in tokenizer.word_index.items() if not num_words or i < num_words}
    grams = sorted(preproc.tok_dct.items())
    if any(i >= 2 ** ID_BITS for i in vocabulary.values()) or any(len(g) > 3 for g, _ in grams):
        raise ExportMismatch("cannot export word ids or n-grams beyond what one int64 key holds")
    keys = np.array([sum(i << (ID_BITS * k) for k, i in enumerate(g)) for g, _ in grams], np.int64)
    order = np.argsort(keys)
    path = Path(folder) / FILE
    with open(path, "wb") as handle:
        np.savez(handle, words=np.frombuffer("\n".join(vocabulary).encode("utf-8", "surrogatepass"), np.uint8),
                 word_ids=np.array(list(vocabulary.values()), np.int64), ngram_keys=keys[order],
                 ngram_ids=np.array([i for _, i in grams], np.int64)[order], table=table,
                 maxlen=np.int64(preproc.maxlen), ngram_range=np.int64(preproc.ngram_range),
                 activation=np.array(activation))
    return path


def check(predictors: list, exported: list[NbsvmArrays], texts: list[str]) -> Check:
    """Largest difference between ktrain's probabilities and the exports' on the same texts."""
    if not texts:
        return Check(0, 0.0)
    return Check(len(texts), max(float(np.abs(np.asarray(p.predict(texts, return_proba=True), np.float32)
                                              - e.predict(texts)).max()) for p, e in zip(predictors, exported)))


def checked_record(result: Check, tolerance: float = CHECK_TOLERANCE) -> dict:
    """The record's `runtime.nbsvm` entry for exports that passed `result`; ExportMismatch if they did not."""
    if not result.max_difference <= tolerance:  # also refuses NaN
        raise ExportMismatch(f"the NBSVM export ({FILE}) disagrees with ktrain's predictor by "
                             f"{result.max_difference:.2e} (at most {tolerance:.0e} allowed) on {result.rows} "
                             "validation rows, so the model was not saved. This is a fault in the export, not in your "
                             "data: report it with this message.")
    return {"file": FILE, "engine": "numpy", "check": {"rows": result.rows, "max_difference": result.max_difference,
                                                       "tolerance": tolerance}}
