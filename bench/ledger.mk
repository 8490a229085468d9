# ledger.mk — `make bench-ledger`: a demo-chain block's import time as the
# ledger grows from 1,000 to 100,000 accounts (`BENCH_LEDGER_ARGS=--big` adds
# 1,000,000). bench/bench_ledger.c; see docs/bench.md.
BENCH_LEDGER_BIN := $(BUILD)/bench/bench_ledger

$(BENCH_LEDGER_BIN): bench/bench_ledger.c $(BUILD)/bench/bench_util.o $(BUILD)/libjark.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O2 $(WARN) -MMD -MP -MF $@.d $< $(BUILD)/bench/bench_util.o $(BUILD)/libjark.a \
	  $(LDFLAGS) $(LDLIBS) -o $@

BENCH_TARGETS += bench-ledger
.PHONY: bench-ledger
bench-ledger: $(BENCH_LEDGER_BIN)
	@$(BENCH_LEDGER_BIN) $(BENCH_LEDGER_ARGS)

-include $(BENCH_LEDGER_BIN).d
