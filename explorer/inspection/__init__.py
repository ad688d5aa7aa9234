"""What the codes say about the data (no Qt): clusters, density contours, likely label
mistakes, near-duplicates and outliers, all built on retrieval's neighbour search.

Every long part is a generator yielding ``explorer.core.progress.Progress`` and returning its
result; ``inspect_job`` runs them all on one neighbour graph.
"""

from explorer.inspection.clusters import ClusterInfo, Clusters, cluster_job
from explorer.inspection.density import Contours, density_contours
from explorer.inspection.duplicates import Duplicates, Outliers, find_duplicates, find_outliers
from explorer.inspection.label_issues import LabelIssues, label_issues_job
from explorer.inspection.neighbours import NeighbourGraph, neighbour_graph_job
from explorer.inspection.report import InspectionReport, inspect_job

__all__ = [
    "ClusterInfo",
    "Clusters",
    "Contours",
    "Duplicates",
    "InspectionReport",
    "LabelIssues",
    "NeighbourGraph",
    "Outliers",
    "cluster_job",
    "density_contours",
    "find_duplicates",
    "find_outliers",
    "inspect_job",
    "label_issues_job",
    "neighbour_graph_job",
]
