# fuzz_node_event.mk — the gossip event codec's libFuzzer target
# (tests/fuzz/fuzz_node_event.c), seeded from tests/fuzz/corpus/node_event/
# (replayed by `make test` through tests/node/test_chain_app.c): one event
# with two traces, one without, a truncated one, one with a trailing byte.
FUZZ_TARGETS += node_event
