# chain.mk — `make bench-chain`: the chain layer's BENCH lines (bench/bench_chain.c,
# issue 7) on the demo chain: events verified a second through the kernel next to
# raw libsodium (and the thread pool's speedup), a block of transfers applied
# (import and produce) next to a native C ledger, and setup_cycle + teardown with
# 1,000 vs 1,000,000 accounts. The harness loads examples/demo/devnet-spec.json
# (compiling the programs with the SDK, hence the tool objects). See docs/bench.md.
BENCH_CHAIN_BIN := $(BUILD)/bench/bench_chain

# bench/bench_util.c: the setup bench_chain and bench_ledger (ledger.mk) share.
$(BUILD)/bench/bench_util.o: bench/bench_util.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O2 $(WARN) -MMD -MP -c $< -o $@

$(BENCH_CHAIN_BIN): bench/bench_chain.c $(BUILD)/bench/bench_util.o $(TOOL_LIB_OBJ) $(BUILD)/libjark.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O2 $(WARN) -MMD -MP -MF $@.d $< $(BUILD)/bench/bench_util.o $(TOOL_LIB_OBJ) $(BUILD)/libjark.a \
	  $(LDFLAGS) $(LDLIBS) -o $@

BENCH_TARGETS += bench-chain
.PHONY: bench-chain
bench-chain: $(BENCH_CHAIN_BIN)
	@$(BENCH_CHAIN_BIN)

-include $(BENCH_CHAIN_BIN).d $(BUILD)/bench/bench_util.d
