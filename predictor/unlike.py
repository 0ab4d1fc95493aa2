"""Are these texts like the ones a model was trained on? Judged by length in word pieces, per row and per file.

Why length: it is what failed when measured (issue 19). The sample model, trained on one-line reviews (none longer
than 27 word pieces), scored 200 long IMDB reviews close to chance, with the same confidence display as in-domain
rows. A row's length costs nothing to know, since scoring counts its pieces anyway, and a model trained on texts of
every length (IMDB) flags almost nothing. What it cannot see: a text on another subject at the lengths the model
was trained on. The page and README say so.

A row is unlike the training texts when it is longer than ROW_FACTOR times the length PERCENTILE% of them stay
within (recorded by train.py from the same 2,000 sampled rows that choose maxlen), and longer than one row of the
model's maxlen holds: a text that fits in one row is read as every training row was, whatever the training
lengths. Measured by `python -m bench.unlike` (bench/results/unlike.json): held-out rows of the bundled sample
flagged 0%, IMDB test reviews under an IMDB model's record 0.02%, the 200 IMDB reviews under the sample model's record
99.5%. A file is warned about when at least FILE_SHARE of its scored rows are flagged.

Folders saved before this record (version 6 and older) fall back to the file-level rule that was measured first:
the share of a sample of texts longer than the model's maxlen, against its training texts' share.
"""
import math

import numpy as np

from predictor import cells, markup, model_folder
from predictor.bert.tokenizer import MARKERS, WordPieces, longer_share

STATUS = "unlike training"  # in scoring_status, of a scored row far longer than the training texts
MEANING = "far longer than the texts the model was trained on: its label may mean little"
RECORD_KEY = "lengths_in_pieces"  # in training.json's `rows`
PERCENTILE = 99
ROW_FACTOR = 1.5
FILE_SHARE = 0.05  # in-domain files were flagged at 0.02% of rows at most (bench/results/unlike.json)
# Older folders: a file is flagged when the share of its texts longer than maxlen exceeds the training texts' by this.
LEGACY_LONGER_THAN_TRAINING = 0.5
LEGACY_SAMPLE = 2000  # texts tokenized to measure a file's share, as training samples 2,000 rows for its own


def training_lengths(lengths: np.ndarray) -> dict:
    """What training.json keeps of its sampled training texts' lengths for this module: in word pieces of the text
    itself, without [CLS] and [SEP], as scoring counts them (models.Scores.piece_counts)."""
    if not len(lengths):
        return {}
    return {"p99": int(math.ceil(np.percentile(lengths, PERCENTILE))), "of_sampled_train_rows": len(lengths)}


def row_bound(record: object) -> int | None:
    """Rows longer than this many word pieces are unlike the model's training texts; None when the folder's record
    has no training lengths (no BERT member, or saved before version 7)."""
    p99 = (record.rows.get(RECORD_KEY) or {}).get("p99")
    if not p99:
        return None
    return max(int(math.ceil(ROW_FACTOR * p99)), (record.maxlen or 0) - MARKERS)


def text_warning(piece_count: int, record: object) -> str:
    """The page's warning for one text of `piece_count` word pieces, over row_bound(record)."""
    return (f"This review is far longer ({piece_count:,} word pieces) than the texts this model was trained on "
            f"({PERCENTILE}% of them had at most {record.rows[RECORD_KEY]['p99']:,}): its label may mean little. "
            "Check it by hand, or train a model on texts like this one.")


def file_warning(info: object, unlike: int, scored: int, texts: list, where: str) -> str | None:
    """The warning to show above a scored file, or None: from how many of its `scored` rows were flagged (`unlike`,
    shown as `where`) if the folder records its training texts' lengths, else from a sample of `texts`."""
    record = info.record
    bound = row_bound(record)
    if bound is None:
        return _legacy_warning(info, texts)
    if not scored or unlike / scored < FILE_SHARE:
        return None
    p99 = record.rows[RECORD_KEY]["p99"]
    return (f"{unlike:,} of {scored:,} scored rows ({unlike / scored:.0%}) are far longer than the texts this model "
            f"was trained on: over {bound:,} word pieces, where {PERCENTILE}% of its training texts have at most "
            f"{p99:,}. They say {where}. Their labels and probabilities may mean much less; check some by hand, or "
            "train a model on texts like these.")


def _legacy_warning(info: object, texts: list) -> str | None:
    record = info.record
    trained = (record.rows.get("longer_than_maxlen") or {}).get("share")
    vocab = info.path / model_folder.VOCAB_FILE
    sample = [text for text in texts if cells.status(text) == cells.OK][:LEGACY_SAMPLE]
    if trained is None or not record.maxlen or not vocab.is_file() or not sample:
        return None
    tokenizer = WordPieces.from_vocab_file(vocab)
    share = longer_share([tokenizer.count(markup.to_text(str(t), record.markup)) for t in sample], record.maxlen)
    if share - trained < LEGACY_LONGER_THAN_TRAINING:
        return None
    return (f"These texts are unlike the ones this model was trained on: {share:.0%} of them are longer than the "
            f"{record.maxlen} word pieces it reads at once, against {trained:.0%} of its training texts. Its labels "
            "and probabilities may mean much less here; check some rows by hand, or train a model on texts like "
            "these.")
