# tables.mk — `make bench-tables-callgrind`: the node's per-event lookup
# tables (seen set, pool index, signature cache) at a loaded node's sizes
# under callgrind's cache simulation: D1 read and write misses per lookup,
# per phase (bench/bench_tables.c, docs/bench.md "Node bookkeeping per
# event, session 12").
BENCH_TABLES_BIN := $(BUILD)/bench/bench_tables

$(BENCH_TABLES_BIN): bench/bench_tables.c $(BUILD)/libjark.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O2 $(WARN) -MMD -MP -MF $@.d $< $(BUILD)/libjark.a \
	  $(LDFLAGS) $(LDLIBS) -o $@

.PHONY: bench-tables-callgrind
bench-tables-callgrind: $(BENCH_TABLES_BIN)
	@d=$$(mktemp -d /tmp/jark-tables-cg-XXXXXX) && \
	  valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file=$$d/cg.out \
	    $(BENCH_TABLES_BIN) >/dev/null 2>$$d/log || echo "bench_tables failed: $$d/log"; \
	  for f in $$d/cg.out.*; do \
	    p=$$(sed -n 's/^desc: Trigger: Client Request: //p' $$f); \
	    awk -v p="$$p" '/^events:/{for(i=2;i<=NF;i++)n[i]=$$i} /^summary:/{for(i=2;i<=NF;i++)v[n[i]]=$$i} \
	      END{printf "CALLGRIND tables_%s per_lookup Ir=%.0f D1mr=%.2f D1mw=%.2f\n", p, v["Ir"]/20000, v["D1mr"]/20000, v["D1mw"]/20000}' $$f; \
	  done; echo "(callgrind files in $$d)"

bench-build: $(BENCH_TABLES_BIN)

-include $(BENCH_TABLES_BIN).d
