"""Schema drift: the fields a source's records carry, against the fields it is known to send.

Why: upstream JSON changes without notice. In November 2025 the Perseverance feed turned
``date_taken`` null and ``imageid`` into a string, and a peer project silently skipped over
1,000 photos. Each source's parse therefore compares what arrives with :data:`EXPECTED` (its
records' fields as the real recorded answers have them, :mod:`mars_assets.sources.drift_fields`)
and reports three kinds of drift, which the pipeline shows as WARN asset checks
(``bronze/photos`` ``schema_drift``, ``silver/waypoints`` and ``silver/traverse``
``schema_drift``). Drift never rejects a record: the parsers decide what they can type.

* **unknown**: a field that is not expected (reported at its top-most unknown path: a new
  object ``extended.foo`` is one key, not one per field inside it);
* **missing**: a required field absent (a field inside an object only when that object is
  there);
* **retyped**: a field whose JSON type (``str``, ``int``, ``float``, ``bool``, ``null``,
  ``object``, ``array``) is not one of its expected types, with the type seen.

Paths are dotted (``extended.sclk``, ``properties.Length``); arrays are not descended into.

Cost (it runs on every page of every sol: 1.5 M photos a mission backfill): per page the
number of top-level fields of every record is compared at C speed (``set(map(len, records))``);
the fields, their types and nested fields are checked on a sample — the first record, every
:data:`STRIDE`-th, and, when the field counts differ, the first record of each top-level key
set. So a field added to or dropped from any record is seen, and a change to every record
(the November 2025 kind); a rename or a type change confined to records between samples can
go unseen (the parser's quarantine still catches what it cannot type). Counts are of
``checked`` records, out of ``records`` (14 of the bundled v1 sol 1000's 856 photos).

Pure (standard library only).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mars_assets.sources.drift_fields import ALIASES, FIELDS

#: A record's types and nested fields are checked for the first record and every STRIDE-th
#: (~14 of an 856-photo sol; a whole-sol page of a JPL feed up to 1,000).
STRIDE = 64
#: The path that names a record which is not a JSON object.
RECORD = "(record)"
#: Names of the JSON types, by Python type of the decoded value.
_TYPES: dict[type, str] = {
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    type(None): "null",
    dict: "object",
    list: "array",
}
#: Type words of the field lists that stand for several JSON types.
_WIDE = {"number": ("int", "float")}
#: Drifting keys named per source in a check's text (all are in its JSON metadata).
SHOWN_KEYS = 12


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value (``"str"``, ``"int"``, ``"float"``, ``"bool"``,
    ``"null"``, ``"object"``, ``"array"``); another Python type gives its own name."""
    name = _TYPES.get(type(value))
    if name is not None:
        return name
    if isinstance(value, Mapping):
        return "object"
    return "array" if isinstance(value, (list, tuple)) else type(value).__name__


@dataclass(frozen=True)
class Expected:
    """The fields one source's records are known to carry.

    ``types``: dotted path → allowed JSON types. ``required``: object prefix (``""`` for the
    record, ``"extended."`` for its ``extended`` object) → ``(key, path)`` of each field that
    must be there whenever that object is.
    """

    name: str
    types: Mapping[str, frozenset[str]]
    required: Mapping[str, tuple[tuple[str, str], ...]]

    @classmethod
    def of(cls, name: str, spec: Mapping[str, Any]) -> Expected:
        """From a nested field list: ``{"id": "int", "?site": "int|str|null", "extended": {...}}``.

        A key starting with ``?`` is optional; a value is ``|``-separated JSON types
        (``number`` = ``int|float``) or a mapping (an object, with its own fields).
        """
        types: dict[str, frozenset[str]] = {}
        required: dict[str, list[tuple[str, str]]] = {}

        def walk(fields: Mapping[str, Any], prefix: str) -> None:
            for raw, value in fields.items():
                key = raw.removeprefix("?")
                path = prefix + key
                if raw == key:
                    required.setdefault(prefix, []).append((key, path))
                if isinstance(value, Mapping):
                    types[path] = frozenset({"object"})
                    walk(value, path + ".")
                else:
                    words = value.split("|")
                    types[path] = frozenset(t for w in words for t in _WIDE.get(w, (w,)))

        walk(spec, "")
        return cls(name, types, {k: tuple(v) for k, v in required.items()})

    def tally(self, record: Any, drift: Drift) -> None:
        """Add one record's unknown, missing and retyped fields to ``drift``."""
        if not isinstance(record, Mapping):
            drift.retype(RECORD, json_type(record), "object")
        else:
            self._walk(record, "", drift)

    def _walk(self, obj: Mapping[str, Any], prefix: str, drift: Drift) -> None:
        types = self.types
        for key, value in obj.items():
            path = prefix + str(key)
            allowed = types.get(path)
            if allowed is None:
                drift.unknown[path] += 1
                continue
            seen = _TYPES.get(type(value)) or json_type(value)
            if seen not in allowed:
                drift.retype(path, seen, "|".join(sorted(allowed)))
            elif seen == "object":
                self._walk(value, path + ".", drift)
        for key, path in self.required.get(prefix, ()):
            if key not in obj:
                drift.missing[path] += 1


@dataclass
class Drift:
    """Drift of one source over some records (pages, sols, a run: :meth:`add` sums them).

    ``records``: records seen; ``checked``: records whose fields were checked (the sample);
    ``unknown`` / ``missing``: path → checked records showing it; ``retyped``: path → {JSON
    type seen: checked records}; ``expected``: path → the expected types of a retyped path.
    """

    source: str
    records: int = 0
    checked: int = 0
    unknown: Counter[str] = field(default_factory=Counter)
    missing: Counter[str] = field(default_factory=Counter)
    retyped: dict[str, Counter[str]] = field(default_factory=dict)
    expected: dict[str, str] = field(default_factory=dict)

    def retype(self, path: str, seen: str, expected: str) -> None:
        self.retyped.setdefault(path, Counter())[seen] += 1
        self.expected[path] = expected

    @property
    def drifted(self) -> bool:
        """True when any field is unknown, missing or retyped."""
        return bool(self.unknown or self.missing or self.retyped)

    def add(self, other: Drift) -> Drift:
        """Add ``other`` (of the same source) into this one; returns self."""
        self.records += other.records
        self.checked += other.checked
        self.unknown.update(other.unknown)
        self.missing.update(other.missing)
        for path, seen in other.retyped.items():
            self.retyped.setdefault(path, Counter()).update(seen)
        self.expected.update(other.expected)
        return self

    def keys(self) -> list[str]:
        """Every drifting field with the checked records showing it, by kind then path, e.g.
        ``["missing title ×13", "retyped imageid: int ×13 (expected str)", "unknown foo ×1"]``."""
        retyped = [
            f"retyped {p}: {', '.join(f'{t} ×{n}' for t, n in sorted(s.items()))} (expected {self.expected.get(p)})"
            for p, s in sorted(self.retyped.items())
        ]
        missing = [f"missing {p} ×{n}" for p, n in sorted(self.missing.items())]
        return missing + retyped + [f"unknown {p} ×{n}" for p, n in sorted(self.unknown.items())]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{records, checked, unknown: {path: n}, missing: {path: n}, retyped:
        {path: {"seen": {type: n}, "expected": "str"}}}``, paths sorted."""
        return {
            "records": self.records,
            "checked": self.checked,
            "unknown": dict(sorted(self.unknown.items())),
            "missing": dict(sorted(self.missing.items())),
            "retyped": {
                p: {"seen": dict(sorted(s.items())), "expected": self.expected.get(p)}
                for p, s in sorted(self.retyped.items())
            },
        }


def expected_for(source: str) -> Expected | None:
    """The expected fields of ``source`` (a photo source name or an MMGIS layer name such as
    ``mmgis_M20_waypoints``); None for a source without a field list."""
    return EXPECTED.get(ALIASES.get(source, source))


def check(expected: Expected, records: Sequence[Any], *, into: Drift | None = None, stride: int = STRIDE) -> Drift:
    """Drift of one page's ``records`` against ``expected``, added to ``into`` (a new
    :class:`Drift` of ``expected.name`` when None) and returned. Sampling: see the module doc."""
    drift = into if into is not None else Drift(expected.name)
    records = records if isinstance(records, list) else list(records)
    drift.records += len(records)
    if not records:
        return drift
    try:  # records of one length: taken as one key set (a rename confined to some records: the sample)
        uniform = isinstance(records[0], Mapping) and len(set(map(len, records))) == 1
    except TypeError:  # a record without a length (a number)
        uniform = False
    picked = set(range(0, len(records), stride))
    if not uniform:
        picked.update(_first_of_each_key_set(records))
    for i in sorted(picked):
        expected.tally(records[i], drift)
    drift.checked += len(picked)
    return drift


def _first_of_each_key_set(records: Iterable[Any]) -> Iterable[int]:
    """Index of the first record of each top-level key set (a record that is not an object: of each type)."""
    firsts: dict[tuple, int] = {}
    for i, record in enumerate(records):
        key = tuple(record) if isinstance(record, Mapping) else (RECORD, json_type(record))
        firsts.setdefault(key, i)
    return firsts.values()


def check_pages(source: str, pages: Iterable[Sequence[Any]], *, stride: int = STRIDE) -> Drift | None:
    """Drift of ``source`` over the record lists of its pages (``stride`` as :func:`check`);
    None for a source without a field list (:func:`expected_for`)."""
    expected = expected_for(source)
    if expected is None:
        return None
    drift = Drift(source)
    for records in pages:
        check(expected, records, into=drift, stride=stride)
    return drift


def summarize(drifts: Iterable[tuple[str, Drift | None]]) -> tuple[bool, dict[str, Any]]:
    """``(passed, metadata)`` of a run's drift: ``drifts`` are ``(where, drift)`` pairs (``where``:
    a partition such as ``"perseverance 890"`` or a layer copy), summed per source.

    passed: no drift at all. metadata (plain JSON values): ``records`` and ``checked`` totals,
    ``by_source`` (:meth:`Drift.to_dict` per source), ``drifted_keys`` (text, a line per source
    naming its first :data:`SHOWN_KEYS` drifting keys with counts) and ``where`` (the first 20
    places with drift).
    """
    total: dict[str, Drift] = {}
    places = []
    for where, drift in drifts:
        if drift is None:
            continue
        total.setdefault(drift.source, Drift(drift.source)).add(drift)
        if drift.drifted:
            places.append(where)
    lines = []
    for name, drift in sorted(total.items()):
        if drift.drifted:
            shown = drift.keys()
            more = f" (+{len(shown) - SHOWN_KEYS} more)" if len(shown) > SHOWN_KEYS else ""
            lines.append(f"{name}: " + "; ".join(shown[:SHOWN_KEYS]) + more)
    return not lines, {
        "records": sum(d.records for d in total.values()),
        "checked": sum(d.checked for d in total.values()),
        "by_source": {name: d.to_dict() for name, d in sorted(total.items())},
        "drifted_keys": "\n".join(lines),
        "places_with_drift": len(places),
        "where": ", ".join(places[:20]),
    }


#: Expected fields per source, from :data:`mars_assets.sources.drift_fields.FIELDS`.
EXPECTED: dict[str, Expected] = {name: Expected.of(name, spec) for name, spec in FIELDS.items()}
