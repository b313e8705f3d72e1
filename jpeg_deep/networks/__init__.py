"""Every network of the papers, found by name.

>>> from jpeg_deep.networks import build, names
>>> model = build("vgg16_dct", classes=10, input_size=64, width=0.125)
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
