# fuzz_examples.mk — the example chains' libFuzzer target (tests/fuzz/fuzz_examples.c),
# seeded from tests/fuzz/corpus/examples/ (replayed by `make test`, see
# tests/fuzz/test_corpus.c). It compiles the chains with the SDK.
FUZZ_TARGETS += examples
