"""Training rows with analysts' corrections merged in: what `train.py --corrections MODEL` trains on.

The corrections themselves (a SQLite store in the models folder, one correction per row) are predictor/corrections.py;
this module only applies them to predictor/dataset.py's rows, so training rows have one definition of their columns.
"""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from predictor.corrections import LABEL_SEPARATOR, split_labels
from predictor.dataset import LABEL, TEXT
from predictor.errors import UserError

if TYPE_CHECKING:
    import pandas as pd


def merge(rows: pd.DataFrame, corrections: dict[str, str], classes: list[str],
          allow_new_classes: bool) -> tuple[pd.DataFrame, dict]:
    """Training rows with the corrections applied: a corrected text's rows take its label, other texts are appended.

    `rows` are predictor.dataset's rows: a "text" column and either a "label" column (single-label) or one 0/1
    column per class (multi-label). `corrections` maps text -> corrected label (CorrectionsStore.latest_by_text);
    texts match after stripping surrounding whitespace, and of two texts that then match, the later one in the dict
    wins. Returns the original rows in order (relabelled where corrected), then one row per unmatched correction in
    the dict's order, with counts of rows "added", "replaced" (label changed) and "unchanged" (already so labelled).

    A corrected label that is not one of `classes` is refused with a UserError naming it, unless `allow_new_classes`
    (then it trains as a new class; multi-label: a new 0/1 column, 0 on every original row).
    """
    import pandas as pd

    counts = {"added": 0, "replaced": 0, "unchanged": 0}
    wanted: dict[str, str] = {}
    for text, label in corrections.items():
        key = str(text).strip()
        if not key:
            raise ValueError("a correction's text is empty")
        wanted.pop(key, None)
        wanted[key] = str(label).strip()
    if not wanted:
        return rows.copy(), counts
    multilabel = LABEL not in rows.columns
    if multilabel:
        return _merge_multilabel(rows, wanted, list(classes), allow_new_classes, counts)
    empty = sum(1 for label in wanted.values() if not label)
    if empty:
        raise UserError(f"{empty} correction(s) have no label, but this is a single-label model: every text needs "
                        "one class. Correct those texts again in the page with a class (the latest correction of a "
                        "text is the one trained on).")
    _refuse_new_classes(Counter(wanted.values()), classes, allow_new_classes)
    out = rows.reset_index(drop=True).copy()
    keys = out[TEXT].map(lambda t: t.strip() if isinstance(t, str) else t)
    corrected = keys.map(lambda key: wanted.get(key))  # None where the text was not corrected
    hit = corrected.notna()
    changed = hit & (corrected != out[LABEL])
    out.loc[changed, LABEL] = corrected[changed]
    counts["replaced"], counts["unchanged"] = int(changed.sum()), int((hit & ~changed).sum())
    matched = set(keys[hit])
    added = pd.DataFrame([{TEXT: text, LABEL: label} for text, label in wanted.items() if text not in matched],
                         columns=[TEXT, LABEL], dtype=object)
    counts["added"] = len(added)
    return pd.concat([out, added], ignore_index=True), counts


def _merge_multilabel(rows: pd.DataFrame, wanted: dict[str, str], classes: list[str], allow_new_classes: bool,
                      counts: dict) -> tuple[pd.DataFrame, dict]:
    """merge for rows with one 0/1 column per class; labels are join_labels strings."""
    import pandas as pd

    missing = [c for c in classes if c not in rows.columns]
    if TEXT not in rows.columns or missing:
        raise ValueError(f"rows need a {TEXT!r} column and either {LABEL!r} or one column per class (missing: "
                         f"{missing or TEXT})")
    joined = [c for c in classes if LABEL_SEPARATOR in c]
    if joined:
        raise UserError(f"Class name(s) {', '.join(map(repr, joined))} contain {LABEL_SEPARATOR!r}, which separates "
                        "the labels of a multi-label correction, so corrections cannot be read against them. Rename "
                        "those label columns to train with --corrections.")
    labels = {text: split_labels(value) for text, value in wanted.items()}
    _refuse_new_classes(Counter(label for chosen in labels.values() for label in set(chosen)), classes,
                        allow_new_classes)
    new = list(dict.fromkeys(label for chosen in labels.values() for label in chosen if label not in classes))
    out = rows.reset_index(drop=True).copy()
    for label in new:
        out[label] = 0
    columns = classes + new
    values = out[columns].to_numpy(copy=True)
    position = {}
    for i, text in enumerate(out[TEXT]):
        position.setdefault(text.strip() if isinstance(text, str) else text, []).append(i)
    appended = []
    for text, chosen in labels.items():
        target = [int(c in chosen) for c in columns]
        if text not in position:
            appended.append({TEXT: text, **dict(zip(columns, target))})
            continue
        for i in position[text]:
            if values[i].tolist() == target:
                counts["unchanged"] += 1
            else:
                values[i] = target
                counts["replaced"] += 1
    for j, column in enumerate(columns):
        out[column] = values[:, j].astype("int64")
    added = pd.DataFrame(appended, columns=[TEXT] + columns)
    for column in columns:
        added[column] = added[column].astype("int64")
    counts["added"] = len(added)
    return pd.concat([out, added], ignore_index=True), counts


def _refuse_new_classes(carried: Counter, classes: list[str], allow_new_classes: bool) -> None:
    """A UserError naming the labels that are not classes and how many corrections carry each (unless allowed)."""
    new = {label: n for label, n in carried.items() if label not in classes}
    if not new or allow_new_classes:
        return
    listed = ", ".join(f"{label!r} ({n} correction{'s' if n != 1 else ''})" for label, n in new.items())
    raise UserError(f"Corrections carry label(s) that are not classes of the training data: {listed}. The classes "
                    f"are: {', '.join(map(str, classes))}. Pass --allow-new-classes to train a model with the new "
                    "class(es), or correct those texts again in the page with one of the classes (the latest "
                    "correction of a text is the one trained on).")
