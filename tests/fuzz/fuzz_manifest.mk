# fuzz_manifest.mk — the image manifest's libFuzzer target
# (tests/fuzz/fuzz_manifest.c), seeded from tests/fuzz/corpus/manifest/
# (replayed by `make test`, see tests/fuzz/test_corpus.c).
FUZZ_TARGETS += manifest
