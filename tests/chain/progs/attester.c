/* attester.c — chain code that attests n blobs through the AA in slot 21,
 * counting in its state (slot 22, mapped at 0x40000000) as it goes. */
#include "jark.h"

#define STATE ((volatile uint64_t *)0x40000000)

uint64_t attest_all(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        uint8_t key[32];
        char blob[8] = {'b', 'l', 'o', 'b', '-', (char)('0' + i % 10), 0, 0};
        for (int b = 0; b < 32; b++)
            key[b] = (uint8_t)(i + 1);
        jk_drop(JK_SLOT0);
        jk_cnode_mint(JK_SLOT0, 2);
        jk_data_mint(key, 32, JK_PATH2(0, 0));
        jk_data_mint(blob, 6, JK_PATH2(0, 1));
        jk_call_result r = jk_call(JK_PATH(21), 0, jk_gas(), 0, 0, 0);
        if (r.outcome != JK_OUTCOME_HALT)
            __builtin_trap();
        STATE[0] += 1;
    }
    return STATE[0];
}
JK_ENDPOINT(0, attest_all);
