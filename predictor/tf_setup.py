"""TensorFlow and ktrain quirks, applied once before either is imported (predictor/__init__ imports this first)."""
import contextlib
import importlib.abc
import importlib.util
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

import warnings  # noqa: E402

import numpy as np  # noqa: E402

# ktrain's one-cycle schedule uses np.Inf, which NumPy 2 removed.
if not hasattr(np, "Inf"):
    np.Inf = np.inf

# tf_keras warns on every build and load of ktrain's classifier head (its initializer is seeded through
# set_random_seed when we train), and on every .h5 save (lr_find's checkpoint, predictor.save: .h5 is what
# ktrain.load_predictor reads). Nothing a user can act on.
warnings.filterwarnings("ignore", message="The initializer GlorotNormal is unseeded")
warnings.filterwarnings("ignore", message="You are saving your model as an HDF5 file")


@contextlib.contextmanager
def _stderr_silenced():
    """Point file descriptor 2 at the null device: C++ code writes there directly, past Python's sys.stderr."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with _stderr_silenced():
            self._loader.exec_module(module)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """TensorFlow's C++ core announces oneDNN and the missing CUDA drivers on stderr while it loads, before it reads
    TF_CPP_MIN_LOG_LEVEL ("All log messages before absl::InitializeLog() is called are written to STDERR"): four lines
    a newcomer cannot act on, at the top of every run. Its first import runs with stderr silenced; a failed import
    still raises as usual, and the device in use is printed by train.py itself."""

    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once, and without finding ourselves again
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


if "tensorflow" not in sys.modules and os.environ.get("PREDICTOR_TF_STARTUP_LOGS") != "1":
    sys.meta_path.insert(0, _QuietTensorFlowImport())


def keras_input_without_autotune() -> None:
    """Keras feeds NumPy arrays to fit and evaluate through tf.data with autotuning on. Deleting such an iterator
    waits for tf.data's autotuning thread to wake up (RootDataset::Iterator's destructor, seen with gdb): at the end
    of every fit_onecycle, lr_find and Keras' per-epoch validation, 0 to 5 s with no CPU used, 19 s of a 41 s fit on
    the sample. Keras' arrays are small and already in memory, so their pipeline gains nothing from autotuning: it is
    turned off for them. Call after TensorFlow is imported (training does, before fitting)."""
    import tensorflow as tf
    from tf_keras.src.engine import data_adapter

    adapter = data_adapter.TensorLikeDataAdapter
    if getattr(adapter, "_autotune_off", False):
        return
    original = adapter.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        options = tf.data.Options()
        options.autotune.enabled = False
        self._dataset = self._dataset.with_options(options)

    adapter.__init__, adapter._autotune_off = __init__, True
