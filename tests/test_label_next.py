"""Rows worth labelling next (predictor/label_next.py) and the page's list of them."""
import numpy as np
import pandas as pd

from predictor import label_next, scoring
from predictor.thresholds import Thresholds

from test_app import own_models, score_upload, use_model  # noqa: F401  (the page on copied models, its helpers)
from predictor.corrections import CorrectionsStore, store_path


def scored_by_hand(texts, positive, statuses=None):
    """A scored single-label table with the given probability of "positive" per row (no model involved)."""
    frame = pd.DataFrame({"review": texts})
    table = scoring.scored_table(frame, ["review"], "review", ["negative", "positive"], False,
                                 Thresholds.uniform(0.5, ["negative", "positive"]), "by-hand")
    p = np.array(positive, dtype=float)
    frame[table.label_column] = np.where(p >= 0.5, "positive", "negative")
    frame[table.probability_columns["negative"]] = 1 - p
    frame[table.probability_columns["positive"]] = p
    frame[table.status_column] = statuses or ["ok"] * len(texts)
    return table


def test_the_least_sure_rows_come_first_and_rows_not_scored_never():
    table = scored_by_hand(["great phone", "awful battery", "fine screen", "slow delivery", ""],
                           [0.99, 0.05, 0.55, 0.40, np.nan], ["ok", "ok", "ok", "ok", "empty text"])
    # How sure: 0.99, 0.95, 0.55, 0.60 (the winning class's probability).
    assert label_next.propose(table, 3, by_label=False) == [2, 3, 1]
    assert label_next.propose(table, 10, by_label=False) == [2, 3, 1, 0]
    assert label_next.propose(table, 3) == [2, 3, 0]  # the default: positive, negative, positive


def test_a_row_much_like_one_already_proposed_waits_until_the_unlike_ones_are_taken():
    texts = ["the battery died after a day", "the battery died after one day", "delivery was late and rude",
             "screen cracked"]
    table = scored_by_hand(texts, [0.50, 0.51, 0.60, 0.90])  # least sure first: rows 0, 1, 2, 3
    assert label_next.propose(table, 3, by_label=False) == [0, 2, 3]  # row 1 rewords row 0
    assert label_next.propose(table, 4, by_label=False) == [0, 2, 3, 1]  # and comes back when nothing else is left


def test_by_label_each_predicted_label_gives_its_least_sure_row_in_turn():
    table = scored_by_hand(["a b", "c d", "e f", "g h", "i j"], [0.55, 0.56, 0.57, 0.45, 0.30])
    # Least sure first: 0 (0.55), 3 (0.55), 1, 2, 4; predicted: positive 0, 1, 2; negative 3, 4.
    assert label_next.propose(table, 5, by_label=False) == [0, 3, 1, 2, 4]
    assert label_next.propose(table, 5, by_label=True) == [0, 3, 1, 4, 2]
    assert label_next.in_turn(np.array([2, 0, 1]), np.array(["x", "y", "y"])) == [2, 0, 1]


def test_bags_of_words_compare_wording_not_order_or_case():
    assert abs(label_next.bag_of_words("Battery died") @ label_next.bag_of_words("died battery") - 1.0) < 1e-12
    assert label_next.bag_of_words("battery died") @ label_next.bag_of_words("screen cracked") == 0.0
    assert not label_next.bag_of_words("!!! ...").any()


def test_the_page_lists_rows_to_label_next_and_stores_the_labels_given_as_proposed_by_the_queue(own_models):  # noqa: F811
    app, root = own_models
    use_model(app, "tiny-sentiment")
    score_upload(app, "pool.csv", b"id,review\n1,good film\n2,bad plot\n3,plain price\n4,\n5,great actor\n")
    assert app.button(key="save_label_next").disabled  # nothing labelled yet
    shown_rows = app.session_state["label_next_rows"]
    assert shown_rows == label_next.DEFAULT_ROWS
    proposed = label_next.propose(app.session_state["bulk_result"]["scored"], shown_rows)
    assert sorted(proposed) == [0, 1, 2, 4]  # every scored row of a small file; the empty one never

    app.session_state["label_next_editor"] = {"edited_rows": {0: {"label": "neutral"}}, "added_rows": [],
                                              "deleted_rows": []}
    app.run()
    app.button(key="save_label_next").click().run()
    assert not app.exception and not app.error
    stored = CorrectionsStore(store_path(root)).for_model("tiny-sentiment")
    texts = ["good film", "bad plot", "plain price", None, "great actor"]
    assert stored[["text", "corrected_label", "source_file", "source_row", "suggested_by"]].values.tolist() == [
        [texts[proposed[0]], "neutral", "pool.csv", proposed[0] + 1, "label next"]]
