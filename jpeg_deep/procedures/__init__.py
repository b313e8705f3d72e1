"""Training procedures: each wraps a task (:mod:`jpeg_deep.tasks`) and returns what training
needs: the training model, the loaders, the loss and metrics, the work done before the first
step, and how the trained network predicts. ``standard`` is plain training; the robustness block
of a config picks one of the procedures against coding artifacts
(:mod:`jpeg_deep.procedures.robustness`), the split block split computing
(:mod:`jpeg_deep.procedures.split`).

Adding a procedure is a module with a :class:`~jpeg_deep.procedures.base.Procedure` subclass
and a line in :data:`PROCEDURES`; nothing in the tasks changes.
"""
from __future__ import annotations

from jpeg_deep.procedures.base import Procedure
from jpeg_deep.procedures.robustness import Expert, FineTune, Stability
from jpeg_deep.procedures.split import Split

#: Every procedure by name.
PROCEDURES = {cls.name: cls for cls in (Procedure, FineTune, Expert, Stability, Split)}


def names() -> list[str]:
    return sorted(PROCEDURES)


def _selected(config) -> list:
    """The procedures whose config block the config sets, with their block."""
    out = []
    for cls in PROCEDURES.values():
        block = getattr(config, cls.block, None) if cls.block else None
        if cls.block and cls.selects(block):
            out.append((cls, block))
    return out


def check(config, check_paths: bool = True) -> None:
    """Every procedure block of ``config`` checked by its procedures (a ConfigError naming the
    file and the problem)."""
    for block in sorted({cls.block for cls in PROCEDURES.values() if cls.block}):
        if getattr(config, block, None) is not None:
            owners = [cls for cls in PROCEDURES.values() if cls.block == block]
            owners[0].check(config, check_paths=check_paths)


def procedure_for(task) -> Procedure:
    """The procedure that trains ``task`` (its config's block names it; plain training
    without one)."""
    selected = _selected(task.config)
    if not selected:
        return Procedure(task)
    cls, block = selected[0]
    return cls(task, block)
