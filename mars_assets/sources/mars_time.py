"""Mars time of the rovers' spacecraft clocks: SCLK → sol and local mean solar time, and back.

Every rover clock (SCLK) counts seconds since J2000, 2000-01-01 12:00:00 TT
(= 2000-01-01 11:58:55.816 UTC): MER Camera EDR/RDR SIS and PDS labels
(``SPACECRAFT_CLOCK_START_COUNT``); the same epoch for MSL and Mars 2020. The clock is the
rover's own oscillator, so it drifts from ephemeris time (ET ≈ TT, within 2 ms): each
mission has a linear correlation ``ET = ref_et + (SCLK − ref_sclk) × rate`` (see
:data:`MISSIONS` for the constants and where each comes from).

From ET to the sol (Mars24 algorithm: Allison & McEwen 2000, *Planet. Space Sci.* 48,
215–235; NASA GISS Mars24, https://www.giss.nasa.gov/tools/mars24/help/algorithm.html):

* JD_TT = 2451545.0 + ET / 86400 (steps A-5/A-6, ET = TT seconds past J2000);
* MSD = (JD_TT − 2451549.5) / 1.0274912517 + 44796.0 − 0.0009626, the Mars Sol Date whose
  fraction × 24 h is step C-2's Coordinated Mars Time (MTC);
* local mean solar days LMSD = MSD + λ_east / 360 and LMST = 24 h × frac(LMSD) (step C-3,
  LMST = MTC − Λ × 24 h / 360° with west longitude Λ = 360° − λ_east);
* sol = floor(LMSD) − floor(LMSD at touchdown) + the landing sol's number (0 for MSL and
  Mars 2020, 1 for MER): a mission's sols are mean solar days at its landing site, starting
  at the local midnight before touchdown.

Checked against recorded data (``mars_assets_tests/test_mars_time.py``): the sols of every
recorded v1 photo and JPL feed image whose name or record carries both clock and sol, and
JPL's own LMST (``extended.lmst`` / ``date_taken_mars``) within 30 s.

The sol from a clock is the sol the image was *taken*; UTC conversions use the leap-second
table :data:`LEAP_SECONDS`.

Limits: the authoritative clock correlations are NAIF's SCLK kernels, out of reach here, so
the MSL model is a linear fit made elsewhere (and the Mars 2020 one fitted to recorded pages);
far from the sols they were checked on, a clock within minutes of local midnight may fall in
the neighbouring sol. The MER clocks have no drift term: the recorded data only shows sol 1.
No PyPI package fits (``marstime`` 2019, ``mars24`` 2012 unmaintained; ``mars-datetime`` and
``mars-dtc`` do Mars years / Ls, not mission sols): Mars24 is implemented here.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cached_property

#: Mars24 constants (algorithm page, steps A-6 and C-2): J2000 as a Julian date (TT), the MSD
#: formula's JD origin, the mean sol in Earth days, and the MSD at that origin with Mars24's
#: small correction to Allison & McEwen (2000).
J2000_JD = 2451545.0
MSD_JD_ORIGIN = 2451549.5
SOL_DAYS = 1.0274912517
MSD_AT_ORIGIN = 44796.0 - 0.0009626
#: A mean solar day on Mars, in SI seconds (86400 × SOL_DAYS).
SOL_SECONDS = 86400.0 * SOL_DAYS

#: J2000 (2000-01-01 12:00:00 TT) in UTC: the zero of every rover clock.
J2000_UTC = dt.datetime(2000, 1, 1, 11, 58, 55, 816000, tzinfo=dt.UTC)
#: TAI − UTC (s) from each date on (IERS Bulletin C; NAIF LSK naif0012.tls). No leap second
#: was announced after 2017-01-01 up to IERS Bulletin C 70 (July 2025); one announced later
#: shifts UTC results after it by 1 s (sols are unaffected: they are computed in ET).
LEAP_SECONDS: tuple[tuple[dt.datetime, int], ...] = (
    (dt.datetime(1999, 1, 1, tzinfo=dt.UTC), 32),
    (dt.datetime(2006, 1, 1, tzinfo=dt.UTC), 33),
    (dt.datetime(2009, 1, 1, tzinfo=dt.UTC), 34),
    (dt.datetime(2012, 7, 1, tzinfo=dt.UTC), 35),
    (dt.datetime(2015, 7, 1, tzinfo=dt.UTC), 36),
    (dt.datetime(2017, 1, 1, tzinfo=dt.UTC), 37),
)
_TT_MINUS_TAI = 32.184


class ClockOutOfRange(ValueError):
    """A clock (or sol) outside the rover's mission: before its landing sol, after its last
    sol, or later than now. The message names the clock, the sol it gives and the range."""


def _tai_minus_utc(t: dt.datetime) -> int:
    value = LEAP_SECONDS[0][1]
    for start, n in LEAP_SECONDS:
        if t >= start:
            value = n
    return value


def utc_to_et(t: dt.datetime) -> float:
    """Seconds past J2000 TT (ET ≈ TT) of a UTC time (a naive datetime is taken as UTC).
    Valid from 1999 on (:data:`LEAP_SECONDS`)."""
    t = t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)
    return (t - J2000_UTC).total_seconds() + (_tai_minus_utc(t) - LEAP_SECONDS[0][1])


def et_to_utc(et: float) -> dt.datetime:
    """The UTC time (aware) of ``et`` seconds past J2000 TT; inverse of :func:`utc_to_et`."""
    naive = J2000_UTC + dt.timedelta(seconds=et)
    utc = naive - dt.timedelta(seconds=_tai_minus_utc(naive) - LEAP_SECONDS[0][1])
    # once more with the leap seconds in force at that UTC (the naive time may be past a new one)
    return naive - dt.timedelta(seconds=_tai_minus_utc(utc) - LEAP_SECONDS[0][1])


def mars_sol_date(et: float) -> float:
    """Mars Sol Date (MSD, mean solar days at the prime meridian) of ``et`` seconds past J2000
    TT (Mars24 step C-2)."""
    return (J2000_JD + et / 86400.0 - MSD_JD_ORIGIN) / SOL_DAYS + MSD_AT_ORIGIN


def _et_of_msd(msd: float) -> float:
    return ((msd - MSD_AT_ORIGIN) * SOL_DAYS + MSD_JD_ORIGIN - J2000_JD) * 86400.0


@dataclass(frozen=True)
class Mission:
    """What turns one rover's clock into its sols.

    Attributes:
        rover: rover name as in the partitions (``curiosity``...).
        east_longitude: landing site, degrees east (planetocentric): the longitude of its sols.
        first_sol: the number of the landing sol (MER counted from 1, MSL and Mars 2020 from 0).
        touchdown_utc: landing time (spacecraft event time, UTC); only its sol matters.
        last_sol: the last sol the rover sent data, or None for a rover still working.
        ref_sclk, ref_et, rate: the clock correlation ``ET = ref_et + (SCLK − ref_sclk) × rate``
            (ET in seconds past J2000 TT, SCLK in clock seconds).
        clock_source: where the correlation comes from.
    """

    rover: str
    east_longitude: float
    first_sol: int
    touchdown_utc: dt.datetime
    last_sol: int | None
    ref_sclk: float
    ref_et: float
    rate: float
    clock_source: str

    @cached_property
    def sol_base(self) -> int:
        """``floor(LMSD)`` of the local midnight that begins sol 0 (sol = floor(LMSD) − sol_base)."""
        return math.floor(self.lmsd(utc_to_et(self.touchdown_utc))) - self.first_sol

    def lmsd(self, et: float) -> float:
        """Local mean solar days (MSD + λ_east / 360) at the landing site at ``et``."""
        return mars_sol_date(et) + self.east_longitude / 360.0


_UTC = dt.UTC
#: The rovers whose clocks give sols. Landing sites: MER to 0.01° from Golombek et al. 2005
#: (*Nature* 436, 44–48: Spirit 14.57 °S 175.47 °E, Opportunity 1.95 °S 354.47 °E); MSL and
#: Mars 2020 the first localization of the project's MMGIS waypoints (RMC 2_0, sol 3:
#: 137.441633 °E; RMC 3_0, sol 13: 77.450886 °E; neither rover had driven yet). 0.01° of
#: longitude is 2.4 s of LMST. Touchdown (spacecraft event time) and last sols: NASA/JPL
#: mission pages (Spirit's last contact 2010-03-22, sol 2210; Opportunity's 2018-06-10, sol 5111).
_MER_CLOCK = "MER SCLK = seconds since J2000, no drift term (none in the sources at hand; checked at sol 1)"
MISSIONS: dict[str, Mission] = {
    m.rover: m
    for m in (
        Mission(
            rover="spirit",
            east_longitude=175.47,
            first_sol=1,
            touchdown_utc=dt.datetime(2004, 1, 4, 4, 26, tzinfo=_UTC),
            last_sol=2210,
            ref_sclk=0.0,
            ref_et=0.0,
            rate=1.0,
            clock_source=_MER_CLOCK,
        ),
        Mission(
            rover="opportunity",
            east_longitude=354.47,
            first_sol=1,
            touchdown_utc=dt.datetime(2004, 1, 25, 4, 55, tzinfo=_UTC),
            last_sol=5111,
            ref_sclk=0.0,
            ref_et=0.0,
            rate=1.0,
            clock_source=_MER_CLOCK,
        ),
        Mission(
            rover="curiosity",
            east_longitude=137.441633,
            first_sol=0,
            touchdown_utc=dt.datetime(2012, 8, 6, 5, 17, 57, tzinfo=_UTC),
            last_sol=None,
            # kmgill/mars-raw-utils src/constants.rs: MSL_SURFACE_SCLK 434589485 (+ its 2 s leap
            # term) at Unix time MSL_UNIX_COUNT_OFFSET 1381317960 (2013-10-09T11:26:00Z), and
            # MSL_RATE_ADJUSTMENT 1.000009438 UTC seconds per clock second
            ref_sclk=434589487.0,
            ref_et=utc_to_et(dt.datetime(2013, 10, 9, 11, 26, tzinfo=_UTC)),
            rate=1.000009438,
            clock_source="MSL clock slow by ~0.8 s/day: the linear model of kmgill/mars-raw-utils "
            "(constants.rs); reproduces JPL's LMST of the recorded sol-86 feed page within 1 s",
        ),
        Mission(
            rover="perseverance",
            east_longitude=77.450886,
            first_sol=0,
            touchdown_utc=dt.datetime(2021, 2, 18, 20, 44, tzinfo=_UTC),
            last_sol=None,
            # least squares over the 148 images of the recorded Mars 2020 feed captures (sols
            # 94-106 and 876-890): date_taken_utc (JPL's SCLK -> UTC) against extended.sclk;
            # largest residual 0.5 ms
            ref_sclk=700000000.0,
            ref_et=700000419.958,
            rate=1.000007883,
            clock_source="Mars 2020 clock slow by ~0.68 s/day: fit to JPL's date_taken_utc in the "
            "recorded feed captures (sols 94-890)",
        ),
    )
}


def mission(rover: str) -> Mission:
    """The :class:`Mission` of ``rover`` (lower case); KeyError naming the rovers known."""
    try:
        return MISSIONS[rover]
    except KeyError:
        raise KeyError(f"no clock model for rover {rover!r} (known: {', '.join(MISSIONS)})") from None


def sclk_to_et(rover: str, sclk: float) -> float:
    """ET (seconds past J2000 TT) of a clock reading of ``rover``."""
    m = mission(rover)
    return m.ref_et + (sclk - m.ref_sclk) * m.rate


def et_to_sclk(rover: str, et: float) -> float:
    """The clock reading of ``rover`` at ``et`` seconds past J2000 TT (inverse of :func:`sclk_to_et`)."""
    m = mission(rover)
    return m.ref_sclk + (et - m.ref_et) / m.rate


def sclk_to_lmst(rover: str, sclk: float) -> tuple[int, float]:
    """``(sol, lmst_hours)``: the mission sol and local mean solar time (hours, 0 ≤ h < 24) at the
    landing site for a clock reading. No range check (a sol may be negative or in the future)."""
    m = mission(rover)
    days = m.lmsd(sclk_to_et(rover, sclk))
    whole = math.floor(days)
    return whole - m.sol_base, (days - whole) * 24.0


def last_sol(rover: str, now: dt.datetime | None = None) -> int:
    """The last sol of ``rover``'s mission, or for a working rover the sol it is now (UTC ``now``,
    default the current time)."""
    m = mission(rover)
    if m.last_sol is not None:
        return m.last_sol
    now = now or dt.datetime.now(dt.UTC)
    return math.floor(m.lmsd(utc_to_et(now))) - m.sol_base


def sclk_to_sol(rover: str, sclk: float, now: dt.datetime | None = None) -> int:
    """The mission sol (its landing site's mean solar day) of a clock reading of ``rover``.

    Raises :class:`ClockOutOfRange` when that sol is before the landing sol or after
    :func:`last_sol` (``now`` for a working rover: default the current UTC time), and KeyError
    for a rover without a clock model.
    """
    sol, _ = sclk_to_lmst(rover, sclk)
    first, last = mission(rover).first_sol, last_sol(rover, now)
    if sol < first:
        raise ClockOutOfRange(f"{rover} clock {sclk:.0f} gives sol {sol}, before the landing sol {first}")
    if sol > last:
        limit = f"the mission's last sol {last}" if mission(rover).last_sol is not None else f"today's sol {last}"
        raise ClockOutOfRange(f"{rover} clock {sclk:.0f} gives sol {sol}, after {limit}")
    return sol


def sol_to_utc(rover: str, sol: int, lmst_hours: float = 0.0) -> dt.datetime:
    """UTC (aware) at ``lmst_hours`` local mean solar time of ``sol`` (0.0: the midnight that
    starts it). The inverse of :func:`sclk_to_lmst` through :func:`et_to_sclk`."""
    m = mission(rover)
    return et_to_utc(_et_of_msd(m.sol_base + sol + lmst_hours / 24.0 - m.east_longitude / 360.0))


def sol_to_sclk(rover: str, sol: int, lmst_hours: float = 0.0) -> float:
    """The clock reading of ``rover`` at ``lmst_hours`` of ``sol``: ``sol_to_sclk(r, s)`` and
    ``sol_to_sclk(r, s + 1)`` bound the clocks of sol ``s``."""
    return et_to_sclk(rover, utc_to_et(sol_to_utc(rover, sol, lmst_hours)))


def earth_date_of_sol(rover: str, sol: int) -> dt.date:
    """The UTC date at local mean noon of ``sol``. (The retired v1 API's ``earth_date`` is another
    rule, landing date + floor(sol × 88775.244 / 86400) days, and may differ by a day.)"""
    return sol_to_utc(rover, sol, 12.0).date()
