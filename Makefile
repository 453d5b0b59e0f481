# The two commands of the README:
#   make report   set up .venv if needed, run the whole pipeline on the default data
#   make test     set up .venv if needed, run the whole test suite (notebooks included)
# Everything else here is a helper for those two.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The stamp is rebuilt when the project's dependencies change.
STAMP  := $(VENV)/.seglab-installed

.PHONY: report test venv bench clean-venv workshop

report: $(STAMP)
	$(BIN)/seglab run

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,spark]"
	# papermill runs the notebooks in this kernel, which lives inside .venv
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (seglab)"
	@touch $(STAMP)

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean-venv:
	rm -rf $(VENV)

# Re-execute the workshop solutions (their outputs are what nbval checks) and rebuild the
# exercises from them; run after changing a solution or the checks.
workshop: $(STAMP)
	$(BIN)/python -c "from seglab.workshop import build_workshop; build_workshop()"
