"""How a serving process runs Python's cyclic garbage collector.

A page miss allocates tens of thousands of short-lived objects (querysets,
template contexts, form fields); with Python's default thresholds (700) the
collector runs dozens of times a request and, once the process holds the
app, its caches' copies and a few hundred thousand long-lived objects, each
full pass walks all of them: 1–6 ms of a 10 ms miss (bench/misses.py,
2026-12-02). What was made at start-up is frozen out of every pass, and
the young generation is collected less often: the same garbage is freed a
little later (a few MB a worker). Called by the WSGI module, after the app
is loaded, and by the benchmarks that stand for a worker.
"""

import gc

# Young generation: collected every 50,000 allocations net (default 700).
GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    gc.collect()
    gc.freeze()  # start-up's objects: never walked again
    gc.set_threshold(*GC_THRESHOLDS)
