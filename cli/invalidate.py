"""`streaming invalidate PATH...`: create an invalidation and (optionally) wait for every edge."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from rich.console import Console

from streaming import config as config_module
from streaming.errors import ConfigError, StreamingError, Unavailable

console = Console()


def _check(response: httpx.Response) -> dict[str, object]:
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise StreamingError(f"control plane answered {response.status_code}: {detail}")
    return dict(response.json())


def invalidate(
    path: Path, paths: list[str], wait: bool, timeout: float, caller_reference: str | None
) -> str:
    """POST the paths to the control plane; with `wait`, poll until every edge applied them."""
    dist = config_module.load(path)
    if dist.control is None:
        raise ConfigError(f"{path}: no [control] section, so there is no control plane to ask")
    headers = {"authorization": f"Bearer {dist.admin_token.reveal()}"}
    url = f"{dist.control.url}/admin/invalidations"
    try:
        created = _check(httpx.post(
            url, json={"paths": paths, "caller_reference": caller_reference}, headers=headers,
            timeout=10.0,
        ))  # fmt: skip
        batch_id = str(created["id"])
        console.print(
            f"invalidation [bold]{batch_id}[/] (#{created['sequence']}): {len(paths)} paths"
        )
        state = created
        deadline = time.monotonic() + timeout
        while wait and state["status"] != "Completed" and time.monotonic() < deadline:
            time.sleep(0.25)
            state = _check(httpx.get(f"{url}/{batch_id}", headers=headers, timeout=10.0))
    except httpx.HTTPError as exc:
        raise Unavailable(
            f"control plane {dist.control.url} unreachable: {type(exc).__name__}"
        ) from None
    edges = state.get("edges", {})
    assert isinstance(edges, dict)
    for pop, edge_state in sorted(edges.items()):
        console.print(f"  {pop:<10} {edge_state}")
    console.print(f"status: [bold]{state['status']}[/]")
    if wait and state["status"] != "Completed":
        pending = ", ".join(p for p, s in edges.items() if s != "Completed")
        raise Unavailable(f"{batch_id} still in progress after {timeout:.0f}s at: {pending}")
    return batch_id
