"""The sbatch scripts of slurm/, run as Slurm would run them: as a bash script on the first node,
with srun replaced by tests/bin/srun (2 local tasks with the step variables srun sets)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO, free_ports, tiny_rgb_config, write_config

VENV = Path(sys.prefix)


def sbatch(script, *args, env):
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", JPEG_DEEP_VENV=str(VENV),
                    PATH=f"{REPO / 'tests' / 'bin'}{os.pathsep}{os.environ['PATH']}",
                    SLURM_JOB_ID="4242", SLURM_SUBMIT_DIR=str(REPO), **env)
    return subprocess.run(["bash", str(REPO / "slurm" / script), *map(str, args)], cwd=REPO,
                          env=full_env, capture_output=True, text=True, timeout=600)


@pytest.fixture(autouse=True)
def _needs_a_venv():
    if not (VENV / "bin" / "activate").exists():
        pytest.skip("the sbatch scripts activate a virtual environment; tests run outside one")


def test_scripts_are_valid_bash():
    for script in ("single_node.sbatch", "multi_node.sbatch"):
        subprocess.run(["bash", "-n", str(REPO / "slurm" / script)], check=True)


def test_multi_node_script_runs_one_worker_per_task(tmp_path, tiny_demo):
    config = tiny_rgb_config(tmp_path / "config" / "mw", tiny_demo, 4, 0.01)
    out = tmp_path / "experiments"
    result = sbatch("multi_node.sbatch", config, "--epochs", "1",
                    env=dict(EXPERIMENTS_OUTPUT_DIRECTORY=str(out),
                             JPEG_DEEP_PORT_BASE=str(free_ports(1)[0])))
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    (exp,) = out.iterdir()
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["distribution"]["strategy"] == "multi-worker"
    assert summary["distribution"]["workers"] == 2
    assert summary["settings"]["workers"] == 1  # SLURM_CPUS_PER_TASK unset: one loader

    again = sbatch("multi_node.sbatch", "--restart", exp, "--epochs", "2",
                   env=dict(JPEG_DEEP_PORT_BASE=str(free_ports(1)[0])))
    assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
    assert json.loads((exp / "summary.json").read_text())["epochs_completed"] == 2


def test_single_node_script_runs_mirrored(tmp_path, tiny_demo):
    config = write_config(tmp_path / "config" / "one", tiny_demo, epochs=1, workers=0)
    out = tmp_path / "experiments"
    result = sbatch("single_node.sbatch", config, env=dict(EXPERIMENTS_OUTPUT_DIRECTORY=str(out),
                                                           SLURM_CPUS_PER_TASK="3"))
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    (exp,) = out.iterdir()
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["distribution"]["strategy"] == "mirrored"
    assert summary["settings"]["workers"] == 2
