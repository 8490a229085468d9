# fuzz_kernel.mk — the kernel's libFuzzer target (tests/fuzz/fuzz_kernel.c):
# random host-call sequences on a state in memory and the same state
# reloaded; seeded from tests/fuzz/corpus/kernel/ (replayed by `make test`,
# see tests/kernel/test_kernel_fuzz.c).
FUZZ_TARGETS += kernel
