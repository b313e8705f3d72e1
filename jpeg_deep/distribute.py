"""Several GPUs and several machines, through TensorFlow's own ``tf.distribute``.

=================  ==========================================================================
``--strategy``     what runs
=================  ==========================================================================
``auto``           ``multi-worker`` when the process is one of several workers (``TF_CONFIG``
                   names a cluster, or ``srun`` started several tasks), else ``local``
``local``          one process: ``mirrored`` when it sees several GPUs, else ``single``
``single``         TensorFlow's default strategy (one device; what a CPU machine runs)
``mirrored``       ``MirroredStrategy`` over every GPU this process sees
``multi-worker``   ``MultiWorkerMirroredStrategy``; the cluster comes from ``TF_CONFIG`` or,
                   inside ``srun``, from Slurm through ``SlurmClusterResolver``
=================  ==========================================================================

The reference trained with Horovod, which does not build on current TensorFlow (its last
release, 0.28.1, fails to compile against TF 2.21, and its Keras layer does not support Keras 3);
:func:`strategy_for_horovod_flag` maps its ``--horovod`` /
``--no-horovod`` flags onto these strategies.

Under Slurm each task is pinned to its share of the node's GPUs (by ``SLURM_LOCALID``) when it
sees more than its share, and the workers listen on ``port_base + local task index`` where
``port_base`` comes from ``$JPEG_DEEP_PORT_BASE`` or is derived from ``SLURM_JOB_ID`` so that two
jobs sharing a node do not collide.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

from jpeg_deep.errors import DistributionError

logger = logging.getLogger(__name__)

STRATEGIES = ("auto", "local", "single", "mirrored", "multi-worker")


def strategy_for_horovod_flag(horovod: bool) -> tuple[str, str]:
    """``(strategy, message)`` for the reference's ``--horovod`` / ``--no-horovod`` flags."""
    if horovod:
        return "auto", ("--horovod: Horovod does not build on current TensorFlow; using "
                        "tf.distribute instead (--strategy auto: MultiWorkerMirroredStrategy "
                        "when started as several tasks by srun or with TF_CONFIG, else "
                        "MirroredStrategy over this machine's GPUs).")
    return "local", ("--no-horovod: one process (--strategy local: MirroredStrategy over this "
                     "machine's GPUs when there are several, else one device).")


# --------------------------------------------------------------------------- cluster discovery
def _tf_config_tasks() -> int:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 0
    try:
        cluster = json.loads(raw).get("cluster", {})
    except json.JSONDecodeError as err:
        raise DistributionError(f"TF_CONFIG is not valid JSON: {err}") from None
    return sum(len(v) for k, v in cluster.items() if k in ("chief", "worker"))


def _slurm_step_tasks() -> int:
    try:
        return int(os.environ.get("SLURM_STEP_NUM_TASKS", "0"))
    except ValueError:
        return 0


def in_cluster() -> bool:
    """True when this process is one of several workers (TF_CONFIG or an srun step)."""
    return _tf_config_tasks() > 1 or _slurm_step_tasks() > 1


def slurm_port_base(job_id: str | None = None) -> int:
    """First port of this job's workers: ``$JPEG_DEEP_PORT_BASE``, else derived from the job
    id (15000-34999), so two jobs sharing a node use different ports."""
    if os.environ.get("JPEG_DEEP_PORT_BASE"):
        return int(os.environ["JPEG_DEEP_PORT_BASE"])
    job_id = job_id or os.environ.get("SLURM_JOB_ID", "0")
    digits = "".join(c for c in str(job_id) if c.isdigit()) or "0"
    return 15000 + (int(digits) * 16) % 20000


def _pin_slurm_gpus(gpus):
    """Keep this task's share of the node's GPUs when it sees all of them (``--gres gpu:N``
    with N tasks per node); leave them alone when Slurm already bound them per task."""
    import tensorflow as tf

    local_id = int(os.environ.get("SLURM_LOCALID", "0"))
    tasks_here = _tasks_on_this_node()
    if len(gpus) <= 1 or tasks_here <= 1:
        return gpus
    if len(gpus) % tasks_here:
        raise DistributionError(f"{len(gpus)} GPUs visible to each of {tasks_here} tasks on "
                                "this node: cannot share them evenly; use --gpus-per-task or "
                                "as many tasks per node as GPUs")
    share = len(gpus) // tasks_here
    mine = gpus[local_id * share:(local_id + 1) * share]
    tf.config.set_visible_devices(mine, "GPU")
    return mine


def _tasks_on_this_node() -> int:
    from tensorflow.python.distribute.cluster_resolver.slurm_cluster_resolver import (
        expand_hostlist, expand_tasks_per_node)

    hosts = expand_hostlist(os.environ["SLURM_STEP_NODELIST"])
    counts = expand_tasks_per_node(os.environ["SLURM_STEP_TASKS_PER_NODE"])
    node = os.environ.get("SLURMD_NODENAME") or os.environ.get("SLURM_TOPOLOGY_ADDR")
    per_node = dict(zip(hosts, counts))
    return per_node.get(node, max(counts))


def slurm_cluster_resolver():
    """A cluster resolver for the current ``srun`` step. ``SlurmClusterResolver`` reads the
    step's task layout; we pass explicit GPU counts and ``auto_set_gpu=False`` because its own
    GPU discovery fails on CPU nodes (nvidia-smi missing), with ``--gpus-per-task`` (range step
    0) and makes every task claim GPUs it may not see."""
    import tensorflow as tf

    for var in ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_NODELIST",
                "SLURM_STEP_TASKS_PER_NODE"):
        if var not in os.environ:
            raise DistributionError(f"{var} is not set: multi-worker training under Slurm must "
                                    "be started with srun (one task per worker), not from the "
                                    "batch script itself")
    from tensorflow.python.distribute.cluster_resolver.slurm_cluster_resolver import (
        expand_tasks_per_node)

    most = max(expand_tasks_per_node(os.environ["SLURM_STEP_TASKS_PER_NODE"]))
    gpus = _pin_slurm_gpus(tf.config.list_physical_devices("GPU"))
    slurm = tf.distribute.cluster_resolver.SlurmClusterResolver(
        port_base=slurm_port_base(), gpus_per_node=most, gpus_per_task=1,
        tasks_per_node=None, auto_set_gpu=False)
    spec = slurm.cluster_spec()
    task_type, task_id = slurm.get_task_info()
    return tf.distribute.cluster_resolver.SimpleClusterResolver(
        spec, task_type=task_type, task_id=task_id, rpc_layer="grpc",
        num_accelerators={"GPU": len(gpus)} if gpus else None)


# --------------------------------------------------------------------------- GPUs
_NO_DEVICES = ("", "-1", "none", "nodevfiles")


def gpus_given() -> str | None:
    """How the environment says this process has GPUs (``"CUDA_VISIBLE_DEVICES=0,1"``), or None:
    ``CUDA_VISIBLE_DEVICES`` naming devices, or Slurm's GPU variables of the job / step."""
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    if value is not None:
        return None if value.strip().lower() in _NO_DEVICES else f"CUDA_VISIBLE_DEVICES={value}"
    for var in ("SLURM_STEP_GPUS", "SLURM_JOB_GPUS", "SLURM_GPUS_ON_NODE", "SLURM_GPUS_PER_TASK",
                "SLURM_GPUS_PER_NODE", "SLURM_GPUS"):
        value = os.environ.get(var, "").strip()
        if value and value.lower() not in _NO_DEVICES and value != "0":
            return f"{var}={value}"
    return None


def check_gpus(allow_cpu: bool = False) -> int:
    """Number of GPUs TensorFlow sees; raises :class:`DistributionError` (one line saying what
    was found and how to fix it) when the job was given GPUs but TensorFlow sees none, unless
    ``allow_cpu``."""
    import tensorflow as tf

    found = len(tf.config.list_physical_devices("GPU"))
    given = gpus_given()
    if found or not given:
        return found
    if allow_cpu:
        logger.warning("%s but TensorFlow sees no GPU: training on the CPU (--allow-cpu)", given)
        return 0
    if not tf.test.is_built_with_cuda():
        why = (f"this TensorFlow {tf.__version__} is the CPU-only build; install the GPU build "
               "with `make install GPU=1` (pip install -e '.[gpu]')")
    else:
        cuda = tf.sysconfig.get_build_info().get("cuda_version", "?")
        why = (f"TensorFlow {tf.__version__} (built for CUDA {cuda}) found no usable GPU; check "
               "`nvidia-smi` and that the NVIDIA driver supports that CUDA version (TensorFlow's "
               "log above names the library it could not load)")
    raise DistributionError(f"{given} gives this job GPUs, but {why}; or pass --allow-cpu "
                            "(allow_cpu = True) to train on the CPU on purpose")


# --------------------------------------------------------------------------- the runtime
@dataclass
class Runtime:
    """The strategy in use and this process's place in it."""

    strategy: object
    kind: str                 # "single", "mirrored" or "multi-worker"
    worker_index: int = 0
    num_workers: int = 1

    @property
    def replicas(self) -> int:
        """Replicas in sync over all workers (the global batch is ``replicas`` x batch)."""
        return int(self.strategy.num_replicas_in_sync)

    @property
    def is_chief(self) -> bool:
        return self.worker_index == 0

    def describe(self) -> str:
        if self.kind == "single":
            return "one device (default strategy)"
        if self.kind == "mirrored":
            return f"MirroredStrategy, {self.replicas} replicas in this process"
        return (f"MultiWorkerMirroredStrategy, worker {self.worker_index} of "
                f"{self.num_workers}, {self.replicas} replicas in all")

    def as_dict(self) -> dict:
        return {"strategy": self.kind, "replicas": self.replicas, "workers": self.num_workers,
                "worker_index": self.worker_index}

    def barrier(self):
        """Return on every worker only once all have reached it (no-op with one worker): the
        workers then leave together, so that none sees another stop sending heartbeats."""
        if self.num_workers > 1:
            self.broadcast_text("." if self.is_chief else None, length=8)

    def broadcast_text(self, text: str | None, length: int = 512) -> str:
        """The chief's ``text`` on every worker (others pass anything): how workers agree on
        the experiment folder the chief created."""
        if self.num_workers == 1:
            return text
        import numpy as np
        import tensorflow as tf

        codes = np.zeros(length, np.int32)
        if self.is_chief:
            raw = text.encode()
            if len(raw) > length:
                raise ValueError(f"text too long to broadcast ({len(raw)} > {length} bytes)")
            codes[:len(raw)] = np.frombuffer(raw, np.uint8)
        value = tf.constant(codes)

        def share():
            ctx = tf.distribute.get_replica_context()
            first = tf.cast(ctx.replica_id_in_sync_group == 0, tf.int32)
            return ctx.all_reduce("SUM", value * first)

        result = tf.function(lambda: self.strategy.run(share))()
        result = self.strategy.experimental_local_results(result)[0].numpy()
        return bytes(result[result > 0].astype(np.uint8)).decode()


_RUNTIME: Runtime | None = None


def setup(strategy: str = "auto", *, allow_cpu: bool = False) -> Runtime:
    """Create the strategy (once per process, before any other TensorFlow work), after
    :func:`check_gpus` (``allow_cpu``)."""
    global _RUNTIME
    check_gpus(allow_cpu)
    if _RUNTIME is not None:
        if strategy not in ("auto", _RUNTIME.kind):
            raise DistributionError(f"strategy {_RUNTIME.kind!r} already set up in this "
                                    f"process; cannot switch to {strategy!r}")
        return _RUNTIME
    if strategy not in STRATEGIES:
        raise DistributionError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    import tensorflow as tf

    if strategy == "auto":
        strategy = "multi-worker" if in_cluster() else "local"
    if strategy == "local":
        strategy = "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "single"

    if strategy == "single":
        runtime = Runtime(tf.distribute.get_strategy(), "single")
    elif strategy == "mirrored":
        runtime = Runtime(tf.distribute.MirroredStrategy(), "mirrored")
    else:
        from jpeg_deep import keras_fixes

        keras_fixes.apply()
        if _tf_config_tasks() > 1:
            resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        elif _slurm_step_tasks() > 1:
            resolver = slurm_cluster_resolver()
        else:
            raise DistributionError("--strategy multi-worker needs a cluster: set TF_CONFIG, "
                                    "or start one task per worker with srun")
        spec = resolver.cluster_spec().as_dict()
        order = [(t, i) for t in ("chief", "worker") for i in range(len(spec.get(t, [])))]
        index = order.index((resolver.task_type, int(resolver.task_id)))
        mwms = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
        runtime = Runtime(mwms, "multi-worker", worker_index=index, num_workers=len(order))
    logger.info("distribution: %s", runtime.describe())
    _RUNTIME = runtime
    return runtime
