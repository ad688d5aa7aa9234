"""2-D layouts of codes: PCA, t-SNE (openTSNE) and UMAP (umap-learn) as step generators.

Each method is a generator ``project_job(codes, method, seed=0, **params)`` that yields
:class:`~explorer.core.progress.Progress` records whose ``payload`` is a partial (N, 2) float32
layout and returns the final one, so a view can draw the picture as it forms. Live frames of a
training run are aligned with the previous frame (:func:`live_frame_job`); :func:`faithfulness`
says how far a layout can be trusted.
"""

from explorer.projection.faithfulness import faithfulness, knn_label_accuracy
from explorer.projection.jobs import METHODS, live_frame_job, project, project_job
from explorer.projection.pca import align_to, pca_layout

__all__ = [
    "METHODS",
    "align_to",
    "faithfulness",
    "knn_label_accuracy",
    "live_frame_job",
    "pca_layout",
    "project",
    "project_job",
]
