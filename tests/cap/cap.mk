# cap.mk — the long crash test of the cap store (included by the Makefile).
# `make test` runs 200 kill trials (tests/cap/test_cap_crash.c); this runs
# CAP_CRASH_TRIALS of them and prints a summary line.
CAP_CRASH_TRIALS ?= 5000

.PHONY: crash-test
crash-test: $(BUILD)/tests
	JK_CAP_CRASH_TRIALS=$(CAP_CRASH_TRIALS) JK_CAP_CRASH_VERBOSE=1 $(BUILD)/tests test_cap_crash
