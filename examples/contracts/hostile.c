/* hostile.c — library image 2: a contract an adversary would deploy. Each
 * call(mode) tries one way to hurt the chain; README.md says what each does
 * to it (it must cost the caller only the gas the event gave, and change
 * nothing outside the contract's own state — and that only on a clean HALT).
 *   0 behave: count the call (storage word 0 += 1), return the count
 *   1 loop forever                                      → OUT_OF_GAS
 *   2 write one byte on every page of a 192 MiB array   → OUT_OF_GAS
 *   3 recurse without end (each frame 4 KiB of stack)    → FAULT 2 (page fault)
 *   4 look through its cnode (its storage 20, program data 18/19, counter
 *     21, nothing else), then CALL slot 21.0 — the chain's accounts in the
 *     chain's layout, a path into its counter in its own   → FAULT 3
 *   5 count += 1000, then HALT with a junk Data in slot[0] → refused by apply
 *   6 count += 1, then FAULT with a reason (host call 18)  → FAULT 10
 *   7 count += 1, then loop                             → OUT_OF_GAS
 *   8 count += 1, then trap                             → FAULT 1
 *   9 keep 64 CNodes of 65,536 slots in its own cnode, HALT (state bloat,
 *     priced by gas alone)
 *  10 YIELD to a marker it does not hold                → FAULT 3
 *  11 + 256·n: keep a chain of n CNodes nested one in another in its own
 *     cnode, and HALT (nesting near the bound of docs/abi.md)
 *  12 nested CALL: its own counter (slot 21, given at deploy) += 5, count
 *     += 1; returns the counter's value
 *  13 as 12, then trap                                  → FAULT 1: neither
 *     the count nor the counter inside it changes
 * Anything else: return the mode. */
#include "library.h"

static volatile uint8_t big[192u << 20]; /* zero pages: only touched pages cost */

static uint64_t deep(uint64_t n)
{
    volatile uint8_t frame[4096];
    frame[0] = (uint8_t)n;
    return deep(n + 1) + frame[0];
}

static void bump(uint64_t by)
{
    uint64_t v = storage_get(0) + by;
    storage_set(&v, 1);
}

uint64_t process(void) { return library_process(); }

uint64_t call(uint64_t mode)
{
    switch (mode) {
    case 0:
        bump(1);
        return storage_get(0);
    case 1:
        for (;;)
            __asm__ volatile("");
    case 2:
        for (uint64_t i = 0; i < sizeof big; i += 4096)
            big[i] = 1;
        return 0;
    case 3:
        return deep(0);
    case 4: {
        uint64_t seen = 0;
        for (uint64_t s = 1; s < 256; s++)
            if (jk_cap_kind(JK_PATH(s)) != JK_KIND_NONE)
                seen |= s == 18 ? 1 : s == 19 ? 2 : s == 20 ? 4 : s == 21 ? 16 : 8;
        if (seen & 8)
            return 999; /* something beyond its storage, program data and counter */
        jk_call(JK_PATH2(SLOT_ACCOUNTS, 0), 1, 1000, 0, 0, 0); /* nothing there: faults */
        return 1;
    }
    case 5: {
        bump(1000);
        uint8_t junk[64];
        memset(junk, 0xAB, sizeof junk);
        jk_drop(JK_SLOT0);
        jk_data_mint(junk, sizeof junk, JK_SLOT0);
        return 5;
    }
    case 6:
        bump(1);
        jk_fault(77, "hostile: refusing on purpose", 28);
    case 7:
        bump(1);
        for (;;)
            __asm__ volatile("");
    case 8:
        bump(1);
        __builtin_trap();
    case 9:
        for (uint64_t s = 30; s < 94; s++)
            jk_cnode_mint(JK_PATH(s), 16);
        return 9;
    case 12:
    case 13: {
        jk_call_result r = jk_call(JK_PATH(CONTRACT_CHILD), EP_CALL, 100000, 5, 0, 0);
        REQUIRE(r.outcome == JK_OUTCOME_HALT);
        bump(1);
        if (mode == 13)
            __builtin_trap();
        return r.value;
    }
    case 10:
        jk_yield(JK_PATH(CONTRACT_STORAGE)); /* a Data, not an Instance */
        return 10;
    default:
        if ((mode & 255) == 11) {
            jk_drop(JK_PATH(40));
            jk_cnode_mint(JK_PATH(40), 0);
            for (uint64_t i = 1; i < (mode >> 8); i++) {
                jk_cnode_mint(JK_PATH(41), 0);
                jk_move(JK_PATH(40), JK_PATH2(41, 0));
                jk_move(JK_PATH(41), JK_PATH(40));
            }
            return mode >> 8;
        }
        return mode;
    }
}

uint64_t export(void) { return library_export(); }

JK_ENDPOINT(EP_PROCESS, process);
JK_ENDPOINT(EP_CALL, call);
JK_ENDPOINT(EP_EXPORT, export);
