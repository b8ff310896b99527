# Two commands do all the set-up on a fresh machine:
#   make run    create .venv, install, build the index if needed, start the chat page
#   make test   create .venv, install, install Chromium for browser tests, run every test
VENV    := .venv
STAMP   := $(VENV)/.installed
PORT    ?= 8501
# Only this machine can reach the page unless told otherwise: `make run ADDRESS=0.0.0.0`
# serves every interface (README, "Serving it to staff": behind a TLS proxy, with sign-in).
ADDRESS ?= 127.0.0.1

.PHONY: setup run index test lint eval browser

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	# CPU build from this machine's disk; a bare `torch` would pull a multi-GB CUDA build.
	$(VENV)/bin/pip install --quiet torch==2.13.0
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

index: setup
	$(VENV)/bin/rag index

run: index
	$(VENV)/bin/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT) \
		--server.headless true

# Debian's Chromium for the end-to-end page tests (Playwright's own download fails here).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# Every test (-m "" overrides the fast tier that a plain `pytest` runs: pyproject.toml's
# addopts leave out the model, slow and browser tests), then the quality guard: the
# dev-set evaluation on its own index of the starting corpus (tests/fixtures/corpus, not
# corpus/, which uploads change) must stay above eval/ci_thresholds.json (set just under
# today's numbers). Then the same on a library of 12 councils' reports from
# ../shared/scale-corpus (eval/library/), above eval/library/ci_thresholds.json.
test: setup browser
	$(VENV)/bin/python -m pytest -q -ra -m ""
	$(VENV)/bin/rag --index-dir build/ci-index index --quiet tests/fixtures/corpus
	$(VENV)/bin/rag --index-dir build/ci-index eval --qa eval/qa.jsonl --thresholds eval/ci_thresholds.json
	$(VENV)/bin/python eval/library/build_library.py --size small --out build/library-small
	$(VENV)/bin/rag --index-dir build/library-small/index eval --qa eval/library/qa.jsonl --thresholds eval/library/ci_thresholds.json

lint: setup
	$(VENV)/bin/ruff check .

eval: setup
	eval/refresh_results.sh
