"""Tasks built on the networks: what the targets are, how they are encoded, scored and lost."""
