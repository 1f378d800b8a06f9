"""Long-running commands stop on one SIGINT or SIGTERM: promptly, without a traceback, leaving nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] if Path(f"/proc/{pid}/stat").exists() else "X"
    return state != "Z"


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").exists(), reason="finds the demo's child processes in /proc")
@pytest.mark.parametrize(("sig", "after", "code"), [(signal.SIGINT, "broker ", 130), (signal.SIGTERM, "payments-service group", 143)])
def test_demo_stops_on_one_signal(sig: signal.Signals, after: str, code: int) -> None:
    # Regression: one Ctrl-C printed a KeyboardInterrupt traceback and hung with librdkafka threads.
    proc = subprocess.Popen(
        [sys.executable, "-m", "contracts.demo"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal's foreground job
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + 60
    line = ""
    while after not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line or proc.poll() is None, "the demo ended before the signal"
    children = _children(proc.pid)
    assert children, "the broker runs as a child process"
    sent = time.monotonic()
    proc.send_signal(sig)
    returncode = proc.wait(15)
    took = time.monotonic() - sent
    stderr = proc.stderr.read()
    assert returncode == code, (returncode, took, stderr[-2000:])
    assert took < 5.0, (took, stderr[-2000:])
    assert "Traceback" not in stderr
    time.sleep(0.2)
    assert not [c for c in children if _alive(c)], "no broker left behind"


def test_an_error_that_c_code_made_of_a_stop_signal_still_stops() -> None:
    # Regression (a CI flake): SIGTERM while librdkafka read its settings came out as
    # "TypeError: expected configuration property name", with a traceback and exit 1.
    import os

    from contracts.shutdown import Stopped, stop_on_signals

    with pytest.raises(Stopped) as stopped, stop_on_signals():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        except Stopped:  # what the C layer does with it: swallows it and raises its own error
            raise TypeError("expected configuration property name as type unicode string") from None
    assert stopped.value.exit_code == 143


def test_a_stop_signal_inside_a_weakref_callback_prints_nothing_and_still_stops() -> None:
    # Regression (a CI flake): SIGTERM landing in a WeakValueDictionary's callback printed
    # "Exception ignored in ... Traceback ... Stopped" on a clean stop. A child process,
    # because pytest installs an unraisable hook of its own.
    script = """
import gc, os, signal, sys, weakref
from contracts.shutdown import Stopped, stop_on_signals

class Held:
    pass

def on_collect(ref):
    os.kill(os.getpid(), signal.SIGTERM)  # the handler runs inside the callback

try:
    with stop_on_signals():
        held = Held()
        ref = weakref.ref(held, on_collect)
        del held
        gc.collect()
except Stopped as stop:
    sys.exit(stop.exit_code)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 143, done
    assert done.stderr == "", done.stderr
