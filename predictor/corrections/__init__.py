"""Analysts' corrections of a model's labels: store.py keeps them (a SQLite file in the models folder, beside the
model folders, so that they outlive a retrained model) and merge.py merges them into training rows, what
`train.py --corrections MODEL` trains on. The page saves and reads them through the store's names, handed on here.
"""
from predictor.corrections.store import (  # noqa: F401
    AUDIT, COLUMNS, DB_FILE, LABEL_NEXT, LABEL_SEPARATOR, SCHEMA_VERSION, Correction, CorrectionsStore, join_labels,
    split_labels, store_path)
