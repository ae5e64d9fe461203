"""User-file safety (issue 13): tinyc owns only what it wrote, swaps outputs in atomically, one writer at a time.

Every case runs the real CLI in a subprocess and checks that no foreign file is ever lost and that it ends in a
complete output or in one `error:` line with exit 2 (never a traceback).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tinyc import outputs, zoo
from tinyc.outputs import AREA, OutputDir, OutputFile, OutputError

TINYC = [sys.executable, "-m", "tinyc.cli"]
OLD, NEW = "mps2-an385", "mps2-an386"  # reference kernels, then the DSP set: different files and contents


def tinyc(*args, cwd=None, env=None, prefix=()) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*prefix, *TINYC, *map(str, args)], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=600)


def one_line_error(r: subprocess.CompletedProcess, *needles: str) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def snapshot(folder: Path, skip=(AREA, ".pio")) -> dict[str, bytes]:
    """Every file under ``folder`` (tinyc's own area and PlatformIO's build folder left out) and its bytes."""
    out = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in skip]
        for f in files:
            p = Path(root) / f
            out[str(p.relative_to(folder))] = p.read_bytes()
    return out


@pytest.fixture(scope="module")
def model() -> Path:
    return zoo.build("fc_odd")


def _user_folder(path: Path, model: Path) -> dict[str, bytes]:
    """A folder as a user has it: their model, their notes and a git repository."""
    (path / ".git" / "refs").mkdir(parents=True)
    (path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (path / "notes.txt").write_text("mine")
    shutil.copyfile(model, path / "model.tflite")
    return snapshot(path)


def _foreign_intact(folder: Path, user: dict[str, bytes]) -> None:
    now = snapshot(folder)
    assert {k: now.get(k) for k in user} == user


def test_force_writes_beside_user_files_and_replaces_only_tinyc_files(tmp_path, model):
    proj = tmp_path / "proj"
    proj.mkdir()
    user = _user_folder(proj, model)
    r = tinyc("generate", proj / "model.tflite", "--board", NEW, "-o", proj, "--force")
    assert r.returncode == 0, r.stderr
    _foreign_intact(proj, user)
    dsp = {p.name for p in proj.glob("*_arm_dsp.c")}
    assert dsp and (proj / "tinyc_model.c").is_file()
    # again without --force: tinyc's earlier output is there
    one_line_error(tinyc("generate", proj / "model.tflite", "--board", NEW, "-o", proj), "--force")
    # for a core without DSP: tinyc's now stale DSP files go, the user's stay
    r = tinyc("generate", proj / "model.tflite", "--board", OLD, "-o", proj, "--force")
    assert r.returncode == 0, r.stderr
    _foreign_intact(proj, user)
    assert not any(proj.glob("*_arm_dsp.c")) and (proj / "tinyc_model.c").is_file()
    assert not (proj / AREA / "tmp").exists() and not (proj / AREA / outputs.JOURNAL).exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "proj"]  # nothing beside the output folder


def test_a_folder_with_user_files_needs_force_and_is_left_as_found(tmp_path, model):
    proj = tmp_path / "proj"
    proj.mkdir()
    user = _user_folder(proj, model)
    one_line_error(tinyc("generate", model, "--board", OLD, "-o", proj), "--force", "not empty")
    assert snapshot(proj) == user and not (proj / AREA).exists()


def test_a_user_file_in_the_way_is_never_overwritten(tmp_path, model):
    proj = tmp_path / "proj"
    proj.mkdir()
    user = _user_folder(proj, model)
    (proj / "quant.c").write_text("/* my own quantization */")  # a name tinyc's output uses
    user = snapshot(proj)
    one_line_error(tinyc("generate", model, "--board", OLD, "-o", proj, "--force"), "quant.c", "did not write")
    assert snapshot(proj) == user and not (proj / AREA).exists()


def test_a_changed_tinyc_file_is_not_replaced(tmp_path, model):
    proj = tmp_path / "proj"
    assert tinyc("generate", model, "--board", OLD, "-o", proj).returncode == 0
    (proj / "tinyc_model.c").write_text("/* edited by hand */")
    before = snapshot(proj)
    one_line_error(tinyc("generate", model, "--board", NEW, "-o", proj, "--force"), "tinyc_model.c", "changed")
    assert snapshot(proj) == before


def test_output_dot_and_the_input_model_inside_it(tmp_path, model):
    proj = tmp_path / "proj"
    proj.mkdir()
    user = _user_folder(proj, model)
    one_line_error(tinyc("generate", "model.tflite", "--board", OLD, "-o", ".", cwd=proj), "--force")
    r = tinyc("generate", "model.tflite", "--board", OLD, "-o", ".", "--force", cwd=proj)
    assert r.returncode == 0, r.stderr
    _foreign_intact(proj, user)
    require_tool("arm-none-eabi-gcc")
    r = tinyc("build", "model.tflite", "--board", OLD, "-o", ".", "--force", "--no-run", cwd=proj)
    assert r.returncode == 0, r.stderr
    _foreign_intact(proj, user)
    # one tinyc output per folder: the build replaced the sources generate had written there
    assert (proj / "tinyc-build.json").is_file() and (proj / "model" / "tinyc_model.c").is_file()
    assert not (proj / "tinyc_model.c").exists()
    assert json.loads((proj / "tinyc-build.json").read_text())["out_dir"] == str(proj)


def test_a_symlinked_folder_is_written_through_and_stays_a_link(tmp_path, model):
    real = tmp_path / "real"
    real.mkdir()
    (real / "notes.txt").write_text("mine")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    for _ in range(2):
        r = tinyc("generate", model, "--board", OLD, "-o", link, "--force")
        assert r.returncode == 0, r.stderr
    assert link.is_symlink() and (real / "tinyc_model.c").is_file() and (real / "notes.txt").read_text() == "mine"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere" / "deeper")
    one_line_error(tinyc("generate", model, "--board", OLD, "-o", dangling))


def test_an_output_that_is_a_file_is_one_line(tmp_path, model):
    f = tmp_path / "file"
    f.write_text("mine")
    one_line_error(tinyc("generate", model, "--board", OLD, "-o", f, "--force"), "is a file")
    one_line_error(tinyc("build", model, "--board", OLD, "-o", f, "--force", "--no-run"), "not a folder")
    assert f.read_text() == "mine"


def _read_only(folder: Path):
    """A command prefix that runs tinyc with ``folder`` read-only: as root (which file modes do not stop), in a
    private mount namespace where the folder is a read-only bind mount; otherwise by its mode."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return ()
    if not shutil.which("unshare"):
        pytest.fail("unshare (util-linux) is needed to make a read-only folder as root")
    return ("unshare", "-rm", "sh", "-c",
            f'mount --bind "{folder}" "{folder}" && mount -o remount,ro,bind "{folder}" "{folder}" && exec "$@"',
            "sh")


def test_read_only_folders_fail_before_any_work(tmp_path, model):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "notes.txt").write_text("mine")
    pre = _read_only(ro)
    try:
        one_line_error(tinyc("generate", model, "--board", OLD, "-o", ro, "--force", prefix=pre), str(ro))
        one_line_error(tinyc("generate", model, "--board", OLD, "-o", ro / "new", prefix=pre), "new")
        one_line_error(tinyc("build", model, "--board", OLD, "-o", ro / "b", "--no-run", prefix=pre), "b")
        # the output is checked before the model is even read: a missing model is not what is reported
        missing = tmp_path / "missing.keras"
        line = one_line_error(tinyc("optimize", missing, "-o", ro / "x.tflite", prefix=pre), "x.tflite")
        assert "missing.keras" not in line
        data = tmp_path / "nodata.npz"
        line = one_line_error(tinyc("fit", model, "--board", OLD, "--data", data, "-o", ro / "fit", prefix=pre),
                              "fit")
        assert "nodata" not in line
    finally:
        ro.chmod(0o755)
    assert snapshot(ro) == {"notes.txt": b"mine"} and not (ro / AREA).exists()


def test_a_second_writer_is_told_who_holds_the_folder(tmp_path, model):
    proj = tmp_path / "proj"
    with OutputDir(proj, force=True):  # this test process is writing the folder
        line = one_line_error(tinyc("generate", model, "--board", OLD, "-o", proj, "--force"), "another tinyc")
        assert f"pid {os.getpid()}" in line
        line = one_line_error(tinyc("build", model, "--board", OLD, "-o", proj, "--force", "--no-run"),
                              "another tinyc")
        assert f"pid {os.getpid()}" in line
    assert not proj.exists()  # created by the holder, which wrote nothing: left as found


@pytest.mark.toolchain
def test_two_builds_into_one_folder_at_once(tmp_path, model):
    require_tool("arm-none-eabi-gcc")
    proj = tmp_path / "proj"
    args = [*TINYC, "build", str(model), "--board", OLD, "-o", str(proj), "--force", "--no-run"]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=600) + (p.returncode,) for p in procs]
    for out, err, rc in results:
        assert "Traceback" not in err
        assert rc == 0 or (rc == 2 and "another tinyc is writing" in err and err.count("\n") == 1), err
    assert any(rc == 0 for *_, rc in results)
    from tinyc.deploy import pipeline

    rec = pipeline.load_build(proj)
    assert rec.elf.is_file() and rec.board.id == OLD


def _old_and_new(tmp_path: Path, model: Path, command: list[str]) -> tuple[Path, dict, dict]:
    """A user folder holding tinyc's output for OLD, and what it holds once the command (for NEW) has run."""
    base = tmp_path / "base"
    base.mkdir()
    _user_folder(base, model)
    r = tinyc(*command, "--board", OLD, "-o", base, "--force")
    assert r.returncode == 0, r.stderr
    done = tmp_path / "done"
    shutil.copytree(base, done, symlinks=True)
    r = tinyc(*command, "--board", NEW, "-o", done, "--force")
    assert r.returncode == 0, r.stderr
    return base, snapshot(base), snapshot(done)


def _kill_at_every_checkpoint(tmp_path: Path, base: Path, command: list[str], check) -> int:
    """Run the forced replace once per checkpoint, killed (SIGKILL) there; ``check`` judges each folder."""
    n = 0
    while True:
        n += 1
        d = tmp_path / f"kill{n}"
        shutil.copytree(base, d, symlinks=True)
        r = tinyc(*command, "--board", NEW, "-o", d, "--force", env={"TINYC_TEST_KILL_AT": str(n)})
        if r.returncode == 0:
            check(d, killed=False)
            return n
        assert r.returncode == -9, (n, r.returncode, r.stderr)
        check(d, killed=True)
        shutil.rmtree(d)
        assert n < 200


def test_a_kill_at_every_step_of_a_forced_generate_leaves_old_or_new(tmp_path, model):
    command = ["generate", str(model)]
    base, old, new = _old_and_new(tmp_path, model, command)
    user = {k: v for k, v in old.items() if k in ("notes.txt", "model.tflite", ".git/HEAD")}
    seen = set()

    def check(d: Path, killed: bool) -> None:
        before = snapshot(d)
        assert {k: before.get(k) for k in user} == user  # no foreign file is ever lost
        if not (d / AREA / outputs.JOURNAL).exists():
            assert before in (old, new)  # no swap under way: exactly the old or the new output
        outputs.recover(d)  # what the next tinyc to open the folder does first
        after = snapshot(d)
        assert after in (old, new)
        seen.add("old" if after == old else "new")
        assert not (d / AREA / "tmp").exists() and not (d / AREA / outputs.JOURNAL).exists()
        r = tinyc(*command, "--board", NEW, "-o", d, "--force")  # and the next run completes
        assert r.returncode == 0, r.stderr
        assert snapshot(d) == new

    steps = _kill_at_every_checkpoint(tmp_path, base, command, check)
    assert steps > 10 and seen == {"old", "new"}


@pytest.mark.toolchain
def test_a_kill_at_every_step_of_a_forced_build_leaves_old_or_new(tmp_path, model):
    require_tool("arm-none-eabi-gcc")
    from tinyc.deploy import pipeline

    command = ["build", str(model), "--no-run"]
    base, old, new = _old_and_new(tmp_path, model, command)
    models = {OLD: {k: v for k, v in old.items() if k.startswith("model/")},
              NEW: {k: v for k, v in new.items() if k.startswith("model/")}}
    user = {k: v for k, v in old.items() if k in ("notes.txt", "model.tflite", ".git/HEAD")}

    def check(d: Path, killed: bool) -> None:
        _foreign_intact(d, user)
        rec = pipeline.load_build(d)  # recovers an interrupted swap first
        assert rec.elf.is_file() and rec.board.id in (OLD, NEW)
        assert {k: v for k, v in snapshot(d).items() if k.startswith("model/")} == models[rec.board.id]
        assert rec.elf.read_bytes()[:4] == b"\x7fELF" and rec.elf.is_relative_to(d)

    assert _kill_at_every_checkpoint(tmp_path, base, command, check) > 5


@pytest.mark.toolchain
def test_a_failed_build_leaves_the_folder_as_found(tmp_path):
    require_tool("arm-none-eabi-gcc")
    big = zoo.build("ic_resnet8")
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "notes.txt").write_text("mine")
    r = tinyc("build", big, "--board", "bluepill", "-o", proj, "--force", "--no-run", "--force-build")
    assert r.returncode == 1 and "overflowed" in r.stderr and "Traceback" not in r.stderr
    assert snapshot(proj) == {"notes.txt": b"mine"} and not (proj / AREA).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]  # nothing hidden beside it


def test_an_input_inside_tinyc_output_is_kept_not_replaced(tmp_path):
    out = tmp_path / "out"
    with OutputDir(out) as d:
        (d.stage / "m.int8.tflite").write_bytes(b"int8 model")
        (d.stage / "model").mkdir()
        (d.stage / "model" / "a.c").write_text("int a;")
        d.commit()
    # a rebuild from that model (a .tflite: no int8 file in its output) keeps it
    with OutputDir(out, force=True, inputs=[out / "m.int8.tflite"]) as d:
        (d.stage / "model").mkdir()
        (d.stage / "model" / "b.c").write_text("int b;")
        d.commit()
    assert (out / "m.int8.tflite").read_bytes() == b"int8 model" and sorted(os.listdir(out / "model")) == ["b.c"]
    # an output that would replace its own input is refused before anything changes
    with pytest.raises(OutputError, match="input of this run"):
        with OutputDir(out, force=True, inputs=[out / "model" / "b.c"], planned=["model"]):
            pass
    assert (out / "model" / "b.c").read_text() == "int b;"


def test_single_files_replace_only_what_tinyc_wrote(tmp_path):
    target = tmp_path / "m.tflite"
    with OutputFile(target) as f:
        f.write(b"one")
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()  # a normal file, not a 0600 temp
    with pytest.raises(OutputError, match="--force"):
        with OutputFile(target):
            pass
    with OutputFile(target, force=True) as f:
        f.write(b"two")
    target.write_bytes(b"edited by the user")
    with pytest.raises(OutputError, match="did not write"):
        with OutputFile(target, force=True):
            pass
    mine = tmp_path / "mine.tflite"
    mine.write_bytes(b"user")
    with pytest.raises(OutputError, match="did not write"):
        with OutputFile(mine, force=True):
            pass
    with pytest.raises(OutputError, match="input"):
        with OutputFile(mine, force=True, inputs=[mine]):
            pass
    assert mine.read_bytes() == b"user" and sorted(p.name for p in tmp_path.iterdir()) == ["m.tflite", "mine.tflite"]


def test_a_kill_while_writing_a_single_file_leaves_old_or_new(tmp_path):
    target = tmp_path / "m.tflite"
    with OutputFile(target) as f:
        f.write(b"old")
    script = textwrap.dedent(f"""
        from tinyc.outputs import OutputFile
        with OutputFile({str(target)!r}, force=True) as f:
            f.write(b"new")
    """)
    n = 0
    while True:
        n += 1
        r = subprocess.run([sys.executable, "-c", script], env={**os.environ, "TINYC_TEST_KILL_AT": str(n)},
                           capture_output=True, text=True)
        assert target.read_bytes() in (b"old", b"new")
        if r.returncode == 0:
            break
        assert r.returncode == -9, r.stderr
        with OutputFile(target, force=True) as f:  # the next run cleans what the kill left
            pass
        assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tflite"]
        if target.read_bytes() == b"new":
            with OutputFile(target, force=True) as f:
                f.write(b"old")
    assert n >= 3 and target.read_bytes() == b"new"


def test_the_optimize_output_refuses_a_user_file_even_with_force(tmp_path):
    mine = tmp_path / "out.tflite"
    mine.write_bytes(b"user file")
    one_line_error(tinyc("optimize", tmp_path / "missing.keras", "-o", mine, "--force"), "did not write")
    assert mine.read_bytes() == b"user file"


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


@pytest.mark.toolchain
def test_a_failed_compile_keeps_its_project_and_shows_the_compiler(tmp_path, model, monkeypatch):
    """The stage goes with a failed run, so the project that did not compile is kept in the cache to look at;
    the error is one line, the compiler's last lines follow it indented (never as \\x0a escapes)."""
    require_tool("arm-none-eabi-gcc")
    from click.testing import CliRunner

    from tinyc.cli import cli
    from tinyc.deploy import project

    broken = tmp_path / "main.c"
    broken.write_text("int main(void) { return this_does_not_compile; }\n")
    monkeypatch.setattr(project, "harness_main", lambda: broken)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "notes.txt").write_text("mine")
    r = CliRunner().invoke(cli, ["-q", "build", str(model), "--board", OLD, "-o", str(proj), "--force", "--no-run"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    first, *rest = r.output.strip().splitlines()
    assert first.startswith("error: ") and "PlatformIO build failed" in first and "\\x0a" not in r.output
    assert any("this_does_not_compile" in line and line.startswith("  ") for line in rest), r.output
    kept = Path(first.split("project kept in ")[1].split(";")[0])
    assert (kept / "pio-build.log").is_file() and (kept / "platformio.ini").is_file()
    assert str(kept) in first.split("its log: ")[1]
    assert snapshot(proj) == {"notes.txt": b"mine"} and not (proj / AREA).exists()
    shutil.rmtree(kept)
