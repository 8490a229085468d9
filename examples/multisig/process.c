/* process.c — the multisig chain's Dispatch_0_Image: once per cycle, over the
 * approvals admitted to dispatch endpoint 0; slot[0] = {0: CNode of the event
 * instances, in admission order, 1: AA}. Approvals of the same proposal
 * (wallet, nonce, destination, amount) are gathered; each proposal that the
 * wallet's threshold of owners approved in this cycle is emitted as an
 * execute transact, after attesting every approver's (key, approve blob)
 * again: by the seen-rule that succeeds only for owners who sent an
 * approval in this very cycle, and it puts their signatures beside the emit
 * for apply. Approvals do not carry over to the next cycle. Returns the
 * number of executes emitted. */
#include "common.h"

static uint8_t proposals[MAX_PROPOSALS][SPEND_SIZE]; /* an execute blob each: approvers in byte 33 */

uint64_t process(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t n = 0;
    for (uint64_t i = 0; jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) == JK_KIND_INSTANCE; i++) {
        /* the instance's endpoint 0 hands its blob back in slot[0] */
        REQUIRE(jk_call(JK_PATH2(SLOT_INPUT, i), 0, jk_gas(), 0, 0, 0).outcome == JK_OUTCOME_HALT);
        uint8_t b[MAX_BLOB];
        uint64_t len = read_blob(JK_SLOT0, b, sizeof b);
        jk_drop(JK_SLOT0);
        REQUIRE(approve_ok(b, len));
        uint64_t k = 0;
        while (k < n && memcmp(proposals[k] + 1, b + 1, 32) != 0)
            k++;
        if (k == n) {
            if (n == MAX_PROPOSALS)
                continue; /* the rest wait for a later cycle (they must be sent again) */
            proposals[n][0] = 'X';
            memcpy(proposals[n] + 1, b + 1, 32);
            proposals[n][33] = 0;
            n++;
        }
        proposals[k][33] |= (uint8_t)(1u << b[33]);
    }
    jk_cnode_mint(JK_PATH(SLOT_WORK), 5); /* the emits: 2^5 = MAX_PROPOSALS */
    const uint8_t transact[4] = {0, 0, 0, 0};
    uint64_t emitted = 0;
    for (uint64_t k = 0; k < n; k++) {
        uint8_t rec[RECORD_SIZE], a[APPROVE_SIZE];
        REQUIRE(load_wallet(get_u64(proposals[k] + 1), rec));
        if (bit_count(proposals[k][33]) < get_u64(rec + R_THRESHOLD))
            continue; /* not enough owners approved in this cycle */
        for (unsigned i = 0; i < MAX_OWNERS; i++)
            if (proposals[k][33] >> i & 1) {
                approve_blob(proposals[k], rec, i, a);
                attest(a + 34, a, APPROVE_SIZE);
            }
        jk_cnode_mint(JK_PATH2(SLOT_WORK, emitted), 1);
        jk_data_mint(transact, 4, JK_PATH3(SLOT_WORK, emitted, 0));
        jk_data_mint(proposals[k], SPEND_SIZE, JK_PATH3(SLOT_WORK, emitted, 1));
        emitted++;
    }
    jk_move(JK_PATH(SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return emitted;
}
JK_ENDPOINT(0, process);
