"""Verification (1:1 matching): pair scores, the pair protocol, ROC / AUC / EER / TAR@FAR."""

from explorer.verification.evaluate import (
    FARS,
    VerificationResult,
    evaluate_codes,
    evaluate_scorer,
    summarise,
)
from explorer.verification.pairs import Pairs, make_pairs
from explorer.verification.scores import PairScorer, code_scores, is_pair_scorer

__all__ = [
    "FARS",
    "Pairs",
    "PairScorer",
    "VerificationResult",
    "code_scores",
    "evaluate_codes",
    "evaluate_scorer",
    "is_pair_scorer",
    "make_pairs",
    "summarise",
]
