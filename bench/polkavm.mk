# bench/polkavm.mk — `make bench-polkavm`: jark's recompiler next to PolkaVM's
# on the same programs (bench/peers/polkavm/compare.sh; docs/bench.md, "PolkaVM
# side by side, session 13"). Not part of `make bench`: PolkaVM is built by
# hand, offline, outside the repository (bench/peers/polkavm/build.sh). When
# its runner is missing this says so and succeeds.
POLKAVM_RUNNER ?= /work/polkavm/build/target/release/polkavm-runner
POLKAVM_ROUNDS ?= 5
POLKAVM_CONFIG ?= gas=sync,warm=1 gas=sync,sandbox=generic,warm=1

bench-polkavm: $(BENCH_BIN) $(BENCH_OUT)/bench_c $(BUILD)/jark
	@if [ -x "$(POLKAVM_RUNNER)" ]; then \
	  BUILD=$(BUILD) bench/peers/polkavm/compare.sh --runner "$(POLKAVM_RUNNER)" \
	    --rounds $(POLKAVM_ROUNDS) --config "$(POLKAVM_CONFIG)"; \
	else \
	  echo "bench-polkavm: no PolkaVM runner at $(POLKAVM_RUNNER) (build one with" \
	    "bench/peers/polkavm/build.sh, then POLKAVM_RUNNER=...); skipped"; \
	fi

.PHONY: bench-polkavm
