"""`polase decay` on PicoQuant files (channels, --global) and `polase phasor`, end to end."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from polase.analysis.decay import PileUpWarning, check_count_rate, coates_correction
from polase.cli import main
from polase.errors import DataValidationError
from polase.fitting import reconvolution_model

ptufile = pytest.importorskip("ptufile")

SYNC_HZ = 20_000_000  # 50 ns
RES_S = 50e-12  # 1000 bins in the period
M = 1000
T = (np.arange(M) + 0.5) * 0.05


def _irf():
    g = np.exp(-0.5 * ((T - 3.0) / 0.08) ** 2)
    return g / g.sum()


def _decays(rng, fractions=(0.3, 0.7), taus=(0.8, 3.0)):
    model = reconvolution_model(_irf(), T, 2, 50.0)
    p = np.array([[4000 * f, taus[0], 4000 * (1 - f), taus[1], 0.0, 1.0, 0.0] for f in fractions])
    return rng.poisson(model(T, p)).astype(np.uint32)


def _ptu(path, counts):
    data = np.atleast_2d(counts).astype(np.uint32)[None, None]
    ptufile.imwrite(path, data, 1.0 / SYNC_HZ, RES_S)
    return path


def test_decay_command_channels_period_and_global(tmp_path):
    rng = np.random.default_rng(5)
    y = _decays(rng)
    two = _ptu(tmp_path / "two.ptu", y)
    irf = _ptu(tmp_path / "irf.ptu", np.rint(2e4 * _irf()))
    out = tmp_path / "fit.json"
    r = CliRunner().invoke(main, ["decay", str(two), "--irf", str(irf), "-o", str(out)])
    assert r.exit_code != 0 and "choose one" in r.output and "--channel" in r.output
    r = CliRunner().invoke(
        main,
        [
            *("decay", str(two), "--irf", str(irf), "--channel", "1", "--components", "2"),
            *("-o", str(out), "--quiet"),
        ],
    )
    assert r.exit_code == 0, r.output
    fit = json.loads(out.read_text())
    assert fit["period_ns"] == pytest.approx(50.0) and fit["period_source"] == "file"
    np.testing.assert_allclose(fit["tau_ns"], [0.8, 3.0], rtol=0.05)
    # ptufile's writer puts one photon per sync period: ~1 photon per excitation, which the
    # count-rate check flags as pile-up
    chk = fit["count_rate_checks"][0]
    assert chk["pileup_warning"] and chk["photons_per_excitation"] > 0.05
    r = CliRunner().invoke(
        main,
        [
            *("decay", str(two), "--irf", str(irf), "--channel", "0"),
            *("-o", str(tmp_path / "w.json")),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "pile-up" in r.output
    # two single-channel files fitted jointly
    a = _ptu(tmp_path / "a.ptu", y[0])
    b = _ptu(tmp_path / "b.ptu", y[1])
    gout = tmp_path / "global.json"
    r = CliRunner().invoke(
        main,
        [
            *("decay", str(a), str(b), "--irf", str(irf), "--components", "2", "--global"),
            *("-o", str(gout)),
        ],
    )
    assert r.exit_code == 0, r.output
    res = json.loads(gout.read_text())
    assert res["n_decays"] == 2 and res["interval_method"] == "profile likelihood"
    for tau, (lo, hi) in zip((0.8, 3.0), res["tau_ci95_ns"]):
        assert lo < tau < hi
    assert "global decay fit" in r.output
    r = CliRunner().invoke(
        main, ["decay", str(a), str(b), "--irf", str(irf), "--global", "-o", str(gout)]
    )
    assert r.exit_code != 0 and "exists" in r.output
    # several files without --global: one batched fit each
    r = CliRunner().invoke(
        main,
        ["decay", str(a), str(b), "--irf", str(irf), "-o", str(tmp_path / "b.json"), "--quiet"],
    )
    assert r.exit_code == 0, r.output
    assert len(json.loads((tmp_path / "b.json").read_text())["decays"]) == 2


def test_phasor_command(tmp_path):
    rng = np.random.default_rng(6)
    y = _decays(rng, fractions=(0.5,))
    d = _ptu(tmp_path / "d.ptu", y[0])
    irf = _ptu(tmp_path / "irf.ptu", np.rint(2e4 * _irf()))
    out = tmp_path / "ph.json"
    r = CliRunner().invoke(
        main, ["phasor", str(d), "--irf", str(irf), "--components", "2", "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["calibration"] == "irf" and res["harmonics"] == [1, 2]
    assert res["frequency_mhz"][0] == pytest.approx(20.0)
    chk = res["fit_consistency"][0]
    assert abs(chk["chord_distance"]) < 0.01
    assert chk["fraction_on_chord"] == pytest.approx(chk["fraction_fit"], abs=0.03)
    assert (tmp_path / "ph.png").read_bytes()[:4] == b"\x89PNG"
    r = CliRunner().invoke(main, ["phasor", str(d), "--irf", str(irf), "-o", str(out)])
    assert r.exit_code != 0 and "exists" in r.output
    r = CliRunner().invoke(
        main, ["phasor", str(d), "--reference-lifetime", "4", "-o", str(tmp_path / "x.json")]
    )
    assert r.exit_code != 0 and "--reference" in r.output


def test_coates_correction_inverts_exact_pileup(rng):
    """First-photon-only recording: expected recorded counts from known arrival rates."""
    e = 1e6
    lam = 0.01 * np.exp(-T / 2.0)  # photons per cycle per channel: 0.4 per excitation
    p_first = (1 - np.exp(-lam)) * np.exp(-(np.cumsum(lam) - lam))
    recorded = e * p_first
    np.testing.assert_allclose(coates_correction(recorded, e), e * lam, rtol=1e-7, atol=1e-6)
    # a Monte Carlo histogram: first photons only make the decay look shorter; the
    # corrected one has the true lifetime again
    draws = rng.multinomial(int(e), np.append(p_first, 1 - p_first.sum()))[:-1]
    corr = coates_correction(draws, e)
    sl = (T > 1) & (T < 10)

    def tau(y):
        return -1 / np.polyfit(T[sl], np.log(y[sl]), 1, w=np.sqrt(y[sl]))[0]

    assert tau(corr) == pytest.approx(2.0, rel=0.01)
    assert tau(draws.astype(float)) < 1.97
    with pytest.raises(DataValidationError, match="excitations"):
        coates_correction(recorded, recorded.sum() / 2)


def test_count_rate_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ok = check_count_rate(1e5, 50.0, 100.0)
    assert ok["photons_per_excitation"] == pytest.approx(0.005)
    assert not ok["pileup_warning"]
    with pytest.warns(PileUpWarning, match="pile-up"):
        bad = check_count_rate(2e6, 50.0)
    assert bad["pileup_warning"] and bad["photons_per_excitation"] == pytest.approx(0.1)
    with pytest.warns(PileUpWarning, match="dead time"):
        check_count_rate(2e5, 50.0, dead_time_ns=95.0 * 10)
