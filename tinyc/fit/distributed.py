"""`tinyc fit` on many machines: one optuna study in a shared storage (PostgreSQL: `--storage
postgresql://user@host/db`; SQLite for processes of one machine), searched by any number of `tinyc fit-worker`
processes.

- The command that starts a search publishes its request in the study (``tinyc_request``: options, the
  files' absolute paths and hashes) and a deadline; a worker joins with only the storage URL (and the study's
  name when the storage holds several), checks that its copies of the model and data are the same files, and
  searches until the deadline or the study's --trials.
- Trials carry their worker's id. Each worker samples with its own seed; every candidate is fine-tuned once in
  the whole study (``tinyc.fit.claims``), and only the command that started the search builds and measures
  the best candidates on the target, once.
- optuna's heartbeat marks a killed worker's trial failed, and another worker runs it again: a search is
  resumable, and a rerun of the same command continues the same study.
- At its end a worker waits until no trial is running, then reads the Pareto front from the study; every
  worker reads the same front.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from tinyc.errors import TinycError
from tinyc.fit.claims import Claims, engine_url, worker_id

REQUEST_ATTR = "tinyc_request"
DEADLINE_ATTR = "tinyc_deadline"
HEARTBEAT = 10  # seconds between a running trial's heartbeats; a trial silent for GRACE seconds has failed
GRACE = 60


def seed_offset(worker: str) -> int:
    return 1 + int(hashlib.sha256(worker.encode()).hexdigest()[:6], 16) % 100000


def storage_for(url: str):
    import optuna

    import warnings

    kw: dict[str, Any] = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    with warnings.catch_warnings():  # optuna marks the heartbeat experimental; tinyc relies on it as it is
        warnings.simplefilter("ignore")
        return optuna.storages.RDBStorage(
            engine_url(url), engine_kwargs=kw, heartbeat_interval=HEARTBEAT, grace_period=GRACE,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2))


def open_study(url: str, name: str, sampler, directions):
    import optuna

    try:
        return optuna.create_study(storage=storage_for(url), sampler=sampler, study_name=name, load_if_exists=True,
                                   directions=directions)
    except Exception as exc:  # noqa: BLE001 - optuna/SQLAlchemy raise many kinds; one line says which storage
        raise TinycError(f"--storage {url}: optuna cannot open it ({str(exc).splitlines()[0][:200]}); give an "
                         "SQLAlchemy URL such as postgresql://user@host/db or sqlite:///fit.db") from None


def claims_for(url: str, study: str) -> Claims:
    return Claims(url, study)


def _sha(path: str | None) -> str | None:
    if not path:
        return None
    p = Path(path)
    h = hashlib.sha256()
    for f in [p] if p.is_file() else sorted(x for x in p.rglob("*") if x.is_file()):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def publish(study, req) -> None:
    """The request a joining worker runs: every option, the files' absolute paths and their hashes."""
    d = {k: v for k, v in req.__dict__.items() if k not in ("worker", "workers", "study_db", "study")}
    for k in ("model", "data", "test_data"):
        if d.get(k):
            d[k] = str(Path(d[k]).absolute())
    d["hashes"] = {k: _sha(d.get(k)) for k in ("model", "data", "test_data")}
    study.set_user_attr(REQUEST_ATTR, d)


def set_deadline(study, seconds: float) -> None:
    study.set_user_attr(DEADLINE_ATTR, time.time() + seconds)


def remaining(study, budget: float) -> float:
    dl = study.user_attrs.get(DEADLINE_ATTR)
    return max(1.0, min(budget, dl - time.time()) if dl else budget)


def find_request(url: str, study_name: str | None, wait: float = 0.0) -> tuple[str, dict]:
    """(study name, published request) of the study a worker joins: ``study_name``, else the only tinyc study
    in the storage (waiting up to ``wait`` seconds for one to be published)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    end = time.monotonic() + wait
    storage = storage_for(url)
    while True:
        try:
            studies = optuna.get_all_study_summaries(storage, include_best_trial=False)
        except Exception as exc:  # noqa: BLE001
            raise TinycError(f"--storage {url}: cannot read it ({str(exc).splitlines()[0][:200]})") from None
        found = {s.study_name: s.user_attrs[REQUEST_ATTR] for s in studies if REQUEST_ATTR in s.user_attrs}
        if study_name and study_name in found:
            return study_name, found[study_name]
        if not study_name and len(found) == 1:
            return next(iter(found.items()))
        if not study_name and len(found) > 1:
            raise TinycError(f"--storage {url} holds {len(found)} tinyc fit studies; pass --study with one of: "
                             + ", ".join(sorted(found)))
        if time.monotonic() >= end:
            what = f"study {study_name}" if study_name else "tinyc fit study"
            raise TinycError(f"--storage {url}: no {what} there yet; start the search with `tinyc fit MODEL "
                             f"--storage {url} ...` (or pass --wait SECONDS)")
        time.sleep(1.0)


def request_for_worker(published: dict, url: str, name: str, model: str | None = None, data: str | None = None,
                       test_data: str | None = None):
    """The FitRequest a worker runs: the published one, its files (or the copies given) checked by hash."""
    from tinyc.fit.search import FitRequest

    d = {k: v for k, v in published.items() if k != "hashes"}
    hashes = published.get("hashes") or {}
    for k, given in (("model", model), ("data", data), ("test_data", test_data)):
        if given:
            d[k] = given
        if d.get(k):
            if not Path(d[k]).exists():
                raise TinycError(f"{d[k]}: the study's --{k.replace('_', '-')} is not on this machine; pass your "
                                 f"copy with --{k.replace('_', '-')} PATH")
            if hashes.get(k) and _sha(d[k]) != hashes[k]:
                raise TinycError(f"{d[k]}: not the file the study searches with (its hash differs); pass the same "
                                 f"--{k.replace('_', '-')}")
    fields = set(FitRequest.__dataclass_fields__)
    d = {k: v for k, v in d.items() if k in fields}
    return FitRequest(**{**d, "study_db": url, "worker": True, "workers": 1, "study": name})


def wait_idle(study, timeout: float = 300.0) -> None:
    """Until no trial of the study is running (a dead worker's trial fails by heartbeat)."""
    import optuna

    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        optuna.storages.fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False)
        running = any(t.state == optuna.trial.TrialState.RUNNING for t in trials)
        if not running and last == len(trials):  # idle twice, nothing new between: every worker has stopped
            return
        last = None if running else len(trials)
        time.sleep(2.0)


def front_keys(study) -> list[str]:
    """The Pareto front of the study's completed candidates (one row per configuration), by key."""
    import optuna

    from tinyc.fit.pareto import front

    rows, seen = [], set()
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        k = t.user_attrs.get("key")
        if k in seen:
            continue
        seen.add(k)
        rows.append({"key": k, **dict(zip(("accuracy", "latency", "flash", "sram"), t.values))})
    return sorted(rows[i]["key"] for i in front(rows))


def worker_report(study, me: str, trained: int) -> dict:
    import optuna

    mine = [t.number for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            if t.user_attrs.get("worker") == me]
    return {"worker": me, "trials": mine, "fine_tuned": trained, "front": front_keys(study)}


def spawn_workers(n: int, url: str, study_name: str, say=lambda m: None) -> list:
    """``n`` local `tinyc fit-worker` processes on the study (through tinyc.procs: they die with tinyc); their
    output goes to files, so that no worker ever blocks on a full pipe while another waits for it."""
    import subprocess
    import tempfile

    from tinyc import procs

    cmd = [sys.executable, "-m", "tinyc.cli", "-q", "fit-worker", "--storage", url, "--study", study_name, "--json"]
    say(f"starting {n} fit workers on {study_name}")
    out = []
    for _ in range(n):
        o, e = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        p = procs.popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL, text=True, env=dict(os.environ))
        out.append((p, o, e))
    return out


def collect(workers: list, timeout: float) -> list[dict]:
    """Each worker's report (its --json line); a worker that failed is one error line with its last words."""
    import subprocess

    from tinyc import procs

    reports = []
    end = time.monotonic() + timeout
    for p, o, e in workers:
        try:
            p.wait(timeout=max(1.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:  # a hung worker: stop it
            procs.stop(p)
        o.seek(0)
        e.seek(0)
        out, err = o.read(), e.read()
        if p.returncode != 0:
            last = [x for x in err.strip().splitlines() if x.strip()][-2:]
            raise TinycError(f"fit worker {p.pid} failed (exit {p.returncode}): {' | '.join(last)}")
        try:  # stdout is the worker's --json object (tinyc's own lines go to stderr)
            reports.append(json.loads(out[out.index("{"):]))
        except ValueError:
            raise TinycError(f"fit worker {p.pid} printed no report: {out.strip()[-200:]!r}") from None
    return reports
