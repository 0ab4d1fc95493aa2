"""A failure while parsing an untrusted workbook is the file's fault: it becomes a message saying how to fix it."""

from __future__ import annotations

import contextlib
from typing import Iterator

from predictor.errors import UserError
from predictor.tables.files import short


@contextlib.contextmanager
def file_at_fault(name: str) -> Iterator[None]:
    """Any failure while parsing an untrusted file is the file's fault: it becomes _damaged's message (a UserError
    passes as it is)."""
    try:
        yield
    except UserError:
        raise
    except Exception as err:
        raise _damaged(name, err) from None


def _damaged(name: str, err: Exception) -> UserError:
    from defusedxml import DefusedXmlException

    root = _root_cause(err)
    if isinstance(root, DefusedXmlException):
        return UserError(
            f"Refused to read {name}: its XML declares entities or a DTD ({short(root)}), which real Excel "
            "files never do and which can be used to attack the server. Open it in Excel and Save As .xlsx."
        )
    return UserError(
        f"Could not read {name}: the workbook looks damaged or is not a real Excel file ({short(root)}). "
        "Open it in Excel, use File > Save As > Excel Workbook (.xlsx), and try again."
    )


def _root_cause(err: BaseException) -> BaseException:
    """openpyxl wraps parse errors in vague ones; the innermost error says what actually failed."""
    for _ in range(10):  # bounded: cause chains can in theory loop
        inner = err.__cause__ or err.__context__
        if inner is None:
            break
        err = inner
    return err
