"""A straightforward, loop-by-loop implementation of the Musgrave et al. (2020) definitions,
to check the vectorised engine against."""

import numpy as np


def reference_metrics(codes, labels, k=5):
    codes = np.asarray(codes, dtype=np.float64)
    labels = np.asarray(labels)
    known = [i for i in range(len(codes)) if labels[i] >= 0]
    p1s, rps, maprs, aps, knns = [], [], [], [], []
    for q in known:
        others = [j for j in known if j != q]
        dist = {j: float(np.sqrt(np.sum((codes[q] - codes[j]) ** 2))) for j in others}
        ranking = sorted(others, key=lambda j: (dist[j], j))
        rel = [1 if labels[j] == labels[q] else 0 for j in ranking]
        R = sum(rel)
        if R == 0:
            continue
        hits, ap, map_r = 0, 0.0, 0.0
        for i, r in enumerate(rel, start=1):
            hits += r
            if r:
                ap += hits / i
                if i <= R:
                    map_r += hits / i
        p1s.append(rel[0])
        rps.append(sum(rel[:R]) / R)
        maprs.append(map_r / R)
        aps.append(ap / R)
        votes = {}
        for j in ranking[:k]:
            votes[labels[j]] = votes.get(labels[j], 0) + 1
        best = max(votes.values())
        winner = next(labels[j] for j in ranking[:k] if votes[labels[j]] == best)
        knns.append(winner == labels[q])
    return {
        "precision_at_1": np.mean(p1s),
        "r_precision": np.mean(rps),
        "map_at_r": np.mean(maprs),
        "map": np.mean(aps),
        "knn_accuracy": np.mean(knns),
        "queries": len(p1s),
    }
