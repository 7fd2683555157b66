"""Every upstream adapter, registered once, and which one serves each rover.

Adding a photo source is one new module with a :class:`~mars_assets.sources.base.PhotoSource`
subclass and one line in :data:`PHOTO_SOURCES`; bronze, silver and the sensors find it here.
The defaults work today: the JPL feeds for Perseverance and Curiosity, the Mars 2020 feed's
helicopter frames for Ingenuity (a vehicle of its own: :mod:`mars_assets.sources.jpl_ingenuity`),
the v1 data (a mirror or the recorded snapshot) for Spirit and Opportunity, whose missions
ended before the JPL feeds existed. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from mars_assets.sources.base import PhotoSource
from mars_assets.sources.jpl_ingenuity import JplIngenuitySource
from mars_assets.sources.jpl_mars2020 import JplMars2020Source
from mars_assets.sources.jpl_msl import JplMslSource
from mars_assets.sources.mmgis import MmgisSource
from mars_assets.sources.photos_api import PhotosApiSource

#: Photo-metadata adapters by name (the names of ``MARS_SOURCES``).
PHOTO_SOURCES: dict[str, type[PhotoSource]] = {
    cls.name: cls for cls in (PhotosApiSource, JplMars2020Source, JplIngenuitySource, JplMslSource)
}
#: Map-layer adapters by name.
LAYER_SOURCES: dict[str, type[MmgisSource]] = {MmgisSource.name: MmgisSource}
#: The source of each rover when ``MARS_SOURCES`` does not say.
LIVE_DEFAULTS: dict[str, str] = {
    "perseverance": JplMars2020Source.name,
    "ingenuity": JplIngenuitySource.name,
    "curiosity": JplMslSource.name,
    "spirit": PhotosApiSource.name,
    "opportunity": PhotosApiSource.name,
}


def parse_sources(text: str) -> dict[str, str]:
    """``"perseverance=jpl_mars2020,curiosity=jpl_msl"`` → a mapping (raises ValueError when malformed)."""
    out = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        rover, sep, source = item.partition("=")
        if not sep:
            raise ValueError(f"MARS_SOURCES item {item!r} is not rover=source")
        out[rover.strip().lower()] = source.strip()
    return out


def check_sources(by_rover: Mapping[str, str]) -> None:
    """Raise ValueError naming the first rover whose source is unknown or does not serve it."""
    for rover, source in by_rover.items():
        if source not in PHOTO_SOURCES:
            raise ValueError(f"unknown source {source!r} for {rover}; choose from {sorted(PHOTO_SOURCES)}")
        if rover not in PHOTO_SOURCES[source].rovers:
            raise ValueError(f"source {source!r} does not serve {rover}")


def source_name(by_rover: Mapping[str, str], rover: str) -> str:
    """The name of the source serving ``rover`` (``by_rover``, else the live default, else v1)."""
    return by_rover.get(rover, LIVE_DEFAULTS.get(rover, PhotosApiSource.name))
