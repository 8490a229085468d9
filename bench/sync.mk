# sync.mk — `make bench-sync`: BENCH sync (bench/bench_sync.c, issue 13): a
# fresh `jark node` (full node, empty store) syncing a 300-block demo chain of
# transfers from a peer over loopback, next to importing the same blocks
# through the library without a network (ratio). `jark testnet` makes the
# chain first (about a minute). BENCH_SYNC_ARGS="BLOCKS EVENTS" overrides.
BENCH_SYNC_BIN := $(BUILD)/bench/bench_sync
BENCH_SYNC_ARGS ?= 300 16

# tests/node/node_util.o: the node tests' loopback helpers (free ports, clock).
$(BENCH_SYNC_BIN): bench/bench_sync.c $(BUILD)/obj/tests/node/node_util.o $(TOOL_LIB_OBJ) $(BUILD)/libjark.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O2 $(WARN) -MMD -MP -MF $@.d $< $(BUILD)/obj/tests/node/node_util.o \
	  $(TOOL_LIB_OBJ) $(BUILD)/libjark.a \
	  $(LDFLAGS) $(LDLIBS) -o $@

BENCH_TARGETS += bench-sync
.PHONY: bench-sync
bench-sync: $(BENCH_SYNC_BIN) $(BUILD)/jark
	@$(BENCH_SYNC_BIN) $(BUILD)/jark $(BENCH_SYNC_ARGS)

bench-build: $(BENCH_SYNC_BIN)

-include $(BENCH_SYNC_BIN).d
