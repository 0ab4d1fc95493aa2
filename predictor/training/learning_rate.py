"""BERT's learning rate: ktrain's lr_find on a budget of batches, its suggestion kept inside the band where
small BERTs train (bench/results/lr_sweep.json), and its plot.
"""
import math
import warnings
from pathlib import Path

import numpy as np

from predictor import model_folder
from predictor.training.evaluation import _float
from predictor.training.progress import quiet


# lr_find sweeps from 1e-7 upwards one batch at a time: at most LR_FIND_BATCHES batches (more would cost more than
# the training itself on a large dataset), and no more than half the batches the fit itself will run, but at least
# LR_FIND_MIN_BATCHES: on the bundled sample (4 epochs of 10 batches) 20 batches instead of 64. Whatever it
# suggests, the rate used stays in LR_BAND (python -m bench.lr_budget shows the suggestions at each budget).
LR_FIND_BATCHES = 64
LR_FIND_MIN_BATCHES = 16
# Where MiniLM trains well (bench/results/lr_sweep.json, validation rows of IMDB 2k and TREC 1k, one seed each): 1e-4
# and 2e-4 were within 2 points of the best fixed rate on both (IMDB 0.800 / 0.810, best 0.810; TREC 0.92 / 0.93,
# best 0.93); 5e-5 was on IMDB (0.795) but not on TREC (0.90), 2e-5 on neither (and 1e-5 left a kept-back set at 67%,
# issue 8). An lr_find suggestion outside it is not trusted.
LR_BAND = (1e-4, 2e-4)
FALLBACK_LR = 1e-4  # the rate every benchmark model since issue 8 fell back to; good on both sweep sets


def find_learning_rate(model: object, trn: tuple, batch_size: int, batches: int, seed: int, plot_dir: Path) -> dict:
    """ktrain's lr_find on at most `batches` batches of the training rows; how the rate was chosen.

    The sweep runs on `model` itself and leaves it as it found it: ktrain restores its weights and we zero Adam's
    state, so fit_onecycle then starts exactly as on a fresh model, with the training step lr_find traced (ktrain's
    default instead saves the whole model and loads a copy, which fit_onecycle must trace again: 9 s and some 300 MB
    on the sample).
    """
    import ktrain

    (ids, segments), y = trn
    rows = min(len(y), batches * batch_size)
    pick = np.random.default_rng(seed).permutation(len(y))[:rows]
    finder = ktrain.get_learner(model, train_data=([ids[pick], segments[pick]], y[pick]), batch_size=batch_size)
    # Whole epochs only, so stay at or under the batch budget rather than overshoot it by up to an epoch.
    # Its own epoch bars and hints mean nothing to our users, nor its warning that a sweep this short has too few
    # points for the numerical-gradient estimate (which we record as None and never use).
    with quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finder.lr_find(max_epochs=max(1, batches // math.ceil(rows / batch_size)), restore_weights_only=True,
                       verbose=0)
    if not finder.lr_finder.find_called():
        raise KeyboardInterrupt  # ktrain swallows Ctrl-C inside lr_find; honour it
    reset_optimizer(model)
    with quiet():
        min_gradient, min_loss_over_10, valley = finder.lr_estimate()
    lr = choose_rate(min_loss_over_10)
    lr["estimates"] = {"min_numerical_gradient": _float(min_gradient), "min_loss_div_10": _float(min_loss_over_10),
                       "longest_valley": _float(valley)}
    lr["batches"] = len(finder.lr_finder.lrs)
    save_lr_plot(finder, lr["chosen"], plot_dir / model_folder.LR_PLOT_FILE)
    return lr


def lr_find_batches(rows: int, batch_size: int, epochs: int) -> int:
    """How many batches lr_find sweeps for `epochs` of `rows` training rows (see LR_FIND_BATCHES)."""
    fit_batches = epochs * math.ceil(rows / batch_size)
    return min(LR_FIND_BATCHES, max(LR_FIND_MIN_BATCHES, fit_batches // 2))


def reset_optimizer(model: object) -> None:
    """Adam's step count and moments back to zero: the state of a freshly compiled optimizer, on the same variables,
    so the traced training step stays valid."""
    for variable in model.optimizer.variables():
        variable.assign(np.zeros(variable.shape, variable.dtype.as_numpy_dtype))


def choose_rate(suggestion: float | None) -> dict:
    """lr_find's "min loss / 10" when it lies in LR_BAND, else FALLBACK_LR, saying which and why with this run's
    figures."""
    band = f"{LR_BAND[0]:.0e}..{LR_BAND[1]:.0e}"
    if suggestion is None or not np.isfinite(suggestion):
        return {"chosen": FALLBACK_LR, "source": "fallback: lr_find gave no suggestion",
                "why": f"lr_find's loss curve gave no 'min loss / 10' estimate, so the measured default "
                       f"{FALLBACK_LR:.0e} is used"}
    if not LR_BAND[0] <= suggestion <= LR_BAND[1]:
        return {"chosen": FALLBACK_LR, "source": "fallback: lr_find's suggestion outside the band",
                "why": f"lr_find's 'min loss / 10' was {suggestion:.1e}, outside {band} where small BERTs train, "
                       f"so the measured default {FALLBACK_LR:.0e} is used"}
    return {"chosen": float(suggestion), "source": "lr_find: min loss / 10",
            "why": f"lr_find's 'min loss / 10' was {suggestion:.1e}, inside {band} where small BERTs train"}


def save_lr_plot(finder: object, chosen: float, path: Path) -> None:
    """ktrain's loss-vs-rate curve (its suggestions in red and purple) with the rate we chose as a green line."""
    import matplotlib.pyplot as plt

    with quiet():  # it prints its suggestions, which we report our own way
        figure = finder.lr_plot(suggest=True, return_fig=True)
    axes = figure.axes[0]
    axes.axvline(chosen, color="green", linestyle="--")
    axes.set_title(f"lr_find: chosen rate {chosen:.1e} (green); ktrain's valley (red), min gradient (purple)",
                   fontsize=9)
    figure.savefig(path, dpi=100)
    plt.close(figure)
