/* library.h — what every contract of the library shares: the Dispatch_k
 * role's no-op process, and its storage as u64 words (a Data in slot 20 of
 * the contract's own cnode). A contract sees only its own cnode: slot 20,
 * and its image's pinned program data in 18 and 19. */
#ifndef LIBRARY_H
#define LIBRARY_H

#include "contracts.h"

/* Endpoint 0: the kernel runs it once per cycle as Dispatch_k.process on a
 * copy of the chain; this chain routes no events to it. No emits. */
static inline uint64_t library_process(void)
{
    jk_drop(JK_SLOT0);
    jk_cnode_mint(JK_SLOT0, 0);
    return 0;
}

/* Endpoint 2: hand a copy of the storage to the caller (an upgrade). */
static inline uint64_t library_export(void)
{
    jk_drop(JK_SLOT0);
    jk_copy(JK_PATH(CONTRACT_STORAGE), JK_SLOT0);
    return 0;
}

/* Word i of the storage (0 past its end). */
static inline uint64_t storage_get(uint64_t i)
{
    uint8_t b[8];
    if (jk_data_len(JK_PATH(CONTRACT_STORAGE)) < 8 * (i + 1))
        return 0;
    jk_data_read(JK_PATH(CONTRACT_STORAGE), 8 * i, 8, b);
    return get_u64(b);
}

/* Replace the storage by n words. */
static inline void storage_set(const uint64_t *words, uint64_t n)
{
    uint8_t b[64];
    for (uint64_t i = 0; i < n && i < 8; i++)
        put_u64(b + 8 * i, words[i]);
    jk_drop(JK_PATH(CONTRACT_STORAGE));
    jk_data_mint(b, 8 * n, JK_PATH(CONTRACT_STORAGE));
}

#endif
