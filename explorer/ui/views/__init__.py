"""The main window's views. A module listed here that does not exist (yet) is simply not shown."""

VIEW_MODULES = [
    "explorer.ui.views.browser",
    "explorer.ui.views.scatter",
    "explorer.ui.views.retrieval",
    "explorer.ui.views.verification",
    "explorer.ui.views.relational",
    "explorer.ui.views.inspection",
]
