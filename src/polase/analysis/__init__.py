"""polase.analysis: from a measurement Dataset to the ASE observables, with 95 % intervals.

Plain functions, vectorized over whole Datasets:

- `extract_features(ds)`: per-spectrum peak, FWHM (half maximum and band fit), band
  intensities and the PL + ASE decomposition, as an xarray Dataset.
- `analyze(ds)`: thresholds, power law, reference peaks/widths, per-fluence Delta and
  decay fits, as the results.json dict (docs/results.md).
- `fit_decay(time_ns, counts, irf, n_components)`: one TCSPC reconvolution fit.

Definitions are in docs/analysis.md.
"""

from .decay import fit_dataset_decays, fit_decay, fit_decays
from .pipeline import AnalysisConfig, analyze, extract_features, to_jsonable

__all__ = [
    "AnalysisConfig",
    "analyze",
    "extract_features",
    "fit_dataset_decays",
    "fit_decay",
    "fit_decays",
    "to_jsonable",
]
