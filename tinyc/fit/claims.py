"""Each candidate of a shared fit study is fine-tuned once, whichever worker (machine) proposes it first.

The study's storage (optuna's RDB: PostgreSQL for many machines, SQLite for one) gets a table of claims:
one row per (study, candidate key), inserted atomically by the worker that trains it (the primary key
decides a race), and finished with the result: the validation accuracy and the candidate's .tflite, so a
worker on another machine takes it from the row instead of training it again. A claim whose worker died is
taken over when its lease runs out (a killed worker's candidates are trained again by someone, once).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from typing import Any

LEASE = 900.0  # seconds a worker may hold a claim without finishing it (a fine-tuning run takes far less)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def engine_url(url: str) -> str:
    """optuna/SQLAlchemy URL with the driver tinyc installs: postgresql:// -> postgresql+psycopg://."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Claims:
    def __init__(self, url: str, study: str, owner: str | None = None, lease: float = LEASE):
        import sqlalchemy as sa

        self.study, self.owner, self.lease = study, owner or worker_id(), lease
        kw: dict[str, Any] = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
        self.engine = sa.create_engine(engine_url(url), **kw)
        md = sa.MetaData()
        self.table = sa.Table("tinyc_fit_claims", md,
                              sa.Column("study", sa.String(256), primary_key=True),
                              sa.Column("key", sa.String(256), primary_key=True),
                              sa.Column("owner", sa.String(256), nullable=False),
                              sa.Column("state", sa.String(16), nullable=False),  # running | done
                              sa.Column("expires", sa.Float, nullable=False),
                              sa.Column("result", sa.Text, nullable=True))
        try:
            md.create_all(self.engine, checkfirst=True)
        except sa.exc.IntegrityError:  # another worker created it at the same moment
            pass
        except sa.exc.ProgrammingError:
            pass

    def claim(self, key: str) -> str | dict:
        """"mine" (train it, then ``finish``), "running" (another worker trains it now) or the finished
        result."""
        import sqlalchemy as sa

        t = self.table
        now = time.time()
        with self.engine.begin() as c:
            try:
                c.execute(t.insert().values(study=self.study, key=key, owner=self.owner, state="running",
                                            expires=now + self.lease, result=None))
                return "mine"
            except sa.exc.IntegrityError:
                pass
        with self.engine.begin() as c:
            row = c.execute(sa.select(t.c.owner, t.c.state, t.c.expires, t.c.result)
                            .where(t.c.study == self.study, t.c.key == key)).first()
            if row is None:
                return self.claim(key)
            if row.state == "done":
                return json.loads(row.result)
            if row.owner == self.owner:
                return "mine"
            if row.expires < now:  # its worker died: take it over, atomically
                n = c.execute(t.update().where(t.c.study == self.study, t.c.key == key, t.c.state == "running",
                                               t.c.expires == row.expires)
                              .values(owner=self.owner, expires=now + self.lease)).rowcount
                if n == 1:
                    return "mine"
        return "running"

    def finish(self, key: str, accuracy: float, tflite: bytes, trained: bool = True) -> None:
        result = json.dumps({"val_accuracy": accuracy, "tflite": base64.b64encode(tflite).decode(),
                             "owner": self.owner, "trained": trained})
        with self.engine.begin() as c:
            c.execute(self.table.update().where(self.table.c.study == self.study, self.table.c.key == key)
                      .values(state="done", owner=self.owner, result=result))

    def release(self, key: str) -> None:
        """Give up a claim (the training failed): another worker may try it."""
        with self.engine.begin() as c:
            c.execute(self.table.delete().where(self.table.c.study == self.study, self.table.c.key == key,
                                                self.table.c.state == "running", self.table.c.owner == self.owner))

    def wait(self, key: str, timeout: float = LEASE + 60, poll: float = 1.0) -> str | dict:
        """The finished result of ``key`` (or "mine" when its worker died and this one takes it over)."""
        end = time.monotonic() + timeout
        while True:
            r = self.claim(key)
            if r != "running" or time.monotonic() > end:
                return r
            time.sleep(poll)

    def rows(self) -> list[dict]:
        """Every claim of the study: key, owner, state, trained (no .tflite bytes)."""
        import sqlalchemy as sa

        t = self.table
        with self.engine.begin() as c:
            out = []
            for r in c.execute(sa.select(t.c.key, t.c.owner, t.c.state, t.c.result).where(t.c.study == self.study)):
                res = json.loads(r.result) if r.result else {}
                out.append({"key": r.key, "owner": r.owner, "state": r.state, "trained": res.get("trained", False)})
            return out

    def trained(self) -> int:
        return sum(1 for r in self.rows() if r["state"] == "done" and r["trained"])

    def close(self) -> None:
        self.engine.dispose()


def decode(result: dict) -> tuple[bytes, float]:
    return base64.b64decode(result["tflite"]), float(result["val_accuracy"])
