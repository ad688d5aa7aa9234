"""Every inspection of one set of codes in one job, and the JSON `explorer inspect` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterator

import numpy as np

from explorer.core.progress import Progress
from explorer.inspection.clusters import Clusters, cluster_job
from explorer.inspection.duplicates import Duplicates, Outliers, find_duplicates, find_outliers
from explorer.inspection.label_issues import K, LabelIssues, label_issues_job
from explorer.inspection.neighbours import MAX_QUERIES, NeighbourGraph, neighbour_graph_job

GRAPH_K = 16  # neighbours kept per item: k=10 votes survive dropping the query's own fold


@dataclass
class InspectionReport:
    graph: NeighbourGraph
    label_issues: LabelIssues | None
    duplicates: Duplicates
    outliers: Outliers
    clusters: Clusters | None
    notes: list[str] = field(default_factory=list)

    def as_dict(self, max_issues: int = 1000, class_names: list[str] | None = None) -> dict:
        """JSON-able: label_issues (ranked rows with score > 0 or flagged), duplicates (groups),
        outliers, clusters (count, sizes, purity, ...), nn_histogram, and notes."""
        issues = [] if self.label_issues is None else self.label_issues.rows(max_issues)
        if class_names:
            for row in issues:
                row["label_name"] = _name(class_names, row["label"])
                row["suggested_name"] = _name(class_names, row["suggested"])
        counts, edges = self.duplicates.histogram
        return {
            "count": self.graph.count,
            "searched": len(self.graph.queries),
            "label_issues": issues,
            "duplicates": {
                "threshold": round(self.duplicates.threshold, 6),
                "groups": [g.as_dict() for g in self.duplicates.groups],
            },
            "nn_histogram": {"counts": counts.tolist(), "edges": [round(float(e), 6) for e in edges]},
            "outliers": self.outliers.rows(),
            "clusters": None if self.clusters is None else self.clusters.summary(),
            "notes": list(self.notes),
        }


def _name(names: list[str], k: int) -> str:
    return names[k] if 0 <= k < len(names) else str(k)


def inspect_job(
    codes: np.ndarray,
    labels: np.ndarray | None = None,
    layout: np.ndarray | None = None,
    cluster_on: str = "codes",
    cluster_method: str = "hdbscan",
    metric: str = "l2",
    k: int = K,
    threshold: float | None = None,
    outliers: int = 50,
    max_queries: int | None = MAX_QUERIES,
    clusters: bool = True,
    seed: int = 0,
    duplicate_codes: np.ndarray | None = None,
) -> Iterator[Progress]:
    """Neighbour graph, label issues (when labelled), duplicates, outliers and clusters of
    ``codes`` (N, D); yields Progress, returns :class:`InspectionReport`.

    cluster_on: "codes" or "layout" (then ``layout`` (N, 2) is needed). threshold: duplicate
    distance (None: automatic). max_queries: past this many items the quadratic parts run on a
    seeded sample (the report's notes say so). duplicate_codes: (N, D') other codes to look for
    near-duplicates in (e.g. pixels: a metric model maps a copy and a same-class neighbour alike).
    """
    codes = np.asarray(codes, dtype=np.float32)
    if cluster_on == "layout" and layout is None:
        raise ValueError("clustering on the layout needs a layout")
    graph = yield from neighbour_graph_job(
        codes, k=max(GRAPH_K, k + 6), metric=metric, max_queries=max_queries, seed=seed
    )
    notes = [graph.note()] if graph.note() else []
    issues = None
    labelled = labels is not None and (np.asarray(labels) >= 0).any()
    if labelled:
        issues = yield from label_issues_job(graph, labels, k=k, seed=seed)
    if duplicate_codes is not None:
        dup_graph = yield from neighbour_graph_job(
            duplicate_codes, k=4, metric=metric, max_queries=max_queries, seed=seed
        )
        notes.append("near-duplicates searched in the other codes given (pixels)")
        dups = find_duplicates(dup_graph, threshold)
    else:
        dups = find_duplicates(graph, threshold)
    outl = find_outliers(graph, outliers, k=min(graph.k, 10))
    found = None
    if clusters:
        points = codes if cluster_on == "codes" else np.asarray(layout, dtype=np.float32)
        found = yield from cluster_job(
            points, labels if labelled else None, method=cluster_method, space=cluster_on, seed=seed
        )
        notes.extend(found.notes)
    return InspectionReport(graph, issues, dups, outl, found, notes)
