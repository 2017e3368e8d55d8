# buildtool: `make repo` builds and publishes the Fuel repository, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
TARGET ?= el9
PROFILE ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILDTOOL = $(VENV)/bin/buildtool
PROFILE_ARGS = $(foreach p,$(PROFILE),--profile $(p))
TEST_TARGETS ?= el9 el10 fedora-44 fedora-45 leap-16
TEST_TARGET_ARGS = $(foreach t,$(TEST_TARGETS),--target $(t))

.PHONY: repo test docs matrix distro-data unit integration puppet-test lint verify installcheck bench tools tools-test venv clean distclean

repo: venv tools  ## build and publish the default manifest for $(TARGET)
	$(BUILDTOOL) repo --target $(TARGET) $(PROFILE_ARGS) -j $(JOBS)

test: venv tools-test lint  ## build + verify the default repository per target, then every test
	$(BUILDTOOL) repo $(TEST_TARGET_ARGS) -j $(JOBS)
	$(BUILDTOOL) verify $(TEST_TARGET_ARGS) --json > build/verify.json
	$(VENV)/bin/python -m buildtool.verify.matrix build/verify.json README.md --check
	$(VENV)/bin/pytest -q tests

matrix: venv tools-test  ## regenerate README.md's per-target table from verify's JSON
	$(BUILDTOOL) repo $(TEST_TARGET_ARGS) -j $(JOBS)
	$(BUILDTOOL) verify $(TEST_TARGET_ARGS) --json > build/verify.json
	$(VENV)/bin/python -m buildtool.verify.matrix build/verify.json README.md

docs: venv  ## regenerate docs/manifest.md (from the schema) and the Puppet module's REFERENCE.md
	$(VENV)/bin/python -m buildtool.reference docs/manifest.md fuel.yaml
	cd puppet/modules/fuel && puppet strings generate --format markdown --out REFERENCE.md 2>/dev/null

distro-data: venv  ## re-extract repo-config/distro-data/*.tsv from ../shared/distro-data
	for t in $(TEST_TARGETS); do $(VENV)/bin/python scripts/extract-distro-data $$t || exit 1; done

unit: venv  ## the fast unit tests only
	$(VENV)/bin/pytest -q -m "not integration" tests

integration: venv tools-test
	$(VENV)/bin/pytest -q -m integration tests

puppet-test: tools-test
	bash puppet/run-tests.sh

PUPPET_FILES = $(shell find puppet/manifests puppet/modules -name '*.pp' -not -path '*/spec/fixtures/*' | sort)

lint: venv tools-test  ## ruff, mypy --strict (pyproject.toml); puppet parser validate, puppet-lint and metadata-json-lint on the Puppet tree
	$(VENV)/bin/ruff check buildtool tests bench
	$(VENV)/bin/mypy
	puppet parser validate $(PUPPET_FILES)
	puppet-lint --fail-on-warnings --relative $(PUPPET_FILES)
	metadata-json-lint --strict-dependencies puppet/modules/fuel/metadata.json

verify: venv tools-test  ## lint, closure, install/upgrade/erase test of dist/repos/$(TARGET)/current
	$(BUILDTOOL) verify --target $(TARGET)

installcheck:  ## the install/upgrade/erase test in a real distribution container: IMAGE=...
	scripts/installcheck $(IMAGE) dist/repos/$(TARGET)/current

bench: venv tools  ## every row of the performance table: printed, and written to build/bench.json
	$(VENV)/bin/python bench/bench_pipeline.py

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test,lint]'
	@# the Koji client builds gssapi from source (libkrb5-dev, a compiler): without it, its tests skip
	$(VENV)/bin/pip install --quiet -e '.[koji]' || echo "warning: koji not installable here: tests/test_koji_backend.py will skip"
	touch $@

tools:
	scripts/ensure-tools build

tools-test:
	scripts/ensure-tools test

clean:
	rm -rf build dist

distclean: clean
	rm -rf $(VENV) .pytest_cache
