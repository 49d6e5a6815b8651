"""polase.analysis: from a measurement Dataset to the ASE observables, with 95 % intervals.

Plain functions, vectorized over whole Datasets:

- `extract_features(ds)`: per-spectrum peak, FWHM (half maximum and band fit), band
  intensities and the PL + ASE decomposition, as an xarray Dataset.
- `analyze(ds)`: thresholds, power law, reference peaks/widths, per-fluence Delta and
  decay fits, as an `AnalysisResult` (typed; ``to_json`` / ``from_json``, docs/results.md).
- `analyze_many(folder_or_paths, workers=N)`: one `analyze` per sweep, serially or on
  dask.distributed (`find_sweeps` lists a folder's sweeps).
- `fit_decay(time_ns, counts, irf, n_components)`: one TCSPC reconvolution fit;
  `fit_decay_model` for stretched, log-normal and rise-time models; `coates_correction`
  and `check_count_rate` for pile-up and dead time.
- `fit_global_decays` / `fit_dataset_global`: many decays with shared lifetimes.
- `analyze_phasors`: calibrated phasors and phase / modulation lifetimes (needs phasorpy);
  `decay_phasors`: those of a results set's decays, for the report's phasor figure.
- `fit_helicity_pair`, `fit_helicity_manifest`, `fit_anisotropy`, `fit_anisotropy_division`,
  `g_factor_from_hv_hh`, `tau_s_from_integrated_dcp`, `fit_hanle`: polarization-resolved
  decays (docs/polarization.md).

Definitions are in docs/analysis.md.
"""

from .._json import to_jsonable
from .decay import (
    check_count_rate,
    coates_correction,
    fit_dataset_decays,
    fit_decay,
    fit_decay_model,
    fit_decays,
)
from .global_decay import fit_dataset_global, fit_global_decays
from .many import analyze_many, analyze_path, find_sweeps
from .phasor import analyze_phasors, decay_phasors
from .pipeline import AnalysisConfig, analyze, extract_features
from .polarization import (
    PolarizationFit,
    fit_anisotropy,
    fit_anisotropy_division,
    fit_hanle,
    fit_helicity_manifest,
    fit_helicity_pair,
    g_factor_from_hv_hh,
    tau_s_from_integrated_dcp,
)
from .result import AnalysisResult, Estimate, FluenceResult, Windows, read_results, write_results

__all__ = [
    "AnalysisConfig",
    "AnalysisResult",
    "Estimate",
    "FluenceResult",
    "PolarizationFit",
    "Windows",
    "analyze",
    "analyze_many",
    "analyze_path",
    "analyze_phasors",
    "check_count_rate",
    "coates_correction",
    "decay_phasors",
    "extract_features",
    "find_sweeps",
    "fit_anisotropy",
    "fit_anisotropy_division",
    "fit_dataset_decays",
    "fit_dataset_global",
    "fit_decay",
    "fit_decay_model",
    "fit_decays",
    "fit_global_decays",
    "fit_hanle",
    "fit_helicity_manifest",
    "fit_helicity_pair",
    "g_factor_from_hv_hh",
    "read_results",
    "tau_s_from_integrated_dcp",
    "to_jsonable",
    "write_results",
]
