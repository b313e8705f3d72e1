"""Config files that inherit from base files: bases in order, a setting replacing the inherited
value, merge(...) changing keys of an inherited dict, loops and bad bases refused with the file
named; loading never writes; an experiment folder keeps the resolved config and needs no base."""
import json
import os

import pytest

from helpers import REPO, run, write_config
from jpeg_deep.config import (ConfigError, has_bases, load_config, read_config, resolved_source)


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_bases_apply_in_order_and_merge_changes_keys(tmp_path):
    _write(tmp_path / "base_a.py", "network = 'vgg16_dct'\nepochs = 3\n"
           "optimizer = dict(name='adam', learning_rate=0.1, beta_1=0.8)\n"
           "network_args = dict(width=0.5)\n")
    _write(tmp_path / "base_b.py", "base = 'base_a.py'\nepochs = 4\nbatch_size = 7\n")
    config = _write(tmp_path / "exp" / "config.py", "from jpeg_deep.config import merge\n"
                    "base = ['../base_b.py']\n"
                    "optimizer = merge(learning_rate=0.01)\n"
                    "network_args = dict(width=0.25)\n"
                    "data = merge(on_error='skip')\n")
    c = read_config(config)
    assert (c.network, c.epochs, c.batch_size) == ("vgg16_dct", 4, 7)
    assert c.optimizer == dict(name="adam", learning_rate=0.01, beta_1=0.8)  # merged
    assert c.network_args == dict(width=0.25)                                 # replaced
    assert c.data == dict(on_error="skip")  # merge into the default (None): a new dict
    assert has_bases(config) and not has_bases(tmp_path / "base_a.py")
    # the resolved file states every setting the chain set, and reads back the same
    resolved = _write(tmp_path / "resolved" / "config.py", resolved_source(config))
    again = read_config(resolved)
    assert not has_bases(resolved) and resolved_source(resolved) is None
    for name in ("network", "epochs", "batch_size", "optimizer", "network_args", "data"):
        assert getattr(again, name) == getattr(c, name), name


def test_bad_bases_are_refused_with_the_file_named(tmp_path):
    loop = _write(tmp_path / "loop" / "config.py", "base = '../other.py'\nnetwork = 'vgg16'\n")
    _write(tmp_path / "other.py", "base = 'loop/config.py'\n")
    with pytest.raises(ConfigError, match="loop"):
        read_config(loop)
    missing = _write(tmp_path / "m" / "config.py", "base = '../nowhere.py'\nnetwork = 'vgg16'\n")
    with pytest.raises(ConfigError, match="nowhere.py does not exist"):
        read_config(missing)
    wrong = _write(tmp_path / "w" / "config.py", "base = 3\nnetwork = 'vgg16'\n")
    with pytest.raises(ConfigError, match="base must be a file path"):
        read_config(wrong)
    _write(tmp_path / "b.py", "epochs = 2\n")
    not_dict = _write(tmp_path / "n" / "config.py", "from jpeg_deep.config import merge\n"
                      "base = '../b.py'\nnetwork = 'vgg16'\nepochs = merge(x=1)\n")
    with pytest.raises(ConfigError, match="epochs = merge"):
        read_config(not_dict)
    typo = _write(tmp_path / "t" / "config.py", "base = '../b.py'\nnetwork = 'vgg16'\nepoch = 3\n")
    with pytest.raises(ConfigError, match="unknown setting.*epoch"):
        read_config(typo)


def test_loading_a_demo_config_writes_nothing(tmp_path):
    """Loading never writes: without the demo data the check names the step that makes it."""
    before = set(os.listdir(tmp_path))
    result = run("-c", "from jpeg_deep.config import load_config; "
                 f"load_config({str(REPO / 'config' / 'demo' / 'vgg16_dct')!r})", cwd=tmp_path,
                 env={"DATASET_PATH_TRAIN": "", "DATASET_PATH_VAL": "", "DATASET_PATH_TEST": ""})
    assert result.returncode != 0
    assert "jpeg-deep demo" in result.stderr and "does not exist" in result.stderr
    assert set(os.listdir(tmp_path)) == before  # no demo_data folder, nothing at all


def test_experiment_folder_keeps_the_resolved_config(tmp_path, tiny_demo):
    """Train from a config with a base, delete the base: inference still rebuilds the model."""
    base = write_config(tmp_path / "shared", tiny_demo, epochs=1, steps_per_epoch=2,
                        validation_steps=1) / "config.py"
    base = base.rename(tmp_path / "base_tiny.py")
    config = _write(tmp_path / "config" / "child" / "config.py",
                    "base = '../../base_tiny.py'\ndescription = 'a child config'\n")
    out = tmp_path / "experiments"
    result = run("training.py", "-c", config.parent, "-o", out)
    assert result.returncode == 0, result.stderr[-3000:]
    (exp,) = out.iterdir()
    saved = (exp / "config" / "config.py").read_text()
    assert "base" not in saved.split("written by jpeg_deep")[1] and "a child config" in saved
    base.unlink()
    loaded = load_config(exp / "config" / "config.py")
    assert loaded.epochs == 1 and loaded.description == "a child config"
    inferred = run("inference.py", exp, "--limit", "3")
    assert inferred.returncode == 0, inferred.stderr[-3000:]
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["settings"]["epochs"] == 1
    # the augmentation path the run took, the default None resolved by the network
    assert summary["settings"]["augmentation"] is None and summary["augmentation"] == "dct"
