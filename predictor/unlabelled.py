"""Reviews nobody labelled (`train.py --unlabelled FILE`): reading them, and choosing the labels the model gives them.

train.py learns from them by self-training. The model is trained on the labelled rows as usual; it labels every
unlabelled review; the reviews it is surest of, the same share of each label it gives, join the training rows with
that label; and NBSVM is trained again on them all, then blended with BERT on the same labelled validation rows as
ever. On IMDB dev rows (bench/self_training.py: 500 labels, 20,000 unlabelled reviews) this took the hybrid from
83.85% to 88.3%, and training BERT again as well reached the same 88.3% for 38 more minutes on 2 cores, so BERT is
kept as first trained. bench/unlabelled.py measures the whole run on test rows.

A review the labelled file already holds, or one repeated in the pool, is read once: the labelled row keeps its
label, and a repeated review would count twice.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from predictor import cells, dataset, tables
from predictor.errors import UserError
from predictor.markup import to_text

# The share of the reviews given each label that join the training rows, surest first. Chosen on dev rows by
# bench/self_training.py (IMDB rows no training sample holds), never on test rows: of 0.25 / 0.35 / 0.5 / 0.7 / 1,
# 0.5 scored best (88.3%; 86.05% at 0.25, 85.85% when every review joins, a sixth of them mislabelled).
SHARE = 0.5


@dataclass(frozen=True)
class Pool:
    """The unlabelled reviews to learn from, and what became of the file's rows."""

    path: Path  # the file they were read from
    texts: list[str]
    counts: dict  # read, dropped by reason, in the labelled rows, repeated, kept


def read_pool(path: Path, text_column: str, label_columns: list[str], labelled_texts: set[str],
              markup: str) -> Pool:
    """The texts of an unlabelled file, markup handled as training does, without the texts of the labelled rows
    (`labelled_texts`, after the same handling) and without repeats. Refuses a file whose label column holds labels:
    those rows belong in the labelled file."""
    where = Path(path).name
    table, facts = tables.read(path, sheet=tables.TEXT_SHEET)
    dataset.check_columns(table, text_column, [], where, facts)
    labelled = [c for c in label_columns if c in table.columns and not table[c].map(cells.is_blank).all()]
    if labelled:
        raise UserError(f"{where} holds labels in column {labelled[0]!r}, so its rows are not unlabelled. Put labelled "
                        "rows in the --data file (they are worth more there), or delete that column from this file.")
    status = table[text_column].map(cells.status)
    dropped = Counter(status[status != cells.OK].value_counts().to_dict())
    texts = [to_text(dataset.as_text(v), markup) for v in table[text_column][status == cells.OK]]
    new = [t for t in texts if t not in labelled_texts]
    kept = list(dict.fromkeys(new))
    counts = {"read": len(table), "dropped": dict(+dropped), "in_labelled_rows": len(texts) - len(new),
              "repeated": len(new) - len(kept), "kept": len(kept)}
    if not kept:
        raise UserError(f"{where} has no review to learn from: {describe(counts)}. Check that --text-column names "
                        "the column holding the reviews, or train without --unlabelled.")
    return Pool(Path(path), kept, counts)


def describe(counts: dict) -> str:
    """What became of the rows of the unlabelled file, in a phrase."""
    parts = [f"{counts['read']:,} rows read"]
    parts += [f"{n:,} {reason}" for reason, n in counts["dropped"].items()]
    if counts["in_labelled_rows"]:
        parts.append(f"{counts['in_labelled_rows']:,} already in the labelled rows")
    if counts["repeated"]:
        parts.append(f"{counts['repeated']:,} repeated")
    return ", ".join(parts)


def pseudo_labelled(texts: list[str], probabilities: np.ndarray, classes: list[str],
                    share: float = SHARE) -> pd.DataFrame:
    """Rows (dataset.TEXT, dataset.LABEL) of the reviews the model is surest of: for each label, the `share` of the
    reviews it gives that label with the highest probability. The same share of each label keeps the classes in the
    proportions the model sees in the pool, rather than favouring the label it is most confident about."""
    given = probabilities.argmax(axis=1)
    sure = probabilities.max(axis=1)
    chosen = []
    for column in range(len(classes)):
        rows = np.flatnonzero(given == column)
        chosen.extend(rows[np.argsort(-sure[rows], kind="stable")][:int(round(len(rows) * share))])
    chosen = np.sort(np.array(chosen, dtype=int))
    return pd.DataFrame({dataset.TEXT: [texts[i] for i in chosen],
                         dataset.LABEL: [classes[given[i]] for i in chosen]}, dtype=object)
