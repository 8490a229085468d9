# adversary.mk — `make bench-adversary` (adv15): host CPU time and bytes
# allocated per unit of gas for every host call and every class of PVM
# instruction at its worst arguments, on both engines, next to the demo
# transfer's (bench/bench_adversary.c); and the recompiler's compile time and
# code size per KB of adversarial programs. Linked with the allocation
# counters of the hostile-guest tests (tests/adversary/adv_alloc.c) and the
# demo workload of bench-work (bench_work_demo.c, bench_util.o).
# BENCH_ADVERSARY_ARGS=--quick: one short round, no demo.
# See docs/bench.md "Host cost per gas, session 15 (adv15)".
BENCH_ADV_BIN := $(BUILD)/bench/bench_adversary
BENCH_ADV_SRC := bench/bench_adversary.c bench/bench_guest.c tests/adversary/adv_alloc.c

$(BENCH_ADV_BIN): $(BENCH_ADV_SRC) $(BUILD)/bench/bench_work_demo.o $(BUILD)/bench/bench_util.o $(BUILD)/libjark.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O2 $(WARN) -MMD -MP -MF $@.d $(BENCH_ADV_SRC) \
	  $(BUILD)/bench/bench_work_demo.o $(BUILD)/bench/bench_util.o $(BUILD)/libjark.a \
	  $(LDFLAGS) -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc $(LDLIBS) -o $@

.PHONY: bench-adversary
bench-adversary: $(BENCH_ADV_BIN)
	@$(BENCH_ADV_BIN) $(BENCH_ADVERSARY_ARGS)

bench-build: $(BENCH_ADV_BIN)

-include $(BENCH_ADV_BIN).d
