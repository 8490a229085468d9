/* chain_swapped.c — chain.c with apply and transform_to_verify trading
 * endpoint numbers: genesis must refuse it (test_genesis.c). */
#define JK_TEST_SWAPPED
#include "chain.c"
