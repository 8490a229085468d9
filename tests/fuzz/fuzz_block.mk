# fuzz_block.mk — the block decoder's libFuzzer target (tests/fuzz/fuzz_block.c),
# seeded from tests/fuzz/corpus/block/ (replayed by `make test`, see
# tests/chain/test_block.c).
FUZZ_TARGETS += block
