# fuzz_store.mk — the store file check's libFuzzer target (tests/fuzz/fuzz_store.c),
# seeded from tests/fuzz/corpus/store/ (replayed by `make test` through
# tests/fuzz/test_corpus.c): valid-small-store is the data.mdb of a fresh store
# holding one small head (7 pages of 4 KiB), bad-one-page / bad-two-pages its
# first pages, bad-magic the same file with the first meta's magic flipped,
# valid-empty an empty file.
FUZZ_TARGETS += store
