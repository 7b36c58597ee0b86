"""The garbage collector's settings for alertfold's long-running processes.

Every part decodes records by the thousand into short-lived, acyclic objects (dicts,
pydantic models) while holding many long-lived ones (imported modules, the fold's state).
With Python's default thresholds (a collection every 700 net allocations, a full one every
hundred of those) decoding a batch of issue events spent about half its time in the
collector, scanning objects that reference counting frees anyway. Objects alive once the
process has started are moved out of the collector's sight, and collections come after
50,000 allocations instead of 700, with full ones rarer still: garbage in reference cycles,
which alertfold's data never forms on purpose, waits a little longer to be freed.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 50, 100)


def tune_garbage_collector() -> None:
    """Call once imports are done, before the process starts its work."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
