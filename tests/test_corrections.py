"""Analysts' corrections: saved in a real SQLite file that loses nothing, then merged into training rows."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from predictor import model_folder
from predictor.tables import writing
from predictor.corrections.merge import merge
from predictor.corrections import (COLUMNS, DB_FILE, SCHEMA_VERSION, Correction, CorrectionsStore, join_labels,
                                   split_labels, store_path)
from predictor.errors import UserError

REPO = Path(__file__).resolve().parent.parent
CLASSES = ["negative", "neutral", "positive"]


def correction(text="the plot was thin", corrected="negative", model="reviews-1", **kwargs):
    fields = dict(model=model, text=text, model_label="positive",
                  probabilities={"negative": 0.1, "neutral": 0.2, "positive": 0.7}, corrected_label=corrected)
    return Correction(**{**fields, **kwargs})


@pytest.fixture
def store(tmp_path):
    return CorrectionsStore(store_path(tmp_path))


def rows_in(path):
    """Every row of the file, read with plain sqlite3 (not the code under test)."""
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT id, created_at, model, text, model_label, probabilities, corrected_label, "
                            "source_file, source_row FROM corrections ORDER BY id").fetchall()


# ---------------------------------------------------------------------------------------------------------------------
# Saving and reading back


def test_a_correction_reads_back_exactly_with_its_time_and_the_oldest_first(store):
    first = correction("  Great phone, awful battery  ", "negative", probabilities={"negative": 0.125, "neutral": 1 / 3,
                                                                                   "positive": 0.5416666666666667},
                       source_file="reviews ümlaut.xlsx", source_row=17)
    second = correction("fine, I guess 👍", "neutral", suggested_by="label next")

    ids = [store.add(first), store.add(second)]

    assert ids[1] > ids[0]
    frame = store.for_model("reviews-1")
    assert list(frame.columns) == COLUMNS
    assert frame.drop(columns=["created_at", "probabilities"]).to_dict("records") == [
        {"model": "reviews-1", "text": "  Great phone, awful battery  ", "model_label": "positive",
         "corrected_label": "negative", "source_file": "reviews ümlaut.xlsx", "source_row": 17, "suggested_by": None},
        {"model": "reviews-1", "text": "fine, I guess 👍", "model_label": "positive", "corrected_label": "neutral",
         "source_file": None, "source_row": None, "suggested_by": "label next"}]
    assert json.loads(frame.loc[0, "probabilities"]) == first.probabilities  # floats round-trip exactly, in order
    assert list(json.loads(frame.loc[0, "probabilities"])) == CLASSES
    stamps = [pd.Timestamp(t) for t in frame["created_at"]]
    assert all(t.tzinfo is not None and t.utcoffset().total_seconds() == 0 for t in stamps)
    assert stamps[0] <= stamps[1] and abs(pd.Timestamp.now(tz="UTC") - stamps[1]).total_seconds() < 60


def test_counts_are_per_model_and_models_are_kept_apart(store):
    assert store.count("reviews-1") == 0 and store.for_model("reviews-1").empty  # no file yet: nothing, nothing made
    assert not store.path.exists()
    for i in range(3):
        store.add(correction(f"text {i}", model="reviews-1"))
    store.add(correction("text 0", "positive", model="reviews-2"))

    assert (store.count("reviews-1"), store.count("reviews-2"), store.count("reviews-3")) == (3, 1, 0)
    assert store.for_model("reviews-2")["text"].tolist() == ["text 0"]
    assert store.latest_by_text("reviews-2") == {"text 0": "positive"}
    assert store.latest_by_text("reviews-3") == {} and store.for_model("reviews-3").columns.tolist() == COLUMNS


def test_the_corrections_outlive_the_page_reloading_and_the_server_restarting(store):
    store.add(correction("kept across restarts"))
    script = ("import sys; from predictor.corrections import CorrectionsStore; "
              "print(CorrectionsStore(sys.argv[1]).for_model('reviews-1')['text'].tolist())")
    restarted = subprocess.run([sys.executable, "-c", script, str(store.path)], cwd=REPO, capture_output=True,
                               text=True, check=True)
    assert restarted.stdout.strip() == "['kept across restarts']"
    assert sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert sqlite3.connect(store.path).execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_the_latest_correction_of_a_text_is_the_one_meant(store):
    store.add(correction("meh film", "negative"))
    store.add(correction("good film", "positive"))
    store.add(correction("  meh film ", "neutral"))  # the same text, corrected again

    assert store.count("reviews-1") == 3  # every correction is kept...
    assert store.latest_by_text("reviews-1") == {"good film": "positive", "meh film": "neutral"}  # ...the last counts


def test_a_models_corrections_download_as_csv_and_xlsx(store, tmp_path):
    store.add(correction("=HYPERLINK(\"http://x\") great", "positive", source_file="upload.csv", source_row=2))
    frame = store.for_model("reviews-1")

    assert b"'=HYPERLINK" in writing.to_csv_bytes(frame)
    (tmp_path / "c.xlsx").write_bytes(writing.to_xlsx_bytes(frame, "corrections"))
    back = pd.read_excel(tmp_path / "c.xlsx")
    assert back.columns.tolist() == COLUMNS and back.loc[0, "text"] == frame.loc[0, "text"]
    assert back.loc[0, "source_row"] == 2


def test_multi_label_values_are_the_labels_joined_in_class_order():
    classes = ["battery", "screen", "delivery"]
    assert join_labels({"delivery", "battery"}, classes) == "battery, delivery"
    assert join_labels([], classes) == "" and split_labels("") == []
    assert split_labels("battery, delivery") == ["battery", "delivery"]
    with pytest.raises(ValueError, match="price"):
        join_labels(["price"], classes)


# ---------------------------------------------------------------------------------------------------------------------
# Nothing lost: many writers, a killed writer


WRITER = r"""
import sys, time
from pathlib import Path
from predictor.corrections import Correction, CorrectionsStore
path, writer, count, go, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5])
store = CorrectionsStore(path)
print("ready", flush=True)
while not go.exists():
    time.sleep(0.002)
i = 0
while count < 0 or i < count:
    text = f"writer {writer} row {i} " + "x" * size
    print(store.add(Correction(f"m{writer % 2}", text, f"label {i}", {"a": i / 1000, "b": 1 - i / 1000},
                               f"fixed {i}", f"w{writer}.csv", i)), flush=True)
    i += 1
"""


def start_writer(path, writer, count, go, size=0):
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(writer), str(count), str(go), str(size)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_whole(row):
    """A row as the writer script made it, every field consistent with its writer and number."""
    _, created_at, model, text, model_label, probabilities, corrected, source_file, source_row = row
    writer, i = (int(n) for n in text.split(" ")[1:4:2])
    assert model == f"m{writer % 2}" and source_file == f"w{writer}.csv" and source_row == i
    assert (model_label, corrected) == (f"label {i}", f"fixed {i}") and pd.Timestamp(created_at).tzinfo is not None
    assert json.loads(probabilities) == {"a": i / 1000, "b": 1 - i / 1000}
    return writer, i, text


def test_eight_processes_writing_at_once_lose_and_duplicate_nothing(tmp_path):
    path, go = store_path(tmp_path), tmp_path / "go"
    writers = [start_writer(path, w, 25, go) for w in range(8)]  # they race to create the file, too
    for process in writers:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
    go.touch()
    outputs = [process.communicate(timeout=60) for process in writers]

    assert [process.returncode for process in writers] == [0] * 8, [err for _, err in outputs]
    rows = rows_in(path)
    assert len(rows) == 200
    assert sorted(assert_whole(row)[:2] for row in rows) == [(w, i) for w in range(8) for i in range(25)]
    assert sorted(int(line) for out, _ in outputs for line in out.split()) == [row[0] for row in rows]
    assert CorrectionsStore(path).count("m0") == CorrectionsStore(path).count("m1") == 100


def test_sessions_writing_and_reading_at_once_from_threads_lose_nothing(store):
    start = threading.Barrier(10)
    writing = threading.Event()
    errors, seen = [], []

    def session(n):
        try:
            start.wait()
            for i in range(25):
                store.add(correction(f"session {n} text {i}", "neutral"))
        except BaseException as err:  # noqa: BLE001  (reported below, not lost in the thread)
            errors.append(err)

    def page_showing_the_count():
        try:
            start.wait()
            while writing.is_set():
                seen.append(store.count("reviews-1"))
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    writing.set()
    writers = [threading.Thread(target=session, args=(n,)) for n in range(8)]
    readers = [threading.Thread(target=page_showing_the_count) for _ in range(2)]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join(timeout=60)
    writing.clear()
    for thread in readers:
        thread.join(timeout=60)

    assert errors == []
    texts = store.for_model("reviews-1")["text"].tolist()
    assert sorted(texts) == sorted(f"session {n} text {i}" for n in range(8) for i in range(25))
    assert seen and max(seen) <= 200


def test_a_writer_killed_mid_stream_leaves_only_whole_rows_and_every_committed_one(tmp_path):
    path, go = store_path(tmp_path), tmp_path / "go"
    go.touch()
    writer = start_writer(path, 3, -1, go, size=300_000)  # endless; each row spans many pages of the file
    assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
    committed = [int(writer.stdout.readline()) for _ in range(15)]
    time.sleep(0.01)  # let it be inside the next add
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)
    committed += [int(line) for line in writer.stdout.read().split()]

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = rows_in(path)
    assert set(committed) <= {row[0] for row in rows}
    assert [assert_whole(row)[1] for row in rows] == list(range(len(rows)))
    assert all(len(row[3]) == len(f"writer 3 row {i} ") + 300_000 for i, row in enumerate(rows))
    store = CorrectionsStore(path)
    store.add(correction(model="m1"))
    assert store.count("m1") == len(rows) + 1


# ---------------------------------------------------------------------------------------------------------------------
# Where the file lives


def test_the_store_is_in_the_models_folder_and_outlives_a_retrained_model(tmp_path, monkeypatch):
    monkeypatch.setenv("PREDICTOR_MODELS_DIR", str(tmp_path))
    assert store_path() == tmp_path / DB_FILE == store_path(tmp_path)
    (tmp_path / "reviews-1").mkdir()
    (tmp_path / "reviews-1" / "training.json").write_text("{}")
    store = CorrectionsStore(store_path())
    store.add(correction(model="reviews-1"))

    with model_folder.staged(tmp_path / "reviews-1") as staging:  # what train.py --force does
        (staging / "training.json").write_text('{"retrained": true}')
    assert store.count("reviews-1") == 1
    shutil.rmtree(tmp_path / "reviews-1")
    assert store.count("reviews-1") == 1 and CorrectionsStore(store_path()).count("reviews-1") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [DB_FILE]  # the -wal/-shm go when the last user closes


# ---------------------------------------------------------------------------------------------------------------------
# Bad files and folders


@pytest.mark.bad_input
@pytest.mark.parametrize("content", [b"review,label\ngood,positive\n", b"SQLite format 3\x00" + b"\xff" * 200])
def test_a_file_that_is_not_a_database_is_refused_with_its_path_and_what_to_do(tmp_path, content):
    path = store_path(tmp_path)
    path.write_bytes(content)
    store = CorrectionsStore(path)

    for use in (lambda: store.count("m"), lambda: store.add(correction()), lambda: store.latest_by_text("m")):
        with pytest.raises(UserError, match="Move it aside") as caught:
            use()
        assert str(path) in str(caught.value)
    assert path.read_bytes() == content  # left as it was


@pytest.mark.bad_input
def test_a_damaged_database_is_refused_with_its_path(store):
    for i in range(8):
        store.add(correction(f"text {i} " + "y" * 8000))
    data = bytearray(store.path.read_bytes())
    data[4096:len(data)] = b"\x5a" * (len(data) - 4096)  # every page but the header's
    store.path.write_bytes(bytes(data))

    with pytest.raises(UserError, match="Move it aside") as caught:
        store.for_model("reviews-1")
    assert str(store.path) in str(caught.value)


@pytest.mark.bad_input
def test_another_programs_database_is_not_taken_over(store):
    with sqlite3.connect(store.path) as conn:
        conn.execute("CREATE TABLE invoices (n INTEGER)")
    with pytest.raises(UserError, match="invoices"):
        store.add(correction())


VERSION_1_SCHEMA = """CREATE TABLE corrections (
    id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, model TEXT NOT NULL, text TEXT NOT NULL,
    model_label TEXT NOT NULL, probabilities TEXT NOT NULL, corrected_label TEXT NOT NULL, source_file TEXT,
    source_row INTEGER)"""  # as commit b6f9646 created it


def test_a_version_1_file_is_brought_up_to_date_in_place_with_every_correction_kept(store):
    with sqlite3.connect(store.path) as conn:
        conn.execute(VERSION_1_SCHEMA)
        conn.execute("INSERT INTO corrections (created_at, model, text, model_label, probabilities, corrected_label, "
                     "source_file, source_row) VALUES ('2026-12-01T10:00:00.000+00:00', 'reviews-1', 'old one', "
                     "'positive', '{\"negative\": 0.4, \"positive\": 0.6}', 'negative', 'batch.csv', 3)")
        conn.execute("PRAGMA user_version = 1")

    store.add(correction("from the audit", suggested_by="label audit", source_file="reviews.csv", source_row=7))

    frame = store.for_model("reviews-1")
    assert frame[["text", "source_file", "source_row", "suggested_by"]].values.tolist() == [
        ["old one", "batch.csv", 3, None], ["from the audit", "reviews.csv", 7, "label audit"]]
    assert sqlite3.connect(store.path).execute("PRAGMA user_version").fetchone() == (2,)


@pytest.mark.bad_input
def test_a_suggestion_the_page_never_makes_is_refused_before_anything_is_written(store):
    with pytest.raises(ValueError, match="suggested_by must be None, 'label audit' or 'label next'"):
        store.add(correction(suggested_by="a hunch"))
    assert not store.path.exists()


@pytest.mark.bad_input
def test_a_database_from_a_newer_version_is_refused_saying_to_update(store):
    store.add(correction())
    with sqlite3.connect(store.path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")

    with pytest.raises(UserError, match="newer version.*Update the code"):
        store.count("reviews-1")
    with pytest.raises(UserError, match="newer version"):
        store.add(correction())


@pytest.mark.bad_input
def test_a_missing_models_folder_is_refused_when_saving(tmp_path):
    store = CorrectionsStore(store_path(tmp_path / "nowhere"))
    assert store.count("m") == 0  # nothing saved there, so nothing to read
    with pytest.raises(UserError, match="does not exist"):
        store.add(correction())
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.bad_input
def test_a_read_only_models_folder_is_refused_when_saving(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root writes into any folder whatever its mode; nobody may create files in /proc/self
        folder = Path("/proc/self")
    try:
        with pytest.raises(UserError, match="folder you may write to") as caught:
            CorrectionsStore(store_path(folder)).add(correction())
        assert str(store_path(folder)) in str(caught.value)
    finally:
        (tmp_path / "models").chmod(0o755)


@pytest.mark.bad_input
def test_a_folder_where_the_file_should_be_is_refused(tmp_path):
    store_path(tmp_path).mkdir()
    with pytest.raises(UserError, match=DB_FILE):
        CorrectionsStore(store_path(tmp_path)).add(correction())


# ---------------------------------------------------------------------------------------------------------------------
# Training on the corrections


def sentiment_rows():
    return pd.DataFrame({"text": ["good film", "bad film", "okay film", "good film"],
                         "label": ["positive", "negative", "neutral", "positive"]}, dtype=object)


def test_corrections_replace_matching_rows_and_add_the_others_in_order():
    merged, counts = merge(sentiment_rows(), {"bad film": "negative", " okay film\n": "negative",
                                              "new text": "positive", "good film": "neutral", "another": "neutral"},
                           CLASSES, allow_new_classes=False)

    assert counts == {"added": 2, "replaced": 3, "unchanged": 1}  # both "good film" rows are relabelled
    assert merged.to_dict("list") == {
        "text": ["good film", "bad film", "okay film", "good film", "new text", "another"],
        "label": ["neutral", "negative", "negative", "neutral", "positive", "neutral"]}


def test_no_corrections_leave_the_rows_as_they_were():
    rows = sentiment_rows()
    merged, counts = merge(rows, {}, CLASSES, allow_new_classes=False)
    assert counts == {"added": 0, "replaced": 0, "unchanged": 0}
    pd.testing.assert_frame_equal(merged, rows)


def test_the_latest_correction_of_a_text_is_the_one_trained_on(store):
    store.add(correction("bad film", "neutral"))
    store.add(correction("brand new", "negative"))
    store.add(correction("bad film ", "positive"))

    merged, counts = merge(sentiment_rows(), store.latest_by_text("reviews-1"), CLASSES, allow_new_classes=False)

    assert merged["label"].tolist() == ["positive", "positive", "neutral", "positive", "negative"]
    assert counts == {"added": 1, "replaced": 1, "unchanged": 0}


@pytest.mark.bad_input
def test_a_label_that_is_not_a_class_is_refused_unless_new_classes_are_allowed():
    corrections = {"a": "sarcastic", "b": "sarcastic", "good film": "mixed", "c": "positive"}

    with pytest.raises(UserError) as caught:
        merge(sentiment_rows(), corrections, CLASSES, allow_new_classes=False)
    message = str(caught.value)
    assert "'sarcastic' (2 corrections)" in message and "'mixed' (1 correction)" in message
    assert "--allow-new-classes" in message and "negative, neutral, positive" in message

    merged, counts = merge(sentiment_rows(), corrections, CLASSES, allow_new_classes=True)
    assert merged["label"].tolist() == ["mixed", "negative", "neutral", "mixed", "sarcastic", "sarcastic", "positive"]
    assert counts == {"added": 3, "replaced": 2, "unchanged": 0}


@pytest.mark.bad_input
def test_an_empty_label_is_refused_for_a_single_label_model():
    with pytest.raises(UserError, match="1 correction.*no label"):
        merge(sentiment_rows(), {"good film": ""}, CLASSES, allow_new_classes=True)


def test_multi_label_corrections_set_the_class_columns():
    classes = ["battery", "screen", "delivery"]
    rows = pd.DataFrame({"text": ["battery died", "late parcel", "nice"], "battery": [1, 0, 0], "screen": [0, 0, 0],
                         "delivery": [0, 1, 0]})
    corrections = {"battery died": "battery", "late parcel": "battery, delivery", " nice ": "",
                   "cracked and late": "screen, delivery"}

    merged, counts = merge(rows, corrections, classes, allow_new_classes=False)

    assert counts == {"added": 1, "replaced": 1, "unchanged": 2}
    assert merged.to_dict("list") == {"text": ["battery died", "late parcel", "nice", "cracked and late"],
                                      "battery": [1, 1, 0, 0], "screen": [0, 0, 0, 1], "delivery": [0, 1, 0, 1]}
    assert (merged[classes].dtypes == "int64").all()

    with pytest.raises(UserError, match="'price' \\(1 correction\\)"):
        merge(rows, {"nice": "battery, price"}, classes, allow_new_classes=False)
    merged, counts = merge(rows, {"nice": "battery, price"}, classes, allow_new_classes=True)
    assert merged["price"].tolist() == [0, 0, 1] and merged["battery"].tolist() == [1, 0, 1]
    assert counts == {"added": 0, "replaced": 1, "unchanged": 0}
