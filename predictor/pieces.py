"""Texts to the word-piece ids BERT reads: the one tokenizing path of training, evaluation and scoring.

How much of a long text a model reads is a property of the model (training.json's `reading`):

- `head`: the first maxlen - 2 pieces, what ktrain's 'bert' mode keeps. Ids equal ktrain's own preprocessing
  (tests/test_pieces.py checks that on real reviews).
- `head+tail`: the first quarter and the last three quarters of the budget. Sun et al. 2019 ("How to Fine-Tune
  BERT for Text Classification?") found the first 128 + last 382 of 510 pieces best on IMDB; scaled to maxlen 128
  that is 32 + 94. The end of a review is where its verdict usually is.
- `windows`: trained on head+tail, scored over overlapping windows that cover the whole text (half a window's
  stride), window probabilities averaged. On 2,000 IMDB rows: head 84.7%, head+tail 85.9%, windows 87.8%
  (issue 8's measurement), for about 4.4x the scoring work on IMDB; texts that fit in maxlen are one window.

A model is scored the way it was trained: the same strategy in train.py's evaluation, the app and the CLI.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEAD = "head"
HEAD_TAIL = "head+tail"
WINDOWS = "windows"
READINGS = (WINDOWS, HEAD_TAIL, HEAD)
HEAD_SHARE = 128 / 510  # Sun et al. 2019's split of BERT's 510-piece budget, scaled to any maxlen
MARKERS = 2  # [CLS] and [SEP]
PAD_ID = 0  # keras_bert's pad index, which ktrain uses
# Windows per text at most: 64 windows of 126 pieces cover about 4,000 pieces (some 3,000 words, far beyond any
# review); a longer text is read through this many windows spread evenly over it, so one pasted book cannot hold
# the scorer for minutes.
MAX_WINDOWS = 64


@dataclass(frozen=True)
class Encoded:
    """One text as rows of maxlen ids (several only for `windows`), and how much of it they read."""

    ids: list[list[int]]
    pieces: int  # word pieces in the whole text, without the two markers
    read: int  # distinct pieces the rows cover


def training_reading(reading: str) -> str:
    """The strategy used on training rows: windows models train on head+tail (one row per text)."""
    return HEAD_TAIL if reading == WINDOWS else reading


class WordPieces:
    """BERT's uncased word-piece tokenizer over one vocabulary, with ktrain's ids."""

    def __init__(self, token_ids: dict[str, int]):
        import keras_bert

        self._ids = dict(token_ids)
        self._tokenizer = keras_bert.Tokenizer(self._ids)  # the tokenizer ktrain's 'bert' mode uses
        self._unk = self._ids["[UNK]"]
        self._cls, self._sep = self._ids["[CLS]"], self._ids["[SEP]"]

    @classmethod
    def from_vocab_file(cls, path: Path) -> "WordPieces":
        """From a checkpoint's vocab.txt (one token a line, the line number is its id), as ktrain reads it."""
        token_ids = {}
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            token_ids[line.strip()] = len(token_ids)
        return cls(token_ids)

    @classmethod
    def of_preprocessor(cls, preproc: object) -> "WordPieces":
        """From a ktrain BERTPreprocessor, whose `tok_dct` maps ids to tokens (saved inside every predictor)."""
        return cls({token: i for i, token in preproc.tok_dct.items()})

    def pieces(self, text: str) -> list[str]:
        """The word pieces of `text`, without markers."""
        return self._tokenizer.tokenize(str(text))[1:-1]

    def count(self, text: str) -> int:
        """Word pieces plus the two markers: more than maxlen means the text does not fit in one row."""
        return len(self.pieces(text)) + MARKERS

    def encode(self, text: str, maxlen: int, reading: str) -> Encoded:
        """`text` as rows of `maxlen` ids under `reading`."""
        return self.encode_pieces(self.pieces(text), maxlen, reading)

    def encode_pieces(self, pieces: list[str], maxlen: int, reading: str) -> Encoded:
        """Word pieces (as `pieces()` gives them) as rows of `maxlen` ids under `reading`."""
        budget = maxlen - MARKERS
        if len(pieces) <= budget:
            spans = [pieces]
        elif reading == HEAD:
            spans = [pieces[:budget]]
        elif reading == HEAD_TAIL:
            head = round(budget * HEAD_SHARE)
            spans = [pieces[:head] + pieces[len(pieces) - (budget - head):]]
        elif reading == WINDOWS:
            stride = max(1, budget // 2)
            starts = list(range(0, len(pieces) - budget, stride)) + [len(pieces) - budget]
            if len(starts) > MAX_WINDOWS:
                starts = [starts[i] for i in np.linspace(0, len(starts) - 1, MAX_WINDOWS).round().astype(int)]
            spans = [pieces[start:start + budget] for start in starts]
            covered = np.zeros(len(pieces), bool)
            for start in starts:
                covered[start:start + budget] = True
            return Encoded([self._row(span, maxlen) for span in spans], len(pieces), int(covered.sum()))
        else:
            raise ValueError(f"unknown reading {reading!r}; expected one of {READINGS}")
        return Encoded([self._row(span, maxlen) for span in spans], len(pieces), sum(map(len, spans)))

    def training_ids(self, texts: list[str], maxlen: int, reading: str) -> np.ndarray:
        """One row of ids per text, under the reading the model trains with: what training feeds the model."""
        reading = training_reading(reading)
        return np.array([self.encode(text, maxlen, reading).ids[0] for text in texts], dtype=np.int64)

    def _row(self, span: list[str], maxlen: int) -> list[int]:
        ids = [self._cls] + [self._ids.get(piece, self._unk) for piece in span] + [self._sep]
        return ids + [PAD_ID] * (maxlen - len(ids))
