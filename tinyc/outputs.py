"""Outputs the user can trust: tinyc replaces only what it wrote, swaps it in atomically, one writer at a time.

Every output folder tinyc writes (``-o`` of generate, build and fit, and its own cache folders) carries ``.tinyc/``:

- ``manifest.json``: the entries (top-level files and folders) tinyc wrote there and the hash of every file in
  them. ``--force`` replaces or removes only those entries, and only while they are as tinyc left them; every
  other file in the folder is the user's and is never touched.
- ``lock``: held (``flock``) by the process writing the folder, and naming it for a second run.
- ``tmp/<txn>/new``: the next output while it is being made (``OutputDir.stage``); ``tmp/<txn>/old`` the
  folders it replaces, while the swap runs.
- ``commit.json``: the journal of a swap. It is written only once the new output is complete, so a kill
  before it leaves the old output as it was; a kill after it leaves a swap that the next tinyc to open the
  folder finishes (``recover``): either way one complete output, old or new.

A single output file (``tinyc optimize -o X.tflite``) goes to a temporary file beside it, renamed over it at the
end; which files tinyc wrote is recorded in the cache, so ``--force`` never overwrites a file of the user's.

Everything that can be checked is checked when the output is opened, before any slow work: the path, that it
can be written (by writing the lock), another writer, foreign files in the way, an input in the way.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import sys
import time
from pathlib import Path
from typing import Iterable

from tinyc import paths
from tinyc.errors import TinycError

AREA = ".tinyc"
MANIFEST = "manifest.json"
JOURNAL = "commit.json"
LOCK = "lock"
PRODUCTS = ".pio"  # PlatformIO's build folder: build products, owned wholesale rather than file by file


class OutputError(TinycError):
    """An output that cannot be written as asked; nothing has been changed."""


_checkpoints = 0


def checkpoint() -> None:
    """Test hook: with TINYC_TEST_KILL_AT=N the process kills itself (SIGKILL: no clean-up runs) at the N-th
    checkpoint of its writes, so a test can prove that a kill at every step leaves a complete output."""
    at = os.environ.get("TINYC_TEST_KILL_AT")
    if not at:
        return
    global _checkpoints
    _checkpoints += 1
    if _checkpoints == int(at):
        os.kill(os.getpid(), signal.SIGKILL)


def _clean(text: str) -> str:
    from tinyc.ui import printable

    return printable(text)


def _os_error(path: Path, exc: OSError, doing: str) -> OutputError:
    fixes = {errno.EROFS: "it is on a read-only file system; choose another -o",
             errno.EACCES: "make it writable or choose another -o", errno.EPERM: "make it writable or choose another -o",
             errno.ENOSPC: "free some space or choose another -o", errno.EDQUOT: "free some space or choose another -o",
             errno.ENAMETOOLONG: "choose a shorter -o", errno.ENOTDIR: "a part of the path is a file; choose another -o"}
    reason = exc.strerror or type(exc).__name__
    return OutputError(f"{_clean(str(path))}: cannot {doing} ({reason}); "
                       f"{fixes.get(exc.errno, 'choose another -o')}")


def _absolute(path: str | os.PathLike) -> Path:
    """'.' and relative paths as absolute ones; symlinks in the path are kept (a folder is never renamed)."""
    text = os.fspath(path)
    if not text or "\0" in text:
        raise OutputError(f"{text!r}: not a usable path; choose another -o")
    return Path(os.path.abspath(text))


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        d = json.loads(os.read(fd, 4096) or b"{}")
        return f"pid {int(d['pid'])}, `{_clean(str(d['command']))[:200]}`, since {_clean(str(d['since']))}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has just started"


class _Lock:
    """An exclusive flock on a lock file that names its holder. The kernel drops it when the holder dies."""

    def __init__(self, file: Path, shown: Path, wait: bool):
        self.file, self.shown, self.wait, self.fd = file, shown, wait, -1

    def acquire(self) -> None:
        while True:
            try:
                fd = os.open(self.file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            except FileNotFoundError:  # a failed holder removed its empty area while this one waited
                try:
                    self.file.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise _os_error(self.shown, exc, "write there") from None
                continue
            except OSError as exc:
                raise _os_error(self.shown, exc, "write there") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                raise OutputError(f"{_clean(str(self.shown))}: another tinyc is writing it ({holder}); wait for "
                                  f"it to finish or choose another -o") from None
            try:  # the previous holder may have removed the file after this process opened it
                same = os.fstat(fd).st_ino == os.stat(self.file).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        record = {"pid": os.getpid(), "command": " ".join(["tinyc", *sys.argv[1:]]),
                  "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        self.fd = fd

    @property
    def held(self) -> bool:
        return self.fd >= 0

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def describe(path: Path) -> dict:
    """What is at ``path`` as the manifest records it: a file's hash, or a folder's files and their hashes
    (a ``.pio`` folder inside is PlatformIO's build products, recorded by name only)."""
    st = os.lstat(path)
    if stat.S_ISREG(st.st_mode):
        return {"type": "file", "sha256": _sha256(path)}
    if not stat.S_ISDIR(st.st_mode):
        return {"type": "other"}
    files: dict[str, str] = {}
    products: list[str] = []
    for root, dirs, names in os.walk(path):
        rel = Path(root).relative_to(path)
        for d in list(dirs):
            if d == PRODUCTS:
                products.append(str(rel / d))
                dirs.remove(d)
        for n in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            p = Path(root) / n
            files[str(rel / n)] = _sha256(p) if p.is_file() and not p.is_symlink() else "not-a-file"
    return {"type": "dir", "files": files, "products": sorted(products)}


def first_change(path: Path, rec: dict) -> Path | None:
    """The first thing at ``path`` that is not as tinyc wrote it (changed, or added by someone else)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if rec.get("type") == "file":
        if not stat.S_ISREG(st.st_mode) or _sha256(path) != rec.get("sha256"):
            return path
        return None
    if rec.get("type") != "dir" or not stat.S_ISDIR(st.st_mode):
        return path
    files, products = rec.get("files", {}), set(rec.get("products", ()))
    for root, dirs, names in os.walk(path):
        rel = Path(root).relative_to(path)
        for d in list(dirs):
            if str(rel / d) in products and not os.path.islink(os.path.join(root, d)):
                dirs.remove(d)
            elif os.path.islink(os.path.join(root, d)):
                dirs.remove(d)
                names.append(d)
        for n in names:
            p = Path(root) / n
            want = files.get(str(rel / n))
            if want is None or not p.is_file() or p.is_symlink() or _sha256(p) != want:
                return p
    return None


def _remove(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _write_json(path: Path, data: dict) -> None:
    """Atomically, so a kill leaves the old or the new file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _read_manifest(root: Path) -> dict[str, dict]:
    f = root / AREA / MANIFEST
    try:
        d = json.loads(f.read_text())
        entries = d["entries"]
        if not isinstance(entries, dict):
            raise TypeError
        return entries
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError):
        raise OutputError(f"{_clean(str(f))}: damaged, so tinyc cannot tell its files from yours; remove the "
                          f"files tinyc wrote and {AREA}/ by hand, or choose another -o") from None


def _apply(root: Path, journal: dict) -> None:
    """Roll a committed swap forward; idempotent, so a kill during it is finished by running it again."""
    area = root / AREA
    txn = area / "tmp" / journal["txn"]
    new, old = txn / "new", txn / "old"
    old.mkdir(parents=True, exist_ok=True)
    for name in journal["put"]:
        src, dst = new / name, root / name
        if not os.path.lexists(src):
            continue  # already swapped in
        if os.path.lexists(dst) and (os.path.isdir(dst) or os.path.isdir(src)):
            os.rename(dst, old / name)  # a folder cannot be renamed over another
            checkpoint()
        os.replace(src, dst)  # a file is replaced in one step: always the old or the new one
        checkpoint()
    for name in journal["remove"]:
        if os.path.lexists(root / name):
            os.rename(root / name, old / name)
            checkpoint()
    _write_json(area / MANIFEST, {"tinyc": 1, "entries": journal["manifest"]})
    checkpoint()
    (area / JOURNAL).unlink()
    checkpoint()
    shutil.rmtree(txn, ignore_errors=True)
    try:
        (area / "tmp").rmdir()
    except OSError:
        pass


def _recover(root: Path) -> None:
    """Finish a swap a kill interrupted, and drop what killed runs left in the temp area (the caller holds the
    lock, so no live run owns anything there)."""
    area = root / AREA
    j = area / JOURNAL
    if j.exists():
        try:
            journal = json.loads(j.read_text())
        except (OSError, ValueError):
            raise OutputError(f"{_clean(str(j))}: damaged journal of an interrupted write; remove the files "
                              f"tinyc wrote and {AREA}/ by hand, or choose another -o") from None
        _apply(root, journal)
    shutil.rmtree(area / "tmp", ignore_errors=True)
    for stray in area.glob("*.tmp"):
        stray.unlink()


def _under(path: Path, entry: Path) -> bool:
    try:
        p, e = os.path.realpath(path), os.path.realpath(entry)
    except OSError:
        return False
    return p == e or p.startswith(e.rstrip(os.sep) + os.sep)


class _Output:
    """Opened (checked, locked) on entering a with-block; what a failed or killed run left is cleaned on leaving."""

    shown: str

    def __enter__(self):
        try:
            self._open()
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    def _fail(self, problem: str) -> OutputError:
        return OutputError(f"{_clean(self.shown)}: {problem}")

    def _open(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class OutputDir(_Output):
    """A folder tinyc writes: opened (checked, locked, recovered) before any work, filled in ``stage``, swapped
    in by ``commit``. ``force`` lets it replace tinyc's own earlier output there and write beside foreign files;
    ``inputs`` are never replaced; ``planned`` names the entries the output will have, when known, so a
    collision is found before the work; ``wait`` blocks on another writer instead of failing (cache folders)."""

    def __init__(self, path: str | os.PathLike, *, force: bool = False, inputs: Iterable = (),
                 planned: Iterable[str] = (), wait: bool = False, shown: str | None = None):
        self.root = _absolute(path)
        self.shown = shown or os.fspath(path) or "."
        self.force, self.wait = force, wait
        self.inputs = [_absolute(p) for p in inputs if p]
        self.planned = list(planned)
        self.owned: dict[str, dict] = {}
        self.committed = False
        self._created: list[Path] = []
        self._lock: _Lock | None = None
        self._txn: Path | None = None

    # -- opening -------------------------------------------------------------------------------------------

    def _open(self) -> None:
        root = self.root
        if os.path.lexists(root) and not root.is_dir():
            raise self._fail("exists and is not a folder; choose another -o")
        missing = []
        p = root
        while not os.path.lexists(p):
            missing.append(p)
            p = p.parent
        if not p.is_dir():
            raise self._fail(f"{_clean(str(p))} is not a folder; choose another -o")
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise _os_error(Path(self.shown), exc, "create it") from None
            self._created.append(d)
        area = root / AREA
        try:
            area.mkdir(exist_ok=True)
        except OSError as exc:
            raise _os_error(Path(self.shown), exc, "write there") from None
        self._lock = _Lock(area / LOCK, Path(self.shown), self.wait)
        self._lock.acquire()
        checkpoint()
        _recover(root)
        self.owned = _read_manifest(root)
        present = {n for n in os.listdir(root) if n != AREA}
        earlier = sorted(n for n in self.owned if n in present)
        foreign = sorted(present - set(self.owned))
        if not self.force:
            if earlier:
                raise self._fail("holds tinyc's output of an earlier run; pass --force to replace it (only tinyc's "
                                 "files are replaced) or choose another -o")
            if foreign:
                raise self._fail(f"is not empty ({len(foreign)} entries tinyc did not write, e.g. "
                                 f"{_clean(foreign[0])!r}); pass --force to write tinyc's files beside them (tinyc "
                                 f"never removes a file it did not write) or choose another -o")
        self._check_inputs(self.planned)
        self._check_owned(sorted(set(self.planned) | set(earlier)))
        txn = area / "tmp" / f"{os.getpid()}-{os.urandom(4).hex()}"
        try:
            (txn / "new").mkdir(parents=True)
        except OSError as exc:
            raise _os_error(Path(self.shown), exc, "write there") from None
        self._txn = txn

    def _check_inputs(self, names: Iterable[str]) -> None:
        """An entry the output will replace must not hold an input of this run."""
        for name in names:
            dst = self.root / name
            for inp in self.inputs:
                if os.path.lexists(dst) and _under(inp, dst):
                    raise OutputError(f"{_clean(str(inp))}: an input of this run is in {_clean(str(dst))}, which "
                                      f"this run would replace; choose another -o")

    def _check_owned(self, names: Iterable[str]) -> None:
        """Refuse, before anything changes, to replace a foreign file or a file of tinyc's that was changed."""
        for name in names:
            dst = self.root / name
            if not os.path.lexists(dst):
                continue
            if name not in self.owned:
                raise OutputError(f"{_clean(str(dst))}: exists and tinyc did not write it; tinyc never overwrites "
                                  f"your files: move it away or choose another -o")
            changed = first_change(dst, self.owned[name])
            if changed is not None:
                raise OutputError(f"{_clean(str(changed))}: changed since tinyc wrote it, or not written by "
                                  f"tinyc; --force replaces only tinyc's unchanged files: move it away first")

    # -- the output ------------------------------------------------------------------------------------------

    @property
    def stage(self) -> Path:
        """Where the new output is made; its top-level entries become the folder's at ``commit``."""
        assert self._txn is not None, "OutputDir used outside its with-block"
        return self._txn / "new"

    def final(self, *parts: str) -> Path:
        """Where a path in the stage will be once committed."""
        return self.root.joinpath(*parts)

    def commit(self) -> None:
        """Swap the staged entries in: tinyc's stale entries go, foreign files stay, a kill leaves old or new."""
        stage = self.stage
        checkpoint()
        put = sorted(os.listdir(stage))
        keep_inputs = {n for n in self.owned if any(_under(i, self.root / n) for i in self.inputs)}
        remove = sorted(n for n in self.owned if n not in put and n not in keep_inputs
                        and os.path.lexists(self.root / n))
        self._check_inputs(put)
        self._check_owned(put + remove)
        manifest = {n: describe(stage / n) for n in put}
        manifest.update({n: self.owned[n] for n in keep_inputs if n not in manifest})
        journal = {"txn": self._txn.name, "put": put, "remove": remove, "manifest": manifest}
        try:
            _write_json(self.root / AREA / JOURNAL, journal)
            checkpoint()
            _apply(self.root, journal)
        except OSError as exc:
            raise _os_error(Path(self.shown), exc, "write there") from None
        self.owned = manifest
        self.committed = True

    def _close(self) -> None:
        area = self.root / AREA
        if self._lock is None or not self._lock.held:  # another writer's folder: touch nothing
            for d in reversed(self._created):
                try:
                    d.rmdir()
                except OSError:
                    break
            return
        if self._txn is not None and not self.committed:
            shutil.rmtree(self._txn, ignore_errors=True)
            try:
                (area / "tmp").rmdir()
            except OSError:
                pass
        if not self.committed and not (area / MANIFEST).exists() and not (area / JOURNAL).exists():
            # nothing of tinyc's here: leave the folder as it was found
            shutil.rmtree(area, ignore_errors=True)
            for d in reversed(self._created):
                try:
                    d.rmdir()
                except OSError:
                    break
        self._lock.release()


def recover(path: str | os.PathLike) -> None:
    """Finish a swap a killed run left in ``path`` and drop its temporary files, before reading it (a reader that
    finds another writer at work is told so in one line)."""
    root = _absolute(path)
    area = root / AREA
    if not (area / JOURNAL).exists() and not (area / "tmp").exists():
        return
    lock = _Lock(area / LOCK, Path(os.fspath(path)), wait=False)
    lock.acquire()
    try:
        _recover(root)
    finally:
        lock.release()


# -- single files ------------------------------------------------------------------------------------------------


def _record_path(target: Path) -> Path:
    key = hashlib.sha256(os.fsencode(os.path.realpath(target))).hexdigest()[:32]
    return paths.cache_dir() / "outputs" / key


def written_by_tinyc(target: Path) -> bool:
    """Whether tinyc wrote ``target`` as it is now (the cache records the path and hash of each file it writes)."""
    try:
        rec = json.loads(_record_path(target).with_suffix(".json").read_text())
        return rec["path"] == os.path.realpath(target) and _sha256(target) in rec["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


class OutputFile(_Output):
    """One file tinyc writes: checked, locked and its temporary file created (which proves the folder writable)
    when opened, before any work; ``write`` renames the finished file over the target in one step."""

    def __init__(self, path: str | os.PathLike, *, force: bool = False, inputs: Iterable = (),
                 shown: str | None = None):
        self.target = _absolute(path)
        self.shown = shown or os.fspath(path)
        self.force = force
        self.inputs = [_absolute(p) for p in inputs if p]
        self.written = False
        self._tmp: Path | None = None
        self._lock: _Lock | None = None

    def _open(self) -> None:
        t = self.target
        if t.is_dir():
            raise self._fail("is a folder; give a file path")
        if not t.parent.is_dir():
            raise self._fail(f"its folder {_clean(str(t.parent))} does not exist; create it or choose another -o")
        if any(_under(i, t) for i in self.inputs):
            raise self._fail("is an input of this run; choose another -o")
        record = _record_path(t)
        try:
            record.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _os_error(record.parent, exc, "write tinyc's cache") from None
        self._lock = _Lock(record.with_suffix(".lock"), Path(self.shown), wait=False)
        self._lock.acquire()
        for stray in t.parent.glob(f".{glob_escape(t.name)}.tinyc-*.tmp"):  # left by killed runs
            m = re.fullmatch(r"\.(.*)\.tinyc-(\d+)-[0-9a-f]+\.tmp", stray.name)
            if m and m.group(1) == t.name and not _alive(int(m.group(2))):
                stray.unlink(missing_ok=True)
        if os.path.lexists(t):
            if not self.force:
                raise self._fail("exists; pass --force to replace it (tinyc replaces only a file it wrote) or "
                                 "choose another -o")
            if not written_by_tinyc(t):
                raise self._fail("exists and tinyc did not write it (or it changed since); tinyc never overwrites "
                                 "your files: remove it yourself or choose another -o")
        tmp = t.with_name(f".{t.name}.tinyc-{os.getpid()}-{os.urandom(3).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise _os_error(Path(self.shown), exc, "write it") from None
        os.close(fd)
        self._tmp = tmp
        checkpoint()

    def write(self, data: bytes) -> None:
        """The record names the new file before it replaces the old one, so a kill in between leaves a file
        that tinyc still knows as its own, whichever of the two it is."""
        assert self._tmp is not None, "OutputFile used outside its with-block"
        record = _record_path(self.target).with_suffix(".json")
        new = hashlib.sha256(data).hexdigest()
        old = [_sha256(self.target)] if os.path.lexists(self.target) else []
        try:
            self._tmp.write_bytes(data)
            checkpoint()
            _write_json(record, {"path": os.path.realpath(self.target), "sha256": [new, *old]})
            checkpoint()
            os.replace(self._tmp, self.target)
        except OSError as exc:
            raise _os_error(Path(self.shown), exc, "write it") from None
        self.written = True
        checkpoint()
        _write_json(record, {"path": os.path.realpath(self.target), "sha256": [new]})

    def _close(self) -> None:
        if self._tmp is not None and not self.written:
            self._tmp.unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.release()


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
