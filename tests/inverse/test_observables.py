"""Band intensities, noise model and reduction of a measurement Dataset."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from polase.errors import DataValidationError
from polase.inverse import observations_from_samples, reduce_measurement
from polase.inverse.observables import band_intensity, fit_noise_model


def test_band_intensity_is_exact_for_piecewise_linear_spectra():
    lam = np.linspace(500.0, 560.0, 151)  # 0.4 nm pixels: window edges fall between them
    spec = np.stack([2 * lam + 1, np.full_like(lam, 3.0)])
    got = band_intensity(lam, spec, (530.3, 536.1))
    exact = (536.1**2 + 536.1) - (530.3**2 + 530.3)
    assert got == pytest.approx([exact, 3.0 * 5.8], rel=1e-12)
    # a window inside one pixel interval
    assert band_intensity(lam, spec[1], (530.41, 530.5)) == pytest.approx(3.0 * 0.09)
    with pytest.raises(DataValidationError, match="inside the wavelength axis"):
        band_intensity(lam, spec, (490.0, 510.0))


def test_noise_model_recovers_read_shot_and_multiplicative_terms(rng):
    mean = np.geomspace(1e2, 1e6, 60)
    c_true = np.array([400.0, 2.0, 1e-4])
    var_true = c_true[0] + c_true[1] * mean + c_true[2] * mean**2
    r = 200
    samples = mean[:, None] + np.sqrt(var_true)[:, None] * rng.standard_normal((mean.size, r))
    c = fit_noise_model(samples.mean(1), samples.var(1, ddof=1), np.full(mean.size, r - 1))
    pred = c[0] + c[1] * mean + c[2] * mean**2
    assert np.all(np.abs(pred / var_true - 1) < 0.15)
    with pytest.raises(DataValidationError, match="at least 3"):
        fit_noise_model([1.0, 2.0], [0.1, 0.2], [4, 4])


def _dataset(rng, units="counts", offset=1000.0, t_int=0.01):
    lam = np.linspace(450.0, 650.0, 501)
    fl = np.array([5.0, 10.0, 15.0, 20.0])
    pol = ["linear", "qwp_22.5deg", "circular"]
    r = 4
    amp = fl[:, None] ** 2 * np.array([1.0, 1.05, 1.1])[None, :]  # (F, A)
    shape = np.exp(-0.5 * ((lam - 533.0) / 8.0) ** 2)
    clean = np.broadcast_to(
        amp[:, :, None, None] * shape * t_int * 1e3, (fl.size, len(pol), r, lam.size)
    )
    noisy = clean + offset + rng.normal(0.0, 5.0, clean.shape)  # counts
    ds = xr.Dataset(
        {
            "spectrum": (
                ("fluence", "polarization", "repeat", "wavelength"),
                noisy,
                {"units": units},
            ),
            "integration_time": ((), t_int, {"units": "s"}),
        },
        coords={
            "fluence": ("fluence", fl, {"units": "mJ/cm**2"}),
            "polarization": pol,
            "repeat": np.arange(r),
            "wavelength": ("wavelength", lam, {"units": "nm"}),
            "acquisition_index": (
                ("fluence", "polarization", "repeat"),
                np.arange(fl.size * len(pol) * r).reshape(fl.size, len(pol), r),
            ),
        },
    )
    return ds, amp, shape, lam


def test_reduce_measurement_subtracts_baseline_and_divides_integration_time(rng):
    ds, amp, shape, lam = _dataset(rng)
    windows = {"pl": (530.0, 536.0), "ase": (540.0, 546.0)}
    obs = reduce_measurement(ds, windows)
    expect = {b: amp * band_intensity(lam, shape, w) * 1e3 for b, w in windows.items()}
    for i, b in enumerate(obs.bands):
        assert np.allclose(obs.y[i], expect[b], rtol=0.02)
    assert np.allclose(obs.qwp_angle, [0.0, 22.5, 45.0])
    assert np.allclose(obs.docp, np.sin(np.deg2rad([0.0, 45.0, 90.0])))
    assert obs.n_data == 2 * 4 * 3
    assert obs.drift_time.shape == (4, 3) and obs.drift_time.min() > 0 and obs.drift_time.max() < 1
    # saturated pixels inside a band make that band NaN for that spectrum only
    sat = np.zeros(ds["spectrum"].shape, bool)
    sat[3, 2, 0, 210] = True  # 534 nm
    ds["saturated"] = (ds["spectrum"].dims, sat)
    obs2 = reduce_measurement(ds, windows)
    assert obs2.n_repeats[0, 3, 2] == 3 and obs2.n_repeats[1, 3, 2] == 4


def test_bad_polarization_label_and_missing_spectrum(rng):
    ds, *_ = _dataset(rng)
    bad = ds.assign_coords(polarization=["linear", "elliptic", "circular"])
    with pytest.raises(DataValidationError, match="'elliptic' has no quarter-wave-plate angle"):
        reduce_measurement(bad)
    with pytest.raises(DataValidationError, match="no 'spectrum'"):
        reduce_measurement(ds.drop_vars("spectrum"))


def test_model_error_floor_and_subset(rng):
    s = rng.normal(100.0, 1.0, (2, 3, 2, 5))
    obs = observations_from_samples([1.0, 2.0, 3.0], [0.0, 45.0], [0.0, 1.0], s, ("pl", "ase"))
    wide = obs.with_model_error(0.05)
    assert np.allclose(wide.sigma, np.sqrt(obs.sigma**2 + (0.05 * obs.y) ** 2))
    sub = obs.subset(fluence_idx=[0, 2], angle_idx=[1])
    assert sub.y.shape == (2, 2, 1) and np.allclose(sub.y, obs.y[:, [0, 2]][:, :, [1]])


def test_band_intensity_is_the_analysis_function():
    from polase.analysis import spectra as sp

    lam = np.linspace(500.0, 560.0, 151)
    spec = np.exp(-0.5 * ((lam - 533.0) / 9.0) ** 2)
    got = band_intensity(lam, spec, (530.3, 536.1))
    assert got == sp.band_intensity(lam, spec, 530.3, 536.1, edges="interpolate")
    # on pixel edges both edge rules integrate the same trapezoids
    assert sp.band_intensity(lam, spec, 530.0, 536.0) == pytest.approx(
        band_intensity(lam, spec, (530.0, 536.0)), rel=1e-12
    )


def test_windows_follow_an_analysis_result():
    from polase.analysis import AnalysisResult
    from polase.inverse.observables import windows_from_result

    res = AnalysisResult.from_dict(
        {"windows": {"delta_pl_wavelength_nm": 520.0, "delta_ase_wavelength_nm": 531.0}}
    )
    assert windows_from_result(res, 2.0) == {"pl": (518.0, 522.0), "ase": (529.0, 533.0)}
    assert windows_from_result(AnalysisResult()) is None
