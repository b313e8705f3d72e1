"""Cutting a network in two and the bottleneck that goes between the halves (split computing:
the device runs the front half and the encoder, the server the decoder and the back half).

A *split point* is a layer whose output every path from the network's inputs to its outputs
goes through (a block output of a ResNet; not the Y stream of a two-stream DCT network before
Cb / Cr join it): :func:`split_points` lists them, :func:`cut` returns the two halves as their
own Keras models (the back half is rebuilt on a new input by calling the same layers, so it
shares their weights), and :func:`bottleneck` builds the encoder / decoder pair of Ahuja et al.
(CVPR 2023): depthwise 3x3 convolution of stride ``S``, batch normalisation, ReLU, 1x1
convolution to ``C`` channels; back with a 1x1 convolution and a depthwise 3x3 transposed
convolution of stride ``S`` to the original shape (``kind="plain"``: full 3x3 convolutions).

The paper's ResNet-50 split points in Keras' layer names: ``layer4[2]`` is
``conv5_block3_out``, ``layer4[0]`` ``conv5_block1_out``, ``layer3[4]`` ``conv4_block5_out``
(:data:`RESNET50_POINTS`).
"""
from __future__ import annotations

import keras
from keras import ops, tree

#: The CVPR 2023 paper's split points of ResNet-50 (torchvision names) in Keras' layer names.
RESNET50_POINTS = {"layer4[2]": "conv5_block3_out", "layer4[0]": "conv5_block1_out",
                   "layer3[4]": "conv4_block5_out"}


def _graph(model):
    """``(nodes, edges)`` of the model's functional graph: every node with its input tensors,
    and for each tensor id the nodes that read it."""
    nodes = [n for depth in sorted(model._nodes_by_depth, reverse=True)
             for n in model._nodes_by_depth[depth]]
    readers = {}
    for n in nodes:
        for t in n.input_tensors:
            readers.setdefault(id(t), []).append(n)
    return nodes, readers


def split_points(model) -> list[str]:
    """The names of the layers at which ``model`` can be cut, in the order of the graph: every
    path from the inputs to the outputs goes through the layer's output."""
    nodes, readers = _graph(model)
    outputs = {id(t) for t in model.outputs}
    sources = [id(t) for t in model.inputs]
    points = []
    for node in nodes:
        layer = node.operation
        if not node.input_tensors or len(node.output_tensors) != 1 or not isinstance(
                layer, keras.layers.Layer) or id(node.output_tensors[0]) in outputs:
            continue
        blocked = id(node.output_tensors[0])
        seen, todo, reached = set(sources), list(sources), False
        while todo and not reached:
            for n in readers.get(todo.pop(), ()):
                if n is node:
                    continue
                for t in n.output_tensors:
                    if id(t) == blocked or id(t) in seen:
                        continue
                    if id(t) in outputs:
                        reached = True
                    seen.add(id(t))
                    todo.append(id(t))
        if not reached and layer.name not in points:
            points.append(layer.name)
    return points


def cut(model, at: str):
    """``(front, back)``: ``front`` maps the inputs to the output of layer ``at``, ``back`` maps
    that output (a new input named ``<at>_features``) to the outputs; ``back(front(x))`` is
    ``model(x)``. A layer that is not a split point is refused, with the split points named."""
    try:
        tensor = model.get_layer(at).output
    except ValueError:
        raise ValueError(f"{model.name} has no layer {at!r}; its split points: "
                         f"{_listed(split_points(model))}") from None
    features = keras.Input(shape=tensor.shape[1:], name=f"{at}_features",
                           dtype=tensor.dtype)
    known = {id(tensor): features}
    nodes, _ = _graph(model)
    for node in nodes:
        if not node.input_tensors or any(id(t) in known for t in node.output_tensors):
            continue
        if all(id(t) in known for t in node.input_tensors):
            args, kwargs = node.arguments.fill_in(known)
            out = node.operation(*args, **kwargs)
            for t, o in zip(node.output_tensors, tree.flatten(out)):
                known[id(t)] = o
    if any(id(t) not in known for t in model.outputs):
        raise ValueError(f"{model.name}: {at!r} is not a split point (other paths go around "
                         f"it); its split points: {_listed(split_points(model))}")
    outputs = [known[id(t)] for t in model.outputs]
    front = keras.Model(model.inputs, tensor, name=f"{model.name}_front")
    back = keras.Model(features, outputs[0] if len(outputs) == 1 else outputs,
                       name=f"{model.name}_back")
    return front, back


def _listed(points) -> str:
    return ", ".join(points) if points else (
        "none (every layer has a path around it: two input streams that join only after the "
        "network's first output is read, as in an SSD whose Y stream feeds a head before Cb / "
        "Cr join it)")


@keras.saving.register_keras_serializable(package="jpeg_deep")
class ZeroInsertion(keras.layers.Layer):
    """``stride - 1`` zeros after every pixel along height and width, then cropped to
    ``size``: with a depthwise convolution after it, a depthwise transposed convolution."""

    def __init__(self, stride, size, **kwargs):
        super().__init__(**kwargs)
        self.stride, self.size = int(stride), tuple(int(s) for s in size)

    def call(self, x):
        s = self.stride
        if s == 1:
            return x[:, :self.size[0], :self.size[1]]
        h, w, c = x.shape[1:]
        x = ops.stack([x] + [ops.zeros_like(x)] * (s - 1), axis=3)  # (b, h, w, s, c)
        x = ops.reshape(x, (-1, h, w * s, c))
        x = ops.stack([x] + [ops.zeros_like(x)] * (s - 1), axis=2)  # (b, h, s, w s, c)
        x = ops.reshape(x, (-1, h * s, w * s, c))
        return x[:, :self.size[0], :self.size[1]]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.size, input_shape[-1])

    def get_config(self):
        return dict(super().get_config(), stride=self.stride, size=self.size)


def bottleneck(shape, channels: int, stride: int = 2, kind: str = "separable",
               name: str = "bottleneck"):
    """``(encoder, decoder)`` for features of ``shape`` ``(h, w, c)``: the encoder reduces them
    to ``(ceil(h / stride), ceil(w / stride), channels)``, the decoder restores ``shape``.
    ``kind``: ``"separable"`` (the paper's: depthwise 3x3, BN, ReLU, 1x1) or ``"plain"`` (a full
    3x3 convolution each way)."""
    if kind not in ("separable", "plain"):
        raise ValueError(f"bottleneck kind must be 'separable' or 'plain', not {kind!r}")
    if channels < 1 or stride < 1:
        raise ValueError(f"bottleneck channels ({channels}) and stride ({stride}) must be >= 1")
    h, w, c = (int(s) for s in shape)
    x = inputs = keras.Input((h, w, c), name=f"{name}_in")
    if kind == "separable":
        x = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same",
                                         name=f"{name}_enc_depthwise")(x)
        x = keras.layers.BatchNormalization(name=f"{name}_enc_bn")(x)
        x = keras.layers.ReLU(name=f"{name}_enc_relu")(x)
        x = keras.layers.Conv2D(channels, 1, name=f"{name}_enc_pointwise")(x)
    else:
        x = keras.layers.Conv2D(channels, 3, strides=stride, padding="same",
                                name=f"{name}_enc_conv")(x)
    encoder = keras.Model(inputs, x, name=f"{name}_encoder")
    y = code = keras.Input(tuple(encoder.output.shape[1:]), name=f"{name}_code")
    if kind == "separable":
        y = keras.layers.Conv2D(c, 1, name=f"{name}_dec_pointwise")(y)
        y = ZeroInsertion(stride, (h, w), name=f"{name}_dec_upsample")(y)
        y = keras.layers.DepthwiseConv2D(3, padding="same", name=f"{name}_dec_depthwise")(y)
    else:
        y = ZeroInsertion(stride, (h, w), name=f"{name}_dec_upsample")(y)
        y = keras.layers.Conv2D(c, 3, padding="same", name=f"{name}_dec_conv")(y)
    decoder = keras.Model(code, y, name=f"{name}_decoder")
    return encoder, decoder


@keras.saving.register_keras_serializable(package="jpeg_deep")
class Quantise(keras.layers.Layer):
    """The device's last step: features divided by the quantisation ``step`` and rounded (the
    symbols a stream codes)."""

    def __init__(self, step=1.0, **kwargs):
        super().__init__(**kwargs)
        self.step = float(step)

    def call(self, x):
        return ops.round(x / self.step)

    def get_config(self):
        return dict(super().get_config(), step=self.step)


@keras.saving.register_keras_serializable(package="jpeg_deep")
class Dequantise(keras.layers.Layer):
    """The server's first step: decoded symbols times the quantisation ``step``."""

    def __init__(self, step=1.0, **kwargs):
        super().__init__(**kwargs)
        self.step = float(step)

    def call(self, q):
        return ops.cast(q, self.compute_dtype) * self.step

    def get_config(self):
        return dict(super().get_config(), step=self.step)


@keras.saving.register_keras_serializable(package="jpeg_deep")
class AppendRate(keras.layers.Layer):
    """``[outputs..., rate]`` along the last axis: the outputs (same shape but the last axis)
    and each sample's rate ``(batch,)`` repeated over the outputs' other axes, so that a loss
    sees the predictions, a teacher's and the rate in one tensor."""

    def call(self, outputs, rate):
        first = outputs[0]
        rate = ops.cast(rate, first.dtype)
        rate = ops.reshape(rate, (-1,) + (1,) * (len(first.shape) - 1))
        rate = ops.broadcast_to(rate, ops.shape(first)[:-1] + (1,))
        return ops.concatenate(list(outputs) + [rate], axis=-1)

    def compute_output_shape(self, outputs_shape, rate_shape):
        first = outputs_shape[0]
        return (*first[:-1], sum(s[-1] for s in outputs_shape) + 1)
