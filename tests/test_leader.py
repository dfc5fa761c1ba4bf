"""Leader election in-process: two elections on one real PostgreSQL database, one leader."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from digestbot.delivery.leader import Leadership, postgres_dsn
from tests.test_failover import until

RETRY = 0.1


class Worker:
    """Stands for the sender: records whether it runs, and how it was stopped."""

    def __init__(self) -> None:
        self.running = False
        self.starts = 0
        self.stopped_cleanly = 0

    async def __call__(self, stop: asyncio.Event) -> None:
        self.running, self.starts = True, self.starts + 1
        try:
            await stop.wait()
            self.stopped_cleanly += 1
        finally:
            self.running = False


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_one_leader_at_a_time_and_a_quick_takeover(database_url):
    workers = [Worker(), Worker()]
    elections = [Leadership(database_url, w, retry=RETRY) for w in workers]
    stops = [asyncio.Event(), asyncio.Event()]
    first = asyncio.create_task(elections[0].run(stops[0]))
    await until(lambda: workers[0].running, within=10, what="the first leader")
    second = asyncio.create_task(elections[1].run(stops[1]))
    try:
        # the standby tries round after round, and never gets the lock nor runs the work
        await until(lambda: elections[1].tries >= 10, within=10, what="ten tries")
        assert workers[0].running and not workers[1].running
        assert elections[0].is_leader and not elections[1].is_leader
        assert workers[1].starts == 0

        stops[0].set()  # a clean shutdown: the work is stopped, not cancelled, the lock freed
        await first
        assert workers[0].stopped_cleanly == 1 and not elections[0].is_leader
        await until(lambda: workers[1].running, within=5, what="the takeover")
        assert elections[1].elections == 1
    finally:
        stops[1].set()
        await second
    assert not workers[1].running


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_losing_the_lock_connection_stops_the_work(database_url):
    worker = Worker()
    election = Leadership(database_url, worker, retry=RETRY)
    stop = asyncio.Event()
    task = asyncio.create_task(election.run(stop))
    try:
        await until(lambda: worker.running, within=10, what="leadership")
        dsn = postgres_dsn(database_url)
        admin = await asyncpg.connect(dsn)
        try:  # the server ends the lock's session, as a network cut or a failover would
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'digestbot-leader' AND datname = current_database()"
            )
        finally:
            await admin.close()
        await until(lambda: not worker.running, within=5, what="the work to stop")
        assert worker.stopped_cleanly == 1  # asked to stop, finished within the grace
        # the lock is free again, so it is this replica that leads again, after a check
        await until(lambda: worker.running, within=10, what="leadership again")
        assert election.elections == 2
    finally:
        stop.set()
        await task


async def test_sqlite_is_always_the_leader(tmp_path):
    worker = Worker()
    election = Leadership(f"sqlite:///{tmp_path / 'x.db'}", worker, retry=RETRY)
    stop = asyncio.Event()
    task = asyncio.create_task(election.run(stop))
    await until(lambda: worker.running, within=5, what="leadership")
    assert election.is_leader

    calls = []

    async def job(value: int) -> int:
        calls.append(value)
        return value

    assert await election.gate(job)(1) == 1
    stop.set()
    await task
    assert await election.gate(job)(2) is None  # not the leader any more: the tick is skipped
    assert calls == [1]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_standby_that_cannot_ask_for_the_lock_is_not_in_touch(database_url):
    healthy = Leadership(database_url, Worker(), retry=RETRY)
    # a server that refuses every session: this replica could never take over
    cut_off = Leadership("postgresql://postgres@127.0.0.1:1/none", Worker(), retry=RETRY)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(e.run(stop)) for e in (healthy, cut_off)]
    try:
        await until(lambda: cut_off.tries >= 3, within=10, what="three failed tries")
        assert healthy.in_touch
        assert not cut_off.in_touch and not cut_off.is_leader
    finally:
        stop.set()
        await asyncio.gather(*tasks)
