"""PicoQuant files: PTU time-tagged records (T2 and T3) and PHU histograms, on `ptufile`.

`ptufile` (C. Gohlke) parses the unified tag header of both and decodes T3 records of every
PicoHarp / HydraHarp / TimeHarp / MultiHarp record type. Each detector channel becomes one
`DecayFile` histogram of photon delay after the sync.

T2 records are decoded here from the published record layout (PicoQuant's "TTTR record
types" description), not with ptufile's T2 decoder: that decoder reports the sync events of
HydraHarp / MultiHarp / TimeHarp T2 files as channel 0, the same number as detector input 0,
so the two cannot be told apart. The layouts:

* PicoHarp T2 (``0x00010203``): 4-bit channel, 28-bit time tag; channel 15 is special
  (low 4 bits 0: overflow of 210698240 time units, else markers). Channel 0 is the sync
  input, which in T2 mode records like a detector; channels 1-4 are detectors.
* HydraHarp V1 T2 (``0x00010204``): special bit, 6-bit channel, 25-bit time tag; special
  channel 63 is an overflow of 33552000 units, special 0 a sync, special 1-15 markers.
* HydraHarp V2, TimeHarp 260 N/P, MultiHarp / PicoHarp 330 ("Generic") T2: as V1, an overflow
  record counts ``time tag`` overflows (1 if 0) of 2^25 units.

The sync period is ``1 / TTResult_SyncRate`` from the file; it is never defaulted. It is
checked against the data: T3 ``MeasDesc_GlobalResolution`` (the sync period of the time
tags) and T2 sync spacing must agree with it to 1 %, and no photon may arrive later than a
sync period after its sync.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import InputFileError
from ._optional import import_lifetime_extra
from .records import DecayFile, MetaValue

#: Record types whose T2 layout this module decodes: name -> (layout, overflow unit).
_T2_TYPES = {
    0x00010203: ("picoharp", 210698240),
    0x00010204: ("hydraharp1", 33552000),
    0x01010204: ("hydraharp2", 33554432),
    0x00010205: ("hydraharp2", 33554432),
    0x00010206: ("hydraharp2", 33554432),
    0x00010207: ("hydraharp2", 33554432),
}
_T3_TYPES = (0x00010303, 0x00010304, 0x01010304, 0x00010305, 0x00010306, 0x00010307)
_TOL = 0.01


def _ptufile():
    return import_lifetime_extra("ptufile", "reading PicoQuant PTU/PHU files")


def _meta(tags: dict) -> dict[str, MetaValue]:
    """PicoQuant tags as metadata (indexed tags as ``name[i]``; binary blobs left out)."""
    out: dict[str, MetaValue] = {}
    for key, value in tags.items():
        values = value if isinstance(value, list) else [value]
        for i, v in enumerate(values):
            name = key if not isinstance(value, list) else f"{key}[{i}]"
            if isinstance(v, bool | str):
                out[name] = v
            elif isinstance(v, int | float | np.integer | np.floating):
                out[name] = float(v)
            elif v is not None and hasattr(v, "isoformat"):
                out[name] = v.isoformat()
    return out


def _sync_rate(p: Path, tags: dict, key: str = "TTResult_SyncRate", index: int | None = None):
    value = tags.get(key)
    if isinstance(value, list):
        value = value[index or 0] if value else None
    if value is None:
        raise InputFileError(p, f"no {key} tag: the sync (laser) rate is not in the file")
    rate = float(value)
    if not (math.isfinite(rate) and rate > 0):
        raise InputFileError(
            p, f"{key} = {value!r}: a sync rate of 0 (no laser sync recorded); cannot histogram"
        )
    return rate


def _choose(p: Path, decays: list[DecayFile], channel: int | None) -> list[DecayFile]:
    if channel is None:
        return decays
    chosen = [d for d in decays if d.detector_channel == channel]
    if not chosen:
        have = ", ".join(str(d.detector_channel) for d in decays) or "none"
        raise InputFileError(p, f"no detector channel {channel}; channels with photons: {have}")
    return chosen


def _decay(p, counts, width_ns, fmt, meta, channel, period_ns, acq_s):
    y = np.asarray(counts, dtype=np.float64)
    rate = float(y.sum() / acq_s) if acq_s and acq_s > 0 else None
    return DecayFile(
        time_ns=(np.arange(y.size) + 0.5) * width_ns,
        counts=y,
        channel_width_ns=float(width_ns),
        metadata=meta,
        format=fmt,
        path=p,
        detector_channel=channel,
        repetition_period_ns=period_ns,
        acquisition_time_s=acq_s,
        count_rate_hz=rate,
    )


def _raw_records(p: Path, fh, offset: int, tags: dict, read: bool = True) -> np.ndarray | None:
    bits = int(tags.get("TTResultFormat_BitsPerRecord", 32))
    if bits not in (0, 32):
        raise InputFileError(p, f"TTResultFormat_BitsPerRecord = {bits}; only 32-bit records")
    n = int(tags.get("TTResult_NumberOfRecords", 0))
    fh.seek(0, 2)
    size = fh.tell() - offset
    if n <= 0:
        raise InputFileError(p, f"TTResult_NumberOfRecords = {n}: the file holds no records")
    if size < 4 * n:
        raise InputFileError(
            p,
            f"truncated: the header announces {n} records ({4 * n} bytes) but only {size} "
            f"bytes follow the header ({size // 4} whole records)",
        )
    if not read:
        return None
    fh.seek(offset)
    return np.frombuffer(fh.read(4 * n), dtype="<u4")


def _t2_times(p: Path, rec: np.ndarray, rectype: int):
    """Absolute times [time units], channel per photon (-1 sync), from raw T2 records."""
    layout, unit = _T2_TYPES[rectype]
    rec = rec.astype(np.int64)
    if layout == "picoharp":
        ch = rec >> 28
        tt = rec & 0x0FFFFFFF
        special = ch == 15
        overflow = special & ((tt & 0xF) == 0)
        inc = np.where(overflow, unit, 0)
        t = np.cumsum(inc) + tt
        photon = ~special
        sync = photon & (ch == 0)  # the sync input records as channel 0 in T2
        photon &= ch != 0
        return t[photon], ch[photon], t[sync]
    special = (rec >> 31) & 1 == 1
    ch = (rec >> 25) & 0x3F
    tt = rec & 0x1FFFFFF
    overflow = special & (ch == 63)
    if layout == "hydraharp1":
        inc = np.where(overflow, unit, 0)
    else:
        inc = np.where(overflow, unit * np.where(tt == 0, 1, tt), 0)
    base = np.cumsum(inc)
    t = base + np.where(overflow, 0, tt)
    sync = special & (ch == 0)
    photon = ~special
    return t[photon], ch[photon], t[sync]


def _read_t2(p, f, rec, tags, meta, period_ns, bin_width_ns):
    res_s = float(tags.get("MeasDesc_GlobalResolution", 0.0))
    if not (math.isfinite(res_s) and res_s > 0):
        raise InputFileError(p, f"MeasDesc_GlobalResolution = {res_s!r}: need the T2 time unit")
    t_ph, ch_ph, t_sync = _t2_times(p, rec, int(tags["TTResultFormat_TTTRRecType"]))
    if t_sync.size < 2:
        raise InputFileError(
            p, f"T2 records hold {t_sync.size} sync event(s): cannot build delay histograms"
        )
    spacing_ns = float(np.median(np.diff(t_sync))) * res_s * 1e9
    if abs(spacing_ns - period_ns) > _TOL * period_ns:
        raise InputFileError(
            p,
            f"header disagrees with the data: TTResult_SyncRate gives a {period_ns:g} ns period, "
            f"the recorded sync events are {spacing_ns:g} ns apart",
        )
    k = np.searchsorted(t_sync, t_ph, side="right") - 1
    keep = k >= 0
    delay_u = t_ph[keep] - t_sync[k[keep]]  # integer time units
    delay_ns = delay_u * res_s * 1e9
    ch_ph = ch_ph[keep]
    late = delay_ns > (1 + _TOL) * period_ns
    # a photon more than a period after its sync: the sync stream has a gap (lost syncs)
    delay_u, ch_ph = delay_u[~late], ch_ph[~late]
    if late.any():
        meta["polase_photons_dropped_sync_gap"] = float(late.sum())
    width = float(bin_width_ns) if bin_width_ns else float(tags.get("MeasDesc_Resolution", res_s))
    width_ns = width if bin_width_ns else width * 1e9
    if not (math.isfinite(width_ns) and width_ns > 0):
        raise InputFileError(p, f"histogram bin width {width_ns!r} ns is not > 0")
    nbins = math.ceil(period_ns / width_ns - 1e-9)
    acq_s = float((t_sync[-1] - t_sync[0]) * res_s) if t_sync.size > 1 else None
    out = []
    for c in np.unique(ch_ph):
        sel = ch_ph == c
        # bin from integer time units (a float division puts exact edges in the bin below)
        idx = np.floor(delay_u[sel] * (res_s * 1e9 / width_ns) + 1e-9).astype(np.int64)
        idx = np.minimum(idx, nbins - 1)
        counts = np.bincount(idx, minlength=nbins)
        out.append(_decay(p, counts, width_ns, "ptu-t2", dict(meta), int(c), period_ns, acq_s))
    return out


def _divider(tags: dict, key: str, index: int | None = None) -> int:
    value = tags.get(key, 1)
    if isinstance(value, list):
        value = value[index or 0] if value else 1
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def _read_t3(p, f, tags, meta, period_ns):
    glob_s = float(tags.get("MeasDesc_GlobalResolution", 0.0))
    res_s = float(tags.get("MeasDesc_Resolution", 0.0))
    if not (math.isfinite(res_s) and res_s > 0):
        raise InputFileError(p, f"MeasDesc_Resolution = {res_s!r}: the bin width is not > 0")
    div = _divider(tags, "HW_SyncDivider")
    window_ns = glob_s * 1e9  # time between recorded syncs (laser period x sync divider)
    if abs(window_ns - div * period_ns) > _TOL * div * period_ns:
        raise InputFileError(
            p,
            f"header disagrees with itself: MeasDesc_GlobalResolution = {glob_s:g} s but "
            f"TTResult_SyncRate (sync divider {div}) gives a sync period of "
            f"{div * period_ns * 1e-9:g} s",
        )
    width_ns = res_s * 1e9
    nbins = max(1, math.floor(window_ns / width_ns + 1e-9))
    # histogram by ptufile's compiled decoder (no per-record arrays in memory), all channels
    # untrimmed so row c is input c; bins up to 1 % past the period are kept
    n_dec = min(int(nbins * (1 + _TOL)) + 1, int(f.number_bins_max) or nbins)
    hist = np.asarray(f.decode_histogram(dtime=n_dec, dtype=np.uint64), dtype=np.float64)
    photons = int(f.number_photons)
    if hist.sum() < photons:
        raise InputFileError(
            p,
            f"header disagrees with the data: {photons - int(hist.sum())} photons arrive later "
            f"than the {window_ns:g} ns sync period (MeasDesc_Resolution or sync rate wrong?)",
        )
    used = np.flatnonzero(hist.sum(axis=0) > 0)
    nbins = max(nbins, int(used[-1]) + 1 if used.size else 1)
    acq_s = float(f.acquisition_time) or None
    out = []
    for c in np.flatnonzero(hist.sum(axis=1) > 0):
        out.append(
            _decay(p, hist[c, :nbins], width_ns, "ptu-t3", dict(meta), int(c), period_ns, acq_s)
        )
    return out


def read_ptu(
    path: str | Path, *, channel: int | None = None, bin_width_ns: float | None = None
) -> list[DecayFile]:
    """Read a PicoQuant PTU file (T2 or T3 records) as one delay histogram per channel.

    Parameters
    ----------
    path
        The ``.ptu`` file.
    channel
        Keep only this detector channel (0-based, as numbered in the records); default all
        channels that hold photons.
    bin_width_ns
        T2 only: histogram bin width [ns]; default the file's ``MeasDesc_Resolution``.
        T3 files are histogrammed in their own delay bins (``MeasDesc_Resolution``).

    Returns
    -------
    list of DecayFile
        One per channel with photons, ascending: ``format`` ``"ptu-t2"`` / ``"ptu-t3"``,
        ``repetition_period_ns`` = 1e9 / ``TTResult_SyncRate`` [ns], ``acquisition_time_s``
        (T2: first to last sync; T3: ptufile's acquisition time from the time tags) [s], ``count_rate_hz`` [1/s], the tags as metadata.
        Bins run from delay 0 to the sync period.

    Raises
    ------
    InputFileError
        Not a PTU file, an unknown or unsupported record type (image / marker-only data are
        histogrammed as points), a sync rate of 0 or missing, fewer records than the header
        announces (truncated file), a header that disagrees with the data (sync period vs
        time-tag resolution or recorded sync spacing, photons beyond the period), no photons,
        or a `channel` without photons.
    """
    ptufile = _ptufile()
    p = Path(path)
    try:
        f = ptufile.PtuFile(p, trimdims="")
    except Exception as exc:  # ptufile raises PqFileError, and other errors on corrupt tags
        raise InputFileError(p, f"not a readable PicoQuant PTU file: {exc}") from None
    with f:
        tags = f.tags
        rectype = tags.get("TTResultFormat_TTTRRecType")
        if rectype is None:
            raise InputFileError(p, "no TTResultFormat_TTTRRecType tag: unknown record type")
        rectype = int(rectype)
        if rectype not in _T2_TYPES and rectype not in _T3_TYPES:
            known = ", ".join(f"0x{r:08X}" for r in (*_T2_TYPES, *_T3_TYPES))
            raise InputFileError(p, f"unknown TTTR record type 0x{rectype:08X}; supported: {known}")
        period_ns = 1e9 / _sync_rate(p, tags)
        meta = _meta(tags)
        rec = _raw_records(p, f.filehandle, f.record_offset, tags, read=rectype in _T2_TYPES)
        if rectype in _T3_TYPES:
            try:
                out = _read_t3(p, f, tags, meta, period_ns)
            except (ValueError, KeyError) as exc:
                if isinstance(exc, InputFileError):
                    raise
                raise InputFileError(p, f"T3 records could not be decoded: {exc}") from None
        else:
            out = _read_t2(p, f, rec, tags, meta, period_ns, bin_width_ns)
    if not out:
        raise InputFileError(p, "the records hold no photons")
    return _choose(p, out, channel)


def read_phu(path: str | Path, *, channel: int | None = None) -> list[DecayFile]:
    """Read the histograms of a PicoQuant PHU file.

    Parameters
    ----------
    path
        The ``.phu`` file.
    channel
        Keep only the curve of this detector input (``HistResDscr_HWInpChan``, else the
        curve index); default all curves.

    Returns
    -------
    list of DecayFile
        One per curve: ``format`` ``"phu"``, bin width ``HistResDscr_MDescResolution``
        [ns], ``repetition_period_ns`` from ``HistResDscr_SyncRate`` [ns],
        ``acquisition_time_s`` from ``HistResDscr_MDescStopAfter`` (ms) [s],
        ``count_rate_hz`` from ``HistResDscr_InputRate`` (else counts / time) [1/s].

    Raises
    ------
    InputFileError
        Not a PHU file, curve descriptors missing or inconsistent with
        ``HistoResult_NumberOfCurves``, a curve extending past the end of the file
        (truncated), a sync rate of 0, a resolution <= 0, or ``HistResDscr_IntegralCount``
        disagreeing with the stored counts.
    """
    ptufile = _ptufile()
    p = Path(path)
    try:
        f = ptufile.PhuFile(p)
    except Exception as exc:  # ptufile raises PqFileError, and other errors on corrupt tags
        raise InputFileError(p, f"not a readable PicoQuant PHU file: {exc}") from None
    with f:
        tags = f.tags
        n = int(tags.get("HistoResult_NumberOfCurves", 0))
        if n <= 0:
            raise InputFileError(p, "HistoResult_NumberOfCurves is 0 or missing: no histograms")
        for key in ("HistResDscr_DataOffset", "HistResDscr_HistogramBins"):
            if len(tags.get(key, [])) != n:
                raise InputFileError(
                    p, f"{key} has {len(tags.get(key, []))} entries for {n} curves"
                )
        fh = f.filehandle
        fh.seek(0, 2)
        size = fh.tell()
        meta = _meta(tags)
        out = []
        for i in range(n):
            off = int(tags["HistResDscr_DataOffset"][i])
            nb = int(tags["HistResDscr_HistogramBins"][i])
            if off + 4 * nb > size:
                raise InputFileError(
                    p, f"truncated: curve {i} needs bytes {off}-{off + 4 * nb}, file has {size}"
                )
            fh.seek(off)
            counts = np.frombuffer(fh.read(4 * nb), dtype="<u4")
            res = tags.get("HistResDscr_MDescResolution")
            res_s = float(res[i]) if isinstance(res, list) else f.tcspc_resolution
            if not (math.isfinite(res_s) and res_s > 0):
                raise InputFileError(p, f"curve {i}: resolution {res_s!r} s is not > 0")
            period_ns = 1e9 / _sync_rate(p, tags, "HistResDscr_SyncRate", i)
            integral = tags.get("HistResDscr_IntegralCount")
            if isinstance(integral, list) and int(integral[i]) != int(counts.sum(dtype=np.int64)):
                raise InputFileError(
                    p,
                    f"header disagrees with the data: curve {i} HistResDscr_IntegralCount = "
                    f"{int(integral[i])}, the stored bins sum to {int(counts.sum(dtype=np.int64))}",
                )
            stop = tags.get("HistResDscr_MDescStopAfter")
            acq_s = float(stop[i]) * 1e-3 if isinstance(stop, list) else None
            inp = tags.get("HistResDscr_HWInpChan")
            ch = int(inp[i]) if isinstance(inp, list) else i
            d = _decay(p, counts, res_s * 1e9, "phu", dict(meta), ch, period_ns, acq_s)
            rate = tags.get("HistResDscr_InputRate")
            if isinstance(rate, list):
                d.count_rate_hz = float(rate[i])
            window_ns = _divider(tags, "HistResDscr_HWSyncDivider", i) * period_ns
            if (
                nb * res_s * 1e9 > window_ns * (1 + _TOL)
                and counts[int(window_ns * (1 + _TOL) / (res_s * 1e9)) + 1 :].any()
            ):
                raise InputFileError(
                    p,
                    f"header disagrees with the data: curve {i} has counts beyond the "
                    f"{window_ns:g} ns sync period",
                )
            out.append(d)
    return _choose(p, out, channel)
