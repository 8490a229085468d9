/* dinst.c — a DispatchInstanceImage for the cycle tests. */
#include "jark.h"

uint64_t dispatch_blob_len(void) { return jk_data_len(JK_PATH(20)) + 1000; }
JK_ENDPOINT(0, dispatch_blob_len);
