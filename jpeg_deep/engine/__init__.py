"""Running experiments: the experiment folder and its layout (``experiment``), training
(``train``), inference, evaluation and rate-accuracy sweeps (``evaluate``), detections drawn
(``display``)."""
