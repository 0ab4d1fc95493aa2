"""Scoring texts with a loaded model: the one path the app, the CLI and any other caller use.

Which cells are scored is predictor/cells.py's call; cells that are not text keep blank predictions and say why in
the status column. A scored table is a ScoredTable: the frame plus what its added columns mean.
"""
import dataclasses
import math

import numpy as np
import pandas as pd

from predictor import cells, tables, unlike
from predictor.errors import UserError
from predictor.models import SCORE_BATCH_SIZE
from predictor.thresholds import Thresholds

# float32 outputs carry ~7 significant digits, of which the 5th onwards is noise between batch shapes.
PROBABILITY_DECIMALS = 4

# Columns added to a scored table (a suffix _2, _3... is added if the input already has one of these names).
LABEL_COLUMN = "predicted_label"
PROBABILITY_PREFIX = "prob_"
STATUS_COLUMN = "scoring_status"
REVIEW_COLUMN = "needs_review"
MULTILABEL_SEPARATOR = ", "
REVIEW_FLAG = "yes"

# scoring_status values: the first four mean the row was scored; the others are predictor/cells.py's reasons.
STATUS_OK = cells.OK
STATUS_TRUNCATED = "truncated"  # longer than the model reads: part of it was not read
STATUS_UNLIKE = unlike.STATUS  # far longer than the texts the model was trained on (predictor/unlike.py)
STATUS_TRUNCATED_UNLIKE = f"{STATUS_TRUNCATED}, {STATUS_UNLIKE}"  # both
STATUS_EMPTY = cells.EMPTY
UNLIKE_STATUSES = (STATUS_UNLIKE, STATUS_TRUNCATED_UNLIKE)
SCORED_STATUSES = (STATUS_OK, STATUS_TRUNCATED, *UNLIKE_STATUSES)
STATUS_MEANINGS = {
    STATUS_OK: "scored",
    STATUS_TRUNCATED: "scored, but longer than the model reads: part of the text was not read",
    STATUS_UNLIKE: f"scored, but {unlike.MEANING}",
    STATUS_TRUNCATED_UNLIKE: f"scored, but longer than the model reads (part of the text was not read), and "
                             f"{unlike.MEANING}",
    **{status: f"not scored: {meaning}" for status, meaning in cells.MEANINGS.items()},
}


@dataclasses.dataclass(frozen=True)
class TextScore:
    """What the model thinks of one text."""

    label: str  # the predicted class; multi-label: the labels at or above their thresholds joined by ", " ("" if none)
    labels: list[str]  # the same as a list (single-label: one element)
    probabilities: dict[str, float]  # class -> probability, highest first
    members: dict[str, dict[str, float]]  # each member's own probabilities (class -> probability), by kind
    truncated: bool  # True when part of the text was not read
    token_count: int  # BERT word pieces in the text, markers included (0 for a model without BERT)
    unlike_training: bool  # far longer than the texts the model was trained on (predictor/unlike.py)
    pieces_read: int  # how many of the text's word pieces the model read
    multilabel: bool
    thresholds: Thresholds

    def with_thresholds(self, thresholds: Thresholds) -> "TextScore":
        """The same score with multi-label labels re-assigned at `thresholds` (the model is not called again)."""
        if not self.multilabel:
            return self
        labels = [cls for cls, p in self.probabilities.items() if p >= thresholds.of(cls)]
        return dataclasses.replace(self, label=MULTILABEL_SEPARATOR.join(labels), labels=labels,
                                   thresholds=thresholds)


@dataclasses.dataclass(frozen=True)
class ScoredTable:
    """A scored table: the input's rows and columns, in order, plus the added ones, and what those mean."""

    frame: pd.DataFrame
    text_column: str
    label_column: str
    probability_columns: dict[str, str]  # class -> column
    status_column: str
    classes: list[str]
    multilabel: bool
    thresholds: Thresholds
    model: str
    review_column: str | None = None  # added by with_review_column

    @property
    def scored(self) -> pd.Series:
        """True for the rows the model scored."""
        return self.frame[self.status_column].isin(SCORED_STATUSES)

    def confidence(self) -> pd.Series:
        """How sure the model is of each row, 0 to 1 (NaN for rows not scored). Single-label: the winning class's
        probability. Multi-label: how far the label nearest its threshold is from it, as a share of the way to 0 or
        1, so 0 means a label sits on its threshold and one nudge would flip it."""
        probabilities = self.frame[list(self.probability_columns.values())].to_numpy(dtype=float)
        if not self.multilabel:
            sure = probabilities.max(axis=1, initial=0.0, where=~np.isnan(probabilities))
        else:
            bar = self.thresholds.array
            room = np.where(probabilities >= bar, 1 - bar, bar)
            sure = (np.abs(probabilities - bar) / room).min(axis=1, initial=1.0, where=~np.isnan(probabilities))
        return pd.Series(np.where(self.scored, sure, np.nan), index=self.frame.index)


def labels_from_probabilities(probabilities: np.ndarray, classes: list[str], multilabel: bool,
                              thresholds: Thresholds) -> list[str]:
    """The predicted labels for one row: the top class, or every label at or above its threshold."""
    if not multilabel:
        return [classes[int(np.argmax(probabilities))]]
    return [cls for cls, p, bar in zip(classes, probabilities, thresholds.values) if p >= bar]


def model_thresholds(scorer: object, thresholds: Thresholds | None) -> Thresholds:
    """`thresholds` if given (one value a user chose), else the model's own."""
    return thresholds if thresholds is not None else Thresholds.of_model(scorer.info.record)


def score_text(scorer: object, text: object, thresholds: Thresholds | None = None) -> TextScore | None:
    """Score one text; None when it is blank (the model is not called). Multi-label labels are given at
    `thresholds`, the model's own unless given."""
    if cells.is_blank(text):
        return None
    scores = scorer.score_batch([str(text)])
    row = scores.probabilities[0]
    top = scorer.classes[int(np.argmax(row))]
    by_class = lambda values: dict(sorted(zip(scorer.classes, np.asarray(values).astype(float).tolist()),  # noqa: E731
                                          key=lambda kv: kv[1], reverse=True))
    piece_count = int(scores.piece_counts[0])
    score = TextScore(label=top, labels=[top], probabilities=by_class(row),
                      members={kind: by_class(p[0]) for kind, p in scores.members.items()},
                      truncated=bool(scores.truncated[0]), token_count=piece_count + 2 if piece_count else 0,
                      unlike_training=piece_count > (unlike.row_bound(scorer.info.record) or math.inf),
                      pieces_read=int(scores.read[0]), multilabel=scorer.multilabel,
                      thresholds=model_thresholds(scorer, thresholds))
    return score.with_thresholds(score.thresholds)


def check_text_column(df: pd.DataFrame, text_column: str, facts: tables.Facts | None = None) -> None:
    """Raise UserError unless `df` has rows and `text_column` holds at least one scorable text. The `facts` of
    reading `df` name the other sheets of its file in the message when the column is missing."""
    if text_column not in df.columns:
        shown = ", ".join(f'"{c}"' for c in df.columns)
        raise UserError(f'There is no column "{text_column}". Columns in this table: {shown}. Pick one of these.'
                        + tables.other_sheets_hint(facts))
    if df.empty:
        raise UserError("The table has a header row but no data rows. Add the reviews under the header and try again.")
    statuses = df[text_column].map(cells.status)
    if not (statuses == cells.OK).any():
        counts = ", ".join(f"{n} {status}" for status, n in statuses.value_counts().items())
        raise UserError(f'Column "{text_column}" has no text to score ({counts}). '
                        "Choose the column that holds the reviews.")


def default_text_column(df: pd.DataFrame, table_name: str = "The table") -> str:
    """The column most likely to hold the reviews (longest average text), or a UserError saying there is none."""
    check_has_rows(df, table_name)
    column = tables.guess_text_column(df)
    if column is None:
        raise UserError(f"{table_name} has no column of text: every column holds mostly numbers, dates or blanks. "
                        "Name the column that holds the reviews with --text-column, or use the file with the reviews.")
    return column


def check_has_rows(df: pd.DataFrame, table_name: str = "The table") -> None:
    if df.empty:
        raise UserError(f"{table_name} has a header row but no data rows. Add the reviews under the header "
                        "and try again.")


def score_frame(scorer: object, df: pd.DataFrame, text_column: str, *, batch_size: int = SCORE_BATCH_SIZE,
                on_progress: object = None, thresholds: Thresholds | None = None,
                part_of_a_stream: bool = False) -> ScoredTable:
    """`df` (every row, in order, columns untouched) plus predicted label, one probability per class and status.

    Multi-label labels are given at `thresholds`, the model's own unless given.
    Rows that are not text keep blank predictions and say why in the status column. Identical texts are scored once.
    `on_progress(rows_done, rows_total)` is called after each batch. A table must hold some text to score, unless it
    is `part_of_a_stream` (a later chunk of a file whose first chunk was checked).
    """
    if not part_of_a_stream:
        check_text_column(df, text_column)
    values = df[text_column].tolist()
    statuses = [cells.status(value) for value in values]
    rows_by_text = {}
    for row, (value, status) in enumerate(zip(values, statuses)):
        if status == cells.OK:
            rows_by_text.setdefault(value, []).append(row)
    texts = list(rows_by_text)

    total = len(values)
    rows_done = total - sum(len(rows) for rows in rows_by_text.values())  # unscored rows need no work
    probabilities = np.full((total, len(scorer.classes)), np.nan)
    longest = unlike.row_bound(scorer.info.record)
    # One batch per call, so other sessions sharing the scorer get a turn between batches.
    for start in range(0, len(texts), batch_size):
        chunk = texts[start:start + batch_size]
        scores = scorer.score_batch(chunk, batch_size=batch_size)
        for text, row_probabilities, truncated, piece_count in zip(chunk, scores.probabilities, scores.truncated,
                                                                     scores.piece_counts):
            rows = rows_by_text[text]
            probabilities[rows] = row_probabilities
            far = longest is not None and piece_count > longest
            if truncated or far:
                status = (STATUS_TRUNCATED_UNLIKE if truncated and far
                          else STATUS_TRUNCATED if truncated else STATUS_UNLIKE)
                for row in rows:
                    statuses[row] = status
            rows_done += len(rows)
        if on_progress is not None:
            on_progress(rows_done, total)

    out = df.copy()
    thresholds = model_thresholds(scorer, thresholds)
    table = scored_table(out, list(df.columns), text_column, scorer.classes, scorer.multilabel, thresholds,
                         scorer.info.name)
    out[table.label_column] = _label_column(probabilities, statuses, scorer.classes, scorer.multilabel, thresholds)
    for i, column in enumerate(table.probability_columns.values()):
        out[column] = np.round(probabilities[:, i], PROBABILITY_DECIMALS)
    out[table.status_column] = statuses
    return table


def scored_table(frame: pd.DataFrame, input_columns: list, text_column: str, classes: list[str], multilabel: bool,
                 thresholds: Thresholds, model: str) -> ScoredTable:
    """The ScoredTable of `frame`, a table with `input_columns` that was (or is being) scored: the added columns'
    names, decided here only (a suffix where the input already has the name)."""
    taken = set(map(str, input_columns))
    label_column = _free_name(LABEL_COLUMN, taken)
    probability_columns = {cls: _free_name(f"{PROBABILITY_PREFIX}{cls}", taken) for cls in classes}
    return ScoredTable(frame=frame, text_column=text_column, label_column=label_column,
                       probability_columns=probability_columns, status_column=_free_name(STATUS_COLUMN, taken),
                       classes=list(classes), multilabel=multilabel, thresholds=thresholds, model=model)


def apply_thresholds(table: ScoredTable, thresholds: Thresholds) -> ScoredTable:
    """A scored multi-label table with labels re-assigned at `thresholds` (the model is not called again)."""
    if not table.multilabel or table.thresholds == thresholds:
        return table
    out = table.frame.copy()
    probabilities = out[list(table.probability_columns.values())].to_numpy(dtype=float)
    out[table.label_column] = _label_column(probabilities, out[table.status_column].tolist(), table.classes, True,
                                            thresholds)
    return dataclasses.replace(table, frame=out, thresholds=thresholds)


def with_review_column(table: ScoredTable, below: float) -> ScoredTable:
    """The table with a column saying REVIEW_FLAG for each scored row whose confidence is under `below` ("" else)."""
    frame = table.frame.drop(columns=[table.review_column]) if table.review_column else table.frame
    column = _free_name(REVIEW_COLUMN, set(map(str, frame.columns)))
    flags = np.where(table.confidence() < below, REVIEW_FLAG, "")
    return dataclasses.replace(table, frame=frame.assign(**{column: flags}), review_column=column)


def add_summaries(first: dict, second: dict) -> dict:
    """Two summaries (of consecutive chunks of one table) as one."""
    labels = pd.concat([first["label_counts"], second["label_counts"]]).groupby("label", sort=False)["rows"].sum()
    label_counts = (labels.reset_index().sort_values("rows", ascending=False, kind="stable").reset_index(drop=True))
    statuses = dict(first["status_counts"])
    for status, n in second["status_counts"].items():
        statuses[status] = statuses.get(status, 0) + n
    out = {"rows": first["rows"] + second["rows"], "scored": first["scored"] + second["scored"],
           "label_counts": label_counts, "status_counts": statuses}
    if "no_label" in first:
        out["no_label"] = first["no_label"] + second["no_label"]
    return out


def unlike_training(info: object, table: ScoredTable) -> str | None:
    """A warning for a scored table whose rows are unlike the model's training texts, or None (predictor/unlike.py)."""
    return unlike_warning(info, summarise(table), table.frame[table.text_column].tolist(), table.status_column)


def unlike_warning(info: object, summary: dict, texts: list, status_column: str) -> str | None:
    """unlike_training from a table's summary (score.py adds up a streamed file's) and its texts (read only for
    folders saved before version 7)."""
    unlike_rows = sum(summary["status_counts"].get(status, 0) for status in UNLIKE_STATUSES)
    statuses = " or ".join(f'"{status}"' for status in UNLIKE_STATUSES)
    return unlike.file_warning(info, unlike_rows, summary["scored"], texts, f"{statuses} in {status_column}")


def summarise(table: ScoredTable) -> dict:
    """Counts for a scored table: rows, rows per predicted label (every class, most first) and rows per status."""
    frame, scored = table.frame, table.scored
    if table.multilabel:
        # A row may carry several labels (or none), so count each label's column against its threshold.
        counts = {cls: int((frame.loc[scored, column] >= table.thresholds.of(cls)).sum())
                  for cls, column in table.probability_columns.items()}
    else:
        found = frame.loc[scored, table.label_column].value_counts()
        counts = {cls: int(found.get(cls, 0)) for cls in table.classes}
    label_counts = (pd.DataFrame({"label": list(counts), "rows": list(counts.values())})
                    .sort_values("rows", ascending=False, kind="stable").reset_index(drop=True))
    status_counts = {status: int(n) for status, n in frame[table.status_column].value_counts().items()}
    summary = {"rows": len(frame), "scored": int(scored.sum()), "label_counts": label_counts,
               "status_counts": status_counts}
    if table.multilabel:
        summary["no_label"] = int((scored & (frame[table.label_column] == "")).sum())
    return summary


def _label_column(probabilities: np.ndarray, statuses: list[str], classes: list[str], multilabel: bool,
                  thresholds: Thresholds) -> list[str]:
    """Predicted label per row ("" for rows not scored); multi-label compares the rounded values the file shows."""
    if multilabel:
        probabilities = np.round(probabilities, PROBABILITY_DECIMALS)
    return [MULTILABEL_SEPARATOR.join(labels_from_probabilities(p, classes, multilabel, thresholds))
            if status in SCORED_STATUSES else "" for p, status in zip(probabilities, statuses)]


def _free_name(name: str, taken: set[str]) -> str:
    """`name`, or `name_2`, `name_3`... whichever is not in `taken` yet (which then gains it)."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate
