"""`tinyc fit`: the most accurate compressed model that fits a board's flash and SRAM (minus what the
application reserves) and, when asked, a latency target.

Cheap signals drive the search: flash and SRAM from the budget analysis and memory plan (packed weights
counted as codegen stores them), latency from the per-board model calibrated on measured layers, and
accuracy from TFLite Micro on a validation split carved out of --data. optuna (NSGA-II, constraints)
proposes the configurations; every evaluated candidate is cached on disk by what made it, so a rerun or
a shared --study-db resumes instead of retraining. Before answering, the best candidates are built and
measured on the target (QEMU instruction counts, linked flash/RAM), and the answer's accuracy is measured
on the held-out test split, which nothing in the search saw.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from tinyc import paths
from tinyc.errors import TinycError
from tinyc.fit import space as S
from tinyc.fit.pareto import OBJECTIVES

VERIFY = 3  # candidates built and measured before giving up on the prediction's order
PROBE_MARGIN = 1.1  # an untrained probe this far over a budget is not worth training


@dataclass(frozen=True)
class FitRequest:
    model: str
    board: str
    data: str
    test_data: str | None = None
    max_latency: float | None = None  # in the target's unit (instructions when emulated)
    max_accuracy_drop: float | None = None  # fraction (0.02 = 2 points) below the float model's accuracy
    budget_flash: int | None = None
    budget_sram: int | None = None
    reserve_flash: int = 0
    reserve_sram: int = 0
    budget_time: float = 300.0
    trials: int | None = None
    study_db: str | None = None
    epochs: int = 2
    seed: int = 0
    holdout: float = 0.2
    validation: float = 0.2
    emulate: bool = True
    recalibrate: bool = False
    weights: str = "auto"  # how candidates' filters are stored (tinyc.analyze.weights), as tinyc build will
    workers: int = 1  # local search processes (tinyc fit-worker); 1: this process searches itself
    worker: bool = False  # this process is a tinyc fit-worker: it searches the shared study, then reports
    study: str | None = None  # the study's name (a worker joins the one published) [default: from the request]


@dataclass(frozen=True)
class Candidate:
    number: int
    key: str
    config: dict
    describe: str
    accuracy: float  # validation split, TFLite Micro
    latency: float  # predicted, in the latency model's unit
    flash: int  # predicted (analysis + packed weights)
    sram: int
    feasible: bool
    violations: dict
    tflite: str  # cached file
    measured_latency: int | None = None
    linked_flash: int | None = None
    linked_ram: int | None = None
    test_accuracy: float | None = None
    note: str = ""

    def row(self) -> dict:
        return {"trial": self.number, "key": self.key, "config": self.describe, "accuracy": round(self.accuracy, 6),
                "latency": round(self.latency), "flash": self.flash, "sram": self.sram,
                "feasible": self.feasible,
                "measured_latency": "" if self.measured_latency is None else self.measured_latency,
                "linked_flash": "" if self.linked_flash is None else self.linked_flash,
                "linked_ram": "" if self.linked_ram is None else self.linked_ram,
                "test_accuracy": "" if self.test_accuracy is None else round(self.test_accuracy, 6),
                "note": self.note}

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        return d


@dataclass(frozen=True)
class FitResult:
    request: dict
    board: str
    run_board: str
    unit: str
    flash_budget: int
    sram_budget: int
    latency_target: float | None
    reference: dict  # the model as it is: float accuracy (val/test), int8 PTQ cost
    latency_model: dict
    sensitivity: dict
    space: dict
    candidates: tuple[Candidate, ...]
    chosen: Candidate | None
    closest: Candidate | None
    verified: tuple[dict, ...]
    seconds: float
    trials_this_run: int
    study: str
    messages: tuple[str, ...] = field(default=())
    skipped: tuple[dict, ...] = field(default=())
    workers: tuple[dict, ...] = field(default=())  # per search process: its trials and the front it read

    @property
    def fits(self) -> bool:
        return self.chosen is not None

    def to_json(self) -> dict:
        return {"request": self.request, "board": self.board, "run_board": self.run_board, "unit": self.unit,
                "flash_budget": self.flash_budget, "sram_budget": self.sram_budget,
                "latency_target": self.latency_target, "reference": self.reference,
                "latency_model": self.latency_model, "sensitivity": self.sensitivity, "space": self.space,
                "candidates": [c.to_json() for c in self.candidates],
                "chosen": self.chosen.to_json() if self.chosen else None,
                "closest": self.closest.to_json() if self.closest else None, "verified": list(self.verified),
                "seconds": self.seconds, "trials_this_run": self.trials_this_run, "study": self.study,
                "messages": list(self.messages), "fits": self.fits, "skipped": list(self.skipped),
                "workers": list(self.workers)}


def _sha(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _budgets(req: FitRequest, board) -> tuple[int, int]:
    from tinyc.analyze.budget import arena_region

    flash = max(r.size for r in board.flash_regions)
    sram = arena_region(board).size
    if req.budget_flash is not None:
        flash = min(flash, req.budget_flash)
    if req.budget_sram is not None:
        sram = min(sram, req.budget_sram)
    flash -= req.reserve_flash
    sram -= req.reserve_sram
    if flash <= 0 or sram <= 0:
        raise TinycError(f"--reserve-flash/--reserve-sram leave nothing of {board.id}'s memory for the model "
                         f"(flash {flash} B, SRAM {sram} B)")
    return flash, sram


def run_fit(req: FitRequest, progress=None, say: Callable[[str], None] = lambda m: None) -> FitResult:
    t0 = time.monotonic()
    from tinyc.deploy.targets import target_for
    from tinyc.optimize import data as D
    from tinyc.optimize.load import load_model

    target = target_for(req.board, emulate=req.emulate, flashed=True)
    board, run_board = target.board, target.run_board
    if not target.emulated:
        from tinyc.errors import NotImplementedYet

        raise NotImplementedYet(f"tinyc fit measures on an emulator for now; {board.id} is a real board: add "
                                "--emulate (its stand-in runs it; latency then in instructions)")
    unit = "instructions"
    flash_budget, sram_budget = _budgets(req, board)
    if req.max_accuracy_drop is not None and not (0 <= req.max_accuracy_drop < 1):
        raise TinycError(f"--max-accuracy-drop {req.max_accuracy_drop}: give a fraction, e.g. 0.02 for 2 points")

    data = D.load_data(req.data)
    test = D.load_data(req.test_data) if req.test_data else None
    loaded = load_model(req.model)
    if loaded.kind == "tflite":
        raise TinycError(f"{req.model}: tinyc fit retrains while it compresses; pass the Keras/SavedModel "
                         "model, not a .tflite")
    if loaded.kind == "keras3":
        from tinyc.optimize.load import KERAS2_ONLY

        raise TinycError(f"{req.model}: tinyc fit fine-tunes every candidate and {KERAS2_ONLY}; this is a Keras 3 "
                         "model: save it with tf_keras, or compress it with `tinyc optimize --prune/--cluster "
                         "--no-finetune`")
    model = loaded.keras
    from tinyc.optimize.quantize import check_convertible

    check_convertible(model, req.model)  # every operator tinyc cannot run, before any data is trained on
    for ds in (data, test):
        if ds is not None:
            D.check_shape(ds, model.input_shape, req.model)
    if not data.labelled or (test is not None and not test.labelled):
        raise TinycError("tinyc fit needs labelled data (x and y) in --data and --test-data")
    from tinyc.optimize import tasks as T
    from tinyc.optimize.train import output_tasks

    tasks = output_tasks(model, loaded.loss, data.label_arrays([n for n in model.output_names]))
    if not T.single_classifier(tasks):
        from tinyc.errors import NotImplementedYet

        raise NotImplementedYet(f"{req.model}: tinyc fit searches for the most accurate model, scored as one "
                                f"classifier's accuracy; this model's outputs are "
                                f"{', '.join(f'{t.name} ({t.kind})' for t in tasks)}: compress it with `tinyc "
                                "optimize` (which reports MAE/RMSE per output) and check it with `tinyc check`")
    data, test = (ds.prepared(tasks) if ds is not None else None for ds in (data, test))
    if test is None:
        data, test = D.holdout_split(data, req.holdout, req.seed)
    train, val = D.holdout_split(data, req.validation, req.seed + 1)

    from tinyc.optimize import measure
    from tinyc.optimize.stack import seed_everything
    from tinyc.optimize.train import keras_accuracy
    from tinyc.fit.cost import static_cost

    seed_everything(req.seed)
    layers = S.prunable_layers(model)
    if not layers and not S.is_chain(model):
        say(f"{req.model} is branched (residual Add / Concatenate): filter removal is left out of the search "
            "(it would have to cut the channels an Add ties together); binary weights, sparsity, clusters and QAT "
            "are searched")
    src = Path(req.model)
    mhash = _sha(*([src.read_bytes()] if src.is_file() else
                   [f.read_bytes() for f in sorted(src.rglob('*')) if f.is_file()]))
    dhash = S.data_hash(train.x, train.y, val.x, val.y)
    ref_val = keras_accuracy(model, val)
    ref_test = keras_accuracy(model, test)

    # latency model (cached per board + runtime + architecture)
    from tinyc.fit.calibrate import calibrate

    lm = calibrate(model, layers, train, train, board, run_board, progress, refresh=req.recalibrate)

    # per-layer sensitivity (cached per model + data)
    cache = paths.cache_dir() / "fit"
    sens_file = cache / "sensitivity" / f"{mhash}-{dhash}.json"
    if sens_file.is_file():
        sens = {k: {float(r): v for r, v in d.items()} for k, d in json.loads(sens_file.read_text()).items()}
    else:
        task = progress.add_task("per-layer sensitivity (filters removed, before fine-tuning)", total=None) \
            if progress else None
        sens = S.sensitivity(model, layers, val)
        sens_file.parent.mkdir(parents=True, exist_ok=True)
        sens_file.write_text(json.dumps(sens))
        if progress is not None:
            progress.update(task, visible=False)
    limit = max(0.3, 3 * (req.max_accuracy_drop or 0.1))
    sp = S.Space(tuple(layers), S.allowed_ratios(sens, limit), S.binarizable(model))

    # candidate evaluation, cached by what made it (model, data, epochs, seed, config)
    cand_dir = cache / "candidates"
    cand_dir.mkdir(parents=True, exist_ok=True)

    trained = [0]  # candidates fine-tuned in this run (--trials counts these; cached and skipped ones are free)
    shared: list = [None]  # tinyc.fit.claims.Claims of the study: each candidate trained once, by one worker

    def keep(tfl: Path, meta: Path, blob: bytes, acc: float, cfg: S.Config) -> None:
        """Into the candidate cache, each file swapped in whole (workers on this machine share it)."""
        for path, data in ((tfl, blob), (meta, json.dumps({"val_accuracy": acc, "config": cfg.to_json()}).encode())):
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)

    def evaluate(cfg: S.Config, wait: bool = True) -> tuple[Path, float] | None:
        """The candidate's .tflite and validation accuracy: from the cache, from the worker that trained it
        (shared study), or trained here. None (``wait`` False) while another worker trains it."""
        stem = f"{mhash}-{dhash}-e{req.epochs}-s{req.seed}-{cfg.key()}"
        tfl, meta = cand_dir / f"{stem}.tflite", cand_dir / f"{stem}.json"
        if tfl.is_file() and meta.is_file():
            return tfl, float(json.loads(meta.read_text())["val_accuracy"])
        claims = shared[0]
        if claims is not None:
            from tinyc.fit.claims import decode

            got = claims.claim(cfg.key())
            if got == "running":
                if not wait:
                    return None
                got = claims.wait(cfg.key())
            if isinstance(got, dict):  # trained by another worker (maybe on another machine)
                blob, acc = decode(got)
                keep(tfl, meta, blob, acc, cfg)
                return tfl, acc
        fine_tuned = cfg != S.Config()  # the model as it is (int8 PTQ) converts without fine-tuning
        try:
            blob = S.apply(model, cfg, train, train, req.epochs, req.seed)
            acc = measure.tflm_accuracy(blob, val.x, val.y)
        except BaseException:
            if claims is not None:
                claims.release(cfg.key())
            raise
        if fine_tuned:
            trained[0] += 1
        keep(tfl, meta, blob, acc, cfg)
        if claims is not None:
            claims.finish(cfg.key(), acc, blob, trained=fine_tuned)
        return tfl, acc

    # what earlier links of this model's candidates on this board added to the analysis' figures (its
    # code/stack items are estimates); per model, so that one model's harness never shifts another's search
    from tinyc.codegen.generate import source_hash
    from tinyc.fit.correction import LinkedCorrection

    corr = LinkedCorrection.load(cache, board.id, req.emulate, mhash, source_hash())

    # the flash the weight decision may fill: the budget, less what earlier links added to the analysis
    flash_limit = corr.flash_limit(flash_budget)

    def cost_of(tflite: bytes):
        return static_cost(tflite, board, req.weights, flash_limit)

    def constraints(flash, sram, lat, acc) -> dict:
        v = corr.over(flash, sram, flash_budget, sram_budget)
        if req.max_latency is not None:
            v["latency"] = lat - req.max_latency
        if req.max_accuracy_drop is not None:
            v["accuracy"] = (ref_val - acc) - req.max_accuracy_drop
        return v

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study_name = req.study or "tinyc-fit-" + _sha(mhash, dhash, board.id, flash_budget, sram_budget, req.max_latency,
                                     req.max_accuracy_drop, req.epochs, req.seed, json.dumps(sp.to_json()),
                                     lm.key, *([] if req.weights == "auto" else [req.weights]))
    storage = req.study_db or f"sqlite:///{cache / 'studies.db'}"
    if not req.study_db:
        cache.mkdir(parents=True, exist_ok=True)
    from tinyc.fit import distributed as Dist

    me = Dist.worker_id()
    # each worker samples with its own seed (the same seed would propose the same configurations)
    sampler = optuna.samplers.NSGAIISampler(population_size=8, seed=req.seed + (Dist.seed_offset(me) if req.worker
                                                                               else 0))
    study = Dist.open_study(storage, study_name, sampler, [("maximize" if s > 0 else "minimize") for _, s in OBJECTIVES])
    shared[0] = Dist.claims_for(storage, study_name)
    done = {t.user_attrs.get("key") for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE}
    if not req.worker:
        Dist.publish(study, req)  # what a tinyc fit-worker joining the study runs
    evaluate(S.Config())  # the model as it is: always a row (the reference), even when it cannot fit
    # candidates evaluated before (another study, other constraints) are re-scored first: no training
    prefix = f"{mhash}-{dhash}-e{req.epochs}-s{req.seed}-"
    cached = []
    for meta in sorted(cand_dir.glob(f"{prefix}*.json")):
        try:
            cfg = S.Config.from_json(json.loads(meta.read_text())["config"])
        except (ValueError, KeyError, TypeError):
            continue
        if cfg.key() not in done and sp.contains(cfg) and meta.with_suffix(".tflite").is_file():
            cached.append(cfg)
            done.add(cfg.key())
    seeds = [S.normalize(c) for c in [S.Config()] + S.guided_seeds(sens, sp.ratios)]
    seeds = [c for c in seeds if c.key() not in done]

    skipped: dict[str, dict] = {}

    def objective(trial):
        cfg = sp.suggest(trial)
        trial.set_user_attr("key", cfg.key())
        trial.set_user_attr("describe", cfg.describe())
        trial.set_user_attr("worker", me)
        if not (cand_dir / f"{mhash}-{dhash}-e{req.epochs}-s{req.seed}-{cfg.key()}.tflite").is_file():
            # cheap signals first: the untrained probe has the candidate's shapes and weight storage
            pc = cost_of(S.probe(model, cfg, train))
            plat = lm.predict(pc.layers)
            over = {k: v for k, v in (("flash", pc.flash - PROBE_MARGIN * flash_budget),
                                      ("sram", pc.sram - sram_budget),
                                      ("latency", plat - PROBE_MARGIN * req.max_latency if req.max_latency else -1))
                    if v > 0}
            if over:
                skipped[cfg.key()] = {"config": cfg.describe(), "cfg": cfg.to_json(), "flash": pc.flash,
                                      "sram": pc.sram,
                                      "latency": round(plat), "over": sorted(over)}
                trial.set_user_attr("skipped", skipped[cfg.key()])
                raise optuna.TrialPruned()
        got = evaluate(cfg, wait=False)
        if got is None:  # another worker fine-tunes this configuration now: its trial will hold it
            trial.set_user_attr("duplicate", True)
            raise optuna.TrialPruned()
        tfl, acc = got
        cost = cost_of(tfl.read_bytes())
        lat = lm.predict(cost.layers)
        v = constraints(cost.flash, cost.sram, lat, acc)
        trial.set_user_attr("key", cfg.key())
        trial.set_user_attr("config", cfg.to_json())
        trial.set_user_attr("describe", cfg.describe())
        trial.set_user_attr("tflite", str(tfl))
        trial.set_user_attr("constraints", v)
        for name, value in v.items():
            trial.set_constraint(name, float(value))
        trial.set_user_attr("cost", cost.to_json())
        return acc, lat, cost.flash, cost.sram

    def completed() -> int:
        return sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)

    task = progress.add_task(f"searching ({req.budget_time:.0f} s budget)", total=req.budget_time) \
        if progress else None
    start = time.monotonic()

    searching = [False]  # --trials limits the search phase, not the re-scoring of cached candidates

    def fine_tuned() -> int:
        """Candidates fine-tuned toward --trials: in the whole shared study, by every worker."""
        return shared[0].trained() if shared[0] is not None and (req.worker or req.workers > 1) else trained[0]

    def tick(study_, trial):
        if searching[0] and req.trials is not None and fine_tuned() >= req.trials:
            study_.stop()
        if progress is None:
            return
        feas = [t for t in study_.trials if t.state == optuna.trial.TrialState.COMPLETE
                and all(x <= 0 for x in t.user_attrs.get("constraints", {"x": 1}).values())]
        best = max((t.values[0] for t in feas), default=None)
        progress.update(task, completed=min(req.budget_time, time.monotonic() - start),
                        description=f"searching: {completed()} evaluated ({trained[0]} fine-tuned now), "
                                    f"{len(skipped)} skipped untrained, {len(feas)} fit"
                        + (f", best val accuracy {best:.3f}" if best is not None else ""))

    worker_reports: list[dict] = []
    if req.worker:  # a tinyc fit-worker: the study's published seeds and deadline, then the front it reads
        searching[0] = True
        if not (req.trials is not None and fine_tuned() >= req.trials):
            study.optimize(objective, timeout=Dist.remaining(study, req.budget_time), catch=(TinycError,),
                           callbacks=[tick])
        if progress is not None:
            progress.update(task, visible=False)
        Dist.wait_idle(study)
        return Dist.worker_report(study, me, trained[0])  # type: ignore[return-value]
    if cached and req.workers <= 1:
        for cfg in cached:
            study.enqueue_trial(sp.params(cfg), skip_if_exists=True)
        study.optimize(objective, n_trials=len(cached), catch=(TinycError,), callbacks=[tick])
    for cfg in (cached if req.workers > 1 else []) + seeds:
        study.enqueue_trial(sp.params(cfg), skip_if_exists=True)
    remaining = max(1.0, req.budget_time - (time.monotonic() - start))  # the one-off calibration is not counted
    Dist.set_deadline(study, remaining)  # workers joining the study stop then too
    searching[0] = True
    if req.workers > 1:  # local worker processes search; this one waits, then builds and measures the best
        procs_ = Dist.spawn_workers(req.workers, storage, study_name, say)
        worker_reports = Dist.collect(procs_, remaining + 600)
    elif not (req.trials is not None and trained[0] >= req.trials):
        study.optimize(objective, timeout=remaining, catch=(TinycError,), callbacks=[tick])
        worker_reports = [Dist.worker_report(study, me, trained[0])] if req.study_db else []
    if req.study_db or req.workers > 1:
        Dist.wait_idle(study)  # workers on other machines finish their trials
    if progress is not None:
        progress.update(task, visible=False)
    this_run = sum(w.get("fine_tuned", 0) for w in worker_reports) if req.workers > 1 else trained[0]

    # every evaluated candidate, one row per distinct configuration
    cands: dict[str, Candidate] = {}
    for t in study.trials:
        if t.state != optuna.trial.TrialState.COMPLETE or t.user_attrs.get("key") in cands:
            continue
        v = t.user_attrs["constraints"]
        acc, lat, flash, sram = t.values
        cands[t.user_attrs["key"]] = Candidate(t.number, t.user_attrs["key"], t.user_attrs["config"],
                                               t.user_attrs["describe"], acc, lat, int(flash), int(sram),
                                               all(x <= 0 for x in v.values()), v, t.user_attrs["tflite"])
    probes = [t.user_attrs["skipped"] for t in study.trials
              if t.state == optuna.trial.TrialState.PRUNED and "skipped" in t.user_attrs]
    if not cands and probes:  # nothing was worth training: train the probe closest to the budgets, to show it
        rel = {"flash": flash_budget, "sram": sram_budget, "latency": req.max_latency or 1}

        def probe_excess(p):
            return sum(max(0.0, p[k] - rel[k]) / rel[k] for k in ("flash", "sram")) + (
                max(0.0, p["latency"] - req.max_latency) / req.max_latency if req.max_latency else 0.0)

        best = min(probes, key=probe_excess)
        cfg = S.Config.from_json(best["cfg"])
        tfl, acc = evaluate(cfg)
        cost = cost_of(tfl.read_bytes())
        lat = lm.predict(cost.layers)
        v = constraints(cost.flash, cost.sram, lat, acc)
        cands[cfg.key()] = Candidate(-1, cfg.key(), cfg.to_json(), cfg.describe(), acc, lat, cost.flash, cost.sram,
                                     all(x <= 0 for x in v.values()), v, str(tfl),
                                     note="trained after the search to show the closest configuration")
    if not cands:
        raise TinycError("tinyc fit evaluated no candidate (every trial failed); see `tinyc optimize` with the "
                         "same model and data for the error")
    ordered = sorted(cands.values(), key=lambda c: (-c.accuracy, c.latency, c.flash + c.sram))

    # verify on the target: build, link, measure; first that holds up is the answer
    verified = []
    chosen = None
    messages = []
    def local(c: Candidate) -> Candidate:
        """A candidate another machine evaluated (shared --study-db) is rebuilt here (same seed, same model)."""
        if Path(c.tflite).is_file():
            return c
        tfl, _ = evaluate(S.Config.from_json(c.config))
        return replace(c, tflite=str(tfl))

    for c in [c for c in ordered if c.feasible][:VERIFY]:
        c = local(c)
        m = _measure(c, board, run_board, req, progress, flash_limit=flash_limit)
        ok_flash = m["linked_flash"] is not None and m["linked_flash"] <= flash_budget
        ok_ram = m["linked_ram"] is not None and m["linked_ram"] <= sram_budget
        ok_lat = req.max_latency is None or (m["measured_latency"] is not None
                                             and m["measured_latency"] <= req.max_latency)
        note = m.get("error") or ("" if ok_flash and ok_ram and ok_lat else
                                  "measured: " + ", ".join(w for w, ok in (("flash over budget", ok_flash),
                                                                           ("RAM over budget", ok_ram),
                                                                           ("latency over target", ok_lat))
                                                           if not ok))
        if m["linked_flash"] is not None:
            corr.record(m["linked_flash"], m["linked_ram"], c.flash, c.sram)
        c2 = replace(c, measured_latency=m["measured_latency"], linked_flash=m["linked_flash"],
                     linked_ram=m["linked_ram"], note=note)
        cands[c.key] = c2
        verified.append({"key": c.key, **m, "ok": not note})
        if not note:
            chosen = c2
            break
        messages.append(f"candidate {c.key} ({c.describe}) predicted to fit but {note}")

    closest = None
    if chosen is None:
        def excess(c: Candidate) -> float:
            rel = {"flash": flash_budget, "sram": sram_budget, "latency": req.max_latency or 1,
                   "accuracy": 1.0}
            return sum(max(0.0, v) / rel[k] for k, v in c.violations.items())

        def memory(c: Candidate) -> float:
            return excess(replace(c, violations={k: v for k, v in c.violations.items() if k in ("flash", "sram")}))

        # memory is a hard limit (a firmware over it does not link, so its latency cannot be measured); latency
        # and accuracy are the soft ones: the closest is the nearest candidate that fits, where one does
        closest = min(cands.values(), key=lambda c: (memory(c) > 0, excess(c), -c.accuracy))
        if closest.key not in {v["key"] for v in verified}:
            closest = local(closest)
            m = _measure(closest, board, run_board, req, progress, allow_overflow=True, flash_limit=flash_limit)
            closest = replace(closest, measured_latency=m["measured_latency"], linked_flash=m["linked_flash"],
                              linked_ram=m["linked_ram"], note=m.get("error", ""))
            cands[closest.key] = closest
        else:
            closest = cands[closest.key]
    final = chosen or closest
    final = replace(final, test_accuracy=measure.tflm_accuracy(Path(final.tflite).read_bytes(), test.x, test.y))
    cands[final.key] = final
    if chosen is not None:
        chosen = final
    else:
        closest = final

    base = cands.get(S.normalize(S.Config()).key())
    reference = {"float_val_accuracy": ref_val, "float_test_accuracy": ref_test,
                 "int8": None if base is None else {"flash": base.flash, "sram": base.sram,
                                                    "latency": base.latency, "val_accuracy": base.accuracy},
                 "splits": {"train": len(train), "validation": len(val), "test": len(test),
                            "test_source": test.source},
                 "linked_correction": corr.to_json()}
    return FitResult(
        request=req.__dict__, board=board.id, run_board=run_board.id, unit=unit, flash_budget=flash_budget,
        sram_budget=sram_budget, latency_target=req.max_latency, reference=reference,
        latency_model=lm.to_json(), sensitivity={k: {str(r): v for r, v in d.items()} for k, d in sens.items()},
        space=sp.to_json(), candidates=tuple(sorted(cands.values(), key=lambda c: c.number)), chosen=chosen,
        closest=closest, verified=tuple(verified), seconds=time.monotonic() - t0, trials_this_run=this_run,
        study=f"{_shown(storage)}#{study_name}", messages=tuple(messages),
        skipped=tuple(probes), workers=tuple(worker_reports))


def _shown(url: str) -> str:
    """A storage URL without its password."""
    import re

    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def _measure(c: Candidate, board, run_board, req: FitRequest, progress, allow_overflow: bool = False,
             flash_limit: int | None = None) -> dict:
    """Build the candidate for the board (the linker decides whether it fits) and time it on the target."""
    from tinyc.deploy.bench import bench_link, open_target
    from tinyc.deploy.platformio import LinkOverflow

    task = progress.add_task(f"measuring {c.key} on {run_board.id}", total=None) if progress else None
    out: dict[str, Any] = {"measured_latency": None, "linked_flash": None, "linked_ram": None,
                           "predicted_latency": round(c.latency), "predicted_flash": c.flash,
                           "predicted_sram": c.sram}
    try:
        rec = firmware(Path(c.tflite), board.id, req.emulate, req.weights, flash_limit)
        out["linked_flash"], out["linked_ram"] = rec.memory.flash, rec.memory.ram
        with open_target(rec.elf, rec.run_board) as link:
            m = bench_link(link, Path(c.tflite), runs=3)
        out["measured_latency"] = m.median
        out["outputs_match"] = m.outputs_match
        if m.outputs_match is False:
            out["error"] = "outputs differ from TFLite Micro: " + "; ".join(m.mismatches)
    except LinkOverflow as exc:
        out["error"] = f"does not link: {exc}"
    finally:
        if progress is not None:
            progress.update(task, visible=False)
    return out


def firmware(tflite: Path, board_id: str, emulate: bool, weights: str = "auto", flash_limit: int | None = None):
    """A cached build of the candidate that goes past tinyc check's verdict to the linker, its filters
    stored as the search priced them (``weights`` decided for ``flash_limit``)."""
    from tinyc.buildkey import firmware_key
    from tinyc.deploy import pipeline

    out = paths.cache_dir() / "fit" / "firmware" / firmware_key(tflite, board_id, emulate=emulate, skip_check=True,
                                                                weights=weights, flash_limit=flash_limit)
    if (out / pipeline.BUILD_FILE).is_file():
        try:
            return pipeline.load_build(out)
        except TinycError:
            pass
    pipeline.build_model_firmware(tflite, board_id, out, emulate=emulate, force=True, skip_check=True,
                                  wait=True, weights=weights, flash_limit=flash_limit)  # another process building the same candidate: wait for it
    return pipeline.load_build(out)
