"""Analyses of neural activity: pure functions, arrays in and numbers or arrays out."""

from cogmap.analysis.pca import PCASummary, participation_ratio, pca_summary
from cogmap.analysis.probes import linear_probe_r2
from cogmap.analysis.tuning import TuningCurves, tuning_curves

__all__ = ["PCASummary", "pca_summary", "participation_ratio", "linear_probe_r2", "TuningCurves", "tuning_curves"]
