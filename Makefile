# Two commands for a fresh machine with Python 3.11:
#   make demo   install everything, then train + infer + evaluate the demo experiment
#   make test   install everything plus the test tools, then run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config/demo/vgg16_dct

.PHONY: install install-dev demo test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip setuptools wheel

install: $(BIN)/python
	$(BIN)/python -m pip install numpy
	JPEG2DCT_WITHOUT_TENSORFLOW=1 $(BIN)/python -m pip install --no-build-isolation jpeg2dct==0.2.4
	$(BIN)/python -m pip install -e .

install-dev: install
	$(BIN)/python -m pip install -e '.[dev]'

demo: install
	$(BIN)/python training.py -c $(CONFIG) -o experiments
	@exp=$$(ls -td experiments/*/ | head -n 1); \
	$(BIN)/python inference.py $$exp $$exp/checkpoints/best.keras && \
	$(BIN)/python evaluation.py $$exp $$exp/checkpoints/best.keras

test: install-dev
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) experiments demo_data .pytest_cache *.egg-info
