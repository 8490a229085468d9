# work.mk — `make bench-work`: the real workloads of issue 15 on the PVM
# recompiler and interpreter: Ed25519 verification and BLAKE2b written in C
# (bench/c/ed25519.c, bench/c/blake2b.c, built with the SDK, next to the same
# C compiled natively and to libsodium), the demo chain's verify and apply
# through the kernel, and the asm benches' ratios next to PolkaVM's
# (bench/bench_work.c, bench/bench_work_demo.c). Runs after bench-pvm, whose
# jit_ratios.txt it reads. See docs/bench.md.
BENCH_WORK_BIN := $(BENCH_OUT)/bench_work
# bench_util.o (built by chain.mk): the demo chain's spec and genesis,
# shared with bench_chain and bench_ledger.
BENCH_WORK_OBJ := $(BENCH_OUT)/bench_work.o $(BENCH_OUT)/bench_work_demo.o \
                  $(BENCH_OUT)/c/ed25519.o $(BENCH_OUT)/c/blake2b.o $(BUILD)/bench/bench_util.o

$(BENCH_WORK_BIN): $(BENCH_WORK_OBJ) $(BUILD)/libjark.a
	$(CC) $(BENCH_CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

BENCH_TARGETS += bench-work
.PHONY: bench-work
bench-work: $(BENCH_WORK_BIN) | bench-pvm
	@$(BENCH_WORK_BIN) bench/c $(BENCH_OUT)

bench-build: $(BENCH_WORK_BIN)

-include $(BENCH_OUT)/bench_work.d $(BENCH_OUT)/bench_work_demo.d
