"""The Jupyter kernels that execute seglab's notebooks (papermill, the workshop builder).

Two departures from jupyter_client's defaults:

- kernels talk over local IPC sockets in a private folder per kernel, not over
  unencrypted TCP ports; jupyter_client's default folder for IPC sockets is the working
  directory, where two notebooks run at once would collide;
- the client waits for messages in short polls. pyzmq's asyncio ``poll`` can miss a
  message that arrives while the machine is busy and only see it when its timeout ends
  (pyzmq issue #1558); nbclient waits without a timeout, so one missed message used to
  hang a notebook forever although its kernel had finished. A short poll sees such a
  message at the latest :data:`POLL_SECONDS` later.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import time
from pathlib import Path
from queue import Empty

__all__ = ["kernel_manager_class", "POLL_SECONDS"]

POLL_SECONDS = 0.5
"""Longest single wait for a kernel message; waits are made of polls this long."""


@functools.cache
def kernel_manager_class():
    """The kernel manager class to give papermill or nbclient (``kernel_manager_class=``);
    defined on first use, so that importing seglab does not import jupyter_client."""
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.channels import AsyncZMQSocketChannel
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum, Type, default

    class ShortPollChannel(AsyncZMQSocketChannel):
        async def get_msg(self, timeout: float | None = None) -> dict:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = POLL_SECONDS if deadline is None else max(0.0, deadline - time.monotonic())
                if await self.socket.poll(int(min(left, POLL_SECONDS) * 1000)):
                    return await self._recv()
                if deadline is not None and time.monotonic() >= deadline:
                    raise Empty

    class ShortPollKernelClient(AsyncKernelClient):
        shell_channel_class = Type(ShortPollChannel)
        iopub_channel_class = Type(ShortPollChannel)
        stdin_channel_class = Type(ShortPollChannel)
        control_channel_class = Type(ShortPollChannel)

    class LocalKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        @default("ip")
        def _private_socket_path(self) -> str:
            self._socket_dir = tempfile.mkdtemp(prefix="seglab-kernel-")
            return str(Path(self._socket_dir) / "kernel")

        @default("client_factory")
        def _short_poll_client(self) -> type:
            return ShortPollKernelClient

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart=restart)
            if not restart and getattr(self, "_socket_dir", None):
                shutil.rmtree(self._socket_dir, ignore_errors=True)

        cleanup_resources = _async_cleanup_resources  # the async manager's public name

    return LocalKernelManager
