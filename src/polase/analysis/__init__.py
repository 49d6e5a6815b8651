"""polase.analysis: from a measurement Dataset to the ASE observables, with 95 % intervals.

Plain functions, vectorized over whole Datasets:

- `extract_features(ds)`: per-spectrum peak, FWHM (half maximum and band fit), band
  intensities and the PL + ASE decomposition, as an xarray Dataset.
- `analyze(ds)`: thresholds, power law, reference peaks/widths, per-fluence Delta and
  decay fits, as an `AnalysisResult` (typed; ``to_json`` / ``from_json``, docs/results.md).
- `fit_decay(time_ns, counts, irf, n_components)`: one TCSPC reconvolution fit.

Definitions are in docs/analysis.md.
"""

from .._json import to_jsonable
from .decay import fit_dataset_decays, fit_decay, fit_decays
from .pipeline import AnalysisConfig, analyze, extract_features
from .result import AnalysisResult, Estimate, FluenceResult, Windows, read_results, write_results

__all__ = [
    "AnalysisConfig",
    "AnalysisResult",
    "Estimate",
    "FluenceResult",
    "Windows",
    "analyze",
    "extract_features",
    "fit_dataset_decays",
    "fit_decay",
    "fit_decays",
    "read_results",
    "to_jsonable",
    "write_results",
]
