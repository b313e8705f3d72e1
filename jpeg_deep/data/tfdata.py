"""The bridge to tf.data and tf.distribute: the batches as an endless distributed dataset for
``model.fit``."""
from __future__ import annotations

import itertools
import logging

from jpeg_deep.data.batches import ordered_batches

logger = logging.getLogger(__name__)


def distributed_dataset(strategy, make_batches, *, first_epoch=0, workers=1, prefetch=2):
    """An endless ``tf.distribute`` dataset for ``model.fit`` under a (multi-worker) mirrored
    strategy: epochs ``first_epoch, first_epoch + 1, ...`` of the batches, one after the other
    (give ``fit`` its ``steps_per_epoch`` / ``validation_steps``: one epoch's ``steps``).

    ``make_batches(replicas, replica_ids)`` returns the :class:`Batches` of the
    replicas one input pipeline (one worker) feeds; each worker loads only its own files.
    ``prefetch`` batches are prepared ahead of the model (on top of the loader's own queue).
    """
    import tensorflow as tf

    def dataset_fn(context):
        local = context.num_replicas_in_sync // context.num_input_pipelines
        first = context.input_pipeline_id * local
        batches = make_batches(context.num_replicas_in_sync, range(first, first + local))
        spec = tf.nest.map_structure(
            lambda a: tf.TensorSpec((None,) + a.shape[1:], tf.as_dtype(a.dtype)), batches[0])

        def generate():
            for epoch in itertools.count(first_epoch):
                batches.set_epoch(epoch)
                yield from ordered_batches(batches, workers)

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
        return dataset.with_options(options).prefetch(prefetch)

    return strategy.distribute_datasets_from_function(dataset_fn)
