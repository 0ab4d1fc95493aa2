"""train.py --unlabelled: reviews without labels read, checked and learnt from by self-training."""
import numpy as np
import pandas as pd
import pytest

from conftest import read_json, sentiment_rows, topic_rows, train_logged, train_tiny, TOPIC_WORDS
from predictor import dataset, model_folder, nbsvm, unlabelled
from predictor.errors import UserError
from train import main


def test_the_surest_reviews_of_each_label_join_in_the_same_share():
    texts = [f"review {i}" for i in range(8)]
    # Six reviews given "bad" (sure: 0.9, 0.8, 0.7, 0.6, 0.55, 0.51), two given "good" (0.95, 0.6).
    bad = np.array([0.9, 0.8, 0.05, 0.7, 0.6, 0.4, 0.55, 0.51])
    probabilities = np.stack([bad, 1 - bad], axis=1)

    rows = unlabelled.pseudo_labelled(texts, probabilities, ["bad", "good"], share=0.5)

    assert rows[dataset.TEXT].tolist() == ["review 0", "review 1", "review 2", "review 3"]
    assert rows[dataset.LABEL].tolist() == ["bad", "bad", "good", "bad"]


def test_the_pool_leaves_out_labelled_texts_repeats_and_cells_without_text_and_counts_each(tmp_path):
    pd.DataFrame({"review": ["new one", "in the labels", "new one", 12345, None, "another <br />one"],
                  "sentiment": [None] * 6}).to_csv(tmp_path / "pool.csv", index=False)

    pool = unlabelled.read_pool(tmp_path / "pool.csv", "review", ["sentiment"], {"in the labels"}, "html")

    assert pool.texts == ["new one", "another\none"]  # HTML handled as in training
    assert pool.counts == {"read": 6, "dropped": {"not text (no letters)": 1, "empty text": 1},
                           "in_labelled_rows": 1, "repeated": 1, "kept": 2}


@pytest.mark.bad_input
def test_an_unlabelled_file_that_holds_labels_is_refused_saying_where_labelled_rows_belong(tmp_path):
    sentiment_rows(3).to_csv(tmp_path / "pool.csv", index=False)

    with pytest.raises(UserError, match=r"pool.csv holds labels in column 'sentiment'.*--data"):
        unlabelled.read_pool(tmp_path / "pool.csv", "review", ["sentiment"], set(), "html")


@pytest.mark.bad_input
@pytest.mark.parametrize("cells, why", [(["12", None, "---"], "no review to learn from"),
                                        (None, "no text column 'review'")])
def test_an_unlabelled_file_with_nothing_to_learn_from_says_what_is_wrong(tmp_path, cells, why):
    frame = pd.DataFrame({"review": cells} if cells else {"comment": ["a fine film"]})
    frame.to_csv(tmp_path / "pool.csv", index=False)

    with pytest.raises(UserError, match=why):
        unlabelled.read_pool(tmp_path / "pool.csv", "review", ["sentiment"], set(), "html")


@pytest.mark.bad_input
def test_unlabelled_reviews_with_multi_label_data_are_refused_before_training(tiny_bert_dir, tmp_path, capsys):
    topic_rows(20).to_csv(tmp_path / "topics.csv", index=False)
    pd.DataFrame({"text": ["battery and screen"]}).to_csv(tmp_path / "pool.csv", index=False)
    labels = [arg for topic in TOPIC_WORDS for arg in ("--label-column", topic)]

    assert train_tiny(main, tiny_bert_dir, tmp_path / "topics.csv", tmp_path / "model", "--text-column", "text",
                      *labels, "--unlabelled", str(tmp_path / "pool.csv")) == 2

    assert "--unlabelled works with single-label data" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()


def test_unlabelled_reviews_with_bert_alone_are_refused_before_training_saying_what_to_use(tiny_bert_dir, tmp_path,
                                                                                          capsys):
    sentiment_rows(6).to_csv(tmp_path / "reviews.csv", index=False)
    sentiment_rows(4, seed=1)[["review"]].to_csv(tmp_path / "pool.csv", index=False)

    assert train_tiny(main, tiny_bert_dir, tmp_path / "reviews.csv", tmp_path / "model", "--text-column", "review",
                      "--label-column", "sentiment", "--classifier", "bert", "--unlabelled",
                      str(tmp_path / "pool.csv")) == 2

    assert "--classifier hybrid (the default) or nbsvm" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()


def test_self_training_trains_nbsvm_again_on_the_surest_reviews_and_records_it(tiny_bert_dir, tmp_path):
    sentiment_rows(12).to_csv(tmp_path / "reviews.csv", index=False)
    pool = sentiment_rows(20, seed=1)[["review"]]
    pool["review"] += " zebra"  # a word no labelled row has
    pool.to_csv(tmp_path / "pool.csv", index=False)
    out = tmp_path / "model"

    printed = train_logged(main, tiny_bert_dir, tmp_path / "reviews.csv", out, "--text-column", "review",
                           "--label-column", "sentiment", "--epochs", "1", "--unlabelled", str(tmp_path / "pool.csv"))

    record = read_json(out / "training.json")
    learnt = record["self_training"]
    kept = learnt["unlabelled_rows"]["kept"]
    assert 0 < kept <= len(pool)
    assert learnt["joined"] == sum(learnt["joined_by_label"].values())
    assert abs(learnt["joined"] - kept * unlabelled.SHARE) <= len(learnt["joined_by_label"])  # rounding per label
    assert record["rows"]["train"] == 36 - record["rows"]["validation"]  # BERT: the 36 labelled rows less validation
    assert learnt["nbsvm_rows"] == record["rows"]["train"] + learnt["joined"]
    assert "training NBSVM again on all" in printed
    # The NBSVM saved is the one trained again: it knows the word only the joined reviews have.
    assert len(nbsvm.NbsvmArrays(out / "nbsvm" / nbsvm.FILE).ids("zebra")) == 1
    assert record["durations_s"]["label_unlabelled"] > 0 and record["durations_s"]["fit_nbsvm_again"] > 0
    said = model_folder.read(out).record.learnt_from_text()
    assert said == (f"{record['rows']['train']} labelled reviews; NBSVM also from {learnt['joined']} of {kept} "
                    "unlabelled reviews, labelled by the model trained on those (self-training)")


def test_a_model_without_unlabelled_reviews_says_it_learnt_from_its_labelled_rows(tiny_models):
    record = model_folder.read(tiny_models.root / "tiny-sentiment").record

    assert record.learnt_from_text() == f"{record.rows['train']} labelled reviews"
