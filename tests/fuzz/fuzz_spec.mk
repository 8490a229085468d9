# fuzz_spec.mk — the chain-spec parser's libFuzzer target (tests/fuzz/fuzz_spec.c),
# seeded from tests/fuzz/corpus/spec/ (replayed by `make test`, see
# tests/fuzz/test_corpus.c).
FUZZ_TARGETS += spec
