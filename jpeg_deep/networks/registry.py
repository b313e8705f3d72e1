"""One registry of networks: ``register`` where a builder is defined, ``build``/``names`` elsewhere.

Every builder is a plain function returning a Keras 3 model; it is registered with the kind of
input it reads, so the data pipeline can lay batches out for it without any if/elif on names:

``"y_cbcr"``   two inputs: ``y`` (S/8, S/8, 64) and ``cbcr`` (S/16, S/16, 128), Cb then Cr;
``"y"``        one input: ``y`` (S/8, S/8, 64);
``"y_cb_cr"``  three inputs: ``y``, ``cb`` (S/16, S/16, 64), ``cr`` (S/16, S/16, 64);
``"rgb"``      one input: ``rgb`` (S, S, 3), Caffe preprocessing (BGR, ImageNet means).

Backbones and tasks are apart (the KerasHub split). A *backbone* is registered once per network
family member with :func:`register_backbone`: a function ``impl(inputs, width, maps)`` that lays
the layers from the inputs to the last feature map and marks every map it makes with its stride
in ``maps`` (a :class:`~jpeg_deep.networks.blocks.FeatureMaps`). :func:`backbone` runs it and
returns the inputs and the named maps: ``"stride8"``, ``"stride16"``, ... (the deepest map at
that stride) and ``"last"``. A *task* builder (the classifier head, the SSD head) asks for a
backbone by name and adds its layers on those maps; ``NetworkSpec.backbone`` names the backbone
a registered network is built on and ``NetworkSpec.task`` says what it predicts
(``"classification"`` or ``"detection"``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from jpeg_deep.errors import UnknownNetworkError

INPUT_KINDS = ("y_cbcr", "y", "y_cb_cr", "rgb")
TASKS = ("classification", "detection")


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    builder: Callable
    inputs: str
    description: str
    fully_convolutional: bool = False
    task: str = "classification"
    backbone: str | None = None


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    builder: Callable     # impl(inputs, width, maps) -> last map
    inputs: str
    description: str


_REGISTRY: dict[str, NetworkSpec] = {}
_BACKBONES: dict[str, BackboneSpec] = {}


def _first_line(builder, description):
    doc = description or "".join((builder.__doc__ or "").strip().splitlines()[0:1])
    return doc


def register(name: str, *, inputs: str, description: str = "", fully_convolutional=False,
             task: str = "classification", backbone: str | None = None):
    """Decorator: register ``builder`` under ``name``."""
    if inputs not in INPUT_KINDS:
        raise ValueError(f"inputs must be one of {INPUT_KINDS}, not {inputs!r}")
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, not {task!r}")

    def decorator(builder):
        if name in _REGISTRY:
            raise ValueError(f"network {name!r} is registered twice")
        _REGISTRY[name] = NetworkSpec(name, builder, inputs, _first_line(builder, description),
                                      fully_convolutional, task, backbone)
        return builder

    return decorator


def register_backbone(name: str, *, inputs: str, description: str = ""):
    """Decorator: register a backbone ``impl(inputs, width, maps) -> last map`` under ``name``."""
    if inputs not in INPUT_KINDS:
        raise ValueError(f"inputs must be one of {INPUT_KINDS}, not {inputs!r}")

    def decorator(impl):
        if name in _BACKBONES:
            raise ValueError(f"backbone {name!r} is registered twice")
        _BACKBONES[name] = BackboneSpec(name, impl, inputs, _first_line(impl, description))
        return impl

    return decorator


def spec(name: str) -> NetworkSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNetworkError(
            f"unknown network {name!r}; known networks: {', '.join(names(task=None))}"
        ) from None


def names(task: str | None = "classification") -> list[str]:
    """Registered network names of ``task`` (``None``: every task), sorted."""
    return sorted(n for n, s in _REGISTRY.items() if task is None or s.task == task)


def build(name: str, **kwargs):
    """Build the network registered as ``name`` (``classes``, ``input_size``, ``weights``...)."""
    return spec(name).builder(**kwargs)


def backbone_spec(name: str) -> BackboneSpec:
    try:
        return _BACKBONES[name]
    except KeyError:
        raise UnknownNetworkError(
            f"unknown backbone {name!r}; known backbones: {', '.join(backbone_names())}"
        ) from None


def backbone_names() -> list[str]:
    return sorted(_BACKBONES)


def backbone(name: str, input_size=224, *, width=1.0, output_stride=32, exact_size=True):
    """``(inputs, maps)`` of backbone ``name``: Keras inputs in model order and a
    :class:`~jpeg_deep.networks.blocks.FeatureMaps` (``maps["stride8"]``, ``maps["stride16"]``,
    ..., ``maps["last"]``; ``maps.strides()`` lists them).

    ``output_stride`` 16 keeps every map at stride 16 or less: a layer that would reduce further
    keeps its resolution (stride 1), as SSD300 does with ResNet stage 5, and VGG's block5 pool
    becomes 3x3/1 followed by fc6/fc7 as convolutions (the atrous VGG16 of SSD).
    ``exact_size``: pixel sizes must be multiples of 16 (classifiers); otherwise DCT grids are
    ``2 * ceil(S / 16)`` (Y) and ``ceil(S / 16)`` (chroma), as the data layout pads them
    (300 px -> 38 and 19), and VGG pools round up, so any size works.
    """
    from jpeg_deep.networks.blocks import FeatureMaps, INPUT_STRIDES, make_inputs

    bb = backbone_spec(name)
    inputs = make_inputs(bb.inputs, input_size, exact=exact_size)
    maps = FeatureMaps(output_stride=output_stride, ceil=not exact_size)
    for tensor, stride in zip(inputs, INPUT_STRIDES[bb.inputs]):
        maps.mark(tensor, stride)
    maps["last"] = bb.builder(inputs, width, maps)
    return inputs, maps


def build_backbone(name: str, input_size=224, **kwargs):
    """Backbone ``name`` as a ``keras.Model`` whose output is the dict of its named maps."""
    import keras

    inputs, maps = backbone(name, input_size, **kwargs)
    return keras.Model(inputs, dict(maps), name=f"{name}_backbone")
