# fuzz_store.mk — the store file check's libFuzzer target (tests/fuzz/fuzz_store.c),
# seeded from tests/fuzz/corpus/store/ (replayed by `make test`, see
# tests/node/test_store.c).
FUZZ_TARGETS += store
