/* test_corpus.c — replays every fuzz corpus file through its target, so that
 * each input a fuzzer ever found interesting is rerun by `make test`. */
#include "../files.h"
#include "../test.h"
#include "fuzz_targets.h"

#include <stdlib.h>
#include <string.h>

/* Runs target on every file in tests/fuzz/corpus/<name>; returns the count. */
static size_t jk_replay(const char *name, int (*target)(const uint8_t *, size_t))
{
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", name);
    jk_test_corpus c;
    if (!jk_test_corpus_open(&c, dir))
        return 0;
    size_t count = 0;
    while (jk_test_corpus_next(&c)) {
        target(c.bytes, c.len); /* aborts on a bug */
        count++;
    }
    jk_test_corpus_close(&c);
    return count;
}

/* What these tests assert, since their only JK_CHECK is a count: each
 * target checks its own properties and aborts (taking the runner down, so
 * `make test` fails) when one breaks — decode-then-encode round trips, the
 * interpreter and the recompiler agreeing, a refusal always carrying a
 * message, a reloaded state deciding as the original did (see each
 * tests/fuzz/fuzz_*.c) — and under `make asan` every overread, leak or
 * undefined operation on these inputs fails too. The count only guards the
 * replay itself: a corpus folder emptied or moved would otherwise pass
 * silently. (The corpus tests of the cap, image, block and consensus
 * decoders, in their own folders, also check what each seed must decode to.) */
JK_TEST(test_fuzz_corpus_pvm) { JK_CHECK(jk_replay("pvm", jk_fuzz_pvm) >= 201); }
JK_TEST(test_fuzz_corpus_asm) { JK_CHECK(jk_replay("asm", jk_fuzz_asm) >= 201); }
JK_TEST(test_fuzz_corpus_spec) { JK_CHECK(jk_replay("spec", jk_fuzz_spec) >= 8); }
JK_TEST(test_fuzz_corpus_manifest) { JK_CHECK(jk_replay("manifest", jk_fuzz_manifest) >= 6); }
JK_TEST(test_fuzz_corpus_sdk) { JK_CHECK(jk_replay("sdk", jk_fuzz_sdk) >= 4); }
JK_TEST(test_fuzz_corpus_jit) { JK_CHECK(jk_replay("jit", jk_fuzz_jit) >= 220); }
JK_TEST(test_fuzz_corpus_events) { JK_CHECK(jk_replay("events", jk_fuzz_events) >= 6); }
JK_TEST(test_fuzz_corpus_net) { JK_CHECK(jk_replay("net", jk_fuzz_net) >= 17); }
JK_TEST(test_fuzz_corpus_rpc) { JK_CHECK(jk_replay("rpc", jk_fuzz_rpc) >= 24); }
JK_TEST(test_fuzz_corpus_rpc_reply) { JK_CHECK(jk_replay("rpc_reply", jk_fuzz_rpc_reply) >= 12); }
JK_TEST(test_fuzz_corpus_store) { JK_CHECK(jk_replay("store", jk_fuzz_store) >= 5); }
JK_TEST(test_fuzz_corpus_cap_groups) { JK_CHECK(jk_replay("cap_groups", jk_fuzz_cap_groups) >= 7); }
JK_TEST(test_fuzz_corpus_votelog) { JK_CHECK(jk_replay("votelog", jk_fuzz_votelog) >= 50); }
JK_TEST(test_fuzz_corpus_queue) { JK_CHECK(jk_replay("queue", jk_fuzz_queue) >= 10); }
JK_TEST(test_fuzz_corpus_kernel) { JK_CHECK(jk_replay("kernel", jk_fuzz_kernel) >= 20); }
JK_TEST(test_fuzz_corpus_examples) { JK_CHECK(jk_replay("examples", jk_fuzz_examples) >= 7); }
JK_TEST(test_fuzz_corpus_blake2b) { JK_CHECK(jk_replay("blake2b", jk_fuzz_blake2b) >= 10); }

/* Session 10's fuzz run left timeout-ebbf9922… (this corpus's
 * exchange-first-input-built-the-chain): the smallest exchange input of the
 * corpus then, so the first one libFuzzer ran of that chain, and the one
 * that paid for compiling it (five SDK builds and a genesis under ASan,
 * longer than -timeout=10 at load 15). Its own work is small: five events
 * (four orders, one junk transact; no 0x80 selector, so one block at the
 * end), 39 ms under ASan once the chain exists. The fix builds every chain
 * before the first input (jk_fuzz_examples_init, libFuzzer's
 * LLVMFuzzerInitialize, which -timeout does not count); this checks that no
 * input of the corpus builds a chain after it, and that the reproducer does
 * the work read by hand from its bytes. */
JK_TEST(test_fuzz_examples_no_input_builds_a_chain)
{
    jk_fuzz_examples_init();
    uint64_t builds = jk_fuzz_examples_builds;
    JK_CHECK_EQ(builds, 5); /* each chain once per process, by the init or before it */
    jk_test_corpus c;
    JK_REQUIRE(jk_test_corpus_open(&c, "tests/fuzz/corpus/examples"));
    int seen = 0;
    while (jk_test_corpus_next(&c)) {
        uint64_t events = jk_fuzz_examples_events, blocks = jk_fuzz_examples_blocks;
        jk_fuzz_examples(c.bytes, c.len);
        if (!strcmp(c.name, "exchange-first-input-built-the-chain")) {
            seen++;
            JK_CHECK_EQ(jk_fuzz_examples_events - events, 5);
            JK_CHECK_EQ(jk_fuzz_examples_blocks - blocks, 1);
        }
        JK_CHECK_EQ(jk_fuzz_examples_builds, builds);
    }
    jk_test_corpus_close(&c);
    JK_CHECK_EQ(seen, 1);
}

/* fuzz_kernel gives each step (the call, each resume) at most 2,000 · 64 gas
 * (its header says why: at 2,000 · 256 the worst corpus inputs took 0.45 s
 * of CPU each under ASan). This corpus input asks for the most (byte 0 is
 * 0xf6) and touches zero pages until it runs out of gas, so a step uses all
 * it is given: it must use no more than the bound, and more than half. */
extern int64_t jk_fuzz_kernel_gas_most;
JK_TEST(test_fuzz_kernel_step_gas_is_bounded)
{
    jk_test_corpus c;
    JK_REQUIRE(jk_test_corpus_open(&c, "tests/fuzz/corpus/kernel"));
    int seen = 0;
    while (jk_test_corpus_next(&c)) {
        if (strcmp(c.name, "1079e8d80c4002b0f4886e92cd333b5909a7a2a4"))
            continue;
        seen++;
        jk_fuzz_kernel_gas_most = 0;
        jk_fuzz_kernel(c.bytes, c.len);
        JK_CHECK(jk_fuzz_kernel_gas_most <= 2000 * 64);
        JK_CHECK(jk_fuzz_kernel_gas_most > 1000 * 64);
    }
    jk_test_corpus_close(&c);
    JK_CHECK_EQ(seen, 1);
}
