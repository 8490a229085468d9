# fuzz_votelog.mk — the signed-vote log decoder's libFuzzer target
# (tests/fuzz/fuzz_votelog.c), seeded from tests/fuzz/corpus/votelog/
# (replayed by `make test` through tests/fuzz/test_corpus.c). v2-*: format
# 02, written by jk_node_votelog_append/_append_turn: valid-* (header only,
# one to four appends, one with a proof of lock), torn-* the same cut short,
# zeroed, with a bad last byte or a bad last unit header, bad-* a count or
# length flipped in the middle (its header checksum then fails), a corrupt
# body in the middle, another version. v1-*: format 01 (read to migrate),
# the same kinds, and the files named by their hash: libFuzzer's finds.
FUZZ_TARGETS += votelog
