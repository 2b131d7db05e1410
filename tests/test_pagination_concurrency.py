"""Paging while others insert and delete never repeats or skips a memory that existed throughout."""

from __future__ import annotations

import random
import threading

import pytest

from helpers import auth


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_paging_during_concurrent_writes(app, services, make_key, order):
    key = make_key("alice")
    user = "alice"
    stable = {services.memories.create(user, f"stable {i}").memory.id for i in range(150)}
    volatile = [services.memories.create(user, f"volatile {i}").memory.id for i in range(150)]
    random.shuffle(volatile)

    stop = threading.Event()
    errors: list[BaseException] = []
    writes = [0]

    def churn(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            for _ in range(200):  # bounded, so an ascending walk can catch up with the inserts
                if stop.is_set():
                    return
                if volatile and rnd.random() < 0.5:
                    try:
                        services.memories.delete(user, volatile.pop())
                    except IndexError:
                        pass
                else:
                    services.memories.create(user, f"new {rnd.random()}")
                writes[0] += 1
                stop.wait(0.001)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    writers = [threading.Thread(target=churn, args=(s,)) for s in range(3)]
    for w in writers:
        w.start()
    try:
        client = app.test_client()
        for _ in range(3):
            writes_before = writes[0]
            seen: list[str] = []
            after = None
            while True:
                url = f"/v1/memory?limit=7&order={order}" + (f"&after={after}" if after else "")
                page = client.get(url, headers=auth(key)).json
                seen += [m["id"] for m in page["data"]]
                if not page["has_more"]:
                    break
                after = page["last_id"]
            assert len(seen) == len(set(seen)), "an item was repeated"
            assert stable <= set(seen), "an item that existed throughout was skipped"
            assert seen == sorted(seen, reverse=(order == "desc"))
            assert writes[0] > writes_before or not any(w.is_alive() for w in writers)
        assert writes[0] > 0
    finally:
        stop.set()
        for w in writers:
            w.join()
    assert not errors
