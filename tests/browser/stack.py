"""A private-content topology with the portal, as `streaming demo` runs it, for browser tests.

Two regional origins, two edges, content behind a key group (signed cookies), CORS for the
portal's origin, a state file like the demo's (PIDs, argv, signing key) and the portal process.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from procs.supervisor import cli_argv, free_port
from streaming import certs, keys
from tests.factories import Topology, distribution_doc, running_topology
from tests.tls import LOOPBACK, issue, trust

KEY_GROUP = "viewers"


@dataclass
class Stack:
    topology: Topology
    portal: str  # the portal over HTTPS, as browsers open it
    state: Path
    ca_file: str

    def player(self, query: str) -> str:
        return f"{self.portal}/player?{query}"

    @property
    def verify(self) -> ssl.SSLContext:
        """For the test's own requests to the portal and edges over HTTPS."""
        return trust(self.ca_file)


def private_doc(public_pem: str, key_id: str, **overrides: Any) -> dict[str, Any]:
    """Every /hls and /live path needs signed cookies, the portal's origin may send them, and a
    steering service ranks the POPs for each viewer. Edges and the portal serve HTTPS as in the
    demo, and plain HTTP is redirected there."""
    doc = distribution_doc(
        regions=("us-east", "eu-west"), pops=(("iad", "us-east"), ("fra", "eu-west")), **overrides
    )
    doc["key_groups"] = [{"id": KEY_GROUP, "keys": [{"id": key_id, "public_key": public_pem}]}]
    doc["behaviors"].insert(-1, {"path_pattern": "/live/*", "target": "all"})
    for behavior in doc["behaviors"][:-1]:
        behavior["trusted_key_groups"] = [KEY_GROUP]
    for behavior in doc["behaviors"]:
        behavior["viewer_protocol_policy"] = "redirect-to-https"
    for edge in doc["edges"]:
        edge["https_port"] = free_port()
    doc["portal"]["https_port"] = free_port()
    doc["cors"] = {"allowed_origins": [f"https://127.0.0.1:{doc['portal']['https_port']}"]}
    doc["steering"] = {"url": f"http://127.0.0.1:{free_port()}"}
    return doc


def write_state(topology: Topology, path: Path, private_key: Path, key_id: str) -> None:
    """The state file `streaming demo` writes, which the portal reads for controls and login."""

    def entry(name: str, **fields: str) -> dict[str, object]:
        child = topology.child(name)
        return {**fields, "pid": child.pid, "argv": child.argv}

    dist = topology.dist
    state = {
        "origins": [entry(f"origin-{o.region}", region=o.region, url=o.url) for o in dist.origins],
        "edges": [
            entry(f"edge-{e.pop}", pop=e.pop, region=e.region, url=e.viewer_url, http_url=e.url)
            for e in dist.edges
        ],
        "signing": {"key_pair_id": key_id, "private_key": str(private_key), "hash": "SHA1"},
        "ca_file": dist.tls.ca_file,
    }
    path.write_text(json.dumps(state, indent=2))


@contextmanager
def portal_stack(tmp: Path, ca_dir: Path, **overrides: Any) -> Iterator[Stack]:
    """Start origins, edges and the portal, with a certificate for loopback from the CA in
    `ca_dir` (the one the browser trusts); every process is reaped on exit, even on failure."""
    private = keys.generate("rsa")
    key_file = tmp / "signing.pem"
    keys.write_private_key(private, key_file)
    key_id = keys.key_id(private.public_key())
    doc = private_doc(keys.public_pem(private.public_key()), key_id, **overrides)
    ca = certs.load(ca_dir / "ca.pem", ca_dir / "ca-key.pem")
    doc["tls"] = {**issue(tmp / "tls", "stack", LOOPBACK, ca), "ca_file": str(ca_dir / "ca.pem")}
    with running_topology(tmp, doc) as topology:
        state = tmp / "state.json"
        write_state(topology, state, key_file, key_id)
        portal = topology.dist.portal
        argv = cli_argv("portal", "--config", str(topology.config), "--state", str(state))
        topology.supervisor.wait_healthy(
            topology.supervisor.start("portal", argv, f"{portal.url}/healthz")
        )
        yield Stack(topology, portal.viewer_url, state, str(ca_dir / "ca.pem"))
