"""The local stack's listening ports (deploy/local/components.py `free_port`): below the kernel's
ephemeral range, where no outgoing connection can take one between its pick and the service's bind
(a benchmark's gateway failed "address already in use" on a port the OS had picked), and never the
same port twice in one process."""

import socket
from pathlib import Path

import pytest

from deploy.local import components
from deploy.local.components import LISTEN_PORTS_FROM, ephemeral_ports_from, free_port


def test_ports_are_below_the_ephemeral_range_distinct_and_free() -> None:
    ports = [free_port() for _ in range(60)]
    assert len(set(ports)) == len(ports)
    assert all(LISTEN_PORTS_FROM <= p < ephemeral_ports_from() for p in ports), ports
    for port in ports[:5]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_passed_over(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        # The range holds only the taken port: it is never handed out.
        monkeypatch.setattr(components, "LISTEN_PORTS_FROM", taken)
        (tmp_path / "range").write_text(f"{taken + 1}\t60999\n")
        monkeypatch.setattr(components, "EPHEMERAL_RANGE", tmp_path / "range")
        assert free_port() != taken


def test_an_odd_range_falls_back_to_the_os_pick(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "range").write_text("1024\t60999\n")  # nothing left below it
    monkeypatch.setattr(components, "EPHEMERAL_RANGE", tmp_path / "range")
    assert free_port() >= 1024
