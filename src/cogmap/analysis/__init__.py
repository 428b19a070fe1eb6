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
from cogmap.analysis.grid import GridScores, RateMapAccumulator, RateMaps, autocorrelogram, grid_scores, rate_maps
from cogmap.analysis.harmonics import (
    autocorrelation_from_power,
    peak_degrees,
    periodicity_score,
    so3_autocorrelation,
    so3_power_spectrum,
    so3x2_power_spectrum,
    wigner_d,
)
from cogmap.analysis.pca import PCASummary, participation_ratio, pca_summary
from cogmap.analysis.probes import linear_probe_r2
from cogmap.analysis.tangling import TangleAnalysis, tangle_analysis, tangling
from cogmap.analysis.tuning import TuningCurves, tuning_curves

__all__ = ["CycleAverage", "GridScores", "PCASummary", "Ranking", "RateMapAccumulator", "RateMaps", "SpeedAxis",
           "TangleAnalysis", "TuningCurves", "autocorrelation_from_power", "autocorrelogram", "average_cycles",
           "cycle_starts", "distance_invariance_error", "equivariance_error", "grid_scores", "linear_probe_r2",
           "participation_ratio", "pca_summary", "peak_degrees", "periodicity_score", "random_pairs", "ranking_metrics",
           "rate_maps", "resample_cycles", "smooth_cycle", "so3_autocorrelation", "so3_power_spectrum",
           "so3x2_power_spectrum", "speed_axis", "split_cycles", "tangle_analysis", "tangling", "tuning_curves",
           "wigner_d"]
