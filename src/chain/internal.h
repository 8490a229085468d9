/*
 * internal.h — what the files of src/chain share: little-endian integer
 * access for the fixed-width fields of headers (docs/block-format.md), and
 * the Kernel's helpers used by both cycle.c and apply.c.
 */
#ifndef JK_CHAIN_INTERNAL_H
#define JK_CHAIN_INTERNAL_H

#include "jark/chain.h"

#include "jark/bytes.h"

#include <stdint.h>

/* "inject Cap::Instance[AAImage]": a fresh AA instance holding the attest
 * marker in slot JK_CHAIN_AA_MARKER_SLOT. *out NEW. */
jk_err jk_chain_inject_aa(jk_chain_kernel *ck, jk_cap *out);

/* A 4-slot CNode holding a in slot 0 and b in slot 1 (a scratchpad). *out NEW. */
jk_err jk_chain_pair(jk_cap a, jk_cap b, jk_cap *out);

/* After a block: empty the pool, the dispatch buffers, the seen keys and the
 * cycle's traces. */
void jk_chain_cycle_reset(jk_chain_kernel *ck);

/* handle_incoming_event in two halves (verify_pool.c runs the first on
 * worker threads). */
typedef struct jk_chain_verdict {
    bool admit;
    jk_cap event;          /* the event instance verify handed back (NEW) */
    jk_chain_keyset seen;  /* the keys its attests used */
    char why[160];         /* why it was dropped */
} jk_chain_verdict;

jk_err jk_chain_verify_event(const jk_chain_kernel *ck, jk_kernel *kernel, const jk_chain_event *ev,
                             const jk_chain_trace *traces, size_t trace_count, jk_chain_verdict *out);
void jk_chain_verdict_free(jk_chain_verdict *v);
jk_err jk_chain_admit(jk_chain_kernel *ck, const jk_chain_event *ev, const jk_chain_trace *traces,
                      size_t trace_count, const jk_chain_verdict *v);

#endif
