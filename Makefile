# Set-up and jobs of the workbook. `make lab` and `make test` are all a new user needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages the local host uses: Apertium translates, espeak-ng speaks test clips,
# poppler-utils is the pdftoppm the PDF benchmark compares against.
SYSTEM_PACKAGES := apertium apertium-eng-spa espeak-ng poppler-utils
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

.PHONY: venv system lab test lint run bench clean

venv: $(STAMP)

# Quiet unless it fails: pip's whole output (setuptools' "Editable installation" notice included)
# goes to $(VENV)/install.log, and is printed only when the install fails.
$(STAMP): pyproject.toml
	@echo "Installing the workbook into $(VENV) (a few minutes the first time; log: $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@{ $(BIN)/python -m pip install --upgrade pip \
	    && $(BIN)/python -m pip install -e '.[notebooks,local,dev]'; } >$(VENV)/install.log 2>&1 \
	    || { cat $(VENV)/install.log; echo "make venv: pip failed; the log above is in $(VENV)/install.log"; exit 1; }
	@touch $@

# Installs the Debian packages when they are missing and we may (root or password-less sudo);
# otherwise says which command to run. The workbook works without them; replies then say what is missing.
system:
	@if command -v apertium >/dev/null && apertium -l 2>/dev/null | grep -q eng-spa \
	    && command -v espeak-ng >/dev/null && command -v pdftoppm >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	elif sudo -n true 2>/dev/null; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	else \
	    echo "note: translation and some tests need: sudo apt-get install $(SYSTEM_PACKAGES)"; \
	fi

# API_HOST is not set here: connect() reads it from the environment, else .env, else uses local.
# Jupyter logs only errors, so what it prints last is its own block with the URL to open
# (http://localhost:8888/lab?token=..., logged as critical): at the warning level every notebook
# opened would add "Notebook ... is not trusted" (their stored outputs are not signed). Kernels talk
# to the server over IPC sockets, not loopback TCP, so ipykernel has no "running over TCP without
# encryption" warning to print either. Jupyter refuses to run as root without --allow-root
# (containers and CI machines often are root).
lab: venv system
	@echo "JupyterLab on notebooks/ (host: API_HOST from the environment, else .env, else local); Ctrl+C twice stops it."
	@$(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.log_level=ERROR --LabApp.log_level=ERROR \
	    --KernelManager.transport=ipc $$([ "$$(id -u)" = 0 ] && echo --allow-root)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/nbstripout --verify --keep-output --keep-count notebooks/*.ipynb

# The notebooks' stored outputs come from the local host, so the suite pins API_HOST=local.
test: venv system lint
	API_HOST=local $(BIN)/pytest tests
	API_HOST=local $(BIN)/pytest $(NBVAL) notebooks

# Like lab, the host is API_HOST from the environment, else .env, else local.
run: venv system
	$(BIN)/python -m helpers run

bench: venv system
	$(BIN)/python bench/pdf_render.py
	$(BIN)/python bench/local_host.py
	$(BIN)/python bench/imports.py
	$(BIN)/python bench/speech.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/batch.py

clean:
	rm -rf build $(VENV)
