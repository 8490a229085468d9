/* test_kernel_hostcall_code.c — host calls the kernel serves inside compiled
 * code (loop.c, jk_serve_in_code; docs/abi.md "Host calls served in compiled
 * code") must leave every observable as the loop's exit, host call and
 * re-entry do: the interpreter, which never serves in the code, is the
 * reference. Scripts of local host calls (slot writes, guest bytes written
 * into the persistent state page, a query of the gas left) run on both
 * engines under a sweep of the gas from nothing to plenty, so out-of-gas
 * falls at every host call's price, at every page's first touch and in
 * every block between; outcome, value, gas used, fault and message, the
 * result instance (state and continuation encoding) and slot[0] must match. */
#include "kfix.h"
#include "../test.h"

#include <string.h>

#define P3(s, a, b) ((3ull << 60) | (uint64_t)(s) | ((uint64_t)(a) << 8) | ((uint64_t)(b) << 24))

static bool kh_same_cap(jk_cap a, jk_cap b)
{
    return jk_cap_is_null(a) ? jk_cap_is_null(b) : !jk_cap_is_null(b) && jk_cap_equal(a, b);
}

/* Run the script at `gas` on both kernels; returns the interpreter's gas used. */
static int64_t kh_both(jk_kernel *ki, jk_kernel *kj, jk_cap image, jk_cap data, const kt_op *ops, size_t nops,
                       int64_t gas, int *outcome)
{
    uint32_t slots[1] = {30};
    jk_kernel_result ri, rj;
    jk_err ei = kt_script_with(ki, image, 1, slots, &data, ops, nops, jk_cap_null(), gas, &ri);
    jk_err ej = kt_script_with(kj, image, 1, slots, &data, ops, nops, jk_cap_null(), gas, &rj);
    JK_CHECK(ei == JK_OK && ej == JK_OK);
    if (ei != JK_OK || ej != JK_OK)
        return 0;
    JK_CHECK_EQ(ri.outcome, rj.outcome);
    JK_CHECK_EQ(ri.value, rj.value);
    JK_CHECK_EQ(ri.gas_used, rj.gas_used);
    JK_CHECK_EQ(ri.fault, rj.fault);
    JK_CHECK(!strcmp(ri.fault_msg, rj.fault_msg));
    JK_CHECK(kh_same_cap(ri.instance, rj.instance));
    JK_CHECK(kh_same_cap(ri.slot0, rj.slot0));
    if (ri.gas_used != rj.gas_used || ri.value != rj.value || !kh_same_cap(ri.instance, rj.instance))
        printf("  differs at gas %lld: outcome %d/%d value %llu/%llu used %lld/%lld (%s | %s)\n", (long long)gas,
               ri.outcome, rj.outcome, (unsigned long long)ri.value, (unsigned long long)rj.value,
               (long long)ri.gas_used, (long long)rj.gas_used, ri.fault_msg, rj.fault_msg);
    *outcome = (int)ri.outcome;
    int64_t used = ri.gas_used;
    jk_kernel_result_clear(&ri);
    jk_kernel_result_clear(&rj);
    return used;
}

static void kh_sweep(jk_kernel *ki, jk_kernel *kj, jk_cap image, jk_cap data, const kt_op *ops, size_t nops,
                     int want_end)
{
    int outcome;
    int64_t full = kh_both(ki, kj, image, data, ops, nops, 10000000, &outcome);
    JK_CHECK_EQ(outcome, want_end);
    /* every gas value over the last few thousand (the script's host calls and
     * the return), a stride below */
    int64_t fine = full > 4000 ? full - 4000 : 0;
    for (int64_t gas = 0; gas <= full + 2; gas += gas < fine ? 97 : 1)
        kh_both(ki, kj, image, data, ops, nops, gas, &outcome);
}

/* The compiled runs did serve host calls in the code; then both go. */
static void kh_done(jk_kernel *ki, jk_kernel *kj, jk_cap data)
{
#if defined(__x86_64__) && defined(__linux__)
    JK_CHECK(jk_kernel_hostcalls_in_code(kj) > 1000);
#endif
    jk_cap_release(data);
    jk_kernel_free(ki);
    jk_kernel_free(kj);
}

/* A script that must HALT, then scripts of two calls each that must FAULT
 * at the second (a refusal after a call the short way served), swept on
 * both kernels over a Data of bytes in slot 30. */
static void kh_cases(const void *bytes, size_t len, const kt_op *halts, size_t nh, const kt_op (*refused)[2],
                     size_t nr)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *ki, *kj;
    JK_REQUIRE(kt_kernel_pair(&ki, &kj));
    jk_cap data;
    JK_REQUIRE(jk_cap_data_new(bytes, len, &data) == JK_OK);
    kh_sweep(ki, kj, e.image, data, halts, nh, JK_KERNEL_HALT);
    for (size_t i = 0; i < nr; i++)
        kh_sweep(ki, kj, e.image, data, refused[i], 2, JK_KERNEL_FAULT);
    kh_done(ki, kj, data);
    KT_END(&e);
}

/* A root slot the kprog image pins (0 if none). */
static uint32_t kh_pinned(void)
{
    jk_cap image = kt_image();
    uint32_t s = !jk_cap_is_null(jk_cap_image_pinned(image, 18)) ? 18 : 19;
    if (jk_cap_is_null(jk_cap_image_pinned(image, s)))
        s = 0;
    jk_cap_release(image);
    return s;
}

JK_TEST(test_kernel_hostcall_in_code_equals_the_loop)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *ki, *kj;
    JK_REQUIRE(kt_kernel_pair(&ki, &kj));
    jk_cap data;
    JK_REQUIRE(jk_cap_data_new("0123456789abcdef0123456789", 26, &data) == JK_OK);
    /* guest bytes into the state page, back out into a slot, slot writes
     * at root and nested paths, a query; ends with the gas left */
    const kt_op ops[] = {
        {JK_HOST_DATA_LEN, 30, 0, 0, 0},
        {JK_HOST_DATA_READ, 30, 2, 16, 0x40000008},
        {JK_HOST_DATA_MINT, 0x40000008, 16, 31, 0},
        {JK_HOST_COPY, 31, 32, 0, 0},
        {JK_HOST_CNODE_MINT, 34, 2, 0, 0},
        {JK_HOST_COPY, 30, P2(34, 1), 0, 0},
        {JK_HOST_CAP_KIND, P2(34, 1), 0, 0, 0},
        {JK_HOST_DATA_READ, P2(34, 1), 0, 26, 0x40000800},
        {JK_HOST_SWAP, 32, 33, 0, 0},
        {JK_HOST_DROP, 31, 0, 0, 0},
        {JK_HOST_GAS, 0, 0, 0, 0},
    };
    kh_sweep(ki, kj, e.image, data, ops, sizeof ops / sizeof ops[0], JK_KERNEL_HALT);
    /* a local call that faults in the code's server (its outcome is handed
     * to the loop), after others were served */
    const kt_op refused[] = {
        {JK_HOST_DATA_READ, 30, 0, 8, 0x40000010},
        {JK_HOST_COPY, 30, 31, 0, 0},
        {JK_HOST_DATA_READ, 35, 0, 8, 0x40000010}, /* an empty slot */
    };
    kh_sweep(ki, kj, e.image, data, refused, sizeof refused / sizeof refused[0], JK_KERNEL_FAULT);
    const kt_op unwritable[] = {
        {JK_HOST_DATA_LEN, 30, 0, 0, 0},
        {JK_HOST_DATA_READ, 30, 0, 8, 0x10000}, /* read-only data */
    };
    kh_sweep(ki, kj, e.image, data, unwritable, sizeof unwritable / sizeof unwritable[0], JK_KERNEL_FAULT);
    /* the compiled runs did serve host calls in the code; the interpreter's never */
    JK_CHECK_EQ(jk_kernel_hostcalls_in_code(ki), 0);
    kh_done(ki, kj, data);
    KT_END(&e);
}

/* The reads a verify makes most (DATA_READ, DATA_LEN, CAP_KIND) take a
 * shorter way in compiled code (hostcall.c, jk_kernel_hostcall_serve_read): the
 * plain case there, anything else through jk_kernel_hostcall. Each case the
 * short way must hand on or decide alike — a read across a page of the
 * Data, at its end, empty, past it; a destination over a page boundary
 * into unmapped memory, read-only, past 2^32; nested paths, malformed
 * ones, an empty slot, a slot that holds no Data — with prices, answers,
 * faults and messages as the interpreter's (which never takes it), at every
 * gas value near the end. */
JK_TEST(test_kernel_hostcall_reads_fast_equals_general)
{
    static uint8_t bytes[9000];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(i * 7 + 1);
    const kt_op reads[] = {
        {JK_HOST_DATA_LEN, 30, 0, 0, 0},
        {JK_HOST_CAP_KIND, 30, 0, 0, 0},
        {JK_HOST_CAP_KIND, 35, 0, 0, 0},                    /* empty */
        {JK_HOST_DATA_READ, 30, 0, 48, 0x40000000},         /* the plain case */
        {JK_HOST_DATA_READ, 30, 4090, 16, 0x40000040},      /* across the Data's page */
        {JK_HOST_DATA_READ, 30, 8192, 808, 0x40000100},     /* its short last page, to the end */
        {JK_HOST_DATA_READ, 30, 9000, 0, 0x40000500},       /* empty, at the end */
        {JK_HOST_DATA_READ, 30, 100, 4096, 0x40000000},     /* a whole page's worth */
        /* the known slot's pages in turn (the page the last read found is
         * remembered): the first, the short last, the middle, the first
         * (the script holds 32 calls at most) */
        {JK_HOST_DATA_READ, 30, 16, 16, 0x40000200},
        {JK_HOST_DATA_READ, 30, 8200, 8, 0x40000210},
        {JK_HOST_DATA_READ, 30, 4100, 24, 0x40000220},
        {JK_HOST_DATA_READ, 30, 0, 1, 0x40000240},
        {JK_HOST_DATA_MINT, 0x40000000, 64, 31, 0},
        {JK_HOST_CNODE_MINT, 34, 2, 0, 0},
        {JK_HOST_COPY, 31, P2(34, 1), 0, 0},
        {JK_HOST_CAP_KIND, P2(34, 1), 0, 0, 0},             /* nested */
        {JK_HOST_CAP_KIND, P2(34, 3), 0, 0, 0},             /* nested, empty */
        {JK_HOST_CAP_KIND, P2(31, 0), 0, 0, 0},             /* through a Data: empty */
        {JK_HOST_DATA_LEN, P2(34, 1), 0, 0, 0},
        {JK_HOST_DATA_LEN, P2(34, 1), 0, 0, 0},             /* nested, known: two levels */
        {JK_HOST_DATA_READ, P2(34, 1), 8, 40, 0x40000600},
        /* the slot read last, replaced: read again, it is the new Data
         * (what the short way remembers of a slot goes with any write) */
        {JK_HOST_DATA_READ, 30, 64, 16, 0x40000700},
        {JK_HOST_SWAP, 30, 31, 0, 0},
        {JK_HOST_DATA_LEN, 30, 0, 0, 0},
        {JK_HOST_DATA_READ, 30, 0, 16, 0x40000700},
        {JK_HOST_DATA_MINT, 0x40000700, 16, 36, 0},
        {JK_HOST_DROP, 30, 0, 0, 0},
        {JK_HOST_MOVE, 36, 30, 0, 0},
        {JK_HOST_DATA_LEN, 30, 0, 0, 0},
        {JK_HOST_DATA_READ, 30, 0, 16, 0x40000800},
        {JK_HOST_DATA_MINT, 0x40000800, 16, 37, 0},
        {JK_HOST_GAS, 0, 0, 0, 0},
    };
    /* each refusal, after plain reads the short way served */
    const kt_op last[][2] = {
        {{JK_HOST_DATA_READ, 30, 0, 8, 0x40000000}, {JK_HOST_DATA_READ, 30, 8990, 16, 0x40000000}},
        {{JK_HOST_DATA_READ, 30, 0, 8, 0x40000000}, {JK_HOST_DATA_READ, 30, 9001, 0, 0x40000000}},
        {{JK_HOST_DATA_READ, 30, 0, 8, 0x40000000}, {JK_HOST_DATA_READ, 30, 0, 32, 0x40000FF0}},
        {{JK_HOST_DATA_READ, 30, 0, 8, 0x40000000}, {JK_HOST_DATA_READ, 30, 0, 8, 0x10000}},
        {{JK_HOST_DATA_READ, 30, 0, 8, 0x40000000}, {JK_HOST_DATA_READ, 30, 0, 8, 0x100000000ull}},
        {{JK_HOST_DATA_LEN, 30, 0, 0, 0}, {JK_HOST_DATA_LEN, 35, 0, 0, 0}},
        {{JK_HOST_DATA_LEN, 30, 0, 0, 0}, {JK_HOST_DATA_READ, P2(36, 1), 0, 8, 0x40000000}},
        {{JK_HOST_CAP_KIND, 30, 0, 0, 0}, {JK_HOST_CAP_KIND, (1ull << 59) | 30, 0, 0, 0}},
        {{JK_HOST_CAP_KIND, 30, 0, 0, 0}, {JK_HOST_CAP_KIND, (2ull << 60) | (1ull << 40) | 30, 0, 0, 0}},
    };
    kh_cases(bytes, sizeof bytes, reads, sizeof reads / sizeof reads[0], last, sizeof last / sizeof last[0]);
}

/* DROP and MOVE of root slots take a shorter way in compiled code
 * (hostcall.c, jk_kernel_hostcall_serve_move): the plain case there,
 * anything else through jk_kernel_hostcall. Plain moves and drops — of a
 * slot a persistent mapping comes from too (no mint-back at HALT after it),
 * of an empty slot — and each case handed on — a nested or malformed path,
 * a pinned slot, an empty source, a taken destination, a slot onto itself
 * — must leave prices, answers, faults, messages and the result instance
 * as the interpreter's (which never takes it), at every gas value near the
 * end. */
JK_TEST(test_kernel_hostcall_moves_fast_equals_general)
{
    uint32_t pinned = kh_pinned();
    JK_REQUIRE(pinned != 0);
    const kt_op moves[] = {
        {JK_HOST_DATA_MINT, 0x40000000, 16, 31, 0},
        {JK_HOST_MOVE, 31, 32, 0, 0},
        {JK_HOST_MOVE, 32, 33, 0, 0},
        {JK_HOST_DROP, 33, 0, 0, 0},
        {JK_HOST_DROP, 35, 0, 0, 0},                        /* empty already */
        {JK_HOST_MOVE, 30, 36, 0, 0},
        {JK_HOST_DATA_READ, 36, 0, 16, 0x40000100},         /* the state page dirtied */
        {JK_HOST_MOVE, STATE_SLOT, 37, 0, 0},               /* the mapping's slot */
        {JK_HOST_MOVE, 37, STATE_SLOT, 0, 0},
        {JK_HOST_CNODE_MINT, 34, 2, 0, 0},
        {JK_HOST_MOVE, 36, P2(34, 1), 0, 0},                /* nested: the general way */
        {JK_HOST_MOVE, P2(34, 1), 38, 0, 0},
        {JK_HOST_DROP, P2(34, 1), 0, 0, 0},
        {JK_HOST_DROP, (1ull << 60) | 38, 0, 0, 0},         /* depth 1 spelled out */
        /* nested paths, the short way since session 14 */
        {JK_HOST_DATA_MINT, 0x40000000, 16, 31, 0},
        {JK_HOST_CNODE_MINT, 39, 3, 0, 0},
        {JK_HOST_MOVE, 31, P2(39, 2), 0, 0},                /* root into nested */
        {JK_HOST_MOVE, P2(39, 2), P2(39, 7), 0, 0},         /* within one CNode */
        {JK_HOST_MOVE, P2(39, 7), P2(34, 3), 0, 0},         /* across CNodes */
        {JK_HOST_DROP, P2(39, 7), 0, 0, 0},                 /* nested, empty already */
        {JK_HOST_MOVE, 39, P2(34, 0), 0, 0},                /* a CNode into another */
        {JK_HOST_MOVE, P2(34, 3), P3(34, 0, 1), 0, 0},      /* three levels */
        {JK_HOST_DATA_READ, P3(34, 0, 1), 0, 16, 0x40000200},
        {JK_HOST_MOVE, P2(34, 0), 40, 0, 0},                /* nested out to the root */
        {JK_HOST_DROP, P2(40, 1), 0, 0, 0},
        {JK_HOST_GAS, 0, 0, 0, 0},
    };
    /* each refusal, after a plain move the short way served */
    const kt_op last[][2] = {
        {{JK_HOST_MOVE, 30, 31, 0, 0}, {JK_HOST_DROP, pinned, 0, 0, 0}},
        {{JK_HOST_MOVE, 30, 31, 0, 0}, {JK_HOST_MOVE, pinned, 41, 0, 0}},
        {{JK_HOST_MOVE, 30, 31, 0, 0}, {JK_HOST_MOVE, 31, pinned, 0, 0}},
        {{JK_HOST_MOVE, 30, 31, 0, 0}, {JK_HOST_MOVE, 30, 41, 0, 0}},          /* empty source */
        {{JK_HOST_MOVE, 30, 31, 0, 0}, {JK_HOST_MOVE, 31, STATE_SLOT, 0, 0}},  /* taken */
        {{JK_HOST_MOVE, 30, 31, 0, 0}, {JK_HOST_MOVE, 31, 31, 0, 0}},          /* onto itself */
        {{JK_HOST_DROP, 30, 0, 0, 0}, {JK_HOST_DROP, (1ull << 59) | 30, 0, 0, 0}},
        {{JK_HOST_DROP, 30, 0, 0, 0}, {JK_HOST_MOVE, STATE_SLOT, (1ull << 60) | 0x1000, 0, 0}},
        {{JK_HOST_DROP, 30, 0, 0, 0}, {JK_HOST_MOVE, P2(30, 1), 41, 0, 0}},    /* through a Data */
        {{JK_HOST_CNODE_MINT, 41, 2, 0, 0}, {JK_HOST_MOVE, P2(41, 1), 42, 0, 0}},   /* nested, empty */
        {{JK_HOST_CNODE_MINT, 41, 2, 0, 0}, {JK_HOST_MOVE, 30, P2(41, 4), 0, 0}},   /* past the CNode */
        {{JK_HOST_CNODE_MINT, 41, 2, 0, 0}, {JK_HOST_DROP, P2(41, 4), 0, 0, 0}},
        {{JK_HOST_CNODE_MINT, 41, 2, 0, 0}, {JK_HOST_MOVE, 30, P2(42, 0), 0, 0}},   /* through an empty slot */
        {{JK_HOST_CNODE_MINT, 41, 2, 0, 0}, {JK_HOST_MOVE, 30, P2(STATE_SLOT, 0), 0, 0}},
        {{JK_HOST_CNODE_MINT, 41, 2, 0, 0}, {JK_HOST_MOVE, P2(41, 0), 41, 0, 0}},   /* empty source */
    };
    kh_cases("0123456789abcdef", 16, moves, sizeof moves / sizeof moves[0], last, sizeof last / sizeof last[0]);
}

/* DATA_MINT of at most 256 bytes and CNODE_MINT into an empty, unpinned
 * root slot take a shorter way in compiled code (hostcall_code.c,
 * jk_kernel_hostcall_serve_mint): the plain case there — the bounds exactly,
 * a first touch of a page by the host call (in its price, never charged as
 * the run's), the slot a persistent mapping comes from, emptied and minted
 * into — anything else through jk_kernel_hostcall. Each case must leave
 * prices, answers, faults, messages and the result instance as the
 * interpreter's (which never takes it), at every gas value near the end. */
JK_TEST(test_kernel_hostcall_mints_fast_equals_general)
{
    uint32_t pinned = kh_pinned();
    JK_REQUIRE(pinned != 0);
    const kt_op mints[] = {
        {JK_HOST_DATA_MINT, 0x10000, 64, 31, 0},            /* a first touch, by the host */
        {JK_HOST_DATA_READ, 30, 0, 32, 0x40000000},
        {JK_HOST_DATA_MINT, 0x40000000, 16, 32, 0},
        {JK_HOST_DATA_MINT, 0x40000000, 256, 33, 0},        /* the short way's bound */
        {JK_HOST_DATA_MINT, 0x40000000, 257, 34, 0},        /* past it: the general way */
        {JK_HOST_DATA_MINT, 0x40000000, 0, 35, 0},
        {JK_HOST_CNODE_MINT, 36, 0, 0, 0},
        {JK_HOST_CNODE_MINT, 37, JK_CAP_CNODE_MAX_LOG2, 0, 0},
        {JK_HOST_DATA_MINT, 0x40000000, 8, P2(37, 5), 0},   /* nested (the short way since session 14) */
        {JK_HOST_DATA_MINT, 0x40000000, 256, P2(37, 6), 0},
        {JK_HOST_CNODE_MINT, P2(37, 9), 2, 0, 0},
        {JK_HOST_DATA_MINT, 0x40000000, 24, P3(37, 9, 3), 0},
        {JK_HOST_DATA_LEN, P3(37, 9, 3), 0, 0, 0},
        {JK_HOST_DROP, STATE_SLOT, 0, 0, 0},                /* the mapping's slot, */
        {JK_HOST_DATA_MINT, 0x40000000, 24, STATE_SLOT, 0}, /* minted into */
        {JK_HOST_DATA_LEN, STATE_SLOT, 0, 0, 0},
        {JK_HOST_CNODE_MINT, (1ull << 60) | 38, 1, 0, 0},   /* depth 1 spelled out */
        {JK_HOST_GAS, 0, 0, 0, 0},
    };
    /* each refusal, after a plain mint the short way served */
    const kt_op last[][2] = {
        {{JK_HOST_CNODE_MINT, 31, 1, 0, 0}, {JK_HOST_DATA_MINT, 0x40000000, 8, pinned, 0}},
        {{JK_HOST_CNODE_MINT, 31, 1, 0, 0}, {JK_HOST_DATA_MINT, 0x40000000, 8, 30, 0}},          /* taken */
        {{JK_HOST_CNODE_MINT, 31, 1, 0, 0}, {JK_HOST_DATA_MINT, 0x40000000, 8, (1ull << 59) | 32, 0}},
        {{JK_HOST_CNODE_MINT, 31, 1, 0, 0}, {JK_HOST_DATA_MINT, 0x100000000ull, 8, 32, 0}},
        {{JK_HOST_CNODE_MINT, 31, 1, 0, 0}, {JK_HOST_DATA_MINT, 0x40000000, (64ull << 20) + 1, 32, 0}},
        {{JK_HOST_CNODE_MINT, 31, 1, 0, 0}, {JK_HOST_DATA_MINT, 0x40001000, 8, 32, 0}},          /* unmapped */
        {{JK_HOST_CNODE_MINT, 31, 1, 0, 0}, {JK_HOST_DATA_MINT, 0x40000FF0, 32, 32, 0}},         /* across */
        {{JK_HOST_DATA_MINT, 0x40000000, 8, 31, 0}, {JK_HOST_CNODE_MINT, 32, JK_CAP_CNODE_MAX_LOG2 + 1, 0, 0}},
        {{JK_HOST_DATA_MINT, 0x40000000, 8, 31, 0}, {JK_HOST_CNODE_MINT, 31, 1, 0, 0}},          /* taken */
        {{JK_HOST_DATA_MINT, 0x40000000, 8, 31, 0}, {JK_HOST_CNODE_MINT, pinned, 1, 0, 0}},
        {{JK_HOST_CNODE_MINT, 31, 1, 0, 0}, {JK_HOST_DATA_MINT, 0x40000000, 8, P2(31, 2), 0}},   /* past it */
        {{JK_HOST_CNODE_MINT, 31, 1, 0, 0}, {JK_HOST_CNODE_MINT, P2(32, 0), 1, 0, 0}},          /* no CNode */
        {{JK_HOST_CNODE_MINT, 31, 1, 0, 0}, {JK_HOST_DATA_MINT, 0x40000000, 8, P2(30, 0), 0}},   /* a Data */
        {{JK_HOST_CNODE_MINT, 31, 1, 0, 0}, {JK_HOST_DATA_MINT, 0x40001000, 8, P2(31, 1), 0}},   /* unmapped */
        {{JK_HOST_CNODE_MINT, 31, 1, 0, 0}, {JK_HOST_CNODE_MINT, P2(31, 1), 30, 0, 0}},
    };
    kh_cases("0123456789abcdef0123456789abcdef", 32, mints, sizeof mints / sizeof mints[0], last,
             sizeof last / sizeof last[0]);
}

/* Slot writes at nested paths — a MOVE out of slot[0]'s CNode, a MOVE into a
 * fresh CNode, DATA_MINT and DROP in the account tree's buckets: what a
 * demo transfer's verify and apply make — are served the short way in
 * compiled code (session 14), none handed to jk_kernel_hostcall; a taken
 * nested destination and a write the nesting bound refuses are handed on
 * and decided alike. */
JK_TEST(test_kernel_hostcall_nested_writes_short_way)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *ki, *kj;
    JK_REQUIRE(kt_kernel_pair(&ki, &kj));
    jk_cap data;
    JK_REQUIRE(jk_cap_data_new("0123456789abcdef", 16, &data) == JK_OK);
    const kt_op ops[] = {
        {JK_HOST_CNODE_MINT, 34, 3, 0, 0},
        {JK_HOST_MOVE, 30, P2(34, 1), 0, 0},
        {JK_HOST_DATA_MINT, 0x40000000, 48, P2(34, 2), 0},
        {JK_HOST_CNODE_MINT, P2(34, 3), 1, 0, 0},
        {JK_HOST_MOVE, P2(34, 1), P3(34, 3, 0), 0, 0},
        {JK_HOST_DROP, P2(34, 2), 0, 0, 0},
        {JK_HOST_DATA_MINT, 0x40000000, 48, P2(34, 2), 0},
        {JK_HOST_MOVE, P3(34, 3, 0), 31, 0, 0},
    };
    size_t nops = sizeof ops / sizeof ops[0];
    int outcome;
    uint64_t before = jk_kernel_hostcalls_in_code(kj), handed = jk_kernel_hostcalls_handed_on(kj);
    kh_both(ki, kj, e.image, data, ops, nops, 10000000, &outcome);
    JK_CHECK_EQ(outcome, JK_KERNEL_HALT);
#if defined(__x86_64__) && defined(__linux__)
    JK_CHECK(jk_kernel_hostcalls_in_code(kj) - before >= (uint64_t)nops); /* and the script's reads */
    JK_CHECK_EQ(jk_kernel_hostcalls_handed_on(kj) - handed, 0);
#endif
    kh_sweep(ki, kj, e.image, data, ops, nops, JK_KERNEL_HALT);
    const kt_op taken[] = {
        {JK_HOST_CNODE_MINT, 34, 3, 0, 0},
        {JK_HOST_DATA_MINT, 0x40000000, 8, P2(34, 2), 0},
        {JK_HOST_MOVE, 30, P2(34, 2), 0, 0},
    };
    kh_sweep(ki, kj, e.image, data, taken, 3, JK_KERNEL_FAULT);
    const kt_op taken_mint[] = {
        {JK_HOST_CNODE_MINT, 34, 3, 0, 0},
        {JK_HOST_MOVE, 30, P2(34, 2), 0, 0},
        {JK_HOST_CNODE_MINT, P2(34, 2), 1, 0, 0},
    };
    kh_sweep(ki, kj, e.image, data, taken_mint, 3, JK_KERNEL_FAULT);
    /* a CNode moved into a slot of its own: the source, a prefix of the
     * destination, is emptied after (the value holds the CNode as it was) */
    const kt_op into_itself[] = {
        {JK_HOST_CNODE_MINT, 34, 2, 0, 0},
        {JK_HOST_MOVE, 30, P2(34, 0), 0, 0},
        {JK_HOST_MOVE, 34, P2(34, 1), 0, 0},
        {JK_HOST_CAP_KIND, 34, 0, 0, 0},
        {JK_HOST_MOVE, 34, 35, 0, 0},
    };
    kh_sweep(ki, kj, e.image, data, into_itself, 5, JK_KERNEL_FAULT);
    jk_cap_release(data);
    /* a cap 62 deep fits two levels under the root, not three: the bound
     * refuses the first write, which the short way hands on untouched */
    JK_REQUIRE(!jk_cap_is_null(data = kt_chain(61)));
    const kt_op deep[] = {
        {JK_HOST_CNODE_MINT, 34, 2, 0, 0},
        {JK_HOST_CNODE_MINT, P2(34, 1), 2, 0, 0},
        {JK_HOST_MOVE, 30, P2(34, 0), 0, 0},
        {JK_HOST_MOVE, P2(34, 0), P3(34, 1, 0), 0, 0},
    };
    kh_sweep(ki, kj, e.image, data, deep, 4, JK_KERNEL_FAULT);
    kh_done(ki, kj, data);
    KT_END(&e);
}
