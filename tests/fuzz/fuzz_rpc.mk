# fuzz_rpc.mk — the rpc layer's libFuzzer targets: the JSON-RPC request
# parser (tests/fuzz/fuzz_rpc.c; answers come from the fake node of
# tests/rpc/rpc_fake.c) and the client's reply decoder
# (tests/fuzz/fuzz_rpc_reply.c), seeded from tests/fuzz/corpus/rpc/ and
# corpus/rpc_reply/ (replayed by `make test`, see tests/fuzz/test_corpus.c).
FUZZ_TARGETS += rpc rpc_reply
