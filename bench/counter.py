"""A counting reverse proxy between the caches and the origin: origin requests per path.

Every cache under test reaches the origin through this proxy, so "how many requests reached the
origin for this object" is measured the same way for all of them. `GET /__counts` returns them.
"""

from __future__ import annotations

import argparse
from collections import Counter

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}


def make_app(upstream: str) -> web.Application:
    counts: Counter[str] = Counter()
    session: dict[str, aiohttp.ClientSession] = {}

    async def start(app: web.Application) -> None:
        session["s"] = aiohttp.ClientSession(auto_decompress=False)

    async def stop(app: web.Application) -> None:
        await session["s"].close()

    async def report(request: web.Request) -> web.Response:
        return web.json_response(dict(counts))

    async def proxy(request: web.Request) -> web.StreamResponse:
        counts[request.path] += 1
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}
        }
        async with session["s"].request(
            request.method, upstream + request.path_qs, headers=headers, allow_redirects=False
        ) as upstream_response:
            body = await upstream_response.read()
            kept = {k: v for k, v in upstream_response.headers.items()
                    if k.lower() not in HOP_BY_HOP | {"content-length"}}  # fmt: skip
            return web.Response(status=upstream_response.status, headers=kept, body=body)

    app = web.Application()
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_get("/__counts", report)
    app.router.add_route("*", "/{tail:.*}", proxy)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(make_app(args.upstream), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
