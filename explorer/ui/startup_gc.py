"""Python's cycle collector held off while the app starts, then the start-up's objects frozen.

While the app starts, worker threads import torch, scikit-learn and the views (the heap grows to
~400,000 tracked objects). Each time it grows by a quarter, the cycle collector walks all of it
(a "generation 2" pass) with the GIL held: 150-330 ms a pass under load, five of them measured in one
start-up, all that time the GUI thread cannot run a line of Python. Almost nothing it finds is
garbage (10-40 objects a pass). So :func:`hold` turns the collector off while the views are imported
and built, and :func:`release` moves every object alive then into the permanent generation
(``gc.freeze``: later passes skip them) and turns the collector back on. The window calls
:func:`release` when its views are ready, when it is destroyed, and at the latest after
``HOLD_MAX_S`` (``create_main_window(hold_gc=True)``: the app and its start-up bench row).
"""

from __future__ import annotations

import gc

HOLD_MAX_S = 90.0  # the collector is back on after this long even if the views never finish
_held = False


def hold() -> bool:
    """Turn the cycle collector off until :func:`release`; False (and nothing done) if it is
    already off (held, or turned off by someone else)."""
    global _held
    if _held or not gc.isenabled():
        return False
    gc.disable()
    _held = True
    return True


def release(*_args) -> None:
    """Freeze the objects alive now (later passes skip them) and turn the collector back on;
    nothing if :func:`hold` did not turn it off. Takes and ignores arguments (a Qt slot)."""
    global _held
    if not _held:
        return
    _held = False
    gc.freeze()
    gc.enable()


def held() -> bool:
    return _held
