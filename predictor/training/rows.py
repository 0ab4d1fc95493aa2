"""The user's rows: the labelled file read, cleaned and split, analysts' corrections merged in, and the
unlabelled reviews of --unlabelled read beside them (predictor/unlabelled.py).
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path

from predictor import dataset, tables, unlabelled
from predictor.corrections import merge
from predictor.errors import UserError
from predictor.model_folder import BERT
from predictor.markup import to_text
from predictor.training.settings import Settings, corrections_model


@dataclass(frozen=True)
class Labelled:
    """The user's rows, cleaned and split, and where they came from."""

    train: dataset.LabelledRows
    val: dataset.LabelledRows
    sources: dict
    counts: dict  # rows read, dropped by reason, train, validation
    # The training file's rows (with the corrections merged), before the split and as written, and where each text
    # first stands in the file: what the label audit ranks and shows (predictor/audit.py).
    file_rows: dataset.LabelledRows
    positions: dict


def read_labelled(settings: Settings) -> Labelled:
    """Clean training and validation rows from the user's file(s), with their sources and row counts."""
    frame, facts = tables.read(settings.data, sheet=settings.sheet)
    where = Path(settings.data).name
    rows = dataset.labelled_rows(frame, settings.text_column, settings.label_columns, where, facts)
    sources = {"path": str(Path(settings.data).resolve()), "sha256": sha256(settings.data),
               "sheet": facts.sheet}
    val = None
    if settings.val_data is not None:
        val_table, val_facts = tables.read(settings.val_data, sheet=settings.sheet)
        val = dataset.labelled_rows(val_table, settings.text_column, settings.label_columns,
                                    Path(settings.val_data).name, val_facts)
        sources["validation"] = {"path": str(Path(settings.val_data).resolve()), "sha256": sha256(settings.val_data)}
    model = corrections_model(settings.corrections) if settings.corrections is not None else None
    rows, val, corrected = merge.with_corrections(rows, val, model, settings.allow_new_classes, settings.val_data)
    if corrected and (corrected["added"] or corrected["replaced"]):
        where = f"{where} with the corrections of {corrected['model']}"
    dataset.check_classes(rows, where)
    if val is None:
        # Corrected rows are split like any other row, so about a tenth of them are validation rows. That is wanted:
        # validation stays a sample of all the rows trained on (corrected ones are the texts the old model got wrong,
        # so the scores and the hybrid's blend weight are judged on some of them too), and a new class
        # (--allow-new-classes) gets validation rows and scores like any class, instead of none.
        train_frame, val_frame = dataset.split_rows(rows, settings.val_fraction, settings.seed)
        dropped, read = rows.dropped, rows.read
    else:
        unknown = sorted(set(dataset.classes_of(val)) - set(dataset.classes_of(rows)))
        if unknown:
            raise UserError(f"{Path(settings.val_data).name} has label(s) {', '.join(map(repr, unknown))} that never "
                            "occur in the training data. Fix the labels or add training examples of them.")
        train_frame, val_frame = rows.frame, val.frame
        dropped, read = rows.dropped + val.dropped, rows.read + val.read
    train_frame, train_cleaned = cleaned(train_frame, settings.markup)
    val_frame, val_cleaned = cleaned(val_frame, settings.markup)
    counts = {"read": read, "dropped": dict(dropped), "train": len(train_frame), "validation": len(val_frame),
              "markup_converted": train_cleaned + val_cleaned}
    if corrected is not None:
        counts["corrections"] = corrected
    as_rows = lambda frame: dataset.LabelledRows(frame, rows.label_columns, rows.multilabel, len(frame))  # noqa: E731
    return Labelled(as_rows(train_frame), as_rows(val_frame), sources, counts, rows,
                    dataset.positions(frame, settings.text_column))


def read_unlabelled(settings: Settings, labelled: Labelled) -> unlabelled.Pool | None:
    """The --unlabelled file's reviews (predictor/unlabelled.py), less those of the labelled rows; None without it."""
    if settings.unlabelled is None:
        return None
    if settings.classifier == BERT:
        raise UserError("--unlabelled trains NBSVM again on the reviews the model is surest of, and --classifier bert "
                        "has no NBSVM. Train with --classifier hybrid (the default) or nbsvm, or without --unlabelled.")
    if labelled.train.multilabel:
        raise UserError("--unlabelled works with single-label data for now (one --label-column): a multi-label model "
                        "would need a label threshold to give each review its labels. Train without --unlabelled.")
    known = set(labelled.train.frame[dataset.TEXT]) | set(labelled.val.frame[dataset.TEXT])
    return unlabelled.read_pool(settings.unlabelled, settings.text_column, settings.label_columns, known,
                                settings.markup)


def cleaned(frame, markup: str) -> tuple:
    """`frame` with its texts' markup handled as models.Model does at scoring, and how many texts changed."""
    texts = frame[dataset.TEXT].map(lambda text: to_text(text, markup))
    return frame.assign(**{dataset.TEXT: texts}), int((texts != frame[dataset.TEXT]).sum())


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
