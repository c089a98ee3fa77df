"""Taken ports are named with their holder; a listener is told apart from another program's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from tier1.ports import PortInUse, holder, is_free, owned_by, require_free

pytestmark = pytest.mark.unit


@pytest.fixture
def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s.getsockname()[1]
    s.close()


def test_a_listening_port_is_taken_and_its_holder_is_this_process(listener):
    assert not is_free("127.0.0.1", listener)
    found = holder(listener)
    assert found is not None and found.pid == os.getpid()
    assert str(listener) in found.describe() and str(os.getpid()) in found.describe()
    assert owned_by(listener, os.getpid())


def test_a_closed_port_is_free_and_has_no_holder():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    assert is_free("127.0.0.1", port) and holder(port) is None


def test_a_port_held_by_a_child_process_belongs_to_its_parent_only():
    child = subprocess.Popen([sys.executable, "-c", (
        "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
        "print(s.getsockname()[1], flush=True); time.sleep(30)")], stdout=subprocess.PIPE, text=True)
    try:
        port = int(child.stdout.readline())
        assert owned_by(port, os.getpid())  # a descendant of this process
        assert owned_by(port, child.pid)
        unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            time.sleep(0.1)
            assert not owned_by(port, unrelated.pid)
        finally:
            unrelated.kill()
    finally:
        child.kill()
        child.wait()


def test_require_free_names_the_port_the_holder_and_the_setting(listener):
    with pytest.raises(PortInUse) as e:
        require_free({"rasa": ("127.0.0.1", listener, "server.rasa_port")})
    message = str(e.value)
    assert f"127.0.0.1:{listener}" in message and f"pid {os.getpid()}" in message
    assert "server.rasa_port" in message
