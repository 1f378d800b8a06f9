"""A command measured in a child process: its wall time and the memory peak of its largest process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# RUSAGE_CHILDREN only grows within one process, so each measurement gets a fresh one.
_PROBE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)"
)


def measured(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """Seconds, peak RSS in MB, exit code of ``argv`` run in ``cwd``."""
    out = subprocess.run([sys.executable, "-c", _PROBE, *argv], cwd=cwd, capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1]) / 1024, int(out[2])


def tool(name: str) -> str:
    """A console script installed beside this interpreter (``contracts``)."""
    return str(Path(sys.executable).with_name(name))
