# fuzz_node_value.mk — the chain app's consensus value codec (block ‖ the
# parent's certificate ‖ cert_len; tests/fuzz/fuzz_node_value.c), seeded
# from tests/fuzz/corpus/node_value/ (replayed by `make test` through
# tests/node/test_value.c): block 1 without a certificate, block 2 with
# one, a certificate length past the block, a certificate cut short, one
# with its validators out of order.
FUZZ_TARGETS += node_value
