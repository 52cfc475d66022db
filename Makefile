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

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[notebooks,local,dev]'
	touch $@

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

# Jupyter refuses to run as root without --allow-root (containers and CI machines often are root).
lab: venv system
	API_HOST=$${API_HOST:-local} $(BIN)/jupyter lab --notebook-dir=notebooks \
	    $$([ "$$(id -u)" = 0 ] && echo --allow-root)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/nbstripout --verify --keep-output --keep-count notebooks/*.ipynb

# The notebooks' stored outputs come from the local host, so the suite pins API_HOST=local.
test: venv system lint
	API_HOST=local $(BIN)/pytest tests
	API_HOST=local $(BIN)/pytest $(NBVAL) notebooks

run: venv system
	$(BIN)/python -m helpers run

bench: venv system
	$(BIN)/python bench/pdf_render.py
	$(BIN)/python bench/local_host.py
	$(BIN)/python bench/imports.py
	$(BIN)/python bench/speech.py

clean:
	rm -rf build $(VENV)
