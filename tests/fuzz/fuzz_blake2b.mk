# fuzz_blake2b.mk — jark's BLAKE2b against libsodium's (tests/fuzz/fuzz_blake2b.c),
# seeded from tests/fuzz/corpus/blake2b/ (replayed by `make test`, see
# tests/fuzz/test_corpus.c).
FUZZ_TARGETS += blake2b
