# cap.mk — `make bench-cap`: the cap layer's BENCH lines (bench/bench_cap.c):
# O(1) copies, incremental re-hashing, LMDB commit throughput. The store it
# writes lives under $(BUILD)/bench/ and is removed afterwards.
BENCH_CAP_BIN := $(BUILD)/bench/bench_cap

$(BENCH_CAP_BIN): bench/bench_cap.c $(BUILD)/libjark.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(WARN) $< $(BUILD)/libjark.a $(LDLIBS) -o $@

BENCH_TARGETS += bench-cap
.PHONY: bench-cap
bench-cap: $(BENCH_CAP_BIN)
	@$(BENCH_CAP_BIN) $(BUILD)/bench/cap-store
