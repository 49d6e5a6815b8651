"""Spectrometer model: calibration, slit, photon conservation, noise, saturation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from polase.errors import ConfigError, DataValidationError
from polase.instruments.spectrometer import (
    SpectrometerConfig,
    measure_spectrum,
    pixel_edges,
    pixel_gain,
    pixel_wavelengths,
    slit_function,
)

SIGMA_PER_FWHM = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def _small(**kw):
    """A 64-pixel spectrometer around 500-532 nm (fast noise tests)."""
    base = dict(n_pixels=64, calibration=(500.0, 0.5, 0.0, 0.0))
    base.update(kw)
    return SpectrometerConfig(**base)


def _signal(result, config):
    """Expected counts minus offset and dark."""
    dark = config.dark_counts_per_s * config.integration_time_s
    return result["expected"] - config.electronic_offset_counts - dark


# --- calibration ---------------------------------------------------------------------------


def test_default_calibration_covers_flame_range():
    config = SpectrometerConfig()
    wl = pixel_wavelengths(config)
    assert wl.shape == (2048,)
    assert wl[0] == pytest.approx(200.0)
    assert wl[-1] == pytest.approx(1025.0, abs=0.05)
    assert np.all(np.diff(wl) > 0)


def test_calibration_polynomial_and_edges():
    cal = (350.0, 0.3, 2.0e-5, -3.0e-9)
    config = SpectrometerConfig(n_pixels=1000, calibration=cal)
    px = np.arange(1000.0)
    expect = cal[0] + cal[1] * px + cal[2] * px**2 + cal[3] * px**3
    np.testing.assert_allclose(pixel_wavelengths(config), expect, rtol=1e-13)
    edges = pixel_edges(config)
    assert edges.shape == (1001,)
    # Edges interleave the centres.
    assert np.all(edges[:-1] < expect) and np.all(expect < edges[1:])


@pytest.mark.parametrize(
    "cal",
    [
        (200.0, 0.4, -2.0e-4, 0.0),  # slope turns negative before the last pixel
        (200.0, -0.4, 0.0, 0.0),  # decreasing
        (200.0, 0.4, 0.0, -1.0e-7),  # cubic turns over
    ],
)
def test_non_monotonic_calibration_rejected(cal):
    with pytest.raises(ConfigError) as err:
        SpectrometerConfig(calibration=cal)
    assert err.value.key == "calibration"
    assert "increasing" in str(err.value)


def test_calibration_shape_and_sign_rejected():
    with pytest.raises(ConfigError, match="calibration"):
        SpectrometerConfig(calibration=(200.0, 0.4, 0.0))
    with pytest.raises(ConfigError, match="non-positive"):
        SpectrometerConfig(calibration=(-10.0, 0.4, 0.0, 0.0))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("integration_time_s", 0.0),
        ("averages", 1.5),
        ("averages", 0),
        ("resolution_fwhm_nm", -1.0),
        ("nonlinearity", 0.5),
        ("nonlinearity", -0.1),
        ("read_noise_counts", float("nan")),
        ("counts_per_photon", 0.0),
        ("slit_shape", "lorentzian"),
        ("n_pixels", 1),
        ("dark_counts_per_s", "100"),
    ],
)
def test_bad_config_names_the_key(key, value):
    with pytest.raises(ConfigError) as err:
        SpectrometerConfig(**{key: value})
    assert err.value.key == key


def test_saturation_must_exceed_offset():
    with pytest.raises(ConfigError) as err:
        SpectrometerConfig(saturation_counts=500.0, electronic_offset_counts=1000.0)
    assert err.value.key == "saturation_counts"


def test_bad_slit_table():
    with pytest.raises(ConfigError, match="slit_table"):
        SpectrometerConfig(slit_table=([0.0, 1.0, 0.5], [1.0, 1.0, 1.0]))
    with pytest.raises(ConfigError, match="slit_table"):
        SpectrometerConfig(slit_table=([-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]))


# --- slit function -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["gaussian", "triangular", "boxcar"])
def test_slit_function_unit_area_and_fwhm(shape):
    u = np.linspace(-10.0, 10.0, 400001)
    k = slit_function(u, 1.5, shape)
    assert np.trapezoid(k, u) == pytest.approx(1.0, rel=1e-4)
    if shape != "boxcar":
        peak = slit_function(0.0, 1.5, shape)
        assert slit_function(0.75, 1.5, shape) == pytest.approx(0.5 * peak, rel=1e-12)


def test_slit_function_table_normalised():
    u = np.linspace(-3, 3, 61)
    table = (u, 7.0 * np.exp(-0.5 * u**2))
    k = slit_function(np.linspace(-5, 5, 100001), table=table)
    assert np.trapezoid(k, np.linspace(-5, 5, 100001)) == pytest.approx(1.0, rel=1e-6)


# --- photon conservation and line shape ----------------------------------------------------


@pytest.mark.parametrize("shape", ["gaussian", "triangular", "boxcar", "table"])
def test_photon_conservation(shape):
    kw = (
        {"slit_shape": shape}
        if shape != "table"
        else {"slit_table": (np.linspace(-2, 2, 41), 1.0 + np.cos(np.linspace(-np.pi, np.pi, 41)))}
    )
    config = SpectrometerConfig(**kw)
    x = np.linspace(400.0, 700.0, 1201)  # coarser than the pixels on purpose
    spec = 3.0e6 * np.exp(-0.5 * ((x - 533.0) / 8.0) ** 2) + 1.0e5 * (x > 450) * (x < 650)
    res = measure_spectrum(x, spec, config, noise=False)
    total = _signal(res, config).sum()
    integral = np.trapezoid(spec, x) * config.integration_time_s * config.counts_per_photon
    assert total == pytest.approx(integral, rel=1e-12)


def test_photons_outside_detector_are_lost():
    config = _small()  # 499.75 .. 531.75 nm
    x = np.linspace(480.0, 560.0, 801)
    spec = np.full(x.shape, 1.0e6)
    res = measure_spectrum(x, spec, config, noise=False)
    total = _signal(res, config).sum()
    inside = 1.0e6 * (pixel_edges(config)[-1] - pixel_edges(config)[0])
    assert total == pytest.approx(
        inside * config.integration_time_s * config.counts_per_photon, rel=1e-9
    )


def test_gaussian_line_matches_analytic_convolution():
    config = SpectrometerConfig()
    x = np.linspace(450.0, 620.0, 17001)
    s_line, area = 4.0, 1.0e7
    spec = area / (s_line * np.sqrt(2 * np.pi)) * np.exp(-0.5 * ((x - 533.0) / s_line) ** 2)
    res = measure_spectrum(x, spec, config, noise=False)
    # Gaussian (x) Gaussian slit = Gaussian of summed variances, integrated over each pixel.
    s_tot = np.hypot(s_line, config.resolution_fwhm_nm * SIGMA_PER_FWHM)
    e = pixel_edges(config)
    analytic = area * (ndtr((e[1:] - 533.0) / s_tot) - ndtr((e[:-1] - 533.0) / s_tot))
    analytic *= config.integration_time_s * config.counts_per_photon
    got = _signal(res, config)
    assert np.max(np.abs(got - analytic)) < 2e-5 * analytic.max()


def test_narrow_line_gives_slit_shape_and_centre():
    config = _small(resolution_fwhm_nm=3.0)
    # A 1 pm wide rectangle at 516.0005 nm: effectively a line.
    x = np.array([515.0, 515.999999, 516.0, 516.001, 516.001001, 517.0])
    spec = np.array([0.0, 0.0, 2.0e9, 2.0e9, 0.0, 0.0])
    res = measure_spectrum(x, spec, config, noise=False)
    sig = _signal(res, config)
    wl = res["wavelength"]
    centroid = (sig * wl).sum() / sig.sum()
    assert centroid == pytest.approx(516.0005, abs=1e-3)
    # Width: slit variance plus the pixel's box variance (0.5 nm wide).
    var = (sig * (wl - centroid) ** 2).sum() / sig.sum()
    expected_var = (3.0 * SIGMA_PER_FWHM) ** 2 + 0.5**2 / 12
    assert var == pytest.approx(expected_var, rel=2e-3)


# --- noise -------------------------------------------------------------------------------


def test_noise_mean_and_variance(rng):
    config = _small(read_noise_counts=20.0)
    x = np.linspace(480.0, 560.0, 161)
    spec = np.full((3000, x.size), 1.0e7)  # 3000 repeated spectra
    res = measure_spectrum(x, spec, config, rng=rng)
    counts = res["counts"][:, 10:-10]  # interior pixels: identical expected counts
    mu = res["expected"][0, 10:-10]
    np.testing.assert_allclose(mu, mu[0], rtol=1e-9)
    mu = mu[0]
    lin = mu - config.electronic_offset_counts
    var_expected = config.counts_per_electron * lin + config.read_noise_counts**2 + 1.0 / 12.0
    n = counts.size
    assert counts.mean() == pytest.approx(mu, abs=5 * np.sqrt(var_expected / n))
    # Variance: relative standard error sqrt(2/n) ~ 0.3 %.
    assert counts.var() == pytest.approx(var_expected, rel=0.02)
    assert np.all(counts == np.rint(counts))


def test_seed_reproducible_and_noise_off():
    config = _small()
    x = np.linspace(480.0, 560.0, 161)
    spec = np.full((2, 3, x.size), 1.0e6)
    a = measure_spectrum(x, spec, config, rng=7)
    b = measure_spectrum(x, spec, config, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a["counts"], b["counts"])
    assert a["counts"].shape == (2, 3, 64) and a["saturated"].shape == (2, 3, 64)
    c = measure_spectrum(x, spec, config, noise=False)
    np.testing.assert_array_equal(c["counts"], c["expected"])


@pytest.mark.parametrize("nonlinearity", [0.0, 0.01])  # fast path and read-by-read path
def test_averages_reduce_variance(rng, nonlinearity):
    x = np.linspace(480.0, 560.0, 161)
    spec = np.full((400, x.size), 1.0e7)
    single = measure_spectrum(x, spec, _small(nonlinearity=nonlinearity), rng=rng)
    avg = measure_spectrum(x, spec, _small(nonlinearity=nonlinearity, averages=16), rng=rng)
    v1 = single["counts"][:, 10:-10].var()
    v16 = avg["counts"][:, 10:-10].var()
    assert v16 / v1 == pytest.approx(1.0 / 16.0, rel=0.06)
    np.testing.assert_allclose(avg["counts"][:, 10:-10].mean(), avg["expected"][0, 20], rtol=1e-3)


def test_saturation_flags_and_clip(rng):
    config = _small()
    x = np.linspace(480.0, 560.0, 801)
    spec = 1.0e7 + 5.0e10 * np.exp(-0.5 * ((x - 516.0) / 1.0) ** 2)
    for noise in (False, True):
        res = measure_spectrum(x, spec, config, rng=rng, noise=noise)
        assert res["counts"].max() <= config.saturation_counts
        sat = res["saturated"]
        wl = res["wavelength"]
        assert sat[np.argmin(np.abs(wl - 516.0))]
        assert not sat[0] and not sat[-1]
        assert np.all(res["counts"][sat] >= config.saturation_counts - 5 * config.read_noise_counts)
    res = measure_spectrum(x, spec, config, noise=False)
    assert np.all(res["expected"][res["saturated"]] == config.saturation_counts)


def test_nonlinearity_monotonic_and_sublinear():
    x = np.linspace(480.0, 560.0, 161)
    scales = np.geomspace(1e4, 1e11, 300)
    spec = scales[:, None] * np.ones(x.size)[None, :]
    lin = measure_spectrum(x, spec, _small(), noise=False)["expected"][:, 32]
    nl = measure_spectrum(x, spec, _small(nonlinearity=0.49), noise=False)["expected"][:, 32]
    assert np.all(np.diff(nl) >= 0) and np.all(np.diff(nl[nl < nl.max()]) > 0)
    assert np.all(nl <= lin + 1e-9)
    offset = _small().electronic_offset_counts
    # Deficit at small signal is ~ a s / s_full: relative difference tends to 0.
    assert (lin[0] - nl[0]) / (lin[0] - offset) < 1e-3


def test_bad_inputs():
    config = _small()
    with pytest.raises(DataValidationError, match="strictly increasing"):
        measure_spectrum([500.0, 501.0, 500.5], [1.0, 1.0, 1.0], config)
    with pytest.raises(DataValidationError, match=">= 0"):
        measure_spectrum([500.0, 501.0], [1.0, -1.0], config)
    with pytest.raises(DataValidationError, match="shape"):
        measure_spectrum([500.0, 501.0], [1.0, 1.0, 1.0], config)
    with pytest.raises(DataValidationError, match="NaN"):
        measure_spectrum([500.0, 501.0], [1.0, np.nan], config)


def test_response_table_scales_pixels():
    table = ([400.0, 600.0], [2.0, 1.0])  # sensitivity falling linearly with wavelength
    config = _small(response_table=table)
    flat = _small()
    gain = pixel_gain(config)
    wl = pixel_wavelengths(config)
    np.testing.assert_allclose(
        gain, flat.counts_per_photon * (2.0 - (wl - 400.0) / 200.0), rtol=1e-12
    )
    x = np.linspace(480.0, 560.0, 161)
    spec = np.full(x.size, 1.0e6)
    a = _signal(measure_spectrum(x, spec, config, noise=False), config)
    b = _signal(measure_spectrum(x, spec, flat, noise=False), flat)
    np.testing.assert_allclose(a, b * gain / flat.counts_per_photon, rtol=1e-12)
    with pytest.raises(ConfigError) as err:
        _small(response_table=([400.0, 600.0], [1.0, -1.0]))
    assert err.value.key == "response_table"


@pytest.mark.parametrize(
    ("name", "decimal"),
    [("spectrasuite_usb2000.txt", "."), ("oceanview_comma_decimal.txt", ",")],
)
def test_real_ocean_optics_wavelength_axes_are_cubic(external_dir, name, decimal):
    """Real 2048-pixel Ocean Optics exports: a cubic in pixel index reproduces the
    wavelength column to its printed precision, and the fitted coefficients have the
    sign pattern and size of our default (c2 ~ -1e-5 nm, small negative c3)."""
    lines = (external_dir / "spectra" / name).read_text(encoding="latin-1").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(">>>>>Begin"))
    wl = np.array(
        [
            float(line.split("\t")[0].replace(decimal, "."))
            for line in lines[start + 1 :]
            if line.strip() and not line.startswith(">>>>>")
        ]
    )
    assert wl.size == 2048
    px = np.arange(wl.size, dtype=float)
    cal = np.polynomial.polynomial.polyfit(px, wl, 3)
    config = SpectrometerConfig(n_pixels=wl.size, calibration=tuple(cal))  # validates
    # Printed with 2-3 decimals: residual at the rounding level.
    assert np.max(np.abs(pixel_wavelengths(config) - wl)) < 0.01
    default = SpectrometerConfig().calibration
    assert -3e-5 < cal[2] < 0 and default[2] < 0
    assert abs(cal[3]) < 5e-9 and abs(default[3]) < 5e-9


def test_model_outside_detector_gives_dark_only():
    config = _small()
    x = np.linspace(600.0, 700.0, 11)
    res = measure_spectrum(x, np.full(11, 1e9), config, noise=False)
    np.testing.assert_allclose(_signal(res, config), 0.0, atol=0)


@settings(max_examples=25, derandomize=True, deadline=None)
@given(
    steps=st.lists(st.floats(0.01, 3.0), min_size=2, max_size=60),
    values=st.lists(st.floats(0.0, 1e6), min_size=61, max_size=61),
    fwhm=st.floats(0.05, 4.0),
)
def test_photon_conservation_property(steps, values, fwhm):
    """Any non-uniform grid, any non-negative spectrum inside the range: photons conserved."""
    config = _small(resolution_fwhm_nm=fwhm)
    # At most 8 nm wide, centred: >= 7 slit sigmas from the detector ends (tail < 1e-11).
    x = 511.75 + np.concatenate([[0.0], np.cumsum(steps)]) * (8.0 / max(sum(steps), 8.0))
    spec = np.asarray(values[: x.size])
    res = measure_spectrum(x, spec, config, noise=False)
    integral = np.trapezoid(spec, x) * config.integration_time_s * config.counts_per_photon
    assert _signal(res, config).sum() == pytest.approx(integral, rel=1e-10, abs=1e-9)


def test_configs_hashable_and_compared_by_value():
    t1 = (np.array([-1.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0]))
    t2 = ([-1.0, 0.0, 1.0], [0.0, 1.0, 0.0])
    assert SpectrometerConfig(slit_table=t1) == SpectrometerConfig(slit_table=t2)
    assert hash(SpectrometerConfig(slit_table=t1)) == hash(SpectrometerConfig(slit_table=t2))
    assert SpectrometerConfig(slit_table=t1) != SpectrometerConfig()
    assert SpectrometerConfig(response_table=t2) != SpectrometerConfig()
