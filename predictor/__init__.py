"""Shared logic of train.py and app.py: tables, BERT weights, training, saved models, scoring."""
from predictor import tf_setup  # noqa: F401  (must run before anything imports TensorFlow or ktrain)
