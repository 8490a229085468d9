# fuzz_cap.mk — the cap decoders' libFuzzer target (tests/fuzz/fuzz_cap.c),
# seeded from tests/fuzz/corpus/cap/ (replayed by `make test`, see
# tests/cap/test_cap_corpus.c).
FUZZ_TARGETS += cap
