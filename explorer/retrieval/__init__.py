"""k-NN search over codes and leave-one-out retrieval metrics (numpy + torch, no Qt)."""

from explorer.retrieval.ann import AnnIndex, build_job, neighbour_index_job, wants_index
from explorer.retrieval.metrics import (
    HEADLINE,
    RetrievalMetrics,
    knn_accuracy,
    knn_classify,
    leave_one_out,
    retrieval_metrics,
)
from explorer.retrieval.search import (
    METRICS,
    KnnIndex,
    bench_query,
    knn,
    numpy_brute_force,
)

__all__ = [
    "HEADLINE",
    "METRICS",
    "AnnIndex",
    "KnnIndex",
    "RetrievalMetrics",
    "bench_query",
    "build_job",
    "knn",
    "knn_accuracy",
    "knn_classify",
    "leave_one_out",
    "neighbour_index_job",
    "numpy_brute_force",
    "retrieval_metrics",
    "wants_index",
]
