"""TensorFlow and ktrain quirks, applied once before either is imported (predictor/__init__ imports this first)."""
import os
import sys

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    raise RuntimeError("import predictor before tensorflow: ktrain needs TF_USE_LEGACY_KERAS=1 set before TF loads")

# ktrain is written for Keras 2; TF >= 2.16 ships Keras 3 unless told to use tf_keras.
os.environ["TF_USE_LEGACY_KERAS"] = "1"
# TensorFlow's C++ start-up chatter (CPU feature notes, cuda probes) hides our own messages.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Nothing here should ever phone home; the offline path must behave the same with or without a network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import numpy as np  # noqa: E402

# ktrain's one-cycle schedule uses np.Inf, which NumPy 2 removed.
if not hasattr(np, "Inf"):
    np.Inf = np.inf
