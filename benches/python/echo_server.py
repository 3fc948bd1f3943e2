"""The echo servers of CPython's asyncio and of uvloop, for the benches' Python rows.

Run by ``benches/benches/py_echo.rs`` (through ``tower_benches::server_process``) beside tower's
servers, each server in its own process, all driven by the same native Rust load client:

    python3 echo_server.py <protocol|streams> <asyncio|uvloop>

It listens on an ephemeral loopback port, prints ``127.0.0.1:<port>`` on one line, and serves
until its standard input closes.

- ``protocol``: an ``asyncio.Protocol`` whose ``data_received`` writes back what it got and whose
  ``pause_writing``/``resume_writing`` pause and resume reading (a correct echo protocol; tower's
  protocol server does the same).
- ``streams``: ``asyncio.start_server`` with a handler that reads up to 64 KiB, writes it back and
  awaits ``drain()``, until EOF (the idiomatic streams echo, as uvloop's own benchmark writes it).

Both loops set TCP_NODELAY on accepted TCP sockets by themselves, as tower and tokio's bench do.
"""

import asyncio
import sys

BACKLOG = 4096
READ = 64 * 1024


class Echo(asyncio.Protocol):
    """Writes back what it receives; stops reading while the write buffer is above its mark."""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()


async def echo_stream(reader, writer):
    try:
        while True:
            data = await reader.read(READ)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve(api):
    loop = asyncio.get_running_loop()
    if api == "protocol":
        server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=BACKLOG)
    else:
        server = await asyncio.start_server(echo_stream, "127.0.0.1", 0, backlog=BACKLOG)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"{host}:{port}", flush=True)
    # Until the bench closes our stdin.
    await loop.run_in_executor(None, sys.stdin.buffer.read)
    server.close()


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("protocol", "streams") or sys.argv[2] not in (
        "asyncio",
        "uvloop",
    ):
        sys.exit("usage: echo_server.py <protocol|streams> <asyncio|uvloop>")
    api, flavour = sys.argv[1], sys.argv[2]
    if flavour == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(serve(api))


if __name__ == "__main__":
    main()
