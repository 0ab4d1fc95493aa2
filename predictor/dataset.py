"""Turning a labelled table into clean training and validation rows, with every dropped row counted."""
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from predictor import cells, tables
from predictor.errors import UserError

TEXT = "text"  # column names of the frames handed to ktrain, whatever the user's columns were called
LABEL = "label"
MIN_ROWS_PER_CLASS = 2  # one for training and one for validation, at the very least
MULTILABEL_TRUE = {"1", "1.0", "true"}
MULTILABEL_FALSE = {"0", "0.0", "false"}


@dataclass
class LabelledRows:
    """Clean rows: a `text` column and either a `label` column or one 0/1 column per label."""

    frame: pd.DataFrame
    label_columns: list
    multilabel: bool
    read: int
    dropped: Counter = field(default_factory=Counter)


def as_text(value: object) -> str:
    """Cell value as the string a reader sees: 3.0 -> '3', dates as ISO, strings stripped."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, pd.Timestamp) or hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def check_columns(table: pd.DataFrame, text_column: str, label_columns: list[str], where: str,
                  facts: tables.Facts | None = None) -> None:
    """Fail with the list of real columns when a named one is missing (and, from the `facts` of reading `table`, the
    other sheets of its file)."""
    existing = [str(c) for c in table.columns]
    for role, name in [("text", text_column)] + [("label", c) for c in label_columns]:
        if name not in existing:
            raise UserError(f"{where} has no {role} column {name!r}. "
                            f"Its columns are: {', '.join(existing) or '(none)'}. "
                            f"Pass the right name with --{role}-column.{tables.other_sheets_hint(facts)}")


def labelled_rows(table: pd.DataFrame, text_column: str, label_columns: list[str], where: str,
                  facts: tables.Facts | None = None) -> LabelledRows:
    """Keep rows with text and labels; count the others by reason; check multi-label cells are 0/1. `facts`: as in
    check_columns."""
    check_columns(table, text_column, label_columns, where, facts)
    if len(table) == 0:
        raise UserError(f"{where} has a header but no rows. Add labelled rows below the header.")
    multilabel = len(label_columns) > 1
    # The same test scoring applies (predictor/cells.py): a cell the app would not score is not trained on.
    text_status = table[text_column].map(cells.status)
    not_text = text_status != cells.OK
    if (text_status == cells.EMPTY).all():
        raise UserError(f"Every cell of the text column {text_column!r} in {where} is empty. "
                        "Check that --text-column names the column holding the reviews.")
    if not_text.all():
        counts = ", ".join(f"{n} {status}" for status, n in text_status.value_counts().items())
        raise UserError(f"No cell of the text column {text_column!r} in {where} holds text ({counts}). "
                        "Check that --text-column names the column holding the reviews.")
    label_blank = table[label_columns].map(cells.is_blank).any(axis=1)
    dropped = Counter(text_status[not_text].value_counts().to_dict())
    dropped["blank label"] = int((label_blank & ~not_text).sum())
    kept = table[~not_text & ~label_blank]
    frame = pd.DataFrame({TEXT: kept[text_column].map(as_text).astype(object)}, index=kept.index)
    if multilabel:
        for column in label_columns:
            frame[column] = multilabel_values(kept[column], column, where)
    else:
        frame[LABEL] = kept[label_columns[0]].map(as_text).astype(object)
    return LabelledRows(frame.reset_index(drop=True), list(label_columns), multilabel, len(table),
                        +dropped)


def positions(table: pd.DataFrame, text_column: str) -> dict[str, int]:
    """Each text's first data row in `table` (1 = the first row under the header), keyed as labelled_rows keeps it:
    how a row found later (the label audit) is shown where the analyst can find it."""
    found = {}
    for at, value in enumerate(table[text_column].tolist(), start=1):
        if cells.status(value) == cells.OK:
            found.setdefault(as_text(value), at)
    return found


def multilabel_values(column_values: pd.Series, column: str, where: str) -> np.ndarray:
    """0/1 integers from a multi-label column, or an error naming the offending values and rows."""
    text = column_values.map(lambda v: as_text(v).lower())
    bad = ~text.isin(MULTILABEL_TRUE | MULTILABEL_FALSE)
    if bad.any():
        examples = ", ".join(f"row {i + 2}: {column_values[i]!r}" for i in column_values.index[bad][:3])
        raise UserError(f"Multi-label column {column!r} in {where} must hold only 0 or 1, but has other values "
                        f"({examples}). Fix those cells, or pass a single --label-column for multi-class labels.")
    return text.isin(MULTILABEL_TRUE).astype(np.int64).to_numpy()


def classes_of(rows: LabelledRows) -> list[str]:
    """Class names: the label columns for multi-label, else the distinct labels, sorted."""
    return list(rows.label_columns) if rows.multilabel else sorted(rows.frame[LABEL].unique())


def check_classes(rows: LabelledRows, where: str) -> None:
    """Refuse data that cannot train a classifier: one class, or a class too rare to split."""
    if rows.multilabel:
        positives = rows.frame[rows.label_columns].sum()
        never = [c for c, n in positives.items() if n == 0]
        if never:
            raise UserError(f"Label column(s) {', '.join(never)} in {where} are never 1, so nothing can be learnt "
                            "about them. Remove them from --label-column or add examples.")
        return
    counts = rows.frame[LABEL].value_counts()
    if len(counts) < 2:
        raise UserError(f"{where} has only one class ({counts.index[0]!r}) after dropping blank rows. "
                        "A classifier needs examples of at least two classes.")
    rare = {c: int(n) for c, n in counts.items() if n < MIN_ROWS_PER_CLASS}
    if rare:
        listed = ", ".join(f"{c!r} ({n} row)" for c, n in rare.items())
        raise UserError(f"Class(es) {listed} in {where} have too few rows to split into training and validation; "
                        f"each class needs at least {MIN_ROWS_PER_CLASS}. Add examples, merge or remove those rows.")


def split_rows(rows: LabelledRows, val_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded validation split, stratified by class (multi-label: seeded shuffle)."""
    frame = rows.frame
    if not 0 < val_fraction < 1:
        raise UserError(f"--val-fraction must be between 0 and 1 (got {val_fraction}); "
                        "0.1 keeps a tenth for validation.")
    rng = np.random.default_rng(seed)
    if rows.multilabel:
        order = rng.permutation(len(frame))
        n_val = max(1, math.ceil(len(frame) * val_fraction))
        if n_val >= len(frame):
            raise UserError(f"Only {len(frame)} usable rows: too few to split off a validation set. Add rows.")
        return frame.iloc[order[n_val:]].reset_index(drop=True), frame.iloc[order[:n_val]].reset_index(drop=True)
    val_index = []
    for _, group in frame.groupby(LABEL, sort=True):
        # At least one validation row per class, and at least one left to train on.
        n_val = min(max(1, round(len(group) * val_fraction)), len(group) - 1)
        val_index.extend(rng.choice(group.index.to_numpy(), size=n_val, replace=False))
    is_val = frame.index.isin(val_index)
    shuffle = lambda part: part.sample(frac=1, random_state=seed).reset_index(drop=True)  # noqa: E731
    return shuffle(frame[~is_val]), shuffle(frame[is_val])
