"""Analyses of neural activity: pure functions, arrays in and numbers or arrays out."""

from cogmap.analysis.cycles import (
                                    CycleAverage,
                                    SpeedAxis,
                                    average_cycles,
                                    cycle_starts,
                                    resample_cycles,
                                    smooth_cycle,
                                    speed_axis,
                                    split_cycles,
)
from cogmap.analysis.equivariance import (
                                          Ranking,
                                          distance_invariance_error,
                                          equivariance_error,
                                          random_pairs,
                                          ranking_metrics,
)
from cogmap.analysis.pca import PCASummary, participation_ratio, pca_summary
from cogmap.analysis.probes import linear_probe_r2
from cogmap.analysis.tangling import TangleAnalysis, tangle_analysis, tangling
from cogmap.analysis.tuning import TuningCurves, tuning_curves

__all__ = ["CycleAverage", "PCASummary", "Ranking", "SpeedAxis", "TangleAnalysis", "TuningCurves", "average_cycles",
           "cycle_starts", "distance_invariance_error", "equivariance_error", "linear_probe_r2", "participation_ratio",
           "pca_summary", "random_pairs", "ranking_metrics", "resample_cycles", "smooth_cycle", "speed_axis",
           "split_cycles", "tangle_analysis", "tangling", "tuning_curves"]
