"""Shared by the end-to-end tests: run a top-level script as a user does, write a tiny config."""
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(*args, cwd=REPO, env=None, timeout=600):
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def write_config(folder: Path, demo: Path, **extra):
    """A config folder training a 1/16-width VGG-DCT on 32-pixel crops of the tiny demo set."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = dict(
        network="vgg16_dct", inference_network="vgg16_dct_conv",
        network_args=dict(width=0.0625), input_size=32,
        train_dir=str(demo / "imagenet" / "train"), val_dir=str(demo / "imagenet" / "validation"),
        test_dir=str(demo / "imagenet" / "test"),
        transforms=dict(resize=40, crop=32, quality=95),
        batch_size=8, epochs=2, optimizer=dict(name="adam", learning_rate=0.001), workers=2,
    )
    settings.update(extra)
    folder.joinpath("config.py").write_text(
        "\n".join(f"{k} = {v!r}" for k, v in settings.items()) + "\n")
    return folder


def write_detection_config(folder, scenes, **extra):
    """A config folder training a 1/16-width SSD300-DCT on 96-pixel demo scenes (VOC layout)."""
    from jpeg_deep.demo import CLASSES

    folder.mkdir(parents=True, exist_ok=True)
    settings = dict(
        task="detection", network="ssd300_vgg16_dct", network_args=dict(width=0.0625),
        input_size=96,
        data=dict(format="voc", root=str(scenes / "VOCdevkit"), protocol="07", held_out=True,
                  class_names=list(CLASSES)),
        transforms=dict(quality=75), detection=dict(map_every=1, map_images=4),
        batch_size=8, epochs=2, optimizer=dict(name="adam", learning_rate=0.001), workers=2,
    )
    settings.update(extra)
    folder.joinpath("config.py").write_text(
        "\n".join(f"{k} = {v!r}" for k, v in settings.items()) + "\n")
    return folder


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def tiny_rgb_config(folder, demo, batch_size, learning_rate):
    # plain VGG16 without dropout: no per-replica randomness and no batch statistics, so the
    # only difference between 1 and 2 replicas is how the gradient sum is computed
    return write_config(folder, demo, network="vgg16", inference_network="vgg16_conv",
                        network_args=dict(width=0.0625, dropout=0.0), batch_size=batch_size,
                        optimizer=dict(name="sgd", learning_rate=learning_rate, momentum=0.9),
                        reduce_lr_on_plateau=None, workers=0)
