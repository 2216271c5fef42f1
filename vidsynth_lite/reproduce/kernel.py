"""A kernel client for unattended runs whose own sends cannot strand a kernel's reply.

Why: nbclient awaits a cell's ``execute_reply`` with an asyncio ``poll`` on the shell socket (pyzmq's
``zmq.asyncio``, woken by the socket's edge-triggered ``ZMQ_FD``). While it waits, it may itself send on that
socket: its stand-in for an ipywidgets ``Output`` widget answers every captured output with a ``comm_msg``
(``nbclient.output_widget.OutputWidget.sync_state``). jupyter_client's ``Session.send`` writes such a message on a
raw shadow of the socket, behind the asyncio wrapper's back; libzmq then processes the socket's pending commands,
which consumes the read edge of ``ZMQ_FD``. When the kernel's reply lands in that window, the wrapper is never told:
the reply sits readable in the socket, the poll is never woken, and the driver and the kernel both wait, idle,
forever. (Seen on chapter 7 at smoke, 3 of 7 runs on a machine at load 6: the kernel had run the
``vl.viz.explore`` cell -- ``ipywidgets.interact`` -- to its end; the driver's shell socket reported ``POLLIN``
with its poll future pending; one call of the wrapper's event handler resumed the run.)

The fix: after each send, read ``zmq.EVENTS`` through the asyncio wrapper, which (by pyzmq's design, for exactly
this edge-trigger hazard) re-checks the socket and schedules any waiter that can now run.
"""

from __future__ import annotations

from typing import Any

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type


class RearmingChannel(AsyncZMQSocketChannel):
    """An async shell/control channel that re-arms its socket's waiters after every send."""

    def send(self, msg: dict[str, Any]) -> None:
        super().send(msg)            # a raw send: may consume the ZMQ_FD read edge
        if self.socket is not None:
            self.socket.get(zmq.EVENTS)   # zmq.asyncio: wakes a pending poll/recv if a message is waiting


class RearmingKernelClient(AsyncKernelClient):
    shell_channel_class = Type(RearmingChannel)  # type: ignore[assignment]
    control_channel_class = Type(RearmingChannel)  # type: ignore[assignment]


class RearmingKernelManager(AsyncKernelManager):
    """Pass as ``kernel_manager_class`` to nbclient / papermill."""

    client_class = DottedObjectName("vidsynth_lite.reproduce.kernel.RearmingKernelClient")
    client_factory = Type(RearmingKernelClient, klass=AsyncKernelClient)  # AsyncKernelManager's ignores client_class
