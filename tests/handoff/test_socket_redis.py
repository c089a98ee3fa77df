"""After a Redis restart the widget sockets of a replica are closed so the clients reconnect
and replay what they missed (pushes during the pub/sub gap are lost otherwise).

A private redis-server on a free port is restarted; the shared one is never touched.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time

import pytest
import redis
import socketio
import uvicorn

from handoff.socket_redis import ResyncingRedisManager

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis(port: int, tmp_path) -> subprocess.Popen:
    exe = shutil.which("redis-server")
    assert exe, "redis-server is needed (apt-get install redis-server)"
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            if redis.Redis(port=port, socket_timeout=0.5).ping():
                return proc
        except redis.RedisError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)


def test_sockets_reconnect_after_a_redis_restart(tmp_path):
    port = _free_port()
    server_redis = _redis(port, tmp_path)
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=ResyncingRedisManager(
        f"redis://127.0.0.1:{port}/0", channel="resync-test"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(socketio.ASGIApp(sio), log_level="warning",
                                           lifespan="off", ws="wsproto",
                                           timeout_graceful_shutdown=0.5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)

    async def scenario() -> float:
        client = socketio.AsyncClient(reconnection=False)
        dropped = asyncio.Event()
        client.on("disconnect", dropped.set)
        await client.connect(f"http://127.0.0.1:{sock.getsockname()[1]}", transports=["websocket"])
        await asyncio.sleep(1.5)  # the manager's listener subscribes on the first emit/connect
        server_redis.kill()
        server_redis.wait()
        await asyncio.sleep(1)
        restarted = _redis(port, tmp_path)
        started = time.monotonic()
        try:
            await asyncio.wait_for(dropped.wait(), 15)
        finally:
            restarted.kill()
            restarted.wait()
        return time.monotonic() - started

    try:
        seconds = asyncio.run(scenario())
    finally:
        server.should_exit = True
        thread.join(10)
        if server_redis.poll() is None:
            server_redis.kill()
    assert seconds < 15  # the client was told to reconnect once Redis was back
