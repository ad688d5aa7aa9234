"""`explorer gui`: open the app (the default command)."""

from __future__ import annotations

from explorer.commands._args import add_optional_model_and_data
from explorer.commands._common import trust_given_models


def add_arguments(parser) -> None:
    add_optional_model_and_data(parser)


def run(args) -> int:
    trust_given_models(args.model, args.trust_model)
    import os
    import sys

    from explorer.core.errors import ExplorerError

    has_display = any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    if sys.platform.startswith("linux") and not has_display:
        raise ExplorerError(
            "No display found (DISPLAY is not set): run the app on a desktop, or picture it "
            "without one with `explorer snapshot OUTDIR`."
        )
    from explorer.ui.app import run_gui

    return run_gui(data=args.data, models=args.model)
