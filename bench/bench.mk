# bench/bench.mk — `make bench` and `make bench-peers` (included by Makefile).
# See docs/bench.md. Objects and assembled blobs go under $(BUILD)/bench/.

BENCH_OUT    := $(BUILD)/bench
BENCH_BIN    := $(BENCH_OUT)/bench_pvm
BENCH_OBJ    := $(BENCH_OUT)/bench_pvm.o $(BENCH_OUT)/native_algos.o
# The native twins are always measured at -O2, whatever OPT says.
BENCH_CFLAGS := $(CFLAGS) -O2
NODE         ?= node
NPM          ?= npm
# anan-as build run by bench/peers/run_anan.mjs (release-mini, or release).
ANAN_BUILD   ?= release-mini
BENCH_PEERS  := bench/peers
ANAN_STAMP   := $(BENCH_PEERS)/node_modules/@fluffylabs/anan-as/package.json

$(BENCH_OUT)/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) -Ibench $(BENCH_CFLAGS) $(WARN) -MMD -MP -c $< -o $@

$(BENCH_BIN): $(BENCH_OBJ) $(BUILD)/libjark.a
	$(CC) $(BENCH_CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# PVM next to native C: BENCH lines, then the geometric mean of the ratios.
BENCH_TARGETS += bench-pvm bench-c
bench-pvm: $(BENCH_BIN)
	@$(BENCH_BIN) --src bench/pvm --out $(BENCH_OUT)

# The exact anan-as version pinned in bench/peers/package.json.
$(ANAN_STAMP): $(BENCH_PEERS)/package.json
	cd $(BENCH_PEERS) && $(NPM) install --no-audit --no-fund --loglevel=error
	@touch $@

# The same blobs on jark and on anan-as, in one run: PEER lines.
bench-peers: $(BENCH_BIN) $(ANAN_STAMP)
	@echo "# peer: @fluffylabs/anan-as $$($(NODE) -p 'require("./$(ANAN_STAMP)").version')" \
	  "($(ANAN_BUILD) build), node $$($(NODE) --version)"
	@ANAN_BUILD=$(ANAN_BUILD) $(BENCH_BIN) --src bench/pvm --out $(BENCH_OUT) \
	  --peers $(BENCH_PEERS)/run_anan.mjs --node $(NODE)

# The same four algorithms written in C, built with the SDK, next to native.
BENCH_C_NATIVE := $(patsubst bench/c/%.c,$(BENCH_OUT)/c/%.o,$(wildcard bench/c/*.c))
# (the twins share headers: blake2b.h, place.h)
$(BENCH_OUT)/c/%.o: bench/c/%.c $(wildcard bench/c/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -DJARK_NATIVE -Isdk -O2 -g -Wall -Wextra -Werror -c $< -o $@
$(BENCH_OUT)/bench_c: $(BENCH_OUT)/bench_c.o $(BENCH_C_NATIVE) $(TOOL_LIB_OBJ) $(BUILD)/libjark.a
	$(CC) $(BENCH_CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
bench-c: $(BENCH_OUT)/bench_c $(BUILD)/jark | bench-pvm
	@$(BENCH_OUT)/bench_c bench/c $(BENCH_OUT)

.PHONY: bench-pvm bench-c
-include $(BENCH_OBJ:.o=.d)
