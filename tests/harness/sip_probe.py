"""Raw SIP OPTIONS over UDP: whether (and how) a SIP server on loopback answers."""

from __future__ import annotations

import asyncio
import socket
import uuid

PROBE_EVERY_S = 0.2  # how often ``answers_options`` asks again


def options_request(host: str, port: int, local_port: int) -> bytes:
    """An OPTIONS to ``host:port`` from 127.0.0.1:``local_port``, a transaction of its own."""
    return (f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK{uuid.uuid4().hex[:12]}\r\n"
            f"From: <sip:probe@127.0.0.1:{local_port}>;tag=probe1\r\n"
            f"To: <sip:{host}:{port}>\r\n"
            f"Call-ID: {uuid.uuid4().hex}@127.0.0.1\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()


def options(host: str, port: int, timeout: float = 5.0) -> str:
    """A raw SIP OPTIONS over UDP; the first line of the answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        sock.sendto(options_request(host, port, sock.getsockname()[1]), (host, port))
        data, _ = sock.recvfrom(65535)
    return data.decode(errors="replace").split("\r\n", 1)[0]


async def answers_options(port: int, within: float = 15.0) -> bool:
    """Whether a SIP server on 127.0.0.1:``port`` answers an OPTIONS 200 within ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        local = sock.getsockname()[1]
        while loop.time() < deadline:
            sock.sendto(options_request("127.0.0.1", port, local), ("127.0.0.1", port))
            await asyncio.sleep(PROBE_EVERY_S)
            try:
                if sock.recv(4096).startswith(b"SIP/2.0 200"):
                    return True
            except BlockingIOError:
                continue
    return False
