"""Scoring texts with a loaded model: the one path the app, the CLI and any other caller use.

Which cells are scored: strings with at least one letter or symbol (emoji count). Numbers, booleans and dates
(Excel keeps their native types), strings without letters such as "12345", "2024-01-31" or "---", and Excel error
values such as "#N/A" are flagged "not text (...)" and left unscored: a model trained on reviews has nothing to say
about them. Blank cells are flagged "empty text". Flagged rows are kept, with blank predictions.
"""
import dataclasses
import datetime
import decimal
import numbers
import unicodedata

import numpy as np
import pandas as pd

from predictor.errors import UserError
from predictor.models import SCORE_BATCH_SIZE

# A multi-label model assigns every label whose probability is at least this; 0.5 is the sigmoid's own midpoint.
DEFAULT_THRESHOLD = 0.5
# float32 outputs carry ~7 significant digits, of which the 5th onwards is noise between batch shapes.
PROBABILITY_DECIMALS = 4

# Columns added to a scored table (a suffix _2, _3... is added if the input already has one of these names).
LABEL_COLUMN = "predicted_label"
PROBABILITY_PREFIX = "prob_"
STATUS_COLUMN = "scoring_status"
MULTILABEL_SEPARATOR = ", "

# scoring_status values: the first two mean the row was scored.
STATUS_OK = "ok"
STATUS_TRUNCATED = "truncated"  # longer than the model's maxlen: only the first part was read
STATUS_EMPTY = "empty text"
STATUS_NUMBER = "not text (number)"
STATUS_DATE = "not text (date)"
STATUS_NO_LETTERS = "not text (no letters)"
STATUS_EXCEL_ERROR = "not text (Excel error)"
STATUS_OTHER = "not text"
# What a formula cell that failed holds (read as its cached value); letters, but not a review.
EXCEL_ERRORS = {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!",
                "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"}
SCORED_STATUSES = (STATUS_OK, STATUS_TRUNCATED)
STATUS_MEANINGS = {
    STATUS_OK: "scored",
    STATUS_TRUNCATED: "scored, but longer than the model reads: only the first part was used",
    STATUS_EMPTY: "not scored: the cell is empty",
    STATUS_NUMBER: "not scored: the cell holds a number (or TRUE/FALSE), not a review",
    STATUS_DATE: "not scored: the cell holds a date or time, not a review",
    STATUS_NO_LETTERS: "not scored: no letters (a code, number or date typed as text, or punctuation only)",
    STATUS_EXCEL_ERROR: "not scored: the cell holds an Excel error such as #N/A from a failed formula",
    STATUS_OTHER: "not scored: the cell is not text",
}


@dataclasses.dataclass(frozen=True)
class TextScore:
    """What the model thinks of one text."""

    label: str  # the predicted class; multi-label: the labels at or above the threshold joined by ", " ("" if none)
    labels: list  # the same as a list (single-label: one element)
    probabilities: dict  # class -> probability, highest first
    truncated: bool  # True when the text is longer than the model reads (only the first maxlen tokens were used)
    token_count: int
    maxlen: int
    multilabel: bool
    threshold: float

    def with_threshold(self, threshold):
        """The same score with multi-label labels re-assigned at `threshold` (the model is not called again)."""
        if not self.multilabel:
            return self
        labels = [cls for cls, p in self.probabilities.items() if p >= threshold]
        return dataclasses.replace(self, label=MULTILABEL_SEPARATOR.join(labels), labels=labels, threshold=threshold)


def is_blank(text):
    """True for None, NaN and strings holding only whitespace: nothing to score."""
    return cell_status(text) == STATUS_EMPTY


def cell_status(value):
    """STATUS_OK if `value` is text worth scoring, else the reason it is not (see module docstring)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return STATUS_EMPTY
    if isinstance(value, str):
        if not value.strip():
            return STATUS_EMPTY
        if value.strip().upper() in EXCEL_ERRORS:
            return STATUS_EXCEL_ERROR
        if any(ch.isalpha() or unicodedata.category(ch) == "So" for ch in value):
            return STATUS_OK
        return STATUS_NO_LETTERS
    if isinstance(value, float) and np.isnan(value):
        return STATUS_EMPTY
    if isinstance(value, (bool, np.bool_, numbers.Number, decimal.Decimal)):
        return STATUS_NUMBER
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta, np.datetime64, np.timedelta64)):
        return STATUS_DATE
    return STATUS_OTHER


def labels_from_probabilities(probabilities, classes, multilabel, threshold=DEFAULT_THRESHOLD):
    """The predicted labels for one row: the top class, or every label at or above `threshold`."""
    if not multilabel:
        return [classes[int(np.argmax(probabilities))]]
    return [cls for cls, p in zip(classes, probabilities) if p >= threshold]


def score_text(scorer, text, threshold=DEFAULT_THRESHOLD):
    """Score one text; None when it is blank (the model is not called)."""
    if is_blank(text):
        return None
    text = str(text)
    rows, token_counts = scorer.score_batch([text])
    row, tokens = rows[0], int(token_counts[0])
    top = scorer.classes[int(np.argmax(row))]
    probabilities = dict(sorted(zip(scorer.classes, row.astype(float).tolist()), key=lambda kv: kv[1], reverse=True))
    score = TextScore(label=top, labels=[top], probabilities=probabilities, truncated=tokens > scorer.info.maxlen,
                      token_count=tokens, maxlen=scorer.info.maxlen, multilabel=scorer.multilabel, threshold=threshold)
    return score.with_threshold(threshold)


def check_text_column(df, text_column):
    """Raise UserError unless `df` has rows and `text_column` holds at least one scorable text."""
    if text_column not in df.columns:
        shown = ", ".join(f'"{c}"' for c in df.columns)
        raise UserError(f'There is no column "{text_column}". Columns in this table: {shown}. Pick one of these.')
    if df.empty:
        raise UserError("The table has a header row but no data rows. Add the reviews under the header and try again.")
    statuses = df[text_column].map(cell_status)
    if not (statuses == STATUS_OK).any():
        counts = ", ".join(f"{n} {status}" for status, n in statuses.value_counts().items())
        raise UserError(f'Column "{text_column}" has no text to score ({counts}). '
                        "Choose the column that holds the reviews.")


def default_text_column(df, table_name="The table"):
    """The column most likely to hold the reviews (longest average text), or a UserError saying there is none."""
    from predictor.tables import guess_text_column

    if df.empty:
        raise UserError(f"{table_name} has a header row but no data rows. Add the reviews under the header "
                        "and try again.")
    column = guess_text_column(df)
    if column is None:
        raise UserError(f"{table_name} has no column of text: every column holds mostly numbers, dates or blanks. "
                        "Upload the file that contains the reviews as text.")
    return column


def score_frame(scorer, df, text_column, *, batch_size=SCORE_BATCH_SIZE, on_progress=None,
                threshold=DEFAULT_THRESHOLD):
    """Return `df` (every row, in order, columns untouched) plus predicted label, one probability per class and status.

    Rows that are not text keep blank predictions and say why in the status column. Identical texts are scored once.
    `on_progress(rows_done, rows_total)` is called after each batch.
    """
    check_text_column(df, text_column)
    values = df[text_column].tolist()
    statuses = [cell_status(value) for value in values]
    rows_by_text = {}
    for row, (value, status) in enumerate(zip(values, statuses)):
        if status == STATUS_OK:
            rows_by_text.setdefault(value, []).append(row)
    texts = list(rows_by_text)

    total = len(values)
    rows_done = total - sum(len(rows) for rows in rows_by_text.values())  # unscored rows need no work
    probabilities = np.full((total, len(scorer.classes)), np.nan)
    # One batch per call, so other sessions sharing the scorer get a turn between batches.
    for start in range(0, len(texts), batch_size):
        chunk = texts[start:start + batch_size]
        chunk_probabilities, token_counts = scorer.score_batch(chunk, batch_size=batch_size)
        for text, row_probabilities, token_count in zip(chunk, chunk_probabilities, token_counts):
            rows = rows_by_text[text]
            probabilities[rows] = row_probabilities
            if token_count > scorer.info.maxlen:
                for row in rows:
                    statuses[row] = STATUS_TRUNCATED
            rows_done += len(rows)
        if on_progress is not None:
            on_progress(rows_done, total)

    out = df.copy()
    taken = set(map(str, out.columns))
    label_column = _free_name(LABEL_COLUMN, taken)
    out[label_column] = _label_column(probabilities, statuses, scorer.classes, scorer.multilabel, threshold)
    probability_columns = {}
    for i, cls in enumerate(scorer.classes):
        probability_columns[cls] = _free_name(f"{PROBABILITY_PREFIX}{cls}", taken)
        out[probability_columns[cls]] = np.round(probabilities[:, i], PROBABILITY_DECIMALS)
    status_column = _free_name(STATUS_COLUMN, taken)
    out[status_column] = statuses
    out.attrs["scoring"] = {"label_column": label_column, "probability_columns": probability_columns,
                            "status_column": status_column, "multilabel": scorer.multilabel,
                            "classes": list(scorer.classes), "threshold": threshold, "text_column": text_column,
                            "model": scorer.info.name}
    return out


def apply_threshold(scored_df, threshold):
    """Copy of a scored multi-label table with labels re-assigned at `threshold` (the model is not called again)."""
    meta = _scoring_meta(scored_df)
    if not meta["multilabel"] or meta["threshold"] == threshold:
        return scored_df
    out = scored_df.copy()
    probabilities = out[list(meta["probability_columns"].values())].to_numpy(dtype=float)
    out[meta["label_column"]] = _label_column(probabilities, out[meta["status_column"]].tolist(), meta["classes"],
                                              True, threshold)
    out.attrs["scoring"] = {**meta, "threshold": threshold}
    return out


def summarise(scored_df):
    """Counts for a scored table: rows, rows per predicted label (every class, most first) and rows per status."""
    meta = _scoring_meta(scored_df)
    scored = scored_df[meta["status_column"]].isin(SCORED_STATUSES)
    if meta["multilabel"]:
        # A row may carry several labels (or none), so count each label's column against the threshold.
        counts = {cls: int((scored_df.loc[scored, column] >= meta["threshold"]).sum())
                  for cls, column in meta["probability_columns"].items()}
    else:
        found = scored_df.loc[scored, meta["label_column"]].value_counts()
        counts = {cls: int(found.get(cls, 0)) for cls in meta["classes"]}
    label_counts = (pd.DataFrame({"label": list(counts), "rows": list(counts.values())})
                    .sort_values("rows", ascending=False, kind="stable").reset_index(drop=True))
    status_counts = {status: int(n) for status, n in scored_df[meta["status_column"]].value_counts().items()}
    summary = {"rows": len(scored_df), "scored": int(scored.sum()), "label_counts": label_counts,
               "status_counts": status_counts}
    if meta["multilabel"]:
        summary["no_label"] = int((scored & (scored_df[meta["label_column"]] == "")).sum())
    return summary


def _label_column(probabilities, statuses, classes, multilabel, threshold):
    """Predicted label per row ("" for rows not scored); multi-label compares the rounded values the file shows."""
    if multilabel:
        probabilities = np.round(probabilities, PROBABILITY_DECIMALS)
    return [MULTILABEL_SEPARATOR.join(labels_from_probabilities(p, classes, multilabel, threshold))
            if status in SCORED_STATUSES else "" for p, status in zip(probabilities, statuses)]


def _scoring_meta(scored_df):
    meta = scored_df.attrs.get("scoring")
    if meta is None:
        raise ValueError("expected a frame returned by score_frame (its attrs['scoring'] is missing)")
    return meta


def _free_name(name, taken):
    """`name`, or `name_2`, `name_3`... whichever is not in `taken` yet (which then gains it)."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate
