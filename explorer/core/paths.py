"""Where the app keeps its own files: a per-user cache (renditions, codes, layouts, indexes) and a
per-user config folder (trusted model hashes, remembered preprocessing choices).

``EXPLORER_CACHE_DIR`` and ``EXPLORER_CONFIG_DIR`` override both (the tests point them at a
temporary folder, so no test reads or writes the user's real ones). Otherwise the XDG variables are
honoured, then the platform's usual places (``~/.cache``, ``~/.config``).
"""

from __future__ import annotations

import os
import sys

APP = "relate-explorer"


def _base(env: str, xdg: str, fallback: str) -> str:
    explicit = os.environ.get(env)
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    root = os.environ.get(xdg)
    if not root:
        if sys.platform == "darwin":
            root = os.path.expanduser(
                "~/Library/Caches" if "CACHE" in env else "~/Library/Application Support"
            )
        elif os.name == "nt":
            root = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
        else:
            root = os.path.expanduser(fallback)
    return os.path.join(root, APP)


def cache_dir(*parts: str, create: bool = True) -> str:
    """The user's cache folder for this app (or a sub-folder of it), created on first use."""
    path = os.path.join(_base("EXPLORER_CACHE_DIR", "XDG_CACHE_HOME", "~/.cache"), *parts)
    if create:
        os.makedirs(path, exist_ok=True)
    return path


def config_dir(*parts: str, create: bool = True) -> str:
    """The user's config folder for this app (or a sub-folder of it), created on first use."""
    path = os.path.join(_base("EXPLORER_CONFIG_DIR", "XDG_CONFIG_HOME", "~/.config"), *parts)
    if create:
        os.makedirs(path, exist_ok=True)
    return path
