"""`polase.simulate`: the issue-2 acceptance numbers on the default noiseless run, the Dataset
schema, bad input and the CLI. Observables are computed here with deliberately simple code,
independent of polase.paper.photonics2022.calibration and polase.analysis.

The packaged set does not meet every paper number: its data file lists the targets it
conflicts with (``[provenance] conflicts``, docs/model.md section 9). An acceptance test of
such a target is a strict xfail: it must fail here too, by this module's own measurement,
and starts failing the suite the day the twin meets it without the data file saying so.
"""

from __future__ import annotations

import json
import math
import tomllib

import numpy as np
import pytest
import xarray as xr

import polase
from polase.errors import ConfigError, OutputExistsError


@pytest.fixture(scope="module")
def ds():
    """The default run, noiseless, computed once for the module."""
    return polase.simulate(noise=False)


def _spectra(ds):
    """Noiseless spectra minus the emission-free baseline (offset + dark), 480-620 nm."""
    s = ds.spectrum_noiseless
    base = s.sel(wavelength=slice(300, 400)).median("wavelength")
    return (s - base).sel(wavelength=slice(480, 620))


def _peak(da):
    return float(da.wavelength[int(np.argmax(da.values))])


def _fwhm(da):
    y = da.values
    x = da.wavelength.values
    i = int(np.argmax(y))
    half = y[i] / 2
    left = i
    while y[left] > half:
        left -= 1
    right = i
    while y[right] > half:
        right += 1
    xl = x[left] + (half - y[left]) / (y[left + 1] - y[left]) * (x[left + 1] - x[left])
    xr = x[right - 1] + (half - y[right - 1]) / (y[right] - y[right - 1]) * (
        x[right] - x[right - 1]
    )
    return xr - xl


def _at(spec, wl):
    return spec.interp(wavelength=wl)


def _conflict(request, *targets):
    """Expect failure (strictly) where the data file lists one of `targets` as a conflict."""
    from polase.materials import calibrated_provenance

    hit = sorted(set(targets) & set(calibrated_provenance().get("conflicts", ())))
    if hit:
        reason = f"documented conflict of the packaged set: {', '.join(hit)} (docs/model.md §9)"
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


# ----------------------------------------------------------------------------- acceptance
def test_pl_peak_and_width_at_8_2(ds, request):
    _conflict(request, "pl_peak_nm_8.2", "pl_fwhm_nm_8.2")
    s = _spectra(ds).sel(fluence=8.2, polarization="linear")
    assert abs(_peak(s) - 533.0) <= 1.0
    assert abs(_fwhm(s) - 23.0) <= 1.5


@pytest.mark.parametrize("fluence", [15.0, 16.0, 17.0])
def test_ase_peak_at_543(ds, fluence, request):
    _conflict(request, f"ase_peak_nm_{fluence:g}")
    s = _spectra(ds).sel(fluence=fluence, polarization="linear")
    assert abs(_peak(s) - 543.0) <= 1.0


def test_spectrum_narrows_at_17(ds, request):
    _conflict(request, "fwhm_nm_17")
    s = _spectra(ds).sel(fluence=17.0, polarization="linear")
    assert 10.0 <= _fwhm(s) <= 16.0


def test_threshold_from_two_straight_lines(ds, request):
    _conflict(request, "threshold_mJ_cm2")
    f = ds.fluence.values
    y = _at(_spectra(ds), 543.0).sel(polarization="linear").values
    best = None
    for k in range(3, f.size - 2):
        lo = np.polyfit(f[:k], y[:k], 1)
        hi = np.polyfit(f[k:], y[k:], 1)
        sse = np.sum((np.polyval(lo, f[:k]) - y[:k]) ** 2) + np.sum(
            (np.polyval(hi, f[k:]) - y[k:]) ** 2
        )
        if best is None or sse < best[0]:
            best = (sse, lo, hi)
    _, lo, hi = best
    threshold = (hi[1] - lo[1]) / (lo[0] - hi[0])
    assert abs(threshold - 14.3) <= 0.5


def test_sub_quadratic_slope_below_threshold(ds, request):
    _conflict(request, "slope_533_chord")
    sel = (ds.fluence >= 4) & (ds.fluence <= 12)
    y = _at(_spectra(ds), 533.0).sel(polarization="linear").where(sel, drop=True)
    slope = np.polyfit(np.log(y.fluence.values), np.log(y.values), 1)[0]
    assert abs(slope - 1.7) <= 0.1


@pytest.mark.parametrize(("fluence", "target"), [(15.0, 11.0), (16.0, 14.0), (17.0, 17.0)])
def test_delta_ase(ds, fluence, target, request):
    _conflict(request, f"delta_ase_pct_{fluence:g}")
    i = _at(_spectra(ds), 543.0).sel(fluence=fluence)
    delta = 100 * (float(i.sel(polarization="circular")) / float(i.sel(polarization="linear")) - 1)
    assert abs(delta - target) <= 2.0


def test_delta_pl_vanishes_below_12(ds, request):
    _conflict(request, "max_abs_delta_533_pct_below_12")
    i = _at(_spectra(ds), 533.0).where(ds.fluence < 12, drop=True)
    delta = i.sel(polarization="circular") / i.sel(polarization="linear") - 1
    assert float(np.abs(delta).max()) < 0.01


def _one_over_e_time(trace, time):
    bg = np.median(trace[time < 5.0])
    y = trace - bg
    k = int(np.argmax(y))
    below = np.flatnonzero(y[k:] < y[k] / math.e)
    return time[k + below[0]] - time[k]


@pytest.mark.parametrize("fluence", [16.0, 18.0, 20.0])
def test_ase_decays_much_faster_than_pl(ds, fluence, request):
    if fluence == 20.0:
        # at 20 mJ/cm2, where the 533 nm intensity has not clamped, the ASE band's blue wing carries the
        # 533 nm channel and its decay is the ASE's
        _conflict(request, "clamp_533_20_over_15")
    t = ds.time.values
    d = ds.decay.sel(fluence=fluence, polarization="linear")
    tau_ase = _one_over_e_time(d.sel(detection_wavelength=543.0).values, t)
    tau_pl = _one_over_e_time(d.sel(detection_wavelength=533.0).values, t)
    assert tau_ase < tau_pl / 3


# ----------------------------------------------------------------------------- schema
def test_schema(ds):
    assert ds.attrs["source"] == "simulation"
    assert ds.attrs["polase_version"] == polase.__version__
    cfg = json.loads(ds.attrs["config"])
    from polase.materials import calibrated_model

    assert cfg["mechanism"]["name"] == calibrated_model()["mechanism"]
    expected_f = sorted(set(np.round(np.arange(4, 20.001, 0.5), 6)) | {8.2})
    np.testing.assert_allclose(ds.fluence.values, expected_f)
    assert list(ds.polarization.values) == ["linear", "circular"]
    np.testing.assert_allclose(ds.docp.values, [0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(ds.detection_wavelength.values, [533.0, 543.0])
    assert np.all(np.diff(ds.wavelength.values) > 0)
    dims = {
        "spectrum": ("fluence", "polarization", "repeat", "wavelength"),
        "saturated": ("fluence", "polarization", "repeat", "wavelength"),
        "spectrum_noiseless": ("fluence", "polarization", "wavelength"),
        "decay": ("fluence", "polarization", "detection_wavelength", "time"),
        "irf": ("time",),
        "excitation_spectrum": ("excitation_wavelength",),
    }
    for name, d in dims.items():
        assert ds[name].dims == d, name
    for name, var in ds.variables.items():
        if var.dtype.kind == "f":
            assert "units" in var.attrs, name
    assert ds.excitation_spectrum.attrs["emission_wavelength_nm"] == 533.0


def test_decays_only_at_and_above_14(ds):
    has = np.isfinite(ds.decay).all(("polarization", "detection_wavelength", "time"))
    np.testing.assert_array_equal(has.values, ds.fluence.values >= 14.0)


def test_acquisition_alternates_linear_and_circular(ds):
    idx = ds.acquisition_index
    step = idx.sel(polarization="circular") - idx.sel(polarization="linear")
    assert np.all(step == 1)
    assert sorted(idx.values.ravel()) == list(range(idx.size))


def test_netcdf_round_trip_and_no_overwrite(ds, tmp_path):
    from polase._files import write_netcdf_atomic

    out = tmp_path / "sim.nc"
    write_netcdf_atomic(ds, out)
    back = xr.open_dataset(out, engine="h5netcdf")
    np.testing.assert_allclose(back.spectrum_noiseless.values, ds.spectrum_noiseless.values)
    assert back.attrs["config"] == ds.attrs["config"]
    back.close()
    with pytest.raises(OutputExistsError):
        write_netcdf_atomic(ds, out)


# ----------------------------------------------------------------------------- behaviour
def test_noise_is_reproducible_and_unbiased():
    kw = {"fluence": [10.0], "repeats": 40, "decays": False}
    a = polase.simulate(seed=5, **kw)
    b = polase.simulate(seed=5, **kw)
    c = polase.simulate(seed=6, **kw)
    np.testing.assert_array_equal(a.spectrum.values, b.spectrum.values)
    assert not np.array_equal(a.spectrum.values, c.spectrum.values)
    mean = a.spectrum.mean("repeat").sel(wavelength=slice(525, 545))
    ref = a.spectrum_noiseless.sel(wavelength=slice(525, 545))
    # 40 repeats; read noise 50 counts, shot noise ~ sqrt(0.4 N): well within 5 %
    assert float(np.abs(mean - ref).max() / ref.max()) < 0.05


def test_qwp_scan_labels_and_docp():
    d = polase.simulate(
        fluence=[16.0], qwp_angle=[0.0, 22.5, 45.0, 60.0], repeats=1, decays=False, noise=False
    )
    assert list(d.polarization.values) == ["linear", "qwp_22.5deg", "circular", "qwp_60deg"]
    np.testing.assert_allclose(
        d.docp.values, np.sin(2 * np.deg2rad(d.qwp_angle.values)), atol=1e-12
    )


def test_intensity_independent_of_plate_angle_without_mechanism():
    d = polase.simulate(
        fluence=[10.0, 17.0],
        qwp_angle=[0.0, 30.0, 45.0],
        mechanism="none",
        repeats=1,
        decays=False,
        noise=False,
    )
    s = d.spectrum_noiseless
    np.testing.assert_allclose(s.isel(polarization=1), s.isel(polarization=0), rtol=3e-3)
    np.testing.assert_allclose(s.isel(polarization=2), s.isel(polarization=0), rtol=3e-3)


def test_detector_saturation_never_raises_the_reading():
    t_long = 0.25
    long = polase.simulate(
        fluence=[20.0], repeats=2, decays=False, spectrometer={"integration_time_s": t_long}
    )
    assert bool(long.saturated.any())
    assert bool(np.isnan(long.spectrum.where(long.saturated)).all())
    assert float(long.spectrum.max()) <= 65535
    short = polase.simulate(fluence=[20.0], repeats=1, decays=False, noise=False)
    factor = t_long / float(short.integration_time.max())
    # the long exposure's expected reading never exceeds the short one scaled up linearly
    base = 1000.0  # electronic offset
    cap = (short.spectrum_noiseless - base) * factor + base
    assert bool((long.spectrum_noiseless <= cap + 1e-6).all())
    assert float(long.spectrum_noiseless.max()) <= 65535


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"fluence": [-1.0, 5.0]}, "sweep.fluence"),
        ({"fluence": [float("nan")]}, "sweep.fluence"),
        ({"qwp_angle": [float("inf")]}, "sweep.qwp_angle"),
        ({"material.multiphoton_order": 0.5}, "material.multiphoton_order"),
        ({"numerics.wavelength_nm": [520.0, 510.0, 500.0]}, "numerics.wavelength_nm"),
        ({"numerics.wavelength_max_nm": 400.0}, "numerics.wavelength_max_nm"),
        ({"mechanism": "magic"}, "mechanism.name"),
    ],
)
def test_bad_input_names_the_key(kwargs, key):
    with pytest.raises(ConfigError) as err:
        polase.simulate(**kwargs)
    assert err.value.key == key


def test_unknown_key_lists_allowed_keys():
    with pytest.raises(ConfigError, match="allowed") as err:
        polase.simulate({"material": {"k4": 1.0}})
    assert err.value.key == "material.k4"
    with pytest.raises(ConfigError):
        polase.simulate(colour="blue")


# ----------------------------------------------------------------------------- CLI
def test_cli_print_config_round_trips():
    from click.testing import CliRunner

    from polase.cli import main
    from polase.config import default_config

    res = CliRunner().invoke(main, ["simulate", "--print-config"])
    assert res.exit_code == 0, res.output
    assert tomllib.loads(res.output) == default_config()


def test_cli_writes_and_refuses_to_overwrite(tmp_path):
    from click.testing import CliRunner

    from polase.cli import main

    out = tmp_path / "run.nc"
    args = [
        "simulate",
        "--fluence",
        "15:16:1",
        "--qwp-angle",
        "0",
        "--qwp-angle",
        "45",
        "--repeats",
        "1",
        "--no-noise",
        "-o",
        str(out),
    ]
    runner = CliRunner()
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    d = xr.open_dataset(out, engine="h5netcdf")
    np.testing.assert_allclose(d.fluence.values, [15.0, 16.0])
    d.close()
    mtime = out.stat().st_mtime_ns
    res = runner.invoke(main, args)
    assert res.exit_code != 0
    assert "exists" in res.output
    assert out.stat().st_mtime_ns == mtime
    res = runner.invoke(main, [*args, "--overwrite"])
    assert res.exit_code == 0, res.output


def test_cli_bad_fluence_names_the_key(tmp_path):
    from click.testing import CliRunner

    from polase.cli import main

    res = CliRunner().invoke(
        main, ["simulate", "--fluence", "5:-1:1", "-o", str(tmp_path / "x.nc")]
    )
    assert res.exit_code != 0
    assert "--fluence" in res.output


# ----------------------------------------------------------------------------- rod ensemble
@pytest.mark.parametrize("nodes", [1, 3, 5, 7])
def test_ensemble_quadrature_has_the_gaussian_moments(nodes):
    from polase.config import load_config
    from polase.experiment import ensemble_members

    cfg = load_config(
        {
            "sample": {"bandgap_spread_ev": 0.02},
            "numerics": {"ensemble_nodes": nodes, "ensemble": "quadrature"},
        }
    )
    off, w = ensemble_members(cfg)
    assert off.size == nodes
    assert w.sum() == pytest.approx(1.0)
    assert np.sum(w * off) == pytest.approx(0.0, abs=1e-15)
    assert np.sum(w * off**2) == pytest.approx(0.02**2 if nodes > 1 else 0.0)
    if nodes > 2:  # exact up to degree 2n - 1: the fourth moment 3 sigma^4
        assert np.sum(w * off**4) == pytest.approx(3 * 0.02**4)


def test_ensemble_below_threshold_conserves_photons_and_broadens_the_band():
    from polase.experiment import forward

    def run(spread):
        cfg = {"sample": {"bandgap_spread_ev": spread}}
        return forward(cfg, [4.0], [0.0])

    one, ens = run(0.0), run(0.02)
    # the band gap scatter moves the spectra, not the pump or the kinetics: every rod makes
    # the same excitons and (far below threshold) the same spontaneous photons
    assert ens["excitations"] == pytest.approx(one["excitations"], rel=1e-12)
    assert ens["spontaneous_photons"] == pytest.approx(one["spontaneous_photons"], rel=1e-3)
    lam = one["wavelength"]

    def width(y):
        y = y[0, 0]
        above = lam[y >= 0.5 * y.max()]
        return above[-1] - above[0]

    assert width(ens["emission"]) > width(one["emission"])


def test_convolution_ensemble_matches_many_separately_simulated_rods():
    """The rigid-shift convolution against a 41-node quadrature over simulated rods."""
    from scipy.integrate import cumulative_trapezoid

    from polase.experiment import forward

    def run(method, nodes):
        cfg = {
            "sample": {"bandgap_spread_ev": 0.02},
            "numerics": {"ensemble": method, "ensemble_nodes": nodes},
        }
        return forward(cfg, [8.2, 17.0], [0.0])

    conv, quad = run("convolution", 9), run("quadrature", 41)
    lam = conv["wavelength"]
    for i in range(2):
        a, b = conv["emission"][i, 0], quad["emission"][i, 0]
        # the same photons, spread the same way. Above threshold each rod's ASE line is a few
        # nm wide, so the quadrature is a comb of lines: compare the photons' cumulative
        # distributions (the comb converges to the convolution as the nodes grow; the rods
        # differ in threshold by the lambda^4 of the gain prefactor)
        assert np.trapezoid(a, lam) == pytest.approx(np.trapezoid(b, lam), rel=0.05)
        ca, cb = cumulative_trapezoid(a, lam), cumulative_trapezoid(b, lam)
        assert np.max(np.abs(ca / ca[-1] - cb / cb[-1])) < 0.03
        mean = [np.trapezoid(y * lam, lam) / np.trapezoid(y, lam) for y in (a, b)]
        assert mean[0] == pytest.approx(mean[1], abs=0.1)
    # the decays at the detection wavelengths too
    for i in range(2):
        for d in range(conv["emission_t"].shape[2]):
            a, b = conv["emission_t"][i, 0, d], quad["emission_t"][i, 0, d]
            assert np.trapezoid(a) == pytest.approx(np.trapezoid(b), rel=0.06)


def test_ensemble_method_is_validated():
    from polase.errors import ConfigError
    from polase.experiment import forward

    with pytest.raises(ConfigError, match=r"numerics\.ensemble"):
        forward({"numerics": {"ensemble": "average"}}, [8.0], [0.0])
