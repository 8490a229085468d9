/* kbench.c — the SDK program every kernel benchmark runs (bench/bench_kernel.c).
 * What an instance of it holds in its root cnode:
 *   slot 20  its state: a Data mapped read-write at STATE (persistent; the
 *            image decides the mapping's size: 4 KiB, 64 KiB or 64 MiB)
 *   slot 21  the next instance of a CALL chain (chain, relay_ask)
 *   slot 22  a marker the embedder answers (ask) */
#include "jark.h"

#define STATE ((volatile uint64_t *)0x40000000)
#define WORDS_PER_PAGE 512

/* 0: return the argument at once: one PVM instruction (the return jump). */
uint64_t ret(uint64_t x)
{
    return x;
}

/* 1: CALL the instance in slot 21 with the same endpoint and depth - 1, all
 * the way down to depth 0, which returns 0 without calling. A callee that
 * does not HALT traps; each level adds 1, so the top returns the depth. */
uint64_t chain(uint64_t depth)
{
    if (depth == 0)
        return 0;
    jk_call_result r = jk_call(JK_PATH(21), 1, jk_gas(), depth - 1, 0, 0);
    if (r.outcome != JK_OUTCOME_HALT)
        __builtin_trap();
    return r.value + 1;
}

/* 2: write `value` into word `word` (0..511) of page `page` of the state
 * mapping: one dirty page, minted back at HALT. Returns the page number. */
uint64_t touch(uint64_t page, uint64_t word, uint64_t value)
{
    STATE[page * WORDS_PER_PAGE + (word & (WORDS_PER_PAGE - 1))] = value;
    return page;
}

/* 3: an attest's shape: write the state, yield to the marker in slot 22
 * (the embedder answers), write the state again. Returns x + 1. */
uint64_t ask(uint64_t x)
{
    STATE[0] = x;
    jk_yield(JK_PATH(22));
    STATE[1] = x;
    return x + 1;
}

/* 4: a verify calling its AttestationAuthority: CALL slot 21's `ask`. */
uint64_t relay_ask(uint64_t x)
{
    jk_call_result r = jk_call(JK_PATH(21), 3, jk_gas(), x, 0, 0);
    if (r.outcome != JK_OUTCOME_HALT)
        __builtin_trap();
    return r.value + 1;
}

JK_ENDPOINT(0, ret);
JK_ENDPOINT(1, chain);
JK_ENDPOINT(2, touch);
JK_ENDPOINT(3, ask);
JK_ENDPOINT(4, relay_ask);
