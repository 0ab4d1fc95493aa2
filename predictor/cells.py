"""Is this cell a text worth reading? The one definition that training, scoring and column guessing share.

A cell is text when it is a string with at least one letter or symbol (emoji count). Numbers, booleans and dates
(Excel keeps their native types), strings without letters such as "12345", "2024-01-31" or "---", and Excel error
values such as "#N/A" are "not text (...)": a model trained on reviews has nothing to say about them, and learning
from them teaches it nothing. Blank cells (None, NaN, NaT, whitespace) are "empty text".
"""
import datetime
import decimal
import numbers
import unicodedata

import numpy as np
import pandas as pd

OK = "ok"  # the cell is text worth reading: scored, or trained on
EMPTY = "empty text"
NUMBER = "not text (number)"
DATE = "not text (date)"
NO_LETTERS = "not text (no letters)"
EXCEL_ERROR = "not text (Excel error)"
OTHER = "not text"

# What a formula cell that failed holds (read as its cached value); letters, but not a review.
EXCEL_ERRORS = frozenset({"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!",
                          "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"})
MEANINGS = {
    EMPTY: "the cell is empty",
    NUMBER: "the cell holds a number (or TRUE/FALSE), not a review",
    DATE: "the cell holds a date or time, not a review",
    NO_LETTERS: "no letters (a code, number or date typed as text, or punctuation only)",
    EXCEL_ERROR: "the cell holds an Excel error such as #N/A from a failed formula",
    OTHER: "the cell is not text",
}


def status(value: object) -> str:
    """OK if `value` is text worth reading, else the reason it is not (one of this module's constants)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return EMPTY
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return EMPTY
        if stripped.upper() in EXCEL_ERRORS:
            return EXCEL_ERROR
        if any(ch.isalpha() or unicodedata.category(ch) == "So" for ch in stripped):
            return OK
        return NO_LETTERS
    if isinstance(value, float) and np.isnan(value):
        return EMPTY
    if isinstance(value, (bool, np.bool_, numbers.Number, decimal.Decimal)):
        return NUMBER
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta, np.datetime64, np.timedelta64)):
        return DATE
    return OTHER


def is_text(value: object) -> bool:
    """True when the cell holds a text worth reading."""
    return status(value) == OK


def is_blank(value: object) -> bool:
    """True for None, NaN, NaT and whitespace-only strings: nothing there at all."""
    return status(value) == EMPTY
