"""The whole pipeline on synthetic sweeps with a known truth."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from polase.analysis import AnalysisConfig, analyze, extract_features, to_jsonable
from polase.errors import ConfigError, DataValidationError

from .conftest import ASE_PEAK, F_TH, PL_FWHM, PL_PEAK

REQUIRED = (
    "threshold_mJ_cm2",
    "threshold_fwhm_mJ_cm2",
    "slope_below_threshold",
    "photon_order",
    "pl_peak_nm",
    "pl_fwhm_nm",
    "ase_peak_nm",
    "ase_fwhm_nm",
    "per_fluence",
)
PER_FLUENCE = (
    "fluence_mJ_cm2",
    "peak_nm",
    "fwhm_nm",
    "intensity_pl",
    "intensity_ase",
    "delta_ase",
    "delta_ase_ci95",
    "delta_pl",
    "delta_pl_ci95",
    "saturated",
)


@pytest.fixture(scope="module")
def result():
    from .conftest import make_measurement

    ds = make_measurement(seed=3)
    feats = extract_features(ds)
    return ds, feats, analyze(ds, features=feats)


def test_schema_keys_and_json(result):
    _, _, r = result
    for k in REQUIRED:
        assert k in r
    for k in ("threshold_mJ_cm2", "threshold_fwhm_mJ_cm2"):
        assert set(r[k]) >= {"value", "ci95", "method"}
    for e in r["per_fluence"]:
        assert set(e) >= set(PER_FLUENCE)
    text = json.dumps(to_jsonable(r), allow_nan=False)
    assert json.loads(text)["photon_order"] == 2


def test_loglog_threshold_sits_at_the_onset(result):
    ds, feats, r = result
    rl = analyze(ds, AnalysisConfig(threshold_scale="loglog", n_bootstrap=200), features=feats)
    assert rl["threshold_mJ_cm2"]["method"] == "loglog_hinge_fit"
    assert 0.9 * F_TH < rl["threshold_mJ_cm2"]["value"] < 1.05 * F_TH
    assert rl["threshold_mJ_cm2"]["value"] < r["threshold_mJ_cm2"]["value"]


def test_values_match_the_synthetic_truth(result):
    _, _, r = result
    assert r["pl_peak_nm"]["value"] == pytest.approx(PL_PEAK, abs=0.5)
    assert r["pl_fwhm_nm"]["value"] == pytest.approx(PL_FWHM, rel=0.03)
    assert r["ase_peak_nm"]["value"] == pytest.approx(ASE_PEAK, abs=1.0)
    # the ASE band rises as (F - F_TH)^1.5 above F_TH: two straight lines meet a little
    # above the onset (the log-log kink sits just below it, see the next test)
    assert r["threshold_mJ_cm2"]["method"] == "linear_hinge_fit"
    assert F_TH < r["threshold_mJ_cm2"]["value"] < 1.1 * F_TH
    assert r["threshold_fwhm_mJ_cm2"]["value"] > r["threshold_mJ_cm2"]["value"]
    lo, hi = r["slope_below_threshold"]["ci95"]
    assert lo < 1.7 < hi
    # Delta_ASE grows above threshold, Delta_PL stays ~0 below it
    d = {e["fluence_mJ_cm2"]: e for e in r["per_fluence"]}
    assert d[17.0]["delta_ase"] > d[15.0]["delta_ase"] > 0.05
    for f in (4.0, 8.0, 10.0):
        lo, hi = d[f]["delta_pl_ci95"]
        assert lo < 0.05 and hi > -0.05


def test_feature_units_and_dims(result):
    _ds, feats, _ = result
    assert feats["peak_nm"].dims == ("fluence", "polarization", "repeat")
    assert feats["peak_nm"].attrs["units"] == "nm"
    assert feats["intensity_ase"].attrs["units"] == "counts*nm"
    assert "acquisition_index" in feats.coords
    assert feats["masked"].dtype == bool and not feats["masked"].any()
    # band fits: Gaussian FWHM close to the half-maximum width for the pure PL spectra
    low = feats["fwhm_fit_nm"].sel(fluence=4.0, polarization="linear")
    np.testing.assert_allclose(low, PL_FWHM, rtol=0.05)
    # the two-band decomposition finds no ASE below threshold and much above it
    ase = feats["ase_component"].sel(polarization="linear").mean("repeat")
    pl = feats["pl_component"].sel(polarization="linear").mean("repeat")
    assert float(ase.sel(fluence=8.0)) < 0.05 * float(pl.sel(fluence=8.0))
    assert float(ase.sel(fluence=17.0)) > float(pl.sel(fluence=17.0))


def test_dark_offset_on_a_wide_detector_is_removed(synth):
    wide = synth(seed=5, n_pixels=2048, wl_range=(200.0, 1025.0), dark=500.0)
    cfg = AnalysisConfig(band_fits=False)
    feats = extract_features(wide, cfg)
    np.testing.assert_allclose(feats["baseline"], 500.0, rtol=0.02)
    r = analyze(wide, cfg, features=feats)
    # the lowest fluence has a peak SNR of ~4 per pixel here: check against the interval
    lo, hi = r["pl_fwhm_nm"]["ci95"]
    assert lo < PL_FWHM < hi
    assert r["slope_below_threshold"]["value"] == pytest.approx(1.7, abs=0.05)


def test_saturated_pixels_are_flagged_and_never_a_silent_number(synth):
    ds = synth(seed=2)
    wl = ds["wavelength"].values
    ipk = int(np.argmin(np.abs(wl - ASE_PEAK)))
    sat = ds["saturated"].values.copy()
    spec = ds["spectrum"].values.copy()
    # the detector clips at the ASE peak in repeat 1 of circular at 17 mJ/cm2
    sat[-1, 1, 1, ipk - 2 : ipk + 3] = True
    spec[sat] = np.nan
    ds["saturated"].values[:] = sat
    ds["spectrum"].values[:] = spec
    r = analyze(ds)
    top = r["per_fluence"][-1]
    assert top["saturated"] is True
    assert top["delta_ase"] is None and top["delta_ase_ci95"] is None
    assert all(not e["saturated"] for e in r["per_fluence"][:-1])
    assert r["per_fluence"][-2]["delta_ase"] is not None
    feats = extract_features(ds)
    hit = feats.isel(fluence=-1, polarization=1, repeat=1)
    assert bool(hit["masked"])
    for v in (
        "peak_nm",
        "fwhm_nm",
        "intensity_ase",
        "value_at_ase_peak",
        "fwhm_fit_nm",
        "ase_component",
    ):
        assert np.isnan(float(hit[v])), v
    # the linear reference at that fluence is untouched
    assert np.isfinite(float(feats["intensity_ase"].isel(fluence=-1, polarization=0, repeat=1)))
    # NaN -> null in JSON
    assert (
        json.loads(json.dumps(to_jsonable(r), allow_nan=False))["per_fluence"][-1]["delta_ase"]
        is None
    )


def test_saturated_reference_fluence_is_excluded_and_reported(synth):
    ds = synth(seed=2)
    wl = ds["wavelength"].values
    ipk = int(np.argmin(np.abs(wl - ASE_PEAK)))
    ds["spectrum"].values[-1, :, :, ipk - 2 : ipk + 3] = np.nan
    ds["saturated"].values[-1, :, :, ipk - 2 : ipk + 3] = True
    r = analyze(ds, AnalysisConfig(band_fits=False))
    assert r["ase_fwhm_nm"]["fluence_mJ_cm2"] == 16.0  # highest unmasked
    assert r["threshold_mJ_cm2"]["excluded_fluences_mJ_cm2"] == [17.0]
    assert r["per_fluence"][-1]["intensity_ase"] is None
    with pytest.raises(DataValidationError, match="17 mJ/cm2 has a masked"):
        analyze(ds, AnalysisConfig(ase_reference_fluence=17.0, band_fits=False))


def test_drift_cancels_in_paired_delta(synth, synth_noiseless):
    ds = synth(seed=4, drift=0.01)  # 1 % per acquisition: +10 % between repeats 0 and 4
    truth = analyze(synth_noiseless(synth(seed=4)), AnalysisConfig(band_fits=False))
    r = analyze(ds, AnalysisConfig(band_fits=False))
    covered = 0
    for e, t in zip(r["per_fluence"], truth["per_fluence"]):
        lo, hi = e["delta_ase_band_ci95"]
        covered += lo <= t["delta_ase_band"] <= hi
    assert covered >= 10  # of 12; unpaired, the +1 % offset per L->C step biases every point


def test_reference_fluence_options_and_config_errors(synth):
    ds = synth(seed=1)
    r = analyze(
        ds, AnalysisConfig(pl_reference_fluence=8.2, ase_reference_fluence=16.4, band_fits=False)
    )
    assert r["pl_peak_nm"]["fluence_mJ_cm2"] == 8.0
    assert r["ase_peak_nm"]["fluence_mJ_cm2"] == 16.0
    with pytest.raises(ConfigError, match="baseline"):
        AnalysisConfig(baseline="median")
    with pytest.raises(ConfigError, match="reference_polarization"):
        analyze(ds, AnalysisConfig(reference_polarization="qwp_10deg"))
    with pytest.raises(DataValidationError, match="spectrum"):
        analyze(ds.drop_vars("spectrum"))
    with pytest.raises(DataValidationError, match="dims"):
        analyze(ds.transpose("polarization", "fluence", "repeat", "wavelength"))


@pytest.mark.slow
def test_simulated_sweep_with_decays_end_to_end():
    polase = pytest.importorskip("polase")
    # the acceptance-test grid: the physics sweep is cached between the two tests
    ds = polase.simulate(
        repeats=3,
        seed=11,
        fluence=[4.0, 6.0, 8.0, 10.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0],
    )
    r = to_jsonable(analyze(ds))
    json.dumps(r, allow_nan=False)
    assert r["photon_order"] == 2
    assert r["source"] == "simulation"
    decays = r["decays"]
    n_expected = int(np.isfinite(ds["decay"].values).all(axis=-1).sum())
    assert len(decays) == n_expected > 0
    for d in decays:
        assert d["components"] == 2 and d["success"]
        assert len(d["tau_ns"]) == 2 and d["tau_ns"][0] <= d["tau_ns"][1]
        assert d["tau_amplitude_weighted_ns"] <= d["tau_intensity_weighted_ns"]
    # the polarizations of one fluence and wavelength are separate fits
    keys = {(d["fluence_mJ_cm2"], d["polarization"], d["detection_wavelength_nm"]) for d in decays}
    assert len(keys) == len(decays)


def test_repeat_mean_equals_nanmean_of_the_masked_spectra(rng):
    from polase.analysis.features import _repeat_mean

    y = rng.normal(size=(3, 2, 4, 16)) * 10 + 100
    base = rng.normal(size=(3, 2, 4))
    y[0, 1, 2, 5] = np.nan
    y[1, 1, :, 7] = np.nan  # NaN in every repeat: stays NaN
    sat = np.zeros(y.shape, bool)
    sat[2, 1, 0, 3:6] = True
    for mask in (None, sat):
        masked = y if mask is None else np.where(mask, np.nan, y)
        with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
            expected = np.nanmean(masked[:, 1] - base[:, 1, :, None], axis=1)
        got = _repeat_mean(y, mask, base, 1)
        assert np.array_equal(got, expected, equal_nan=True)
        assert np.isnan(got[1, 7]) and np.isfinite(got[0, 5])


def _mis_set(synth, factor=1.05):
    """A sweep whose set points are off: the sample saw `factor` x the nominal fluence, and
    a power meter recorded it (with a missing acquisition's NaN at one repeat)."""
    from .conftest import FLUENCES

    true = synth(seed=5, fluence=FLUENCES * factor)
    meas = true.assign_coords(fluence=("fluence", FLUENCES, {"units": "mJ/cm**2"}))
    fm = np.broadcast_to(FLUENCES[:, None, None] * factor, (FLUENCES.size, 2, 5)).copy()
    fm[3, 0, 2] = np.nan
    meas["fluence_measured"] = (("fluence", "polarization", "repeat"), fm, {"units": "mJ/cm**2"})
    return true, meas


def test_measured_fluence_axis_undoes_a_miscalibrated_attenuator(synth):
    cfg = AnalysisConfig(band_fits=False, n_bootstrap=200)
    true, meas = _mis_set(synth)
    rt = analyze(true, cfg)  # the truth: the sweep at the fluences the sample saw
    ra = analyze(meas, cfg)  # auto: the measured fluence is there, so it is used
    rn = analyze(meas, dataclasses.replace(cfg, fluence_axis="nominal"))
    assert rt["fluence_axis"] == "nominal" and rn["fluence_axis"] == "nominal"
    assert ra["fluence_axis"] == "fluence_measured"
    for key in ("threshold_mJ_cm2", "threshold_fwhm_mJ_cm2", "slope_below_threshold"):
        assert ra[key]["value"] == pytest.approx(rt[key]["value"], rel=1e-9), key
        assert ra[key]["ci95"] == pytest.approx(rt[key]["ci95"], rel=1e-9), key
    # on the nominal axis every threshold is the truth / 1.05 (a hinge scales with x);
    # the log-log slope is scale-free and does not move
    for key in ("threshold_mJ_cm2", "threshold_fwhm_mJ_cm2"):
        assert rn[key]["value"] == pytest.approx(rt[key]["value"] / 1.05, rel=1e-9), key
    assert rn["slope_below_threshold"]["value"] == pytest.approx(
        rt["slope_below_threshold"]["value"], rel=1e-9
    )
    # Delta and the per-fluence records stay on the nominal steps
    assert [e["fluence_mJ_cm2"] for e in ra["per_fluence"]] == list(meas.fluence.values)
    assert ra["config"]["fluence_axis"] == "auto"


def test_fluence_axis_choices_and_errors(synth):
    cfg = AnalysisConfig(band_fits=False, n_bootstrap=200, fluence_axis="fluence_measured")
    true, meas = _mis_set(synth)
    with pytest.raises(DataValidationError, match="no 'fluence_measured' variable"):
        analyze(true, cfg)
    with pytest.raises(ConfigError, match="fluence_axis"):
        AnalysisConfig(fluence_axis="measured")
    # a measured axis that is not increasing: explicit -> error, auto -> nominal and a note
    bad = meas.copy()
    bad["fluence_measured"] = bad["fluence_measured"][::-1].assign_coords(fluence=meas.fluence)
    with pytest.raises(DataValidationError, match="strictly increasing"):
        analyze(bad, cfg)
    r = analyze(bad, dataclasses.replace(cfg, fluence_axis="auto"))
    assert r["fluence_axis"] == "nominal"
    assert any(n.startswith("fluence axis: 'fluence_measured'") for n in r["notes"])
    # measured wins over the simulation's delivered fluence in auto; each can be chosen
    both = meas.assign(pump_fluence_actual=meas["fluence_measured"] * 1.01)
    assert analyze(both, dataclasses.replace(cfg, fluence_axis="auto"))["fluence_axis"] == (
        "fluence_measured"
    )
    pick = dataclasses.replace(cfg, fluence_axis="pump_fluence_actual")
    assert analyze(both, pick)["fluence_axis"] == "pump_fluence_actual"
