"""Tests for predictor.tables.writing: formula neutralisation, Excel limits, atomic writes."""

import csv
import datetime as dt
import io
import os
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from predictor import atomic
from predictor.errors import UserError
from predictor.tables.writing import (
    cells_with_forbidden_characters,
    CUT_NOTE,
    EXCEL_MAX_CELL_CHARS,
    FORMULA_PREFIXES,
    neutralise_formulas,
    rows_over_excel_limit,
    to_csv_bytes,
    to_xlsx_bytes,
    would_evaluate,
    write_table,
)
from predictor.tables import read_table

DANGEROUS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"]
SAFE = ["plain", "a=b", "x-1", "'quoted", "", "2024-05-17"]
PLAIN_NUMBERS = ["-5", "+7", " -1.5", "-3e4", "+.5", "-0.25 ", "+1E+3", "-12.", "  +42  "]
# Each start a spreadsheet evaluates, bare and after leading spaces; none is a plain number.
EVALUATED = [
    "=1+1", "+SUM(A1)", "-5+3", "@SUM(A1)", "\t=1", "\r=1", " =1+1", "  =HYPERLINK(\"http://x\",\"y\")",
    "   @cmd", " -A1", " \t=1", "- great film", "+ not bad", "@home was fine", "+33 6 12 34 56 78", "-", "+",
    "--5", "-0x1F", "-inf", "=", " -5 +3",
]
# Numbers in notations outside the plain-number rule: some apps read them as numbers, but they are quoted to be safe.
OTHER_NOTATIONS = ["-5%", "-1,5", "-1,000", "+1 000", "-5\n"]
REVIEWS = ["- great film, would watch again", "+ fast delivery", "@support never answered", "-5 stars if I could",
           "+1 to the other reviews", "=) happy", " - indented bullet"]
LONG = "word " * 20_000  # 100,000 characters
EMOJI_RTL = "😀 مرحبا بالعالم שלום 👍🏽"


def dangerous_frame() -> pd.DataFrame:
    return pd.DataFrame({"=HEADER": DANGEROUS, "safe": SAFE, "number": [1, -2, 3, -4, 5, 6]})


def csv_rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def load_xlsx(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_prefixes_follow_owasp():
    assert FORMULA_PREFIXES == ("=", "+", "-", "@", "\t", "\r")


def test_a_spreadsheet_evaluates_each_dangerous_start_also_after_leading_spaces():
    assert [text for text in EVALUATED if not would_evaluate(text)] == []


def test_plain_numbers_and_ordinary_text_are_not_evaluated():
    assert [text for text in PLAIN_NUMBERS + SAFE + ["", " ", "5-3", "a@b", "x=1"] if would_evaluate(text)] == []


def test_numbers_in_other_notations_are_treated_as_evaluated_to_be_safe():
    assert [text for text in OTHER_NOTATIONS if not would_evaluate(text)] == []


def test_non_ascii_digits_are_not_plain_numbers():
    assert would_evaluate("-\u0665") and would_evaluate("+\uff17")  # Arabic-Indic 5, fullwidth 7


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


def test_csv_leaves_plain_signed_numbers_as_they_were():
    df = pd.DataFrame({"review": ["ok"] * len(PLAIN_NUMBERS), "note": PLAIN_NUMBERS})
    assert [r[1] for r in csv_rows_of(to_csv_bytes(df))[1:]] == PLAIN_NUMBERS
    assert read_table(to_csv_bytes(df), filename="n.csv")["note"].tolist() == PLAIN_NUMBERS


def test_csv_neutralises_each_dangerous_start_in_cells_and_headers():
    df = pd.DataFrame({text: [text] for text in EVALUATED})
    assert csv_rows_of(to_csv_bytes(df)) == [["'" + text for text in EVALUATED]] * 2


def test_csv_neutralises_reviews_starting_with_a_sign_or_at():
    back = read_table(to_csv_bytes(pd.DataFrame({"review": REVIEWS})), filename="r.csv")
    assert back["review"].tolist() == ["'" + review for review in REVIEWS]


def test_csv_never_cuts_long_text():
    df = pd.DataFrame({"text": ["x" * (EXCEL_MAX_CELL_CHARS + 10)], "scoring_status": ["ok"]})
    back = read_table(to_csv_bytes(df), filename="long.csv")
    assert back.loc[0, "text"] == "x" * (EXCEL_MAX_CELL_CHARS + 10) and back.loc[0, "scoring_status"] == "ok"


def test_csv_round_trip_keeps_long_emoji_rtl_and_newlines():
    df = pd.DataFrame({"text": [LONG, EMOJI_RTL, "multi\nline, with comma", 'say "hi"', "Crème"], "n": range(5)})
    back = read_table(to_csv_bytes(df), filename="out.csv")
    assert back["text"].tolist() == df["text"].tolist()
    assert len(back.loc[0, "text"]) == 100_000
    assert back["n"].tolist() == ["0", "1", "2", "3", "4"]


def sheet_xml(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read("xl/worksheets/sheet1.xml")


def test_xlsx_never_contains_formulas():
    # Until issue 11 these cells came back with a "'" prefix; now the string type alone keeps them from running.
    data = to_xlsx_bytes(dangerous_frame())
    ws = load_xlsx(data)
    cells = [cell for row in ws.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert [c.value for c in ws["A"]][:5] == ["=HEADER", "=1+1", "+SUM(A1)", "-2+3", "@cmd"]
    assert all(c.data_type == "s" for c in ws["A"])
    assert ws["A7"].value == "\nx"  # "\rx": a CR reads back as LF (XML normalises line ends)
    assert b"<f>" not in sheet_xml(data) and b"<f " not in sheet_xml(data)


def test_xlsx_writes_a_formula_looking_text_as_a_string_not_a_formula():
    data = to_xlsx_bytes(pd.DataFrame({"=1+1": ["=1+1", " =SUM(A1:A2)"]}))
    ws = load_xlsx(data)
    assert [(c.value, c.data_type) for c in ws["A"]] == [("=1+1", "s"), ("=1+1", "s"), (" =SUM(A1:A2)", "s")]
    assert b"<f>" not in sheet_xml(data) and b"<f " not in sheet_xml(data)
    assert b'<c r="A2" t="inlineStr"><is><t>=1+1</t></is></c>' in sheet_xml(data)


def test_xlsx_reviews_starting_with_a_sign_or_at_round_trip_exactly():
    df = pd.DataFrame({"review": REVIEWS + EVALUATED[:4] + PLAIN_NUMBERS[:2], "-score": range(len(REVIEWS) + 6)})
    data = to_xlsx_bytes(df)
    ws = load_xlsx(data)
    assert [c.value for c in ws["A"]] == ["review"] + df["review"].tolist()
    assert all(c.data_type == "s" for c in ws["A"])
    assert ws["B1"].value == "-score" and ws["B1"].data_type == "s"
    assert b"<f>" not in sheet_xml(data) and b"<f " not in sheet_xml(data)
    back = read_table(data, filename="r.xlsx")
    assert back.columns.tolist() == ["review", "-score"] and back["review"].tolist() == df["review"].tolist()


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


def test_xlsx_strips_illegal_characters_and_keeps_what_is_left_a_string():
    df = pd.DataFrame({"h\x07": ["a\x00b\x1fc", "\x01=cmd", "tab\tnew\nline"]})
    ws = load_xlsx(to_xlsx_bytes(df))
    assert [c.value for c in ws["A"]] == ["h", "abc", "=cmd", "tab\tnew\nline"]
    assert all(c.data_type == "s" for c in ws["A"])


def test_xlsx_replaces_lone_surrogates_as_the_csv_does_instead_of_writing_an_unreadable_file():
    df = pd.DataFrame({"text": ["a\ud800b", "x" * 40_000 + "\udfff", "\ud83d\ude00"]})
    ws = load_xlsx(to_xlsx_bytes(df))
    assert [c.value for c in ws["A"]] == ["text", "a?b", "x" * EXCEL_MAX_CELL_CHARS, "??"]
    assert csv_rows_of(to_csv_bytes(df))[1] == ["a?b"]
    assert rows_over_excel_limit(df) == [1]


def test_xlsx_truncates_to_excel_limit_without_splitting_emoji():
    df = pd.DataFrame({"text": [LONG, "😀" * 20_000, EMOJI_RTL]})
    ws = load_xlsx(to_xlsx_bytes(df))
    assert ws["A2"].value == LONG[:32_767]
    assert ws["A3"].value == "😀" * 16_383  # each emoji is 2 UTF-16 units; never half of one
    assert ws["A4"].value == EMOJI_RTL


def test_xlsx_round_trip_through_read_table():
    df = pd.DataFrame({"text": [EMOJI_RTL, "=2*3"], "score": [0.9, 12]})
    back = read_table(to_xlsx_bytes(df), filename="r.xlsx")
    assert back.to_dict("records") == [{"text": EMOJI_RTL, "score": 0.9}, {"text": "=2*3", "score": 12}]


def long_frame() -> pd.DataFrame:
    """Rows 1 and 3 have a cell over Excel's limit (row 3 only once control characters or UTF-16 are counted right)."""
    at_limit = "y" * EXCEL_MAX_CELL_CHARS
    return pd.DataFrame(
        {
            "review": ["short", LONG, at_limit, "😀" * 16_384, "\x00" + at_limit, None],
            "source": ["a", "b", "c", "d", "e" * 40_000, "f"],
            "stars": [1, 2, 3, 4, 5, 6],
            "scoring_status": ["ok", "ok", "ok", "", None, "ok"],
        }
    )


def test_rows_over_excel_limit_finds_exactly_the_long_rows():
    # row 3: 16,384 emoji are 32,768 UTF-16 units; row 4: the cut is in another column (the \x00 is removed first)
    assert rows_over_excel_limit(long_frame()) == [1, 3, 4]
    assert rows_over_excel_limit(pd.DataFrame({"review": ["y" * EXCEL_MAX_CELL_CHARS, "\x00" * 40_000]})) == []
    assert rows_over_excel_limit(pd.DataFrame({"n": [1.5, 2.5]})) == []
    assert rows_over_excel_limit(pd.DataFrame()) == []


def test_xlsx_status_column_gets_the_cut_note_on_exactly_the_cut_rows(caplog):
    df = long_frame()
    ws = load_xlsx(to_xlsx_bytes(df, status_column="scoring_status"))
    assert [c.value for c in ws["D"]][1:] == ["ok", f"ok; {CUT_NOTE}", "ok", CUT_NOTE, CUT_NOTE, "ok"]
    assert CUT_NOTE == "text cut to Excel's 32,767-character cell limit (the .csv keeps it whole)"
    assert df["scoring_status"].tolist() == ["ok", "ok", "ok", "", None, "ok"]  # input untouched
    assert "truncated" in caplog.text  # the warning log is kept
    csv_rows = csv_rows_of(to_csv_bytes(df))  # not read_table: it refuses the NUL in row 4, as it should
    assert [r[3] for r in csv_rows[1:]] == ["ok", "ok", "ok", "", "", "ok"] and csv_rows[2][0] == LONG


def test_xlsx_without_status_column_still_exports_and_adds_no_note():
    df = long_frame().drop(columns="scoring_status")
    for status_column in (None, "scoring_status"):
        ws = load_xlsx(to_xlsx_bytes(df, status_column=status_column))
        values = [c.value for row in ws.iter_rows() for c in row]
        assert ws["A3"].value == LONG[:EXCEL_MAX_CELL_CHARS] and CUT_NOTE not in values
        assert ws.max_column == 3 and ws.max_row == 7


def test_write_table_passes_the_status_column_to_xlsx(tmp_path):
    write_table(long_frame(), tmp_path / "out.xlsx", status_column="scoring_status")
    write_table(long_frame(), tmp_path / "out.csv", status_column="scoring_status")
    assert read_table(tmp_path / "out.xlsx")["scoring_status"].tolist()[:2] == ["ok", f"ok; {CUT_NOTE}"]
    assert [r[3] for r in csv_rows_of((tmp_path / "out.csv").read_bytes())][1:3] == ["ok", "ok"]


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
    quote = "'" if name.endswith(".csv") else ""  # .xlsx relies on the string type, not a prefix (issue 11)
    assert back.columns[0] == quote + "=HEADER" and back.iloc[0, 0] == quote + "=1+1"


@pytest.mark.bad_input
def test_write_table_rejects_other_extensions(tmp_path):
    with pytest.raises(UserError, match=r"\.csv or \.xlsx"):
        write_table(dangerous_frame(), tmp_path / "out.json")


@pytest.mark.bad_input
def test_write_table_missing_folder(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        write_table(dangerous_frame(), tmp_path / "nope" / "out.csv")


@pytest.mark.bad_input
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


def test_a_csv_s_plain_numbers_become_number_cells_and_codes_and_long_ids_stay_text():
    df = read_table(b"id,stars,price,code,card,mixed,when\n1,5,-3.5,007,12345678901234567,4,2024-01-31\n"
                    b"2,4,10,010,12345678901234568,x,2024-02-01\n3,,0.25,7,1,5,\n", filename="r.csv")
    ws = load_xlsx(to_xlsx_bytes(df))
    assert [c.value for c in ws[2]] == [1, 5, -3.5, "007", "12345678901234567", "4", "2024-01-31"]
    assert [c.data_type for c in ws[2]] == ["n", "n", "n", "s", "s", "s", "s"]
    assert [c.value for c in ws[4]][:3] == [3, None, 0.25]


@pytest.mark.parametrize("text", ["1.50", "+3", " 7", "1e5", "0x1F", "١٢", "-0", "00", "1234567890123456"])
def test_a_number_a_cell_would_not_show_as_written_stays_text(text):
    ws = load_xlsx(to_xlsx_bytes(pd.DataFrame({"n": [text]})))
    assert ws["A2"].value == text and ws["A2"].data_type == "s"


def test_a_date_from_an_xlsx_stays_a_date_shown_without_a_time_and_a_date_time_keeps_its_time():
    source = openpyxl.Workbook()
    source.active.append(["day", "when"])
    source.active.append([dt.datetime(2024, 1, 31), dt.datetime(2024, 1, 31, 9, 30)])
    buffer = io.BytesIO()
    source.save(buffer)
    df = read_table(buffer.getvalue(), filename="d.xlsx")
    for frame in (df, df.astype({"day": "datetime64[ns]"}), pd.DataFrame({"day": [dt.datetime(2024, 1, 31)],
                                                                          "when": [dt.datetime(2024, 1, 31, 9, 30)]})):
        ws = load_xlsx(to_xlsx_bytes(frame))
        assert ws["A2"].is_date and ws["A2"].value == dt.datetime(2024, 1, 31)
        assert "h" not in ws["A2"].number_format.lower()
        assert ws["B2"].value == dt.datetime(2024, 1, 31, 9, 30) and "h" in ws["B2"].number_format.lower()


def test_the_cells_an_xlsx_cannot_hold_are_counted_for_the_user():
    assert cells_with_forbidden_characters(pd.DataFrame({"a": ["ok\x07", "fine", 3], "b": ["\x00", None, "x"]})) == 2
