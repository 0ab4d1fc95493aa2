"""Which column holds the text: the one whose non-empty values are mostly text, with the longest average length."""

from __future__ import annotations

import pandas as pd

from predictor import cells


TEXT_SAMPLE_SIZE = 1000


def guess_text_column(df: pd.DataFrame) -> str | None:
    """The column whose non-empty values are mostly text, with the longest average length."""
    return text_column_and_length(df)[0]


def text_column_and_length(df: pd.DataFrame) -> tuple[str | None, float]:
    """guess_text_column's column and its texts' average length (0.0 when no column holds text)."""
    best, best_length = None, 0.0
    for position, label in enumerate(df.columns):
        texts = _text_values(df.iloc[:, position])
        if texts:
            length = sum(map(len, texts)) / len(texts)
            if length > best_length:
                best, best_length = label, length
    return best, best_length


def _text_values(column: pd.Series) -> list[str]:
    """Text values of a column if most of its non-empty values are text (predictor/cells.py), else []."""
    non_empty, texts = 0, []
    for value in column:
        if cells.is_blank(value):
            continue
        non_empty += 1
        if cells.is_text(value):
            texts.append(value)
        if non_empty >= TEXT_SAMPLE_SIZE:  # a sample is enough and keeps big frames fast
            break
    return texts if non_empty and len(texts) * 2 > non_empty else []
