"""Classification: ImageNet-style folders, the reference transforms, one-hot targets,
categorical cross-entropy, top-1 / top-5.

Prediction files (``predictions/<split>_<weights>``):

``.csv``   path, true class, predicted class, top-5 with probabilities
``.npz``   ``paths``, ``labels``, ``probabilities`` (N x classes), ``class_ids``, ``skipped``

Evaluation: ``evaluation/<split>_<weights>.json`` with ``images``, ``skipped``, ``top1``,
``top5``.
"""
from __future__ import annotations

import csv
import functools
import logging

import numpy as np

from jpeg_deep.errors import ConfigError
from jpeg_deep.tasks.base import (DATA_CHECKS, Evaluator, Inference, Predictions, Task,
                                  check_data_checks, weights_tag)

logger = logging.getLogger(__name__)


def top_k_accuracy(probabilities: np.ndarray, labels: np.ndarray, k: int) -> float:
    if len(labels) == 0:
        return float("nan")
    k = min(k, probabilities.shape[1])
    top = np.argsort(-probabilities, axis=1)[:, :k]
    return float(np.mean(np.any(top == np.asarray(labels)[:, None], axis=1)))


class TopKAccuracy(Evaluator):
    """``top<k>``: the share of images whose label is among the ``k`` most probable classes."""

    def __init__(self, ks=(1, 5)):
        self.ks = tuple(ks)
        self.probabilities, self.labels = [], []

    def process(self, predictions):
        self.probabilities.append(predictions.records["probabilities"])
        self.labels.append(predictions.records["labels"])

    def evaluate(self):
        probabilities = np.concatenate(self.probabilities)
        labels = np.concatenate(self.labels)
        return {f"top{k}": top_k_accuracy(probabilities, labels, k) for k in self.ks}


class ClassificationTask(Task):
    name = "classification"

    # -- config ---------------------------------------------------------------------------------
    def check(self, check_paths=True):
        config = self.config
        for attr, variable in (("train_dir", "DATASET_PATH_TRAIN"),
                               ("val_dir", "DATASET_PATH_VAL")):
            if not getattr(config, attr):
                raise ConfigError(f"{config.path}: {attr} is not set; this config reads it from "
                                  f"${variable} (export it, or pass --{attr.replace('_', '-')})")
        for attr in ("detection", "backbone_weights"):
            if getattr(config, attr) is not None:
                raise ConfigError(f"{config.path}: {attr} is a detection setting; a "
                                  "classification config reads train_dir / val_dir / test_dir")
        if config.data is not None:
            unknown = sorted(set(config.data) - set(DATA_CHECKS)) if isinstance(
                config.data, dict) else ["?"]
            if unknown:
                raise ConfigError(f"{config.path}: a classification config reads its data from "
                                  "train_dir / val_dir / test_dir; data = dict(...) only takes "
                                  f"the scan settings {', '.join(DATA_CHECKS)}, not "
                                  f"{config.data!r}")
            check_data_checks(config.data, config.path)
        if config.augmentation not in (None, "rgb", "dct"):
            raise ConfigError(f"{config.path}: augmentation must be 'rgb', 'dct' or None, not "
                              f"{config.augmentation!r}")
        from jpeg_deep.networks import spec

        if config.augmentation == "dct" and spec(config.network).inputs == "rgb":
            raise ConfigError(f"{config.path}: augmentation 'dct' works on DCT coefficients; "
                              f"{config.network!r} reads RGB (use augmentation = 'rgb')")
        try:
            transforms = self.transform_config()
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{config.path}: transforms {config.transforms!r}: {err}") from None
        if transforms.crop != config.input_size:
            raise ConfigError(f"{config.path}: transforms crop {transforms.crop} differs from "
                              f"input_size {config.input_size}: training crops are the "
                              "network's input; set both to the same size")

    def transform_config(self):
        """``TransformConfig`` (:meth:`augmentation` ``"rgb"``) or ``DCTTransformConfig`` ("dct", which
        also takes ``random_resized_crop``, ``scale``, ``ratio``, ``quality_range``,
        ``quality_p``, ``flip_p``)."""
        from jpeg_deep.data.transforms.classification import TransformConfig
        from jpeg_deep.data.transforms.classification_dct import DCTTransformConfig

        settings = self.config.transforms
        if settings is None:  # the reference's ratio: shorter side 256 for 224 crops
            size = self.config.input_size
            settings = dict(resize=size * 8 // 7, crop=size, quality=95)
        cls = DCTTransformConfig if self.augmentation() == "dct" else TransformConfig
        return cls(**settings)

    def _factory(self):
        from jpeg_deep.data.loader import ClassificationDCTTransform, ClassificationTransform

        return (ClassificationDCTTransform if self.augmentation() == "dct"
                else ClassificationTransform)

    # -- data -----------------------------------------------------------------------------------
    def dataset(self, split, *, training=False):
        from jpeg_deep.data.datasets.folders import ImageFolder

        data = dict(DATA_CHECKS, **(self.config.data or {}))
        return ImageFolder.scan(self.config.split_dir(split), self.config.class_index,
                                on_error=data["on_error"], verify=data["verify"])

    def loader(self, split, *, model=None, inference=False, distortion=None):
        from jpeg_deep.data.loader import SampleLoader, one_hot
        from jpeg_deep.networks import spec

        encoder = None
        if model is not None:
            encoder = functools.partial(one_hot, num_classes=int(model.output.shape[-1]))
        return SampleLoader(spec(self.network_name(inference)).inputs, split,
                            self.transform_config(), self.config.reader_backend,
                            transform_factory=self._factory(), encoder=encoder,
                            distortion=distortion)

    # -- model ----------------------------------------------------------------------------------
    def _build(self, name, dataset, inference):
        from jpeg_deep.networks import build, spec

        kwargs = dict(self.config.network_args, classes=dataset.num_classes)
        if inference and spec(name).fully_convolutional:
            kwargs.update(input_size=None, train_input_size=self.config.input_size)
        elif inference:  # full-size test images where the network allows any size (pooling)
            try:
                return build(name, input_size=None, **kwargs)
            except ValueError:  # a dense classifier needs its training size
                kwargs["input_size"] = self.config.input_size
        else:
            kwargs["input_size"] = self.config.input_size
        return build(name, **kwargs)

    def compile_arguments(self, dataset):
        import keras

        return dict(loss=self.config.loss, metrics=[
            keras.metrics.CategoricalAccuracy(name="top1"),
            keras.metrics.TopKCategoricalAccuracy(k=min(5, dataset.num_classes), name="top5")])

    def summary(self, dataset):
        out = dict(classes=list(dataset.class_names))
        if dataset.skipped:  # on_error = "skip": the broken files left out, by kind
            out["skipped"] = dataset.skipped
        return out

    # -- outputs --------------------------------------------------------------------------------
    def predict(self, exp, weights, split="test", *, workers=None, limit=None,
                distortion=None, inference=None):
        """Predict every file of ``split`` (at most ``limit``, spread over the classes), one at a
        time at full size; writes ``<tag>.npz`` (paths, labels, probabilities, class ids,
        skipped files) and ``<tag>.csv`` (top-5 per file)."""
        from jpeg_deep.data.loader import predict_files

        config = self.config
        dataset = self.dataset(split)
        loaded = (inference or Inference(self)).load(dataset, weights, split, distortion)
        subset = dataset.balanced_subset(limit)
        paths = [subset.path(i) for i in range(len(subset))]
        labels = list(subset.labels)
        probs, kept, kept_labels, skipped = [], [], [], {}
        n_workers = config.workers if workers is None else workers
        # one image per batch: each test image at its full size
        for (i,), out in predict_files(loaded.forward, loaded.loader, paths, batch_size=1,
                                       workers=n_workers, skipped=skipped):
            probs.append(np.asarray(out)[0])
            kept.append(str(paths[i]))
            kept_labels.append(labels[i])
        out_dir = exp.predictions
        out_dir.mkdir(exist_ok=True)
        tag = weights_tag(split, weights, distortion)
        probabilities = (np.stack(probs) if probs
                         else np.zeros((0, dataset.num_classes), np.float32))
        npz = out_dir / f"{tag}.npz"
        np.savez_compressed(npz, paths=np.array(kept), labels=np.array(kept_labels, np.int64),
                            probabilities=probabilities, class_ids=np.array(dataset.class_ids),
                            skipped=np.array(sorted(skipped)))
        names = dataset.class_names
        with open(out_dir / f"{tag}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["path", "true_class", "predicted_class", "top5"])
            for path, label, p in zip(kept, kept_labels, probabilities):
                top = np.argsort(-p)[:5]
                writer.writerow([path, names[label], names[top[0]],
                                 " ".join(f"{names[t]}:{p[t]:.4f}" for t in top)])
        print(f"predictions of {len(kept)} images written to {npz} "
              f"({len(skipped)} unreadable files skipped)")
        return Predictions(dataset, dict(paths=kept, labels=np.array(kept_labels, np.int64),
                                         probabilities=probabilities),
                           counts={"images": len(kept), "skipped": len(skipped)},
                           files=[npz, out_dir / f"{tag}.csv"], split=split)

    def evaluated_paths(self, split, limit=None):
        subset = self.dataset(split).balanced_subset(limit)
        return [subset.path(i) for i in range(len(subset))]

    def sweep_metrics(self, result):
        return {"top1": result["top1"], "top5": result["top5"]}

    def evaluators(self, predictions):
        return [TopKAccuracy((1, 5))]

    def report(self, result, predictions):
        return (f"\n{'split':<8}{'images':>8}{'top-1':>9}{'top-5':>9}\n"
                f"{result['split']:<8}{result['images']:>8}{result['top1']:>9.4f}"
                f"{result['top5']:>9.4f}")
