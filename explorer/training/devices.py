"""Which compute devices exist, and turning 'auto' | 'cpu' | 'cuda' | 'mps' into a torch device."""

from __future__ import annotations

import os

import torch

from explorer.core.errors import DeviceError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Devices usable on this machine, best first (always ends with 'cpu')."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    return found + ["cpu"]


def describe_device(name: str) -> str:
    """A label for the device chooser: 'cuda (NVIDIA ...)', 'cpu (2 threads)'."""
    if name == "cuda" and torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    if name == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return name


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA, then MPS, then CPU; asking for one that is missing is a DeviceError."""
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device(available_devices()[0])
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                "CUDA was requested but this machine has no usable CUDA GPU (or this torch build "
                "has no CUDA support); use --device cpu or --device auto."
            )
        return torch.device(name)
    if name == "mps":
        if not _mps_available():
            raise DeviceError(
                "MPS (Apple GPU) was requested but is not available here; use --device cpu or auto."
            )
        return torch.device("mps")
    raise DeviceError(f"Unknown device '{name}'; choose one of: {', '.join(DEVICE_CHOICES)}.")


def set_cpu_threads(threads: int | None = None) -> int:
    """Use ``threads`` intra-op threads; None picks for the machine as it is now.

    On a busy machine (1-minute load average at or above the number of cores) one thread: torch's
    OpenMP threads spin while they wait for each other, and with the cores shared a two-thread run
    of these small models measured 10-15x slower than a one-thread run. Otherwise every core this
    process may use.
    """
    if threads is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # macOS, Windows
            cores = os.cpu_count() or 1
        try:
            busy = os.getloadavg()[0] >= cores - 0.25
        except (AttributeError, OSError):
            busy = False
        threads = 1 if busy else cores
    threads = max(1, int(threads))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
