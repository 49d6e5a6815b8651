"""OceanView / SpectraSuite reader and OceanView writer: real files, fixtures, round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polase.errors import InputFileError, OutputExistsError
from polase.io import FileFormatWarning, detect_format, read_spectrum, write_oceanview

DATA = Path(__file__).parent / "data"


# ---- real exports (facts read off the files) ---------------------------------------------


def test_real_oceanview_comma_decimal(external_dir):
    sf = read_spectrum(external_dir / "spectra" / "oceanview_comma_decimal.txt")
    assert sf.format == "oceanview"
    assert sf.wavelength_nm.size == sf.counts.size == 2048
    assert sf.wavelength_nm[0] == 178.699 and sf.wavelength_nm[-1] == 862.714
    assert sf.counts[-1] == 0.12903 and sf.counts[-2] == 0.13617
    assert sf.integration_time_s == 0.1
    assert sf.metadata["Spectrometer"] == "HR600768"
    assert sf.metadata["Scans to average"] == 5.0
    assert sf.metadata["Nonlinearity correction enabled"] is True
    assert sf.metadata["Storing dark spectrum"] is False
    assert "pixel_count_mismatch" not in sf.metadata
    assert np.all(np.diff(sf.wavelength_nm) > 0)


@pytest.mark.parametrize(
    ("name", "n", "first", "last", "it", "spectrometer"),
    [
        ("spectrasuite_dot_decimal.txt", 1044, 199.08, 998.61, 0.1, "QEB1523"),
        ("spectrasuite_comma_decimal.txt", 1044, 199.08, 998.61, 0.1, "QEB1523"),
        ("spectrasuite_usb2000.txt", 2048, 340.07, 1028.94, 0.1, "USB2+H04851"),
        ("spectrasuite_usb2000_bst.txt", 2048, 340.07, 1028.94, 2.5, "USB2+H04851"),
    ],
)
def test_real_spectrasuite(external_dir, name, n, first, last, it, spectrometer):
    sf = read_spectrum(external_dir / "spectra" / name)
    assert sf.format == "spectrasuite"
    assert sf.wavelength_nm.size == n
    assert (sf.wavelength_nm[0], sf.wavelength_nm[-1]) == (first, last)
    assert sf.integration_time_s == it
    assert sf.metadata["Spectrometers"] == spectrometer
    assert sf.metadata["Dark Spectrum Present"] in (True, False)


def test_real_spectrasuite_comma_equals_dot(external_dir):
    a = read_spectrum(external_dir / "spectra" / "spectrasuite_dot_decimal.txt")
    b = read_spectrum(external_dir / "spectra" / "spectrasuite_comma_decimal.txt")
    np.testing.assert_array_equal(a.wavelength_nm, b.wavelength_nm)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert a.counts[3] == 137.42  # "1.3742E02" on the fourth data row


def test_real_usb2000_values(external_dir):
    sf = read_spectrum(external_dir / "spectra" / "spectrasuite_usb2000.txt")
    assert sf.counts[0] == 776.36 and sf.counts[-1] == 829.92
    assert sf.metadata["Spectra Averaged"] == 20.0


def test_writer_header_matches_real_oceanview(external_dir, tmp_path):
    real = (external_dir / "spectra" / "oceanview_comma_decimal.txt").read_text().splitlines()
    sf = read_spectrum(external_dir / "spectra" / "oceanview_comma_decimal.txt")
    out = write_oceanview(
        tmp_path / "x.txt",
        sf.wavelength_nm,
        sf.counts,
        sf.integration_time_s,
        metadata=sf.metadata,
        decimal=",",
    )
    written = out.read_text().splitlines()
    # same header lines, same order, same values; data rows identical too
    assert written == real
    assert (
        out.read_bytes() == (external_dir / "spectra" / "oceanview_comma_decimal.txt").read_bytes()
    )


# ---- own fixtures --------------------------------------------------------------------------


def test_fixture_dot_with_nan_and_saturation():
    sf = read_spectrum(DATA / "ov_valid_dot.txt")
    assert sf.integration_time_s == 0.25
    np.testing.assert_array_equal(
        sf.wavelength_nm, [500.10, 500.45, 500.80, 501.15, 501.50, 501.85]
    )
    assert sf.counts[2] == 65535 and np.isnan(sf.counts[3])


def test_fixture_comma():
    sf = read_spectrum(DATA / "ov_valid_comma.txt")
    np.testing.assert_array_equal(sf.wavelength_nm, [500.1, 500.45, 500.8, 501.15])
    np.testing.assert_array_equal(sf.counts, [1000, 1010.5, 65535, 998.25])


def test_spectrasuite_fixture_flags_and_usec():
    sf = read_spectrum(DATA / "ss_valid_comma.txt")
    assert sf.integration_time_s == 0.25
    assert sf.metadata["Correct for Detector Non-linearity"] is True
    assert sf.metadata["Correct for Electrical Dark"] is False
    assert sf.metadata["Spectra Averaged"] == 3.0
    np.testing.assert_array_equal(sf.counts, [125.0, 130.0, 0.0, 99.0])


def test_descending_axis_is_reversed():
    sf = read_spectrum(DATA / "ss_descending.txt")
    np.testing.assert_array_equal(sf.wavelength_nm, [400.5, 401.25, 402.0, 402.75])
    np.testing.assert_array_equal(sf.counts, [125.0, 130.0, 0.0, 99.0])


def test_pixel_count_mismatch_warns_and_counts_rows():
    with pytest.warns(FileFormatWarning, match="2048"):
        sf = read_spectrum(DATA / "ov_pixel_mismatch.txt")
    assert sf.wavelength_nm.size == 3
    assert "2048" in sf.metadata["pixel_count_mismatch"]


@pytest.mark.parametrize(
    ("name", "line", "text"),
    [
        ("ov_bad_row.txt", 17, "two numbers"),
        ("ov_three_columns.txt", 16, "found 3 field"),
        ("ov_mixed_decimal.txt", 17, "mixed decimal"),
        ("ov_nonmonotonic.txt", 17, "does not increase"),
        ("ov_bad_integration.txt", 7, "integration time"),
        ("ss_truncated.txt", 19, "End Processed Spectral Data"),
        ("ss_trailing_content.txt", 24, "after the end"),
    ],
)
def test_malformed_files_name_file_and_line(name, line, text):
    with pytest.raises(InputFileError, match=text) as exc:
        read_spectrum(DATA / name)
    assert exc.value.line == line
    assert exc.value.path.name == name
    assert f"{name}, line {line}" in str(exc.value)


def test_pixel_axis_is_refused():
    with pytest.raises(InputFileError, match="Pixels"):
        read_spectrum(DATA / "ov_pixel_axis.txt")


def test_no_data_rows():
    with pytest.raises(InputFileError, match="no data rows"):
        read_spectrum(DATA / "ov_no_data.txt")


def test_missing_marker_is_not_oceanview():
    assert detect_format(DATA / "ov_no_marker.txt") != "oceanview"
    from polase.io import read_oceanoptics

    with pytest.raises(InputFileError, match="Begin Spectral Data"):
        read_oceanoptics(DATA / "ov_no_marker.txt")


def test_missing_file():
    with pytest.raises(InputFileError, match="not found"):
        read_spectrum(DATA / "does_not_exist.txt")


# ---- writer ----------------------------------------------------------------------------


@pytest.mark.parametrize("decimal", [".", ","])
def test_round_trip_exact(tmp_path, rng, decimal):
    wl = np.sort(rng.uniform(200, 1000, 300))
    y = rng.normal(1000, 300, 300)
    y[5] = np.nan
    y[7] = 0.0
    it = rng.uniform(1e-3, 10)
    meta = {
        "Spectrometer": "FLMS12345",
        "Scans to average": 4,
        "Date": "Mon Jan 01 00:00:00 UTC 2024",
        "Saturation level": 65535,
        "Laser": "Pharos 1030 nm",
    }
    p = write_oceanview(tmp_path / "s.txt", wl, y, it, metadata=meta, decimal=decimal)
    assert detect_format(p) == "oceanview"
    sf = read_spectrum(p)
    np.testing.assert_array_equal(sf.wavelength_nm, wl)
    np.testing.assert_array_equal(sf.counts, y)  # NaN == NaN for assert_array_equal
    assert sf.integration_time_s == it
    assert sf.metadata["Spectrometer"] == "FLMS12345"
    assert sf.metadata["Scans to average"] == 4.0
    assert sf.metadata["Laser"] == "Pharos 1030 nm"
    assert sf.metadata["Number of Pixels in Spectrum"] == 300
    text = p.read_text()
    assert ">>>>>Begin Spectral Data<<<<<" in text and ">>>>>End" not in text
    assert ("." not in text.split("<<<<<\n")[1]) if decimal == "," else True


def test_writer_refuses_overwrite_and_bad_input(tmp_path):
    p = write_oceanview(tmp_path / "s.txt", [500.0, 501.0], [1.0, 2.0], 0.1)
    before = p.read_text()
    with pytest.raises(OutputExistsError):
        write_oceanview(p, [500.0, 501.0], [3.0, 4.0], 0.1)
    assert p.read_text() == before
    write_oceanview(p, [500.0, 501.0], [3.0, 4.0], 0.1, overwrite=True)
    assert read_spectrum(p).counts[0] == 3.0
    with pytest.raises(ValueError, match="integration_time_s"):
        write_oceanview(tmp_path / "a.txt", [500.0, 501.0], [1.0, 2.0], 0.0)
    with pytest.raises(ValueError, match="monotonic"):
        write_oceanview(tmp_path / "b.txt", [500.0, 500.0], [1.0, 2.0], 0.1)
    with pytest.raises(ValueError, match="equal"):
        write_oceanview(tmp_path / "c.txt", [500.0, 501.0], [1.0], 0.1)
    with pytest.raises(ValueError, match="decimal"):
        write_oceanview(tmp_path / "d.txt", [500.0, 501.0], [1.0, 2.0], 0.1, decimal=";")
    with pytest.raises(ValueError, match="metadata key"):
        write_oceanview(tmp_path / "e.txt", [500.0, 501.0], [1.0, 2.0], 0.1, metadata={"a:b": 1})
    assert not (tmp_path / "a.txt").exists() and not list(tmp_path.glob(".*.tmp"))


def test_integer_first_rows_do_not_fix_the_decimal(tmp_path):
    # comma file whose first rows carry no separator at all
    p = write_oceanview(
        tmp_path / "s.txt", [500.0, 500.5, 501.0], [0.0, 12.25, 3.0], 0.1, decimal=","
    )
    assert "500\t0\n500,5\t12,25" in p.read_text()
    sf = read_spectrum(p)
    np.testing.assert_array_equal(sf.wavelength_nm, [500.0, 500.5, 501.0])
    np.testing.assert_array_equal(sf.counts, [0.0, 12.25, 3.0])


def test_crlf_and_cp1252(tmp_path):
    text = (DATA / "ov_valid_comma.txt").read_text().replace("polase-tests", "Jürgen µ")
    p = tmp_path / "win.txt"
    p.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    sf = read_spectrum(p)
    assert sf.metadata["User"] == "Jürgen µ"
    np.testing.assert_array_equal(sf.counts, [1000, 1010.5, 65535, 998.25])


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    wl=st.lists(st.floats(min_value=1e-3, max_value=1e5), min_size=1, max_size=30, unique=True),
    data=st.data(),
    decimal=st.sampled_from([".", ","]),
)
def test_round_trip_property(tmp_path, wl, data, decimal):
    wl = np.sort(np.asarray(wl))
    y = np.asarray(
        data.draw(
            st.lists(st.one_of(finite, st.just(float("nan"))), min_size=wl.size, max_size=wl.size)
        )
    )
    it = data.draw(st.floats(min_value=1e-6, max_value=1e4))
    p = write_oceanview(tmp_path / "h.txt", wl, y, it, decimal=decimal, overwrite=True)
    sf = read_spectrum(p)
    np.testing.assert_array_equal(sf.wavelength_nm, wl)
    np.testing.assert_array_equal(sf.counts, y)
    assert sf.integration_time_s == it
