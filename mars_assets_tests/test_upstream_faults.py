"""Upstream faults over the loopback replay server (issue 9): 429 with and without
Retry-After, 502/503 bursts, connection resets, answers slower than the timeout and a page
that repeats the previous page. Each is survived with a bounded number of retries by the
real clients (urllib3 ``Retry`` in :mod:`mars_assets.resources.http`), the final state is
correct, and the requests per rate-limit window are counted from the server's log.
"""

from __future__ import annotations

import json
import math
import time

import dagster as dg
import pytest

from mars_assets.definitions import build_definitions
from mars_assets.demo import ReplayServer, bundled_snapshot
from mars_assets.partitions import add_sols, rover_sol_key
from mars_assets.resources import ImageDownloader, UpstreamSources, Warehouse
from mars_assets.settings import Settings
from mars_assets.sources import mmgis
from mars_assets.sources.http import ApiError, RateLimitError
from mars_assets.sources.jpl_msl import JplMslSource
from mars_assets.sources.mmgis import MmgisSource
from mars_assets.sources.photos_api import PhotosApiSource
from mars_assets_tests.conftest import make_small_archive

SNAPSHOT = bundled_snapshot()
IMAGE = "/images/msl_deep_mars_browse/0003ML0000000110100031E01_DRCL.JPG"


def recorded_ids(name: str) -> list[int]:
    """Photo ids of a recorded sol of the bundled snapshot, sorted."""
    return sorted(p["id"] for p in json.loads((SNAPSHOT / "api/photos" / name).read_text())["photos"])


SOL1_IDS = recorded_ids("curiosity_sol0001.json")
SOL1000_IDS = recorded_ids("curiosity_sol1000.json")


FAULTS_SERVED: dict[str, int] = {}


@pytest.fixture(autouse=True, scope="module")
def count_faults():
    """Counts every fault the replay servers of this module served, by kind (printed at the end)."""
    original = ReplayServer._take_fault

    def take(self, path):
        fault = original(self, path)
        if fault is not None:
            kind = (
                "reset"
                if fault.reset
                else "slow"
                if fault.delay
                else "repeated page"
                if fault.repeat_previous
                else f"HTTP {fault.status}"
            )
            FAULTS_SERVED[kind] = FAULTS_SERVED.get(kind, 0) + 1
        return fault

    mp = pytest.MonkeyPatch()
    mp.setattr(ReplayServer, "_take_fault", take)
    yield
    mp.undo()
    print(
        f"FIGURES faults: {sum(FAULTS_SERVED.values())} injected faults served: {dict(sorted(FAULTS_SERVED.items()))}"
    )


def client(server: ReplayServer, **kw) -> PhotosApiSource:
    """The v1 client with test-sized waits (the retry logic is the production one)."""
    return PhotosApiSource(
        base_url=server.photos_api_url,
        api_key="k",
        **{"backoff_factor": 0.01, "max_retry_after_seconds": 5.0, "timeout_seconds": 5.0, **kw},
    )


def ids_of(pages) -> list[int]:
    """Photo ids of v1 response pages, sorted."""
    return sorted(p["id"] for page in pages for p in json.loads(page.body)["photos"])


def statuses(server: ReplayServer) -> list[int]:
    """The status of every request the server answered (0: reset), in order."""
    return [r.status for r in server.log]


# -- 429 ------------------------------------------------------------------------------------
def test_429_with_retry_after_is_waited_out_then_survived(replay):
    replay.fail_next(429, count=2, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert client(replay).rovers_listing().status == 200
    assert statuses(replay) == [429, 429, 200]
    gaps = [b.at - a.at for a, b in zip(replay.log, replay.log[1:], strict=False)]
    assert all(g >= 0.95 for g in gaps), gaps  # the server's Retry-After was honoured each time
    assert time.monotonic() - started < 4


def test_429_without_retry_after_backs_off_exponentially_then_survives(replay):
    replay.fail_next(429, count=3)
    assert client(replay, backoff_factor=0.2).rovers_listing().status == 200
    assert statuses(replay) == [429, 429, 429, 200]
    gaps = [b.at - a.at for a, b in zip(replay.log, replay.log[1:], strict=False)]
    # urllib3: no wait before the first retry, then backoff_factor * 2 ** (n - 1)
    assert gaps[1] >= 0.35 and gaps[2] >= 0.75 and gaps[2] > gaps[1], gaps


def test_429_past_every_retry_is_a_rate_limit_error_after_a_bounded_number_of_requests(replay):
    replay.fail_next(429, count=10, headers={"Retry-After": "0"})
    with pytest.raises(RateLimitError) as err:
        client(replay, retries=3).rovers_listing()
    assert err.value.retry_after == 0 and len(replay.requests) == 4
    assert replay.pending_faults() == 6


def test_rate_limit_per_window_is_respected_while_paging(tmp_path):
    """4 requests a second; paging 9 pages must wait for the window instead of hammering."""
    with ReplayServer(SNAPSHOT, rate_limit=4, rate_window=1.0) as server:
        # rate_pause_seconds=0: only the 429s govern here (test_request_limits: X-RateLimit-Remaining: 0)
        pages = client(server, page_size=2, rate_pause_seconds=0).fetch_sol("curiosity", 1)  # 8 full pages + 1 empty
    assert ids_of(pages) == SOL1_IDS and len(pages) == 9
    log = server.log
    answered = [r for r in log if r.status == 200]
    refused = [i for i, r in enumerate(log) if r.status == 429]
    assert len(answered) == 9
    for r in answered:  # the limit holds in every sliding window
        assert sum(1 for o in answered if r.at - 1.0 < o.at <= r.at) <= 4
    assert 1 <= len(refused) <= math.ceil(9 / 4)  # one refusal per window at most: the client waited
    for i in refused:
        nxt = log[i + 1]
        assert nxt.path == log[i].path and nxt.status == 200 and nxt.at - log[i].at >= 0.95


# -- 5xx bursts ------------------------------------------------------------------------------
def test_502_and_503_burst_is_survived_within_the_retry_budget(replay):
    replay.fail_next(502, count=2)
    replay.fail_next(503, count=2, headers={"Retry-After": "0"})
    pages = client(replay).fetch_sol("curiosity", 1)
    assert ids_of(pages) == SOL1_IDS
    assert statuses(replay) == [502, 502, 503, 503, 200]


def test_a_burst_longer_than_the_retry_budget_is_a_clear_error_after_bounded_requests(replay):
    replay.fail_next(503, count=20)
    with pytest.raises(ApiError) as err:
        client(replay, retries=3).fetch_sol("curiosity", 1)
    assert err.value.status == 503 and "HTTP 503" in str(err.value) and "api_key" not in str(err.value)
    assert len(replay.requests) == 4


# -- connection resets and slow answers ------------------------------------------------------
def test_connection_reset_is_retried_and_survived(replay):
    replay.reset_next(2)
    pages = client(replay).fetch_sol("curiosity", 1)
    assert ids_of(pages) == SOL1_IDS
    assert statuses(replay) == [0, 0, 200]


def test_resets_past_the_retry_budget_are_a_clear_error(replay):
    replay.reset_next(10)
    with pytest.raises(ApiError) as err:
        client(replay, retries=2).rovers_listing()
    assert err.value.status == 0 and "ConnectionError" in str(err.value) and "api_key=k" not in str(err.value)
    assert len(replay.requests) == 3


def test_answer_slower_than_the_timeout_is_abandoned_and_retried(replay):
    replay.delay_next(2.0)
    started = time.monotonic()
    pages = client(replay, timeout_seconds=0.3).fetch_sol("curiosity", 1)
    elapsed = time.monotonic() - started
    assert ids_of(pages) == SOL1_IDS
    assert len(replay.requests) == 2 and elapsed < 1.5  # one timeout (0.3 s), not the 2 s answer


def test_always_slow_upstream_is_a_clear_error_after_bounded_time(replay):
    replay.delay_next(1.0, count=5)
    started = time.monotonic()
    with pytest.raises(ApiError) as err:
        client(replay, timeout_seconds=0.2, retries=2).rovers_listing()
    assert err.value.status == 0 and "ReadTimeout" in str(err.value)
    assert len(replay.requests) == 3 and time.monotonic() - started < 2.0


# -- a page that repeats the previous page ---------------------------------------------------
def test_page_repeating_the_previous_page_is_asked_again_and_no_photo_is_lost_or_doubled(replay):
    replay.repeat_previous_next(1, match="&page=3&")
    pages = client(replay, page_size=5).fetch_sol("curiosity", 1)
    assert ids_of(pages) == SOL1_IDS  # each photo exactly once
    asked = [r.path.split("page=")[1].split("&")[0] for r in replay.log]
    assert asked == ["1", "2", "3", "3", "4"]  # one extra request for the repeated page


def test_upstream_that_ignores_paging_is_a_clear_error_after_bounded_requests(replay):
    replay.repeat_previous_next(50, match="&page=2&")
    with pytest.raises(ApiError, match="page 2 repeats earlier pages") as err:
        client(replay, page_size=5, repeat_retries=2).fetch_sol("curiosity", 1)
    assert "left as it was" in str(err.value)
    assert len(replay.requests) == 1 + 3  # page 1, then page 2 three times; never max_pages (2000)


def msl_archive(tmp_path, items: int):
    """A small archive plus ``items`` Curiosity raw_image_items of sol 3000."""
    archive = make_small_archive(tmp_path / "archive")
    (archive / "jpl/msl").mkdir(parents=True)
    (archive / "jpl/msl/sol3000.json").write_text(
        json.dumps(
            {
                "items": [
                    {
                        "id": n,
                        "imageid": f"NLB_{n}",
                        "sol": 3000,
                        "instrument": "NAV_LEFT_B",
                        "https_url": f"https://mars.nasa.gov/{n}.JPG",
                        "extended": {"sample_type": "full"},
                    }
                    for n in range(1, items + 1)
                ]
            }
        )
    )
    return archive


def test_jpl_feed_page_repeating_the_previous_page_is_asked_again_then_refused(tmp_path):
    with ReplayServer(msl_archive(tmp_path, 5)) as server:
        feed = JplMslSource(base_url=server.jpl_msl_url, per_page=2, backoff_factor=0.01)
        server.repeat_previous_next(1, match="&page=1&")
        pages = feed.fetch_sol("curiosity", 3000)
        assert sorted(i["id"] for p in pages for i in json.loads(p.body)["items"]) == [1, 2, 3, 4, 5]
        assert len(server.requests) == 3 + 1
        server.repeat_previous_next(50, match="&page=1&")
        with pytest.raises(ApiError, match="page 1 repeats earlier pages"):
            feed.fetch_sol("curiosity", 3000)
        assert len(server.requests) == 4 + 1 + 3  # never max_pages (200)


# -- the other clients share the transport ---------------------------------------------------
def test_jpl_mmgis_and_image_clients_survive_the_same_faults(tmp_path):
    with ReplayServer(msl_archive(tmp_path, 1)) as server:
        server.fail_next(503, count=2)
        server.reset_next(1)
        pages = JplMslSource(base_url=server.jpl_msl_url, backoff_factor=0.01).fetch_sol("curiosity", 3000)
        assert json.loads(pages[0].body)["items"][0]["id"] == 1 and statuses(server)[-4:] == [503, 503, 0, 200]
        server.fail_next(502, count=1)
        server.delay_next(1.5)
        layer = MmgisSource(base_url=server.mmgis_url, backoff_factor=0.01, timeout_seconds=0.3).get(
            mmgis.waypoints_path("MSL")
        )
        assert len(json.loads(layer.body)["features"]) == 1304
        server.reset_next(1)
        server.fail_next(503, count=1)
        port = server.url.rsplit(":", 1)[1]
        data = ImageDownloader(allowed_hosts=["localhost"]).fetch(f"http://localhost:{port}{IMAGE}")
        assert data == (SNAPSHOT / IMAGE.lstrip("/")).read_bytes()
        assert server.pending_faults() == 0


# -- the asset graph: every fault at once, the same warehouse -------------------------------
def test_partition_ingested_through_every_fault_equals_the_recorded_sol(tmp_path):
    """curiosity sol 1000 (856 photos, 35 pages) with a 503 burst, a 429, a reset, a slow
    answer and a repeated page on the way: every photo once, nothing quarantined."""
    archive = make_small_archive(tmp_path / "archive", photos=("curiosity_sol1000.json",), images=())
    wh = tmp_path / "warehouse"
    with ReplayServer(archive) as server, dg.instance_for_test() as instance:
        settings = Settings(
            warehouse=str(wh), landing=str(tmp_path / "landing"), max_image_downloads=0, image_workers=1
        ).replaying(server)
        sources = UpstreamSources(
            by_rover=dict(settings.sources),
            photos_api_url=server.photos_api_url,
            api_key="k",
            timeout_seconds=0.5,
            backoff_factor=0.05,
            max_retry_after_seconds=2.0,
            photos_api_page_size=25,  # paged, as a mirror pages: the faults hit pages of one sol
        )
        defs = build_definitions(settings, resources={"sources": sources})
        add_sols(instance, [1000])
        server.fail_next(503, count=3, match="&page=3&")
        server.fail_next(429, count=1, headers={"Retry-After": "1"}, match="&page=7&")
        server.reset_next(1, match="&page=12&")
        server.delay_next(1.5, match="&page=20&")
        server.repeat_previous_next(1, match="&page=25&")
        started = time.monotonic()
        result = defs.resolve_job_def("rover_sol_job").execute_in_process(
            instance=instance, partition_key=rover_sol_key("curiosity", 1000)
        )
        elapsed = time.monotonic() - started
        assert result.success and server.pending_faults() == 0
        server.wait_answered()  # the slow answer the client gave up on is logged when sent
        photo_requests = [r for r in server.log if "/photos?" in r.path]
    assert len(photo_requests) == 35 + 3 + 1 + 1 + 1 + 1  # 35 pages + one extra request per fault
    retried = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retried == []  # survived inside the client: no step retry was needed
    warehouse = Warehouse(root=str(wh))
    photos = warehouse.read_table("silver", "photos", {"rover": "curiosity", "sol": 1000})
    assert sorted(photos.column("photo_id").to_pylist()) == SOL1000_IDS  # 856, each once
    assert warehouse.read_table("silver", "photo_quarantine", {"rover": "curiosity", "sol": 1000}).num_rows == 0
    assert len(warehouse.list_objects("bronze/photos/rover=curiosity/sol=1000")) == 2 * 35  # pages + sidecars
    assert elapsed < 60
    print(
        f"FIGURES faults-graph: {len(photo_requests)} photo requests for 35 pages through 7 faults in "
        f"{elapsed:.1f} s; {photos.num_rows} of 856 photos loaded once, rows lost 0"
    )
