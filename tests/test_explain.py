"""Why a review got its label: occlusion weights on the tiny real models (predictor/explain.py)."""
import numpy as np
import pytest

from predictor import explain, models
from predictor.scorer import load_scorer
from predictor.models import Model

LONG = "the battery was very broken and the screen plot bad " * 8  # read over several windows at maxlen 32


@pytest.fixture(scope="module")
def topics(tiny_models_dir):
    return load_scorer("tiny-topics", tiny_models_dir)


def test_each_phrase_weighs_what_the_probability_loses_without_it(topics):
    # NBSVM alone: leaving a phrase out is exactly scoring the text without it.
    nbsvm_only = Model(topics.classes, True, None, topics.model.nbsvm, [0.0], topics.model.markup)
    text = "the battery broke but the screen is fine"
    explanation = explain.explain(nbsvm_only, text, "battery")
    assert [text[p.start:p.end] for p in explanation.phrases] == text.split()
    without = [" ".join(text.split()[:i] + text.split()[i + 1:]) for i in range(len(text.split()))]
    column = topics.classes.index("battery")
    scores = nbsvm_only.score([text] + without).probabilities[:, column]
    assert explanation.probability == pytest.approx(scores[0])
    np.testing.assert_allclose([p.weight for p in explanation.phrases], scores[0] - scores[1:], atol=1e-6)
    assert explanation.strongest(1)[0].start == text.index("battery")  # the word the label is about


def test_every_phrase_of_a_long_review_weighs_what_the_whole_model_loses_without_it(topics):
    """Brute force through the scoring path (both members, the blend, the model's windows and overlap): each text
    without one phrase, scored as any text is."""
    explanation = explain.explain_with_scorer(topics, LONG, "screen")
    bert, column = topics.model.bert, topics.classes.index("screen")
    assert len(bert.encode(LONG).ids) > 2  # read over several windows
    without = [LONG[:p.start].rstrip() + " " + LONG[p.end:].lstrip() for p in explanation.phrases]
    scores = topics.model.score([LONG] + without).probabilities[:, column]
    assert explanation.probability == pytest.approx(scores[0], abs=1e-6)
    np.testing.assert_allclose([p.weight for p in explanation.phrases], scores[0] - scores[1:], atol=1e-5)


@pytest.mark.parametrize("text", [LONG, "awful plot\fgood film", "the battery\fbroke but the screen was fine"])
def test_the_model_scores_a_text_without_each_span_as_it_scores_each_variant_text(topics, text):
    """Model.score_without against scoring each variant as any text is scored, both members blended. In the last two
    texts BERT's tokenizer joins words across a span's edge (a form feed is white space to Python, dropped by BERT),
    so BERT tokenizes each variant instead of removing the span's pieces; in the last the joined word has as many
    pieces as its two words apart ("##b" for "b"), so counting pieces cannot tell."""
    assert_scored_as_variant_texts(topics.model, text, explain.phrases(text))


@pytest.mark.parametrize("text, spans", [("the battery broke", [(4, 11), (0, 3)]), ("the battery broke", [(4, 17)]),
                                         ("the battery the", [(0, 11), (0, 3)])])
def test_spans_that_do_not_cover_the_text_in_order_are_scored_as_the_variant_texts(topics, text, spans):
    # Out of order, not covering "the", overlapping: removing the spans' pieces would be wrong. In the last, the spans'
    # pieces in a row are the text's ("the battery" + "the"), so only their places tell.
    assert_scored_as_variant_texts(topics.model, text, spans)


def assert_scored_as_variant_texts(model, text, spans):
    variants = [models.without(text, span) for span in spans]
    expected = model.score([text] + variants).probabilities
    np.testing.assert_allclose(model.score_without(text, spans), expected, atol=1e-5)


def test_words_a_model_reading_the_head_never_reads_weigh_nothing(tiny_models_dir):
    sentiment = load_scorer("tiny-sentiment", tiny_models_dir)  # BERT alone, reading the first 30 pieces
    # Not periodic at the start: leaving out the first phrase changes what the head holds.
    text = "awful plot " + "good film " * 40 + "awful awful awful"
    explanation = explain.explain_with_scorer(sentiment, text, "negative")
    assert explanation.phrases[-1].weight == 0.0 and explanation.phrases[0].weight != 0.0


def test_a_long_review_is_cut_into_at_most_max_phrases_covering_every_word(topics):
    text = " ".join(f"w{i}" for i in range(300))
    spans = explain.phrases(text)
    assert len(spans) <= explain.MAX_PHRASES and spans[0][0] == 0 and spans[-1][1] == len(text)
    assert " ".join(text[s:e] for s, e in spans) == text


def test_every_label_of_a_multilabel_model_can_be_explained_and_markup_is_read_as_the_model_reads_it(topics):
    for label in topics.classes:
        explanation = explain.explain_with_scorer(topics, "the <b>battery</b> and the screen<br />broke", label)
        assert explanation.label == label and explanation.text == "the battery and the screen\nbroke"
        assert len(explanation.phrases) == 6 and "occlusion" in explanation.method
