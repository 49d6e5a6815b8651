"""Instrument readers and writers, measurement assembly and the NetCDF store.

Readers are named ``read_<format>`` and writers ``write_<format>``, in pairs where polase
writes the format: `read_das6` / `write_das6` (Horiba DAS6 TCSPC), `read_oceanoptics` /
`write_oceanoptics` (OceanView, SpectraSuite), `read_netcdf` / `write_netcdf` (the
measurement Dataset), `read_manifest` / `write_manifest`. Readers return plain records
(`SpectrumFile`, `DecayFile`) with the file's header kept as metadata;
`assemble_measurement` turns a folder of files into the measurement Dataset of
docs/data-model.md; `read_measurement` accepts a NetCDF file, a folder or a manifest.
See docs/io.md.
"""

from __future__ import annotations

from .assemble import DEFAULT_SATURATION_LEVEL, AssemblyWarning, assemble_measurement
from .becker_hickl import read_sdt
from .das6 import read_das6, read_tcspc, write_das6
from .delimited import read_delimited
from .detect import DECAY_FORMATS, detect_format, read_decay, read_decays, read_spectrum
from .fluoressence import FluorEssenceTrace, read_fluoressence
from .manifest import read_manifest, write_manifest
from .netcdf import (
    load_measurement,
    open_netcdf,
    read_measurement,
    read_netcdf,
    save_dataset,
    write_netcdf,
)
from .oceanoptics import read_oceanoptics, write_oceanoptics, write_oceanview
from .picoquant import read_phu, read_ptu
from .polarization import normalize_polarization
from .records import DecayFile, FileFormatWarning, SpectrumFile
from .refractive_index import read_refractive_index
from .validate import validate_measurement

#: Old names that still work but warn (`DeprecationWarning`), with their replacements.
DEPRECATED_NAMES: dict[str, str] = {
    "read_tcspc": "read_das6",
    "write_oceanview": "write_oceanoptics",
    "save_dataset": "write_netcdf",
    "open_netcdf": "read_netcdf",
    "load_measurement": "read_measurement",
}

__all__ = [
    "DECAY_FORMATS",
    "DEFAULT_SATURATION_LEVEL",
    "DEPRECATED_NAMES",
    "AssemblyWarning",
    "DecayFile",
    "FileFormatWarning",
    "FluorEssenceTrace",
    "SpectrumFile",
    "assemble_measurement",
    "detect_format",
    "load_measurement",
    "normalize_polarization",
    "open_netcdf",
    "read_das6",
    "read_decay",
    "read_decays",
    "read_delimited",
    "read_fluoressence",
    "read_manifest",
    "read_measurement",
    "read_netcdf",
    "read_oceanoptics",
    "read_phu",
    "read_ptu",
    "read_refractive_index",
    "read_sdt",
    "read_spectrum",
    "read_tcspc",
    "save_dataset",
    "validate_measurement",
    "write_das6",
    "write_manifest",
    "write_netcdf",
    "write_oceanoptics",
    "write_oceanview",
]
