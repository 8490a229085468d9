/*
 * test_adv_decode_alloc.c — no decoder of what a peer, a client or a store
 * hands the node allocates in proportion to a length field before checking
 * it against the bytes present (adv15).
 *
 * Each decoding fuzz target (blocks, consensus messages / certificates /
 * records, relayed events, node values, the vote log, the dispatch queue,
 * JSON-RPC requests and replies, events files, the store's CNode groups) is
 * fed every file of its corpus (tests/fuzz/corpus/<target>/, up to 4 KiB)
 * with, at every byte position, a count or length inflated in turn: a u32
 * of 0xFFFFFFFF, 0x7FFFFFFF and 2^24, and a natural of 2^64 − 1 (nine 0xFF
 * bytes). Whatever the decoder makes of it, the bytes the host allocates
 * during the call (tests/adversary/adv_alloc.c) must stay within 64 per
 * input byte plus 4 MiB: a decoder that sized an array from the field
 * before checking it would allocate gigabytes, or fail for want of them.
 * `JK_ADV_REPORT=1` prints each target's worst.
 */
#include "../files.h"
#include "../test.h"
#include "../fuzz/fuzz_targets.h"
#include "adv_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the node's own targets (tests/fuzz/fuzz_node_event.c, fuzz_node_value.c),
 * declared where their corpus tests call them */
int jk_fuzz_node_event(const uint8_t *data, size_t size);
int jk_fuzz_node_value(const uint8_t *data, size_t size);

#define SWEEP_MAX_INPUT 4096u
#define SWEEP_MAX_FILES 12u
#define SWEEP_PER_BYTE 64u
#define SWEEP_CONSTANT (4ull << 20)

typedef struct pattern {
    uint8_t b[9];
    unsigned n;
} pattern;

static const pattern patterns[] = {
    {{0xFF, 0xFF, 0xFF, 0xFF}, 4},
    {{0xFF, 0xFF, 0xFF, 0x7F}, 4},
    {{0x00, 0x00, 0x00, 0x01}, 4},
    {{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 9},
};

/* The worst bytes allocated over the inflated copies of one target's
 * corpus; false when the corpus could not be read. */
static bool sweep(const char *target, int (*fn)(const uint8_t *, size_t))
{
    char dir[128];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", target);
    jk_test_corpus c;
    if (!jk_test_corpus_open(&c, dir))
        return false;
    uint8_t *buf = malloc(SWEEP_MAX_INPUT);
    uint64_t worst = 0;
    size_t worst_len = 0, files = 0, runs = 0;
    while (buf && files < SWEEP_MAX_FILES && jk_test_corpus_next(&c)) {
        if (c.len == 0 || c.len > SWEEP_MAX_INPUT)
            continue;
        files++;
        for (size_t at = 0; at < c.len; at++)
            for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
                memcpy(buf, c.bytes, c.len);
                size_t n = patterns[p].n < c.len - at ? patterns[p].n : c.len - at;
                memcpy(buf + at, patterns[p].b, n);
                uint64_t before = adv_allocated();
                fn(buf, c.len); /* aborts on a bug */
                uint64_t used = adv_allocated() - before;
                runs++;
                if (used > SWEEP_PER_BYTE * c.len + SWEEP_CONSTANT)
                    printf("%s: %s with pattern %zu at byte %zu: %llu bytes allocated for %zu bytes\n", target,
                           c.name, p, at, (unsigned long long)used, c.len);
                JK_CHECK(used <= SWEEP_PER_BYTE * c.len + SWEEP_CONSTANT);
                if (used > worst) {
                    worst = used;
                    worst_len = c.len;
                }
            }
    }
    jk_test_corpus_close(&c);
    free(buf);
    if (getenv("JK_ADV_REPORT"))
        printf("  %-10s files=%zu runs=%zu worst=%llu bytes (input %zu bytes)\n", target, files, runs,
               (unsigned long long)worst, worst_len);
    return buf != NULL && files > 0;
}

JK_TEST(test_adv_decode_alloc_bounded_by_input)
{
    JK_CHECK(sweep("block", jk_fuzz_block));
    JK_CHECK(sweep("consensus", jk_fuzz_consensus));
    JK_CHECK(sweep("node_event", jk_fuzz_node_event));
    JK_CHECK(sweep("node_value", jk_fuzz_node_value));
    JK_CHECK(sweep("votelog", jk_fuzz_votelog));
    JK_CHECK(sweep("queue", jk_fuzz_queue));
    JK_CHECK(sweep("rpc", jk_fuzz_rpc));
    JK_CHECK(sweep("rpc_reply", jk_fuzz_rpc_reply));
    JK_CHECK(sweep("events", jk_fuzz_events));
    JK_CHECK(sweep("cap_groups", jk_fuzz_cap_groups));
    JK_CHECK(sweep("net", jk_fuzz_net));
}
