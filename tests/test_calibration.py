"""Temperature calibration and its error measure (predictor/calibration.py), against known answers."""
import numpy as np
import pytest

from predictor import calibration


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_the_fitted_temperature_is_the_one_that_made_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (20_000, 3))
    truth = np.array([rng.choice(3, p=p) for p in softmax(logits / 2.0)])  # labels drawn at temperature 2
    [temperature] = calibration.fit(truth, softmax(logits), multilabel=False)  # the model states temperature 1
    assert temperature == pytest.approx(2.0, rel=0.05)


def test_each_label_of_a_multilabel_model_gets_its_own_temperature():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (20_000, 2))
    truth = (rng.random((20_000, 2)) < 1 / (1 + np.exp(-logits / np.array([0.5, 3.0])))).astype(int)
    fitted = calibration.fit(truth, 1 / (1 + np.exp(-logits)), multilabel=True)
    assert fitted == pytest.approx([0.5, 3.0], rel=0.08)


def test_calibration_changes_no_label_and_no_temperature_changes_nothing():
    rng = np.random.default_rng(2)
    single = softmax(rng.normal(0, 2, (500, 4)))
    assert (calibration.apply(single, [3.7], False).argmax(axis=1) == single.argmax(axis=1)).all()
    several = rng.random((500, 3))
    assert ((calibration.apply(several, [0.3, 2.0, 9.0], True) >= 0.5) == (several >= 0.5)).all()
    assert calibration.apply(single, calibration.NONE, False) is single


def test_expected_calibration_error_by_hand():
    # Confidences 0.95, 0.95 (one right) and 0.55, 0.55 (both right): gaps of 0.45 in two bins of two rows each.
    probabilities = np.array([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45], [0.45, 0.55]])
    assert calibration.expected_calibration_error(np.array([0, 1, 0, 1]), probabilities, False) == pytest.approx(0.45)
    # Multi-label: every (text, label) pair; probabilities 0.8 that came true 3 times in 4: a gap of 0.05.
    assert calibration.expected_calibration_error(np.array([[1, 1], [1, 0]]), np.full((2, 2), 0.8), True) == (
        pytest.approx(0.05))
    bins = calibration.reliability(np.array([0, 1, 0, 1]), probabilities, False)
    assert bins == [{"confidence": pytest.approx(0.55), "observed": 1.0, "rows": 2},
                    {"confidence": pytest.approx(0.95), "observed": 0.5, "rows": 2}]
