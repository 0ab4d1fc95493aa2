"""predictor.scoring and the score.py command line: fast rules on a stand-in scorer, then the real tiny models."""
import datetime
import json
import shutil
import threading
from types import SimpleNamespace

import numpy as np
import openpyxl
import pandas as pd
import pytest

import predictor  # noqa: F401  (TensorFlow set-up first)
import hostile
from predictor import model_folder, models, scoring, tables, unlike
from predictor.scorer import Scorer, load_scorer
from predictor.tables import writing
import score as score_cli
from predictor.errors import UserError
from predictor.thresholds import Thresholds

LONG_TEXT = "the battery died after two days and support never answered " * 2000  # ~120k characters


class StandInScorer:
    """Deterministic scorer with the Scorer interface: probabilities from the text's length, one word per token."""

    def __init__(self, classes=("negative", "neutral", "positive"), multilabel=False, maxlen=16, bars=()):
        self.classes = list(classes)
        self.multilabel = multilabel
        record = SimpleNamespace(classes=self.classes, multilabel=multilabel, thresholds=list(bars), maxlen=maxlen,
                                 rows={})  # no training lengths: no row is flagged unlike the training texts
        self.info = SimpleNamespace(maxlen=maxlen, name="stand-in", record=record)
        self.calls = []

    def token_count(self, text):
        return len(text.split()) + 2

    def predict_proba(self, texts, batch_size=32):
        self.calls.append(list(texts))
        raw = np.array([[(len(t) * (i + 3)) % 7 + 1.0 for i in range(len(self.classes))] for t in texts])
        if self.multilabel:
            return (raw / 8).astype(np.float32)
        return (raw / raw.sum(axis=1, keepdims=True)).astype(np.float32)

    def score_batch(self, texts, batch_size=32):
        piece_counts = np.array([self.token_count(t) - 2 for t in texts])
        return models.Scores(self.predict_proba(texts, batch_size), {}, piece_counts,
                             np.minimum(piece_counts, self.info.maxlen - 2))


def mixed_frame():
    """A text column holding every kind of cell an analyst's file can have, plus columns that must not change."""
    texts = ["Great value, works well", "", "   ", None, 42, 3.5, True, datetime.datetime(2024, 1, 31),
             datetime.date(2024, 2, 1), "2024-01-31", "12,345", "---", "😀👍", "ممتاز جدا، أنصح به",
             "Great value, works well", LONG_TEXT, float("nan"), "#N/A"]
    return pd.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "review": texts,
                         "stars": list(range(len(texts)))}, index=[100 + i for i in range(len(texts))])


EXPECTED_STATUSES = ["ok", "empty text", "empty text", "empty text", "not text (number)", "not text (number)",
                     "not text (number)", "not text (date)", "not text (date)", "not text (no letters)",
                     "not text (no letters)", "not text (no letters)", "ok", "ok", "ok", "truncated", "empty text",
                     "not text (Excel error)"]


# ---------------------------------------------------------------------------------------------------------------------
# Rules, on the stand-in scorer


def test_score_frame_keeps_every_row_column_and_order_and_flags_non_text():
    df = mixed_frame()
    original = df.copy()
    scored = scoring.score_frame(StandInScorer(), df, "review").frame
    pd.testing.assert_frame_equal(df, original)  # input untouched
    assert list(scored.columns) == ["id", "review", "stars", "predicted_label", "prob_negative", "prob_neutral",
                                    "prob_positive", "scoring_status"]
    pd.testing.assert_frame_equal(scored[["id", "review", "stars"]], original)  # same rows, order, index, values
    assert scored["scoring_status"].tolist() == EXPECTED_STATUSES
    is_scored = scored["scoring_status"].isin(["ok", "truncated"])
    assert (scored.loc[is_scored, "predicted_label"] != "").all()
    assert (scored.loc[~is_scored, "predicted_label"] == "").all()
    probabilities = scored[["prob_negative", "prob_neutral", "prob_positive"]]
    assert probabilities[~is_scored].isna().all().all()
    assert np.allclose(probabilities[is_scored].sum(axis=1), 1, atol=1e-3)


def test_score_frame_scores_each_distinct_text_once_in_batches_and_reports_progress():
    scorer = StandInScorer()
    texts = [f"review number {i % 7}" for i in range(50)] + [""] * 5
    progress = []
    scoring.score_frame(scorer, pd.DataFrame({"t": texts}), "t", batch_size=3,
                        on_progress=lambda done, total: progress.append((done, total)))
    assert sorted(text for call in scorer.calls for text in call) == sorted({f"review number {i}" for i in range(7)})
    assert all(len(call) <= 3 for call in scorer.calls)
    assert progress[-1] == (55, 55)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


def test_duplicate_texts_get_identical_scores():
    scored = scoring.score_frame(StandInScorer(), pd.DataFrame({"t": ["same text", "other", "same text"]}), "t").frame
    assert scored.iloc[0].tolist() == scored.iloc[2].tolist()


@pytest.mark.bad_input
def test_new_columns_never_overwrite_existing_ones():
    df = pd.DataFrame({"review": ["good", "bad"], "predicted_label": ["x", "y"], "prob_positive": [1, 2],
                       "scoring_status": ["keep", "me"]})
    scored = scoring.score_frame(StandInScorer(), df, "review")
    assert scored.frame[["predicted_label", "prob_positive", "scoring_status"]].values.tolist() == [["x", 1, "keep"],
                                                                                          ["y", 2, "me"]]
    assert scored.label_column == "predicted_label_2"
    assert scored.probability_columns["positive"] == "prob_positive_2"
    assert scored.status_column == "scoring_status_2"
    assert scoring.summarise(scored)["scored"] == 2


@pytest.mark.parametrize("df, column, fragment", [
    (pd.DataFrame({"review": ["", "  ", None]}), "review", "no text to score"),
    (pd.DataFrame({"review": [1, 2.5, datetime.date(2024, 1, 1)]}), "review", "no text to score"),
    (pd.DataFrame({"review": pd.Series([], dtype=object)}), "review", "no data rows"),
    (pd.DataFrame({"review": ["fine"]}), "comment", 'no column "comment"'),
])
@pytest.mark.bad_input
def test_unscorable_tables_raise_a_user_error(df, column, fragment):
    scorer = StandInScorer()
    with pytest.raises(UserError, match=f"(?i){fragment}"):
        scoring.score_frame(scorer, df, column)
    assert scorer.calls == []


@pytest.mark.bad_input
def test_default_text_column_picks_the_longest_text_or_explains():
    df = pd.DataFrame({"id": ["a1", "b2"], "title": ["Good", "Bad"], "body": ["A long review text", "Another one"]})
    assert scoring.default_text_column(df) == "body"
    with pytest.raises(UserError, match="no column of text"):
        scoring.default_text_column(pd.DataFrame({"n": [1, 2], "d": ["2024-01-01", "2024-01-02"]}), "f.csv")
    with pytest.raises(UserError, match="no data rows"):
        scoring.default_text_column(pd.DataFrame({"review": []}), "f.csv")


def test_score_text_blank_does_not_call_the_model():
    scorer = StandInScorer()
    assert scoring.score_text(scorer, "") is None
    assert scoring.score_text(scorer, " \n\t ") is None
    assert scorer.calls == []


def test_score_text_single_label_sorted_and_truncation_flag():
    scorer = StandInScorer(maxlen=5)
    short = scoring.score_text(scorer, "nice kettle")
    assert list(short.probabilities.values()) == sorted(short.probabilities.values(), reverse=True)
    assert short.label == next(iter(short.probabilities)) and short.labels == [short.label]
    assert sum(short.probabilities.values()) == pytest.approx(1, abs=1e-5)
    assert not short.truncated
    assert scoring.score_text(scorer, "one two three four five six").truncated


def test_multilabel_threshold_in_text_frame_and_summary():
    scorer = StandInScorer(classes=("price", "quality", "service"), multilabel=True)
    everywhere = lambda value: Thresholds.uniform(value, scorer.classes)  # noqa: E731
    score = scoring.score_text(scorer, "cheap but it broke")
    assert score.with_thresholds(everywhere(0.0)).labels == list(score.probabilities)
    assert score.with_thresholds(everywhere(1.01)).label == ""
    df = pd.DataFrame({"t": ["cheap", "broke quickly", "rude staff on the phone", ""]})
    scored = scoring.score_frame(scorer, df, "t", thresholds=everywhere(0.5))
    columns = ["prob_price", "prob_quality", "prob_service"]
    for row in scored.frame.itertuples():
        if row.scoring_status == "ok":
            expected = [c for c, col in zip(scorer.classes, columns) if getattr(row, col) >= 0.5]
            assert row.predicted_label == ", ".join(expected)
    everything = scoring.apply_thresholds(scored, everywhere(0.0))
    assert everything.frame["predicted_label"].tolist()[:3] == ["price, quality, service"] * 3
    # the input is not changed
    assert scored.frame["predicted_label"].tolist() != everything.frame["predicted_label"].tolist()
    summary = scoring.summarise(everything)
    assert summary["label_counts"]["rows"].tolist() == [3, 3, 3]
    assert summary["status_counts"] == {"ok": 3, "empty text": 1}
    assert summary["no_label"] == 0


def test_each_label_is_given_at_the_models_own_threshold_in_text_frame_summary_and_confidence():
    classes = ("price", "quality", "service")
    scorer = StandInScorer(classes=classes, multilabel=True, bars=(0.3, 0.6, 0.9))
    texts = ["cheap", "broke quickly", "rude staff on the phone", "ok", "fine value for what it is"]
    scored = scoring.score_frame(scorer, pd.DataFrame({"t": texts}), "t")
    probabilities = scorer.predict_proba(texts).round(scoring.PROBABILITY_DECIMALS)
    by_hand = [", ".join(c for c, p, bar in zip(classes, row, (0.3, 0.6, 0.9)) if p >= bar) for row in probabilities]
    assert scored.frame["predicted_label"].tolist() == by_hand
    assert len(set(by_hand)) > 1  # the bars decide: not every row gets the same labels
    assert [scoring.score_text(scorer, t).label for t in texts] == by_hand
    counts = dict(scoring.summarise(scored)["label_counts"].itertuples(index=False))
    assert counts == {c: int((probabilities[:, j] >= bar).sum()) for j, (c, bar) in enumerate(zip(classes, (0.3, 0.6,
                                                                                                            0.9)))}
    first = probabilities[0]  # confidence: the label nearest its own bar, as a share of the way to 0 or 1
    nearest = min(abs(p - bar) / ((1 - bar) if p >= bar else bar) for p, bar in zip(first, (0.3, 0.6, 0.9)))
    assert scored.confidence()[0] == pytest.approx(nearest)
    override = scoring.apply_thresholds(scored, Thresholds.uniform(0.5, list(classes)))
    assert override.frame["predicted_label"].tolist() == [
        ", ".join(c for c, p in zip(classes, row) if p >= 0.5) for row in probabilities]


def test_summarise_single_label_lists_every_class():
    scored = scoring.score_frame(StandInScorer(), mixed_frame(), "review")
    summary = scoring.summarise(scored)
    assert sorted(summary["label_counts"]["label"]) == ["negative", "neutral", "positive"]
    assert summary["label_counts"]["rows"].sum() == summary["scored"] == 5
    assert summary["rows"] == len(EXPECTED_STATUSES)
    assert summary["status_counts"]["empty text"] == 4


# ---------------------------------------------------------------------------------------------------------------------
# The real tiny models


@pytest.fixture(scope="module")
def sentiment(tiny_models_dir):
    return load_scorer("tiny-sentiment", tiny_models_dir)


@pytest.fixture(scope="module")
def topics(tiny_models_dir):
    return load_scorer("tiny-topics", tiny_models_dir)


def test_real_single_label_scores(sentiment):
    score = scoring.score_text(sentiment, "great film")
    assert set(score.probabilities) == set(sentiment.classes)
    assert sum(score.probabilities.values()) == pytest.approx(1, abs=1e-4)
    assert score.label == max(score.probabilities, key=score.probabilities.get)
    assert not score.truncated
    long = scoring.score_text(sentiment, LONG_TEXT)
    assert long.truncated and long.token_count > sentiment.info.maxlen


def test_real_frame_matches_single_text_scoring(sentiment):
    texts = ["Loved it", "", "Terrible, avoid", 7, "😀 ممتاز", LONG_TEXT]
    scored = scoring.score_frame(sentiment, pd.DataFrame({"review": texts}), "review", batch_size=2).frame
    assert scored["scoring_status"].tolist() == ["ok", "empty text", "ok", "not text (number)", "ok",
                                                 "truncated, unlike training"]  # trained on five-word texts
    for row, text in zip(scored.itertuples(), texts):
        if row.scoring_status in scoring.SCORED_STATUSES:
            single = scoring.score_text(sentiment, text)
            assert row.predicted_label == single.label
            for cls in sentiment.classes:
                assert getattr(row, f"prob_{cls}") == pytest.approx(single.probabilities[cls], abs=2e-4)


def test_real_multilabel_scores(topics):
    score = scoring.score_text(topics, "battery and screen", Thresholds.uniform(0.0, topics.classes))
    assert score.multilabel and score.labels == list(score.probabilities) and len(score.labels) == 3
    assert all(0 <= p <= 1 for p in score.probabilities.values())


def test_concurrent_scoring_through_one_scorer_matches_sequential(sentiment):
    texts = [f"review {i}: {'great' if i % 2 else 'awful'} product, {'would' if i % 3 else 'would not'} buy again"
             for i in range(24)]
    sequential = {text: sentiment.predict_proba([text])[0] for text in texts}
    frames = [pd.DataFrame({"review": texts[shift:] + texts[:shift]}) for shift in range(0, 24, 4)]
    results, errors = [None] * len(frames), []
    barrier = threading.Barrier(len(frames) + 2)

    def score_frame_in_thread(i):
        try:
            barrier.wait()
            results[i] = scoring.score_frame(sentiment, frames[i], "review", batch_size=5).frame
        except Exception as err:  # surfaced by the assertion below
            errors.append(err)

    def score_texts_in_thread(out):
        try:
            barrier.wait()
            out.extend((text, scoring.score_text(sentiment, text)) for text in texts[:8])
        except Exception as err:
            errors.append(err)

    single_results = [[], []]
    threads = [threading.Thread(target=score_frame_in_thread, args=(i,)) for i in range(len(frames))]
    threads += [threading.Thread(target=score_texts_in_thread, args=(out,)) for out in single_results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    for scored in results:
        for row in scored.itertuples():
            expected = sequential[row.review]
            got = [getattr(row, f"prob_{cls}") for cls in sentiment.classes]
            np.testing.assert_allclose(got, np.round(expected, scoring.PROBABILITY_DECIMALS), atol=2e-4)
            assert row.predicted_label == sentiment.classes[int(np.argmax(expected))]
    for out in single_results:
        for text, score in out:
            np.testing.assert_allclose([score.probabilities[c] for c in sentiment.classes], sequential[text],
                                       atol=1e-5)


# ---------------------------------------------------------------------------------------------------------------------
# CLI


def write_reviews_xlsx(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "reviews"
    ws.append(["id", "review", "date"])
    rows = [(1, "Works great, fast delivery", datetime.date(2024, 1, 2)), (2, "", None),
            (3, "=HYPERLINK(\"http://evil\",\"click\")", None), (4, 12345, None), (5, "Broke after a week", None)]
    for row in rows:
        ws.append(row)
    ws["B4"].data_type = "s"  # a typed-in text that looks like a formula, as an attacker's review would be
    wb.create_sheet("other").append(["nothing", "here"])
    wb.save(path)
    return len(rows)


def test_cli_scores_a_workbook_with_the_default_model(tiny_models_dir, tmp_path, capsys):
    source, out = tmp_path / "in.xlsx", tmp_path / "out.xlsx"
    rows = write_reviews_xlsx(source)
    code = score_cli.main([str(source), "--text-column", "review", "--out", str(out),
                           "--models-dir", str(tiny_models_dir), "--sheet", "reviews"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    default = model_folder.default_name(model_folder.list_models(tiny_models_dir), tiny_models_dir)
    assert f"model {default}" in printed and f"{rows} / {rows} rows" in printed and "Status:" in printed
    sheet = openpyxl.load_workbook(out).active
    values = list(sheet.values)
    assert values[0][:3] == ("id", "review", "date") and values[0][3] == "predicted_label"
    assert values[0][-1] == "scoring_status"
    assert [v[0] for v in values[1:]] == [1, 2, 3, 4, 5]
    statuses = [v[-1] for v in values[1:]]
    assert statuses[1] == "empty text" and statuses[3] == "not text (number)"
    assert all(statuses[i] in scoring.SCORED_STATUSES for i in (0, 2, 4))
    assert values[3][1] == "=HYPERLINK(\"http://evil\",\"click\")"  # as typed, in a string cell: never evaluated
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])  # streamed, and read whole
def test_cli_gives_labels_at_the_models_own_thresholds_unless_told_one_for_all(tiny_models_dir, tmp_path, capsys,
                                                                               suffix):
    root = tmp_path / "models"
    shutil.copytree(tiny_models_dir / "tiny-topics", root / "tiny-topics")
    record_path = root / "tiny-topics" / model_folder.TRAINING_FILE
    record = json.loads(record_path.read_text())
    record["thresholds"] = bars = [0.01, 0.99, 0.01]
    record_path.write_text(json.dumps(record))
    source = tmp_path / "in.csv"
    source.write_text("text\nbattery screen delivery\nscreen\n")
    classes = record["classes"]
    for extra, expected in [([], ", ".join(c for c, bar in zip(classes, bars) if bar < 0.5)),
                            (["--threshold", "0.001"], ", ".join(classes))]:
        out = tmp_path / f"out{suffix}"
        code = score_cli.main([str(source), "--out", str(out), "--models-dir", str(root), "--model", "tiny-topics",
                               *extra])
        printed = capsys.readouterr().out
        assert code == 0, printed
        assert ("model's thresholds: per label, 0.01 to 0.99" in printed) == (not extra)
        frame = pd.read_csv(out) if suffix == ".csv" else pd.read_excel(out)
        labels = frame["predicted_label"].tolist()
        # The order of labels follows the probabilities; compare the sets.
        assert [set(v.split(", ")) for v in labels] == [set(expected.split(", "))] * 2


def test_cli_says_why_an_older_multilabel_model_gives_every_label_the_same_threshold(tiny_models_dir, tmp_path,
                                                                                     capsys):
    root = tmp_path / "models"
    shutil.copytree(tiny_models_dir / "tiny-topics", root / "tiny-topics")
    record_path = root / "tiny-topics" / model_folder.TRAINING_FILE
    record = json.loads(record_path.read_text())
    for key in ("thresholds", "threshold_choice"):
        del record[key]
    record["version"] = 5
    record_path.write_text(json.dumps(record))
    source = tmp_path / "in.csv"
    source.write_text("text\nbattery screen\n")
    assert score_cli.main([str(source), "--out", str(tmp_path / "out.csv"), "--models-dir", str(root)]) == 0
    printed = capsys.readouterr().out
    assert "0.50 for every label" in printed and "saved before thresholds were chosen per label" in printed


@pytest.mark.parametrize("args, fragment", [
    (["missing.xlsx", "--out", "{tmp}/o.xlsx"], "was not found"),
    (["{tmp}/in.xlsx", "--text-column", "nope", "--out", "{tmp}/o.xlsx"], 'no column "nope"'),
    (["{tmp}/in.xlsx", "--text-column", "review", "--out", "{tmp}/o.txt"], "ending in .xlsx or .csv"),
    (["{tmp}/in.xlsx", "--out", "{tmp}/o.xlsx", "--model", "../elsewhere"], "only loaded from"),
    (["{tmp}/in.xlsx", "--out", "{tmp}/o.xlsx", "--sheet", "Sheet9"], 'no sheet named "Sheet9"'),
])
@pytest.mark.bad_input
def test_cli_bad_input_is_one_message_and_exit_2(tiny_models_dir, tmp_path, capsys, args, fragment):
    write_reviews_xlsx(tmp_path / "in.xlsx")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args] + ["--models-dir", str(tiny_models_dir)]
    assert score_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment.lower() in err.lower() and "Traceback" not in err


def test_cli_without_any_model_says_how_to_train(tmp_path, capsys):
    write_reviews_xlsx(tmp_path / "in.xlsx")
    empty = tmp_path / "models"
    empty.mkdir()
    code = score_cli.main([str(tmp_path / "in.xlsx"), "--out", str(tmp_path / "o.csv"), "--models-dir", str(empty)])
    assert code == 2 and "python train.py" in capsys.readouterr().err


@pytest.mark.bad_input
def test_cli_says_which_sheet_it_read_and_points_to_the_others_when_a_column_is_missing(tiny_models_dir, tmp_path,
                                                                                        capsys):
    write_reviews_xlsx(tmp_path / "in.xlsx")
    code = score_cli.main([str(tmp_path / "in.xlsx"), "--text-column", "nope", "--out", str(tmp_path / "o.xlsx"),
                           "--models-dir", str(tiny_models_dir)])
    printed = capsys.readouterr()
    assert code == 2 and 'Read sheet "reviews": its column "review" holds the longest text of the 2 sheets. Other ' \
                         'sheets: "other". To score another, pass --sheet NAME.' in printed.out
    assert 'This was sheet "reviews"; the file also has "other": pass --sheet NAME' in printed.err


@pytest.mark.bad_input
def test_cli_refuses_a_hostile_workbook_with_the_same_message_as_the_page(tiny_models_dir, tmp_path, capsys):
    path = tmp_path / "far.xlsx"
    path.write_bytes(hostile.rows_beyond_excel())
    with pytest.raises(UserError) as page:  # what the page shows for the same upload
        tables.read_table(path.read_bytes(), filename="far.xlsx")
    assert score_cli.main([str(path), "--out", str(tmp_path / "o.csv"), "--models-dir", str(tiny_models_dir)]) == 2
    printed = capsys.readouterr()
    assert "Reading far.xlsx ..." in printed.out and printed.err == f"error: {page.value}\n"
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.bad_input
def test_cli_marks_the_rows_whose_text_the_xlsx_had_to_cut(tiny_models_dir, tmp_path, capsys):
    long_review = "good film " * 4_000  # 40,000 characters: more than an Excel cell holds
    pd.DataFrame({"review": ["fine", long_review, "bad"]}).to_csv(tmp_path / "in.csv", index=False)
    assert score_cli.main([str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.xlsx"), "--models-dir",
                           str(tiny_models_dir)]) == 0
    assert "1 row(s) hold a cell longer than Excel's limit" in capsys.readouterr().out
    statuses = [row[-1] for row in openpyxl.load_workbook(tmp_path / "o.xlsx").active.values][1:]
    assert statuses[0] == "ok" and statuses[2] == "ok" and statuses[1].endswith(writing.CUT_NOTE)


def test_cli_scores_the_reviews_sheet_not_a_first_sheet_of_quarter_codes_and_says_which(tiny_models_dir, tmp_path,
                                                                                           capsys):
    path = tmp_path / "q.xlsx"
    path.write_bytes(hostile.xlsx_bytes({"Summary": [["quarter"], ["Q1"], ["Q2"]],
                                         "Reviews": [["id", "review"], [1, "good film, loved it"], [2, "awful plot"],
                                                     [None, None], [None, None]]}))
    code = score_cli.main([str(path), "--out", str(tmp_path / "o.xlsx"), "--models-dir", str(tiny_models_dir)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert 'Read sheet "Reviews": its column "review" holds the longest text of the 2 sheets. Other sheets: ' \
           '"Summary". To score another, pass --sheet NAME.' in printed
    assert 'of column "review"' in printed and "Scoring 2 rows" in printed
    assert [row[:2] for row in openpyxl.load_workbook(tmp_path / "o.xlsx").active.values] == [
        ("id", "review"), (1, "good film, loved it"), (2, "awful plot")]


def test_cli_scores_the_sheet_it_is_told_to_even_a_sheet_of_codes(tiny_models_dir, tmp_path, capsys):
    path = tmp_path / "q.xlsx"
    path.write_bytes(hostile.xlsx_bytes({"Summary": [["quarter"], ["Q1"], ["Q2"]], "Reviews": [["review"], ["ok"]]}))
    assert score_cli.main([str(path), "--sheet", "Summary", "--out", str(tmp_path / "o.csv"), "--models-dir",
                           str(tiny_models_dir)]) == 0
    printed = capsys.readouterr().out
    assert 'of column "quarter"' in printed and "Read sheet" not in printed


def test_cli_says_how_many_blank_rows_were_skipped(tiny_models_dir, tmp_path, capsys):
    path = tmp_path / "far.xlsx"
    path.write_bytes(hostile.far_empty_cells(50))
    score_cli.main([str(path), "--out", str(tmp_path / "o.csv"), "--models-dir", str(tiny_models_dir)])
    assert "50 blank row(s), with no value in any cell, above the header or after the last row were skipped" in \
        capsys.readouterr().out


def test_cli_says_in_a_sentence_which_cells_lost_characters_an_xlsx_cannot_hold_and_prints_no_internal_line(
        tiny_models_dir, tmp_path, capsys):
    pd.DataFrame({"review": ["fine\x07 film", "bad"], "stars": ["5", "1"]}).to_csv(tmp_path / "in.csv", index=False)
    assert score_cli.main([str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.xlsx"), "--models-dir",
                           str(tiny_models_dir)]) == 0
    printed = capsys.readouterr()
    assert "1 cell(s) held control characters" in printed.out and "removed from those cells" in printed.out
    assert "to_xlsx_bytes" not in printed.out + printed.err
    rows = list(openpyxl.load_workbook(tmp_path / "o.xlsx").active.values)
    assert rows[1][:2] == ("fine film", 5)  # the CSV's stars are number cells


# ---------------------------------------------------------------------------------------------------------------------
# Files of any length: CSV scored in chunks


def write_long_csv(path, rows):
    texts = ["good film", "", "bad plot", "12345", "=1+1 great", "awful, really"]
    lines = ["id,review,note"] + [f'{i},"{texts[i % len(texts)]}",n{i}' for i in range(rows)] + [",,", ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_csv_scored_in_chunks_is_the_same_file_as_scored_whole(tiny_models_dir, tmp_path, monkeypatch, capsys):
    write_long_csv(tmp_path / "in.csv", 40)
    monkeypatch.setattr(score_cli, "STREAM_ROWS", 7)  # 6 chunks, and trailing empty rows split across two
    assert score_cli.main([str(tmp_path / "in.csv"), "--text-column", "review", "--out", str(tmp_path / "o.csv"),
                           "--models-dir", str(tiny_models_dir)]) == 0
    printed = capsys.readouterr().out
    assert "in chunks of 7 rows" in printed and "40 rows (100% of the file)" in printed
    scorer = load_scorer(model_folder.list_models(tiny_models_dir)[0].path, tiny_models_dir)
    whole = scoring.score_frame(scorer, tables.read_table(tmp_path / "in.csv"), "review")
    assert (tmp_path / "o.csv").read_bytes() == writing.to_csv_bytes(whole.frame)
    assert "Done in" in printed and f"{whole.scored.sum()} of 40 rows scored" in printed


@pytest.mark.bad_input
def test_an_interrupted_chunked_run_leaves_no_output_and_says_how_far_it_got(tiny_models_dir, tmp_path, monkeypatch,
                                                                               capsys):
    write_long_csv(tmp_path / "in.csv", 40)
    (tmp_path / "o.csv").write_text("an earlier result\n")
    monkeypatch.setattr(score_cli, "STREAM_ROWS", 10)
    original, calls = scoring.score_frame, []

    def interrupted_on_the_third_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(scoring, "score_frame", interrupted_on_the_third_chunk)
    assert score_cli.main([str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv"), "--models-dir",
                           str(tiny_models_dir)]) == 130
    err = capsys.readouterr().err
    assert "Interrupted after 19 rows." in err and "was not written" in err  # the header was the first line read
    assert (tmp_path / "o.csv").read_text() == "an earlier result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "o.csv"]  # no temporary file left behind


@pytest.mark.bad_input
def test_a_csv_too_big_for_an_xlsx_is_told_to_write_csv(tiny_models_dir, tmp_path, monkeypatch, capsys):
    write_long_csv(tmp_path / "in.csv", 40)
    monkeypatch.setattr(tables, "MAX_TABLE_BYTES", 100)
    assert score_cli.main([str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.xlsx"), "--models-dir",
                           str(tiny_models_dir)]) == 2
    assert "Write --out as .csv" in capsys.readouterr().err


def test_a_parquet_file_is_scored_in_chunks_like_the_same_rows_in_a_csv(tiny_models_dir, tmp_path, monkeypatch):
    write_long_csv(tmp_path / "in.csv", 30)
    frame = tables.read_table(tmp_path / "in.csv")
    frame.to_parquet(tmp_path / "in.parquet")
    monkeypatch.setattr(score_cli, "STREAM_ROWS", 8)
    for source in ("in.csv", "in.parquet"):
        assert score_cli.main([str(tmp_path / source), "--text-column", "review", "--out",
                               str(tmp_path / f"{source}.out.csv"), "--models-dir", str(tiny_models_dir)]) == 0
    assert (tmp_path / "in.parquet.out.csv").read_bytes() == (tmp_path / "in.csv.out.csv").read_bytes()


def test_scoring_on_a_local_ray_cluster_writes_the_same_file_as_the_plain_run(tiny_models_dir, tmp_path, monkeypatch,
                                                                              capsys):
    import ray

    write_long_csv(tmp_path / "in.csv", 40)
    monkeypatch.setattr(score_cli, "STREAM_ROWS", 9)
    common = ["--text-column", "review", "--models-dir", str(tiny_models_dir)]
    assert score_cli.main([str(tmp_path / "in.csv"), "--out", str(tmp_path / "plain.csv"), *common]) == 0
    try:
        assert score_cli.main([str(tmp_path / "in.csv"), "--out", str(tmp_path / "ray.csv"), "--engine", "ray",
                               "--workers", "2", *common]) == 0
    finally:
        ray.shutdown()
    assert (tmp_path / "ray.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
    printed = capsys.readouterr().out
    assert "on Ray (2 workers)" in printed and printed.count("Done in") == 2


@pytest.mark.bad_input
def test_ray_is_refused_for_inputs_it_does_not_stream(tiny_models_dir, tmp_path, capsys):
    write_reviews_xlsx(tmp_path / "in.xlsx")
    assert score_cli.main([str(tmp_path / "in.xlsx"), "--out", str(tmp_path / "o.csv"), "--engine", "ray",
                           "--models-dir", str(tiny_models_dir)]) == 2
    assert "--engine ray scores a .csv, .tsv or .parquet file into a .csv" in capsys.readouterr().err


LONG_REVIEWS = ["the plot was good but the acting was awful and the film ran far too long for what it had " * 4] * 5
FORTY_PIECES = " ".join(["good", "film"] * 20)  # every word in the tiny vocabulary: one piece each


def test_training_records_how_long_ninety_nine_percent_of_its_texts_are_at_most(tiny_models_dir):
    record = model_folder.read(tiny_models_dir / "tiny-sentiment").record
    # conftest.sentiment_rows: every text is five vocabulary words, so five word pieces.
    assert record.rows["lengths_in_pieces"] == {"p99": 5, "of_sampled_train_rows": record.rows["train"]}
    assert unlike.row_bound(record) == 30  # 1.5 x 5 is under the 30 pieces one row of maxlen 32 holds


def test_the_length_bound_is_one_and_a_half_times_the_ninety_ninth_percentile_and_at_least_one_row():
    lengths = unlike.training_lengths(np.arange(1, 101))  # 99th percentile of 1..100: 99.01
    assert lengths == {"p99": 100, "of_sampled_train_rows": 100}
    assert unlike.row_bound(SimpleNamespace(rows={"lengths_in_pieces": lengths}, maxlen=128)) == 150
    assert unlike.row_bound(SimpleNamespace(rows={"lengths_in_pieces": lengths}, maxlen=512)) == 510
    assert unlike.row_bound(SimpleNamespace(rows={}, maxlen=128)) is None  # before version 7, or without BERT
    assert unlike.training_lengths(np.array([])) == {}


def test_rows_far_longer_than_the_training_texts_say_so_in_their_status(tiny_models_dir, tmp_path):
    df = pd.DataFrame({"review": ["good film", FORTY_PIECES, None]})
    windows = Scorer(tiny_models_dir / "tiny-topics")  # reads all of a text, in windows; bound 30
    assert scoring.score_frame(windows, df, "review").frame["scoring_status"].tolist() == [
        "ok", "unlike training", "empty text"]
    head = Scorer(tiny_models_dir / "tiny-sentiment")  # reads the first 30 pieces; bound 30
    assert scoring.score_frame(head, df, "review").frame["scoring_status"].tolist() == [
        "ok", "truncated, unlike training", "empty text"]

    roomy = tmp_path / "roomy"  # tiny-sentiment, as if trained on texts up to 1,000 pieces: bound 1,500
    shutil.copytree(tiny_models_dir / "tiny-sentiment", roomy)
    record = json.loads((roomy / "training.json").read_text())
    record["rows"]["lengths_in_pieces"]["p99"] = 1000
    (roomy / "training.json").write_text(json.dumps(record))
    assert scoring.score_frame(Scorer(roomy), df, "review").frame["scoring_status"].tolist() == [
        "ok", "truncated", "empty text"]


def test_one_text_far_longer_than_the_training_texts_is_marked(tiny_models_dir):
    scorer = Scorer(tiny_models_dir / "tiny-topics")
    assert scoring.score_text(scorer, FORTY_PIECES).unlike_training
    assert not scoring.score_text(scorer, "good film").unlike_training


def test_a_file_is_warned_about_when_one_row_in_twenty_is_far_longer_than_the_training_texts(tiny_models_dir):
    scorer = Scorer(tiny_models_dir / "tiny-sentiment")
    one_in_20 = scoring.score_frame(scorer, pd.DataFrame({"review": [FORTY_PIECES] + ["good film"] * 19}), "review")
    assert scoring.unlike_training(scorer.info, one_in_20) == (
        "1 of 20 scored rows (5%) are far longer than the texts this model was trained on: over 30 word pieces, where "
        '99% of its training texts have at most 5. They say "unlike training" or "truncated, unlike training" in '
        "scoring_status. Their labels and probabilities may mean much less; check some by hand, or train a model on "
        "texts like these.")
    one_in_21 = scoring.score_frame(scorer, pd.DataFrame({"review": [FORTY_PIECES] + ["good film"] * 20}), "review")
    assert scoring.unlike_training(scorer.info, one_in_21) is None


def test_a_folder_without_training_lengths_is_judged_by_its_share_of_texts_longer_than_maxlen(tiny_models_dir,
                                                                                              tmp_path):
    old = tmp_path / "v6"
    shutil.copytree(tiny_models_dir / "tiny-sentiment", old)
    record = json.loads((old / "training.json").read_text())
    del record["rows"]["lengths_in_pieces"]
    (old / "training.json").write_text(json.dumps({**record, "version": 6}))
    scorer = Scorer(old)
    assert scorer.info.record.rows["longer_than_maxlen"]["share"] == 0.0
    long_file = scoring.score_frame(scorer, pd.DataFrame({"review": LONG_REVIEWS + ["good film", None, 42]}),
                                    "review")
    assert not any("unlike" in status for status in long_file.frame["scoring_status"])  # none without lengths
    assert scoring.unlike_training(scorer.info, long_file).startswith(
        "These texts are unlike the ones this model was trained on: 83% of them are longer than the 32 word pieces "
        "it reads at once, against 0% of its training texts")
    short_file = scoring.score_frame(scorer, pd.DataFrame({"review": ["good film", "awful plot, bad actor"] * 10}),
                                     "review")
    assert scoring.unlike_training(scorer.info, short_file) is None


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])  # read whole, and streamed in chunks
def test_score_py_warns_when_the_texts_are_unlike_the_training_texts(tiny_models_dir, tmp_path, capsys, suffix):
    pd.DataFrame({"review": LONG_REVIEWS}).to_csv(tmp_path / "long.csv", index=False)
    assert score_cli.main([str(tmp_path / "long.csv"), "--out", str(tmp_path / f"out{suffix}"), "--model",
                           "tiny-sentiment", "--models-dir", str(tiny_models_dir)]) == 0
    assert ("Warning: 5 of 5 scored rows (100%) are far longer than the texts this model was trained on"
            in capsys.readouterr().out)
