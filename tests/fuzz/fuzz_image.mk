# fuzz_image.mk — the image file reader's libFuzzer target
# (tests/fuzz/fuzz_image.c), seeded from tests/fuzz/corpus/image/ (replayed by
# `make test`, see tests/image/test_image.c).
FUZZ_TARGETS += image
