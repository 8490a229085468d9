# fuzz_net.mk — the net layer's frame parser and token bucket
# (tests/fuzz/fuzz_net.c), seeded from tests/fuzz/corpus/net/ (replayed by
# `make test`, see tests/fuzz/test_corpus.c).
FUZZ_TARGETS += net
