# fuzz_node_compact.mk — compact proposals' COMPACT, WANT and FILL messages
# (tests/fuzz/fuzz_node_compact.c), seeded from tests/fuzz/corpus/node_compact/
# (replayed by `make test` through tests/node/test_compact.c): a compact
# proposal of six demo transfers, one with a huge event count, one cut
# short, one with literal events, a WANT of three events, a FILL of one.
FUZZ_TARGETS += node_compact
