"""k-NN search over codes and leave-one-out retrieval metrics (numpy + torch, no Qt)."""

from explorer.retrieval.ann import AnnIndex, build_job, neighbour_index_job, wants_index
from explorer.retrieval.hamming import HammingIndex, is_binary, pack_bits, unpack_bits
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
    RETRIEVAL_METRICS,
    KnnIndex,
    bench_query,
    knn,
    numpy_brute_force,
)

__all__ = [
    "HEADLINE",
    "METRICS",
    "RETRIEVAL_METRICS",
    "AnnIndex",
    "HammingIndex",
    "KnnIndex",
    "RetrievalMetrics",
    "bench_query",
    "build_job",
    "is_binary",
    "knn",
    "knn_accuracy",
    "knn_classify",
    "leave_one_out",
    "neighbour_index_job",
    "numpy_brute_force",
    "pack_bits",
    "retrieval_metrics",
    "unpack_bits",
    "wants_index",
]
