/* kprog.c — one SDK program playing every role the kernel tests need. Each
 * test instance runs this image; what differs is what its cnode holds:
 *   slot 20  its state: a Data mapped read-write at STATE (persistent)
 *   slot 21  another instance to CALL
 *   slot 22  a marker instance to YIELD to
 *   slot 23  its yield-catcher list (a CNode of marker instances) */
#include "jark.h"

#define STATE ((volatile uint64_t *)0x40000000)

/* 0: add x to the counter in the state page; return the new value. */
uint64_t bump(uint64_t x)
{
    STATE[0] += x;
    STATE[400] = STATE[0] * 3; /* a second word, same page */
    return STATE[0];
}

/* 1: CALL slot 21's endpoint ep with gas and argument a; returns
 * outcome * 2^32 + value. */
uint64_t relay(uint64_t ep, uint64_t gas, uint64_t a)
{
    jk_call_result r = jk_call(JK_PATH(21), ep, gas, a, 0, 0);
    return (r.outcome << 32) | (uint32_t)r.value;
}

/* 2: CALL slot 21 (bump 7) and then fault: nothing of it may survive. */
uint64_t relay_then_fault(void)
{
    jk_call(JK_PATH(21), 0, 1000000, 7, 0, 0);
    bump(1);
    __builtin_trap();
}

/* 3: spin forever. */
uint64_t spin(void)
{
    for (volatile uint64_t i = 0;; i++)
        ;
}

/* 4: write through a wild pointer. */
uint64_t wild(void)
{
    *(volatile uint64_t *)0x12345678 = 1;
    return 0;
}

/* 5: CALL the instance in slot 21 the same way, all the way down; a frame
 * whose callee did not HALT traps. The innermost (no slot 21) returns 1. */
uint64_t recurse(void)
{
    if (jk_cap_kind(JK_PATH(21)) != JK_KIND_INSTANCE)
        return 1;
    jk_call_result r = jk_call(JK_PATH(21), 5, jk_gas(), 0, 0, 0);
    if (r.outcome != JK_OUTCOME_HALT)
        __builtin_trap();
    return r.value + 1;
}

/* 6: yield to the marker in slot 22; the answer is a Data in slot[0] whose
 * first byte is returned plus the counter. */
uint64_t ask(void)
{
    bump(1);
    jk_yield(JK_PATH(22));
    uint8_t answer = 0;
    jk_data_read(JK_SLOT0, 0, 1, &answer);
    return answer + STATE[0] * 1000;
}

/* 7: CALL slot 21's endpoint ep (with inner_ep as its first argument, a
 * relay's target endpoint); if a yield is caught here (this instance lists
 * the marker in slot 23), answer with a Data {42} through slot[0] and
 * resume. Returns the final value. */
uint64_t catcher(uint64_t ep, uint64_t inner_ep)
{
    jk_call_result r = jk_call(JK_PATH(21), ep, 1000000, inner_ep, 500000, 0);
    if (r.outcome != JK_OUTCOME_YIELDED)
        return 900000 + r.outcome;
    static const uint8_t answer[1] = {42};
    jk_drop(JK_SLOT0);
    jk_data_mint(answer, 1, JK_SLOT0);
    r = jk_call_resume(JK_PATH(21), 1000000);
    return r.outcome == JK_OUTCOME_HALT ? r.value : 800000 + r.outcome;
}

/* 8: as catcher, but drop the paused callee instead of answering. */
uint64_t dropper(uint64_t ep, uint64_t inner_ep)
{
    jk_call_result r = jk_call(JK_PATH(21), ep, 1000000, inner_ep, 500000, 0);
    if (r.outcome != JK_OUTCOME_YIELDED)
        return 900000 + r.outcome;
    jk_drop_paused(JK_PATH(21));
    return jk_cap_kind(JK_PATH(21)) * 10 + (jk_call(JK_PATH(21), 0, 100000, 5, 0, 0).outcome);
}

/* 9: mint a Data from memory into slot 24 and read it back through DATA_LEN. */
uint64_t minter(uint64_t n)
{
    static uint8_t buf[64];
    for (uint64_t i = 0; i < n && i < 64; i++)
        buf[i] = (uint8_t)(i * 3);
    jk_drop(JK_PATH(24));
    jk_data_mint(buf, n, JK_PATH(24));
    uint8_t back[64];
    jk_data_read(JK_PATH(24), 0, n, back);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += back[i];
    return jk_data_len(JK_PATH(24)) * 100000 + sum;
}

/* 10: an unknown host call. */
uint64_t bad_call(void)
{
    return (uint64_t)jk_host_call(77, 0, 0, 0, 0, 0, 0);
}

/* 11: write to the pinned (read-only) data? Copy into a pinned slot. */
uint64_t touch_pinned(void)
{
    jk_copy(JK_PATH(20), JK_PATH(19));
    return 0;
}

/* 12: spawn an instance of the image in slot 25 from a fresh cnode into
 * slot 26, and compare lineages. */
uint64_t spawner(void)
{
    jk_cnode_mint(JK_PATH(27), 8);
    jk_derive_spawn(JK_PATH(25), JK_PATH(27), JK_PATH(26));
    return (uint64_t)jk_cap_kind(JK_PATH(26)) * 10 + (uint64_t)jk_cap_kind(JK_PATH(27));
}

/* 13: set_image to the Image in slot 25 (takes effect at the next CALL). */
uint64_t become(void)
{
    jk_set_image(JK_PATH(25));
    return 1;
}

/* 14: a slot path deeper than the kernel allows. */
uint64_t too_deep(void)
{
    return (uint64_t)jk_cap_kind((5ull << 60) | 1);
}

/* 15: run the script in slot 28: a Data of (n, a0, a1, a2, a3) u64 tuples,
 * each one host call n with those arguments; returns the last result. */
static uint64_t do_call(uint64_t n, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    switch (n) {
    case 0: return (uint64_t)jk_host_call(0, a, b, c, d, 0, 0);
    case 1: return (uint64_t)jk_host_call(1, a, b, c, d, 0, 0);
    case 2: return (uint64_t)jk_host_call(2, a, b, c, d, 0, 0);
    case 4: return (uint64_t)jk_host_call(4, a, b, c, d, 0, 0);
    case 18: return (uint64_t)jk_host_call(18, a, b, c, d, 0, 0);
    case 100: return (uint64_t)jk_host_call(100, a, b, c, d, 0, 0);
    case 3: return (uint64_t)jk_host_call(3, a, b, c, d, 0, 0);
    case 5: return (uint64_t)jk_host_call(5, a, b, c, d, 0, 0);
    case 6: return (uint64_t)jk_host_call(6, a, b, c, d, 0, 0);
    case 7: return (uint64_t)jk_host_call(7, a, b, c, d, 0, 0);
    case 8: return (uint64_t)jk_host_call(8, a, b, c, d, 0, 0);
    case 9: return (uint64_t)jk_host_call(9, a, b, c, d, 0, 0);
    case 10: return (uint64_t)jk_host_call(10, a, b, c, d, 0, 0);
    case 11: return (uint64_t)jk_host_call(11, a, b, c, d, 0, 0);
    case 12: return (uint64_t)jk_host_call(12, a, b, c, d, 0, 0);
    case 13: return (uint64_t)jk_host_call(13, a, b, c, d, 0, 0);
    case 14: return (uint64_t)jk_host_call(14, a, b, c, d, 0, 0);
    case 15: return (uint64_t)jk_host_call(15, a, b, c, d, 0, 0);
    case 16: return (uint64_t)jk_host_call(16, a, b, c, d, 0, 0);
    case 17: return (uint64_t)jk_host_call(17, a, b, c, d, 0, 0);
    default: return (uint64_t)jk_host_call(99, a, b, c, d, 0, 0);
    }
}

uint64_t script(void)
{
    static uint64_t words[5 * 32];
    uint64_t len = jk_data_len(JK_PATH(28));
    if (len > sizeof words)
        __builtin_trap();
    jk_data_read(JK_PATH(28), 0, len, words);
    uint64_t r = 0;
    for (uint64_t i = 0; i + 5 <= len / 8; i += 5)
        r = do_call(words[i], words[i + 1], words[i + 2], words[i + 3], words[i + 4]);
    return r;
}

/* 16: write a word into the state page through a read-only-pinned view?
 * Write to the read-only data at 0x10000 instead: a page fault. */
uint64_t write_ro(void)
{
    *(volatile uint64_t *)0x10000 = 1;
    return 0;
}

/* 17: spawn n instances one after the other (each dropped again). */
uint64_t spawn_many(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        jk_cnode_mint(JK_PATH(27), 8);
        jk_derive_spawn(JK_PATH(25), JK_PATH(27), JK_PATH(26));
        jk_drop(JK_PATH(26));
    }
    return n;
}

/* 19: refuse with a reason, as a chain's verify would. */
uint64_t refuse(uint64_t nonce, uint64_t expected)
{
    char text[64] = "verify refused: nonce ";
    unsigned n = 22;
    text[n++] = (char)('0' + nonce % 10);
    const char *mid = ", expected ";
    while (*mid)
        text[n++] = *mid++;
    text[n++] = (char)('0' + expected % 10);
    jk_fault(7, text, n);
}

/* 20: spawn n instances, yield to the marker in slot 22, spawn n more. */
uint64_t spawn_yield_spawn(uint64_t n)
{
    spawn_many(n);
    jk_yield(JK_PATH(22));
    return spawn_many(n) * 2;
}

/* 21: write one byte into each of n pages from 0x80000000 (an image with a
 * zero mapping there); returns n. */
uint64_t touch_pages(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        ((volatile uint8_t *)0x80000000u)[i * 4096] = 1;
    return n;
}

/* 18: yield to the marker in slot 22, then spin: only its gas cap ends it. */
uint64_t ask_then_spin(void)
{
    jk_yield(JK_PATH(22));
    for (volatile uint64_t i = 0;; i++)
        ;
}

JK_ENDPOINT(0, bump);
JK_ENDPOINT(1, relay);
JK_ENDPOINT(2, relay_then_fault);
JK_ENDPOINT(3, spin);
JK_ENDPOINT(4, wild);
JK_ENDPOINT(5, recurse);
JK_ENDPOINT(6, ask);
JK_ENDPOINT(7, catcher);
JK_ENDPOINT(8, dropper);
JK_ENDPOINT(9, minter);
JK_ENDPOINT(10, bad_call);
JK_ENDPOINT(11, touch_pinned);
JK_ENDPOINT(12, spawner);
JK_ENDPOINT(13, become);
JK_ENDPOINT(14, too_deep);
JK_ENDPOINT(15, script);
JK_ENDPOINT(16, write_ro);
JK_ENDPOINT(17, spawn_many);
JK_ENDPOINT(18, ask_then_spin);
JK_ENDPOINT(19, refuse);
JK_ENDPOINT(20, spawn_yield_spawn);
JK_ENDPOINT(21, touch_pages);
