"""What a person watching a run sees: progress bars in the terminal and one line per stage.

A stage notebook runs in a Jupyter kernel whose output lands in the executed notebook, not in
the terminal that started ``dvc repro``. :mod:`.runner` therefore names its own standard error
in ``GANSEMBLE_CONSOLE``; :func:`bar` draws there when it is set (in a terminal, or every few
seconds in a log that is not one), and falls back to a plain text bar in the notebook when a
notebook is run by hand. :func:`summary` marks the one line the runner prints when the stage ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache
from typing import IO, Any

from tqdm import tqdm

CONSOLE_ENV = "GANSEMBLE_CONSOLE"
SUMMARY_MARK = "stage summary: "
LOG_INTERVAL_S = 15.0  # how often a bar redraws when the console is a log file or a pipe
# Without a console (a notebook run by hand): plain text, redrawn rarely, since every redraw
# is an output in the notebook and widget bars need ipywidgets, which the kernel may lack.
NOTEBOOK_INTERVAL_S = 5.0


def own_stderr_path() -> str | None:
    """A path through which another process (the stage's kernel) can write to our stderr."""
    path = f"/proc/{os.getpid()}/fd/2"
    return path if os.path.exists(path) else None


@cache
def _console(path: str) -> IO[str] | None:
    try:
        return open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (kept for the run)
    except OSError:
        return None


def console() -> IO[str] | None:
    """The runner's terminal (or log), when this process runs under ``gansemble notebook``."""
    path = os.environ.get(CONSOLE_ENV)
    return _console(path) if path else None


def bar(iterable: Iterable | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar drawn where the person running the pipeline can see it."""
    stream = console()
    if stream is None:
        kwargs.setdefault("mininterval", NOTEBOOK_INTERVAL_S)
        return tqdm(iterable, **kwargs)
    interactive = stream.isatty()
    kwargs.setdefault("mininterval", 0.5 if interactive else LOG_INTERVAL_S)
    return tqdm(iterable, file=stream, dynamic_ncols=interactive, ascii=not interactive,
                **kwargs)


def summary(text: str) -> str:
    """Print the stage's one-line summary (what it did and its key number)."""
    line = f"{SUMMARY_MARK}{text}"
    print(line)
    return line
