"""The losses and metrics of expert and stability training (registered with Keras, so that
saved models load with them)."""
from __future__ import annotations

import keras


# The expert's y_true is [one-hot | teacher probabilities] (2C columns) and its y_pred the
# student's C probabilities; stability's y_true is the one-hot (C) and its y_pred
# [f(clean) | f(distorted)] (2C). The number of classes is read from the shapes.

def _split_true(y_true, y_pred):
    classes = y_pred.shape[-1]
    return y_true[..., :classes], y_true[..., classes:]


def _split_pred(y_true, y_pred):
    classes = y_true.shape[-1]
    return y_pred[..., :classes], y_pred[..., classes:]


@keras.saving.register_keras_serializable("jpeg_deep")
def expert_cross_entropy(y_true, y_pred):
    labels, _ = _split_true(y_true, y_pred)
    return keras.losses.categorical_crossentropy(labels, y_pred)


@keras.saving.register_keras_serializable("jpeg_deep")
def expert_kl(y_true, y_pred):
    """``KL(teacher || student)`` per sample."""
    _, teacher = _split_true(y_true, y_pred)
    return keras.losses.kl_divergence(teacher, y_pred)


@keras.saving.register_keras_serializable("jpeg_deep")
def expert_top_k(y_true, y_pred, k=1):
    labels, _ = _split_true(y_true, y_pred)
    return keras.metrics.top_k_categorical_accuracy(labels, y_pred, k=k)


@keras.saving.register_keras_serializable("jpeg_deep")
def stability_cross_entropy(y_true, y_pred):
    clean, _ = _split_pred(y_true, y_pred)
    return keras.losses.categorical_crossentropy(y_true, clean)


@keras.saving.register_keras_serializable("jpeg_deep")
def stability_kl(y_true, y_pred):
    """``KL(f(clean) || f(distorted))`` per sample."""
    clean, distorted = _split_pred(y_true, y_pred)
    return keras.losses.kl_divergence(clean, distorted)


@keras.saving.register_keras_serializable("jpeg_deep")
def stability_top_k(y_true, y_pred, k=1, part=0):
    outputs = _split_pred(y_true, y_pred)[part]
    return keras.metrics.top_k_categorical_accuracy(y_true, outputs, k=k)


@keras.saving.register_keras_serializable("jpeg_deep")
class RobustnessLoss(keras.losses.Loss):
    """``cross_entropy + alpha * kl`` per sample, for ``method`` ``"expert"`` or
    ``"stability"`` (the terms above); Keras averages it over the batch."""

    def __init__(self, method="expert", alpha=1.0, name=None, **kwargs):
        if method not in ("expert", "stability"):
            raise ValueError(f"RobustnessLoss is for 'expert' or 'stability', not {method!r}")
        super().__init__(name=name or f"{method}_loss", **kwargs)
        self.method, self.alpha = method, float(alpha)

    def call(self, y_true, y_pred):
        y_true = keras.ops.cast(y_true, y_pred.dtype)
        if self.method == "expert":
            return expert_cross_entropy(y_true, y_pred) + self.alpha * expert_kl(y_true, y_pred)
        return (stability_cross_entropy(y_true, y_pred)
                + self.alpha * stability_kl(y_true, y_pred))

    def get_config(self):
        return dict(super().get_config(), method=self.method, alpha=self.alpha)


def metric(fn, name, **kwargs):
    return keras.metrics.MeanMetricWrapper(fn, name=name, **kwargs)
