"""LC-RFA-Thinner ([D]-code widths) on the built-in demo shapes, on a CPU (Adam 1e-3, 20
epochs; its score and time: docs/results/training_runs.md)."""
base = "../base_classifier.py"
description = "LC-RFA-Thinner, 1/4 width, demo shapes"
network = "late_concat_rfa_thinner_dcode"
epochs = 20
optimizer = dict(name="adam", learning_rate=0.001)
