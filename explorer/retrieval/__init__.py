"""k-NN search over codes and leave-one-out retrieval metrics (numpy + torch, no Qt)."""

from explorer.retrieval.metrics import (
    HEADLINE,
    RetrievalMetrics,
    knn_accuracy,
    knn_classify,
    leave_one_out,
    retrieval_metrics,
)
from explorer.retrieval.search import METRICS, KnnIndex, bench_query, knn, numpy_brute_force

__all__ = [
    "HEADLINE", "METRICS", "KnnIndex", "RetrievalMetrics", "bench_query", "knn", "knn_accuracy",
    "knn_classify", "leave_one_out", "numpy_brute_force", "retrieval_metrics",
]
