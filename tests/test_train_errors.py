"""Every bad input to train.py ends in one clear message and exit code 2, before any training starts."""
import pandas as pd
import pytest

from conftest import sentiment_rows
from train import main

pytestmark = pytest.mark.bad_input  # every test here is a careless or hostile input


def write(df, path):
    if path.suffix == ".xlsx":
        df.to_excel(path, sheet_name="reviews", index=False)
    else:
        df.to_csv(path, index=False)
    return path


def run_train(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.err


GOOD = sentiment_rows(4)
COLS = ["--text-column", "review", "--label-column", "sentiment"]


def case_missing_file(tmp):
    return [tmp / "nowhere.csv", *COLS], ["nowhere.csv", "Check the path"]


def case_unsupported_extension(tmp):
    (tmp / "reviews.json").write_text("{}")
    return [tmp / "reviews.json", *COLS], [".json", ".csv, .tsv, .xlsx"]


def case_corrupt_excel(tmp):
    good = write(GOOD, tmp / "good.xlsx").read_bytes()
    (tmp / "reviews.xlsx").write_bytes(good[: len(good) // 2])
    return [tmp / "reviews.xlsx", *COLS], ["corrupt"]


def case_text_renamed_excel(tmp):
    (tmp / "reviews.xlsx").write_text("review,sentiment\nfine,positive\n")
    return [tmp / "reviews.xlsx", *COLS], ["not a valid Excel workbook"]


def case_missing_sheet(tmp):
    return [write(GOOD, tmp / "reviews.xlsx"), "--sheet", "Sheet9", *COLS], ['no sheet named "Sheet9"', "reviews"]


def case_missing_text_column(tmp):
    return ([write(GOOD, tmp / "r.csv"), "--text-column", "body", "--label-column", "sentiment"],
            ["no text column 'body'", "review, sentiment"])


def case_missing_label_column(tmp):
    return ([write(GOOD, tmp / "r.csv"), "--text-column", "review", "--label-column", "stars"],
            ["no label column 'stars'", "review, sentiment"])


def case_one_class(tmp):
    return [write(GOOD.assign(sentiment="positive"), tmp / "r.csv"), *COLS], ["only one class", "'positive'"]


def case_class_too_rare(tmp):
    rows = pd.concat([GOOD, pd.DataFrame([{"review": "meh", "sentiment": "mixed"}])])
    return [write(rows, tmp / "r.csv"), *COLS], ["'mixed' (1 row)", "at least 2"]


def case_all_empty_text(tmp):
    return [write(GOOD.assign(review=""), tmp / "r.csv"), *COLS], ["Every cell of the text column 'review'"]


def case_header_only(tmp):
    (tmp / "r.csv").write_text("review,sentiment\n")
    return [tmp / "r.csv", *COLS], ["header but no rows"]


def case_non_binary_multilabel(tmp):
    rows = pd.DataFrame({"review": ["a", "b", "c", "d"], "price": [0, 1, 2, 0], "delivery": [1, 0, 1, "yes"]})
    return ([write(rows, tmp / "r.csv"), "--text-column", "review", "--label-column", "price",
             "--label-column", "delivery"],
            ["must hold only 0 or 1", "'price'", "row 4: '2'"])


def case_maxlen_too_long(tmp):
    return [write(GOOD, tmp / "r.csv"), "--maxlen", "513", *COLS], ["--maxlen 513", "at most 512"]


def case_bad_learning_rate(tmp):
    return [write(GOOD, tmp / "r.csv"), "--lr", "fast", *COLS], ["--lr must be a number"]


def case_bert_base_without_network(tmp):
    return [write(GOOD, tmp / "r.csv"), "--bert", "bert-base-uncased", *COLS], ["cannot reach", "--bert offline"]


def case_bert_dir_incomplete(tmp):
    (tmp / "bert").mkdir()
    (tmp / "bert" / "vocab.txt").write_text("[PAD]\n")
    return [write(GOOD, tmp / "r.csv"), "--bert-dir", tmp / "bert", *COLS], ["missing bert_config.json"]


def case_out_exists(tmp):
    (tmp / "model").mkdir()
    return [write(GOOD, tmp / "r.csv"), "--out", tmp / "model", *COLS], ["already exists", "--force"]


def case_out_is_not_a_model(tmp):
    (tmp / "docs").mkdir()
    (tmp / "docs" / "thesis.docx").write_text("precious")
    return [write(GOOD, tmp / "r.csv"), "--out", tmp / "docs", "--force", *COLS], ["not a model folder"]


def case_bert_weight_out_of_range(tmp):
    return [write(GOOD, tmp / "r.csv"), "--bert-weight", "1.5", *COLS], ["--bert-weight 1.5", "from 0 to 1"]


def case_bert_weight_without_a_hybrid(tmp):
    return ([write(GOOD, tmp / "r.csv"), "--classifier", "bert", "--bert-weight", "0.5", *COLS],
            ["--bert-weight 0.5 needs --classifier hybrid"])


def case_no_columns_named_for_own_data(tmp):
    return [write(GOOD, tmp / "r.csv"), "--text-column", "review"], ["--label-column COL"]


CASES = [value for name, value in sorted(globals().items()) if name.startswith("case_")]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__.removeprefix("case_"))
def test_bad_input_gets_one_clear_message(case, tmp_path, capsys):
    args, phrases = case(tmp_path)

    code, err = run_train(capsys, "--data", *args)

    assert code == 2
    assert "Traceback" not in err
    for phrase in phrases:
        assert phrase in err, f"{phrase!r} not in: {err}"
    if case is case_out_is_not_a_model:
        assert (tmp_path / "docs" / "thesis.docx").read_text() == "precious"
