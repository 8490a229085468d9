# fuzz_cap_groups.mk — the store's CNode group records' libFuzzer target
# (tests/fuzz/fuzz_cap_groups.c), seeded from tests/fuzz/corpus/cap_groups/
# (replayed by `make test` through tests/fuzz/test_corpus.c): bundles of the
# records a store holds for CNodes of 2, 16, 256 and 65,536 slots (written
# by jk_cap_export_grouped), and damaged ones (a flipped node, a cut group,
# a wrong height); since session 9 also layout 3's held Data (a group of
# tag 0x09 holding small Data beside a slot left a record of its own, and
# a bad form byte, a bad held hash, a held length over 512, a layout 2
# group beside them).
FUZZ_TARGETS += cap_groups
