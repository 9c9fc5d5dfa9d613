"""Test servers' ports: never from the kernel's ephemeral range, never the same twice."""

from __future__ import annotations

import socket
from pathlib import Path

from procs.supervisor import free_port


def test_ports_are_below_the_ephemeral_range_distinct_and_free_on_tcp_and_udp() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(1024 <= port < low for port in ports)
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.bind(("127.0.0.1", ports[-1]))
