# Two commands on a fresh machine:  make run   (the whole study on the synthetic district)
#                                   make test  (the test suite)
# Extra arguments pass through:      make run ARGS='--configfile my-study.yaml'
#                                   make test ARGS='-k matching'
PYTHON ?= python3
VENV   ?= .venv
CORES  ?= all
ARGS   ?=
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test setup lint dryrun snakemake-report bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint requirements.lock --editable '.[test,slurm]'
	touch $(STAMP)

# After a killed run: a stale lock is cleared (only if no Snakemake process works here) and incomplete
# outputs are redone, so `make run` resumes without manual steps.
run: $(STAMP)
	workflow/tools/clear_stale_lock.sh $(BIN)/snakemake --cores $(CORES) $(ARGS)
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

dryrun: $(STAMP)
	$(BIN)/snakemake -n $(ARGS)

lint: $(STAMP)
	$(BIN)/snakemake --lint $(ARGS)

snakemake-report: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --report results/public/snakemake_report.html $(ARGS)

bench: $(STAMP)
	for f in bench/bench_*.py; do $(BIN)/python $$f $(ARGS) || exit 1; done

clean:
	rm -rf results/* .snakemake
