# admit.mk — `make bench-admit`: what admitting one event costs a node, per
# path (RPC batch, gossip turn, echoes), next to the raw Ed25519 verify
# (bench/bench_admit.c; docs/bench.md "Admission, session 6").
# `make bench-admit-callgrind`: the same under callgrind, instructions per
# event per phase (stable on a loaded machine). BENCH_ADMIT_N overrides N.
BENCH_ADMIT_BIN := $(BUILD)/bench/bench_admit
BENCH_ADMIT_N ?= 2048

$(BENCH_ADMIT_BIN): bench/bench_admit.c $(BUILD)/libjark.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O2 $(WARN) -MMD -MP -MF $@.d $< $(BUILD)/libjark.a \
	  $(LDFLAGS) $(LDLIBS) -o $@

BENCH_TARGETS += bench-admit
.PHONY: bench-admit bench-admit-callgrind
bench-admit: $(BENCH_ADMIT_BIN)
	@$(BENCH_ADMIT_BIN) $(BENCH_ADMIT_N)

bench-admit-callgrind: $(BENCH_ADMIT_BIN)
	@d=$$(mktemp -d /tmp/jark-admit-cg-XXXXXX) && \
	  valgrind --tool=callgrind --smc-check=all-non-file --compress-strings=no --compress-pos=no --callgrind-out-file=$$d/cg.out \
	    $(BENCH_ADMIT_BIN) $(BENCH_ADMIT_N) >/dev/null 2>$$d/log; \
	  for f in $$d/cg.out.*; do \
	    p=$$(sed -n 's/^desc: Trigger: Client Request: phase-//p' $$f); \
	    i=$$(sed -n 's/^totals: //p;s/^summary: //p' $$f | head -1); \
	    [ -n "$$p" ] && echo "CALLGRIND admit_$$p instructions=$$i"; \
	  done | sort; echo "(callgrind files in $$d; instructions are for the whole phase: divide by its events)"

bench-build: $(BENCH_ADMIT_BIN)

-include $(BENCH_ADMIT_BIN).d
