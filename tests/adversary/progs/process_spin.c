/* process_spin.c — a hostile Dispatch_0 image that spins until its gas runs
 * out, with a 64 MiB Data of its memory minted first when an event is
 * buffered (test_adv_chain.c). */
#include "jark.h"

static uint8_t page[4096];

uint64_t process(void)
{
    if (jk_cap_kind(JK_PATH2(0, 0)) == JK_KIND_CNODE && jk_cap_kind(JK_PATH3(0, 0, 0)) == JK_KIND_INSTANCE) {
        page[0] = 1;
        jk_data_mint(page, sizeof page, JK_PATH(40));
    }
    for (volatile uint64_t spin = 0;; spin++)
        ;
    return 0;
}
JK_ENDPOINT(0, process);
