/* kbench.c — the SDK program every kernel benchmark runs (bench/bench_kernel.c).
 * What an instance of it holds in its root cnode:
 *   slot 20  its state: a Data mapped read-write at STATE (persistent; the
 *            image decides the mapping's size: 4 KiB, 64 KiB or 64 MiB)
 *   slot 21  the next instance of a CALL chain (chain, relay_ask)
 *   slot 22  a marker the embedder answers (ask)
 *   slot 23  scratch (hostcalls) */
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

/* 5: n host calls of one kind (kernel_hostcall), then returns n:
 * 0 DATA_LEN of the state slot, 1 DATA_READ of 48 bytes of it into the
 * state page, 2 CAP_KIND of it, 3 DATA_MINT of 32 bytes of the state page
 * into slot 23 then DROP of slot 23 (two calls), 4 GAS. */
uint64_t hostcalls(uint64_t kind, uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        switch (kind) {
        case 0:
            sum += jk_data_len(JK_PATH(20));
            break;
        case 1:
            jk_data_read(JK_PATH(20), (i & 63) * 48, 48, (void *)(STATE + 256));
            break;
        case 2:
            sum += (uint64_t)jk_cap_kind(JK_PATH(20));
            break;
        case 3:
            jk_data_mint((const void *)STATE, 32, JK_PATH(23));
            jk_drop(JK_PATH(23));
            break;
        default:
            sum += jk_gas();
            break;
        }
    }
    STATE[1] = sum; /* the results used */
    return n;
}

JK_ENDPOINT(0, ret);
JK_ENDPOINT(1, chain);
JK_ENDPOINT(2, touch);
JK_ENDPOINT(3, ask);
JK_ENDPOINT(4, relay_ask);
JK_ENDPOINT(5, hostcalls);
