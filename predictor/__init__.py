"""Shared logic of train.py, score.py and the page (app.py, ui/), with one rule between its halves: training imports
TensorFlow and ktrain, scoring never does (tests/test_lean.py scores in a fresh process and checks).

Scoring: scorer.py (a saved model opened for scoring) holds models.py's Model (its members through bert/tokenizer.py,
bert/runtime.py and nbsvm.py, blended by hybrid.py, calibrated by calibration.py); scoring.py scores texts and
tables, explain.py says why, thresholds.py, unlike.py, markup.py and cells.py decide the rest.
Training: training/ (train.py's run), with dataset.py, bert/pretrained.py, bert/graph.py, ktrain_nbsvm.py, device.py
and metrics.py. Labels: corrections/, audit.py, label_next.py, unlabelled.py. Files: tables/, model_folder.py,
atomic.py, worker.py. README's layout says what each holds.
"""
from predictor import tf_setup  # noqa: F401  (must run before anything imports TensorFlow or ktrain)
