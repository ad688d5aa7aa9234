"""What the collection bench rows (collection_rows) and their GUI children (gui_collections) share."""

from __future__ import annotations

import os
import resource

FIRST_SCREEN = 60  # thumbnails: what a 1400x900 window shows at once, about


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _since_start() -> float:
    """Seconds since this process started (interpreter start-up included)."""
    with open("/proc/self/stat", encoding="utf-8") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime", encoding="utf-8") as f:
        uptime = float(f.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
