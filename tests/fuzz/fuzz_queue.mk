# fuzz_queue.mk — the dispatch-queue record decoder's libFuzzer target
# (tests/fuzz/fuzz_queue.c), seeded from tests/fuzz/corpus/queue/ (replayed
# by `make test` through tests/fuzz/test_corpus.c): valid-* queues of 0, 1
# and 3 events (with and without traces), bad-* a truncated blob, a
# non-canonical natural, a transact endpoint, trailing bytes, a count past
# JK_CHAIN_MAX_QUEUED.
FUZZ_TARGETS += queue
