"""Loading saved models and the Scorer's fast path, checked against ktrain's own predictor."""
import numpy as np
import pytest

from predictor import models
from predictor.errors import UserError

TEXTS = ["good film", "", "12345", "awful " * 40, "the battery was very broken and the plot bad " * 3, "émoji 👍 ok"]


@pytest.mark.parametrize("name", ["tiny-sentiment", "tiny-topics"])
def test_scorer_matches_ktrain_predictor_and_counts_tokens_once(tiny_models_dir, name):
    import ktrain

    scorer = models.load_scorer(name, tiny_models_dir)
    reference = ktrain.load_predictor(str(tiny_models_dir / name))

    probabilities, counts = scorer.score_batch(TEXTS, batch_size=4)

    ids = reference.preproc.preprocess_test(TEXTS, verbose=0)[0][0]
    assert np.array_equal([scorer.encode(t)[0] for t in TEXTS], ids)
    np.testing.assert_allclose(probabilities, reference.predict(TEXTS, return_proba=True), atol=1e-6)
    assert counts.tolist() == [scorer.token_count(t) for t in TEXTS]
    assert counts[3] > scorer.info.maxlen >= counts[0]


def test_models_are_listed_newest_first_and_loaded_only_from_the_models_folder(tiny_models_dir, tmp_path):
    assert [info.name for info in models.list_models(tiny_models_dir)] == ["tiny-topics", "tiny-sentiment"]
    (tiny_models_dir / ".half-written").mkdir(exist_ok=True)
    assert ".half-written" not in [info.name for info in models.list_models(tiny_models_dir)]
    for outside in [tmp_path, tiny_models_dir / ".." / "elsewhere", "../x"]:
        with pytest.raises(UserError, match="only loaded from"):
            models.model_dir_inside(outside, tiny_models_dir)
