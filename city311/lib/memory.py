"""What a long-running process keeps for its whole life, kept out of the garbage collector's way.

A web process holds the catalog, the address and area indexes (a city's address file is
hundreds of thousands of objects), compiled templates and URL patterns for as long as it runs.
Python's full collections look at every object that could be in a cycle, so with those indexes
loaded one request in a few hundred paid 100-200 ms for a collection that freed none of them
(the work queue's p95 at 1,000,000 requests: 168-211 ms with them scanned, 89-97 ms frozen;
`bench/work_queue.py`). Freezing moves what exists now into a generation the collector skips;
what is made later is collected as before.
"""

from __future__ import annotations

import gc


def freeze_what_is_loaded() -> int:
    """Collect once, then leave every object alive now out of later collections; how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
