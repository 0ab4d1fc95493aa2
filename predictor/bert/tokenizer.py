"""Texts to the word-piece ids BERT reads: the one tokenizing path of training, evaluation and scoring.

How much of a long text a model reads is a property of the model (training.json's `reading`):

- `head`: the first maxlen - 2 pieces, what ktrain's 'bert' mode keeps. Ids equal ktrain's own preprocessing
  (tests/test_contracts.py checks that on real reviews).
- `head+tail`: the first quarter and the last three quarters of the budget. Sun et al. 2019 ("How to Fine-Tune
  BERT for Text Classification?") found the first 128 + last 382 of 510 pieces best on IMDB; scaled to maxlen 128
  that is 32 + 94. The end of a review is where its verdict usually is.
- `windows`: trained on head+tail, scored over windows that cover the whole text, window probabilities averaged.
  Consecutive windows share `overlap` of their pieces: half in models saved before training.json recorded it
  (LEGACY_OVERLAP), DEFAULT_OVERLAP since; texts that fit in maxlen are one window. Why windows is the default: on
  2,000 IMDB dev rows (imdb_train rows no training sample holds), BERT reading over windows scored 82.8% / 88.5% at
  500 / 2,000 training rows and BERT trained and read on the head 78.25% / 83.15% (bench/results/defaults.json; first
  drawn from test rows in issue 8, confirmed on dev rows in issue 23). Reading whole reviews costs about 3 windows
  per IMDB review at no overlap.

A model is scored the way it was trained: the same strategy in train.py's evaluation, the app and the CLI.
"""
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
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
LEGACY_OVERLAP = 0.5  # windows half a window apart: every models' reading before the overlap was recorded
# New models' windows (training.json `window_overlap`) share nothing: chosen on 2,500 IMDB validation rows (training
# rows) with a model of 5,000 others, where no overlap scored 0.9096 against 0.9088 for half, with 7,496 windows
# instead of 11,237; on 5,000 test reviews afterwards 0.9098 against 0.9092, 44 against 31 reviews/s
# (bench/results/overlap.json).
DEFAULT_OVERLAP = 0.0


@dataclass(frozen=True)
class Encoded:
    """One text as rows of maxlen ids (several only for `windows`), and how much of it they read."""

    ids: list[list[int]]
    piece_count: int  # word pieces in the whole text, without the two markers
    read: int  # distinct pieces the rows cover


def longer_share(lengths: np.ndarray, maxlen: int) -> float:
    """The share of texts (their `count()`s) that do not fit in one row of maxlen: training records it, and scoring
    compares a file's share with it (predictor/scoring.py unlike_training)."""
    return round(float((np.asarray(lengths) > maxlen).mean()), 4) if len(lengths) else 0.0


def windows_text(overlap: float) -> str:
    """How a model's windows lie, in words for people: the one wording of the page, score.py and docs/training.md."""
    return "side by side" if overlap == 0 else f"overlapping by {overlap:.0%}"


def read_whole_up_to(maxlen: int, overlap: float) -> int:
    """The length, in word pieces, up to which windows read all of every text: MAX_WINDOWS windows at the model's
    spacing reach its end. A longer text is read through MAX_WINDOWS windows spread over it; side by side they leave
    pieces between them unread from the next piece on (overlapping windows, a little later)."""
    budget = maxlen - MARKERS
    return (MAX_WINDOWS - 1) * _stride(budget, overlap) + budget


def reading_text(reading: str, maxlen: int, overlap: float) -> str:
    """How much of a text BERT reads, in words for people: the one wording of the page (the sidebar and a long
    review's warning) and score.py. It must hold for every text, so windows say where "all of it" ends: otherwise the
    page would claim the whole review beside a row it flags as partly unread. Counts are of the text's own pieces
    (maxlen less [CLS] and [SEP]), the same count as a long review's warning gives for what was read."""
    budget = maxlen - MARKERS
    if reading == WINDOWS:
        return (f"all of a text up to {read_whole_up_to(maxlen, overlap):,} word pieces, in windows of {budget} "
                f"{windows_text(overlap)}; a longer text in {MAX_WINDOWS} windows spread over it")
    if reading == HEAD_TAIL:
        head = _head_piece_count(budget)
        return f"the first {head} and the last {budget - head} word pieces of a text"
    if reading == HEAD:
        return f"the first {budget} word pieces of a text"
    raise ValueError(f"unknown reading {reading!r}; expected one of {READINGS}")


def _stride(budget: int, overlap: float) -> int:
    """Pieces from one window's start to the next's."""
    return max(1, int(budget * (1 - overlap)))  # budget // 2 for half overlap, as before


def _head_piece_count(budget: int) -> int:
    """Pieces head+tail reads from the start of a text; the rest of the budget comes from its end."""
    return round(budget * HEAD_SHARE)


def training_reading(reading: str) -> str:
    """The strategy used on training rows: windows models train on head+tail (one row per text)."""
    return HEAD_TAIL if reading == WINDOWS else reading


class WordPieces:
    """BERT's uncased word-piece tokenizer over one vocabulary, with ktrain's ids.

    It gives exactly the pieces of keras_bert's Tokenizer, which ktrain's 'bert' mode uses (tests/test_contracts.py
    checks both on real reviews and on hostile Unicode), without importing it: keras_bert imports TensorFlow, which
    costs a scoring process seconds and hundreds of MB. Two differences in cost only: the text is built with a list
    rather than by adding strings, and a word's candidate pieces start no longer than the longest token in the
    vocabulary (keras_bert tries the whole rest of the word each time, quadratic in a long unbroken string).
    """

    def __init__(self, token_ids: dict[str, int]):
        self._ids = dict(token_ids)
        self._longest = max(map(len, self._ids))  # no longer candidate can be a token
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

    def write_vocab_file(self, path: Path) -> None:
        """The vocabulary as vocab.txt, readable by from_vocab_file without ktrain (so without TensorFlow)."""
        tokens = sorted(self._ids, key=self._ids.get)
        if [self._ids[t] for t in tokens] != list(range(len(tokens))) or any(t.splitlines() != [t.strip()]
                                                                             for t in tokens):
            raise ValueError("this vocabulary cannot be written one token a line (ids with gaps, or blank tokens)")
        Path(path).write_text("".join(f"{token}\n" for token in tokens), encoding="utf-8")

    def tokenize(self, text: str) -> list[str]:
        """The word pieces of `text`, without markers."""
        return [piece for word in words(str(text)) for piece in self._word_pieces(word)]

    def _word_pieces(self, word: str) -> list[str]:
        """Greedy longest match from the left, "##" marking a piece inside a word; a character that starts no
        piece is kept alone (it becomes [UNK] as an id), as keras_bert does."""
        if word in self._ids:
            return [word]
        found, start = [], 0
        while start < len(word):
            stop = min(len(word), start + self._longest)
            while stop > start:
                piece = word[start:stop] if start == 0 else "##" + word[start:stop]
                if piece in self._ids:
                    break
                stop -= 1
            if stop == start:
                stop = start + 1
                piece = word[start:stop] if start == 0 else "##" + word[start:stop]
            found.append(piece)
            start = stop
        return found

    def count(self, text: str) -> int:
        """Word pieces plus the two markers: more than maxlen means the text does not fit in one row."""
        return len(self.tokenize(text)) + MARKERS

    def encode(self, text: str, maxlen: int, reading: str, overlap: float = LEGACY_OVERLAP) -> Encoded:
        """`text` as rows of `maxlen` ids under `reading` (windows sharing `overlap` of their pieces)."""
        return self.encode_pieces(self.tokenize(text), maxlen, reading, overlap)

    def encode_pieces(self, pieces: list[str], maxlen: int, reading: str,
                      overlap: float = LEGACY_OVERLAP) -> Encoded:
        """Word pieces (as `tokenize()` gives them) as rows of `maxlen` ids under `reading`."""
        budget = maxlen - MARKERS
        if len(pieces) <= budget:
            spans = [pieces]
        elif reading == HEAD:
            spans = [pieces[:budget]]
        elif reading == HEAD_TAIL:
            head = _head_piece_count(budget)
            spans = [pieces[:head] + pieces[len(pieces) - (budget - head):]]
        elif reading == WINDOWS:
            stride = _stride(budget, overlap)
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


# What keras_bert's uncased tokenizer does with each character before splitting words on white space.
KEEP, ALONE, SPACE, DROP = range(4)


def words(text: str) -> list[str]:
    """`text` lower-cased without accents, split into words, each punctuation mark and CJK character a word."""
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn").lower()
    spaced = []
    for ch in text:
        kind = _kind(ch)
        if kind == KEEP:
            spaced.append(ch)
        elif kind == ALONE:
            spaced.append(f" {ch} ")
        elif kind == SPACE:
            spaced.append(" ")
    return "".join(spaced).split()


@lru_cache(maxsize=65536)
def _kind(ch: str) -> int:
    code, category = ord(ch), unicodedata.category(ch)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126 or category.startswith("P"):
        return ALONE
    if (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0x2A700 <= code <= 0x2B73F or 0x2B740 <= code <= 0x2B81F or 0x2B820 <= code <= 0x2CEAF
            or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F):
        return ALONE
    if ch in " \n\r\t" or category == "Zs":
        return SPACE
    if code == 0 or code == 0xFFFD or category in ("Cc", "Cf"):
        return DROP
    return KEEP
