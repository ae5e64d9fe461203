"""`tinyc flash`: put firmware on the board through its target and check that it answers.

The same flow serves every board (``tinyc.deploy.targets``): a QEMU target uploads nothing and runs the
firmware when the link opens; an upload target finds the board, uploads, and (with --port, where the
console answers there after the upload) syncs over the serial link.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tinyc.deploy.link import TargetInfo


@dataclass(frozen=True)
class FlashResult:
    board: str
    plan: Any  # tinyc.deploy.upload.UploadPlan, or None when nothing was uploaded (QEMU)
    dry_run: bool
    info: TargetInfo | None  # what the firmware announced, when it was reached
    where: str  # "in QEMU <machine>" or "on hardware"


def run_flash(model: str | None, board_id: str, *, emulate: bool = False, firmware_dir: str | None = None,
              port: str | None = None, timeout: float = 60.0, dry_run: bool = False, tool: str | None = None,
              per_layer: bool = False, weights: str = "auto",
              say: Callable[[str], None] = lambda m: None) -> FlashResult:
    """Build (or reuse) the firmware, flash it and sync with it where a link reaches it. Without MODEL or
    --firmware an upload target gets the hello-world firmware (it checks clock, pins and baud rate)."""
    from tinyc.deploy.targets import target_for

    with target_for(board_id, emulate=emulate, port=port, tool=tool, timeout=timeout) as target:
        target.locate(dry_run=dry_run)  # no board attached is one line, before any build
        hello = target.uploads and not (model or firmware_dir)
        rec = None if hello else target.build(model, firmware_dir=firmware_dir, say=say, profile=per_layer,
                                              weights=weights)
        elf = _hello(target, say) if hello else rec.elf
        plan = target.flash(elf, dry_run=dry_run, say=say)
        if plan is not None and (dry_run or rec is None or not port or not target.syncs_after_flash):
            return FlashResult(target.board.id, plan, dry_run, None, target.where)
        info = target.open_link(elf).sync()
        return FlashResult(target.board.id, plan, False, info, target.where)


def _hello(target, say: Callable[[str], None]) -> Path:
    """The hello-world firmware, with Renode scripts for it where the board names a Renode platform."""
    from tinyc.deploy.upload import hello_firmware

    elf = hello_firmware(target.board)
    if target.board.emulation.renode_platform:
        from tinyc.deploy.renode import render_renode

        scripts = render_renode(target.board, elf, elf.parent / "renode")
        say(f"Renode scripts for this firmware (if you have Renode): {scripts.resc.parent}/")
    return elf
