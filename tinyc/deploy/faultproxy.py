"""A seeded TCP fault proxy for the serial link: flips, drops and duplicates bytes in both directions.

It sits between pyserial (``socket://127.0.0.1:PORT``) and QEMU's serial port (or any TCP serial server)
and damages the byte stream at a given rate: each byte is, with probability ``rate``, flipped (one bit),
dropped or sent twice, the three equally likely (``kinds`` narrows them). Which bytes are damaged is a
function of the seed, the direction and the byte's position in that direction's stream, so a run is
reproducible to the extent that the streams are (the host's resends depend on timing). Used by
tests/test_link_faults.py and benchmarks/link_faults.py; by hand::

    python -m tinyc.deploy.faultproxy --target 127.0.0.1:4321 --rate 0.001 --seed 1
    tinyc validate MODEL --board ID --port socket://127.0.0.1:<printed port> --data D.npz
"""

from __future__ import annotations

import math
import random
import socket
import threading
from dataclasses import asdict, dataclass, field

KINDS = ("flip", "drop", "dup")


@dataclass
class DirectionStats:
    bytes: int = 0  # bytes that came in
    flip: int = 0
    drop: int = 0
    dup: int = 0

    @property
    def faults(self) -> int:
        return self.flip + self.drop + self.dup


@dataclass
class ProxyStats:
    to_target: DirectionStats = field(default_factory=DirectionStats)
    to_host: DirectionStats = field(default_factory=DirectionStats)
    connections: int = 0

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ("to_target", "to_host"):
            d[k]["faults"] = getattr(self, k).faults
        return d


class _Damage:
    """One direction's faults: the gap to the next damaged byte is geometric, so the cost is per fault."""

    def __init__(self, rate: float, seed: int, direction: str, kinds: tuple[str, ...], stats: DirectionStats):
        self.rng = random.Random(f"{seed}:{direction}")
        self.rate, self.kinds, self.stats = rate, kinds, stats
        self.next = self._gap()

    def _gap(self) -> int:
        if self.rate <= 0:
            return 1 << 62
        if self.rate >= 1:
            return 0
        u = 1.0 - self.rng.random()  # (0, 1]
        return int(math.log(u) / math.log1p(-self.rate))

    def apply(self, data: bytes) -> bytes:
        """``data`` as it leaves the proxy; ``self.next`` counts the bytes still to pass before the next fault."""
        self.stats.bytes += len(data)
        out = bytearray()
        i, n = 0, len(data)
        while i + self.next < n:
            j = i + self.next
            out += data[i:j]
            byte = data[j]
            kind = self.kinds[self.rng.randrange(len(self.kinds))]
            if kind == "flip":
                out.append(byte ^ (1 << self.rng.randrange(8)))
            elif kind == "dup":
                out += bytes((byte, byte))
            setattr(self.stats, kind, getattr(self.stats, kind) + 1)
            i = j + 1
            self.next = self._gap()
        self.next -= n - i
        out += data[i:]
        return bytes(out)


class FaultProxy:
    """Listens on 127.0.0.1 (``url``); each client it accepts is connected to ``target`` (host, port) and
    the bytes between them are damaged at ``rate`` with ``seed``. One client at a time; a new client gets
    a new connection to the target (the damage continues where the previous one left off)."""

    def __init__(self, target: tuple[str, int], rate: float, seed: int = 0, kinds: tuple[str, ...] = KINDS):
        if not 0 <= rate <= 1:
            raise ValueError(f"rate must be between 0 and 1, got {rate}")
        if not kinds or set(kinds) - set(KINDS):
            raise ValueError(f"kinds must be among {', '.join(KINDS)}")
        self.target, self.rate, self.seed, self.kinds = target, rate, seed, tuple(kinds)
        self.stats = ProxyStats()
        self._up = _Damage(rate, seed, "to_target", self.kinds, self.stats.to_target)
        self._down = _Damage(rate, seed, "to_host", self.kinds, self.stats.to_host)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def start(self) -> "FaultProxy":
        t = threading.Thread(target=self._accept, name="faultproxy-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            self.stats.connections += 1
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.settimeout(None)
            self._socks += [client, upstream]
            pumps = [threading.Thread(target=self._pump, args=(client, upstream, self._up), daemon=True),
                     threading.Thread(target=self._pump, args=(upstream, client, self._down), daemon=True)]
            for p in pumps:
                p.start()
            for p in pumps:
                p.join()
            for s in (client, upstream):
                try:
                    s.close()
                except OSError:
                    pass

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, damage: _Damage) -> None:
        try:
            while True:
                data = src.recv(4096)
                if not data:
                    break
                out = damage.apply(data)
                if out:
                    dst.sendall(out)
        except OSError:
            pass
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass

    def stop(self) -> None:
        self._stop.set()
        for s in [self._listener, *self._socks]:
            try:
                s.close()
            except OSError:
                pass

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse
    import time

    ap = argparse.ArgumentParser(prog="python -m tinyc.deploy.faultproxy", description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", required=True, help="HOST:PORT of the serial server (QEMU's -serial tcp:...)")
    ap.add_argument("--rate", type=float, required=True, help="probability that a byte is damaged (0.001 = 0.1%%)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated: flip, drop, dup")
    a = ap.parse_args(argv)
    host, _, port = a.target.rpartition(":")
    with FaultProxy((host or "127.0.0.1", int(port)), a.rate, a.seed, tuple(a.kinds.split(","))) as proxy:
        print(proxy.url, flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        print(proxy.stats.to_json(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
