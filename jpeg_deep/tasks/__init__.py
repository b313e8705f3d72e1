"""Tasks built on the networks: one object per task owns what differs between classification and
detection (datasets, transforms, target encoding, model, loss, metrics, prediction files,
evaluation); the trainer and the command-line tools only talk to it. A task knows nothing of
training procedures (:mod:`jpeg_deep.procedures` wraps it).

``config.task`` picks the task: :func:`task_for` returns the task object of a config (a
:class:`~jpeg_deep.config.schema.Config`, read by attribute). Adding a task is a subpackage with
a :class:`~jpeg_deep.tasks.base.Task` subclass and a line in :data:`TASKS`.
"""
from __future__ import annotations

from jpeg_deep.errors import ConfigError
from jpeg_deep.tasks.base import DATA_CHECKS, Task, check_data_checks, weights_tag
from jpeg_deep.tasks.classification import ClassificationTask
from jpeg_deep.tasks.detection.task import DetectionTask

#: Every task by name.
TASKS = {task.name: task for task in (ClassificationTask, DetectionTask)}

__all__ = ["DATA_CHECKS", "TASKS", "Task", "check_data_checks", "names", "task_for",
           "weights_tag"]


def names() -> list[str]:
    return sorted(TASKS)


def task_for(config) -> Task:
    """The task object of ``config`` (``config.task``)."""
    try:
        return TASKS[config.task](config)
    except KeyError:
        raise ConfigError(f"{config.path}: task {config.task!r} unknown; known: "
                          f"{', '.join(names())}") from None
