"""Stopping long-running commands on SIGTERM and SIGINT, whatever SIGINT's disposition.

A shell starts background jobs with SIGINT ignored, so turning SIGTERM into SIGINT
(or waiting for ``KeyboardInterrupt``) leaves ``cmd & kill $!`` running. Here SIGTERM
always raises ``Stopped`` in the main thread; SIGINT does too unless it was ignored
on purpose. ``Stopped`` is a ``BaseException`` like ``KeyboardInterrupt``, so ``except
Exception`` blocks let it through to the ``finally`` blocks that clean up.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Stopped(BaseException):
    """A stop signal arrived; ``exit_code`` is the shell's convention (130 for SIGINT, 143 for SIGTERM)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum
        self.exit_code = 128 + signum


_received: list[int] = []


def _raise(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise Stopped(signum)


def _quiet_unraisable(previous: Callable[[Any], object]) -> Callable[[Any], object]:
    def hook(unraisable: Any) -> object:
        # Our Stopped raised inside a weakref callback or __del__ cannot propagate: Python
        # prints it as "Exception ignored in ..." with a traceback. check() raises it again
        # where it can propagate, so the printout is noise on a clean stop.
        if isinstance(unraisable.exc_value, Stopped):
            return None
        return previous(unraisable)

    return hook


def check() -> None:
    """Raise ``Stopped`` if a stop signal arrived but its exception was lost.

    A signal handler's exception raised inside a callback that C code runs (a librdkafka
    delivery report, say) can be swallowed there; loops that wait call this to make sure.
    """
    if _received:
        raise Stopped(_received[-1])


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM (and SIGINT unless ignored) raise ``Stopped`` in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = _install(_raise)
    unraisable = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable(unraisable)
    _received.clear()
    try:
        yield
        check()  # the block ended, but a signal came: it still means stop
    except Exception as exc:
        # C code that was running Python when the signal came (librdkafka reading its settings, say)
        # may turn our Stopped into an error of its own: after a stop signal, any error means stop.
        if _received:
            raise Stopped(_received[-1]) from exc
        raise
    finally:
        _restore(previous)
        sys.unraisablehook = unraisable
        _received.clear()


@contextmanager
def calling_on_signals(callback: Callable[[int], None]) -> Iterator[None]:
    """Within the block, SIGTERM (and SIGINT unless ignored) call ``callback(signum)`` instead of raising.

    For loops that stop at their own pace (a consumer finishes the message in hand); outside
    the main thread, where Python delivers no signals, nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = _install(lambda signum, frame: callback(signum))
    try:
        yield
    finally:
        _restore(previous)


def _install(handler: Callable[[int, FrameType | None], Any]) -> dict[signal.Signals, Any]:
    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        if sig == signal.SIGINT and signal.getsignal(sig) == signal.SIG_IGN:
            continue  # a background job: its shell decided Ctrl-C is not for it
        previous[sig] = signal.signal(sig, handler)
    return previous


def _restore(previous: dict[signal.Signals, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
