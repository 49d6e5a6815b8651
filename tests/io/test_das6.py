"""Horiba DAS6 TCSPC reader and writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from polase.errors import DataValidationError, InputFileError, OutputExistsError
from polase.io import detect_format, read_tcspc, write_das6

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("name", "item"), [("atto550_dna_decay.txt", "Decay"), ("atto550_dna_irf.txt", "IRF")]
)
def test_real_das6(external_dir, name, item):
    path = external_dir / "tcspc" / name
    df = read_tcspc(path)
    assert detect_format(path) == "das6"
    assert df.counts.size == 4096
    assert df.channel_width_ns == 2.743484e-2
    assert df.metadata["Item name"] == item
    # independent parse: the 10 header lines, then "chan<TAB>count"
    ref = np.loadtxt(path, skiprows=10)
    np.testing.assert_array_equal(df.channel, ref[:, 0])
    np.testing.assert_array_equal(df.counts, ref[:, 1])
    np.testing.assert_allclose(df.time_ns, (ref[:, 0] - 0.5) * 2.743484e-2, rtol=1e-15)
    assert df.time_ns[0] == pytest.approx(0.5 * 2.743484e-2)


def test_real_decay_header(external_dir):
    df = read_tcspc(external_dir / "tcspc" / "atto550_dna_decay.txt")
    assert df.metadata["Real time"] == 32.533
    assert df.metadata["Comment"] == ""


def test_writer_reproduces_real_file(external_dir, tmp_path):
    path = external_dir / "tcspc" / "atto550_dna_irf.txt"
    df = read_tcspc(path)
    out = write_das6(tmp_path / "irf.txt", df.counts, df.channel_width_ns, metadata=df.metadata)
    assert out.read_text() == path.read_text()


def test_fixture_and_ps_calibration():
    df = read_tcspc(DATA / "das6_small.txt")
    np.testing.assert_array_equal(df.counts, [0, 3, 250, 120, 60, 31, 15, 8])
    assert df.channel_width_ns == 0.05
    assert df.metadata["Comment"] == "fixture"
    assert read_tcspc(DATA / "das6_ps.txt").channel_width_ns == 0.05


@pytest.mark.parametrize(
    ("name", "line", "text"),
    [
        ("das6_bad_calibration.txt", 5, "Time calibration"),
        ("das6_no_calibration.txt", None, "Time calibration"),
        ("das6_gap.txt", 13, "expected channel 3"),
        ("das6_negative.txt", 12, ">= 0"),
        ("das6_no_chan.txt", None, "Chan<TAB>Data"),
    ],
)
def test_malformed(name, line, text):
    with pytest.raises(InputFileError, match=text) as exc:
        read_tcspc(DATA / name)
    assert exc.value.line == line
    assert exc.value.path.name == name


def test_round_trip(tmp_path, rng):
    counts = rng.poisson(50.0, 1024).astype(float)
    width = 1.0 / 3.0 * 0.1
    p = write_das6(
        tmp_path / "d.txt",
        counts,
        width,
        metadata={"Item name": "Decay 543nm", "Real time": 12.25, "Operator": "x"},
    )
    df = read_tcspc(p)
    np.testing.assert_array_equal(df.counts, counts)
    assert df.channel_width_ns == width
    assert df.metadata["Item name"] == "Decay 543nm"
    assert df.metadata["Real time"] == 12.25
    assert df.metadata["Operator"] == "x"
    with pytest.raises(OutputExistsError):
        write_das6(p, counts, width)


def test_writer_rejects_bad_counts(tmp_path):
    for bad in ([1.5, 2.0], [-1.0, 2.0], [np.nan, 1.0], [[1, 2]]):
        with pytest.raises(DataValidationError):
            write_das6(tmp_path / "x.txt", bad, 0.1)
    with pytest.raises(ValueError, match="channel_width_ns"):
        write_das6(tmp_path / "x.txt", [1, 2], -0.1)
    assert not (tmp_path / "x.txt").exists()
