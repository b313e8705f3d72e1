# Two commands for a fresh machine with Python 3.11:
#   make demo   install everything, then train + infer + evaluate the demo experiment
#   make test   install everything plus the test tools, then run the test suite
#
# TensorFlow build: GPU=auto (default) installs the GPU build (tensorflow[and-cuda], CUDA
# libraries from pip) when an NVIDIA driver lists a GPU (`nvidia-smi -L`), else the lighter
# tensorflow-cpu; GPU=1 / GPU=0 force one (e.g. GPU=1 on a Slurm login node without GPUs).
# The two builds share one tensorflow/ folder: switching removes the other one first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config/demo/vgg16_dct
GPU ?= auto

TF_EXTRA := $(shell if [ "$(GPU)" = 1 ] || { [ "$(GPU)" = auto ] && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; }; then echo gpu; else echo cpu; fi)
TF_OTHER := $(if $(filter gpu,$(TF_EXTRA)),tensorflow-cpu,tensorflow)

.PHONY: install install-dev demo test clean tensorflow-build

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip setuptools wheel

tensorflow-build: $(BIN)/python
	@echo "TensorFlow build: $(TF_EXTRA) (GPU=$(GPU))"
	@if $(BIN)/python -m pip show -q $(TF_OTHER) 2>/dev/null; then \
		echo "removing $(TF_OTHER): it shares the tensorflow/ folder with the $(TF_EXTRA) build"; \
		$(BIN)/python -m pip uninstall -y -q tensorflow tensorflow-cpu; \
	fi

install: tensorflow-build
	$(BIN)/python -m pip install numpy
	JPEG2DCT_WITHOUT_TENSORFLOW=1 $(BIN)/python -m pip install --no-build-isolation jpeg2dct==0.2.4
	$(BIN)/python -m pip install -e '.[$(TF_EXTRA)]'

install-dev: install
	$(BIN)/python -m pip install -e '.[$(TF_EXTRA),dev]'

demo: install
	$(BIN)/jpeg-deep demo
	$(BIN)/python training.py -c $(CONFIG) -o experiments
	@exp=$$(ls -td experiments/*/ | head -n 1); \
	$(BIN)/python inference.py $$exp && \
	$(BIN)/python evaluation.py $$exp

test: install-dev
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) experiments demo_data .pytest_cache *.egg-info
