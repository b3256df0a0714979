"""Failpoints: let the crash-safety tests kill an index run at an exact step (as fail-rs / FreeBSD's fail(9)).

`NEWSSEARCH_FAILPOINTS="commit:3"` makes the 3rd pass through `failpoint("commit")` SIGKILL the process
(`during=True` points kill from a second thread a moment later, while the step itself runs). Unset, a
failpoint costs one dictionary lookup.
"""
from __future__ import annotations

import os
import signal
import threading
import time

ENV = "NEWSSEARCH_FAILPOINTS"
_counts: dict[str, int] = {}


def _armed() -> dict[str, int]:
    spec = os.environ.get(ENV, "")
    out = {}
    for part in filter(None, spec.split(",")):
        name, _, nth = part.partition(":")
        out[name.strip()] = int(nth or 1)
    return out


_ARMED = _armed()


def failpoint(name: str, during: bool = False, delay_s: float = 0.002) -> None:
    """Kill this process here (or, with `during`, `delay_s` into what follows) on the armed pass."""
    nth = _ARMED.get(name)
    if nth is None:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] != nth:
        return
    if not during:
        os.kill(os.getpid(), signal.SIGKILL)

    def kill_soon() -> None:
        time.sleep(delay_s)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=kill_soon, daemon=True).start()
