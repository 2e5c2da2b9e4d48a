# sweepkit's entry points. `make demo` benchmarks the bundled mock-llm end to end; `make test` is
# what CI runs: it first installs what the tests need and is missing (scripts/install-test-deps:
# shellcheck, librsvg2-bin, openssl, pandas, rustfmt, the real vLLM for tests/vllm.rs), so that no
# test is skipped.
PREFIX ?= /usr/local
CARGO ?= cargo
TOOLS := mock-llm loadgen trial-agg sweep-plan sweep-agg pareto scrape report compare

.PHONY: demo demo-vllm test lint bench man install build release report-screenshot

build:
	$(CARGO) build --locked --bins

release:
	$(CARGO) build --locked --release --bins

demo: release
	scripts/demo

# The same demo on the real vLLM (CPU build; scripts/demo-vllm installs it first if missing).
demo-vllm: release
	scripts/demo-vllm

# The README's picture of a report (docs/report.png), from the demo's sweep, rendered by headless Chromium.
report-screenshot: release
	scripts/report-screenshot

test:
	scripts/install-test-deps
	$(CARGO) test --locked
	scripts/test-scripts
	$(CARGO) fmt --check
	@echo "cargo fmt: clean"

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

bench: release
	@for b in scripts/bench-*; do echo "== $$b"; "$$b" || exit 1; done

man:
	scripts/gen-man

install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/sweepkit
	for t in $(TOOLS); do install -m 755 target/release/$$t $(DESTDIR)$(PREFIX)/bin/; done
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 755 scripts/profile $(DESTDIR)$(PREFIX)/bin/sweepkit-profile
