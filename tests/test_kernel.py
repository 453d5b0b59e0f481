"""The kernel client seglab's notebooks run with: short polls, so a missed message never hangs."""

import asyncio
import shutil
from pathlib import Path
from queue import Empty

import pytest

from seglab._kernel import POLL_SECONDS, kernel_manager_class


class MissesMessages:
    """A socket whose poll reports nothing for ``misses`` polls, then a message."""

    def __init__(self, misses: int):
        self.misses = misses
        self.polls_ms: list[int] = []

    async def poll(self, timeout_ms):
        self.polls_ms.append(timeout_ms)
        if len(self.polls_ms) > self.misses:
            return 1
        return 0  # a real socket would have waited timeout_ms here


def channel_on(socket):
    channel_class = kernel_manager_class()().client_factory().shell_channel_class
    channel = channel_class.__new__(channel_class)  # no live socket needed
    channel.socket = socket

    async def recv():
        return {"msg_type": "execute_reply"}

    channel._recv = recv
    return channel


def test_a_wait_without_timeout_is_made_of_short_polls_and_gets_the_message():
    socket = MissesMessages(misses=3)
    msg = asyncio.run(channel_on(socket).get_msg(timeout=None))
    assert msg == {"msg_type": "execute_reply"}
    assert socket.polls_ms == [int(POLL_SECONDS * 1000)] * 4  # never one endless poll


def test_a_wait_with_a_timeout_still_ends_with_empty():
    socket = MissesMessages(misses=10**6)
    with pytest.raises(Empty):
        asyncio.run(channel_on(socket).get_msg(timeout=0.05))
    assert socket.polls_ms and all(0 <= ms <= POLL_SECONDS * 1000 for ms in socket.polls_ms)


def test_kernels_use_private_ipc_sockets():
    manager = kernel_manager_class()()
    assert manager.transport == "ipc"
    socket_dir = Path(manager.ip).parent
    assert socket_dir.name.startswith("seglab-kernel-")
    shutil.rmtree(socket_dir)
    client = manager.client_factory()
    for name in ("shell", "iopub", "stdin", "control"):
        assert getattr(client, f"{name}_channel_class").__name__ == "ShortPollChannel"
