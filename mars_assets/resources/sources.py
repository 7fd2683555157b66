"""Which upstream each rover's photo metadata comes from (a Dagster resource).

Sources: ``photos_api_v1`` (the retired Mars Rover Photos API, a v1-compatible mirror or
the snapshot replay server), ``jpl_mars2020`` (Perseverance's JPL raw-image feed) and
``jpl_msl`` (Curiosity's JPL raw_image_items). The defaults work today: the JPL feeds for
Perseverance and Curiosity, the v1 data (mirror or recorded) for Spirit and Opportunity,
whose missions ended before the JPL feeds existed.
"""

import dagster as dg
from pydantic import Field, field_validator

SOURCE_ROVERS = {
    "photos_api_v1": {"curiosity", "opportunity", "perseverance", "spirit"},
    "jpl_mars2020": {"perseverance"},
    "jpl_msl": {"curiosity"},
}
LIVE_DEFAULTS = {
    "perseverance": "jpl_mars2020",
    "curiosity": "jpl_msl",
    "spirit": "photos_api_v1",
    "opportunity": "photos_api_v1",
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


class PhotoSources(dg.ConfigurableResource):
    """Per rover, the source of photo metadata (see the module docstring)."""

    by_rover: dict[str, str] = Field(default_factory=lambda: dict(LIVE_DEFAULTS))

    @field_validator("by_rover")
    @classmethod
    def _valid(cls, value: dict[str, str]) -> dict[str, str]:
        for rover, source in value.items():
            if source not in SOURCE_ROVERS:
                raise ValueError(f"unknown source {source!r} for {rover}; choose from {sorted(SOURCE_ROVERS)}")
            if rover not in SOURCE_ROVERS[source]:
                raise ValueError(f"source {source!r} does not serve {rover}")
        return value

    def source_for(self, rover: str) -> str:
        return self.by_rover.get(rover, LIVE_DEFAULTS.get(rover, "photos_api_v1"))
