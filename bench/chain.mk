# chain.mk — `make bench-chain`: the chain layer's BENCH lines (bench/bench_chain.c,
# issue 7) on the demo chain: events verified a second through the kernel next to
# raw libsodium (and the thread pool's speedup), a block of transfers applied
# (import and produce) next to a native C ledger, and setup_cycle + teardown with
# 1,000 vs 1,000,000 accounts. The harness loads examples/demo/devnet-spec.json
# (compiling the programs with the SDK, hence the tool objects). See docs/bench.md.
BENCH_CHAIN_BIN := $(BUILD)/bench/bench_chain

$(BENCH_CHAIN_BIN): bench/bench_chain.c $(TOOL_LIB_OBJ) $(BUILD)/libjark.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O2 $(WARN) -MMD -MP -MF $@.d $< $(TOOL_LIB_OBJ) $(BUILD)/libjark.a \
	  $(LDFLAGS) $(LDLIBS) -o $@

BENCH_TARGETS += bench-chain
.PHONY: bench-chain
bench-chain: $(BENCH_CHAIN_BIN)
	@$(BENCH_CHAIN_BIN)

-include $(BENCH_CHAIN_BIN).d
