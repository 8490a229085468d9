/* chain.c — @NAME@'s ChainImage: apply, and the transforms the kernel calls
 * to derive Verify and Dispatch_0 from the chain at each cycle.
 *
 * apply: slot[0] = {0: body, 1: AA, 2: the block context (a 16-byte Data:
 * number u64 LE, proposer u32 LE, round u32 LE; docs/abi.md, "apply's
 * scratchpad")}; body slot i = {0: target Data (u32 LE: 0 transact, k + 1
 * dispatch k; this chain takes only 0), 1: blob Data}, in block order. It
 * ignores the block context (dropped with slot[0]). Each message is attested
 * again (so an importer checks the block's signatures), counted in slot 20
 * and kept in slot 21. Anything else faults: the block is invalid. Emits
 * nothing (slot[0] empty at HALT). Returns the number of messages. */
#include "common.h"

static uint8_t blob[MAX_BLOB];

uint64_t apply(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t n = 0;
    for (uint64_t i = 0; jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) != JK_KIND_NONE; i++) {
        uint8_t target[4];
        REQUIRE(read_blob(JK_PATH3(SLOT_INPUT, i, 0), target, 4) == 4);
        REQUIRE(target[0] == 0 && target[1] == 0 && target[2] == 0 && target[3] == 0);
        uint64_t len = read_blob(JK_PATH3(SLOT_INPUT, i, 1), blob, sizeof blob);
        REQUIRE(message_ok(blob, len));
        attest(blob + 1, blob, len);
        jk_drop(JK_PATH(SLOT_LAST));
        jk_data_mint(blob, len, JK_PATH(SLOT_LAST));
        n++;
    }
    if (n)
        store_u64(JK_PATH(SLOT_COUNT), load_u64(JK_PATH(SLOT_COUNT)) + n);
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return n;
}

uint64_t transform_to_verify(void)
{
    jk_set_image(JK_PATH(PIN_VERIFY));
    return 0;
}

uint64_t transform_to_dispatch_0(void)
{
    jk_set_image(JK_PATH(PIN_DISPATCH_0));
    return 0;
}

JK_ENDPOINT(0, apply);
JK_ENDPOINT(1, transform_to_verify);
JK_ENDPOINT(2, transform_to_dispatch_0);
