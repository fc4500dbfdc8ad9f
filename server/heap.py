"""The garbage collector's settings for a serving process.

py-spy and gc callbacks on a `serve` worker under the screens bench (64 clients, handler
list) showed about 0.7 s of collection per worker in 13 s: 768 young collections and six
full ones of up to 98 ms each, every one pausing all the requests in flight. Nearly all the
objects a full collection walks were made at start-up (modules, the schema, the compiled
queries) and live as long as the process; requests make short-lived objects that reference
counting frees."""

from __future__ import annotations

import gc

# Young-generation threshold: allocations (minus frees) of container objects between young
# collections; Python's default of 700 ran one every few requests.
YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Once start-up is done: collect, then move everything alive into the permanent
    generation, which collections skip, and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
