/*
 * jark/chain.h — the chain layer: the spec's Kernel (kernel-chain-interface.md)
 * over the kernel layer's instances.
 *
 * This header grows in sections. Present today:
 *
 *   1. Bounds and fixed sizes        (docs/block-format.md, "Bounds")
 *   2. Attestation: messages, traces (attestation.md; docs/block-format.md,
 *                                     "Attestation")
 *   3. Attestation: key sets         (the seen-rule's bookkeeping)
 *   4. Blocks: endpoints, events, headers, blocks (architecture §6;
 *                                     docs/block-format.md)
 *
 *   5. Invocations with attests       (the AttestationAuthority's kernel side:
 *                                     docs/chain-design.md)
 *
 *   6. The Kernel: cycles             (setup_cycle, handle_incoming_event,
 *                                     run_cycle_process, apply_block in its
 *                                     two modes, teardown; the pool and its
 *                                     bounds; docs/chain-design.md)
 *
 *   7. Genesis                        (the genesis record, what its hash
 *                                     binds, jk_chain_genesis_build;
 *                                     docs/chain-spec.md)
 *
 * Persistence of heads and blocks and the devnet live in the node layer
 * (jark/node.h, docs/node.md).
 *
 * Conventions for every section
 *   - Hashes are H = BLAKE2b-256 (jk_crypto_blake2b256). Keys are 32-byte
 *     Ed25519 public keys; signatures are 64-byte Ed25519 (RFC 8032, pure,
 *     deterministic) as jark/crypto.h defines them.
 *   - Every encoding is canonical: equal values encode to equal bytes, and
 *     the decoders refuse every other spelling (truncated input, trailing
 *     bytes, a non-canonical length, a count or size over its bound), with
 *     the reason (what, and at which byte offset) in the optional jk_diag.
 *     Decoders never crash on any input and never allocate more than the
 *     input's own length justifies.
 *   - Determinism: every function is a pure function of its inputs; nothing
 *     observable depends on addresses, hash-table order or time.
 *   - Threads: no global state. Functions that only read their arguments
 *     (hash, verify, encode, contains, find) may run on one value from many
 *     threads at once; a function that writes a value needs it to itself.
 *   - jk_crypto_init() must have returned JK_OK before anything here is used.
 *
 * This layer depends on jark/err.h, jark/crypto.h, jark/pvm.h (for the JAM
 * variable-length naturals), jark/cap.h and jark/kernel.h.
 */
#ifndef JARK_CHAIN_H
#define JARK_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jark/crypto.h"
#include "jark/err.h"
#include "jark/kernel.h"

/* ===========================================================================
 * 1. Bounds and fixed sizes (docs/block-format.md)
 * ======================================================================== */

#define JK_CHAIN_MAX_EVENTS 65536u              /* events in one block body */
#define JK_CHAIN_MAX_BLOB (1u << 20)            /* bytes in one event blob: 1 MiB */
#define JK_CHAIN_MAX_TRACES 65536u              /* traces in one block body */
#define JK_CHAIN_MAX_BLOCK_SIZE (16u << 20)     /* a block's whole encoding: 16 MiB */
#define JK_CHAIN_MAX_DISPATCH 256u              /* dispatch endpoints k = 0..255 */

#define JK_CHAIN_TRACE_SIZE 128u                /* key ‖ msg_hash ‖ sig */
#define JK_CHAIN_HEADER_UNSIGNED_SIZE 144u      /* header without its signature */
#define JK_CHAIN_HEADER_SIZE 208u               /* ... and with it */

/* Domain tags: ASCII bytes, hashed without a terminating NUL. */
#define JK_CHAIN_ATTEST_TAG "jark/attest/v1"    /* 14 bytes */
#define JK_CHAIN_BLOCK_TAG "jark/block/v2"      /* 13 bytes; v2: the body's dispatch part */

/* ===========================================================================
 * 2. Attestation: the attested message and traces (attestation.md)
 *
 * For a chain with genesis hash G, "key K attests blob B" means: K signed
 *
 *     msg_hash = H("jark/attest/v1" ‖ G ‖ B)
 *
 * (the 14 tag bytes, the 32 bytes of G, the bytes of B; nothing else, no
 * length prefix). msg_hash is attestation.md's `msg`, and it is the value a
 * trace carries in its "H(msg)" field: there is no second hash. The Ed25519
 * signature is over exactly those 32 bytes (the digest itself is the RFC 8032
 * message; no prehash mode, no context).
 *
 * A trace is (key, msg_hash, sig), 128 bytes; its canonical encoding is
 * key[32] ‖ msg_hash[32] ‖ sig[64].
 * ======================================================================== */

typedef struct jk_chain_trace {
    uint8_t key[JK_ED25519_PUBLIC_SIZE];  /* the attesting Ed25519 public key */
    jk_hash msg_hash;                     /* H("jark/attest/v1" ‖ G ‖ blob) */
    uint8_t sig[JK_ED25519_SIG_SIZE];     /* Ed25519 signature of msg_hash's 32 bytes */
} jk_chain_trace;

/* The attested message's hash for blob under genesis hash G.
 * @param[in]  genesis  G, the chain's genesis hash.
 * @param[in]  blob     the attested bytes; may be NULL when len is 0. Hashed
 *                      by streaming: any length, nothing copied.
 * @param[in]  len      bytes at blob.
 * @param[out] out      receives H("jark/attest/v1" ‖ G ‖ blob).
 * Cannot fail. */
void jk_chain_attest_msg_hash(const jk_hash *genesis, const void *blob, size_t len,
                              jk_hash *out);

/* Make the trace for "the key of secret_key attests blob under genesis".
 * @param[in]  secret_key  64 bytes exactly as jk_crypto_ed25519_keypair_from_seed
 *                         wrote them (seed ‖ public key); the trace's key is
 *                         its public half. Only read; the caller wipes it.
 * @param[in]  genesis     the chain's genesis hash.
 * @param[in]  blob, len   the attested bytes (blob may be NULL when len is 0).
 * @param[out] out         receives {public key, msg_hash, signature of msg_hash}.
 * Cannot fail. Deterministic: same inputs, same 128 bytes. */
void jk_chain_trace_sign(const uint8_t secret_key[JK_ED25519_SECRET_SIZE],
                         const jk_hash *genesis, const void *blob, size_t len,
                         jk_chain_trace *out);

/* The same when msg_hash (jk_chain_attest_msg_hash) is already known. */
void jk_chain_trace_sign_hash(const uint8_t secret_key[JK_ED25519_SECRET_SIZE],
                              const jk_hash *msg_hash, jk_chain_trace *out);

/* Does trace t show that `key` attests blob under genesis? Checked in this
 * order, first failure reported:
 * @param[in] t          the trace (untrusted).
 * @param[in] key        the key the attest names (32 bytes).
 * @param[in] genesis    the chain's genesis hash.
 * @param[in] blob, len  the attested bytes (blob may be NULL when len is 0).
 * @return JK_OK;
 *         JK_ERR_CHAIN_TRACE_KEY  t->key is not key;
 *         JK_ERR_CHAIN_TRACE_MSG  t->msg_hash is not the msg_hash of (genesis,
 *                                 blob): another blob, or another chain;
 *         JK_ERR_CHAIN_TRACE_SIG  the signature does not verify under key
 *                                 (including a malformed key or signature). */
jk_err jk_chain_trace_verify(const jk_chain_trace *t,
                             const uint8_t key[JK_ED25519_PUBLIC_SIZE],
                             const jk_hash *genesis, const void *blob, size_t len);

/* As jk_chain_trace_verify, with the message hash already computed. */
jk_err jk_chain_trace_verify_hash(const jk_chain_trace *t,
                                  const uint8_t key[JK_ED25519_PUBLIC_SIZE],
                                  const jk_hash *msg_hash);

/* Is t's signature valid for its own (key, msg_hash)? Says nothing about
 * which blob or chain msg_hash belongs to.
 * @return JK_OK or JK_ERR_CHAIN_TRACE_SIG. */
jk_err jk_chain_trace_check(const jk_chain_trace *t);

/* Canonical encoding: key[32] ‖ msg_hash[32] ‖ sig[64]. Fixed size, so
 * neither direction can fail; every 128-byte string decodes (whether the
 * contents verify is jk_chain_trace_verify's business). */
void jk_chain_trace_encode(const jk_chain_trace *t, uint8_t out[JK_CHAIN_TRACE_SIZE]);
void jk_chain_trace_decode(const uint8_t in[JK_CHAIN_TRACE_SIZE], jk_chain_trace *out);

/* Find the first trace (lowest index) in traces[0..n) whose key and msg_hash
 * equal the given ones. The signature is not looked at.
 * @param[in]  traces     n traces; may be NULL when n is 0.
 * @param[out] index      receives the index when found; may be NULL.
 * @return true when found. */
bool jk_chain_trace_find(const jk_chain_trace *traces, size_t n,
                         const uint8_t key[JK_ED25519_PUBLIC_SIZE],
                         const jk_hash *msg_hash, size_t *index);

/* As jk_chain_trace_find, but skips traces whose signature does not verify
 * (jk_chain_trace_check): the first trace by (key, msg_hash) that is valid.
 * Costs one signature check per matching trace examined. */
bool jk_chain_trace_find_valid(const jk_chain_trace *traces, size_t n,
                               const uint8_t key[JK_ED25519_PUBLIC_SIZE],
                               const jk_hash *msg_hash, size_t *index);

/* ===========================================================================
 * 3. Attestation: key sets (the seen-rule's bookkeeping)
 *
 * A set of 32-byte keys (cycle_seen_keys[k], an event's seen keys). Whatever
 * order keys are added or sets merged in, the same contents give the same
 * results everywhere, and iteration is always in ascending byte order
 * (memcmp): nothing observable depends on insertion order. There is no
 * hashing inside, so no input can make it slow: contains is O(log n), add
 * is amortised O(sqrt n) key moves, a merge of a large set is O(n + m).
 *
 * Representation (private; use the functions): two sorted, disjoint runs,
 * a large `main` and a small `side` that absorbs adds and is folded into main
 * when it reaches about sqrt(|main|) keys.
 *
 * A zero-initialised struct (or JK_CHAIN_KEYSET_INIT) is an empty set. A set
 * owns its memory: jk_chain_keyset_free it. A failed call leaves the set as
 * it was.
 * ======================================================================== */

typedef struct jk_chain_keyset {
    uint8_t (*main)[32];   /* sorted, main_count keys, room for main_cap */
    uint8_t (*side)[32];   /* sorted, side_count keys, room for side_cap */
    size_t main_count, main_cap;
    size_t side_count, side_cap;
    uint8_t one[32];       /* the key of a one-key set before main exists
                              (main NULL, main_count 1): no allocation */
} jk_chain_keyset;

#define JK_CHAIN_KEYSET_INIT {NULL, NULL, 0, 0, 0, 0}

/* A cursor for jk_chain_keyset_next; start from JK_CHAIN_KEYSET_ITER_INIT. */
typedef struct jk_chain_keyset_iter {
    size_t main_pos, side_pos;
} jk_chain_keyset_iter;

#define JK_CHAIN_KEYSET_ITER_INIT {0, 0}

/* Make *s an empty set (it must not hold memory: free it first). */
void jk_chain_keyset_init(jk_chain_keyset *s);

/* Release s's memory; s is then an empty set again. */
void jk_chain_keyset_free(jk_chain_keyset *s);

/* Empty s, keeping its memory for reuse. */
void jk_chain_keyset_clear(jk_chain_keyset *s);

/* Number of keys in s. */
size_t jk_chain_keyset_count(const jk_chain_keyset *s);

/* Is key in s? */
bool jk_chain_keyset_contains(const jk_chain_keyset *s, const uint8_t key[32]);

/* Add key (a no-op when already there).
 * @param[out] added  optional: true when key was new.
 * @return JK_OK; JK_ERR_NOMEM (s unchanged). */
jk_err jk_chain_keyset_add(jk_chain_keyset *s, const uint8_t key[32], bool *added);

/* dst := dst ∪ src. src is only read; dst and src may be the same set.
 * @return JK_OK; JK_ERR_NOMEM (dst unchanged). */
jk_err jk_chain_keyset_merge(jk_chain_keyset *dst, const jk_chain_keyset *src);

/* Do a and b hold the same keys? */
bool jk_chain_keyset_equal(const jk_chain_keyset *a, const jk_chain_keyset *b);

/* The next key in ascending order, or NULL after the last. The pointer is
 * borrowed from s, valid until s is next changed; changing s also ends the
 * iteration (start again from JK_CHAIN_KEYSET_ITER_INIT). */
const uint8_t *jk_chain_keyset_next(const jk_chain_keyset *s, jk_chain_keyset_iter *it);

/* ===========================================================================
 * 4. Blocks (architecture §6; every byte in docs/block-format.md)
 *
 *   block  = header ‖ body
 *   header = parent[32] ‖ number u64 ‖ round u32 ‖ proposer u32 ‖
 *            state_root[32] ‖ body_hash[32] ‖ last_commit[32] ‖
 *            signature[64]                                       (208 bytes)
 *   body   = E(n) ‖ n × (E(endpoint) ‖ E(|blob|) ‖ blob) ‖
 *            E(m) ‖ m × trace[128] ‖ dispatch part (00, or 01 ‖ consumed ‖
 *            process traces ‖ queued: docs/block-format.md)
 *
 * E is the JAM variable-length natural (Graypaper C.6), canonical form only;
 * integers are little-endian.
 *
 *   body_hash  = H(body)
 *   block hash = H(header), all 208 bytes, signature included
 *   signature  = Ed25519 by the proposer over the 32 bytes
 *                H("jark/block/v2" ‖ genesis_hash ‖ header[0..144))
 * ======================================================================== */

/* An event's endpoint, as it is encoded: 0 is "transact", k + 1 is
 * "dispatch k" (k < JK_CHAIN_MAX_DISPATCH). Every value is one endpoint and
 * each endpoint has one value, so the encoding is canonical for free. */
typedef uint32_t jk_chain_endpoint;

#define JK_CHAIN_ENDPOINT_TRANSACT ((jk_chain_endpoint)0)

static inline jk_chain_endpoint jk_chain_endpoint_dispatch(uint32_t k)
{
    return (jk_chain_endpoint)(k + 1u);
}
static inline bool jk_chain_endpoint_is_dispatch(jk_chain_endpoint e) { return e != 0; }
/* k of "dispatch k"; precondition: jk_chain_endpoint_is_dispatch(e). */
static inline uint32_t jk_chain_endpoint_dispatch_index(jk_chain_endpoint e) { return e - 1u; }

/* One event of a block body: where it goes and its original blob (the
 * body carries blobs; chain.apply re-runs the checks, architecture §6). A
 * produced body holds transacts only; the format allows any endpoint. */
typedef struct jk_chain_event {
    jk_chain_endpoint endpoint;
    const uint8_t *blob;   /* blob_len bytes; never NULL inside a jk_chain_block */
    size_t blob_len;       /* ≤ JK_CHAIN_MAX_BLOB */
} jk_chain_event;

typedef struct jk_chain_header {
    jk_hash parent;        /* block hash of the parent block */
    uint64_t number;       /* block number (= the consensus height) */
    uint32_t round;        /* the consensus round the block was proposed in (0 without consensus) */
    uint32_t proposer;     /* index into the genesis validator list: must be
                              jk_chain_proposer_index(V, number, round) */
    jk_hash state_root;    /* instance_hash of the chain instance after apply */
    jk_hash body_hash;     /* H(body encoding) */
    jk_hash last_commit;   /* commits to the parent's commit certificate
                              (the consensus layer defines the hash); all
                              zero in block 1, whose parent is genesis */
    uint8_t signature[JK_ED25519_SIG_SIZE];  /* the proposer's, see above */
} jk_chain_header;

/* A dispatch event as a block carries it: the event and the traces its
 * verify used (or, for a queued emit, the traces its process used). */
typedef struct jk_chain_traced_event {
    jk_chain_event event;
    const jk_chain_trace *traces;  /* trace_count traces */
    size_t trace_count;            /* ≤ JK_CHAIN_MAX_EVENT_TRACES */
} jk_chain_traced_event;

/* The dispatch part of a block (docs/block-format.md, "The dispatch part";
 * docs/chain-design.md, "Dispatch on a network"): what every validator needs
 * to agree on the dispatch side of the block's cycle, all of it re-derived
 * by every importer.
 *   ran:       Dispatch_k.process ran in the block's cycle (false: nothing
 *              was consumed and the queue carries over; the other lists are
 *              then empty);
 *   consumed:  the dispatch events process consumed, endpoint by endpoint
 *              (k ascending), each endpoint's in buffer order: first the
 *              events queued for this cycle, then gossiped ones;
 *   process_traces: one per attest process made, in attest order (k
 *              ascending);
 *   queued:    process's emits to dispatch endpoints, in emit order: the
 *              next cycle's queue (with apply's own dispatch emits after). */
typedef struct jk_chain_dispatch_part {
    bool ran;
    jk_chain_traced_event *consumed;
    size_t consumed_count;
    jk_chain_trace *process_traces;
    size_t process_trace_count;
    jk_chain_traced_event *queued;
    size_t queued_count;
    uint8_t *store;           /* private: the blobs and per-event traces */
    jk_chain_trace *trace_store; /* private */
} jk_chain_dispatch_part;

/* Bounds of the dispatch part (in build, encode and decode alike). A
 * produce never makes more: admission and process's emits are bounded so
 * (docs/chain-design.md, "Dispatch on a network: bounds"). */
#define JK_CHAIN_MAX_CONSUMED 4096u                 /* consumed events per block */
#define JK_CHAIN_MAX_PROCESS_TRACES 2048u           /* process attests per block */
#define JK_CHAIN_MAX_DISPATCH_PART (2u << 20)       /* the part's encoding: 2 MiB */
#define JK_CHAIN_CONSUMED_BYTES ((1u << 20) + (192u << 10)) /* Σ encoded consumed events: one 1 MiB blob fits */
#define JK_CHAIN_QUEUED_BYTES (512u << 10)          /* Σ encoded queued emits */
#define JK_CHAIN_PROCESS_TRANSACT_BYTES (1u << 20)  /* Σ encoded process transacts */
#define JK_CHAIN_MAX_PROCESS_TRANSACTS 4096u        /* process transacts per block */

/* A block. It owns its arrays and every blob (events[i].blob points into
 * blob_store); the caller owns the struct itself. Fields are for reading;
 * after changing one by hand, re-sign (and, for the body, rebuild). */
typedef struct jk_chain_block {
    jk_chain_header header;
    jk_chain_event *events;   /* event_count events, in apply order */
    size_t event_count;
    jk_chain_trace *traces;   /* trace_count traces, in attest order */
    size_t trace_count;
    uint8_t *blob_store;      /* private: every blob, back to back */
    jk_chain_dispatch_part dispatch; /* empty (ran false) unless set */
} jk_chain_block;

/* ---- headers ---- */

/* The proposer of (height, round): the ONE rule that produce, import and
 * consensus share (docs/block-format.md, "The proposer rule"):
 * (height + round) mod validator_count, computed without overflow. Round 0
 * of height n is validators[n mod V].
 * Precondition: validator_count ≥ 1 (genesis guarantees it); 0 gives 0. */
uint32_t jk_chain_proposer_index(uint32_t validator_count, uint64_t height, uint32_t round);

/* The 208-byte canonical encoding of h. Cannot fail. */
void jk_chain_header_encode(const jk_chain_header *h, uint8_t out[JK_CHAIN_HEADER_SIZE]);

/* Decode exactly one header from bytes[0..len).
 * @return JK_OK; JK_ERR_CHAIN_DECODE unless len == 208 (out then zeroed). */
jk_err jk_chain_header_decode(const uint8_t *bytes, size_t len, jk_chain_header *out,
                              jk_diag *diag);

/* The block hash: H(208-byte header encoding). */
void jk_chain_header_hash(const jk_chain_header *h, jk_hash *out);

/* What the proposer signs: H("jark/block/v2" ‖ genesis ‖ first 144 header
 * bytes), i.e. every field but the signature. */
void jk_chain_header_signing_hash(const jk_chain_header *h, const jk_hash *genesis,
                                  jk_hash *out);

/* ---- building, encoding, decoding ---- */

/* Build a block from parts, copying them all (nothing given is retained).
 * @param[in]  parent, number, proposer, state_root  header fields.
 * @param[in]  events       event_count events (blobs borrowed for the call;
 *                          blob may be NULL when blob_len is 0); NULL when
 *                          event_count is 0.
 * @param[in]  traces       trace_count traces; NULL when trace_count is 0.
 * @param[out] out          the block: header.body_hash = H(body); round 0,
 *                          last_commit and signature all zero (set round
 *                          and last_commit by hand if they differ, then
 *                          sign with jk_chain_block_sign: neither is part
 *                          of the body). Zeroed on failure.
 * @param[out] diag         optional reason on failure.
 * @return JK_OK; JK_ERR_CHAIN_TOO_LARGE (over a bound of section 1: events,
 *         a blob, traces, a dispatch index, the whole encoding);
 *         JK_ERR_INVALID_ARG (a NULL array or blob with a non-zero count);
 *         JK_ERR_NOMEM. */
jk_err jk_chain_block_build(const jk_hash *parent, uint64_t number, uint32_t proposer,
                            const jk_hash *state_root,
                            const jk_chain_event *events, size_t event_count,
                            const jk_chain_trace *traces, size_t trace_count,
                            jk_chain_block *out, jk_diag *diag);

/* Release a block's memory and zero *b. Safe on a zeroed block and on the
 * output of a failed build or decode; NULL is a no-op. */
void jk_chain_block_free(jk_chain_block *b);

/* Give b the dispatch part d (copied whole; nothing retained) and recompute
 * header.body_hash (re-sign afterwards). A part with ran false must have
 * empty lists. Consumed and queued events must be dispatch endpoints.
 * @return JK_OK; JK_ERR_CHAIN_TOO_LARGE (over a bound of the dispatch part,
 *         or the whole block over its bound: reason in diag; b unchanged);
 *         JK_ERR_INVALID_ARG (a transact in a list, lists with ran false,
 *         NULL arrays with counts); JK_ERR_NOMEM (b unchanged). */
jk_err jk_chain_block_set_dispatch(jk_chain_block *b, const jk_chain_dispatch_part *d, jk_diag *diag);

/* The number of bytes jk_chain_block_encode writes, or 0 when b is over a
 * bound (then encode refuses). */
size_t jk_chain_block_encoded_size(const jk_chain_block *b);

/* The canonical encoding header ‖ body, in a fresh malloc'd buffer.
 * @param[out] out, out_len  the bytes (caller frees) and their count; left
 *                           unchanged on failure.
 * @return JK_OK; JK_ERR_CHAIN_TOO_LARGE when b (changed by hand) is over a
 *         bound, so that encode never writes what decode refuses;
 *         JK_ERR_NOMEM. */
jk_err jk_chain_block_encode(const jk_chain_block *b, uint8_t **out, size_t *out_len);

/* Decode a block, strictly: exactly one canonical encoding, nothing after it.
 * Syntax only: the body hash and the signature are NOT checked here (see
 * jk_chain_block_check_body and jk_chain_block_verify_sig).
 * Memory is allocated only after the whole input has been walked, and never
 * more than a small multiple of len.
 * @param[in]  bytes, len  untrusted input; not retained.
 * @param[out] out         the block on success (free it); zeroed on failure.
 * @param[out] diag        optional: what was wrong and at which offset.
 * @return JK_OK; JK_ERR_CHAIN_DECODE (truncated, trailing bytes, a natural
 *         not in canonical form); JK_ERR_CHAIN_TOO_LARGE (the input over
 *         16 MiB, more events or traces than allowed, a blob over 1 MiB, a
 *         dispatch index ≥ 256); JK_ERR_NOMEM. */
jk_err jk_chain_block_decode(const uint8_t *bytes, size_t len, jk_chain_block *out,
                             jk_diag *diag);

/* ---- hashes and signatures ---- */

/* The block hash: H(header encoding). */
void jk_chain_block_hash(const jk_chain_block *b, jk_hash *out);

/* H(body encoding), computed from b's events and traces by streaming (no
 * allocation). It is what header.body_hash must be. */
void jk_chain_block_body_hash(const jk_chain_block *b, jk_hash *out);

/* @return JK_OK when header.body_hash == H(body); JK_ERR_CHAIN_BODY_HASH. */
jk_err jk_chain_block_check_body(const jk_chain_block *b);

/* Sign b's header as its proposer: header.signature := Ed25519 under
 * secret_key (64 bytes from jk_crypto_ed25519_keypair_from_seed) of
 * jk_chain_header_signing_hash(header, genesis). Signs the header as it is;
 * the body hash is not recomputed. Cannot fail. */
void jk_chain_block_sign(jk_chain_block *b,
                         const uint8_t secret_key[JK_ED25519_SECRET_SIZE],
                         const jk_hash *genesis);

/* @return JK_OK when header.signature is public_key's signature of the
 *         header's signing hash under genesis; JK_ERR_CHAIN_BLOCK_SIG
 *         otherwise (including a malformed key or signature). The body is
 *         not looked at: pair it with jk_chain_block_check_body. */
jk_err jk_chain_block_verify_sig(const jk_chain_block *b,
                                 const uint8_t public_key[JK_ED25519_PUBLIC_SIZE],
                                 const jk_hash *genesis);

/* ===========================================================================
 * 5. Invocations with attests (docs/chain-design.md, "The AttestationAuthority
 *    on the kernel")
 *
 * Chain code attests by CALLing an AA instance whose `attest` endpoint yields
 * the chain layer's attest marker (a marker minted by the kernel, so no frame
 * catches it: it reaches the root) with slot[0] = a CNode {0: key Data of 32
 * bytes, 1: blob Data}. An invocation runs CALL(target, endpoint) and serves
 * each such yield with `decide`: accepted, the paused invocation resumes with
 * the gas it has left and an empty slot[0]; refused (or malformed), the whole
 * invocation is aborted. Chain code therefore only ever sees success.
 * ======================================================================== */

/* Decide one attest: set *accept. A non-OK return stops the invocation and is
 * returned as is (an embedder failure, not a refusal). */
typedef jk_err (*jk_chain_attest_fn)(void *ctx, const uint8_t key[JK_ED25519_PUBLIC_SIZE],
                                     const uint8_t *blob, size_t blob_len, bool *accept);

/* Run CALL(target, endpoint, gas, args, slot0) on kernel k, serving attests.
 * @param marker    the attest marker (jk_kernel_mint_marker on k); borrowed.
 * @param attests   optional: the number of attests accepted.
 * @param[out] res  as jk_kernel_call's, except: an aborted invocation (a
 *                  refused or malformed attest, or one whose blob bytes, with
 *                  those of the attests before it, pass the gas given at
 *                  JK_GAS_PER_PAGE_COPIED per 4 KiB) gives outcome FAULT with fault
 *                  JK_FAULT_ABORTED, res->instance = target unchanged (nothing
 *                  of the invocation survives) and res->slot0 = slot0; a yield
 *                  to any other kernel marker is also an abort. gas_used counts
 *                  every part of the invocation.
 * @return JK_OK whenever the invocation ran; what jk_kernel_call /
 *         jk_kernel_resume / decide return otherwise. */
jk_err jk_chain_invoke(jk_kernel *k, jk_cap marker, jk_cap target, uint32_t endpoint,
                       int64_t gas, const uint64_t args[3], jk_cap slot0,
                       jk_chain_attest_fn decide, void *ctx, uint32_t *attests,
                       jk_kernel_result *res);

/* ===========================================================================
 * 6. The Kernel: cycles (kernel-chain-interface.md; docs/chain-design.md)
 *
 * The spec's Kernel as a struct with named fields. The chain image pins, in
 * slots 1..4, VerifyImage, TransactImage, DispatchInstanceImage and AAImage,
 * and Dispatch_k_Image in slot 5 + k; its endpoints are 0 apply,
 * 1 transform_to_verify and 2 + k transform_to_dispatch_k.
 * ======================================================================== */

#define JK_CHAIN_SLOT_VERIFY 1
#define JK_CHAIN_SLOT_TRANSACT 2
#define JK_CHAIN_SLOT_DISPATCH_INSTANCE 3
#define JK_CHAIN_SLOT_AA 4
#define JK_CHAIN_SLOT_DISPATCH_0 5
#define JK_CHAIN_MAX_DISPATCH_ENDPOINTS 13   /* Dispatch_k pinned in slots 5..17 */
#define JK_CHAIN_EP_APPLY 0
#define JK_CHAIN_EP_TRANSFORM_TO_VERIFY 1
#define JK_CHAIN_EP_TRANSFORM_TO_DISPATCH_0 2
#define JK_CHAIN_AA_MARKER_SLOT 20           /* where an AA instance holds the attest marker */

typedef struct jk_chain_budgets {
    int64_t transform;  /* per transform_to_* CALL */
    int64_t verify;     /* per event verify */
    int64_t process;    /* per Dispatch_k.process */
    int64_t block;      /* per chain.apply */
} jk_chain_budgets;

/* An event waiting in the kernel: the transaction pool's transacts, the
 * transacts a bounded body left out, the dispatch emits queued for the next
 * cycle. */
typedef struct jk_chain_pooled {
    uint8_t *blob;           /* read only; in a pool entry whose data is one
                                page, that Data's bytes (no copy of its own) */
    size_t blob_len;
    jk_chain_trace *traces;  /* the traces it arrived with */
    size_t trace_count;
    jk_hash hash;            /* jk_chain_event_hash of (endpoint, blob) */
    jk_chain_endpoint endpoint;
    /* In the pool (docs/chain-design.md, "No recheck"): the stamp of what
     * admitted it — the kernel's chain_stamp when a verify on that chain
     * state admitted it (traces are then the ones it used), its cycle_stamp
     * when process emitted it in that cycle (kernel_made), 0 never. Current
     * (needs no verify before a block takes it) when equal to either. */
    uint64_t stamp;
    bool kernel_made;        /* a process or apply emit no verify has run on */
    /* H(tag ‖ genesis ‖ blob), the attest message of its own blob, when a
     * verify of it computed that (an attest of exactly the event's blob):
     * produce, import and a produce's verify again take it instead of
     * hashing the blob once more. has_blob_msg false: not known. */
    bool has_blob_msg;
    jk_hash blob_msg;
    /* The blob as a Data, when a verify of it made one (its admission's, or
     * a produce's verify again): the body's Data for it at produce and
     * import, where each apply made it again (docs/chain-design.md, "The
     * body's Data from admission"). Null: not kept — made at apply. Owned by
     * the entry (released with it, jk_chain_pooled_drop). */
    jk_cap data;
} jk_chain_pooled;

/* The transaction pool's bounds (local policy, not consensus: each validator
 * may choose its own; docs/chain-design.md, "The pool"). Admission refuses,
 * it never evicts: first come, first kept, until the block takes them. */
typedef struct jk_chain_pool_limits {
    size_t max_events;       /* transacts pooled */
    size_t max_bytes;        /* Σ (blob + 128 × traces) */
    size_t max_per_key;      /* transacts pooled whose verify attested a given
                                key (an event with no attest counts under the
                                all-zero key), so one account cannot fill it */
} jk_chain_pool_limits;

#define JK_CHAIN_POOL_MAX_EVENTS 16384u
#define JK_CHAIN_POOL_MAX_BYTES (64u << 20)
#define JK_CHAIN_POOL_MAX_PER_KEY 256u
#define JK_CHAIN_MAX_QUEUED 1024u   /* dispatch emits carried into the next cycle */
#define JK_CHAIN_MAX_BUFFERED 4096u /* dispatch events buffered per endpoint per cycle */

/* A bounded set of 32-byte hashes with O(1) expected lookup (open addressing
 * on the hash's first bytes; the hashes are BLAKE2b digests, and the set is
 * bounded, so no input can make a probe sequence longer than its capacity).
 * Membership only: nothing iterates it, so its order never decides anything.
 * Private to the kernel. */
typedef struct jk_chain_hashset {
    jk_hash *slots;
    uint8_t *used;
    size_t cap, count;       /* cap a power of two (or 0) */
} jk_chain_hashset;

struct jk_chain_genesis;

/* Counters of a chain kernel's work (only ever incremented; read them from
 * ck->stats). */
typedef struct jk_chain_kernel_stats {
    uint64_t verify_runs;      /* runs of the verify program (any event, any
                                  thread, admission or produce) */
    uint64_t produce_verifies; /* of those, pooled transacts verified again
                                  by produce (their chain state had moved) */
    uint64_t pool_dropped;     /* pooled transacts dropped because their
                                  verify failed at produce */
    uint64_t attests_deferred; /* attests of admission's batched verifies
                                  whose signature check waited for the end
                                  of the run (docs/bench.md, session 8) */
    uint64_t pool_reinserted;  /* pooled entries put back by a rebuild
                                  (setup_cycle's, or produce's selection) */
    uint64_t body_datas_kept;  /* body events whose Data an apply took from
                                  the pool entry instead of making it */
} jk_chain_kernel_stats;

typedef struct jk_chain_kernel {
    jk_kernel *kernel;          /* runs every invocation */
    /* from the genesis record, checked against its hash (jk_chain_kernel_new) */
    jk_hash genesis_hash;
    jk_chain_budgets gas;
    uint32_t dispatch_count;
    uint32_t max_event_traces;
    uint32_t validator_count;
    uint8_t (*validators)[JK_ED25519_PUBLIC_SIZE]; /* validator_count keys, owned */
    /* persistent across blocks */
    jk_cap chain;               /* the canonical Chain instance */
    /* per-cycle transient (setup_cycle … apply_block / teardown) */
    jk_cap verify_proto;
    jk_cap verify_aa;           /* AA_event as injected for this cycle's chain
                                   (null: injected per event); a value, so
                                   every verify may hold the one object */
    jk_cap dispatch_protos[JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    jk_hash transact_lineage;   /* image_hash of a Transact event instance */
    jk_hash dispatch_lineage;   /* … of a Dispatch event instance */
    jk_chain_keyset cycle_seen_keys[JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    jk_cap *dispatch_buffer[JK_CHAIN_MAX_DISPATCH_ENDPOINTS]; /* admitted events */
    size_t dispatch_buffered[JK_CHAIN_MAX_DISPATCH_ENDPOINTS]; /* ≤ JK_CHAIN_MAX_BUFFERED each */
    jk_chain_hashset dispatch_index; /* event hashes of every buffered event: duplicates */
    jk_chain_pooled *pool;      /* admitted transacts, arrival order */
    size_t pool_count, pool_bytes;
    jk_chain_hashset pool_index;    /* the pool's event hashes: duplicates */
    jk_chain_pool_limits pool_limits;
    uint8_t (*pool_keys)[JK_ED25519_PUBLIC_SIZE]; /* per-key counting: a hash table (pool.c) */
    uint32_t *pool_key_uses;
    size_t pool_key_count;
    uint64_t pool_key_hashes; /* keys hashed into the table so far (a count
                                 the tests read: one an entry admitted or
                                 re-inserted, none for a rehash's moves
                                 beyond the one sizing) */
    jk_chain_keyset pool_seen_keys;
    uint8_t (*pool_seen_later)[JK_ED25519_PUBLIC_SIZE]; /* keys for pool_seen_keys
                                 not yet in it, in arrival order: an admission
                                 or a rebuild appends, produce settles them
                                 (jk_chain_pool_seen_settle, pool.c) */
    size_t pool_seen_later_count, pool_seen_later_cap;
    jk_chain_trace *cycle_traces; /* traces of admitted dispatch events, and
                                     those process used */
    size_t cycle_trace_count;
    jk_chain_pooled *queued;    /* the next cycle's queue: the dispatch
                                   emits of the last block's process (its
                                   dispatch part) and of its apply. Every
                                   setup_cycle on this head feeds a copy to
                                   its verifies; only the next block replaces
                                   it (so a second cycle on one head, the
                                   node's admission cycle then produce's,
                                   feeds it again) */
    size_t queued_count;
    /* the dispatch side of the open cycle (docs/chain-design.md, "Dispatch on
     * a network"): each buffered event as a block's dispatch part carries it
     * (blob, the traces its verify used, hash), parallel to dispatch_buffer;
     * the Σ of their encodings (≤ JK_CHAIN_CONSUMED_BYTES) and their count
     * (≤ JK_CHAIN_MAX_CONSUMED) */
    jk_chain_pooled *dispatch_src[JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    size_t dispatch_src_cap[JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    size_t dispatch_bytes, dispatch_total;
    /* the gas of the buffered events' verify runs, the queue's included:
     * a gossiped dispatch event is admitted only while it stays within the
     * replay verify budget (JK_CHAIN_REPLAY_VERIFY_GAS: the chain's block
     * budget), which bounds what a block's dispatch part makes every
     * importer verify (docs/chain-design.md, "Dispatch on a network") */
    int64_t dispatch_gas;
    bool dispatch_feeding;      /* the queue is being fed: never refused by it */
    /* what run_cycle_process made in the open cycle: whether it ran, the
     * traces its attests used (k ascending), its transacts (appended to the
     * produced body, ≤ JK_CHAIN_MAX_PROCESS_TRANSACTS and
     * JK_CHAIN_PROCESS_TRANSACT_BYTES) and its dispatch emits (the block's
     * queued list, ≤ JK_CHAIN_MAX_QUEUED and JK_CHAIN_QUEUED_BYTES) */
    bool process_ran;
    size_t process_consumed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS]; /* buffered events
                                   process saw, per endpoint: the block's
                                   consumed list (an event admitted after
                                   process waits for another cycle) */
    jk_chain_trace *process_traces;
    size_t process_trace_count, process_trace_cap;
    jk_chain_pooled *cycle_transacts;
    size_t cycle_transact_count, cycle_transact_cap, cycle_transact_bytes;
    jk_chain_pooled *cycle_queued;
    size_t cycle_queued_count, cycle_queued_cap, cycle_queued_bytes;
    jk_chain_pooled *emits;     /* apply's outgoing emits of the last block */
    size_t emit_count;
    bool cycle_open;
    FILE *debug;                /* chain programs' DEBUG_WRITE output (jk_chain_set_debug); NULL discards */
    /* this validator's own key (optional: a non-validator only imports) */
    bool has_own_key;
    uint8_t own_public[JK_ED25519_PUBLIC_SIZE];
    uint8_t own_secret[JK_ED25519_SECRET_SIZE];
    /* the AttestationAuthority: its image is read from the current chain at
     * each injection (a chain may set_image onto an image pinning another) */
    jk_cap attest_marker;       /* minted by `kernel`; caught at the root */
    /* signature checks that succeeded, the whole traces: import skips
     * what gossip already verified; never changes a result
     * (src/chain/sigcache.c). Opaque; NULL until the first success. */
    struct jk_chain_sigcache *sig_cache;
    /* the last block checked without advancing (jk_chain_check_block): its
     * hash, the chain it was applied to, and what apply made of it */
    bool has_checked;
    jk_hash checked_block;
    jk_cap checked_from, checked_chain;
    jk_chain_pooled *checked_emits;
    size_t checked_emit_count;
    bool checked_ran;               /* and its dispatch part's derived queue */
    jk_chain_pooled *checked_queued;
    size_t checked_queued_count;
    /* what the growing arrays above have room for (elements allocated; the
     * arrays grow geometrically, so n admissions cost O(n) copies in all) */
    size_t pool_cap, pool_key_cap, cycle_trace_cap, queued_cap;
    size_t dispatch_cap[JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    /* import's signature checks run on this many threads (the calling
     * thread and import_threads − 1 workers; 0 or 1: the calling thread
     * alone, checking each trace when apply asks for it). See
     * jk_chain_set_import_threads. */
    unsigned import_threads;
    /* produce's event bytes at most this (0: JK_CHAIN_PRODUCE_EVENT_BYTES;
     * never more than it). See jk_chain_set_produce_event_bytes. */
    size_t produce_event_bytes;
    /* No recheck (docs/chain-design.md): a pooled transact is verified when
     * admitted and again only when a produce would take it on another chain
     * state. chain_stamp names the chain state of the open (or last) cycle
     * (a new value when setup_cycle finds another chain root than
     * stamped_root), cycle_stamp the cycle itself; both come from
     * stamp_next, so no two are equal. */
    uint64_t stamp_next, chain_stamp, cycle_stamp;
    jk_hash stamped_root;
    /* The pool's index, bytes, per-key counts and seen keys are what a
     * rebuild on chain_stamp pool_built_stamp would make of its entries
     * (setup_cycle rebuilt it, and only admissions under the same limits
     * changed it since): a setup_cycle on that same chain state keeps them
     * instead of rebuilding (docs/chain-design.md, "A rebuild only when
     * something changed"). Cleared with the pool's index. */
    bool pool_built;
    uint64_t pool_built_stamp;
    jk_chain_kernel_stats stats;
    /* The gas of the verify run behind the last handle_incoming_event's or
     * admit_prepared's verdict (0: none ran): the node charges it to the
     * peer that relayed the event (docs/network.md "Peer costs"). */
    int64_t last_verify_gas;
} jk_chain_kernel;

/* A Kernel for the chain of `genesis`, at `head` (the current Chain
 * instance: borrowed, Idle; jk_cap_null() for genesis->chain). Recomputes the
 * genesis hash from the record and refuses a record that does not match it,
 * then takes every setting (budgets, dispatch count, trace bound, validator
 * set) from the record. Checks that the head's image pins an Image in slots
 * 1..4 and 5..4+dispatch_count and has the endpoints above. The pool limits
 * start at the JK_CHAIN_POOL_* defaults.
 * @param[out] out  owned by the caller (jk_chain_kernel_free).
 * @return JK_OK; JK_ERR_INVALID_ARG (with the reason); JK_ERR_NOMEM. */
jk_err jk_chain_kernel_new(const struct jk_chain_genesis *genesis, jk_cap head,
                           jk_chain_kernel **out, jk_diag *diag);
void jk_chain_kernel_free(jk_chain_kernel *ck);

/* Replace the pool's limits (each ≥ 1) for later admissions. */
void jk_chain_set_pool_limits(jk_chain_kernel *ck, const jk_chain_pool_limits *limits);

/* Put the keys admissions and rebuilds left in ck->pool_seen_later into
 * ck->pool_seen_keys (sorted once, merged once: an add each cost a search
 * and a move of part of the set at every admission of every node, while
 * only a produce asks the set). Before pool_seen_keys is read. Only
 * JK_ERR_NOMEM (the keys stay where they were). */
jk_err jk_chain_pool_seen_settle(jk_chain_kernel *ck);

/* How many threads import (jk_chain_apply_block_import, jk_chain_check_block)
 * checks a block's signatures on: the calling thread plus threads − 1
 * workers started per import, which check the traces the signature cache
 * does not hold while apply runs (src/chain/import_sigs.c). 0 or 1 (the
 * default): no workers, each trace checked when apply asks for it. The
 * result of an import never depends on it, only its time; a block refused
 * early costs at most one check per worker more. Not thread-safe with an
 * import running on ck. */
void jk_chain_set_import_threads(jk_chain_kernel *ck, unsigned threads);

/* The block is final (committed): its traces leave ck's signature cache.
 * The cache is for pending events, each of whose signatures is checked
 * once, at admission, and then found there by produce, a re-verify and the
 * block's import; a committed trace is asked for again only by a replay,
 * which verifies (docs/chain-design.md "The signature cache"). Call after
 * the block's import (or, for the block ck produced, when it is decided),
 * never for a block that may still be rewound. Changes no result, only what
 * later checks cost. Not thread-safe with anything else on ck. */
void jk_chain_forget_committed_sigs(jk_chain_kernel *ck, const jk_chain_block *block);

/* An event's identity: H(E(endpoint) ‖ blob). The pool's duplicate check and
 * gossip deduplication use it. */
void jk_chain_event_hash(const jk_chain_event *ev, jk_hash *out);

/* out[i] = jk_chain_event_hash(&evs[i]) for i < n, the same bytes: events
 * whose message fits one BLAKE2b block (E(endpoint) ‖ blob ≤ 128 bytes, a
 * demo transfer's 83) four at a time through the four-lane compression
 * (jk_crypto_blake2b256_x4_short, ~half the instructions of one
 * jk_chain_event_hash each), the others alone. For a block's or a turn's
 * events. */
void jk_chain_event_hashes(const jk_chain_event *evs, size_t n, jk_hash *out);

/* setup_cycle: verify_proto = MGMT_COPY(chain) + CALL transform_to_verify;
 * dispatch_protos[k] likewise with transform_to_dispatch_k; each must be the
 * chain's set_image onto the image pinned for the role (image and lineage).
 * Each cycle starts clean: the dispatch buffers, cycle_seen_keys, the pool's
 * seen keys and the cycle's traces of any earlier cycle are dropped (so an
 * abandoned cycle or a failed import leaves nothing behind); the queued
 * dispatch emits (at most JK_CHAIN_MAX_QUEUED) are verified again, as
 * handle_incoming_event would, together with those an earlier cycle was fed
 * and closed without running process on (so a second setup_cycle on one
 * head does not lose them). The transacts still waiting in the pool are
 * kept under the pool's bounds without a verify (no recheck,
 * docs/chain-design.md): produce verifies those it takes whose chain state
 * moved since their verify.
 * @return JK_OK; JK_ERR_INVALID_ARG (a transform did not HALT or made the
 *         wrong instance: reason in diag; the cycle stays closed and what
 *         waited keeps waiting); JK_ERR_NOMEM. */
jk_err jk_chain_setup_cycle(jk_chain_kernel *ck, jk_diag *diag);

/* handle_incoming_event. First, without running anything, drops: a blob over
 * JK_CHAIN_MAX_BLOB, more traces than the genesis allows per event
 * (max_event_traces), an unknown dispatch endpoint, and for a transact a
 * duplicate (same jk_chain_event_hash as a pooled one) or a full pool (count
 * or bytes), for a dispatch event a duplicate of one buffered this cycle or a
 * full buffer (JK_CHAIN_MAX_BUFFERED per endpoint). Then a fresh copy of verify_proto runs `verify` with the verify
 * scratchpad {0: blob, 1: a fresh AA} in slot[0]; its attests are checked
 * against the event's own traces (verify mode: a valid trace by the key over
 * the blob, or the event is dropped; only traces an attest asks for are
 * signature-checked, and only those used are kept). A HALT that hands back a
 * Transact instance admits the event to the pool under the pool's limits
 * (jk_chain_pool_limits: per attested key too); a Dispatch instance to
 * endpoint k's buffer (its attested keys join cycle_seen_keys[k]); the kind
 * must match ev->endpoint. Anything else drops the event.
 * @param[out] admitted  whether the event was admitted.
 * @param[out] why       optional: why it was dropped.
 * @return JK_OK (admitted or dropped); JK_ERR_INVALID_ARG (no open cycle);
 *         JK_ERR_NOMEM. */
jk_err jk_chain_handle_incoming_event(jk_chain_kernel *ck, const jk_chain_event *ev,
                                      const jk_chain_trace *traces, size_t trace_count,
                                      bool *admitted, jk_diag *why);
/* jk_chain_handle_incoming_event for a caller that hashed the event already:
 * id is jk_chain_event_hash(ev) (not checked: a wrong one would file the
 * event under another hash), so admission hashes nothing again. Same
 * returns. */
jk_err jk_chain_handle_incoming_event_id(jk_chain_kernel *ck, const jk_chain_event *ev,
                                         const jk_hash *id, const jk_chain_trace *traces,
                                         size_t trace_count, bool *admitted, jk_diag *why);

/* handle_incoming_event for n events at once, the verifies spread over
 * `threads` worker threads (each with its own kernel; 0 or 1: none), then the
 * admissions made in the events' order — so the admitted set, the seen keys
 * and their order are identical to n sequential calls (architecture §6).
 * traces[i] / trace_counts[i] are event i's traces.
 * @param[out] admitted  n flags.
 * @return JK_OK; JK_ERR_INVALID_ARG (no open cycle); JK_ERR_NOMEM. */
jk_err jk_chain_handle_incoming_events(jk_chain_kernel *ck, const jk_chain_event *events,
                                       const jk_chain_trace *const *traces,
                                       const size_t *trace_counts, size_t n,
                                       unsigned threads, bool *admitted);

/* Verify ahead, admit later: the verify half of n events' admission on
 * `threads` worker threads (as jk_chain_handle_incoming_events), kept as
 * verdicts; jk_chain_admit_prepared then admits event i when its turn comes
 * (the node verifies a loop turn's events together and hands them to
 * consensus one by one). A verdict holds for any open cycle on the same
 * chain root (verify is a pure function of the chain); the admission
 * re-checks the pool or buffer as it is then, so the outcome equals a
 * sequential handle_incoming_event at the moment of admission. Counts the
 * verify runs (ck->stats).
 * @param[out] out  owned by the caller (jk_chain_prepared_free).
 * @return JK_OK; JK_ERR_INVALID_ARG (no open cycle); JK_ERR_NOMEM. */
typedef struct jk_chain_prepared jk_chain_prepared;
jk_err jk_chain_prepare_events(jk_chain_kernel *ck, const jk_chain_event *events,
                               const jk_chain_trace *const *traces, const size_t *trace_counts, size_t n,
                               unsigned threads, jk_chain_prepared **out);
/* jk_chain_prepare_events with each event's jk_chain_event_hash in ids[i]
 * (NULL: hashed here), as jk_chain_handle_incoming_event_id. */
jk_err jk_chain_prepare_events_id(jk_chain_kernel *ck, const jk_chain_event *events, const jk_hash *ids,
                                  const jk_chain_trace *const *traces, const size_t *trace_counts, size_t n,
                                  unsigned threads, jk_chain_prepared **out);
/* Admit event i of p (ev, traces: the same event as prepared): its verdict
 * when the open cycle is on the chain root p was verified on and i was not
 * taken before, else handle_incoming_event now. Returns and fills as
 * jk_chain_handle_incoming_event. */
jk_err jk_chain_admit_prepared(jk_chain_kernel *ck, jk_chain_prepared *p, size_t i, const jk_chain_event *ev,
                               const jk_chain_trace *traces, size_t trace_count, bool *admitted, jk_diag *why);
void jk_chain_prepared_free(jk_chain_prepared *p);

/* jk_chain_handle_incoming_events with each event's reason: why[i] (n
 * diags, or NULL) is, for an event not admitted, why — the same words
 * jk_chain_handle_incoming_event gives, whatever the thread count — and is
 * left as it was for an admitted one. Same returns. */
jk_err jk_chain_handle_incoming_events_why(jk_chain_kernel *ck, const jk_chain_event *events,
                                           const jk_chain_trace *const *traces,
                                           const size_t *trace_counts, size_t n,
                                           unsigned threads, bool *admitted, jk_diag *why);

/* teardown: drop verify_proto and dispatch_protos (the transient role
 * instances); the pool and the dispatch buffers stay for the block. */
void jk_chain_teardown(jk_chain_kernel *ck);

/* The validator's own Ed25519 key: lets produce-mode attests sign for it. */
void jk_chain_set_own_key(jk_chain_kernel *ck, const uint8_t secret_key[JK_ED25519_SECRET_SIZE]);

/* Show the chain programs' debug stream (DEBUG_WRITE) on `debug`, NULL to
 * discard it (the default): every invocation of this chain kernel, including
 * verifies on the thread pool, writes there. Output only; never changes a
 * result. `debug` stays the caller's and must outlive ck's use of it. */
void jk_chain_set_debug(jk_chain_kernel *ck, FILE *debug);

/* run_cycle_process: for each k, Dispatch_k.process runs in dispatch_protos[k]
 * with {0: the buffered events, 1: a fresh AA} in slot[0]; its attests follow
 * the seen-rule (the key is in cycle_seen_keys[k]) and need a signature among
 * this cycle's traces or an own key. A process that does not HALT (or is
 * aborted) has its emits dropped: that is this kernel's chain-spec policy.
 * Emits (slot[0] at HALT) are routed: a transact joins the pool (under its
 * count and byte bounds, charged to no key, carrying the traces process
 * used); a dispatch is queued for the next cycle's verifies (at most
 * JK_CHAIN_MAX_QUEUED); malformed ones are dropped.
 * @param[out] processed  optional: for each k, the φ7 it halted with, or
 *                        UINT64_MAX when it did not HALT.
 * @return JK_OK, JK_ERR_INVALID_ARG (no open cycle), JK_ERR_NOMEM. */
jk_err jk_chain_run_cycle_process(jk_chain_kernel *ck, uint64_t processed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS]);

/* Replace the next cycle's queue (ck->queued) by a copy of list[0..n) (at
 * most JK_CHAIN_MAX_QUEUED kept): for an embedder that rebuilds a kernel on
 * its committed head (a node's rewind) and must keep the queue that head's
 * block left. @return JK_OK; JK_ERR_NOMEM (the queue unchanged). */
jk_err jk_chain_set_queue(jk_chain_kernel *ck, const jk_chain_pooled *list, size_t n);

/* Admit a transact whose verify admitted it on the chain state of the open
 * cycle (ck->stamped_root) using traces used[0..n) — the traces its attests
 * used, so their keys are the keys it attested — without running verify
 * again: verify is a pure function of that state and the event, so its
 * verdict holds. The pool's own checks run as at admission (duplicate,
 * count, bytes, per key); the entry is current (no produce verifies it
 * again on this state). For an embedder that keeps verdicts across a kernel
 * it rebuilds on the same head (the node's rewind, docs/node.md "Admission
 * cost (session 7)"). Never for an event verified on another state. id:
 * jk_chain_event_hash(ev).
 * @param[out] admitted  whether the pool took it; why (optional): if not, why.
 * @return JK_OK; JK_ERR_INVALID_ARG (no open cycle, or a dispatch event);
 *         JK_ERR_NOMEM. */
/* Whether the pool or a dispatch buffer holds the event whose
 * jk_chain_event_hash is id: O(1) (their duplicate indexes). Reads only. */
bool jk_chain_holds_event(const jk_chain_kernel *ck, const jk_hash *id);

jk_err jk_chain_pool_admit_verified(jk_chain_kernel *ck, const jk_chain_event *ev, const jk_hash *id,
                                    const jk_chain_trace *used, size_t n, bool *admitted, jk_diag *why);
/* A fresh copy of ck's queue (*out: *n entries; free with
 * jk_chain_pooled_list_free). @return JK_OK; JK_ERR_NOMEM. */
jk_err jk_chain_queue_get(const jk_chain_kernel *ck, jk_chain_pooled **out, size_t *n);
/* Free list[0..n) and each entry's blob and traces; NULL is a no-op. */
void jk_chain_pooled_list_free(jk_chain_pooled *list, size_t n);
/* The queue record (docs/block-format.md, "The queue record"): ck's queue
 * as bytes, E(n) ‖ tevent_1 … tevent_n (the dispatch part's queued list),
 * for an embedder that persists it with its head. *out malloc'd.
 * @return JK_OK; JK_ERR_NOMEM. */
jk_err jk_chain_queue_encode(const jk_chain_kernel *ck, uint8_t **out, size_t *len);
/* Decode a queue record strictly (canonical naturals, at most
 * JK_CHAIN_MAX_QUEUED dispatch events within the blob and trace bounds,
 * nothing after them) into a fresh list (*out: *n entries; free with
 * jk_chain_pooled_list_free), for jk_chain_set_queue.
 * @return JK_OK; JK_ERR_CHAIN_DECODE / JK_ERR_CHAIN_TOO_LARGE (what and
 *         where in diag; nothing allocated); JK_ERR_NOMEM. */
jk_err jk_chain_queue_decode(const uint8_t *bytes, size_t len, jk_chain_pooled **out, size_t *n, jk_diag *diag);

/* Apply's outgoing emits of the last block applied (produced or imported):
 * slot[0] at its HALT, read as process emits are (no traces). Borrowed until
 * the next apply_block. They are also routed (transacts to the pool, verified
 * again at the next setup_cycle; dispatches queued). @return their count. */
size_t jk_chain_emits(const jk_chain_kernel *ck, const jk_chain_pooled **emits);

/* Produce bounds: the events of a produced body take at most this many
 * encoded bytes, so that with JK_CHAIN_MAX_TRACES traces the block still fits
 * JK_CHAIN_MAX_BLOCK_SIZE. */
#define JK_CHAIN_PRODUCE_EVENT_BYTES (JK_CHAIN_MAX_BLOCK_SIZE / 2 - JK_CHAIN_MAX_DISPATCH_PART - 256u)

/* Lower produce's event-byte bound for this kernel (0: back to
 * JK_CHAIN_PRODUCE_EVENT_BYTES; larger values are capped at it). An embedder
 * whose transport carries smaller blocks (a consensus proposal) shrinks the
 * selection with it and produces again: the block stays a valid prefix
 * choice, and every validator's import accepts it (import has no such
 * bound: it is the proposer's choice of how much to take). */
void jk_chain_set_produce_event_bytes(jk_chain_kernel *ck, size_t bytes);

/* apply_block, produce mode, as the proposer of (number, round): the one
 * jk_chain_proposer_index(V, number, round) must be this validator's own key
 * (jk_chain_set_own_key), in an open cycle.
 * The body: the longest prefix of the pool, in admission order, within the
 * produce bounds (at most JK_CHAIN_MAX_EVENTS events taking at most
 * JK_CHAIN_PRODUCE_EVENT_BYTES); the rest waits for the next block. Every
 * transact of the prefix not verified on this chain state is verified first,
 * in pool order, and dropped from the pool when verify refuses it now
 * (ck->stats; "No recheck" in docs/chain-design.md). chain.apply
 * runs on the canonical chain with {0: body, 1: AA, 2: the block context} in
 * slot[0] (docs/chain-design.md); each attest needs the key seen this cycle
 * and a signature among the cycle's traces (events, process) or an own key;
 * the block carries one trace per attest, in order (at most
 * JK_CHAIN_MAX_TRACES, else apply counts as failed). So chain.apply must
 * skip, not fault on, a transact that has become invalid since its verify.
 * Poisoned pools: when apply does not HALT over the whole selection, the
 * body becomes its longest order-keeping subset that applies, found by
 * halving failing ranges (k poisoned transacts: O(k log n) applies); the
 * others are dropped. out->event_count says how many made it.
 * The header carries round and last_commit (NULL: zero). The chain advances,
 * the cycle ends (jk_chain_teardown), and *out is the signed block (free it
 * with jk_chain_block_free).
 * Never wedged: on any failure but JK_ERR_NOMEM the selection is dropped and
 * the cycle ended, so the next produce does not meet the same input.
 * @return JK_OK; JK_ERR_INVALID_ARG (not the proposer, no own key, no open
 *         cycle: nothing changed); JK_ERR_CHAIN_APPLY (apply does not HALT
 *         even over an empty body: the chain is unchanged, reason in why);
 *         JK_ERR_NOMEM. */
jk_err jk_chain_apply_block_produce(jk_chain_kernel *ck, const jk_hash *parent, uint64_t number,
                                    uint32_t round, const jk_hash *last_commit, jk_chain_block *out,
                                    jk_diag *why);

/* apply_block, import mode: checks the block against (parent, number); that
 * its proposer index is jk_chain_proposer_index(V, number, header.round) of
 * the genesis validator set the kernel holds and the signature is that
 * validator's; last_commit zero in block 1; its body hash. Then runs
 * chain.apply with the block's events and context, matching the i-th attest
 * to the block's i-th trace (same key and message, valid signature), requires
 * every trace used and apply to HALT with the header's state root. Then the
 * chain advances, the cycle ends, and the pool drops the block's events;
 * otherwise the chain is unchanged (and the next setup_cycle starts clean).
 * Whether last_commit matches the parent's certificate is the consensus
 * layer's check (docs/consensus.md).
 * @return JK_OK; JK_ERR_CHAIN_BLOCK_INVALID / JK_ERR_CHAIN_BLOCK_SIG /
 *         JK_ERR_CHAIN_BODY_HASH (rejected, chain unchanged; reason in why);
 *         JK_ERR_NOMEM. */
jk_err jk_chain_apply_block_import(jk_chain_kernel *ck, const jk_chain_block *block,
                                   const jk_hash *parent, uint64_t number, jk_diag *why);
/* jk_chain_apply_block_import with the block's event hashes given (ids[i] =
 * jk_chain_event_hash(&block->events[i]); NULL: computed here, as above), for
 * a caller that hashed them already: dropping the block's events from the
 * pool hashed every event again (the node's commit, session 9). The ids are
 * trusted, not checked. */
jk_err jk_chain_apply_block_import_ids(jk_chain_kernel *ck, const jk_chain_block *block,
                                       const jk_hash *ids, const jk_hash *parent, uint64_t number,
                                       jk_diag *why);

/* Import's checks and apply without advancing: is `block` valid on the
 * current head (consensus's valid(v), for a prevote)? Same checks and errors
 * as jk_chain_apply_block_import; the chain, cycle and pool are unchanged.
 * On JK_OK the result is kept (one block at a time, replacing the last), and
 * a later jk_chain_apply_block_import of the same block on the same head
 * adopts it instead of applying again (apply is a pure function of chain and
 * block, so the outcome is identical). */
jk_err jk_chain_check_block(jk_chain_kernel *ck, const jk_chain_block *block, const jk_hash *parent,
                            uint64_t number, jk_diag *why);

/* ===========================================================================
 * 7. Genesis (docs/chain-spec.md)
 * ======================================================================== */

#define JK_CHAIN_GENESIS_TAG "jark/genesis/v1"  /* 15 bytes */
#define JK_CHAIN_MAX_VALIDATORS 1024
#define JK_CHAIN_DEFAULT_EVENT_TRACES 8u     /* traces per gossiped event unless the spec says */
#define JK_CHAIN_MAX_EVENT_TRACES 1024u      /* the most a spec may allow */

/* What a chain spec says, decoded (tools/chain_spec.c reads the JSON). The
 * programs are jark program files (docs/program-format.md), borrowed. */
typedef struct jk_chain_spec {
    const uint8_t *chain, *verify, *transact, *dispatch_instance, *aa;
    size_t chain_len, verify_len, transact_len, dispatch_instance_len, aa_len;
    const uint8_t *dispatch[JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    size_t dispatch_len[JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    uint32_t dispatch_count;
    const uint32_t *state_slots;    /* initial chain state: slot → Data bytes */
    const uint8_t *const *state_data;
    const size_t *state_len;
    uint32_t state_count;
    const uint8_t (*validators)[JK_ED25519_PUBLIC_SIZE];
    uint32_t validator_count;       /* 1..JK_CHAIN_MAX_VALIDATORS */
    jk_chain_budgets gas;
    uint32_t max_event_traces;      /* traces a gossiped event may carry:
                                       1..JK_CHAIN_MAX_EVENT_TRACES; 0 means
                                       JK_CHAIN_DEFAULT_EVENT_TRACES */
} jk_chain_spec;

/* A chain's genesis record: the genesis Chain instance and every setting the
 * genesis hash binds beside it. The chain kernel takes all of its settings
 * from here and only after recomputing the hash (jk_chain_kernel_new), so no
 * budget, count or validator can be passed beside the chain unchecked: a
 * validator with other settings is on another chain (its blocks and attests
 * do not verify here).
 *
 *   genesis_hash = H("jark/genesis/v1" ‖ instance_hash(chain) ‖ E(V) ‖
 *                    key_0 ‖ … ‖ key_{V-1} ‖ transform u64 ‖ verify u64 ‖
 *                    process u64 ‖ block u64 ‖ E(dispatch_count) ‖
 *                    E(max_event_traces))
 *
 * A plain struct of values (the validator keys inline), so it is copied by
 * assignment; only `chain` is a reference (the holder releases it). */
typedef struct jk_chain_genesis {
    jk_cap chain;                   /* the genesis Chain instance (NEW reference) */
    jk_hash genesis_hash;           /* see above */
    uint32_t validator_count;       /* 1..JK_CHAIN_MAX_VALIDATORS */
    uint8_t validators[JK_CHAIN_MAX_VALIDATORS][JK_ED25519_PUBLIC_SIZE];
    jk_chain_budgets gas;
    uint32_t dispatch_count;        /* ≤ JK_CHAIN_MAX_DISPATCH_ENDPOINTS */
    uint32_t max_event_traces;      /* 1..JK_CHAIN_MAX_EVENT_TRACES */
} jk_chain_genesis;

/* Check g's settings and compute g->genesis_hash from g->chain and them (for
 * a genesis instance made by hand, as tests do; jk_chain_genesis_build calls
 * it). @return JK_OK; JK_ERR_INVALID_ARG (not an Instance, no validator or
 * too many, too many dispatch endpoints, a negative budget, a trace bound out
 * of range: reason in diag); JK_ERR_CAP_TOO_DEEP (the chain instance is
 * deeper than JK_KERNEL_MAX_HALT_DEPTH: it could never pause, so no attest
 * could run on it). */
jk_err jk_chain_genesis_seal(jk_chain_genesis *g, jk_diag *diag);

/* Check g's settings and that g->genesis_hash is their hash (what
 * jk_chain_kernel_new does first). @return JK_OK; JK_ERR_INVALID_ARG;
 * JK_ERR_CAP_TOO_DEEP (as jk_chain_genesis_seal). */
jk_err jk_chain_genesis_verify(const jk_chain_genesis *g, jk_diag *diag);

/* Build the genesis chain from a spec: images of every role (Verify pinning
 * Transact and DispatchInstance in slots 2 and 3; the ChainImage pinning
 * Verify, Transact, DispatchInstance, AA and Dispatch_k in slots 1..5+k), the
 * state Data in their slots, and the genesis instance (lineage bound to the
 * kernel: H(kernel_id ‖ image_id(ChainImage))); then the record is sealed.
 * Refused with the reason (JK_ERR_INVALID_ARG): a program that does not load
 * or whose image does not validate; a chain program without apply,
 * transform_to_verify and a transform_to_dispatch_k for every k; role
 * programs without their endpoint (verify / process / attest); the chain
 * endpoints swapped or missing (transform_to_verify must set_image onto the
 * pinned VerifyImage, transform_to_dispatch_k onto Dispatch_k's, and apply
 * over an empty body must not HALT with another image); identical TransactImage and
 * DispatchInstanceImage (verify's result would be ambiguous); an AA whose
 * attest returns without yielding to the kernel (it would make every
 * signature check pass); state in a slot outside 20..255 or given twice; no
 * validator or too many; a negative budget; a trace bound over
 * JK_CHAIN_MAX_EVENT_TRACES.
 * @param[out] out  the caller releases out->chain.
 * @return JK_OK, JK_ERR_INVALID_ARG (reason in diag), JK_ERR_NOMEM. */
jk_err jk_chain_genesis_build(const jk_chain_spec *spec, jk_chain_genesis *out, jk_diag *diag);

#endif
