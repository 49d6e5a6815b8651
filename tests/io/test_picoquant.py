"""PicoQuant PTU (T2, T3) and PHU readers against files written by independent code.

T3 files are written by ptufile's own writer (`ptufile.imwrite`). ptufile writes no T2 or
PHU files, so those fixtures are built here from the published PicoQuant layouts: the tag
header with ptufile's `encode_tag`, the T2 records / histogram bins packed by hand.
None of the fixtures touches polase code.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from polase.errors import InputFileError
from polase.io import detect_format, read_decay, read_decays, read_phu, read_ptu, read_tcspc

ptufile = pytest.importorskip("ptufile")
from ptufile.ptufile import PtuRecordType, encode_tag  # noqa: E402

SYNC_HZ = 19_500_000  # deliberately not 80 MHz: the period must come from the file
RES_S = 64e-12


def _header(magic: bytes, tags: dict) -> bytes:
    out = [magic + b"1.0.00\x00\x00"]
    for key, value in tags.items():
        if isinstance(value, list):
            out.extend(encode_tag(key, v, i) for i, v in enumerate(value))
        else:
            out.append(encode_tag(key, value))
    out.append(encode_tag("Header_End", None))
    return b"".join(out)


def _patch_int_tag(path: Path, tag: str, value: int) -> None:
    raw = bytearray(path.read_bytes())
    off = raw.find(tag.encode() + b"\0")
    assert off > 0
    raw[off + 40 : off + 48] = struct.pack("<q", value)
    path.write_bytes(bytes(raw))


def _patch_float_tag(path: Path, tag: str, value: float) -> None:
    raw = bytearray(path.read_bytes())
    off = raw.find(tag.encode() + b"\0")
    assert off > 0
    raw[off + 40 : off + 48] = struct.pack("<d", value)
    path.write_bytes(bytes(raw))


def _t3_file(tmp_path, counts, name="t3.ptu"):
    """counts (C, H) written by ptufile as a 1 x 1 pixel T3 image."""
    path = tmp_path / name
    data = np.asarray(counts, dtype=np.uint32)[None, None]  # YXCH
    ptufile.imwrite(path, data, 1.0 / SYNC_HZ, RES_S)
    return path


@pytest.fixture
def two_channel_counts(rng):
    t = (np.arange(800) + 0.5) * RES_S * 1e9
    a = rng.poisson(200 * np.exp(-t / 3.0) * (t > 2)).astype(np.uint32)
    b = rng.poisson(50 * np.exp(-t / 7.0) * (t > 3)).astype(np.uint32)
    return np.stack([a, b])


def test_t3_channels_counts_and_period_from_file(tmp_path, two_channel_counts):
    path = _t3_file(tmp_path, two_channel_counts)
    assert detect_format(path) == "ptu"
    decays = read_ptu(path)
    assert [d.detector_channel for d in decays] == [0, 1]
    period_ns = 1e9 / SYNC_HZ
    nbins = int(period_ns / (RES_S * 1e9))
    for d, expected in zip(decays, two_channel_counts):
        assert d.format == "ptu-t3"
        assert d.channel_width_ns == pytest.approx(RES_S * 1e9)
        assert d.repetition_period_ns == pytest.approx(period_ns, rel=1e-9)
        assert d.counts.size == nbins
        np.testing.assert_array_equal(d.counts[: expected.size], expected)
        assert d.counts[expected.size :].sum() == 0
        assert d.time_ns[0] == pytest.approx(0.5 * RES_S * 1e9)
        assert d.metadata["TTResult_SyncRate"] == SYNC_HZ
        assert d.acquisition_time_s > 0
        assert d.count_rate_hz == pytest.approx(expected.sum() / d.acquisition_time_s)
    one = read_decay(path, channel=1)
    np.testing.assert_array_equal(one.counts[:800], two_channel_counts[1])
    with pytest.raises(InputFileError, match="channels 0, 1"):
        read_decay(path)
    with pytest.raises(InputFileError, match="no detector channel 5"):
        read_ptu(path, channel=5)
    # channel numbers are the file's, also when the lower inputs are empty
    only = two_channel_counts.copy()
    only[0] = 0
    (d1,) = read_ptu(_t3_file(tmp_path, only, "one.ptu"))
    assert d1.detector_channel == 1 and d1.counts.sum() == only[1].sum()


def test_t3_sync_rate_zero_and_header_disagreement(tmp_path, two_channel_counts):
    path = _t3_file(tmp_path, two_channel_counts)
    _patch_int_tag(path, "TTResult_SyncRate", 0)
    with pytest.raises(InputFileError, match="sync rate of 0") as err:
        read_ptu(path)
    assert str(path) in str(err.value)
    path = _t3_file(tmp_path, two_channel_counts, "b.ptu")
    _patch_int_tag(path, "TTResult_SyncRate", 80_000_000)  # header: 12.5 ns; tags: 51 ns
    with pytest.raises(InputFileError, match="disagrees"):
        read_ptu(path)
    path = _t3_file(tmp_path, two_channel_counts, "c.ptu")
    _patch_float_tag(path, "MeasDesc_Resolution", 1e-9)  # 800 bins of 1 ns > 51 ns period
    with pytest.raises(InputFileError, match="arrive later than"):
        read_ptu(path)


def test_t3_truncated_and_unknown_record_type(tmp_path, two_channel_counts):
    path = _t3_file(tmp_path, two_channel_counts)
    raw = path.read_bytes()
    cut = tmp_path / "cut.ptu"
    cut.write_bytes(raw[: len(raw) - 4 * 100])
    with pytest.raises(InputFileError, match="truncated"):
        read_ptu(cut)
    path2 = _t3_file(tmp_path, two_channel_counts, "u.ptu")
    _patch_int_tag(path2, "TTResultFormat_TTTRRecType", 0x00010999)
    with pytest.raises(InputFileError, match="unknown TTTR record type 0x00010999"):
        read_ptu(path2)
    junk = tmp_path / "junk.ptu"
    junk.write_bytes(b"PQTTTR\0\0" + b"\0" * 30)
    with pytest.raises(InputFileError):
        read_ptu(junk)


def _t2_generic(syncs, photons, res_s=1e-12, rectype=PtuRecordType.GenericT2, sync_hz=SYNC_HZ):
    """Records in the HydraHarp V2 / Generic T2 layout, with time-tag overflows."""
    events = sorted([(t, "s", 0) for t in syncs] + [(t, "p", c) for t, c in photons])
    recs, base = [], 0
    wrap = 1 << 25
    for t, kind, c in events:
        while t - base >= wrap:
            n = (t - base) // wrap
            recs.append((1 << 31) | (63 << 25) | n)
            base += n * wrap
        tt = t - base
        if kind == "s":
            recs.append((1 << 31) | tt)
        else:
            recs.append((c << 25) | tt)
    tags = {
        "File_GUID": "{12345678-1234-1234-1234-123456789abc}",
        "Measurement_Mode": 2,
        "Measurement_SubMode": 0,
        "MeasDesc_GlobalResolution": res_s,
        "MeasDesc_Resolution": res_s,
        "TTResult_SyncRate": sync_hz,
        "TTResult_NumberOfRecords": len(recs),
        "TTResultFormat_TTTRRecType": int(rectype),
        "TTResultFormat_BitsPerRecord": 32,
    }
    return _header(b"PQTTTR\0\0", tags) + np.asarray(recs, dtype="<u4").tobytes()


def test_t2_histogram_per_channel_against_numpy(tmp_path, rng):
    period_ps = round(1e12 / SYNC_HZ)
    n_sync = 3000
    syncs = [k * period_ps for k in range(n_sync)]
    photons, delays = [], {0: [], 2: []}
    for k in range(n_sync):
        for c, tau in ((0, 3000.0), (2, 8000.0)):
            if rng.random() < 0.3:
                d = int(min(rng.exponential(tau), period_ps - 1))
                photons.append((syncs[k] + d, c))
                delays[c].append(d)
    path = tmp_path / "t2.ptu"
    path.write_bytes(_t2_generic(syncs, photons))
    decays = read_ptu(path, bin_width_ns=0.1)
    assert [d.detector_channel for d in decays] == [0, 2]
    for d in decays:
        assert d.format == "ptu-t2"
        assert d.repetition_period_ns == pytest.approx(1e9 / SYNC_HZ)
        expected = np.bincount(np.asarray(delays[d.detector_channel]) // 100, minlength=513)
        np.testing.assert_array_equal(d.counts, expected[: d.counts.size])
        assert d.counts.sum() == len(delays[d.detector_channel])
    # sync events that disagree with the header's sync rate
    bad = tmp_path / "t2bad.ptu"
    bad.write_bytes(_t2_generic(syncs, photons, sync_hz=2 * SYNC_HZ))
    with pytest.raises(InputFileError, match="sync events are"):
        read_ptu(bad)
    nosync = tmp_path / "t2nosync.ptu"
    nosync.write_bytes(_t2_generic([], photons[:10]))
    with pytest.raises(InputFileError, match="sync event"):
        read_ptu(nosync)


def _phu(counts, res_s=RES_S, sync_hz=SYNC_HZ, integral=None, stop_ms=1000, inp=None):
    counts = [np.asarray(c, dtype="<u4") for c in counts]
    n = len(counts)

    def tags(offsets):
        return {
            "File_GUID": "{12345678-1234-1234-1234-123456789abc}",
            "Measurement_Mode": 0,
            "Measurement_SubMode": 1,
            "MeasDesc_Resolution": res_s,
            "HistoResult_NumberOfCurves": n,
            "HistResDscr_CurveIndex": list(range(n)),
            "HistResDscr_HWInpChan": inp or list(range(n)),
            "HistResDscr_MDescResolution": [float(res_s)] * n,
            "HistResDscr_SyncRate": [int(sync_hz)] * n,
            "HistResDscr_InputRate": [12345] * n,
            "HistResDscr_MDescStopAfter": [int(stop_ms)] * n,
            "HistResDscr_IntegralCount": integral or [int(c.sum()) for c in counts],
            "HistResDscr_HistogramBins": [int(c.size) for c in counts],
            "HistResDscr_DataOffset": offsets,
        }

    head = _header(b"PQHISTO\0", tags([0] * n))
    offsets, pos = [], len(head)
    for c in counts:
        offsets.append(pos)
        pos += 4 * c.size
    head = _header(b"PQHISTO\0", tags(offsets))
    return head + b"".join(c.tobytes() for c in counts)


def test_phu_curves(tmp_path, two_channel_counts):
    path = tmp_path / "h.phu"
    path.write_bytes(_phu(two_channel_counts, inp=[1, 3]))
    assert detect_format(path) == "phu"
    decays = read_phu(path)
    assert [d.detector_channel for d in decays] == [1, 3]
    for d, c in zip(decays, two_channel_counts):
        np.testing.assert_array_equal(d.counts, c)
        assert d.format == "phu"
        assert d.channel_width_ns == pytest.approx(RES_S * 1e9)
        assert d.repetition_period_ns == pytest.approx(1e9 / SYNC_HZ)
        assert d.acquisition_time_s == pytest.approx(1.0)
        assert d.count_rate_hz == 12345
    assert read_decays(path, channel=3)[0].detector_channel == 3
    bad = tmp_path / "bad.phu"
    bad.write_bytes(_phu(two_channel_counts, integral=[1, 2]))
    with pytest.raises(InputFileError, match="IntegralCount"):
        read_phu(bad)
    zero = tmp_path / "zero.phu"
    zero.write_bytes(_phu(two_channel_counts, sync_hz=0))
    with pytest.raises(InputFileError, match="sync rate of 0"):
        read_phu(zero)
    cut = tmp_path / "cut.phu"
    cut.write_bytes(_phu(two_channel_counts)[:-40])
    with pytest.raises(InputFileError, match="truncated"):
        read_phu(cut)


def test_atto550_ptu_fits_like_the_das6_export(tmp_path, external_dir):
    """Done-when check of issue 14: the real Atto550 histogram through a ptufile PTU."""
    from polase.analysis.decay import fit_decay

    folder = external_dir / "tcspc"
    if not (folder / "atto550_dna_decay.txt").is_file():
        pytest.skip("Atto550 TCSPC files absent")
    dec = read_tcspc(folder / "atto550_dna_decay.txt")
    irf = read_tcspc(folder / "atto550_dna_irf.txt")
    width_s = dec.channel_width_ns * 1e-9
    sync_s = 1 / 8.0e6  # 125 ns period > the 112 ns histogram span
    files = []
    for name, d in (("decay", dec), ("irf", irf)):
        p = tmp_path / f"{name}.ptu"
        ptufile.imwrite(
            p,
            d.counts.astype(np.uint32)[None, None, None, :],
            sync_s,
            width_s,
            record_type=PtuRecordType.GenericT3,
        )
        files.append(p)
    pd, pi = (read_decay(p) for p in files)
    assert pd.repetition_period_ns == pytest.approx(125.0, rel=1e-9)  # from the file
    assert pd.channel_width_ns == pytest.approx(dec.channel_width_ns, rel=1e-6)
    np.testing.assert_array_equal(pd.counts[: dec.counts.size], dec.counts)
    m = dec.counts.size
    for n in (1, 2):
        ref = fit_decay(dec.time_ns, dec.counts, irf.counts, n)
        got = fit_decay(pd.time_ns[:m], pd.counts[:m], pi.counts[:m], n)
        np.testing.assert_allclose(got["tau_ns"], ref["tau_ns"], rtol=1e-3)
    # and on the PTU's own full period grid (zeros past the DAS6 span)
    full = fit_decay(pd.time_ns, pd.counts, pi.counts, 2)
    np.testing.assert_allclose(full["tau_ns"], ref["tau_ns"], rtol=1e-3)


def test_manifest_feeds_ptu_channels(tmp_path, two_channel_counts, rng):
    from polase.io import assemble_measurement

    _t3_file(tmp_path, two_channel_counts, "sweep.ptu")
    t = np.arange(800)
    irf = rng.poisson(400 * np.exp(-0.5 * ((t - 40) / 3.0) ** 2)).astype(np.uint32)
    _t3_file(tmp_path, irf[None, :], "irf.ptu")
    (tmp_path / "m.csv").write_text(
        "file,fluence_mJ_cm2,polarization,repeat,kind,detection_wavelength_nm,detector_channel\n"
        "sweep.ptu,5,L,0,decay,520,0\n"
        "sweep.ptu,5,C,0,decay,520,1\n"
        "irf.ptu,,,,irf,,\n"
    )
    ds = assemble_measurement(tmp_path / "m.csv")
    lin = ds.decay.sel(fluence=5.0, polarization="linear", detection_wavelength=520.0).values
    cir = ds.decay.sel(fluence=5.0, polarization="circular", detection_wavelength=520.0).values
    np.testing.assert_array_equal(lin[:800], two_channel_counts[0])
    np.testing.assert_array_equal(cir[:800], two_channel_counts[1])
    np.testing.assert_array_equal(ds.irf.values[:800], irf)


def _t2_picoharp(syncs, photons, res_s=4e-12, sync_hz=SYNC_HZ):
    """PicoHarp 300 T2 records: sync input = channel 0, detector = channel 1, overflows."""
    events = sorted([(t, 0) for t in syncs] + [(t, 1) for t in photons])
    recs, base, wrap = [], 0, 210698240
    for t, c in events:
        while t - base >= wrap:
            recs.append((15 << 28) | 0)  # overflow: channel 15, markers 0
            base += wrap
        recs.append((c << 28) | (t - base))
    recs.insert(len(recs) // 2, (15 << 28) | 0b0100)  # a marker record, not a photon
    tags = {
        "File_GUID": "{12345678-1234-1234-1234-123456789abc}",
        "Measurement_Mode": 2,
        "Measurement_SubMode": 0,
        "MeasDesc_GlobalResolution": res_s,
        "MeasDesc_Resolution": res_s,
        "TTResult_SyncRate": sync_hz,
        "TTResult_NumberOfRecords": len(recs),
        "TTResultFormat_TTTRRecType": int(PtuRecordType.PicoHarpT2),
        "TTResultFormat_BitsPerRecord": 32,
    }
    return _header(b"PQTTTR\0\0", tags) + np.asarray(recs, dtype="<u4").tobytes()


def test_picoharp_t2_layout_with_overflows(tmp_path, rng):
    period_u = round(1 / SYNC_HZ / 4e-12)  # 12820 units of 4 ps
    n_sync = 40000  # 2 ms: several 28-bit time-tag overflows (0.84 ms each)
    syncs = [k * period_u for k in range(n_sync)]
    delays = rng.integers(0, period_u, size=n_sync // 4)
    which = np.sort(rng.choice(n_sync, size=delays.size, replace=False))
    photons = [syncs[k] + int(d) for k, d in zip(which, delays)]
    path = tmp_path / "ph.ptu"
    path.write_bytes(_t2_picoharp(syncs, photons))
    (d,) = read_ptu(path, bin_width_ns=0.256)
    assert d.detector_channel == 1 and d.format == "ptu-t2"
    expected = np.bincount(delays // 64, minlength=d.counts.size)
    np.testing.assert_array_equal(d.counts, expected[: d.counts.size])
    assert d.acquisition_time_s == pytest.approx((n_sync - 1) * period_u * 4e-12)
