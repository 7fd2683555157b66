"""Issue 17's source side on real parts: the fewest requests per sol, many sols in flight
within each source's concurrency, and one request rate shared by every process of the
instance — the loopback replay server (its request log has monotonic times), real threads,
and processes started with ``spawn``.

Small rates (5 requests per 2 s) keep the file fast; counts per window allow 0.1 s for the
time a request takes from the limiter to the server's log.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from mars_assets.demo import ReplayServer, bundled_snapshot
from mars_assets.sources.concurrent import fetch_sols
from mars_assets.sources.http import ApiError, RateLimitError, RateLimitWaitError
from mars_assets.sources.jpl_mars2020 import JplMars2020Source
from mars_assets.sources.jpl_msl import MAX_PER_PAGE, JplMslSource
from mars_assets.sources.photos_api import PhotosApiSource
from mars_assets.sources.ratelimit import RequestRate, parse_rates

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "zyxwvutsrqponmlkjihgfedcba9876543210KEY17"
RATE, WINDOW = "5/2s", 2.0
#: Seconds a request may take from the limiter's slot to the server's log line.
JITTER = 0.1


def _reset(server: ReplayServer) -> ReplayServer:
    with server._lock:
        server.requests.clear()
        server.log.clear()
        server._faults.clear()
    return server


@pytest.fixture(scope="module")
def _v1_server():
    with ReplayServer(bundled_snapshot()) as server:  # one server per module: stopping one takes ~0.5 s
        yield server


@pytest.fixture
def v1(_v1_server) -> ReplayServer:
    """The bundled snapshot's replay server with an empty log and no pending faults."""
    return _reset(_v1_server)


@pytest.fixture(scope="module")
def jpl():
    with ReplayServer(FIXTURES) as server:
        yield server


def client(server: ReplayServer, **kw) -> PhotosApiSource:
    """The v1 client with test-sized waits (limits and retries are the production code)."""
    return PhotosApiSource(
        base_url=server.photos_api_url, api_key=SECRET, **{"backoff_factor": 0.01, "max_retry_after_seconds": 2, **kw}
    )


def query(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals ``[start, end)`` holding one instant."""
    return max(sum(1 for a, b in intervals if a <= start < b) for start, _ in intervals)


def most_in_a_window(times: list[float], window: float) -> int:
    """The most ``times`` inside any window ``(t - window, t]``."""
    return max(sum(1 for o in times if t - window < o <= t) for t in times)


# -- the fewest requests per sol --------------------------------------------------------------
def test_v1_sol_is_one_request_without_page(v1):
    pages = client(v1).fetch_sol("curiosity", 1000)
    ids = [p["id"] for p in json.loads(pages[0].body)["photos"]]
    assert len(pages) == 1 and len(ids) == len(set(ids)) == 856  # was 35 requests of 25
    [logged] = v1.log
    assert set(query(logged.path)) == {"sol", "api_key"}  # no page, no per_page


def test_v1_pages_only_when_a_page_size_is_configured(v1):
    pages = client(v1, page_size=100).fetch_sol("curiosity", 1000)
    assert [len(json.loads(p.body)["photos"]) for p in pages] == [100] * 8 + [56]
    assert [query(r.path)["page"] for r in v1.log] == [[str(n)] for n in range(1, 10)]
    assert {query(r.path)["per_page"][0] for r in v1.log} == {"100"}
    with pytest.raises(ValueError, match="page_size"):
        client(v1, page_size=-1)


def test_msl_sol_is_one_request_of_the_upstream_maximum(jpl):
    _reset(jpl)
    pages = JplMslSource(base_url=jpl.jpl_msl_url, backoff_factor=0.01).fetch_sol("curiosity", 3000)
    assert len(pages) == 1 and json.loads(pages[0].body)["more"] is False
    [logged] = jpl.log
    assert query(logged.path)["per_page"] == [str(MAX_PER_PAGE)] == ["1000"] and query(logged.path)["page"] == ["0"]


def test_m2020_sol_is_one_sol_request(jpl):
    _reset(jpl)
    assert len(JplMars2020Source(base_url=jpl.jpl_mars2020_url).fetch_sol("perseverance", 100)) == 1
    [logged] = jpl.log
    assert query(logged.path)["sol"] == ["100"] and "page" not in query(logged.path)


# -- many sols in flight ----------------------------------------------------------------------
def test_fetch_sols_keeps_at_most_concurrency_sols_in_flight(v1, caplog):
    caplog.set_level(logging.WARNING, logger="urllib3")
    delay, sols = 0.25, list(range(2000, 2012))
    v1.delay_next(delay, count=len(sols), match="/photos?")
    results = dict(fetch_sols(client(v1, concurrency=3), "curiosity", sols))
    assert sorted(results) == sols and all(isinstance(r, list) and len(r) == 1 for r in results.values())
    # each answer took at least `delay` after the server logged it: a worker's next request came later
    overlap = max_overlap([(r.at, r.at + delay) for r in v1.log])
    assert 2 <= overlap <= 3, overlap
    assert "Connection pool is full" not in caplog.text  # the pool holds a connection per thread


def test_fetch_sols_isolates_a_failing_sol(v1):
    v1.fail_next(200, raw=b"<html>Service Unavailable</html>", content_type="text/html", match="sol=2003&")
    v1.fail_next(404, body={"errors": "gone"}, match="sol=2004&")
    results = dict(fetch_sols(client(v1, concurrency=2), "curiosity", [0, 1, 1000, 2003, 2004, 2005]))
    assert isinstance(results[2003], ApiError) and "unusable response body" in str(results[2003])
    assert isinstance(results[2004], ApiError) and results[2004].status == 404
    assert SECRET not in str(results[2003]) + str(results[2004])
    ok = {sol: r for sol, r in results.items() if sol not in (2003, 2004)}
    assert all(isinstance(r, list) for r in ok.values())
    assert len(json.loads(ok[1000][0].body)["photos"]) == 856 and len(json.loads(ok[1][0].body)["photos"]) == 16


def test_fetch_sols_holds_a_bounded_number_of_unconsumed_results(v1):
    results = fetch_sols(client(v1, concurrency=2), "curiosity", range(3000, 3050))
    sol, _ = next(results)
    time.sleep(0.5)  # a slow consumer: the workers finish what was submitted, then stop
    assert len(v1.requests) <= 1 + 2 * 2
    results.close()  # the rest are never fetched
    asked = len(v1.requests)
    time.sleep(0.2)
    assert len(v1.requests) == asked < 50
    with pytest.raises(ValueError, match="concurrency"):
        next(fetch_sols(client(v1), "curiosity", [1], concurrency=0))


def test_session_is_made_once_for_many_threads_with_a_pool_per_thread(v1):
    source = client(v1, concurrency=16)
    barrier, made = threading.Barrier(16), []

    def take():
        barrier.wait()
        made.append(source.session())

    threads = [threading.Thread(target=take) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(s) for s in made}) == 1
    assert made[0].get_adapter("http://").poolmanager.connection_pool_kw["maxsize"] == 16
    source.reserve_connections(24)
    assert source.session().get_adapter("http://").poolmanager.connection_pool_kw["maxsize"] == 24


def test_concurrency_defaults_and_configuration(tmp_path, monkeypatch):
    from mars_assets.settings import Settings

    assert JplMslSource().concurrency == JplMars2020Source().concurrency == 4
    assert PhotosApiSource(api_key="k").concurrency == 4 and PhotosApiSource().concurrency == 1  # DEMO_KEY
    monkeypatch.setenv("MARS_SOURCE_CONCURRENCY", "jpl_mars2020=3,jpl_msl=2,photos_api_v1=5")
    monkeypatch.setenv("MARS_SOURCE_RATE", "photos_api_v1=1000/hour,jpl_msl=3600/h")
    monkeypatch.setenv("MARS_PHOTOS_API_PAGE_SIZE", "50")
    monkeypatch.setenv("MARS_RATE_LIMIT_DIR", str(tmp_path))
    settings = Settings.from_env()
    assert dict(settings.source_rates) == {"photos_api_v1": "1000/h", "jpl_msl": "3600/h"}
    sources = settings.resources()["sources"]
    v1, msl, m2020 = (sources.adapter(n) for n in ("photos_api_v1", "jpl_msl", "jpl_mars2020"))
    assert (v1.concurrency, msl.concurrency, m2020.concurrency) == (5, 2, 3)
    assert v1.rates == (RequestRate(1000, 3600),) and msl.rates == (RequestRate(3600, 3600),) and m2020.rates == ()
    assert v1.page_size == 50 and v1.rate_limit_dir == str(tmp_path)
    monkeypatch.setenv("MARS_SOURCE_CONCURRENCY", "jpl_msl=2,jpl_foo=4")
    with pytest.raises(ValueError, match="MARS_SOURCE_CONCURRENCY: unknown source 'jpl_foo'; choose from"):
        Settings.from_env()
    monkeypatch.setenv("MARS_SOURCE_CONCURRENCY", "jpl_msl=0")
    with pytest.raises(ValueError, match="jpl_msl='0': must be at least 1"):
        Settings.from_env()
    monkeypatch.delenv("MARS_SOURCE_CONCURRENCY")
    monkeypatch.setenv("MARS_SOURCE_RATE", "jpl_msl=fast")
    with pytest.raises(ValueError, match="MARS_SOURCE_RATE: jpl_msl='fast': rate 'fast' is not N/unit"):
        Settings.from_env()


def test_rates_parse_or_say_why():
    assert parse_rates("1000/h") == (RequestRate(1000, 3600),)
    assert parse_rates("50/d+30/h") == (RequestRate(30, 3600), RequestRate(50, 86400))
    assert parse_rates("5/2s") == (RequestRate(5, 2),) and str(RequestRate(5, 2)) == "5/2s"
    assert parse_rates("none") == parse_rates("0") == parse_rates("") == ()
    for bad in ("fast", "0/h", "10/fortnight", "100/h+50/d"):
        with pytest.raises(ValueError):
            parse_rates(bad)
    assert PhotosApiSource(api_key="k").rates == (RequestRate(1000, 3600),)  # api.data.gov with a key
    assert PhotosApiSource().rates == (RequestRate(30, 3600), RequestRate(50, 86400))  # DEMO_KEY
    assert PhotosApiSource(base_url="http://127.0.0.1:8765/mars-photos/api/v1").rates == ()  # the replay server
    assert JplMslSource().rates == JplMars2020Source().rates == ()  # no published limit


# -- one rate for every process ---------------------------------------------------------------
def _fetch_in_a_process(url: str, folder: str, sols: list[int], barrier, out) -> None:
    """A spawned process: fetch ``sols`` two at a time under the shared rate, report (sol, ok)."""
    source = PhotosApiSource(
        base_url=url, api_key=SECRET, rate=RATE, rate_limit_dir=folder, concurrency=2, max_rate_wait_seconds=30
    )
    source.session()
    barrier.wait(timeout=60)
    out.put([(sol, isinstance(r, list)) for sol, r in fetch_sols(source, "curiosity", sols)])


def test_two_processes_sharing_a_folder_never_exceed_the_rate_together(v1, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(3), ctx.Queue()
    sols = [list(range(4000, 4006)), list(range(5000, 5006))]
    args = (v1.photos_api_url, str(tmp_path))
    procs = [ctx.Process(target=_fetch_in_a_process, args=(*args, s, barrier, out)) for s in sols]
    for p in procs:
        p.start()
    barrier.wait(timeout=60)
    reports = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert sorted(s for report in reports for s, ok in report if ok) == sols[0] + sols[1]
    times = [r.at for r in v1.log]
    assert len(times) == 12 and {r.status for r in v1.log} == {200}
    assert most_in_a_window(times, WINDOW - JITTER) <= 5  # alone, each process would send 6 at once
    assert max(times) - min(times) >= 2 * WINDOW - JITTER  # 12 requests at 5 per 2 s: two waits
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert any(name.endswith(".sqlite") for name in files)
    assert not any(SECRET in name or SECRET.encode() in data for name, data in files.items())


def test_a_wait_longer_than_the_maximum_is_a_clear_rate_limit_error(v1, tmp_path):
    source = client(v1, rate="1/10s", rate_limit_dir=str(tmp_path), max_rate_wait_seconds=0.3)
    source.rovers_listing()
    started = time.monotonic()
    with pytest.raises(RateLimitWaitError) as err:
        source.rovers_listing()
    assert isinstance(err.value, RateLimitError) and time.monotonic() - started < 3
    assert len(v1.requests) == 1  # nothing was sent
    message = str(err.value)
    assert "no request slot within 0.3 s under 1/10s" in message and "photos_api_v1@127.0.0.1_" in message
    assert SECRET not in message


# -- the server's word: X-RateLimit-Remaining: 0 ------------------------------------------------
def remaining_zero(server: ReplayServer, retry_after: str | None = None) -> None:
    """The next /rovers answer says the window is spent (and when to come back, if given)."""
    headers = {"X-RateLimit-Remaining": "0", **({"Retry-After": retry_after} if retry_after else {})}
    server.fail_next(200, headers=headers, body={"rovers": []}, match="/rovers")


def test_remaining_zero_makes_the_next_request_wait(v1, tmp_path):
    remaining_zero(v1, retry_after="1")
    source = client(v1, rate_limit_dir=str(tmp_path))
    source.rovers_listing()
    source.rovers_listing()
    assert v1.log[1].at - v1.log[0].at >= 0.95  # Retry-After: 1
    remaining_zero(v1)  # no Retry-After: the configured pause
    source = client(v1, rate_limit_dir=str(tmp_path), rate_pause_seconds=0.6)
    source.rovers_listing()
    source.rovers_listing()
    assert v1.log[3].at - v1.log[2].at >= 0.55
    assert {r.status for r in v1.log} == {200}  # waited instead of being refused
    remaining_zero(v1, retry_after="120")  # longer than the maximum wait: fail at once, send nothing
    source = client(v1, rate_limit_dir=str(tmp_path), max_rate_wait_seconds=1)
    source.rovers_listing()
    with pytest.raises(RateLimitWaitError, match=r"paused for 1\d\d s more \(X-RateLimit-Remaining: 0") as err:
        source.rovers_listing()
    assert 100 < err.value.retry_after <= 120 and len(v1.requests) == 5 and SECRET not in str(err.value)
    [pause] = [p for p in tmp_path.iterdir() if p.name.endswith(".pause.json")]
    assert SECRET not in pause.read_text() and json.loads(pause.read_text())["until"] > time.time() + 100


def _request_after_a_pause(url: str, folder: str, go, out) -> None:
    """A spawned process: once told to go, report the pause it sees, then make one request."""
    source = PhotosApiSource(base_url=url, api_key=SECRET, rate_limit_dir=folder)
    source.session()
    out.put("ready")
    go.wait(timeout=60)
    out.put(source.limiter().pause_remaining())
    source.rovers_listing()


def test_a_pause_recorded_by_one_process_holds_every_process(v1, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_request_after_a_pause, args=(v1.photos_api_url, str(tmp_path), go, out))
    proc.start()
    assert out.get(timeout=60) == "ready"  # started and imported: the timing below is the limiter's alone
    remaining_zero(v1, retry_after="2")
    client(v1, rate_limit_dir=str(tmp_path)).rovers_listing()  # this process hears the server ...
    go.set()
    seen = out.get(timeout=60)
    proc.join(timeout=30)
    assert proc.exitcode == 0 and len(v1.log) == 2
    assert 0 < seen <= 2  # ... the other one sees the pause in the shared folder ...
    assert v1.log[1].at - v1.log[0].at >= 2 - JITTER  # ... and its request waited it out


def test_sqlite_rows_name_the_limiter_key_only(v1, tmp_path):
    source = client(v1, rate="100/s", rate_limit_dir=str(tmp_path))
    for _ in range(3):
        source.rovers_listing()
    [db] = tmp_path.glob("*.sqlite")
    with sqlite3.connect(db) as con:
        names = [n for (n,) in con.execute("select name from requests")]
    assert names == [source.limiter_key()] * 3 and SECRET not in source.limiter_key()
