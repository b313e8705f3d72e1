"""Every network of the papers, found by name.

>>> from jpeg_deep.networks import build, names
>>> model = build("vgg16_dct", classes=10, input_size=64, width=0.125)
>>> names(task="detection")[:2]
['ssd300_deconvolution_rfa', 'ssd300_late_concat_rfa']
>>> from jpeg_deep.networks.ssd import anchors_for
>>> len(anchors_for(build("ssd300_vgg16_dct", classes=21, input_size=300, width=0.125)))
8732

Backbones and tasks are apart: ``registry.backbone(name, ...)`` gives a backbone's inputs and
named maps (``stride8``, ``stride16``, ..., ``last``); the classifiers and the SSDs add their
heads on them.
"""
from jpeg_deep.networks.registry import (  # noqa: F401
    INPUT_KINDS,
    NetworkSpec,
    UnknownNetworkError,
    build,
    names,
    register,
    spec,
)

# Importing a family module registers its networks.
from jpeg_deep.networks import vgg  # noqa: F401,E402
from jpeg_deep.networks import resnet  # noqa: F401,E402
from jpeg_deep.networks import resnet_uber  # noqa: F401,E402
from jpeg_deep.networks import resnet_insa  # noqa: F401,E402
from jpeg_deep.networks import ssd  # noqa: F401,E402
