/*
 * devnet_golden.h — the demo chain's state root after 10 blocks of the
 * devnet's seeded run (seed 1, 4 validators, 16 transfers per block, oracle
 * reports every fifth block), shared by test_devnet.c (the round-robin
 * devnet) and test_devnet_consensus.c (the same run on Tendermint).
 *
 * The value was pinned from jark's own output: no independent program
 * computes it. What makes it a test rather than a tautology: the two drivers
 * above must both reach it (block production by rotation and by consensus
 * must agree on every state transition), a gcc and a clang build must reach
 * it (`make test-clang`), and a change anywhere in the chain's bytes — the
 * demo programs, the SDK, the kernel, the cap encoding — shows up here and
 * must be explained when the value is updated.
 */
#ifndef JK_TESTS_NODE_DEVNET_GOLDEN_H
#define JK_TESTS_NODE_DEVNET_GOLDEN_H

#define JK_DEVNET_GOLDEN_ROOT_10 "65051c1036546fa9e6269790ce7a536360f2079f3ebb2863e552d8bb54b0b103"

#endif
