"""score.py --engine ray: the same chunked scoring on a Ray cluster, through Ray Data.

The driver reads the file in chunks exactly as the plain run does (tables.csv_chunks / parquet_chunks) and puts each
chunk in Ray's object store as one block. Ray Data maps the blocks through a pool of actors that each load the model
once (`map_batches` with a callable class, one block per call) and hands them back in order (`preserve_order`); the
driver writes them as the plain run does. So the output is byte-identical to the plain run's (tested), and the file
need not fit in the driver's memory; it must fit in the cluster's object store, which spills to disk.

Without an address Ray starts on this machine with as many CPUs as it has. On a cluster (`ray start --head` on one
machine, `ray start --address HEAD:6379` on the others; docs/deployment.md) every worker needs this code, its
requirements and the model folder at the same path, e.g. on a shared disk.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from predictor.thresholds import Thresholds


class ChunkScorer:
    """One Ray actor: the model, loaded once, scoring whole chunks."""

    def __init__(self, model_dir: str, text_column: str, thresholds: Thresholds):
        import predictor  # noqa: F401  (TensorFlow's environment first, in this worker process too)
        from predictor.scorer import Scorer

        self.scorer = Scorer(Path(model_dir))
        self.text_column, self.thresholds = text_column, thresholds

    def __call__(self, chunk: pd.DataFrame) -> pd.DataFrame:
        from predictor import scoring

        return scoring.score_frame(self.scorer, chunk, self.text_column, thresholds=self.thresholds,
                                   part_of_a_stream=True).frame


def score(pairs: Iterable[tuple[pd.DataFrame, int, int]], model_dir: Path, text_column: str, thresholds: Thresholds,
          address: str | None, workers: int) -> Iterator[tuple[pd.DataFrame, int, int]]:
    """(scored chunk, rows done, rows in all) for each non-empty chunk of `pairs` ((chunk, read, size) as the readers
    give them), scored by `workers` actors. Every chunk is put in the object store before scoring starts, so
    progress counts rows."""
    import ray

    logging.getLogger("ray").setLevel(logging.ERROR)  # its INFO lines and progress bars would bury ours
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    refs, sizes = [], []
    for chunk, _, _ in pairs:
        if len(chunk):
            refs.append(ray.put(chunk))
            sizes.append(len(chunk))
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # configured by Ray Data itself on import
    with warnings.catch_warnings():
        # max_restarts=0: a crashed actor fails the run instead of Ray restarting it without its constructor
        # arguments (ray-project/ray#53727, which Ray logs on every run otherwise). Ray 2.60 deprecates passing it
        # this way but offers no other.
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        dataset = ray.data.from_pandas_refs(refs).map_batches(
            ChunkScorer, fn_constructor_args=(str(model_dir), text_column, thresholds), batch_size=None,
            batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1, max_restarts=0)
    batches = dataset.iter_batches(batch_size=None, batch_format="pandas", prefetch_batches=workers)
    done, total = 0, sum(sizes)
    for frame in batches:
        done += len(frame)
        yield frame, done, total
