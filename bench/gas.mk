# gas.mk — `make bench-gas`: BENCH gas_fairness (bench/bench_gas.c): host ns
# and bytes allocated per unit of gas for the costliest case of each host call
# and of memory growth, next to the interpreter's average ns per gas. The
# allocation counters (tests/adversary/adv_alloc.c, shared with the
# hostile-guest tests) wrap malloc, calloc, realloc and aligned_alloc at link
# time. See docs/abi.md "Gas schedule".
BENCH_GAS_BIN := $(BUILD)/bench/bench_gas

$(BENCH_GAS_BIN): bench/bench_gas.c bench/bench_guest.c tests/adversary/adv_alloc.c $(BUILD)/libjark.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O2 $(WARN) -MMD -MP -MF $@.d $< bench/bench_guest.c tests/adversary/adv_alloc.c $(BUILD)/libjark.a \
	  $(LDFLAGS) -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc $(LDLIBS) -o $@

BENCH_TARGETS += bench-gas
.PHONY: bench-gas
bench-gas: $(BENCH_GAS_BIN)
	@$(BENCH_GAS_BIN)

-include $(BENCH_GAS_BIN).d
