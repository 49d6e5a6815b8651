"""Instrument readers and writers, measurement assembly and the NetCDF store.

Readers return plain records (`SpectrumFile`, `DecayFile`) with the file's header kept as
metadata; `assemble_measurement` turns a folder of files into the measurement Dataset of
docs/data-model.md; `load_measurement` accepts a NetCDF file, a folder or a manifest.
See docs/io.md.
"""

from __future__ import annotations

from .assemble import DEFAULT_SATURATION_LEVEL, AssemblyWarning, assemble_measurement
from .becker_hickl import read_sdt
from .das6 import read_tcspc, write_das6
from .delimited import read_delimited
from .detect import DECAY_FORMATS, detect_format, read_decay, read_decays, read_spectrum
from .fluoressence import FluorEssenceTrace, read_fluoressence
from .manifest import read_manifest, write_manifest
from .netcdf import load_measurement, open_netcdf, save_dataset
from .oceanoptics import read_oceanoptics, write_oceanview
from .picoquant import read_phu, read_ptu
from .polarization import normalize_polarization
from .records import DecayFile, FileFormatWarning, SpectrumFile
from .refractive_index import read_refractive_index
from .validate import validate_measurement

__all__ = [
    "DECAY_FORMATS",
    "DEFAULT_SATURATION_LEVEL",
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
    "read_decay",
    "read_decays",
    "read_delimited",
    "read_fluoressence",
    "read_manifest",
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
    "write_oceanview",
]
