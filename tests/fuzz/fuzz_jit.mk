# fuzz_jit.mk — the recompiler's differential libFuzzer target
# (tests/fuzz/fuzz_jit.c: recompiler against interpreter), seeded from
# tests/fuzz/corpus/jit/ (replayed by `make test`, tests/fuzz/test_corpus.c).
FUZZ_TARGETS += jit
