"""A user's mistake stops every tool with one line (exit status 2) before anything is made:
config settings checked against the builders', optimizers' and callbacks' signatures, sizes, the
reader backend, ``--set`` values, GPUs the job was given but TensorFlow cannot see, both
TensorFlow builds in one environment."""
import pytest

from helpers import run, write_config
from jpeg_deep import cli, distribute
from jpeg_deep.config import DEFAULTS, Config, load_config


def train_cli(capsys, config, out, *extra):
    """``training.py`` as a user runs it, in this process (the errors come before any fit)."""
    code = cli.train_main(["-c", str(config), "-o", str(out), *map(str, extra)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("change,message", [
    (dict(network_args=dict(width=0.0625, widht=2)),
     "network_args 'widht' not accepted by network 'vgg16_dct'; accepted: classes, input_size, "
     "weights, width"),
    (dict(network_args=dict(width=0.0625, input_size=64)), "must not set input_size"),
    (dict(transforms=dict(resize=48, crop=40, quality=95)),
     "transforms crop 40 differs from input_size 32"),
    (dict(optimizer=dict(name="adam", learning_rat=0.1)),
     "optimizer 'learning_rat' not accepted by Adam; accepted: learning_rate"),
    (dict(optimizer=dict(name="adamm")), "optimizer name 'adamm' unknown; known: adadelta"),
    (dict(reduce_lr_on_plateau=dict(patiense=3)),
     "reduce_lr_on_plateau 'patiense' not accepted by ReduceLROnPlateau; accepted: monitor"),
    (dict(early_stopping=dict(patience=3, restore_best=True)),
     "early_stopping 'restore_best' not accepted by EarlyStopping"),
    (dict(mixed_precision="float16"), "mixed_precision must be one of None, 'mixed_float16'"),
    (dict(keep_checkpoints=-1), "keep_checkpoints must be None (keep all) or an integer >= 0"),
    (dict(jit_compile="yes"), "jit_compile must be True or False"),
    # a size the network cannot take: found by building it, still before any folder (the
    # re-encoding path, which takes any crop)
    (dict(input_size=36, transforms=dict(resize=40, crop=36, quality=95), augmentation="rgb"),
     "network 'vgg16_dct' cannot be built with input_size 36"),
    # with the DCT-domain augmentation (the default of a DCT network), the crop is checked first
    (dict(input_size=36, transforms=dict(resize=40, crop=36, quality=95)),
     "crop (36) must be a multiple of 8 (whole blocks)"),
])
def test_config_mistakes_stop_before_any_folder(tmp_path, tiny_demo, capsys, change, message):
    config = write_config(tmp_path / "cfg", tiny_demo, **change)
    out = tmp_path / "experiments"
    code, err = train_cli(capsys, config, out)
    assert code == 2, err
    line = err.strip().splitlines()[-1]     # one line (after any scan progress bar), no traceback
    assert "Traceback" not in err and err.count("error: ") == 1
    assert line.startswith("error: ") and str(config / "config.py") in line
    assert message in line
    assert not out.exists()


def test_set_refuses_what_is_not_a_python_literal(tmp_path, tiny_demo, capsys):
    config = write_config(tmp_path / "cfg", tiny_demo)
    with pytest.raises(SystemExit) as stop:
        cli.train_main(["-c", str(config), "-o", str(tmp_path / "out"),
                        "--set", "optimizer=dict(name='adam')"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "optimizer=dict(name='adam'): not a Python literal" in err
    assert "{'name': 'adam'}" in err                      # says how to write it
    assert not (tmp_path / "out").exists()
    assert cli.setting("optimizer={'name': 'adam'}") == ("optimizer", {"name": "adam"})
    assert cli.setting("reader_backend='jpeglib'") == ("reader_backend", "jpeglib")


def test_missing_jpeg2dct_is_one_line_at_the_config_check(tmp_path, tiny_demo, monkeypatch,
                                                          capsys):
    """``pip install -e .`` alone has no jpeg2dct (it has no wheel): the config check says so
    and names the alternative, instead of an ImportError from a worker mid-epoch."""
    from jpeg_deep.codec import readers

    real = readers._libraries()
    monkeypatch.setattr(readers, "_libraries", lambda: (None, real[1]))
    config = write_config(tmp_path / "cfg", tiny_demo, reader_backend="jpeg2dct")
    code, err = train_cli(capsys, config, tmp_path / "out")
    assert code == 2
    assert "reader_backend 'jpeg2dct': the jpeg2dct package is not installed" in err
    assert "reader_backend = 'jpeglib'" in err
    assert load_config(config, overrides={"reader_backend": "jpeglib"}).reader_backend == "jpeglib"


def test_our_reader_not_built_is_one_line_at_the_config_check(tmp_path, tiny_demo, monkeypatch,
                                                              capsys):
    """Installed without libjpeg's headers, jpeg_deep/_jpegread.c is not built: a config that
    names the "libjpeg" reader stops at the check, saying what to install."""
    from jpeg_deep.codec import readers

    monkeypatch.setattr(readers, "_jpegread", None)
    config = write_config(tmp_path / "cfg", tiny_demo, reader_backend="libjpeg")
    code, err = train_cli(capsys, config, tmp_path / "out")
    assert code == 2
    assert "reader_backend 'libjpeg': jpeg_deep's own reader" in err
    assert "apt-get install libjpeg-dev" in err and "reader_backend = 'jpeglib'" in err
    assert not (tmp_path / "out").exists()


def test_defaults_have_one_source(tmp_path, tiny_demo):
    config = load_config(write_config(tmp_path / "cfg", tiny_demo))
    settings = {f for f in Config.__dataclass_fields__} - {"path", "network"}
    assert settings == set(DEFAULTS)
    bare = Config(path=tmp_path, network="vgg16")
    for name, value in DEFAULTS.items():
        assert getattr(bare, name) == value, name
    assert bare.network_args is not DEFAULTS["network_args"]  # a copy, never shared
    assert config.early_stopping is None and config.reduce_lr_on_plateau is None


@pytest.mark.parametrize("env,given", [
    ({"CUDA_VISIBLE_DEVICES": "0,1"}, "CUDA_VISIBLE_DEVICES=0,1"),
    ({"SLURM_JOB_GPUS": "3"}, "SLURM_JOB_GPUS=3"),
    ({"SLURM_GPUS_ON_NODE": "4"}, "SLURM_GPUS_ON_NODE=4"),
])
def test_gpus_given_but_not_seen_stop_training(monkeypatch, env, given):
    for var in ("CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS",
                "SLURM_GPUS_ON_NODE", "SLURM_GPUS_PER_TASK", "SLURM_GPUS_PER_NODE", "SLURM_GPUS"):
        monkeypatch.delenv(var, raising=False)
    assert distribute.gpus_given() is None
    assert distribute.check_gpus() == 0          # a CPU machine that was promised nothing
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert distribute.gpus_given() == given
    with pytest.raises(distribute.DistributionError) as err:
        distribute.check_gpus()
    message = str(err.value)
    assert message.startswith(f"{given} gives this job GPUs, but this TensorFlow")
    assert "CPU-only build" in message and "make install GPU=1" in message
    assert "--allow-cpu" in message and "\n" not in message
    assert distribute.check_gpus(allow_cpu=True) == 0


@pytest.mark.parametrize("value", ["", "-1", "NoDevFiles"])
def test_cuda_visible_devices_hiding_every_gpu_is_not_a_promise(monkeypatch, value):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    assert distribute.gpus_given() is None


def test_training_cli_without_the_gpus_it_was_given(tmp_path, tiny_demo):
    """As on a GPU node with the CPU build: one line, exit 2, no folder; --allow-cpu goes on
    (here up to the wrong setting that follows, so that nothing trains)."""
    config = write_config(tmp_path / "cfg", tiny_demo)
    out = tmp_path / "experiments"
    result = run("training.py", "-c", config, "-o", out, env={"CUDA_VISIBLE_DEVICES": "0"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(
        "error: CUDA_VISIBLE_DEVICES=0 gives this job GPUs")
    assert "Traceback" not in result.stderr and not out.exists()
    allowed = run("training.py", "-c", config, "-o", out, "--allow-cpu", "--set",
                  "train_dir='/nonexistent'", env={"CUDA_VISIBLE_DEVICES": "0"})
    assert allowed.returncode == 2 and "train_dir /nonexistent does not exist" in allowed.stderr


def test_both_tensorflow_builds_in_one_environment_are_refused(monkeypatch, capsys):
    from importlib import metadata

    versions = {"tensorflow": "2.21.0", "tensorflow-cpu": "2.21.0"}
    monkeypatch.setattr(metadata, "version", lambda name: versions[name])
    problem = cli.tensorflow_problem()
    assert problem.startswith("both tensorflow 2.21.0 and tensorflow-cpu 2.21.0 are installed")
    assert cli.run(lambda argv: None) == 2
    assert "make install" in capsys.readouterr().err
    versions.pop("tensorflow")

    def version(name):
        if name not in versions:
            raise metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(metadata, "version", version)
    assert cli.tensorflow_problem() is None


def test_split_too_small_for_a_batch_stops_before_any_folder(tmp_path, tiny_demo, capsys):
    config = write_config(tmp_path / "cfg", tiny_demo, batch_size=100)   # 60 training files
    out = tmp_path / "experiments"
    code, err = train_cli(capsys, config, out)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].endswith("60 files give no batch of 100")
    assert not out.exists()


def test_augmentation_none_follows_the_networks_input(tmp_path, tiny_demo):
    """``augmentation = None`` (the default): a DCT network's samples are augmented on the
    coefficients, an RGB network's on pixels; ``"rgb"`` gives a DCT network the re-encoding
    path; an RGB network asked for "dct" is a config mistake."""
    from jpeg_deep.config import ConfigError
    from jpeg_deep.data.loader import ClassificationDCTTransform, ClassificationTransform
    from jpeg_deep.data.transforms.classification_dct import DCTTransformConfig
    from jpeg_deep.tasks import task_for

    def task(**change):
        return task_for(load_config(write_config(tmp_path / str(len(change)) / "cfg",
                                                 tiny_demo, **change)))

    dct = task()
    assert dct.config.augmentation is None
    assert dct.augmentation() == "dct" and dct._factory() is ClassificationDCTTransform
    assert isinstance(dct.transform_config(), DCTTransformConfig)
    rgb = task(augmentation="rgb")
    assert rgb.augmentation() == "rgb" and rgb._factory() is ClassificationTransform
    pixels = task(network="vgg16", inference_network=None, network_args=dict(width=0.0625),
                  augmentation=None)
    assert pixels.augmentation() == "rgb"
    with pytest.raises(ConfigError, match="augmentation 'dct' works on DCT coefficients"):
        task(network="vgg16", inference_network=None, augmentation="dct",
             network_args=dict(width=0.0625)).check(check_paths=False)
