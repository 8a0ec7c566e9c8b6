"""A generation counter for per-process caches of reference data (taxonomy, routing, units, calendar).

Writers that change such data call `changed()`; caches reload when the generation moved or their
time-to-live ran out (other processes learn of a change within the TTL).
"""

from __future__ import annotations

import itertools

_counter = itertools.count(1)
generation = 0


def changed() -> None:
    global generation
    generation = next(_counter)
