"""Numbers in thumbnail captions: a distance in at most 7 characters, so "d 0.000476" does not
wrap under a 48-pixel tile (the inspection view's neighbours of bgae codes, distances ~5e-4)."""

from __future__ import annotations

import math


def caption_number(x: float) -> str:
    """``x`` in at most 7 characters: 3 significant digits ("45.1", "0.00109"), 2 below 0.001
    ("0.00048", "4.8e-5"), exponents without their "+0" / "-0" ("1.23e5")."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    text = f"{x:.2g}" if 0 < abs(x) < 1e-3 else f"{x:.3g}"
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if e else text
