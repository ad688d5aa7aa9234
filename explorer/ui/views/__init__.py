"""The main window's views: each module has TITLE, AREA ("center", "left" or "bottom"), ORDER and
View(ctx). Every module listed here must exist; see docs/ARCHITECTURE.md for adding one."""

VIEW_MODULES = [
    "explorer.ui.views.browser",
    "explorer.ui.views.scatter",
    "explorer.ui.views.retrieval",
    "explorer.ui.views.verification",
    "explorer.ui.views.relational",
    "explorer.ui.views.inspection",
]
