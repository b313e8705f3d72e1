"""tf.distribute: two worker processes on localhost (through TF_CONFIG and through faked Slurm
step variables) train to the same weights as one process with the same global batch."""
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers import REPO, free_ports, run, tiny_rgb_config


def launch_workers(config, out, envs):
    procs = [subprocess.Popen(
        [sys.executable, "training.py", "-c", str(config), "-o", str(out), *extra],
        cwd=REPO, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **env),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for env, extra in envs]
    logs = []
    for p in procs:
        try:
            logs.append(p.communicate(timeout=300)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-4000:]
    return logs


@pytest.fixture(scope="module")
def single_process_run(tmp_path_factory, tiny_demo):
    root = tmp_path_factory.mktemp("single")
    config = tiny_rgb_config(root / "config" / "single", tiny_demo, 8, 0.02)
    result = run("training.py", "-c", config, "-o", root / "exp", "--no-horovod")
    assert result.returncode == 0, result.stderr[-4000:]
    assert "--no-horovod" in result.stderr  # the reference flag is mapped, and says so
    (exp,) = (root / "exp").iterdir()
    return exp


def weights_of(exp):
    return keras.saving.load_model(exp / "checkpoints" / "final.keras").get_weights()


@pytest.mark.parametrize("launcher", ["tf_config", "slurm"])
def test_two_workers_match_one_process(tmp_path, tiny_demo, single_process_run, launcher):
    # per-replica batch 4 x 2 replicas = the single run's batch 8; lr 0.01 x 2 replicas = 0.02
    config = tiny_rgb_config(tmp_path / "config" / "mw", tiny_demo, 4, 0.01)
    out = tmp_path / "exp"
    if launcher == "tf_config":
        ports = free_ports(2)
        cluster = {"worker": [f"localhost:{p}" for p in ports]}
        envs = [({"TF_CONFIG": json.dumps({"cluster": cluster,
                                          "task": {"type": "worker", "index": i}})}, [])
                for i in range(2)]
    else:  # what srun -n 2 sets on one node; the port base comes from the variable
        base = free_ports(1)[0]
        common = dict(SLURM_JOB_ID="31337", SLURM_STEP_NUM_TASKS="2",
                      SLURM_STEP_NODELIST="localhost", SLURM_STEP_TASKS_PER_NODE="2",
                      SLURMD_NODENAME="localhost", JPEG_DEEP_PORT_BASE=str(base))
        envs = [(dict(common, SLURM_PROCID=str(i), SLURM_LOCALID=str(i)), ["--horovod"])
                for i in range(2)]
    logs = launch_workers(config, out, envs)

    (exp,) = out.iterdir()  # both workers agreed on one folder; only the chief wrote in it
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["distribution"] == {"strategy": "multi-worker", "replicas": 2, "workers": 2,
                                       "worker_index": 0}
    assert summary["global_batch_size"] == 8
    assert summary["learning_rate"] == pytest.approx(0.02)
    assert (exp / "logs" / "training.csv").read_text().count("\n") == 3
    assert "worker 1 of 2" in logs[1] and "experiment folder" not in logs[1]
    for log in logs:  # the workers leave together: nobody sees another stop its heartbeats
        assert "heartbeat" not in log.lower() and "have crashed" not in log
    # the non-chief worker wrote nothing into the experiment folder
    assert not list(exp.rglob("*worker*")) and not list(Path("/tmp").glob("jpeg_deep_worker1_*"))

    single = json.loads((single_process_run / "summary.json").read_text())
    np.testing.assert_allclose(summary["history"]["loss"], single["history"]["loss"], rtol=1e-5)
    for a, b in zip(weights_of(exp), weights_of(single_process_run)):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_keras_fixes_are_pinned_to_their_keras_version():
    from jpeg_deep import keras_fixes

    keras_fixes.check_version("3.15.1")
    with pytest.raises(keras_fixes.UnsupportedKerasVersion, match="3.16.0"):
        keras_fixes.check_version("3.16.0")
    assert keras.__version__.startswith(keras_fixes.WRITTEN_FOR + "."), (
        "Keras was upgraded: re-check keras-team/keras#20585 and tensorflow/tensorflow#72388 "
        "and update jpeg_deep/keras_fixes.py")


def test_slurm_ports_and_errors(monkeypatch):
    from jpeg_deep import distribute

    monkeypatch.delenv("JPEG_DEEP_PORT_BASE", raising=False)
    a, b = distribute.slurm_port_base("1000"), distribute.slurm_port_base("1001")
    assert a != b and 15000 <= min(a, b) and max(a, b) < 35000
    monkeypatch.setenv("JPEG_DEEP_PORT_BASE", "20000")
    assert distribute.slurm_port_base("1000") == 20000
    # in the batch script itself (no srun step): a clear message, not a KeyError
    monkeypatch.delenv("SLURM_STEP_NUM_TASKS", raising=False)
    with pytest.raises(distribute.DistributionError, match="srun"):
        distribute.slurm_cluster_resolver()


def test_horovod_flags_map_onto_strategies():
    from jpeg_deep.distribute import strategy_for_horovod_flag

    assert strategy_for_horovod_flag(True)[0] == "auto"
    assert strategy_for_horovod_flag(False)[0] == "local"
    result = run("training.py", "-c", "config/demo/vgg16_dct", "--no-horovod",
                 "--strategy", "multi-worker")
    assert result.returncode == 2 and "cannot be combined" in result.stderr


def test_learning_rate_warmup_and_steps():
    from jpeg_deep.engine.train import LearningRateControl

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.2), loss="mse")
    control = LearningRateControl(0.2, replicas=4, warmup_epochs=2, steps_per_epoch=10,
                                  multipliers={0: 1.0, 3: 0.1})
    control.set_model(model)
    lr = lambda: float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))  # noqa: E731
    control.on_epoch_begin(0)
    control.on_train_batch_begin(0)
    assert lr() == pytest.approx(0.05)          # base / replicas
    control.on_epoch_begin(1)
    control.on_train_batch_begin(0)
    assert lr() == pytest.approx(0.05 + 0.15 * 10 / 20)
    control.on_epoch_begin(2)
    assert lr() == pytest.approx(0.2)
    control.on_epoch_begin(3)
    assert lr() == pytest.approx(0.02)


MIRRORED_ON_TWO_CPUS = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from jpeg_deep import distribute
from jpeg_deep.engine.train import train
distribute._RUNTIME = distribute.Runtime(
    tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), "mirrored")
exp, _ = train(sys.argv[1], output_dir=sys.argv[2], verbose=0)
print(exp.root)
"""


def test_mirrored_replicas_in_one_process_match_one_replica(tmp_path, tiny_demo,
                                                           single_process_run):
    """Two replicas in one process (what a multi-GPU node runs), on two logical CPUs."""
    config = tiny_rgb_config(tmp_path / "config" / "mirrored", tiny_demo, 4, 0.01)
    result = subprocess.run([sys.executable, "-c", MIRRORED_ON_TWO_CPUS, str(config),
                             str(tmp_path / "exp")], cwd=REPO, capture_output=True, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    (exp,) = (tmp_path / "exp").iterdir()
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["distribution"]["replicas"] == 2 and summary["global_batch_size"] == 8
    for a, b in zip(weights_of(exp), weights_of(single_process_run)):
        np.testing.assert_allclose(a, b, atol=1e-5)
