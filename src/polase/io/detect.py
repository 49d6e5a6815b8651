"""Format detection and the autodetecting spectrum reader."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputFileError
from ._text import parse_float, read_text_lines
from .delimited import read_delimited
from .oceanoptics import BEGIN_RE, read_oceanoptics
from .records import DecayFile, SpectrumFile

#: Formats `detect_format` can return.
FORMATS = (
    "netcdf",
    "oceanview",
    "spectrasuite",
    "das6",
    "fluoressence",
    "refractiveindex",
    "csv",
    "ptu",
    "phu",
    "sdt",
)

#: Formats that hold TCSPC histograms (read by `read_decays`).
DECAY_FORMATS = ("das6", "ptu", "phu", "sdt")

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_HEAD_LINES = 60


def is_netcdf(path: str | Path) -> bool:
    """True if the file starts with the HDF5 (NetCDF4) or classic NetCDF signature."""
    with Path(path).open("rb") as fh:
        magic = fh.read(8)
    return magic.startswith(_HDF5_MAGIC) or magic[:3] == b"CDF"


def _binary_format(path: Path) -> str | None:
    """``"ptu"``, ``"phu"`` or ``"sdt"`` from the file's leading bytes, else None."""
    with path.open("rb") as fh:
        head = fh.read(64)
    if head.startswith(b"PQTTTR\0\0"):
        return "ptu"
    if head.startswith(b"PQHISTO\0"):
        return "phu"
    # B&H file header: 42 bytes, header_valid 0x5555 at offset 34 or chksum 0x55AA at 40,
    # and the info block (at info_offs) opens with "*IDENTIFICATION"
    if len(head) >= 42:
        valid = int.from_bytes(head[34:36], "little")
        chk = int.from_bytes(head[40:42], "little")
        if valid == 0x5555 or chk == 0x55AA:
            info_offs = int.from_bytes(head[2:6], "little", signed=True)
            with path.open("rb") as fh:
                fh.seek(max(info_offs, 0))
                if fh.read(15) == b"*IDENTIFICATION":
                    return "sdt"
    return None


def detect_format(path: str | Path) -> str:
    """Name the format of a file from its content (not its extension).

    Parameters
    ----------
    path
        File to inspect.

    Returns
    -------
    str
        One of ``"netcdf"`` (NetCDF4/HDF5 or classic NetCDF), ``"oceanview"``,
        ``"spectrasuite"``, ``"das6"``, ``"fluoressence"``, ``"refractiveindex"``, ``"csv"``
        (delimited numeric columns), ``"ptu"`` / ``"phu"`` (PicoQuant, by their magic
        bytes), ``"sdt"`` (Becker & Hickl, by header and info block).

    Raises
    ------
    InputFileError
        Missing file, or content that matches none of the formats.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "file not found" if not p.exists() else "not a regular file")
    if is_netcdf(p):
        return "netcdf"
    binary = _binary_format(p)
    if binary is not None:
        return binary
    head = read_text_lines(p, max_bytes=16384)[:_HEAD_LINES]
    if head and head[0].strip() == "SpectraSuite Data File":
        return "spectrasuite"
    if any(BEGIN_RE.match(s) for s in head):
        return "oceanview"
    low = [s.strip().lower() for s in head]
    if any(s.startswith("time calibration:") for s in low) or any(
        s.split() == ["chan", "data"] for s in low
    ):
        return "das6"
    if any(s.startswith("data:") for s in low) and any("type:" in s for s in low):
        return "refractiveindex"
    if head and head[0].split("\t")[0].strip().lower() == "short name":
        return "fluoressence"
    if len(head) >= 4 and "\t" in head[0]:
        units = [c.strip().lower() for c in head[2].split("\t")]
        names = [c.strip().lower() for c in head[1].split("\t")]
        if ("nm" in units or "wavelength" in names) and all(
            parse_float(c, ".") is None for c in head[1].split("\t") if c.strip()
        ):
            return "fluoressence"
    numeric_rows = 0
    for s in head:
        t = s.strip()
        if not t or t.startswith("#"):
            continue
        fields = t.replace(";", " ").replace("\t", " ").replace(",", " ").split()
        if fields and all(parse_float(f) is not None for f in fields):
            numeric_rows += 1
    if numeric_rows >= 1:
        return "csv"
    raise InputFileError(
        p,
        "unrecognised format; supported: OceanView/SpectraSuite ASCII with header, two-column "
        "CSV/TSV, Horiba FluorEssence ASCII, Horiba DAS6 TCSPC text, refractiveindex.info YAML, "
        "NetCDF, PicoQuant PTU/PHU, Becker & Hickl SDT",
    )


def read_decays(
    path: str | Path, *, channel: int | None = None, format: str | None = None
) -> list[DecayFile]:
    """Read every TCSPC histogram of a file: DAS6 text, PicoQuant PTU/PHU or B&H SDT.

    Parameters
    ----------
    path
        The file; its format is detected from the content unless `format` is given.
    channel
        Keep only this detector channel (PTU/PHU input, SDT data block); DAS6 files have
        one histogram and accept only None or 0.
    format
        Skip detection: ``"das6"``, ``"ptu"``, ``"phu"`` or ``"sdt"``.

    Returns
    -------
    list of DecayFile
        One per channel (see `read_ptu`, `read_phu`, `read_sdt`, `read_das6`).

    Raises
    ------
    InputFileError
        A file of another kind, or any reader error.
    """
    p = Path(path)
    fmt = format or detect_format(p)
    if fmt == "das6":
        from .das6 import read_das6

        if channel not in (None, 0):
            raise InputFileError(p, f"a DAS6 export holds one histogram; channel {channel} asked")
        return [read_das6(p)]
    if fmt in ("ptu", "phu"):
        from .picoquant import read_phu, read_ptu

        return (read_ptu if fmt == "ptu" else read_phu)(p, channel=channel)
    if fmt == "sdt":
        from .becker_hickl import read_sdt

        return read_sdt(p, channel=channel)
    raise InputFileError(
        p, f"this is a {fmt} file, not a TCSPC histogram; allowed: {', '.join(DECAY_FORMATS)}"
    )


def read_decay(
    path: str | Path, *, channel: int | None = None, format: str | None = None
) -> DecayFile:
    """Read one TCSPC histogram (see `read_decays`); `channel` is required when a file
    holds several.

    Raises
    ------
    InputFileError
        Several channels and no `channel` given (the channels are listed), or any reader
        error.
    """
    decays = read_decays(path, channel=channel, format=format)
    if len(decays) > 1:
        chans = ", ".join(str(d.detector_channel) for d in decays)
        raise InputFileError(
            path, f"the file holds histograms of channels {chans}: choose one (--channel)"
        )
    return decays[0]


def read_spectrum(
    path: str | Path, *, format: str | None = None, wavelength_unit: str | None = None
) -> SpectrumFile:
    """Read one spectrum file, detecting OceanView, SpectraSuite or two-column CSV/TSV.

    Parameters
    ----------
    path
        Spectrum file.
    format
        Skip detection: ``"oceanview"``, ``"spectrasuite"`` or ``"csv"``.
    wavelength_unit
        For CSV/TSV only: unit of the first column when the header names none
        (``"nm"``, ``"um"``, ``"angstrom"``).

    Returns
    -------
    SpectrumFile

    Raises
    ------
    InputFileError
        Unrecognised or malformed file, or a file of another kind (TCSPC, FluorEssence,
        NetCDF) with a pointer to the right reader.
    """
    p = Path(path)
    fmt = format or detect_format(p)
    if fmt in ("oceanview", "spectrasuite"):
        return read_oceanoptics(p)
    if fmt == "csv":
        return read_delimited(p, wavelength_unit=wavelength_unit)
    hint = {
        "das6": "read_das6",
        "ptu": "read_ptu",
        "phu": "read_phu",
        "sdt": "read_sdt",
        "fluoressence": "read_fluoressence",
        "refractiveindex": "read_refractive_index",
        "netcdf": "read_measurement",
    }.get(fmt)
    if hint:
        raise InputFileError(
            p, f"this is a {fmt} file, not a single spectrum; use polase.io.{hint}"
        )
    raise InputFileError(p, f"unknown format {fmt!r}; allowed: oceanview, spectrasuite, csv")
