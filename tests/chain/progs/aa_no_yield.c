/* aa_no_yield.c — aa.c returning without asking the kernel: every attest
 * would pass (genesis refuses it; test_cycle.c uses it by hand). */
#define JK_TEST_NO_YIELD
#include "aa.c"
