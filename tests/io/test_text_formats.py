"""CSV/TSV spectra, FluorEssence exports, refractiveindex.info files, format detection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from polase.errors import InputFileError
from polase.io import detect_format, read_fluoressence, read_refractive_index, read_spectrum

DATA = Path(__file__).parent / "data"


# ---- CSV / TSV ------------------------------------------------------------------------------


def test_csv_with_nm_header():
    sf = read_spectrum(DATA / "csv_nm_header.csv")
    assert sf.format == "csv" and sf.integration_time_s is None
    np.testing.assert_array_equal(sf.wavelength_nm, [500.0, 500.5, 501.0])
    np.testing.assert_array_equal(sf.counts, [10, 12.5, 11])
    assert sf.metadata["wavelength_unit"].startswith("nm (header")


def test_csv_um_header_semicolon_decimal_comma():
    sf = read_spectrum(DATA / "csv_um_semicolon.csv")
    np.testing.assert_allclose(sf.wavelength_nm, [500.0, 500.5, 501.0], rtol=1e-15)
    np.testing.assert_array_equal(sf.counts, [10, 12.5, 11])


def test_tsv_without_header_in_nm_range():
    sf = read_spectrum(DATA / "csv_no_header.tsv")
    np.testing.assert_array_equal(sf.wavelength_nm, [500.0, 500.5, 501.0])
    assert "read as nm" in sf.metadata["wavelength_unit"]


def test_ambiguous_unit_raises_unless_given():
    with pytest.raises(InputFileError, match="wavelength unit"):
        read_spectrum(DATA / "csv_ambiguous.csv")
    sf = read_spectrum(DATA / "csv_ambiguous.csv", wavelength_unit="um")
    np.testing.assert_array_equal(sf.wavelength_nm, [1000.0, 2000.0, 3000.0])
    with pytest.raises(InputFileError, match="unknown wavelength unit"):
        read_spectrum(DATA / "csv_ambiguous.csv", wavelength_unit="furlong")


def test_energy_axis_refused():
    with pytest.raises(InputFileError, match="energy") as exc:
        read_spectrum(DATA / "csv_energy.csv")
    assert exc.value.line == 1


def test_csv_bad_rows():
    with pytest.raises(InputFileError, match="found 3") as exc:
        read_spectrum(DATA / "csv_bad_row.csv")
    assert exc.value.line == 3
    with pytest.raises(InputFileError, match="at least two"):
        read_spectrum(DATA / "csv_one_row.csv")


# ---- FluorEssence ---------------------------------------------------------------------------


def test_real_fluoressence_single(external_dir):
    traces = read_fluoressence(external_dir / "spectra" / "fluoressence_emission.txt")
    assert [t.label for t in traces] == ["S1c / R1c", "S1", "R1"]
    assert [t.y_units for t in traces] == ["CPS / MicroAmps", "CPS", "MicroAmps"]
    for t in traces:
        assert t.x.size == 211 and t.x[0] == 490 and t.x[-1] == 700 and t.x_units == "nm"
    assert traces[0].y[0] == 2322.5469768149
    assert traces[1].y[0] == 67564
    assert traces[2].y[-1] == 33.6413708321982


def test_real_fluoressence_multi(external_dir):
    traces = read_fluoressence(external_dir / "spectra" / "fluoressence_multiple.txt")
    assert len(traces) == 10
    assert traces[0].label == "S1c / R1c cycle 1" and traces[-1].label == "S1c / R1c cycle 10"
    assert traces[0].metadata["TimeStamp"] == "05/12/2017 17:24:47"
    for t in traces:
        assert t.x.size == 201 and t.x[0] == 650 and t.x[-1] == 850
    assert traces[0].y[0] == 111.936017411814
    assert traces[-1].y[-1] == 1050.22196783663


def test_fluoressence_fixtures():
    single = read_fluoressence(DATA / "fe_single.txt")
    assert [t.label for t in single] == ["S1c / R1c", "S1"]
    x, y, label = single[0]
    np.testing.assert_array_equal(x, [500, 501, 502])
    np.testing.assert_array_equal(y, [10.5, 11.5, 12.5])
    assert label == "S1c / R1c"
    np.testing.assert_array_equal(single[1].y, [300, 330, 360])
    multi = read_fluoressence(DATA / "fe_multi.txt")
    assert [t.label for t in multi] == ["S1c / R1c cycle 1", "S1c / R1c cycle 2"]
    np.testing.assert_array_equal(multi[1].x, [650, 651])  # ragged: empty cell dropped
    np.testing.assert_array_equal(multi[1].y, [2.5, 2.6])
    with pytest.raises(InputFileError, match="expected a number") as exc:
        read_fluoressence(DATA / "fe_bad_cell.txt")
    assert exc.value.line == 5
    with pytest.raises(InputFileError, match="no X column"):
        read_fluoressence(DATA / "fe_no_x.txt")


# ---- refractiveindex.info -------------------------------------------------------------------


def test_real_refractive_index_brennan(external_dir):
    ds = read_refractive_index(external_dir / "optical" / "CsPbBr3_nk_Brennan.yml")
    assert ds.sizes["wavelength"] == 2301
    assert ds.wavelength.attrs["units"] == "nm"
    assert float(ds.wavelength[0]) == 200.0 and float(ds.wavelength[-1]) == 2500.0
    assert float(ds.n[0]) == 1.173075 and float(ds.k[0]) == 0.10725
    assert float(ds.n[-1]) == 1.982864 and float(ds.k[-1]) == 3.0e-06
    assert np.all(np.diff(ds.wavelength.values) > 0)
    assert "Brennan" in ds.attrs["references"]


@pytest.mark.parametrize(("axis", "k0"), [("e", 0.0), ("o", 0.16069)])
def test_real_refractive_index_ermolaev(external_dir, axis, k0):
    ds = read_refractive_index(external_dir / "optical" / f"CsPbBr3_nk_Ermolaev_{axis}.yml")
    assert ds.sizes["wavelength"] == 450
    assert float(ds.wavelength[0]) == 500.0 and float(ds.wavelength[-1]) == 949.0
    assert float(ds.k[0]) == k0
    assert json.loads(ds.attrs["conditions"]) == {"direction": axis}


def test_refractive_index_fixtures():
    ds = read_refractive_index(DATA / "ri_nk.yml")
    np.testing.assert_array_equal(ds.wavelength, [500.0, 520.0, 540.0])
    np.testing.assert_array_equal(ds.n, [2.30, 2.25, 2.20])
    np.testing.assert_array_equal(ds.k, [0.20, 0.05, 0.0])
    assert ds.attrs["comments"] == "Made-up values."
    sep = read_refractive_index(DATA / "ri_n_k_separate.yml")
    np.testing.assert_array_equal(sep.wavelength, [500.0, 550.0, 600.0, 650.0])
    np.testing.assert_allclose(sep.n.values[:3], [2.30, 2.25, 2.20])
    assert np.isnan(sep.n.values[3]) and np.isnan(sep.k.values[0])
    np.testing.assert_allclose(sep.k.values[1:], [0.10, 0.05, 0.0])
    with pytest.raises(InputFileError, match="not supported"):
        read_refractive_index(DATA / "ri_formula.yml")
    with pytest.raises(InputFileError, match="expected 3 numbers") as exc:
        read_refractive_index(DATA / "ri_bad_row.yml")
    assert exc.value.line == 6


# ---- detection ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("ov_valid_dot.txt", "oceanview"),
        ("ss_valid_comma.txt", "spectrasuite"),
        ("csv_nm_header.csv", "csv"),
        ("csv_no_header.tsv", "csv"),
        ("das6_small.txt", "das6"),
        ("fe_single.txt", "fluoressence"),
        ("fe_multi.txt", "fluoressence"),
        ("ri_nk.yml", "refractiveindex"),
    ],
)
def test_detect_fixtures(name, fmt):
    assert detect_format(DATA / name) == fmt


def test_detect_real_files(external_dir):
    expected = {
        "spectra/oceanview_comma_decimal.txt": "oceanview",
        "spectra/spectrasuite_usb2000.txt": "spectrasuite",
        "spectra/fluoressence_emission.txt": "fluoressence",
        "spectra/fluoressence_multiple.txt": "fluoressence",
        "tcspc/atto550_dna_irf.txt": "das6",
        "optical/CsPbBr3_nk_Brennan.yml": "refractiveindex",
    }
    for rel, fmt in expected.items():
        assert detect_format(external_dir / rel) == fmt, rel


def test_read_spectrum_points_to_the_right_reader(tmp_path):
    with pytest.raises(InputFileError, match="read_das6"):
        read_spectrum(DATA / "das6_small.txt")
    with pytest.raises(InputFileError, match="read_fluoressence"):
        read_spectrum(DATA / "fe_single.txt")
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\nworld\n")
    with pytest.raises(InputFileError, match="unrecognised"):
        detect_format(junk)
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputFileError, match="binary"):
        read_spectrum(binary)


def test_tsv_decimal_comma_after_integer_rows(tmp_path):
    p = tmp_path / "s.tsv"
    p.write_text("500\t10\n500,5\t12,5\n501\t11\n")
    sf = read_spectrum(p)
    np.testing.assert_array_equal(sf.wavelength_nm, [500.0, 500.5, 501.0])
    np.testing.assert_array_equal(sf.counts, [10, 12.5, 11])
