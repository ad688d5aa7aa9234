"""Qt-free jobs the views run in their workers: generators of Progress records that may combine
analysis packages (a layout and its faithfulness, a relational model's mapping layout, retrieval
figures, verification scoring). Never imports Qt (an import-linter contract), so all of it is
tested without a display."""
