"""``gansemble repro``: ``dvc repro`` as a log a person can follow.

DVC prints, per stage, its command line, lock-file bookkeeping and, at the end, advice about
``git add`` and ``dvc push``. Here each stage instead says what it does when it starts and one
summary line when it ends (printed by :mod:`.runner`), progress bars draw in the terminal, an
unchanged stage says so in one line, and everything else DVC prints (warnings, errors) passes
through untouched. The exit status is DVC's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable

from ..core.progress import CONSOLE_ENV, own_stderr_path

_DROP = (re.compile(r"^Running stage '[^']+':$"), re.compile(r"^> "),
         re.compile(r"^Updating lock file "), re.compile(r"^Use `dvc push`"),
         re.compile(r"^To track the changes with git, run:"),
         re.compile(r"^To enable auto staging, run:"), re.compile(r"^\s+git add "),
         re.compile(r"^\s+dvc config core\.autostage"), re.compile(r"^'[^']+\.dvc' didn't change"),
         re.compile(r"^\s*$"))
_SKIPPED = re.compile(r"^Stage '([^']+)' didn't change, skipping")
_CACHED = re.compile(r"^Stage '([^']+)' is cached")


def readable(line: str) -> str | None:
    """What to show of one line of ``dvc repro`` output (None: nothing)."""
    line = line.rstrip("\n")
    if skipped := _SKIPPED.match(line):
        return f"{skipped.group(1)}: unchanged, skipped"
    if cached := _CACHED.match(line):
        return f"{cached.group(1)}: restored from DVC's run cache (an identical earlier run)"
    if any(pattern.match(line) for pattern in _DROP):
        return None
    return line


def console_env() -> dict[str, str]:
    """The environment for a child whose stages should draw progress bars on our stderr."""
    env = dict(os.environ)
    path = own_stderr_path()
    if CONSOLE_ENV not in env and path:
        env[CONSOLE_ENV] = path
    env["PYTHONUNBUFFERED"] = "1"
    return env


def stream(cmd: list[str], *, cwd: str | None = None, env: dict[str, str] | None = None,
           on_line: Callable[[str], None] | None = None, echo=print) -> int:
    """Run ``cmd``, echoing its readable lines; ``on_line`` sees every raw line."""
    with subprocess.Popen(cmd, cwd=cwd, env=env or console_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1) as proc:
        for text in proc.stdout:
            if on_line is not None:
                on_line(text)
            shown = readable(text)
            if shown is not None:
                echo(shown)
    return proc.returncode


def main(dvc_args: list[str]) -> int:
    return stream([sys.executable, "-m", "dvc", "repro", *dvc_args],
                  echo=lambda line: print(line, flush=True))
