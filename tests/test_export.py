"""Tests for predictor.export: formula neutralisation, Excel limits, atomic writes."""

import csv
import datetime as dt
import io
import os
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from predictor import atomic, export
from predictor.errors import UserError
from predictor.export import FORMULA_PREFIXES, neutralise_formulas, to_csv_bytes, to_xlsx_bytes, write_table
from predictor.tables import read_table

DANGEROUS = ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx"]
SAFE = ["plain", "a=b", "x-1", "'quoted", "", " =leading space"]
LONG = "word " * 20_000  # 100,000 characters
EMOJI_RTL = "😀 مرحبا بالعالم שלום 👍🏽"


def dangerous_frame() -> pd.DataFrame:
    return pd.DataFrame({"=HEADER": DANGEROUS, "safe": SAFE, "number": [1, -2, 3, -4, 5, 6]})


def load_xlsx(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_prefixes_follow_owasp():
    assert FORMULA_PREFIXES == ("=", "+", "-", "@", "\t", "\r")


def test_neutralise_formulas_cells_and_headers():
    df = dangerous_frame()
    out = neutralise_formulas(df)
    assert out.columns.tolist() == ["'=HEADER", "safe", "number"]
    assert out["'=HEADER"].tolist() == ["'" + v for v in DANGEROUS]
    assert out["safe"].tolist() == SAFE
    assert out["number"].tolist() == [1, -2, 3, -4, 5, 6] and out["number"].dtype == np.int64
    assert df.columns[0] == "=HEADER" and df.iloc[0, 0] == "=1+1"  # input untouched


def test_neutralise_formulas_mixed_object_column_and_duplicate_headers():
    df = pd.DataFrame([[-5, "=x", None], [2.5, "ok", "-y"]], columns=["a", "a", "@b"])
    out = neutralise_formulas(df)
    assert out.columns.tolist() == ["a", "a", "'@b"]
    assert out.iloc[:, 0].tolist() == [-5, 2.5]
    assert out.iloc[:, 1].tolist() == ["'=x", "ok"]
    assert out.iloc[0, 2] is None and out.iloc[1, 2] == "'-y"


def test_csv_is_neutralised_utf8_with_bom():
    data = to_csv_bytes(dangerous_frame())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["'=HEADER", "safe", "number"]
    assert [r[0] for r in rows[1:]] == ["'" + v for v in DANGEROUS]
    assert [r[2] for r in rows[1:]] == ["1", "-2", "3", "-4", "5", "6"]  # real numbers are not strings


def test_csv_round_trip_keeps_long_emoji_rtl_and_newlines():
    df = pd.DataFrame({"text": [LONG, EMOJI_RTL, "multi\nline, with comma", 'say "hi"', "Crème"], "n": range(5)})
    back = read_table(to_csv_bytes(df), filename="out.csv")
    assert back["text"].tolist() == df["text"].tolist()
    assert len(back.loc[0, "text"]) == 100_000
    assert back["n"].tolist() == ["0", "1", "2", "3", "4"]


def test_xlsx_never_contains_formulas():
    data = to_xlsx_bytes(dangerous_frame())
    ws = load_xlsx(data)
    cells = [cell for row in ws.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert [c.value for c in ws["A"]][:5] == ["'=HEADER", "'=1+1", "'+SUM(A1)", "'-2", "'@cmd"]
    assert ws["A7"].value.startswith("'") and ws["A7"].data_type == "s"  # "\rx" (CR reads back as LF)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sheet_xml = zf.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml


def test_xlsx_forces_text_even_without_neutralising(monkeypatch):
    monkeypatch.setattr(export, "_neutral", lambda value: value)  # suppose the quote were skipped
    ws = load_xlsx(to_xlsx_bytes(pd.DataFrame({"a": ["=1+1"]})))
    assert ws["A2"].value == "=1+1" and ws["A2"].data_type == "s"


def test_xlsx_numbers_dates_and_missing_stay_native():
    when = dt.datetime(2024, 5, 17, 9, 30)
    df = pd.DataFrame(
        {
            "int": [1, -2],
            "float": [0.25, np.nan],
            "when": [when, pd.NaT],
            "aware": [pd.Timestamp("2024-01-01 08:00", tz="Europe/Paris"), None],
            "obj": [np.int64(7), float("inf")],
            "bool": [True, False],
        }
    )
    ws = load_xlsx(to_xlsx_bytes(df, sheet_name="results"))
    assert ws.title == "results"
    row2 = [c.value for c in ws[2]]
    assert row2 == [1, 0.25, when, dt.datetime(2024, 1, 1, 8, 0), 7, True]
    assert [c.data_type for c in ws[2]][:2] == ["n", "n"] and type(row2[0]) is int
    assert [c.value for c in ws[3]] == [-2, None, None, None, "inf", False]


def test_xlsx_strips_illegal_characters_before_neutralising():
    df = pd.DataFrame({"h\x07": ["a\x00b\x1fc", "\x01=cmd", "tab\tnew\nline"]})
    ws = load_xlsx(to_xlsx_bytes(df))
    assert [c.value for c in ws["A"]] == ["h", "abc", "'=cmd", "tab\tnew\nline"]


def test_xlsx_truncates_to_excel_limit_without_splitting_emoji():
    df = pd.DataFrame({"text": [LONG, "😀" * 20_000, EMOJI_RTL]})
    ws = load_xlsx(to_xlsx_bytes(df))
    assert ws["A2"].value == LONG[:32_767]
    assert ws["A3"].value == "😀" * 16_383  # each emoji is 2 UTF-16 units; never half of one
    assert ws["A4"].value == EMOJI_RTL


def test_xlsx_round_trip_through_read_table():
    df = pd.DataFrame({"text": [EMOJI_RTL, "=2*3"], "score": [0.9, 12]})
    back = read_table(to_xlsx_bytes(df), filename="r.xlsx")
    assert back.to_dict("records") == [{"text": EMOJI_RTL, "score": 0.9}, {"text": "'=2*3", "score": 12}]


def test_xlsx_sheet_name_is_made_valid():
    ws = load_xlsx(to_xlsx_bytes(pd.DataFrame({"a": [1]}), sheet_name="a/b:c" * 10))
    assert ws.title == ("a_b_c" * 10)[:31]


@pytest.mark.parametrize("name", ["out.csv", "out.xlsx", "OUT.XLSX"])
def test_write_table_round_trip_and_leaves_no_temp_files(tmp_path, name):
    target = tmp_path / name
    target.write_bytes(b"old contents")
    write_table(dangerous_frame(), target)
    assert os.listdir(tmp_path) == [name]
    back = read_table(target)
    assert back.columns[0] == "'=HEADER" and back.iloc[0, 0] == "'=1+1"


def test_write_table_rejects_other_extensions(tmp_path):
    with pytest.raises(UserError, match=r"\.csv or \.xlsx"):
        write_table(dangerous_frame(), tmp_path / "out.json")


def test_write_table_missing_folder(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        write_table(dangerous_frame(), tmp_path / "nope" / "out.csv")


def test_failed_write_keeps_old_file_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_bytes(b"old contents")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(UserError, match="Permission denied.*Close the file"):
        write_table(dangerous_frame(), target)
    assert target.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["out.csv"]
