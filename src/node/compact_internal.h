/*
 * compact_internal.h — compact proposals' decoded form and the helpers
 * compact.c (encode, decode) and compact_fill.c (rebuild, WANT, FILL)
 * share. Private to src/node.
 */
#ifndef JK_NODE_COMPACT_INTERNAL_H
#define JK_NODE_COMPACT_INTERNAL_H

#include "jark/node.h"

/* A body event of a compact proposal: a reference (prefix) or literal bytes
 * (its body encoding at off, len bytes, in the compact's copy). */
typedef struct jk_cp_ev {
    bool literal;
    uint32_t off, len;
    uint8_t prefix[JK_NODE_COMPACT_PREFIX];
} jk_cp_ev;

/* A body trace: (event, trace) into that event's gossip traces, or 128
 * literal bytes at off. */
typedef struct jk_cp_tr {
    bool literal;
    uint32_t ev_or_off;
    uint8_t trace;
} jk_cp_tr;

struct jk_node_compact {
    uint8_t *bytes;
    size_t len;
    uint64_t height;
    uint32_t round, valid_round, proposer;
    size_t sig_off, header_off, cert_off, cert_len, part_off, part_len;
    jk_cp_ev *ev;
    size_t nev;
    jk_cp_tr *tr;
    size_t ntr;
    uint8_t **fill;   /* nev entries once a FILL came: gossip encodings */
    size_t *fill_len;
};

/* A gossip encoding's parts (bytes already checked well-formed, or from our
 * own pool): false when it is not one. */
typedef struct jk_node_cp_gossip {
    uint32_t endpoint;
    const uint8_t *blob;
    uint32_t blob_len;
    const uint8_t *traces;
    uint32_t ntraces;
} jk_node_cp_gossip;

/* The parts of a gossip encoding b[0..len) (false: not one). */
bool jk_node_cp_gossip_view(const uint8_t *b, size_t len, jk_node_cp_gossip *g);
/* One body event at b[0..len): E(endpoint) ‖ E(|blob|) ‖ blob, canonical
 * naturals. @return its length, 0 when b does not start with one. */
size_t jk_node_cp_body_event(const uint8_t *b, size_t len, uint64_t *endpoint, size_t *blob_off,
                             uint64_t *blob_len);

/* Open addressing over the pool's indices, keyed by the first 8 bytes of an
 * id mixed with a process-wide random key: ids are hashes of what senders
 * choose, so a fixed mix would let them grind events into one probe run.
 * The table only finds entries; the first pool entry (in pool order) with a
 * prefix is the one found, whatever the layout. */
typedef struct jk_node_cp_index {
    size_t *slot;   /* pool index + 1; 0 empty */
    size_t mask;
} jk_node_cp_index;

jk_err jk_node_cp_index_build(jk_node_cp_index *ix, const jk_node_pool_ref *pool, size_t n);
/* The pool index whose id starts with prefix (SIZE_MAX: none). */
size_t jk_node_cp_index_find(const jk_node_cp_index *ix, const jk_node_pool_ref *pool,
                             const uint8_t *prefix);

#endif
