/* store_util.h — the store tests' scratch directories (test_cap_store.c,
 * test_cap_store_groups.c): a fresh one under /tmp, and its removal with
 * the store's two files. */
#ifndef JK_TESTS_CAP_STORE_UTIL_H
#define JK_TESTS_CAP_STORE_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* dir[0..n) = a new directory; dir[0] = 0 when none could be made. */
static inline void jk_ts_tmpdir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/jk_cap_store_XXXXXX");
    if (!mkdtemp(dir))
        dir[0] = 0;
}

static inline void jk_ts_rmstore(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

#endif
