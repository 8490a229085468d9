# commit.mk — `make bench-commit`: BENCH commit (bench/bench_commit.c,
# docs/bench.md "The critical path, session 6"): a validator's commit of one
# height, on the calling thread, for callgrind. BENCH_COMMIT_ARGS="N E" (or
# "N E import": an importer beside it, session 16).
BENCH_COMMIT_BIN := $(BUILD)/bench/bench_commit
BENCH_COMMIT_ARGS ?= 8 512

$(BENCH_COMMIT_BIN): bench/bench_commit.c $(TOOL_LIB_OBJ) $(BUILD)/libjark.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O2 $(WARN) -MMD -MP -MF $@.d $< $(TOOL_LIB_OBJ) $(BUILD)/libjark.a \
	  $(LDFLAGS) $(LDLIBS) -o $@

BENCH_TARGETS += bench-commit
.PHONY: bench-commit
bench-commit: $(BENCH_COMMIT_BIN)
	@$(BENCH_COMMIT_BIN) $(BENCH_COMMIT_ARGS)

bench-build: $(BENCH_COMMIT_BIN)

-include $(BENCH_COMMIT_BIN).d
