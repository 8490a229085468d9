# fuzz_events.mk — the events-file decoder's and key-file parser's libFuzzer
# target (tests/fuzz/fuzz_events.c), seeded from tests/fuzz/corpus/events/
# (replayed by `make test`, see tests/fuzz/test_corpus.c).
FUZZ_TARGETS += events
