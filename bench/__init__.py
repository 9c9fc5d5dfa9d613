"""`make bench`: our edge side by side with nginx proxy_cache (and Varnish when installed).

One run starts one origin (ours, with a packaged video) behind a counting proxy, puts each cache
in front of it in turn on the same pinned core, and measures the same workloads: hits on a
~1 MB segment and on a small playlist (wrk), a flash crowd on a cold video (origin requests per
object) and a mixed player workload (`loadtest`). Results go to docs/performance.md.
"""
