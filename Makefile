# The two commands the README promises; each runs the (idempotent) set-up first.
.PHONY: setup demo test

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

test: setup
	@bash scripts/test.sh
