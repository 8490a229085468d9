# kernel.mk — `make bench-kernel`: the kernel's BENCH lines (bench/bench_kernel.c):
# a CALL + HALT round trip, a 3-deep CALL chain, MGMT_COPY of an instance
# mapping 64 MiB, and the HALT of a call that dirtied 1 of 16,384 pages. The
# harness builds bench/kernel/kbench.c with the SDK in-process (jk_cc_build,
# hence the tool objects) into $(BUILD)/bench/kbench.jkp. See docs/bench.md.
BENCH_KERNEL_BIN := $(BUILD)/bench/bench_kernel

$(BENCH_KERNEL_BIN): bench/bench_kernel.c $(BUILD)/bench/bench_util.o $(TOOL_LIB_OBJ) $(BUILD)/libjark.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O2 $(WARN) -MMD -MP -MF $@.d $< $(BUILD)/bench/bench_util.o $(TOOL_LIB_OBJ) $(BUILD)/libjark.a \
	  $(LDFLAGS) $(LDLIBS) -o $@

BENCH_TARGETS += bench-kernel
.PHONY: bench-kernel
bench-kernel: $(BENCH_KERNEL_BIN)
	@$(BENCH_KERNEL_BIN) bench/kernel $(BUILD)/bench

-include $(BENCH_KERNEL_BIN).d
