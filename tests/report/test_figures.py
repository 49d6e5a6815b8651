"""Report figures: drawn from a Dataset and results, left out with a reason otherwise."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import xarray as xr

from polase.report.figures import (
    FIGURES,
    MissingDataError,
    band_intensity,
    make_figure,
    render,
    switching_sequence,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: Axis labels of dimensionless quantities (no unit in brackets).
DIMENSIONLESS = {"acquisition order", "intensity / mean linear", "g"}  # g, s: phasor coordinates


@pytest.mark.parametrize("name", [n for n, _ in FIGURES])
def test_every_figure_renders_png_and_svg_with_labelled_axes(
    name, synth_ds, synth_results, synth_decays, synth_polarization, synth_phasors
):
    fig = make_figure(
        name,
        ds=synth_ds,
        results=synth_results,
        decays=synth_decays,
        polarization=synth_polarization,
        phasors=synth_phasors,
    )
    for ax in fig.axes:
        if ax.get_visible() and ax.get_xlabel():
            if ax.get_xlabel() not in DIMENSIONLESS:
                assert "(" in ax.get_xlabel(), f"{name}: x label without unit: {ax.get_xlabel()!r}"
    ylabels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert ylabels, f"{name}: no y label"
    png = render(fig, "png")
    assert png.startswith(PNG_MAGIC)
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width >= 600 and height >= 400  # 200 dpi, at least 3 x 2 inches
    root = ET.fromstring(render(fig, "svg"))
    assert root.tag.endswith("svg")


def test_figures_that_need_spectra_or_decays_say_so(synth_results):
    for name in ("fig1b", "fig2a", "fig3"):
        with pytest.raises(MissingDataError, match=r"spectra|Dataset"):
            make_figure(name, ds=None, results=synth_results)
    with pytest.raises(MissingDataError, match="decays"):
        make_figure("fig2c", results=synth_results, decays=None)
    with pytest.raises(MissingDataError, match="per-fluence"):
        make_figure("fig2b", results={"threshold_mJ_cm2": {"value": 14.3}})
    with pytest.raises(MissingDataError, match="Δ_ASE"):
        make_figure("delta", results={"per_fluence": [{"fluence_mJ_cm2": 4.0}]})


def test_fig1b_needs_the_excitation_spectrum(synth_ds, synth_results):
    ds = synth_ds.drop_vars(["excitation_spectrum", "excitation_wavelength"])
    with pytest.raises(MissingDataError, match="excitation_spectrum"):
        make_figure("fig1b", ds=ds, results=synth_results)


def test_unknown_figure_name_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="fig2b"):
        make_figure("fig9")


def test_band_intensity_is_the_mean_over_the_band():
    wl = np.arange(500.0, 560.0, 0.5)
    y = xr.DataArray(np.tile(wl, (2, 1)), dims=("x", "wavelength"), coords={"wavelength": wl})
    got = band_intensity(y, 543.0, 1.0)
    assert np.allclose(got.values, 543.0)  # a linear ramp averages to its centre
    y[0, wl == 543.0] = np.nan  # masked pixels are skipped, not propagated
    assert np.isfinite(band_intensity(y, 543.0, 1.0).values).all()
    assert float(band_intensity(y, 543.1, 0.0)[1]) == 543.0  # nearest pixel when the band is empty


def test_switching_sequence_follows_the_acquisition_order(synth_ds):
    seq = switching_sequence(synth_ds, 16.0)
    assert seq["fluence"] == 16.0
    assert np.all(np.diff(seq["order"]) > 0)
    assert list(seq["circular"][:4]) == [False, True, False, True]
    lin, circ = seq["ase"][~seq["circular"]].mean(), seq["ase"][seq["circular"]].mean()
    assert circ > lin  # the synthetic data have Delta_ASE = +14 % at 16 mJ/cm2
    # without recorded order the nominal L, C, L, C alternation is assumed
    seq2 = switching_sequence(synth_ds.drop_vars("acquisition_index"), 16.0)
    assert list(seq2["circular"][:4]) == [False, True, False, True]
    np.testing.assert_allclose(seq2["ase"], seq["ase"])


def test_switching_needs_both_polarizations(synth_ds):
    with pytest.raises(MissingDataError, match="linear and circular"):
        switching_sequence(synth_ds.sel(polarization=["linear"]), 16.0)
