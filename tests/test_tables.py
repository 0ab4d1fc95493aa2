"""Tests for predictor.tables: every fixture is built here, in memory or under tmp_path."""

import datetime as dt
import io
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import psutil
import pytest
from openpyxl.styles import Font

import hostile
from hostile import xlsx_bytes
from predictor import tables, worker
from predictor.errors import UserError
from predictor.tables import Facts, guess_text_column, read, read_table, reading, xlsx

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path, name, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def error_text(source, **kwargs) -> str:
    with pytest.raises(UserError) as info:
        read_table(source, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------- minimal BIFF8 (.xls) writer


def _rec(rtype, data=b""):
    return struct.pack("<HH", rtype, len(data)) + data


def _bof(kind):
    return _rec(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))


def _xf(number_format):
    return _rec(0x00E0, struct.pack("<HHHBBBBIIH", 0, number_format, 0xFFF0, 0x20, 0, 0, 0, 0, 0, 0x20C0))


def _cell(r, c, v):
    if isinstance(v, str):
        return _rec(0x0204, struct.pack("<HHHHB", r, c, 0, len(v), 1) + v.encode("utf-16-le"))
    if isinstance(v, dt.datetime):  # XF 16 uses built-in format 14 (a date), 1900 date system
        serial = (v - dt.datetime(1899, 12, 30)).total_seconds() / 86400
        return _rec(0x0203, struct.pack("<HHHd", r, c, 16, serial))
    return _rec(0x0203, struct.pack("<HHHd", r, c, 0, v)) if v is not None else b""


def xls_bytes(sheets: dict) -> bytes:
    """Build a raw BIFF8 workbook stream (xlrd reads it without the OLE2 wrapper)."""
    font = _rec(0x0031, struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0) + b"\x05\x00Arial")
    head = _bof(0x0005) + _rec(0x0042, struct.pack("<H", 1200)) + _rec(0x0022, b"\0\0") + font * 5
    head += _xf(0) * 16 + _xf(14)
    bodies = [
        _bof(0x0010) + b"".join(_cell(r, c, v) for r, row in enumerate(rows) for c, v in enumerate(row)) + _rec(0x0A)
        for rows in sheets.values()
    ]

    def boundsheets(offsets):
        return b"".join(
            _rec(0x0085, struct.pack("<IBBBB", off, 0, 0, len(name), 1) + name.encode("utf-16-le"))
            for off, name in zip(offsets, sheets)
        )

    offsets = [len(head) + len(boundsheets([0] * len(sheets))) + 4]
    for body in bodies[:-1]:
        offsets.append(offsets[-1] + len(body))
    return head + boundsheets(offsets) + _rec(0x0A) + b"".join(bodies)


# ---------------------------------------------------------------- safety of the imports and XML parser


def test_openpyxl_parses_with_defusedxml():
    from openpyxl.xml import functions

    assert openpyxl.xml.DEFUSEDXML is True
    assert functions.iterparse.__module__.startswith("defusedxml")


@pytest.mark.bad_input
def test_xml_entity_expansion_is_refused(tmp_path):
    original = xlsx_bytes({"S": [["text"], ["hi"]]})
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, laughs if item.filename == "xl/worksheets/sheet1.xml" else src.read(item))
    message = error_text(out.getvalue(), filename="lol.xlsx")
    assert "Refused" in message and "entities" in message and "EntitiesForbidden" in message


def test_import_pulls_in_neither_tensorflow_nor_streamlit():
    code = (
        "import sys, predictor.tables, predictor.tables.writing;"
        "bad = [m for m in ('tensorflow', 'streamlit', 'ktrain') if m in sys.modules];"
        "assert not bad, bad"
    )
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- CSV / TSV


def test_utf8_csv_keeps_accents_emoji_rtl(tmp_path):
    path = write(tmp_path, "a.csv", "id,text\n1,Café crème 😀\n2,مرحبا بالعالم\n".encode("utf-8"))
    df, facts = read(path)
    assert df["text"].tolist() == ["Café crème 😀", "مرحبا بالعالم"]
    assert facts.encoding == "utf-8-sig"


def test_utf8_bom_is_not_part_of_first_header():
    df = read_table("\ufeffid,text\n1,x\n".encode("utf-8"), filename="a.csv")
    assert df.columns.tolist() == ["id", "text"]


def test_cp1252_accents_are_decoded():
    data = "id;text\n1;Crème brûlée à 5 €\n".encode("cp1252")
    df, facts = read(data, filename="legacy.csv")
    assert facts.encoding == "cp1252"
    assert df.loc[0, "text"] == "Crème brûlée à 5 €"


def test_latin1_is_last_resort():
    df, facts = read(b"id,text\n1,a\x81b\n", filename="odd.csv")  # 0x81 is undefined in cp1252
    assert facts.encoding == "latin-1"
    assert df.loc[0, "text"] == "a\x81b"


def test_utf16_with_bom():
    df, facts = read("id\ttext\n1\tnaïve\n".encode("utf-16"), filename="u16.csv")
    assert facts.encoding == "utf-16"
    assert df.to_dict("records") == [{"id": "1", "text": "naïve"}]


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(sep):
    data = sep.join(["id", "text", "label"]) + "\n" + sep.join(["1", "hello there", "pos"]) + "\n"
    df = read_table(data.encode(), filename="d.csv")
    assert df.columns.tolist() == ["id", "text", "label"]
    assert df.loc[0, "text"] == "hello there"


def test_semicolon_file_with_commas_in_prose():
    data = "id;text\n1;Hello, world, again\n2;One, two\n3;No comma\n"
    df = read_table(data.encode(), filename="s.csv")
    assert df["text"].tolist() == ["Hello, world, again", "One, two", "No comma"]


def test_single_column_falls_back_to_comma():
    df = read_table(b"text\nhello\nworld\n", filename="one.csv")
    assert df.columns.tolist() == ["text"] and df["text"].tolist() == ["hello", "world"]


def test_tsv_splits_on_tabs_only():
    df = read_table(b"a,b\tc\n1,2\t3\n", filename="t.tsv")
    assert df.columns.tolist() == ["a,b", "c"]
    assert df.loc[0, "a,b"] == "1,2"


def test_quoted_newlines_stay_in_one_cell():
    df = read_table(b'id,text\n1,"line one\nline two, still"\n2,"x\r\ny"\n', filename="n.csv")
    assert df["text"].tolist() == ["line one\nline two, still", "x\r\ny"]


def test_cells_are_exact_strings():
    data = b"code,flag,empty,num\n00123,NA,,1.50\n007,N/A,, 7 \n"
    df = read_table(data, filename="s.csv")
    assert df.to_dict("records") == [
        {"code": "00123", "flag": "NA", "empty": "", "num": "1.50"},
        {"code": "007", "flag": "N/A", "empty": "", "num": " 7 "},
    ]
    assert all(isinstance(v, str) for v in df.to_numpy().ravel())


def test_short_rows_are_padded_with_empty_strings():
    df = read_table(b"a,b,c\n1\n2,3\n", filename="r.csv")
    assert df.to_dict("records") == [{"a": "1", "b": "", "c": ""}, {"a": "2", "b": "3", "c": ""}]


def test_csv_blank_and_duplicate_headers():
    df = read_table(b"id,,id,id.1\n1,2,3,4\n", filename="h.csv")
    assert df.columns.tolist() == ["id", "column_2", "id.1", "id.1.1"]


def test_csv_trailing_empty_rows_and_columns_are_dropped():
    df = read_table(b"a,b,\n1,2,\n,,\n,,\n", filename="e.csv")
    assert df.columns.tolist() == ["a", "b"] and len(df) == 1


def test_header_only_gives_zero_rows():
    df = read_table(b"id,text\n", filename="h.csv")
    assert df.columns.tolist() == ["id", "text"] and len(df) == 0


@pytest.mark.bad_input
def test_malformed_csv_names_the_line():
    message = error_text(b"a,b\n1,2\n3,4,5\n", filename="bad.csv")
    assert "line 3" in message and "3 cells" in message and "bad.csv" in message


@pytest.mark.bad_input
def test_unclosed_quote_names_the_line():
    message = error_text(b'a,b\n1,2\n3,"4\n', filename="bad.csv")
    assert "never closed" in message and "line 3" in message


@pytest.mark.bad_input
def test_empty_file(tmp_path):
    message = error_text(write(tmp_path, "empty.csv", b""))
    assert "empty" in message and "0 bytes" in message


@pytest.mark.bad_input
def test_blank_lines_only_have_no_header():
    assert "no header" in error_text(b"\n\n   \n", filename="blank.csv")


@pytest.mark.bad_input
def test_nul_bytes_are_not_text():
    assert "NUL" in error_text(b"a\x00b\x00\n", filename="bin.csv")


@pytest.mark.bad_input
def test_workbook_renamed_csv():
    message = error_text(xlsx_bytes({"S": [["a"]]}), filename="book.csv")
    assert "Excel workbook" in message and ".xlsx" in message


# ---------------------------------------------------------------- generic input problems


@pytest.mark.bad_input
def test_missing_file(tmp_path):
    message = error_text(tmp_path / "nope.csv")
    assert "not found" in message and "nope.csv" in message


@pytest.mark.bad_input
def test_folder_is_not_a_file(tmp_path):
    (tmp_path / "dir.csv").mkdir()
    assert "folder" in error_text(tmp_path / "dir.csv")


@pytest.mark.bad_input
def test_unsupported_extension_lists_supported(tmp_path):
    message = error_text(write(tmp_path, "notes.txt", b"a,b\n"))
    assert "not a supported" in message
    assert all(ext in message for ext in (".csv", ".tsv", ".xlsx", ".xls"))
    assert "no extension" in error_text(b"a\n", filename="README")


def test_bytes_need_a_filename():
    with pytest.raises(ValueError):
        read_table(b"a\n1\n")


@pytest.mark.bad_input
@pytest.mark.parametrize("as_path", [True, False])
def test_too_big(tmp_path, as_path):
    data = b"id,text\n" + b"1,hello\n" * 10
    source = write(tmp_path, "big.csv", data) if as_path else data
    message = error_text(source, filename="big.csv", max_bytes=50)
    assert f"{len(data)} bytes" in message and "50 bytes limit" in message
    assert "Split" in message and "raise the limit" in message


def test_size_limit_is_50_mb():
    assert tables.MAX_TABLE_BYTES == 50_000_000  # decimal, as the browser counts


# ---------------------------------------------------------------- XLSX


def test_xlsx_keeps_native_types():
    when = dt.datetime(2024, 5, 17, 13, 45)
    rows = [["id", "score", "when", "ok", "text"], [1, 2.5, when, True, "héllo"], [2, -3, None, False, "00123"]]
    data = xlsx_bytes({"Data": rows})
    df, facts = read(data, filename="w.xlsx")
    assert facts.sheet == "Data"
    assert df.to_dict("records") == [
        {"id": 1, "score": 2.5, "when": when, "ok": True, "text": "héllo"},
        {"id": 2, "score": -3, "when": "", "ok": False, "text": "00123"},
    ]
    assert type(df.loc[0, "id"]) is int and type(df.loc[0, "score"]) is float
    assert isinstance(df.loc[0, "when"], dt.datetime)
    assert all(pd.api.types.is_object_dtype(dtype) for dtype in df.dtypes)


def test_xlsx_headers_and_padding_rows():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Padded"
    ws["A3"], ws["C3"], ws["D3"] = "id", "id", 2024  # header on row 3; B3 blank
    ws["A4"], ws["B4"], ws["C4"], ws["D4"] = 1, "x", "y", "z"
    for row in range(5, 30):  # formatted-but-empty trailing rows, as Excel often leaves
        ws.cell(row=row, column=1).font = Font(bold=True)
    buffer = io.BytesIO()
    wb.save(buffer)
    df = read_table(buffer.getvalue(), filename="p.xlsx")
    assert df.columns.tolist() == ["id", "column_2", "id.1", "2024"]
    assert df.to_dict("records") == [{"id": 1, "column_2": "x", "id.1": "y", "2024": "z"}]


def test_xlsx_header_only_gives_zero_rows():
    df = read_table(xlsx_bytes({"S": [["id", "text"]]}), filename="h.xlsx")
    assert df.columns.tolist() == ["id", "text"] and len(df) == 0


@pytest.mark.bad_input
def test_xlsx_empty_sheet():
    message = error_text(xlsx_bytes({"Blank": []}), filename="e.xlsx")
    assert "empty" in message and "Blank" in message


@pytest.mark.bad_input
def test_sheets_listed_chosen_and_missing(tmp_path):
    path = write(tmp_path, "multi.xlsx", xlsx_bytes({"First": [["a"], [1]], "Second": [["b"], [2]]}))
    assert read(path).facts == Facts(sheet="First", sheets=("First", "Second"), blank_rows_skipped=0)
    df, facts = read(path, sheet="Second")
    assert facts.sheet == "Second" and df.to_dict("records") == [{"b": 2}]
    message = error_text(path, sheet="Third")
    assert '"Third"' in message and '"First"' in message and '"Second"' in message


def test_a_csv_names_no_sheets(tmp_path):
    assert read(write(tmp_path, "a.csv", b"a\n1\n")).facts.sheets == ()


@pytest.mark.bad_input
def test_text_file_renamed_xlsx(tmp_path):
    message = error_text(write(tmp_path, "fake.xlsx", b"id,text\n1,hello\n"))
    assert "not a valid Excel workbook" in message and "renamed" in message


@pytest.mark.bad_input
def test_truncated_xlsx():
    data = xlsx_bytes({"S": [["a"], [1]]})
    message = error_text(data[: len(data) // 2], filename="cut.xlsx")
    assert "corrupt" in message and "again" in message


@pytest.mark.bad_input
def test_zip_that_is_not_a_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    assert "damaged" in error_text(buffer.getvalue(), filename="doc.xlsx")


@pytest.mark.bad_input
def test_password_protected_xlsx(tmp_path):
    fake = tables.CFB_MAGIC + bytes(504) + "EncryptedPackage".encode("utf-16-le") + bytes(1024)
    message = error_text(write(tmp_path, "secret.xlsx", fake))
    assert "password" in message and "Save As" in message


@pytest.mark.bad_input
def test_zip_bomb_total_size():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            zeros = bytes(tables.MB)
            for _ in range(600):  # 600 MB of zeros, streamed, about 3 MB compressed
                member.write(zeros)
    assert len(buffer.getvalue()) < 5 * 1024 * 1024
    message = error_text(buffer.getvalue(), filename="bomb.xlsx")
    assert "unpack to 600.0 MB" in message and "500.0 MB limit" in message and "zip bomb" in message


@pytest.mark.bad_input
def test_zip_bomb_compression_ratio():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/sharedStrings.xml", bytes(20 << 20))  # ~1000x, far beyond real XML
    message = error_text(buffer.getvalue(), filename="ratio.xlsx")
    assert "xl/sharedStrings.xml" in message and "zip bomb" in message


@pytest.mark.bad_input
def test_xlsx_too_big():
    data = xlsx_bytes({"S": [["a"], [1]]})
    assert "limit" in error_text(data, filename="w.xlsx", max_bytes=100)


# ---------------------------------------------------------------- bounded reading (a child process with limits)


def no_reading_child_left():
    return not [child for child in psutil.Process().children(recursive=True) if "predictor.worker" in
                " ".join(child.cmdline())]


@pytest.mark.bad_input
def test_a_million_rows_of_far_empty_cells_are_read_by_the_cells_present_not_refused_after_minutes():
    # 1,000,000 rows took 23 minutes when every row was padded to column XFD; read by the cells present, 100,000
    # take a few seconds, and the far empty cells add no column.
    df = read_table(hostile.far_empty_cells(100_000), filename="far.xlsx")
    assert df.columns.tolist() == ["review"] and len(df) == 0


@pytest.mark.bad_input
def test_rows_past_excels_last_row_are_refused_at_once():
    message = error_text(hostile.rows_beyond_excel(), filename="far.xlsx")
    assert "beyond row 1,048,576" in message and "save it again" in message


@pytest.mark.bad_input
def test_a_file_that_takes_too_long_is_stopped_with_a_message_and_its_reading_process_is_gone():
    # A tenth of a second is less than starting the reading process and importing pandas takes on any machine, let
    # alone reading 300,000 rows, so the limit is reached however fast the CPU is.
    limits = worker.Limits(seconds=0.1, memory_bytes=tables.READ_LIMITS.memory_bytes)
    message = error_text(hostile.many_numbered_rows(300_000), filename="slow.xlsx", limits=limits)
    assert message.startswith("Reading slow.xlsx took longer than 0.1 s, so it was stopped") and "CSV" in message
    assert no_reading_child_left()


@pytest.mark.bad_input
def test_a_file_that_needs_too_much_memory_is_stopped_with_a_message():
    limits = worker.Limits(seconds=60, memory_bytes=200 * tables.MB)
    message = error_text(hostile.tiny_rows_csv(3_000_000), filename="tiny_rows.csv", limits=limits)
    assert message.startswith("Reading tiny_rows.csv needed more than 200.0 MB of memory, so it was stopped")
    assert no_reading_child_left()


@pytest.mark.bad_input
def test_the_reading_stops_when_the_listener_gives_up():
    # The listener is first called a quarter of a second in (worker.PROGRESS_EVERY_S); starting the reading process
    # and reading 300,000 rows takes longer than that on any machine.
    calls = []

    def listener(progress):
        calls.append(progress)
        raise KeyboardInterrupt  # what Streamlit's Stop does to a script, at its next call

    with pytest.raises(KeyboardInterrupt):
        read_table(hostile.many_numbered_rows(300_000), filename="big.xlsx", on_progress=listener)
    assert len(calls) == 1 and calls[0].elapsed_s >= worker.PROGRESS_EVERY_S
    assert no_reading_child_left()


def test_the_child_s_count_reaches_the_listener_and_the_child_is_gone_when_the_listener_stops(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(Path(hostile.__file__).parent))  # where the child finds endless_reading
    seen = []

    def listener(progress):
        seen.append(progress)
        if progress.count:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        worker.run(hostile.endless_reading, (), limits=worker.Limits(seconds=60, memory_bytes=tables.READ_LIMITS
                                                                     .memory_bytes),
                   what="Counting", too_slow="too slow", too_big="too big", on_progress=listener)
    assert seen[-1].count >= 1_000 and seen[-1].elapsed_s > 0
    assert no_reading_child_left()


@pytest.mark.bad_input
def test_a_crash_in_the_reading_process_is_a_message_not_a_traceback():
    message = str(pytest.raises(UserError, worker.run, reading.parse, (b"a\n1\n", ".csv", "x.csv", None, "extra"),
                                limits=tables.READ_LIMITS, what="Reading x.csv", too_slow="", too_big="").value)
    assert message.startswith("Reading x.csv failed (TypeError") and "save it again" in message


# ---------------------------------------------------------------- XLS


@pytest.mark.bad_input
def test_xls_keeps_native_types_and_sheets(tmp_path):
    when = dt.datetime(2024, 3, 1, 12, 0)
    data = xls_bytes({"Données": [["id", "text", "when"], [1, "héllo", when], [2.5, "x", None]], "Other": [["a"]]})
    path = write(tmp_path, "old.xls", data)
    df, facts = read(path)
    assert facts == Facts(sheet="Données", sheets=("Données", "Other"), blank_rows_skipped=0)
    assert df.to_dict("records") == [{"id": 1, "text": "héllo", "when": when}, {"id": 2.5, "text": "x", "when": ""}]
    assert type(df.loc[0, "id"]) is int
    assert read_table(path, sheet="Other").columns.tolist() == ["a"]
    assert '"Données"' in error_text(path, sheet="Missing")


def test_xlsx_saved_as_xls_is_read():
    df = read_table(xlsx_bytes({"S": [["a"], [1]]}), filename="misnamed.xls")
    assert df.to_dict("records") == [{"a": 1}]


@pytest.mark.bad_input
def test_html_disguised_as_xls():
    message = error_text(b"<html><table><tr><td>a</td></tr></table></html>", filename="export.xls")
    assert "not a readable .xls" in message and "HTML" in message


@pytest.mark.bad_input
def test_encrypted_workbook_named_xls():
    fake = tables.CFB_MAGIC + bytes(504) + "EncryptedPackage".encode("utf-16-le") + bytes(1024)
    assert "password" in error_text(fake, filename="secret.xls")


@pytest.mark.bad_input
def test_missing_xlrd_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "xlrd", None)  # makes `import xlrd` raise ImportError
    with pytest.raises(UserError, match="pip install"):  # in this process: the reading child has its own modules
        reading.parse(xls_bytes({"S": [["a"]]}), ".xls", "old.xls", None, report=lambda rows: None)


# ---------------------------------------------------------------- guess_text_column


def test_guess_text_column_prefers_long_prose():
    df = pd.DataFrame(
        {
            "id": ["1", "2", "3"],
            "amount": ["1,234.50", "12%", "-7"],
            "date": ["2024-01-31", "31/01/2024", "2024-02-01 10:00"],
            "label": ["pos", "neg", "pos"],
            "comment": ["Great service, thanks!", "", "Arrived late and broken."],
            "mixed": ["a much longer sentence than any comment here", "5", "6"],
        }
    )
    assert guess_text_column(df) == "comment"


def test_guess_text_column_none_without_text():
    df = pd.DataFrame({"n": [1, 2.5, None], "d": [dt.datetime(2024, 1, 1)] * 3, "s": ["1", "2", ""]})
    assert guess_text_column(df) is None
    assert guess_text_column(pd.DataFrame()) is None


def test_guess_text_column_on_read_xlsx():
    data = xlsx_bytes({"S": [["id", "review", "when"], [1, "Loved it, would buy again", dt.datetime(2024, 1, 1)]]})
    assert guess_text_column(read_table(data, filename="r.xlsx")) == "review"


# ---------------------------------------------------------------- calamine and openpyxl give the same frame


def padded_header_workbook():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["B3"], ws["C3"] = "id", "review"  # the header on row 3, from column B; a formatted empty row below the data
    ws["B4"], ws["C4"] = 7, "fine"
    ws["A9"].font = Font(bold=True)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def grid_bomb():
    """Two values, in A1 and XFD1048576: calamine would ask for a 550 GB grid and abort the reading process."""
    return hostile.xlsx_with_sheet_xml([b'<row r="1">' + hostile.text_cell("A1", "review") + b"</row>",
                                        b'<row r="1048576">' + hostile.text_cell("XFD1048576", "far") + b"</row>"])


EVERY_FIXTURE_WORKBOOK = {
    "native types": lambda: xlsx_bytes({"Data": [
        ["id", "score", "when", "ok", "text", "big", "time", "long"],
        [1, 2.5, dt.datetime(2024, 5, 17, 13, 45), True, "héllo", 10**17, dt.time(13, 5), dt.timedelta(hours=30)],
        [2, -3, None, False, "00123", 2**53 - 1, None, None], [None] * 8, ["after a blank row"]]}),
    "header only": lambda: xlsx_bytes({"S": [["id", "text"]]}),
    "two sheets": lambda: xlsx_bytes({"First": [["a"], [1]], "Second": [["b"], [2]]}),
    "header on row 3": padded_header_workbook,
    "number headers": lambda: xlsx_bytes({"S": [[2024, 2025.5, None, "x"], [1, 2, 3, 4]]}),
    "far empty cells": lambda: hostile.far_empty_cells(2_000),
    "numbered rows": lambda: hostile.many_numbered_rows(2_000),
    "numbers only": lambda: hostile.numbers_only(2_000),
}


def read_both_ways(data):
    """(calamine's table, openpyxl's table) for one workbook, read in this process: each a (frame, facts)."""
    fast = xlsx.read_xlsx(data, "w.xlsx", None, report=lambda rows: None)
    slow = xlsx.read_xlsx_openpyxl(data, "w.xlsx", None, report=lambda rows: None)
    return fast, slow


@pytest.mark.parametrize("workbook", list(EVERY_FIXTURE_WORKBOOK))
def test_calamine_reads_every_fixture_workbook_to_the_frame_openpyxl_gives(workbook):
    data = EVERY_FIXTURE_WORKBOOK[workbook]()
    assert tables.calamine_reader.open_workbook(data, tables.MAX_CELLS, tables.MAX_ROWS) is not None
    (fast, fast_facts), (slow, slow_facts) = read_both_ways(data)
    pd.testing.assert_frame_equal(fast, slow)
    assert [[type(v) for v in row] for row in fast.to_numpy()] == [[type(v) for v in row] for row in slow.to_numpy()]
    assert fast_facts == slow_facts


def test_a_date_at_midnight_is_a_date_through_calamine_where_openpyxl_gives_a_date_time_at_0_00():
    # The difference between the readers that matters, and calamine's wins: a date column stays a date column, and
    # an export shows no "0:00:00". A time of day is kept by both. (The other: a whole number beyond 2**53, which
    # Excel itself cannot hold exactly, is a float through calamine, an int through openpyxl; see the next test.)
    data = xlsx_bytes({"S": [["day", "when"], [dt.datetime(2024, 1, 31), dt.datetime(2024, 1, 31, 9, 30)]]})
    (fast, _), (slow, _) = read_both_ways(data)
    assert fast.to_dict("records") == [{"day": dt.date(2024, 1, 31), "when": dt.datetime(2024, 1, 31, 9, 30)}]
    assert slow.to_dict("records") == [{"day": dt.datetime(2024, 1, 31), "when": dt.datetime(2024, 1, 31, 9, 30)}]


def test_a_whole_number_beyond_2_53_is_a_float_through_calamine_and_an_int_through_openpyxl():
    (fast, _), (slow, _) = read_both_ways(xlsx_bytes({"S": [["big"], [2**53 + 2]]}))
    assert fast["big"].tolist() == [float(2**53 + 2)] and slow["big"].tolist() == [2**53 + 2]


@pytest.mark.parametrize("shape, data", [
    ("error cells", lambda: xlsx_bytes({"S": [["text"], ["#N/A"]]})),  # calamine would give "", not "#N/A"
    ("values in A1 and XFD1048576", grid_bomb),
    ("a row past Excel's last", hostile.rows_beyond_excel),
    ("cells without references", lambda: hostile.xlsx_with_sheet_xml([b'<row r="1"><c><v>1</v></c></row>'])),
    ("prefixed cells", lambda: hostile.xlsx_with_sheet_xml([b'<row r="1"><x:c r="A1"><v>1</v></x:c></row>'])),
])
def test_a_workbook_calamine_cannot_be_trusted_with_is_read_by_openpyxl(shape, data):
    assert tables.calamine_reader.open_workbook(data(), tables.MAX_CELLS, tables.MAX_ROWS) is None


@pytest.mark.bad_input
def test_values_in_a1_and_xfd1048576_are_refused_by_the_cell_limit_not_a_crash_of_the_reader():
    assert "spans more than 20,000,000 cells" in error_text(grid_bomb(), filename="bomb.xlsx")


def test_an_error_cell_still_reads_as_its_error_text():
    assert read_table(xlsx_bytes({"S": [["text"], ["#N/A"]]}), filename="e.xlsx")["text"].tolist() == ["#N/A"]


# ---------------------------------------------------------------- blank rows are counted, not dropped in silence


def test_the_blank_rows_after_the_data_are_counted():
    df, facts = read(hostile.far_empty_cells(3_000), filename="far.xlsx")
    assert len(df) == 0 and facts.blank_rows_skipped == 3_000


def test_blank_rows_above_the_header_and_below_the_data_are_counted_and_blank_rows_inside_kept():
    df, facts = read(padded_header_workbook(), filename="p.xlsx")
    assert facts.blank_rows_skipped == 2 + 5  # rows 1-2 above the header, rows 5-9 below the data
    df, facts = read(xlsx_bytes({"S": [["a"], [1], [None], [2]]}), filename="gap.xlsx")
    assert df["a"].tolist() == [1, "", 2] and facts.blank_rows_skipped == 0
    df, facts = read(b",\nid,text\n1,a\n,\n2,b\n,\n,\n", filename="gaps.csv")
    assert df.to_dict("records") == [{"id": "1", "text": "a"}, {"id": "", "text": ""}, {"id": "2", "text": "b"}]
    assert facts.blank_rows_skipped == 3


# ---------------------------------------------------------------- a workbook whose first sheet is a summary


def summary_first():
    return xlsx_bytes({"Summary": [["quarter", "reviews"], ["Q1", 2], ["Q2", 1]],
                       "Reviews": [["id", "review"], [1, "Arrived late and broken."], [2, "Lovely, would buy again"]],
                       "Notes": [["note"], ["ok"]]})


def test_the_sheet_holding_text_is_read_and_the_note_says_which_and_lists_the_others():
    df, facts = read(summary_first(), filename="q.xlsx", sheet=tables.TEXT_SHEET)
    assert facts.sheet == "Reviews" and guess_text_column(df) == "review"
    assert facts.sheet_note == ('Read sheet "Reviews": its column "review" holds the longest text of the 3 '
                                'sheets. Other sheets: "Summary", "Notes".')


def test_a_sheet_named_is_read_even_when_another_holds_longer_text():
    facts = read(summary_first(), filename="q.xlsx", sheet="Summary").facts
    assert facts.sheet == "Summary" and facts.sheet_note is None


def test_without_text_on_any_sheet_the_first_is_read_and_the_note_says_so():
    facts = read(xlsx_bytes({"A": [["n"], [1]], "B": [["m"], [2]]}), filename="n.xlsx", sheet=tables.TEXT_SHEET).facts
    assert facts.sheet == "A" and "no sheet has a column of text" in facts.sheet_note
