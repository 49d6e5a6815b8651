"""Becker & Hickl SDT reader on minimal SDT files built in the test.

Neither sdtfile nor another installable library writes SDT files, so the fixture is built
here from the published bh file layout (SPCM manual, "Data file structure"): the 42-byte file
header, the ``*IDENTIFICATION`` info block, one ``MeasureInfo`` description block per
block and a ``BHFileBlockHeader`` before each data block. The structures are taken from
sdtfile's record definitions (its transcription of B&H's C header), not from polase code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from polase.errors import InputFileError
from polase.io import detect_format, read_decay, read_decays, read_sdt

sdtfile = pytest.importorskip("sdtfile")
S = sdtfile.sdtfile

INFO = (
    "*IDENTIFICATION\r\n  ID        : SPC Setup & Data File\r\n  Title     : polase test\r\n"
    "  Version   : 1  781 M\r\n  Revision  : 15 bits ADC\r\n*END\r\n\r\n"
)


def _sdt(blocks, *, tac_r=50e-9, tac_g=4, sync=(7.99e7, 8.0e7), col_t=10.0, cut=0):
    """An SDT file with one decay block per array in `blocks` (uint32 counts)."""
    adc = len(blocks[0])
    fh_dt = np.dtype(S.FILE_HEADER)
    mi_dt = np.dtype(S.MEASURE_INFO)
    bh_dt = np.dtype(S.BLOCK_HEADER)
    info = INFO.encode("windows-1250")
    info_offs = fh_dt.itemsize
    mi_offs = info_offs + len(info)
    mi = np.zeros(len(blocks), dtype=mi_dt)
    mi["tac_r"], mi["tac_g"], mi["adc_re"], mi["col_t"] = tac_r, tac_g, adc, col_t
    mi["scan_x"], mi["scan_y"], mi["scan_rx"], mi["scan_ry"] = 1, 1, 1, 1
    mi["StopInfo"]["min_sync_rate"], mi["StopInfo"]["max_sync_rate"] = sync
    data_offs = mi_offs + mi.nbytes
    header = np.zeros(1, dtype=fh_dt)
    header["revision"] = (0x28 << 4) | 15  # SPC-150, file revision 15
    header["info_offs"], header["info_length"] = info_offs, len(info)
    header["data_block_offs"] = data_offs
    header["no_of_data_blocks"] = len(blocks)
    header["data_block_length"] = 4 * adc
    header["meas_desc_block_offs"] = mi_offs
    header["no_of_meas_desc_blocks"] = len(blocks)
    header["meas_desc_block_length"] = mi_dt.itemsize
    header["header_valid"] = 0x5555
    header["chksum"] = 0x55AA
    body, pos = [], data_offs
    for i, b in enumerate(blocks):
        d = np.asarray(b, dtype="<u4").tobytes()
        bh = np.zeros(1, dtype=bh_dt)
        bh["data_offs"] = pos + bh_dt.itemsize
        bh["next_block_offs"] = pos + bh_dt.itemsize + len(d)
        bh["block_type"] = 0x100 | 0x1  # uint32 decay block, measured data
        bh["meas_desc_block_no"] = i
        bh["block_length"] = len(d)
        body.append(bh.tobytes() + d)
        pos += bh_dt.itemsize + len(d)
    raw = header.tobytes() + info + mi.tobytes() + b"".join(body)
    return raw[: len(raw) - cut] if cut else raw


def test_sdt_blocks_time_axis_and_rates(tmp_path, rng):
    t = np.arange(256)
    blocks = [rng.poisson(1000 * np.exp(-t / 40.0)), rng.poisson(300 * np.exp(-t / 90.0))]
    path = tmp_path / "a.sdt"
    path.write_bytes(_sdt(blocks))
    assert detect_format(path) == "sdt"
    decays = read_sdt(path)
    assert len(decays) == 2
    width = 50e-9 / (4 * 256) * 1e9
    # sdtfile's own time axis agrees with the width polase reports
    with sdtfile.SdtFile(path) as f:
        assert f.times[0][1] * 1e9 == pytest.approx(width)
    for i, (d, b) in enumerate(zip(decays, blocks)):
        assert d.format == "sdt" and d.detector_channel == i
        np.testing.assert_array_equal(d.counts, b)
        assert d.channel_width_ns == pytest.approx(width)
        assert d.time_ns[3] == pytest.approx(3.5 * width)
        assert d.repetition_period_ns == pytest.approx(2e9 / (7.99e7 + 8.0e7))
        assert d.acquisition_time_s == 10.0
        assert d.count_rate_hz == pytest.approx(b.sum() / 10.0)
        assert d.metadata["MeasureInfo.adc_re"] == 256
    assert read_decay(path, channel=1).counts.sum() == blocks[1].sum()
    with pytest.raises(InputFileError, match="choose one"):
        read_decay(path)
    with pytest.raises(InputFileError, match="no data block 7"):
        read_decays(path, channel=7)


def test_sdt_without_sync_rate_has_no_period(tmp_path, rng):
    path = tmp_path / "b.sdt"
    path.write_bytes(_sdt([rng.poisson(50, 128)], sync=(0.0, 0.0)))
    assert read_sdt(path)[0].repetition_period_ns is None  # never a default


def test_sdt_errors_name_the_file(tmp_path, rng):
    blocks = [rng.poisson(50, 128)]
    cut = tmp_path / "cut.sdt"
    cut.write_bytes(_sdt(blocks, cut=100))
    with pytest.raises(InputFileError, match="truncated") as err:
        read_sdt(cut)
    assert str(cut) in str(err.value)
    gain = tmp_path / "gain.sdt"
    gain.write_bytes(_sdt(blocks, tac_g=0))
    with pytest.raises(InputFileError, match="TAC"):
        read_sdt(gain)
    drift = tmp_path / "drift.sdt"
    drift.write_bytes(_sdt(blocks, sync=(4e7, 8e7)))
    with pytest.raises(InputFileError, match="sync rate varied"):
        read_sdt(drift)
    junk = tmp_path / "junk.sdt"
    junk.write_bytes(b"\0" * 100)
    with pytest.raises(InputFileError):
        read_sdt(junk)


def test_sdt_reader_on_a_path_object(tmp_path, rng):
    path = Path(tmp_path) / "c.sdt"
    path.write_bytes(_sdt([rng.poisson(5, 64)]))
    assert read_decays(str(path))[0].path == path
