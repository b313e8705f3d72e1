"""One registry of networks: ``register`` where a builder is defined, ``build``/``names`` elsewhere.

Every builder is a plain function returning a Keras 3 model; it is registered with the kind of
input it reads, so the data pipeline can lay batches out for it without any if/elif on names:

``"y_cbcr"``   two inputs: ``y`` (S/8, S/8, 64) and ``cbcr`` (S/16, S/16, 128), Cb then Cr;
``"y"``        one input: ``y`` (S/8, S/8, 64);
``"y_cb_cr"``  three inputs: ``y``, ``cb`` (S/16, S/16, 64), ``cr`` (S/16, S/16, 64);
``"rgb"``      one input: ``rgb`` (S, S, 3), Caffe preprocessing (BGR, ImageNet means).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

INPUT_KINDS = ("y_cbcr", "y", "y_cb_cr", "rgb")


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    builder: Callable
    inputs: str
    description: str
    fully_convolutional: bool = False


_REGISTRY: dict[str, NetworkSpec] = {}


def register(name: str, *, inputs: str, description: str = "", fully_convolutional=False):
    """Decorator: register ``builder`` under ``name``."""
    if inputs not in INPUT_KINDS:
        raise ValueError(f"inputs must be one of {INPUT_KINDS}, not {inputs!r}")

    def decorator(builder):
        if name in _REGISTRY:
            raise ValueError(f"network {name!r} is registered twice")
        doc = description or (builder.__doc__ or "").strip().splitlines()[0:1]
        _REGISTRY[name] = NetworkSpec(
            name, builder, inputs, doc if isinstance(doc, str) else "".join(doc),
            fully_convolutional,
        )
        return builder

    return decorator


class UnknownNetworkError(KeyError):
    def __str__(self):
        return str(self.args[0])


def spec(name: str) -> NetworkSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNetworkError(
            f"unknown network {name!r}; known networks: {', '.join(names())}"
        ) from None


def names() -> list[str]:
    """Every registered network name, sorted."""
    return sorted(_REGISTRY)


def build(name: str, **kwargs):
    """Build the network registered as ``name`` (``classes``, ``input_size``, ``weights``...)."""
    return spec(name).builder(**kwargs)
