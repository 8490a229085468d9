/*
 * test_kernel_fuzz.c — the kernel fuzz target (tests/fuzz/fuzz_kernel.c) as
 * a property: random host-call programs from a fixed seed (its corpus,
 * tests/fuzz/corpus/kernel, is replayed by tests/fuzz/test_corpus.c).
 * The target aborts when a guest makes the kernel fail or when a state
 * reloaded from its objects decides differently from the one built in memory.
 */
#include "../test.h"

#include <stdlib.h>

int jk_fuzz_kernel(const uint8_t *data, size_t size);
extern uint64_t jk_fuzz_kernel_outcomes[4];
extern uint64_t jk_fuzz_kernel_in_place;

/* Random cap-table programs: ops drawn from a fixed xorshift seed. */
JK_TEST(test_kernel_fuzz_random_programs_reload_alike)
{
    uint64_t before[4], in_place = jk_fuzz_kernel_in_place;
    memcpy(before, jk_fuzz_kernel_outcomes, sizeof before);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    uint8_t buf[2 + 5 * 24];
    for (int run = 0; run < 200; run++) {
        for (size_t i = 0; i < sizeof buf; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (uint8_t)(x >> 24);
        }
        /* Mostly cap-table calls (COPY..SWAP, CNODE_MINT, CAP_KIND, CALL). */
        static const uint8_t kinds[] = {1, 1, 2, 4, 5, 5, 6, 6, 7, 8, 13, 14, 15, 16, 16, 17, 18, 0xF0};
        for (size_t op = 0; op < 24; op++) {
            uint8_t *o = buf + 2 + 5 * op;
            o[0] = kinds[o[0] % sizeof kinds];
            if (o[0] == 4 && o[1] & 1)
                o[1] = 3; /* YIELD to the kernel marker (slot 22) */
            if (o[0] == 1 && o[1] & 1) {
                o[1] = 2;         /* CALL slot 21 (B), */
                o[2] = 0xC1;      /* endpoint 1 (B's ops), */
                o[3] = 0x40 | 13; /* with 5,000 gas */
            }
        }
        buf[0] %= 8; /* 2,000..16,000 gas: some runs end out of gas */
        jk_fuzz_kernel(buf, sizeof buf);
    }
    /* No run aborted; and the programs reach every outcome. */
    if (getenv("JK_FUZZ_KERNEL_PRINT"))
        printf("outcomes: %llu %llu %llu %llu\n", (unsigned long long)(jk_fuzz_kernel_outcomes[0] - before[0]),
               (unsigned long long)(jk_fuzz_kernel_outcomes[1] - before[1]),
               (unsigned long long)(jk_fuzz_kernel_outcomes[2] - before[2]),
               (unsigned long long)(jk_fuzz_kernel_outcomes[3] - before[3]));
    /* Some yields were answered in place (and matched pause + resume). */
    if (getenv("JK_FUZZ_KERNEL_PRINT"))
        printf("answered in place: %llu\n", (unsigned long long)(jk_fuzz_kernel_in_place - in_place));
    JK_CHECK(jk_fuzz_kernel_in_place > in_place);
    for (int o = 0; o < 4; o++)
        if (jk_fuzz_kernel_outcomes[o] == before[o])
            jk_test_fail(__FILE__, __LINE__, "no random program ended with outcome %d", o);
}
