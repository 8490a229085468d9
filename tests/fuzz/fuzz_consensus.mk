# fuzz_consensus.mk — the consensus layer's libFuzzer target
# (tests/fuzz/fuzz_consensus.c): message, certificate and record decoders,
# then the state machine fed a sequence of messages. Seeded from
# tests/fuzz/corpus/consensus/ (replayed by `make test`, see
# tests/consensus/test_cons_corpus.c; regenerate the seeds with
# JK_CONS_CORPUS_OUT=dir build/tests test_cons_corpus_write).
FUZZ_TARGETS += consensus
