/* chain_bad_transform.c — chain.c whose transform_to_verify set_images onto
 * the Transact image (slot 2) instead of the Verify image: setup_cycle must
 * refuse the instance it makes (test_safety.c). */
#define JK_TEST_VERIFY_SLOT 2
#include "chain.c"
