# sim.mk — the consensus simulator's front end (tests/consensus/sim/main.c).
# `make sim SEEDS=N` runs N seeds over 4 and 7 validators with faults and
# exits non-zero on any violation; a failing seed prints the command that
# replays it. SIM_FLAGS passes more options (--no-faults, --validators 10).
SEEDS ?= 200
SIM_FLAGS ?=
.PHONY: sim
$(BUILD)/consensus-sim: tests/consensus/sim/main.c $(BUILD)/libjark.a
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(WARN) $(LDFLAGS) $< $(BUILD)/libjark.a $(LDLIBS) -o $@
sim: $(BUILD)/consensus-sim
	$(BUILD)/consensus-sim --seeds $(SEEDS) $(SIM_FLAGS)
.PHONY: bench-cons
bench-cons: $(BUILD)/consensus-sim
	@$(BUILD)/consensus-sim --bench-cert
	@$(BUILD)/consensus-sim --bench-sync
	@$(BUILD)/consensus-sim --bench-chain-sync 100
BENCH_TARGETS += bench-cons
