"""HTML in reviews becomes the text a reader sees, the same way at training and at scoring."""
import numpy as np
import pytest

from conftest import read_json
from predictor import markup
from predictor.scorer import load_scorer


@pytest.mark.bad_input
@pytest.mark.parametrize("written, read", [
    ("Great film.<br /><br />The plot was good.", "Great film.\nThe plot was good."),
    ("<p>Loved it</p><p>Would watch again</p>", "Loved it\nWould watch again"),
    ("<b>Bold</b> and <i class='x'>italic</i> &amp; &quot;quoted&quot; &#233;t&eacute;",
     'Bold and italic & "quoted" été'),
    ("before<script>alert(1)</script>after<style>p {}</style>!", "before after !"),
    ("a <!-- hidden --> b", "a b"),
    ("&lt;b&gt; is how you write bold", "<b> is how you write bold"),
])
def test_html_becomes_the_text_a_reader_of_the_page_sees(written, read):
    assert markup.to_text(written) == read


@pytest.mark.parametrize("text", ["a < b and c > d", "I <3 this phone", "<<great>> value", "x<y", "5 > 3 & 2 < 4",
                                  "R&D team", "plain\n\ntext  with   spaces", "", "emoji 👍 and עברית"])
def test_text_without_markup_is_left_exactly_as_written(text):
    assert markup.to_text(text) == text


def test_keep_leaves_even_markup_as_written():
    assert markup.to_text("a<br />b", markup.KEEP) == "a<br />b"


def test_a_model_records_its_markup_handling_and_applies_it_when_scoring(tiny_models_dir):
    assert read_json(tiny_models_dir / "tiny-topics" / "training.json")["markup"] == markup.HTML
    scorer = load_scorer("tiny-topics", tiny_models_dir)
    with_markup = scorer.score_batch(["the <b>battery</b> was broken<br /><br />awful &amp; bad"])
    as_read = scorer.score_batch(["the battery was broken\nawful & bad"])
    np.testing.assert_array_equal(with_markup.probabilities, as_read.probabilities)
    assert with_markup.piece_counts[0] == as_read.piece_counts[0]  # tags spend none of BERT's word pieces
