/* transact.c — a TransactImage for the cycle tests: the blob it carries. */
#include "jark.h"

uint64_t blob_len(void) { return jk_data_len(JK_PATH(20)); }
JK_ENDPOINT(0, blob_len);
