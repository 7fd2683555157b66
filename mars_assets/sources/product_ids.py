"""Parse JPL raw-image product ids (file names) into rover, sol and camera.

Supported forms (the field layouts are from the missions' Software Interface
Specifications, summarised by the JPL raw-image sites and by
https://github.com/kmgill/mars-raw-utils):

* MSL MSSS cameras (Mastcam, MAHLI, MARDI), e.g. ``0050ML0002300290102177E01_DRCL``:
  four digits of sol, then two letters of instrument (``ML``/``MR`` Mastcam left/right,
  ``MH`` MAHLI, ``MD`` MARDI).
* Mars 2020 (Perseverance), e.g. ``NLF_0670_0726421423_362ECM_N0320604NCAM08111_01_095J01``:
  instrument letter and eye (``NL`` Navcam left, ``ZL`` Mastcam-Z left, ``FL`` front
  Hazcam left, ...), then ``_`` four digits of sol ``_`` ten digits of spacecraft clock.
* MSL engineering cameras, e.g. ``NRB_670586006EDR_S0871444NCAM00545M_``: instrument,
  eye and computer string, then the nine-digit spacecraft clock. The sol is *not* in the
  name; these parse with ``sol=None`` and are quarantined by the caller.

Camera names follow the Mars Rover Photos API v1 (``MAST``, ``MAHLI``, ``NAVCAM_LEFT`` ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: File suffixes of raw rover images (lower case), in the landing zone and in a snapshot's ``images/``.
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".gif", ".bmp", ".webp"}


@dataclass(frozen=True)
class ProductId:
    """What a product id says. ``sol`` is ``None`` when the name does not carry it."""

    product_id: str
    rover: str | None
    sol: int | None
    camera: str | None
    instrument: str | None
    sclk: int | None = None
    reason: str | None = None  # why rover/sol/camera could not be read, if any


_MSSS = re.compile(r"^(?P<sol>\d{4})(?P<inst>M[LRHD])\d")
_MSSS_CAMERAS = {"ML": "MAST", "MR": "MAST", "MH": "MAHLI", "MD": "MARDI"}
_MSSS_INSTRUMENTS = {
    "ML": "MAST_LEFT",
    "MR": "MAST_RIGHT",
    "MH": "MAHLI",
    "MD": "MARDI",
}

_M2020 = re.compile(r"^(?P<inst>[A-Z][A-Z0-9])(?P<x>[A-Z0-9])_(?P<sol>\d{4})_(?P<sclk>\d{10})")
_M2020_CAMERAS = {
    "NL": "NAVCAM_LEFT",
    "NR": "NAVCAM_RIGHT",
    "ZL": "MCZ_LEFT",
    "ZR": "MCZ_RIGHT",
    "FL": "FRONT_HAZCAM_LEFT_A",
    "FR": "FRONT_HAZCAM_RIGHT_A",
    "RL": "REAR_HAZCAM_LEFT",
    "RR": "REAR_HAZCAM_RIGHT",
    "SI": "SUPERCAM_RMI",
    "SC": "SUPERCAM_RMI",
    "WS": "SHERLOC_WATSON",
    "SK": "SKYCAM",
    "LR": "LCAM",
}

_MSL_ENG = re.compile(r"^(?P<inst>[NFRC])(?P<eye>[LR])(?P<string>[AB])_(?P<sclk>\d{9})")
_MSL_ENG_CAMERAS = {"N": "NAVCAM", "F": "FHAZ", "R": "RHAZ", "C": "CHEMCAM"}


def product_stem(name: str) -> str:
    """The file name of a path or URL without its directory, query and extension(s)
    (``PurePosixPath(path).name`` up to its first dot, in string operations: it runs per photo)."""
    return name.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0]


def parse_product_id(name: str) -> ProductId:
    """Read rover, sol and camera from a product id or an image file name.

    ``name`` may be a path or URL; the directory and extension are ignored. Never raises:
    an unknown form returns ``rover=sol=camera=None`` with ``reason`` set.
    """
    stem = product_stem(name)
    upper = stem.upper()
    if m := _MSSS.match(upper):
        inst = m["inst"]
        return ProductId(stem, "curiosity", int(m["sol"]), _MSSS_CAMERAS[inst], _MSSS_INSTRUMENTS[inst])
    if m := _M2020.match(upper):
        inst = m["inst"]
        camera = _M2020_CAMERAS.get(inst)
        return ProductId(
            stem,
            "perseverance",
            int(m["sol"]),
            camera or inst,
            inst,
            int(m["sclk"]),
            None if camera else f"unknown Mars 2020 instrument code {inst!r}",
        )
    if m := _MSL_ENG.match(upper):
        return ProductId(
            stem,
            "curiosity",
            None,
            _MSL_ENG_CAMERAS[m["inst"]],
            f"{m['inst']}{m['eye']}{m['string']}",
            int(m["sclk"]),
            "MSL engineering-camera product id carries the spacecraft clock, not the sol",
        )
    return ProductId(stem, None, None, None, None, None, "unrecognised product id form")
