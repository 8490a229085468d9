# fuzz_rpc.mk — the JSON-RPC request parser's libFuzzer target
# (tests/fuzz/fuzz_rpc.c), seeded from tests/fuzz/corpus/rpc/ (replayed by
# `make test`, see tests/fuzz/test_corpus.c). Answers come from the fake
# node of tests/rpc/rpc_fake.c.
FUZZ_TARGETS += rpc
FUZZ_LIB_SRC += tests/rpc/rpc_fake.c
