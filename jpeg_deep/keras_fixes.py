"""Two corrections that ``model.fit`` needs under ``tf.distribute.MultiWorkerMirroredStrategy``
with Keras 3.15 on the TensorFlow backend. Without them the first ``fit`` under several workers
crashes.

1. keras-team/keras#20585: ``TensorFlowTrainer._maybe_symbolic_build`` takes the first
   distributed batch and *reduces it across workers* to get shapes for the symbolic build, which
   fails (``Attempt to convert a value (PerReplica ...)``) and would also consume a batch of the
   epoch. The build only needs shapes and dtypes, so we give it the element spec of this
   worker's first local replica: no collective, no batch consumed.
2. tensorflow/tensorflow#72388: ``reduce_per_replica`` reduces every log value across workers
   with ``axis=0``; scalar logs (loss, metrics) have no axis 0 (``Invalid reduction dimension 0
   for input with 0 dimensions``). Rank-0 values are reduced with ``axis=None``.

Both patch private Keras functions, so they are pinned to the Keras minor version they were
written and tested for: :func:`apply` refuses any other version loudly instead of patching code
it has not seen. ``tests/test_distribute.py`` runs two workers through ``fit`` to guard them.
"""
from __future__ import annotations

import keras

WRITTEN_FOR = "3.15"  # keras major.minor the patches were written against (3.15.1 tested)

_applied = False


class UnsupportedKerasVersion(RuntimeError):
    pass


def check_version(version: str | None = None) -> None:
    version = version or keras.__version__
    if ".".join(version.split(".")[:2]) != WRITTEN_FOR:
        raise UnsupportedKerasVersion(
            f"jpeg_deep.keras_fixes patches private parts of Keras {WRITTEN_FOR}.x for "
            f"MultiWorkerMirroredStrategy, but Keras {version} is installed. Check whether "
            "keras-team/keras#20585 and tensorflow/tensorflow#72388 are fixed in this version "
            "and update or remove the patches (and WRITTEN_FOR) before training on several "
            "workers.")


def _first_local_spec(spec):
    """Element spec of the first local replica (a ``PerReplicaSpec`` holds one per replica)."""
    import tensorflow as tf

    def first(s):
        specs = getattr(s, "_value_specs", None)
        return specs[0] if specs else s

    return tf.nest.map_structure(first, spec, expand_composites=False)


def _maybe_symbolic_build(self, iterator=None, data_batch=None):
    # Replaces keras.src.backend.tensorflow.trainer.TensorFlowTrainer._maybe_symbolic_build.
    if self._distribute_strategy is None:
        return
    if iterator is not None and data_batch is None:
        dataset = iterator._get_iterator()
        data_batch = _first_local_spec(dataset.element_spec)
    with self.distribute_strategy.scope():
        self._symbolic_build(data_batch=data_batch)


def _make_reduce_per_replica(original):
    import tensorflow as tf

    def reduce_per_replica(values, strategy, reduction):
        # Replaces keras.src.backend.tensorflow.trainer.reduce_per_replica.
        multi_worker = (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
                        and strategy.extended._in_multi_worker_mode())
        if not multi_worker or reduction not in ("auto", "mean"):
            return original(values, strategy, reduction)

        def _reduce(v):
            rank = v.shape.rank if hasattr(v, "shape") else None
            if rank is None and hasattr(v, "values"):
                rank = v.values[0].shape.rank
            return strategy.reduce("MEAN", v, axis=None if rank == 0 else 0)

        return tf.nest.map_structure(_reduce, values)

    reduce_per_replica.__wrapped__ = original
    return reduce_per_replica


def apply() -> None:
    """Install both corrections (idempotent). Raises :class:`UnsupportedKerasVersion` on a
    Keras version they were not written for."""
    global _applied
    if _applied:
        return
    check_version()
    from keras.src.backend.tensorflow import trainer

    trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    trainer.reduce_per_replica = _make_reduce_per_replica(trainer.reduce_per_replica)
    _applied = True
