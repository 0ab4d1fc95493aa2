"""Training rows with analysts' corrections merged in: what `train.py --corrections MODEL` trains on.

The corrections themselves (a SQLite store in the models folder, one correction per row) are store.py beside this;
this module only applies them to predictor/dataset.py's rows, so training rows have one definition of their columns.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from predictor import dataset
from predictor.corrections.store import LABEL_SEPARATOR, CorrectionsStore, split_labels, store_path
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


def with_corrections(rows: dataset.LabelledRows, val: dataset.LabelledRows | None, model: str | None,
                     allow_new_classes: bool, val_file: Path | None
                     ) -> tuple[dataset.LabelledRows, dataset.LabelledRows | None, dict | None]:
    """The rows with the corrections of `model` (train.py's --corrections) merged in (`merge`), and the counts
    {"model", "added", "replaced", "unchanged"} for training.json; None for the counts without a model.

    A corrected text relabels its rows; other corrected texts are added to the training rows. Their labels are
    checked against the classes of the data trained on (a new one is refused unless --allow-new-classes). With
    --val-data, a corrected text found in the validation file relabels its rows there and is not added to training:
    a validation row must not be trained on, nor keep a label an analyst said is wrong.
    """
    if model is None:
        return rows, val, None
    latest = CorrectionsStore(store_path()).latest_by_text(model)
    counts = {"model": model, "added": 0, "replaced": 0, "unchanged": 0}
    if not latest:
        return rows, val, counts
    classes = dataset.classes_of(rows)
    val_texts = set() if val is None else set(val.frame[dataset.TEXT])  # stripped, as latest_by_text's keys are
    in_train = set(rows.frame[dataset.TEXT])
    merged, found = merge(rows.frame, {text: label for text, label in latest.items()
                                       if text in in_train or text not in val_texts},
                          classes, allow_new_classes)
    add_counts(counts, found)
    rows = relabelled(rows, merged)
    if val is not None:
        had = set(dataset.classes_of(val))
        merged, found = merge(val.frame, {text: label for text, label in latest.items() if text in val_texts},
                              classes, allow_new_classes)
        add_counts(counts, found)
        val = relabelled(val, merged)
        extra = sorted(set(dataset.classes_of(val)) - had - set(dataset.classes_of(rows)))
        if extra:
            raise UserError(f"The corrections of {model} give rows of the validation file "
                            f"{Path(val_file).name} the new label(s) {', '.join(map(repr, extra))}, which no "
                            "training row has, so the model could never predict them. Add training rows of them, or "
                            "correct those texts again in the page with a class.")
        if val.multilabel:  # a new class of the training rows applies to no validation row
            val = relabelled(val, val.frame.assign(**{c: 0 for c in rows.label_columns if c not in val.frame}))
    return rows, val, counts


def relabelled(rows: dataset.LabelledRows, frame) -> dataset.LabelledRows:
    """`rows` with a merged frame (multi-label: its label columns, the new ones last, are its class columns)."""
    labels = [c for c in frame.columns if c != dataset.TEXT] if rows.multilabel else rows.label_columns
    return dataset.LabelledRows(frame[[dataset.TEXT, *labels]] if rows.multilabel else frame, list(labels),
                                rows.multilabel, rows.read, rows.dropped)


def add_counts(counts: dict, found: dict) -> None:
    for key, n in found.items():
        counts[key] += n


def corrections_line(corrected: dict) -> str:
    """What the --corrections model's corrections did to the rows, in one sentence."""
    name = corrected["model"]
    if not any(corrected[key] for key in ("added", "replaced", "unchanged")):
        return f"Corrections: no corrections stored for {name}; trained on the data as it is."
    unchanged = f", {corrected['unchanged']} already so labelled" if corrected["unchanged"] else ""
    return f"Corrections from {name}: {corrected['added']} added, {corrected['replaced']} replaced{unchanged}."
