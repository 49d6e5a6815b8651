"""The typed result of `polase.analysis.analyze` and its JSON form (results.json).

`AnalysisResult` holds every number the analysis reports as dataclasses: estimates with
95 % intervals (`Estimate`), one `FluenceResult` per fluence, the `Windows` the
analysis used, the decay fits and the notes on what could not be computed. It is also a
read-only mapping over its JSON form, so ``result["threshold_mJ_cm2"]["value"]`` and
``result.threshold.value`` give the same number and code written for the results.json
dicts keeps working.

The JSON schema is in docs/results.md. `SCHEMA` names the version written;
`from_json` / `from_dict` also read version 1 files (polase before the typed result:
same keys, without ``notes`` and ``slope_local``) and refuse other versions with a clear
error.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._json import dumps_json, to_jsonable
from ..errors import DataValidationError, InputFileError

#: Schema written by this version.
SCHEMA: str = "polase.results/2"
#: Schemas `from_dict` reads.
READABLE_SCHEMAS: tuple[str, ...] = ("polase.results/1", "polase.results/2")
#: Version number of `SCHEMA`.
SCHEMA_VERSION: int = 2


def _pop_known(d: Mapping[str, Any], names) -> tuple[dict[str, Any], dict[str, Any]]:
    known = {k: d[k] for k in names if k in d}
    extra = {k: v for k, v in d.items() if k not in names}
    return known, extra


@dataclass
class Estimate:
    """A value with its 95 % interval and how it was obtained.

    Attributes
    ----------
    value
        The estimate (None when it could not be computed), in the unit of its key.
    ci95
        95 % interval ``[low, high]``; None without one.
    method
        Name of the estimator (e.g. ``"linear_hinge_fit"``).
    fluence_mJ_cm2
        Fluence of the spectrum it was measured on, for reference-spectrum values. [mJ/cm2]
    note
        Why the value is missing, when it is.
    details
        Further estimator outputs (e.g. ``slope_below``, ``n_points``), written as keys of
        the same JSON object.
    """

    value: float | None = None
    ci95: list[float] | None = None
    method: str | None = None
    fluence_mJ_cm2: float | None = None
    note: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    _FIELDS = ("value", "ci95", "method", "fluence_mJ_cm2", "note")

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (optional keys only when set)."""
        d: dict[str, Any] = {"value": self.value, "ci95": self.ci95}
        for k in ("method", "fluence_mJ_cm2", "note"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        d.update(self.details)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Estimate:
        """From a JSON object (None gives an empty estimate)."""
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            return cls(value=d)
        known, extra = _pop_known(d, cls._FIELDS)
        return cls(**known, details=extra)


#: Per-fluence spectral features of the reference polarization, in JSON order (each [unit]:
#: see docs/results.md).
FEATURE_FIELDS: tuple[str, ...] = (
    "peak_nm",
    "fwhm_nm",
    "intensity_pl",
    "intensity_ase",
    "value_at_pl_peak",
    "value_at_ase_peak",
    "fwhm_fit_nm",
    "pl_component",
    "ase_component",
)

#: Per-fluence quantities, in JSON order (each [unit]: see docs/results.md).
FLUENCE_FIELDS: tuple[str, ...] = (
    "fluence_mJ_cm2",
    *FEATURE_FIELDS,
    "delta_ase",
    "delta_ase_ci95",
    "delta_pl",
    "delta_pl_ci95",
    "delta_ase_band",
    "delta_ase_band_ci95",
    "delta_pl_band",
    "delta_pl_band_ci95",
    "saturated",
    "masked",
    "by_polarization",
)


#: Per-fluence features written only when the analysis computed them (band fits off, or
#: no finite value: the key is absent).
OPTIONAL_FLUENCE_FIELDS: frozenset[str] = frozenset(
    {"fwhm_fit_nm", "pl_component", "ase_component", "value_at_pl_peak", "value_at_ase_peak"}
)


@dataclass
class FluenceResult:
    """The reference polarization's features at one fluence and Delta against linear.

    Attributes are those of `FLUENCE_FIELDS` (units in docs/results.md); quantities the
    analysis did not compute are None. Keys of other polase versions go to `extra`.
    """

    fluence_mJ_cm2: float
    peak_nm: float | None = None
    fwhm_nm: float | None = None
    intensity_pl: float | None = None
    intensity_ase: float | None = None
    value_at_pl_peak: float | None = None
    value_at_ase_peak: float | None = None
    fwhm_fit_nm: float | None = None
    pl_component: float | None = None
    ase_component: float | None = None
    delta_ase: float | None = None
    delta_ase_ci95: list[float] | None = None
    delta_pl: float | None = None
    delta_pl_ci95: list[float] | None = None
    delta_ase_band: float | None = None
    delta_ase_band_ci95: list[float] | None = None
    delta_pl_band: float | None = None
    delta_pl_band_ci95: list[float] | None = None
    saturated: bool = False
    masked: bool = False
    by_polarization: dict[str, dict[str, float | None]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (the optional features only when computed)."""
        d = {
            k: getattr(self, k)
            for k in FLUENCE_FIELDS
            if not (k in OPTIONAL_FLUENCE_FIELDS and getattr(self, k) is None)
        }
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FluenceResult:
        """From a JSON object."""
        if "fluence_mJ_cm2" not in d:
            raise DataValidationError("per_fluence entry without 'fluence_mJ_cm2'")
        known, extra = _pop_known(d, FLUENCE_FIELDS)
        return cls(**known, extra=extra)


@dataclass
class Windows:
    """Wavelength windows and reference fluences the analysis used.

    Attributes
    ----------
    pl_band_nm, ase_band_nm
        Band windows ``[low, high]``. [nm]
    peak_window_half_width_nm
        Half width averaged for Delta at a wavelength. [nm]
    delta_pl_wavelength_nm, delta_ase_wavelength_nm
        Wavelengths of Delta_PL and Delta_ASE. [nm]
    pl_reference_fluence_mJ_cm2, ase_reference_fluence_mJ_cm2
        Fluences of the PL and ASE reference spectra. [mJ/cm2]
    """

    pl_band_nm: list[float] | None = None
    ase_band_nm: list[float] | None = None
    peak_window_half_width_nm: float | None = None
    delta_pl_wavelength_nm: float | None = None
    delta_ase_wavelength_nm: float | None = None
    pl_reference_fluence_mJ_cm2: float | None = None
    ase_reference_fluence_mJ_cm2: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Windows:
        """From a JSON object (unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in names})


# JSON key -> attribute of the estimates
_ESTIMATES = {
    "threshold_mJ_cm2": "threshold",
    "threshold_fwhm_mJ_cm2": "threshold_fwhm",
    "slope_below_threshold": "slope",
    "pl_peak_nm": "pl_peak",
    "pl_fwhm_nm": "pl_fwhm",
    "ase_peak_nm": "ase_peak",
    "ase_fwhm_nm": "ase_fwhm",
}
_PLAIN = (
    "source",
    "reference_polarization",
    "n_repeats",
    "fluence_axis",
    "photon_order",
    "slope_local",
    "delta_by_polarization",
    "units",
    "decays",
    "config",
    "notes",
    "input",
)


@dataclass
class AnalysisResult(Mapping):
    """Everything `polase.analysis.analyze` reports (the results.json content, typed).

    Attributes
    ----------
    source
        ``source`` attribute of the analysed Dataset (``"simulation"``, ``"measurement"``).
    reference_polarization
        Polarization whose spectra give thresholds, slope and per-fluence features.
    n_repeats
        Repeats per fluence and polarization.
    fluence_axis
        ``"nominal"``, ``"fluence_measured"`` or ``"pump_fluence_actual"``: the fluences
        the threshold, narrowing and power-law fits used (`AnalysisConfig.fluence_axis`).
    threshold, threshold_fwhm
        L-L (hinge) threshold and the FWHM-narrowing threshold. [mJ/cm2]
    slope
        Log-log slope of the PL band below threshold. [1]
    slope_local
        Local log-log slopes of the emission at the PL wavelength across the power-law
        window, the chord slope through them and their largest difference (see
        docs/results.md); None when not computable.
    photon_order
        Nearest integer photon order implied by `slope`.
    pl_peak, pl_fwhm, ase_peak, ase_fwhm
        Peaks and widths of the reference spectra. [nm]
    per_fluence
        One `FluenceResult` per fluence.
    delta_by_polarization
        Delta of every non-linear polarization per fluence (JSON records).
    windows
        The `Windows` used.
    units
        Units of intensity, wavelength, fluence and Delta.
    decays
        Decay fits, one record per (fluence, polarization, detection wavelength) in the
        `polase.analysis.fit_decay` format plus those three keys: the one shape of
        decays in a result.
    config
        The `AnalysisConfig` as a dict.
    notes
        What could not be computed on this sweep and why (short sweeps degrade to notes,
        not exceptions).
    input
        The input the analysis read, when the caller records it.
    schema_version
        Version of the JSON schema (`SCHEMA_VERSION`).
    """

    source: str = "unknown"
    reference_polarization: str | None = None
    n_repeats: int | None = None
    fluence_axis: str = "nominal"
    threshold: Estimate = field(default_factory=Estimate)
    threshold_fwhm: Estimate = field(default_factory=Estimate)
    slope: Estimate = field(default_factory=Estimate)
    slope_local: dict[str, Any] | None = None
    photon_order: int | None = None
    pl_peak: Estimate = field(default_factory=Estimate)
    pl_fwhm: Estimate = field(default_factory=Estimate)
    ase_peak: Estimate = field(default_factory=Estimate)
    ase_fwhm: Estimate = field(default_factory=Estimate)
    per_fluence: list[FluenceResult] = field(default_factory=list)
    delta_by_polarization: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    windows: Windows = field(default_factory=Windows)
    units: dict[str, str] = field(default_factory=dict)
    decays: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    input: str | None = None
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ JSON form

    def to_dict(self) -> dict[str, Any]:
        """The results.json content (JSON-ready: numpy types converted, NaN as None)."""
        d: dict[str, Any] = {"schema": SCHEMA, "schema_version": self.schema_version}
        d["source"] = self.source
        d["reference_polarization"] = self.reference_polarization
        d["n_repeats"] = self.n_repeats
        d["fluence_axis"] = self.fluence_axis
        for key, attr in _ESTIMATES.items():
            d[key] = getattr(self, attr).to_dict()
        d["slope_local"] = self.slope_local
        d["photon_order"] = self.photon_order
        d["per_fluence"] = [e.to_dict() for e in self.per_fluence]
        d["delta_by_polarization"] = self.delta_by_polarization
        d["windows"] = self.windows.to_dict()
        d["units"] = self.units
        if self.decays:
            d["decays"] = self.decays
        d["config"] = self.config
        d["notes"] = list(self.notes)
        if self.input is not None:
            d["input"] = self.input
        d.update(self.extra)
        return to_jsonable(d)

    def to_json(self, indent: int | None = 2) -> str:
        """results.json text."""
        return dumps_json(self.to_dict(), indent)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "results") -> AnalysisResult:
        """An `AnalysisResult` from results.json content (schema 1 or 2).

        Parameters
        ----------
        d
            Parsed results.json (or an `AnalysisResult`, returned as is).
        where
            Name of the source for error messages (e.g. the file).

        Raises
        ------
        DataValidationError
            Unknown schema or malformed entries.
        """
        if isinstance(d, AnalysisResult):
            return d
        if not isinstance(d, Mapping):
            raise DataValidationError(f"{where}: expected a JSON object, got {type(d).__name__}")
        schema = d.get("schema", SCHEMA)
        if schema not in READABLE_SCHEMAS:
            raise DataValidationError(
                f"{where}: results schema {schema!r} is not readable by this polase "
                f"(reads {', '.join(READABLE_SCHEMAS)}); re-run polase analyze"
            )
        kw: dict[str, Any] = {}
        for key, attr in _ESTIMATES.items():
            if key in d:
                kw[attr] = Estimate.from_dict(d[key])
        for key in _PLAIN:
            if key in d and d[key] is not None:
                kw[key] = d[key]
        try:
            kw["per_fluence"] = [FluenceResult.from_dict(e) for e in d.get("per_fluence") or []]
        except (TypeError, AttributeError) as exc:
            raise DataValidationError(f"{where}: malformed per_fluence entry ({exc})") from None
        except DataValidationError as exc:
            raise DataValidationError(f"{where}: {exc}") from None
        kw["windows"] = Windows.from_dict(d.get("windows"))
        decays = kw.get("decays")
        if decays is not None and not isinstance(decays, list):
            raise DataValidationError(
                f"{where}: 'decays' must be a list of fits (one per fluence, polarization and "
                "detection wavelength)"
            )
        known = set(_ESTIMATES) | set(_PLAIN) | {"schema", "schema_version", "per_fluence"}
        known |= {"windows"}
        kw["extra"] = {k: v for k, v in d.items() if k not in known}
        kw["schema_version"] = SCHEMA_VERSION
        return cls(**kw)

    @classmethod
    def from_json(cls, text: str, where: str = "results.json") -> AnalysisResult:
        """An `AnalysisResult` from results.json text.

        Raises
        ------
        DataValidationError
            Not JSON, or not a readable results schema.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataValidationError(
                f"{where}, line {exc.lineno}: not valid JSON: {exc.msg}"
            ) from None
        return cls.from_dict(data, where)

    # ------------------------------------------------------------------ mapping view

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def fluence_entry(self, fluence: float, tol: float = 0.26) -> FluenceResult | None:
        """The per-fluence result nearest `fluence` (within `tol`) or None. [mJ/cm2]"""
        best, best_d = None, tol
        for e in self.per_fluence:
            dist = abs(e.fluence_mJ_cm2 - fluence)
            if dist <= best_d:
                best, best_d = e, dist
        return best


def read_results(path: str | Path) -> AnalysisResult:
    """Read a results.json file written by ``polase analyze`` (schema 1 or 2).

    Raises
    ------
    InputFileError
        The file cannot be read, is not JSON or not a readable results file.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(p, f"cannot read: {exc.strerror}") from None
    try:
        return AnalysisResult.from_json(text, str(p))
    except DataValidationError as exc:
        raise InputFileError(p, str(exc).removeprefix(f"{p}: ")) from None


def write_results(result: AnalysisResult, path: str | Path, overwrite: bool = False) -> Path:
    """Write `result` as results.json atomically."""
    from .._json import write_json_atomic

    return write_json_atomic(path, result.to_dict(), overwrite)
