"""Run a parsing function on untrusted input in a child process that can be stopped.

Why a process: a 5 MB .xlsx holding one empty cell in column XFD on each of a million rows kept a server core busy
for 23 minutes inside openpyxl, and a 30 MB workbook took 1.5 GB before anyone could say no. Code running in our own
thread cannot be interrupted in the middle of a C call or a long parse, but a child process can be killed. So the
child does the parsing and reports progress; the parent watches the clock and the child's memory, passes progress
on, and kills the child when a limit is reached or when the caller stops listening (the progress callback raises,
which is how Streamlit stops a script when the user presses Stop or reruns the page).

The child is `python -m predictor.worker`, not multiprocessing: under `streamlit run` multiprocessing's spawn would
re-run Streamlit's launcher in every child. Messages travel as pickles over the child's stdin and stdout; the child
only ever sends plain values (progress counts, a DataFrame and its facts, an error message) that our own code built.
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from predictor.errors import UserError

PROGRESS_EVERY_S = 0.25  # how often the child reports, and the parent passes progress on
POLL_S = 0.05
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # where the child finds `predictor`, whatever the cwd


@dataclass(frozen=True)
class Limits:
    """How long the child may take in all (start-up included) and how much resident memory it may hold."""
    seconds: float
    memory_bytes: int


@dataclass(frozen=True)
class Progress:
    """What the parent knows so far: seconds since start, and the child's own count (None until it reports)."""
    elapsed_s: float
    count: int | None


def run(function: Callable[..., Any], args: tuple, *, limits: Limits, what: str, too_slow: str, too_big: str,
        on_progress: Callable[[Progress], None] | None = None) -> Any:
    """`function(*args, report=...)` run in a child process; its result, or its UserError raised here.

    `function` must be importable by name (a module-level function). It may call `report(count)` as often as it
    likes; the child throttles. Over `limits`, the child is killed and a UserError says "{what} {too_slow}" or
    "{what} {too_big}". Whatever happens (an exception from `on_progress` included) the child is gone on return.
    """
    started = time.monotonic()
    path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    child = subprocess.Popen([sys.executable, "-m", "predictor.worker"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": path})
    messages: queue.Queue = queue.Queue()
    threading.Thread(target=_send_request, args=(child, (function, args)), daemon=True).start()
    threading.Thread(target=_receive, args=(child, messages), daemon=True).start()
    count, last_shown = None, 0.0
    try:
        while True:
            try:
                kind, payload = messages.get(timeout=POLL_S)
            except queue.Empty:
                kind, payload = None, None
            if kind == "progress":
                count = payload
            elif kind == "done":
                return payload
            elif kind == "refused":
                raise UserError(payload)
            elif kind == "failed":
                raise UserError(f"{what} failed ({payload}). Open the file in its program, save it again (or as "
                                "CSV) and retry.")
            elif kind == "ended":
                raise UserError(f"{what} stopped unexpectedly (the reading process ended with code "
                                f"{child.wait()}). Try again; if it happens again, save the file as CSV.")
            elapsed = time.monotonic() - started
            if elapsed > limits.seconds:
                raise UserError(f"{what} {too_slow}")
            if _memory(child.pid) > limits.memory_bytes:
                raise UserError(f"{what} {too_big}")
            if on_progress and elapsed - last_shown >= PROGRESS_EVERY_S:
                last_shown = elapsed
                on_progress(Progress(elapsed, count))
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def _send_request(child: subprocess.Popen, request: tuple) -> None:
    try:
        pickle.dump(request, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        child.stdin.close()
    except (BrokenPipeError, OSError):  # the child died or was killed first: _receive reports it
        pass


def _receive(child: subprocess.Popen, messages: queue.Queue) -> None:
    """Move the child's messages to the queue; ("ended", None) once its output stops without a result."""
    try:
        while True:
            message = pickle.load(child.stdout)
            messages.put(message)
            if message[0] != "progress":
                return
    except (EOFError, OSError, pickle.UnpicklingError):
        messages.put(("ended", None))


def _memory(pid: int) -> int:
    """Resident memory of the child in bytes (0 once it is gone)."""
    import psutil

    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return 0


# ---------------------------------------------------------------------------------------------------------------------
# The child


def _child() -> None:
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # anything a library prints must not corrupt the message stream
    function, args = pickle.load(sys.stdin.buffer)
    last = [0.0]

    def report(count: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            _send(out, ("progress", count))

    try:
        result = ("done", function(*args, report=report))
    except UserError as err:
        result = ("refused", str(err))
    except Exception as err:  # a bug or an unforeseen input: say what, briefly; the parent words the message
        result = ("failed", f"{type(err).__name__}: {err}"[:300])
    _send(out, result)


def _send(out, message: tuple) -> None:
    pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


if __name__ == "__main__":
    _child()
