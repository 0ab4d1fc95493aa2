"""Saying what a long run is doing: the time each step took, progress within BERT's epochs, a line while a silent
step is still going, and the libraries' own chatter silenced.
"""
import contextlib
import datetime as dt
import io
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator


PROGRESS_EVERY_S = 30  # how often train.py says where BERT's training is, within an epoch
# How often train.py says that a step with no figures of its own to report (the learning-rate search, saving BERT) is
# still going: each takes half a minute or more on the sample, and that long a silence looks like a hang.
STILL_EVERY_S = 10


@dataclass
class Stopwatch:
    """How long each step took, for training.json and the closing summary."""

    durations_s: dict = field(default_factory=dict)

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.durations_s[name] = round(time.perf_counter() - start, 2)


def chunks(items: list, size: int, log: Callable[[str], None], done: str) -> Iterator[list]:
    """`items` in slices of `size`, saying after each how many are done."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
        log(f"  {min(start + size, len(items)):,} of {len(items):,} {done}")


def fit_progress(epochs: int, log: Callable[[str], None]) -> object:
    """A Keras callback saying where BERT's training is, in one line at most every PROGRESS_EVERY_S seconds and at the
    end of each epoch (Keras' own bar redraws every batch and says nothing of the time left for the whole run)."""
    import tensorflow as tf

    class FitProgress(tf.keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started = self.shown = time.perf_counter()
            self.batches, self.epoch = self.params.get("steps") or 1, 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            if now - self.shown >= PROGRESS_EVERY_S and batch + 1 < self.batches:
                self.shown = now
                self.report(batch + 1, logs, now)

        def on_epoch_end(self, epoch, logs=None):
            self.shown = time.perf_counter()
            self.report(self.batches, logs, self.shown)

        def report(self, done, logs, now):
            total, finished = epochs * self.batches, self.epoch * self.batches + done
            figures = ", ".join(f"{name} {value:.3f}" for name, value in (logs or {}).items()
                                if name in ("loss", "accuracy", "binary_accuracy"))
            left = (now - self.started) / finished * (total - finished)
            log(f"  epoch {self.epoch + 1}/{epochs}, batch {done}/{self.batches}: {figures}"
                + (f"; about {format_duration(left)} left" if finished < total else ""))

    return FitProgress()


@contextlib.contextmanager
def still_working(log: Callable[[str], None], doing: str) -> Iterator[None]:
    """Say every STILL_EVERY_S seconds that `doing` goes on, and for how long, until the block ends. The lines come
    from a thread of their own, which quiet() lets through while it silences ktrain."""
    started, done = time.perf_counter(), threading.Event()

    def beat() -> None:
        while not done.wait(STILL_EVERY_S):
            log(f"  ... still {doing} ({format_duration(time.perf_counter() - started)} so far)")

    thread = threading.Thread(target=beat, name="still-working", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


class _OtherThreadsOnly(io.TextIOBase):
    """A stream that drops what one thread writes and passes on what the others write."""

    def __init__(self, stream: object, silenced: threading.Thread):
        self.stream, self.silenced = stream, silenced

    def write(self, text: str) -> int:
        if threading.current_thread() is not self.silenced:
            self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def quiet() -> contextlib.AbstractContextManager:
    """Silence what ktrain prints (label lists, epoch bars, hints: noise for our users, some of it even at verbose=0)
    in this thread, but not still_working's lines from their own thread."""
    return contextlib.redirect_stdout(_OtherThreadsOnly(sys.stdout, threading.current_thread()))


def format_duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")
