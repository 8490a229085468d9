# adversary.mk — the hostile-guest tests (tests/adversary/) measure what the
# host allocates during one invocation: the test binary's malloc, calloc,
# realloc and aligned_alloc go through the counters of
# tests/adversary/adv_alloc.c (link-time wrapping; the library is unchanged).
$(BUILD)/tests: LDLIBS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc
