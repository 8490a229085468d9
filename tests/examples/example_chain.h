/* example_chain.h — running a chain loaded from its spec file through the
 * chain layer, for the example chains' tests: a producer (with the
 * validator's key) and an importer over one genesis; gossip an event to the
 * producer; run a whole block (process, produce, import) and check that both
 * end on the block's state root. */
#ifndef JK_TESTS_EXAMPLE_CHAIN_H
#define JK_TESTS_EXAMPLE_CHAIN_H

#include "jark/chain.h"

#include <stdbool.h>

typedef struct jk_ex_key {
    uint8_t pk[32], sk[64];
} jk_ex_key;

/* The key pair whose seed is 32 bytes of `b`. */
jk_ex_key jk_ex_key_of(uint8_t b);

typedef struct jk_ex_chain {
    jk_chain_genesis g;
    jk_chain_budgets gas;
    jk_ex_key validator; /* the only validator: seed 0x99 */
    jk_chain_kernel *producer, *importer;
    jk_hash parent;      /* the last block's hash (the genesis hash at first) */
    uint64_t number;     /* the next block's number */
} jk_ex_chain;

/* Load the spec at `spec_path` (C programs compiled with the SDK), replace
 * its validators by c->validator and, when state_count > 0, its state by the
 * slots given; build the genesis and the two kernels. Says why on stdout and
 * returns false on failure. */
bool jk_ex_open(jk_ex_chain *c, const char *spec_path, const uint32_t *slots, const uint8_t *const *data,
                const size_t *lens, uint32_t state_count);

/* jk_ex_open with the programs compiled with `build` (e.g. -D defines). */
struct jk_sdk_options;
bool jk_ex_open_built(jk_ex_chain *c, const char *spec_path, const struct jk_sdk_options *build,
                      const uint32_t *slots, const uint8_t *const *data, const size_t *lens, uint32_t state_count);
void jk_ex_close(jk_ex_chain *c);

/* Gossip one event to the producer (an open cycle), signed by `signer`
 * (NULL: no trace); was it admitted? */
bool jk_ex_submit(jk_ex_chain *c, jk_chain_endpoint ep, const uint8_t *blob, size_t len, const jk_ex_key *signer);

/* jk_ex_submit that also says why an event was dropped (why: optional). */
bool jk_ex_submit_why(jk_ex_chain *c, jk_chain_endpoint ep, const uint8_t *blob, size_t len,
                      const jk_ex_key *signer, jk_diag *why);

/* Gossip an event signed by n keys (n ≤ 8; one trace each, in order) to
 * the producer; was it admitted? why: optional. */
bool jk_ex_submit_signed(jk_ex_chain *c, jk_chain_endpoint ep, const uint8_t *blob, size_t len,
                         const jk_ex_key *const *keys, size_t n, jk_diag *why);

/* Run dispatch 0's process (its result in *processed0, optional), produce the
 * block, import it; true when both kernels end on its state root. The
 * block's event and trace counts go to *events / *traces (optional). */
bool jk_ex_block(jk_ex_chain *c, uint64_t *processed0, size_t *events, size_t *traces);

/* Produce the next block on the producer alone (not imported, the number
 * not advanced); the caller frees *out. */
bool jk_ex_produce(jk_ex_chain *c, jk_chain_block *out);

/* A block made by hand at the next number (events and traces as given, the
 * state root `root`), signed by the validator and imported by the importer;
 * on JK_OK the chain advances to it. */
jk_err jk_ex_import_made(jk_ex_chain *c, const jk_chain_event *events, size_t n, const jk_chain_trace *traces,
                         size_t ntraces, const jk_hash *root);

/* The Data at a slot path of the chain's state (path[0] a root slot, then
 * a slot of each nested CNode; depth levels) into out when it holds exactly
 * len bytes; false otherwise (absent, not a Data, another length). */
bool jk_ex_state_read(jk_cap chain, const uint32_t *path, unsigned depth, uint8_t *out, size_t len);

/* The Data in slot `slot` of the chain's state as a u64 (LE); 0 when the
 * slot holds no 8-byte Data. */
uint64_t jk_ex_slot_u64(jk_cap chain, uint32_t slot);

#endif
