"""SSD multibox loss: softmax cross-entropy with hard negatives mined over the whole batch,
smooth L1 on the positives' offsets, normalised by the number of positives in the batch."""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="jpeg_deep")
class MultiboxLoss(keras.losses.Loss):
    """``L = (sum_pos CE + sum_hard_neg CE + alpha * sum_pos SmoothL1) / max(1, N_pos)``.

    ``y_true`` ``(B, N, C + 4)``: one-hot class (index 0 background, all zeros = neutral) then
    encoded offsets; ``y_pred`` ``(B, N, C + 4 ...)``: softmax probabilities then predicted
    offsets (later columns are ignored). C is read from ``y_true``.

    * CE: ``-sum(y_true * log(max(y_pred, 1e-15)))`` per anchor; neutral anchors give 0.
    * SmoothL1: ``0.5 x^2`` if ``|x| < 1`` else ``|x| - 0.5``, summed over the 4 offsets.
    * Positives: anchors with a foreground class; ``N_pos`` is counted over the whole batch.
    * Hard negatives: among the background anchors of the *whole batch* with a non-zero CE, the
      ``k = min(max(neg_pos_ratio * N_pos, n_neg_min), number of them)`` largest CE.

    Keras averages the per-sample values this returns (``sum_over_batch_size``), so each image's
    share of the numerator is returned times the batch size: their mean is exactly ``L``. The
    reduction is therefore fixed. All math is float32, also under mixed precision.
    """

    def __init__(self, neg_pos_ratio=3.0, n_neg_min=0, alpha=1.0, name="multibox_loss",
                 reduction="sum_over_batch_size"):
        if reduction != "sum_over_batch_size":
            raise ValueError(f"MultiboxLoss returns per-image values whose mean is the loss; "
                             f"reduction must be 'sum_over_batch_size', got {reduction!r}")
        super().__init__(name=name, reduction=reduction, dtype="float32")
        self.neg_pos_ratio = float(neg_pos_ratio)
        self.n_neg_min = int(n_neg_min)
        self.alpha = float(alpha)

    def call(self, y_true, y_pred):
        y_true = tf.cast(y_true, tf.float32)
        y_pred = tf.cast(y_pred, tf.float32)
        n_classes = y_true.shape[-1] - 4
        probs = y_pred[..., :n_classes]
        one_hot = y_true[..., :n_classes]
        ce = -tf.reduce_sum(one_hot * tf.math.log(tf.maximum(probs, 1e-15)), axis=-1)  # (B, N)
        diff = tf.abs(y_true[..., n_classes:] - y_pred[..., n_classes:n_classes + 4])
        smooth_l1 = tf.reduce_sum(
            tf.where(diff < 1.0, 0.5 * tf.square(diff), diff - 0.5), axis=-1)      # (B, N)

        negatives = one_hot[..., 0]
        positives = tf.reduce_max(one_hot[..., 1:], axis=-1)
        n_pos = tf.reduce_sum(positives)
        neg_ce = ce * negatives
        n_nonzero = tf.math.count_nonzero(neg_ce, dtype=tf.int32)
        k = tf.minimum(tf.maximum(tf.cast(self.neg_pos_ratio * n_pos, tf.int32), self.n_neg_min),
                       n_nonzero)
        # rank of every anchor's negative CE in the whole batch; the k first are kept (a sort
        # has shapes that do not depend on the data, unlike top_k with a data-dependent k)
        flat = tf.reshape(neg_ce, [-1])
        order = tf.argsort(flat, direction="DESCENDING", stable=True)
        rank = tf.scatter_nd(order[:, None], tf.range(tf.size(flat)), tf.shape(flat))
        hard = tf.reshape(tf.cast(rank < k, tf.float32), tf.shape(neg_ce))
        per_image = tf.reduce_sum(ce * (positives + hard) + self.alpha * smooth_l1 * positives,
                                  axis=-1)
        batch = tf.cast(tf.shape(y_true)[0], tf.float32)
        return per_image * batch / tf.maximum(1.0, n_pos)

    def get_config(self):
        return {"name": self.name, "neg_pos_ratio": self.neg_pos_ratio,
                "n_neg_min": self.n_neg_min, "alpha": self.alpha}
