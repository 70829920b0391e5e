# Views written in JavaScript and Python: set-up, unit tests, builds, and the
# check that their components answer as the Rust examples do. Meant to be
# included by the top Makefile (`include plugins/views.mk`); every path is
# relative to the repository's root. Tools come from the registries only:
# componentize-qjs and jco from npm (plugins/sdk-js/package-lock.json),
# componentize-py and pytest from PyPI into build/venv.

VIEWS_VENV := build/venv
VIEWS_OUT := build/views
JS_VIEWS := my-models todos
PY_VIEWS := notes todos
# Also built for halo:view@0.2.0, so tests load a JS view of either version.
JS_VIEWS_V2 := todos

.PHONY: views-setup views views-js views-py views-test views-check

## Install the JS and Python view tool chains (npm lock files; a venv under build/).
views-setup: $(VIEWS_VENV)/bin/halo-view-build-py
	npm ci --prefix plugins/sdk-js --no-audit --no-fund
	npm ci --prefix plugins/js --no-audit --no-fund

$(VIEWS_VENV)/bin/halo-view-build-py: plugins/sdk-py/pyproject.toml
	python3 -m venv $(VIEWS_VENV)
	$(VIEWS_VENV)/bin/pip install --quiet --disable-pip-version-check -e 'plugins/sdk-py[test]'
	@touch $@

## Build the example views into build/views (js-*.wasm for halo:view@0.1.0,
## js-*-0.2.wasm and py-*.wasm for 0.2.0).
views: views-js views-py

JS_SDK_SOURCES := $(wildcard plugins/sdk-js/src/*.js plugins/sdk-js/bin/*.js)
PY_SDK_SOURCES := $(wildcard plugins/sdk-py/halo_sdk/*.py)

views-js: $(JS_VIEWS:%=$(VIEWS_OUT)/js-%.wasm) $(JS_VIEWS_V2:%=$(VIEWS_OUT)/js-%-0.2.wasm)

views-py: $(PY_VIEWS:%=$(VIEWS_OUT)/py-%.wasm)

# Rebuilt when the view, the SDK or the WIT changes.
$(VIEWS_OUT)/js-%.wasm: plugins/js/%/view.js $(JS_SDK_SOURCES) wit/view.wit
	@mkdir -p $(@D)
	plugins/js/node_modules/.bin/halo-view-build $< -o $@

$(VIEWS_OUT)/js-%-0.2.wasm: plugins/js/%/view.js $(JS_SDK_SOURCES) wit/v0.2/view.wit
	@mkdir -p $(@D)
	plugins/js/node_modules/.bin/halo-view-build $< --wit 0.2.0 -o $@

# The module is named after its folder: plugins/py/notes/notes.py.
.SECONDEXPANSION:
$(VIEWS_OUT)/py-%.wasm: plugins/py/$$*/$$*.py $(PY_SDK_SOURCES) wit/v0.2/view.wit
	@mkdir -p $(@D)
	$(VIEWS_VENV)/bin/halo-view-build-py $< -o $@

## Unit tests of both SDKs and the example views, against their in-memory hosts (no builds).
views-test:
	cd plugins/sdk-js && node --test test/
	cd plugins/js && node --test
	cd plugins/sdk-py && ../../$(VIEWS_VENV)/bin/pytest
	cd plugins/py && ../../$(VIEWS_VENV)/bin/pytest

## Print each built view's world, and check that the JS and Python components
## answer every request as the Rust examples' components do (run in node).
views-check: views plugins
	for file in $(VIEWS_OUT)/*.wasm; do \
		echo "== $$file"; plugins/sdk-js/node_modules/.bin/jco wit $$file | grep -v 'import wasi:' || exit 1; \
	done
	cd plugins/sdk-js && HALO_PY_NOTES_WASM=$(abspath $(VIEWS_OUT))/py-notes.wasm \
		HALO_RUST_WASM_DIR=$(abspath plugins/target/wasm32-wasip2/release) \
		node --test test-components/
