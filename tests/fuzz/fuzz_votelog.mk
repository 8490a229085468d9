# fuzz_votelog.mk — the signed-vote log decoder's libFuzzer target
# (tests/fuzz/fuzz_votelog.c), seeded from tests/fuzz/corpus/votelog/
# (replayed by `make test` through tests/fuzz/test_corpus.c): valid-* logs
# written by jk_node_votelog_append (one, two and three appends), torn-* the
# same cut short, with a bad last byte or a zero tail, *-pol* with proofs
# of lock, bad-* a corrupt middle, a bad count or length, another version.
FUZZ_TARGETS += votelog
