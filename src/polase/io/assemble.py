"""Assemble a folder of instrument files into the measurement Dataset (docs/data-model.md).

Steps, per spectrum file: read it; check its wavelength axis against the first file's;
flag pixels at or above the saturation level (and NaN pixels); subtract the dark that
matches its integration time; divide by the integration time to get counts/s; mask the
flagged pixels to NaN. Then place it on the (fluence, polarization, repeat) grid, with the
fluence the power meter measured for it when the manifest has a
``fluence_measured_mJ_cm2`` column (variable ``fluence_measured``).
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from .. import __version__
from .._json import to_jsonable
from ..errors import ConfigError, InputFileError
from .detect import read_decay, read_spectrum
from .manifest import KINDS, MEASURED_COLUMNS, match_pattern, read_manifest
from .polarization import normalize_polarization
from .records import SpectrumFile

#: Saturation level of a 16-bit detector, used when the file header names none. [counts]
DEFAULT_SATURATION_LEVEL = 65535.0

_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_DATE_RE = re.compile(
    r"([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:\s+[A-Za-z]+)?\s+(\d{4})"
)


class AssemblyWarning(UserWarning):
    """Assembly went ahead, but something needs the user's attention (missing files, darks)."""


def _header_time(meta: dict) -> tuple | None:
    """Sortable (year, month, day, h, m, s, frac) from a ``Date:`` header, or None."""
    m = _DATE_RE.search(str(meta.get("Date", "")))
    if not m or m.group(1).lower() not in _MONTHS:
        return None
    mon, day, hh, mm, ss, frac, year = m.groups()
    return (
        int(year),
        _MONTHS[mon.lower()],
        int(day),
        int(hh),
        int(mm),
        int(ss),
        float("0." + (frac or "0")),
    )


def _saturation_level(sf: SpectrumFile, override: float | None) -> float:
    if override is not None:
        return float(override)
    for key, value in sf.metadata.items():
        if (
            "saturation" in key.lower()
            and isinstance(value, float)
            and not isinstance(value, bool)
            and value > 0
        ):
            return value
    return DEFAULT_SATURATION_LEVEL


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _resolve_rows(
    folder_or_manifest, manifest, pattern, dark_pattern
) -> tuple[list[dict], Path, dict]:
    """Rows (see read_manifest) and the base folder for the given inputs."""
    src = Path(folder_or_manifest)
    if manifest is not None and pattern is not None:
        raise ConfigError("pattern", "give either a manifest or a pattern, not both")
    if not src.exists():
        raise InputFileError(src, "not found; expected a folder of spectra or a manifest CSV")
    if src.is_file():
        if pattern is not None:
            raise ConfigError("pattern", f"{src} is a file; a pattern needs a folder")
        if manifest is not None:
            raise ConfigError("manifest", f"{src} is already a manifest; do not pass another one")
        return read_manifest(src), src.parent, {"manifest": str(src)}
    if pattern is not None:
        rows, unmatched = match_pattern(src, pattern)
        suffix = Path(pattern.replace("{", "").replace("}", "")).suffix.lower()
        skipped = []
        for f in unmatched:
            if dark_pattern and fnmatch.fnmatch(f.name.lower(), dark_pattern.lower()):
                rows.append(
                    {
                        "file": f,
                        "kind": "dark",
                        "fluence_mJ_cm2": None,
                        "polarization": None,
                        "repeat": 0,
                        "acquisition_index": None,
                        "detection_wavelength_nm": None,
                        "integration_time_s": None,
                        "line": None,
                    }
                )
            elif suffix and f.suffix.lower() == suffix:
                skipped.append(f.name)
        if skipped:
            warnings.warn(
                f"{src}: {len(skipped)} file(s) match neither pattern {pattern!r} nor dark pattern "
                f"{dark_pattern!r} and were ignored: {', '.join(skipped[:5])}"
                + (" ..." if len(skipped) > 5 else ""),
                AssemblyWarning,
                stacklevel=3,
            )
        if not any(r["kind"] == "spectrum" for r in rows):
            raise InputFileError(src, f"no file name matches the pattern {pattern!r}")
        return rows, src, {"pattern": pattern, "dark_pattern": dark_pattern or ""}
    man = Path(manifest) if manifest is not None else src / "manifest.csv"
    if not man.is_file():
        raise InputFileError(
            man,
            "manifest not found; pass manifest=... or pattern=... (e.g. '{fluence}mJ_{polarization}_{repeat}.txt')",
        )
    base = src if manifest is not None else man.parent
    rows = read_manifest(man, base=base)
    for r in rows:  # a manifest kept elsewhere may list files relative to itself
        alt = man.parent / r["file"].relative_to(base) if r["file"].is_relative_to(base) else None
        if not r["file"].exists() and alt is not None and alt.exists():
            r["file"] = alt
    return rows, base, {"manifest": str(man)}


def _decay_rows(decays: list[dict], base: Path) -> list[dict]:
    rows = []
    for i, d in enumerate(decays):
        kind = str(d.get("kind", "decay")).lower()
        if kind not in ("decay", "irf") or "file" not in d:
            raise ConfigError(f"decays[{i}]", "needs 'file' and kind 'decay' or 'irf'")
        row = {
            "file": base / Path(d["file"]),
            "kind": kind,
            "fluence_mJ_cm2": d.get("fluence_mJ_cm2"),
            "polarization": d.get("polarization"),
            "repeat": 0,
            "acquisition_index": None,
            "detection_wavelength_nm": d.get("detection_wavelength_nm"),
            "integration_time_s": None,
            "line": None,
        }
        if kind == "decay":
            for key in ("fluence_mJ_cm2", "polarization", "detection_wavelength_nm"):
                if row[key] is None:
                    raise ConfigError(f"decays[{i}].{key}", "required for a decay")
        rows.append(row)
    return rows


def _where(row: dict, info: dict) -> str:
    if row.get("line") is not None and "manifest" in info:
        return f" (manifest {info['manifest']}, line {row['line']})"
    return ""


class _DarkModel:
    """Dark spectra averaged per integration time; ``model(t)`` gives the dark for time t."""

    def __init__(self, darks: list[tuple[np.ndarray, float]]):
        groups: list[tuple[float, list[np.ndarray]]] = []
        for counts, t in darks:
            for g in groups:
                if math.isclose(g[0], t, rel_tol=1e-9):
                    g[1].append(counts)
                    break
            else:
                groups.append((t, [counts]))
        self.means = [(t, np.mean(np.stack(c), axis=0)) for t, c in groups]
        self.fit = None
        if len(self.means) >= 2:
            # per pixel: dark = offset + rate * t, least squares over the integration times
            ts = np.array([t for t, _ in self.means])
            design = np.stack([np.ones_like(ts), ts], axis=1)
            self.fit, *_ = np.linalg.lstsq(design, np.stack([d for _, d in self.means]), rcond=None)
        self.inexact_method = (
            "fitted as offset + rate*t" if self.fit is not None else "scaled by t/t_dark"
        )

    def __bool__(self) -> bool:
        return bool(self.means)

    def __call__(self, t: float) -> tuple[np.ndarray, str, bool]:
        """(dark [counts], how it was obtained, whether a dark at `t` itself existed)."""
        for td, d in self.means:
            if math.isclose(td, t, rel_tol=1e-9):
                return d, "matching integration time", True
        if self.fit is not None:
            return (
                self.fit[0] + self.fit[1] * t,
                "offset + rate * t fitted to darks at several integration times",
                False,
            )
        t0, d0 = self.means[0]
        return d0 * (t / t0), f"scaled from the {t0:g} s dark by t/t_dark", False


def _measured_fluences(spec_rows: list[dict], info: dict, base: Path) -> list[float] | None:
    """The manifest's ``fluence_measured_mJ_cm2`` per spectrum row, or None if no row has one.

    Raises
    ------
    InputFileError
        Some spectrum rows have a measured fluence and others not (names the first row
        without one): a half-measured sweep would mix two fluence scales.
    """
    col = "fluence_measured_mJ_cm2"
    values = [r.get(col) for r in spec_rows]
    if all(v is None for v in values):
        return None
    for r, v in zip(spec_rows, values):
        if v is None:
            n = sum(x is not None for x in values)
            raise InputFileError(
                Path(info.get("manifest", base)),
                f"empty '{col}' for spectrum {r['file'].name}, but {n} other spectrum row(s) "
                "have one; give it for every spectrum or for none",
                r.get("line"),
            )
    return [float(v) for v in values]


def _acquisition_order(
    spec_rows: list[dict], files: list[SpectrumFile], info: dict, base: Path
) -> tuple[list[int], str]:
    """acquisition_index per spectrum row and a note on how it was determined."""
    where = Path(info.get("manifest", base))
    given = [r["acquisition_index"] for r in spec_rows]
    if all(a is not None for a in given):
        if len(set(given)) != len(given):
            raise InputFileError(where, "acquisition_index values repeat")
        return given, "acquisition_index given"
    if any(a is not None for a in given):
        raise InputFileError(where, "acquisition_index is given for some spectrum rows but not all")
    if "pattern" not in info:
        return list(range(len(spec_rows))), "manifest row order"
    stamps = [_header_time(sf.metadata) for sf in files]
    names = [r["file"].name for r in spec_rows]
    if all(s is not None for s in stamps):
        order = sorted(range(len(spec_rows)), key=lambda i: (stamps[i], names[i]))
        note = "file header Date, then file name"
    else:
        order = sorted(range(len(spec_rows)), key=lambda i: names[i])
        note = "file name (no Date header)"
        warnings.warn(
            f"{base}: not every file has a 'Date:' header; acquisition_index follows file-name "
            "order (add {acquisition_index} to the pattern or use a manifest)",
            AssemblyWarning,
            stacklevel=3,
        )
    acq = [0] * len(spec_rows)
    for rank, i in enumerate(order):
        acq[i] = rank
    return acq, note


def assemble_measurement(
    folder_or_manifest: str | Path,
    *,
    manifest: str | Path | None = None,
    pattern: str | None = None,
    decays: list[dict] | None = None,
    dark_pattern: str | None = "dark*",
    saturation_level: float | None = None,
    wavelength_tolerance_nm: float = 1e-3,
    missing: str = "warn",
    wavelength_unit: str | None = None,
    tcspc_repetition_period_ns: float | None = None,
) -> xr.Dataset:
    """Build the measurement Dataset from a folder of spectra (and TCSPC decays).

    Parameters
    ----------
    folder_or_manifest
        A manifest CSV (files relative to its folder), or a folder with either a
        ``manifest.csv`` inside, or `manifest`, or `pattern`.
    manifest
        Manifest CSV for `folder_or_manifest` as a folder (files relative to that folder).
        Columns ``file, fluence_mJ_cm2, polarization, repeat`` [+ ``kind`` (spectrum, dark,
        decay, irf), ``acquisition_index``, ``detection_wavelength_nm``, ``integration_time_s``,
        ``fluence_measured_mJ_cm2``, ``pulse_energy_uJ``, ``power_before_mW``,
        ``power_after_mW``].
    pattern
        File-name pattern instead of a manifest, e.g. ``"{fluence}mJ_{polarization}_{repeat}.txt"``
        (fields: fluence [mJ/cm2], polarization, repeat, acquisition_index, ``*``).
    decays
        TCSPC files: dicts ``{file, fluence_mJ_cm2, polarization, detection_wavelength_nm,
        kind: "decay" | "irf"}`` (files relative to the folder), in addition to any
        ``decay``/``irf`` manifest rows.
    dark_pattern
        Pattern mode only: file names matching this glob (case-insensitive) are dark spectra.
    saturation_level
        Raw value at which a pixel counts as saturated. [counts] Default: a numeric header
        entry whose key contains "saturation", else 65535 (16-bit detector).
    wavelength_tolerance_nm
        Largest pixel-wise difference between two files' wavelength axes that is still the
        same axis (exports round wavelengths); the first spectrum's axis is used. [nm]
    missing
        ``"warn"`` (default): (fluence, polarization, repeat) combinations without a file
        are NaN, listed in a warning and in ``attrs["missing_acquisitions"]``;
        ``"raise"``: they are an error.
    wavelength_unit
        Passed to `read_spectrum` for CSV files without a unit in the header.
    tcspc_repetition_period_ns
        Laser repetition period, stored as an attribute when decays are present. [ns]

    Returns
    -------
    xarray.Dataset
        ``spectrum`` (fluence, polarization, repeat, wavelength) [counts/s], dark-subtracted;
        ``saturated`` (bool; pixel at the saturation level or NaN in the file; such pixels
        are NaN in ``spectrum``); ``nan_in_file`` (bool, the NaN part of that flag);
        ``integration_time`` [s]; ``fluence_measured`` (fluence, polarization, repeat)
        [mJ/cm**2] when the manifest has a ``fluence_measured_mJ_cm2`` column (the power
        meter's reading for each spectrum; NaN where a spectrum is missing); coordinates
        ``acquisition_index``, ``qwp_angle`` [deg],
        ``docp`` [1]; ``decay`` / ``irf`` [counts] with ``time`` [ns] when TCSPC files are
        given. ``attrs["provenance"]`` holds every file's header as JSON.

    Raises
    ------
    InputFileError
        Unreadable/malformed files, differing wavelength axes or TCSPC channel widths
        (both files named), duplicate acquisitions, missing integration times, a
        ``fluence_measured_mJ_cm2`` column filled for some spectra but not all (NaN or
        a non-positive value in it: `read_manifest` names the line).
    ConfigError
        Conflicting arguments or a bad pattern.

    Notes
    -----
    Darks are averaged per integration time. A spectrum uses the dark with its own
    integration time; if there is none, the dark is modelled per pixel as
    offset + rate * t, fitted to darks at two or more integration times, or, with a
    single dark integration time, scaled by t_spectrum / t_dark (which treats the whole
    dark signal as dark current; an `AssemblyWarning` says so). Without darks nothing is
    subtracted (warning, ``attrs["dark_subtracted"] = 0``).

    ``acquisition_index``: manifest column if given (for every spectrum row), else the
    manifest row order; in pattern mode the ``{acquisition_index}`` field, else the
    ``Date:`` header time (ties and missing dates: file name order, with a warning when
    dates are missing).
    """
    if missing not in ("warn", "raise"):
        raise ConfigError("missing", f"{missing!r}; allowed: 'warn', 'raise'")
    rows, base, info = _resolve_rows(folder_or_manifest, manifest, pattern, dark_pattern)
    if decays:
        rows = rows + _decay_rows(decays, base)
    for r in rows:
        if r["kind"] not in KINDS:
            raise ConfigError("kind", f"{r['kind']!r}")
    spec_rows = [r for r in rows if r["kind"] == "spectrum"]
    dark_rows = [r for r in rows if r["kind"] == "dark"]
    tc_rows = [r for r in rows if r["kind"] in ("decay", "irf")]
    if not spec_rows and not tc_rows:
        raise InputFileError(base, "no spectrum or decay files listed")

    provenance: list[dict] = []
    pol_info: dict[str, tuple[float, float]] = {}

    def norm_pol(r: dict) -> str:
        try:
            label, angle, docp = normalize_polarization(r["polarization"])
        except ValueError as exc:
            raise InputFileError(r["file"], f"{exc}{_where(r, info)}") from None
        pol_info[label] = (angle, docp)
        return label

    data_vars: dict = {}
    coords: dict = {}
    attrs: dict = {"polase_version": __version__, "source": "measurement"}
    attrs.update(info)
    fluences: set[float] = set()
    pols: set[str] = set()

    # ---- spectra -------------------------------------------------------------------------
    spectra: list[tuple[dict, SpectrumFile, float]] = []
    ref: SpectrumFile | None = None
    for r in spec_rows + dark_rows:
        try:
            sf = read_spectrum(r["file"], wavelength_unit=wavelength_unit)
        except InputFileError as exc:
            if not r["file"].exists():
                raise InputFileError(r["file"], f"listed but not found{_where(r, info)}") from exc
            raise
        t = sf.integration_time_s
        if r["integration_time_s"] is not None:
            if t is not None and not math.isclose(t, r["integration_time_s"], rel_tol=1e-9):
                raise InputFileError(
                    r["file"],
                    f"integration time {t:g} s in the file but {r['integration_time_s']:g} s in the manifest{_where(r, info)}",
                )
            t = r["integration_time_s"]
        if t is None:
            raise InputFileError(
                r["file"],
                f"no integration time in the file; add an 'integration_time_s' manifest column{_where(r, info)}",
            )
        if ref is None:
            ref = sf
        elif sf.wavelength_nm.shape != ref.wavelength_nm.shape:
            raise InputFileError(
                sf.path,
                f"{sf.wavelength_nm.size} pixels, but {ref.path} has {ref.wavelength_nm.size}; all spectra must share one wavelength axis",
            )
        else:
            dev = np.abs(sf.wavelength_nm - ref.wavelength_nm)
            k = int(np.argmax(dev))
            if dev[k] > wavelength_tolerance_nm:
                raise InputFileError(
                    sf.path,
                    f"wavelength axis differs from {ref.path} by {dev[k]:.6g} nm at pixel {k} "
                    f"({sf.wavelength_nm[k]:g} vs {ref.wavelength_nm[k]:g} nm); tolerance "
                    f"{wavelength_tolerance_nm:g} nm",
                )
        spectra.append((r, sf, float(t)))

    if spec_rows:
        assert ref is not None
        wl = ref.wavelength_nm
        nwl = wl.size
        darks = _DarkModel([(sf.counts, t) for _r, sf, t in spectra[len(spec_rows) :]])
        inexact: list[str] = []

        labels = [norm_pol(r) for r in spec_rows]
        flu_vals = sorted({r["fluence_mJ_cm2"] for r in spec_rows})
        fluences.update(flu_vals)
        pols.update(labels)
        rep_vals = sorted({r["repeat"] for r in spec_rows})
        acq, attrs["acquisition_order"] = _acquisition_order(
            spec_rows, [sf for _, sf, _ in spectra[: len(spec_rows)]], info, base
        )

        pol_list = sorted(set(labels), key=lambda lab: (pol_info[lab][0], lab))
        shape = (len(flu_vals), len(pol_list), len(rep_vals))
        spec = np.full((*shape, nwl), np.nan)
        sat = np.zeros((*shape, nwl), dtype=bool)
        nan_flag = np.zeros((*shape, nwl), dtype=bool)
        itime = np.full(shape, np.nan)
        f_meas = _measured_fluences(spec_rows, info, base)
        f_meas_arr = np.full(shape, np.nan)
        acq_arr = np.full(shape, -1, dtype=np.int64)
        filled: dict[tuple[int, int, int], Path] = {}
        fi = {f: i for i, f in enumerate(flu_vals)}
        pi = {p: i for i, p in enumerate(pol_list)}
        ri = {v: i for i, v in enumerate(rep_vals)}
        for n, ((r, sf, t), label) in enumerate(zip(spectra[: len(spec_rows)], labels)):
            key = (fi[r["fluence_mJ_cm2"]], pi[label], ri[r["repeat"]])
            if key in filled:
                raise InputFileError(
                    sf.path,
                    f"same fluence {r['fluence_mJ_cm2']:g} mJ/cm2, polarization {label}, repeat {r['repeat']} "
                    f"as {filled[key]}{_where(r, info)}",
                )
            filled[key] = sf.path
            level = _saturation_level(sf, saturation_level)
            raw = sf.counts
            is_nan = ~np.isfinite(raw)
            is_sat = np.zeros(nwl, dtype=bool)
            np.greater_equal(raw, level, out=is_sat, where=~is_nan)
            dark_note = "none"
            if darks:
                dark, dark_note, exact = darks(t)
                if not exact:
                    inexact.append(sf.path.name)
                is_nan = is_nan | ~np.isfinite(dark)
                value = (raw - dark) / t
            else:
                value = raw / t
            bad = is_nan | is_sat
            value = np.where(bad, np.nan, value)
            spec[key] = value
            sat[key] = bad
            nan_flag[key] = is_nan
            itime[key] = t
            if f_meas is not None:
                f_meas_arr[key] = f_meas[n]
            acq_arr[key] = acq[n]
            provenance.append(
                {
                    "file": _rel(sf.path, base),
                    "kind": "spectrum",
                    "format": sf.format,
                    "fluence_mJ_cm2": r["fluence_mJ_cm2"],
                    "polarization": label,
                    "polarization_given": str(r["polarization"]),
                    "repeat": r["repeat"],
                    "acquisition_index": acq[n],
                    "integration_time_s": t,
                    "saturation_level": level,
                    "n_saturated": int(is_sat.sum()),
                    "n_nan": int(is_nan.sum()),
                    "dark": dark_note,
                    **{c: r[c] for c in MEASURED_COLUMNS if r.get(c) is not None},
                    "metadata": sf.metadata,
                }
            )
        for _r, sf, t in spectra[len(spec_rows) :]:
            provenance.append(
                {
                    "file": _rel(sf.path, base),
                    "kind": "dark",
                    "format": sf.format,
                    "integration_time_s": t,
                    "metadata": sf.metadata,
                }
            )
        if not darks:
            attrs["dark_subtracted"] = 0
            warnings.warn(
                f"{base}: no dark spectra; nothing was subtracted, counts/s include the dark offset",
                AssemblyWarning,
                stacklevel=2,
            )
        else:
            attrs["dark_subtracted"] = 1
            if inexact:
                warnings.warn(
                    f"{len(inexact)} spectra have no dark at their integration time; the dark was "
                    f"{darks.inexact_method} "
                    f"(e.g. {', '.join(inexact[:3])})",
                    AssemblyWarning,
                    stacklevel=2,
                )
        absent = [
            {"fluence_mJ_cm2": flu_vals[a], "polarization": pol_list[b], "repeat": int(rep_vals[c])}
            for a in range(shape[0])
            for b in range(shape[1])
            for c in range(shape[2])
            if (a, b, c) not in filled
        ]
        if absent:
            text = ", ".join(
                f"({m['fluence_mJ_cm2']:g}, {m['polarization']}, {m['repeat']})" for m in absent[:6]
            )
            msg = (
                f"{len(absent)} (fluence, polarization, repeat) combination(s) have no file: {text}"
                + (" ..." if len(absent) > 6 else "")
            )
            if missing == "raise":
                raise InputFileError(Path(info.get("manifest", base)), msg)
            warnings.warn(f"{msg}; they are NaN", AssemblyWarning, stacklevel=2)
            attrs["missing_acquisitions"] = json.dumps(absent)
        n_sat = int(sat.sum() - nan_flag.sum())
        if n_sat:
            warnings.warn(
                f"{n_sat} saturated pixel(s) masked to NaN and flagged in 'saturated'",
                AssemblyWarning,
                stacklevel=2,
            )
        dims4 = ("fluence", "polarization", "repeat", "wavelength")
        data_vars["spectrum"] = (
            dims4,
            spec,
            {"units": "counts/s", "long_name": "dark-subtracted emission spectrum"},
        )
        data_vars["saturated"] = (
            dims4,
            sat,
            {"long_name": "pixel at the saturation level or NaN in the file; NaN in spectrum"},
        )
        data_vars["nan_in_file"] = (
            dims4,
            nan_flag,
            {"long_name": "pixel NaN in the spectrum or dark file"},
        )
        data_vars["integration_time"] = (dims4[:3], itime, {"units": "s"})
        if f_meas is not None:
            data_vars["fluence_measured"] = (
                dims4[:3],
                f_meas_arr,
                {
                    "units": "mJ/cm**2",
                    "long_name": "peak pump fluence measured for each spectrum (power meter); "
                    "NaN = missing acquisition",
                },
            )
        coords["wavelength"] = ("wavelength", wl, {"units": "nm", "long_name": "pixel wavelength"})
        coords["repeat"] = ("repeat", np.arange(len(rep_vals), dtype=np.int64), {"units": "1"})
        if rep_vals != list(range(len(rep_vals))):
            attrs["repeat_labels"] = json.dumps(rep_vals)
        spec_grid = (flu_vals, pol_list)
        coords["acquisition_index"] = (
            dims4[:3],
            acq_arr,
            {"units": "1", "long_name": "acquisition order; -1 = missing"},
        )

    # ---- TCSPC ---------------------------------------------------------------------------
    tc_files = []
    irf = None
    for r in tc_rows:
        df = read_decay(r["file"], channel=r.get("detector_channel"))
        if tc_files or irf is not None:
            first = tc_files[0][1] if tc_files else irf[1]
            if (
                not math.isclose(df.channel_width_ns, first.channel_width_ns, rel_tol=1e-9)
                or df.counts.size != first.counts.size
            ):
                raise InputFileError(
                    df.path,
                    f"{df.counts.size} channels of {df.channel_width_ns:g} ns, but {first.path} has "
                    f"{first.counts.size} of {first.channel_width_ns:g} ns; all TCSPC files must share one time axis",
                )
        label = None
        if r["kind"] == "irf":
            if irf is not None:
                raise InputFileError(
                    df.path, f"a second IRF (first: {irf[1].path}); the measurement holds one IRF"
                )
            irf = (r, df)
        else:
            label = norm_pol(r)
            tc_files.append((r, df, label))
        provenance.append(
            {
                "file": _rel(df.path, base),
                "kind": r["kind"],
                "format": df.format,
                "fluence_mJ_cm2": r["fluence_mJ_cm2"],
                "polarization": label,
                "detection_wavelength_nm": r["detection_wavelength_nm"],
                "channel_width_ns": df.channel_width_ns,
                **{c: r[c] for c in MEASURED_COLUMNS if r.get(c) is not None},
                "metadata": df.metadata,
            }
        )
    fluences.update(float(r["fluence_mJ_cm2"]) for r, _, _ in tc_files)
    pols.update(lab for _, _, lab in tc_files)
    flu_all = sorted(fluences)
    pol_all = sorted(pols, key=lambda lab: (pol_info[lab][0], lab))
    if spec_rows and (flu_all != spec_grid[0] or pol_all != spec_grid[1]):
        # decays add fluences/polarizations without spectra: widen the spectral grid with NaN
        partial = xr.Dataset(
            {k: v for k, v in data_vars.items()},
            coords={"fluence": spec_grid[0], "polarization": spec_grid[1], **coords},
        )
        partial = partial.reindex(fluence=flu_all, polarization=pol_all)
        partial["saturated"] = partial["saturated"].fillna(False).astype(bool)
        partial["nan_in_file"] = partial["nan_in_file"].fillna(False).astype(bool)
        partial["acquisition_index"] = partial["acquisition_index"].fillna(-1).astype(np.int64)
        data_vars = {k: partial[k].variable for k in data_vars}
        coords["acquisition_index"] = partial["acquisition_index"].variable
    if tc_files or irf is not None:
        first = tc_files[0][1] if tc_files else irf[1]
        coords["time"] = (
            "time",
            first.time_ns,
            {"units": "ns", "long_name": "TCSPC channel centre time"},
        )
        attrs["tcspc_channel_width_ns"] = first.channel_width_ns
        if tcspc_repetition_period_ns is not None:
            attrs["tcspc_repetition_period_ns"] = float(tcspc_repetition_period_ns)
    if tc_files:
        det = sorted({float(r["detection_wavelength_nm"]) for r, _, _ in tc_files})
        fi = {f: i for i, f in enumerate(flu_all)}
        pi = {p: i for i, p in enumerate(pol_all)}
        di = {d: i for i, d in enumerate(det)}
        dec = np.full((len(flu_all), len(pol_all), len(det), first.counts.size), np.nan)
        seen: dict[tuple, Path] = {}
        for r, df, label in tc_files:
            key = (
                fi[float(r["fluence_mJ_cm2"])],
                pi[label],
                di[float(r["detection_wavelength_nm"])],
            )
            if key in seen:
                raise InputFileError(
                    df.path, f"same fluence, polarization and detection wavelength as {seen[key]}"
                )
            seen[key] = df.path
            dec[key] = df.counts
        data_vars["decay"] = (
            ("fluence", "polarization", "detection_wavelength", "time"),
            dec,
            {"units": "counts", "long_name": "TCSPC histogram; NaN where not measured"},
        )
        coords["detection_wavelength"] = ("detection_wavelength", np.asarray(det), {"units": "nm"})
    if irf is not None:
        data_vars["irf"] = (
            "time",
            irf[1].counts,
            {"units": "counts", "long_name": "instrument response function"},
        )

    coords["fluence"] = (
        "fluence",
        np.asarray(flu_all, dtype=np.float64),
        {"units": "mJ/cm**2", "long_name": "peak pump fluence"},
    )
    if pol_all:
        coords["polarization"] = ("polarization", np.asarray(pol_all, dtype=object))
        coords["qwp_angle"] = (
            "polarization",
            np.array([pol_info[p][0] for p in pol_all]),
            {"units": "deg"},
        )
        coords["docp"] = (
            "polarization",
            np.array([pol_info[p][1] for p in pol_all]),
            {"units": "1"},
        )
    attrs["provenance"] = json.dumps(to_jsonable(provenance, nonfinite="str"))
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
