"""polase: polarization-switched, multi-photon-pumped ASE spectroscopy.

A physics-based digital twin of the experiment, an analysis pipeline for measured
files, a batched fitting engine, and reports that put model and measurement side by side.
"""

from __future__ import annotations

from ._version import __version__
from .errors import (
    ConfigError,
    DataValidationError,
    FitError,
    InputFileError,
    OutputExistsError,
    PolaseError,
)


def simulate(config=None, *, progress=None, **overrides):
    """Run the digital twin: simulate the polarization-switched ASE experiment.

    The pump sweep (fluence x quarter-wave-plate angle x repeats) is propagated through the
    pump optics, m-photon generation, spin-resolved kinetics and 1-D ASE propagation, then
    measured with a noisy spectrometer, TCSPC and excitation-spectrum instrument
    (docs/model.md, docs/instruments.md).

    Parameters
    ----------
    config : None, dict, str, pathlib.Path or polase.config.SimulationConfig, optional
        The configuration: None for the defaults (calibrated CsPbBr3), a partial nested dict
        (``{"material": {"k2": 1e-9}}``), the path of a TOML file (as written by
        ``polase simulate --print-config``) or a `SimulationConfig`.
    progress : callable, optional
        ``progress(done, total)`` called after each chunk of fluences.
    **overrides
        Applied last. Shortcuts: ``fluence`` peak pump fluences [mJ/cm2]; ``qwp_angle``
        plate angles, 0 linear and 45 circular [deg]; ``repeats`` spectra per (fluence,
        polarization) [1]; ``seed`` noise seed [1]; ``noise`` (bool); ``switching``
        ("alternating" or "blocked"); ``decays`` (bool); ``detection_wavelength`` decay
        detection wavelengths [nm]; ``mechanism`` ("orbit_orbit", "spin_channel",
        "dichroism", "+"-combinations or "none"); ``solver`` ("fast" or "reference");
        ``material`` (name in `polase.materials.MATERIALS`). Any other key as a dotted
        name, e.g. ``**{"sample.confinement": 0.4}``.

    Returns
    -------
    xarray.Dataset
        The measurement of docs/data-model.md with ``attrs["source"] = "simulation"``:
        ``spectrum`` (fluence, polarization, repeat, wavelength) [counts], ``decay``
        (fluence, polarization, detection_wavelength, time) [counts], ``irf`` [counts],
        ``excitation_spectrum`` [counts] and the configuration as JSON in
        ``attrs["config"]``.

    Raises
    ------
    polase.ConfigError
        An unknown key or a bad value; the message names the dotted key.
    polase.InputFileError
        The TOML file is missing or malformed.

    See Also
    --------
    polase.analyze : the analysis of the result.
    polase.config.load_config : the configuration alone.

    Examples
    --------
    >>> import polase
    >>> ds = polase.simulate(fluence=[8.2, 15, 16, 17], repeats=2, seed=1)
    >>> ds.sizes["fluence"], ds.polarization.values.tolist()
    (4, ['linear', 'circular'])
    """
    from .experiment import simulate as _simulate

    return _simulate(config, progress=progress, **overrides)


def analyze(ds, config=None, *, features=None, **options):
    """Analyze a fluence sweep: peaks, widths, thresholds, power law, Delta_ASE/PL, decays.

    Parameters
    ----------
    ds : xarray.Dataset
        A measurement (docs/data-model.md): from `simulate`, from
        `polase.io.read_measurement` (NetCDF, a folder of spectra, a manifest), or built by
        hand. Spectra in [counts], fluence in [mJ/cm2], wavelength in [nm].
    config : polase.analysis.AnalysisConfig, optional
        Analysis choices (defaults in docs/analysis.md).
    features : xarray.Dataset, optional
        Output of `polase.analysis.extract_features` for `ds` with the same choices
        (recomputed when None).
    **options
        Fields of `AnalysisConfig` instead of `config`, e.g. ``decay_components=1``,
        ``pl_reference_fluence=8.2`` [mJ/cm2], ``band_fits=False``.

    Returns
    -------
    polase.analysis.AnalysisResult
        The results of docs/results.md, typed (``.to_json()`` writes results.json):
        thresholds [mJ/cm2], the log-log slope [1], PL and ASE peak and FWHM [nm],
        per-fluence features with Delta_ASE and Delta_PL [1] and their 95 % intervals,
        decay fits [ns], and notes on what a short sweep could not give.

    Raises
    ------
    polase.DataValidationError
        `ds` violates the measurement schema.

    See Also
    --------
    polase.simulate : a measurement from the digital twin.

    Examples
    --------
    >>> import polase
    >>> ds = polase.simulate(fluence=[8.2, 15, 16, 17], repeats=3, seed=1)
    >>> results = polase.analyze(ds)
    """
    from .analysis import AnalysisConfig
    from .analysis import analyze as _analyze

    if options:
        if config is not None:
            raise ConfigError("analyze", "give config or keyword options, not both")
        try:
            config = AnalysisConfig(**options)
        except TypeError as exc:
            raise ConfigError("analyze", f"unknown option: {exc}") from None
    return _analyze(ds, config, features=features)


__all__ = [
    "ConfigError",
    "DataValidationError",
    "FitError",
    "InputFileError",
    "OutputExistsError",
    "PolaseError",
    "__version__",
    "analyze",
    "simulate",
]
