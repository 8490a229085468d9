# bench_hash.mk — `make bench-hash`: BENCH blake2b_<size> (bench/bench_hash.c):
# jark's BLAKE2b-256, one message and four at once, next to libsodium's
# crypto_generichash in the same run, per size. See docs/bench.md "Hashing,
# session 10".
BENCH_HASH_BIN := $(BUILD)/bench/bench_hash

$(BENCH_HASH_BIN): bench/bench_hash.c $(BUILD)/libjark.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O2 $(WARN) -MMD -MP -MF $@.d $< $(BUILD)/libjark.a $(LDFLAGS) $(LDLIBS) -o $@

BENCH_TARGETS += bench-hash
.PHONY: bench-hash
bench-hash: $(BENCH_HASH_BIN)
	@$(BENCH_HASH_BIN)

bench-build: $(BENCH_HASH_BIN)

-include $(BENCH_HASH_BIN).d
