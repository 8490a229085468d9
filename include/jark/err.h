/*
 * jark/err.h — the one project-wide error enum, and diagnostics.
 *
 * Every jark function that can fail returns a jk_err. JK_OK is 0; each layer
 * owns a band of negative values so that a code names the layer that raised it.
 * A guest program that panics, faults or runs out of gas is NOT an error: that
 * is reported as an exit status (see jk_pvm_exit in pvm.h).
 *
 * Decoders of untrusted bytes also take an optional jk_diag, into which they
 * write a one-line human-readable reason (what was wrong and where) on failure.
 */
#ifndef JARK_ERR_H
#define JARK_ERR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum jk_err {
    JK_OK = 0,

    /* base: -1 .. -99 */
    JK_ERR_NOMEM = -1,        /* an allocation failed */
    JK_ERR_INVALID_ARG = -2,  /* a caller broke a documented precondition */
    JK_ERR_IO = -3,           /* a file could not be read or written */
    JK_ERR_PARSE = -4,        /* a text or JSON input is malformed */

    /* crypto: -100 .. -199 */
    JK_ERR_CRYPTO_INIT = -100,      /* libsodium could not initialise */
    JK_ERR_CRYPTO_BAD_SIG = -101,   /* a signature does not verify */

    /* pvm: -200 .. -299 */
    JK_ERR_PVM_BLOB = -200,         /* program blob malformed */
    JK_ERR_PVM_TOO_LARGE = -201,    /* program exceeds a documented bound */
    JK_ERR_PVM_MAP = -202,          /* bad memory mapping request */
    JK_ERR_PVM_NOT_MAPPED = -203,   /* host access to an unmapped page */
    JK_ERR_PVM_BAD_PC = -204,       /* resume pc is not an instruction start */
    JK_ERR_PVM_ASM = -205,          /* assembler source is invalid */

    /* cap: -300 .. -399 */
    JK_ERR_CAP_KIND = -300,         /* a cap of the wrong kind (or the null cap) */
    JK_ERR_CAP_RANGE = -301,        /* index, offset or length out of range */
    JK_ERR_CAP_TOO_LARGE = -302,    /* a value exceeds a documented bound */
    JK_ERR_CAP_TOO_DEEP = -303,     /* cap nesting deeper than JK_CAP_MAX_DEPTH */
    JK_ERR_CAP_IMAGE = -304,        /* an Image refused by validation */
    JK_ERR_CAP_INSTANCE = -305,     /* an Instance invariant does not hold */
    JK_ERR_CAP_PINNED = -306,       /* a pinned slot collides with other content */
    JK_ERR_CAP_DECODE = -307,       /* malformed or non-canonical encoding */
    JK_ERR_CAP_CORRUPT = -308,      /* stored bytes do not hash to their name */
    JK_ERR_CAP_MISSING = -309,      /* object or head not in the store */
    JK_ERR_CAP_STORE = -310,        /* the LMDB store failed */
    JK_ERR_CAP_STORE_FULL = -311,   /* the LMDB map is full */

    /* chain: -500 .. -599 */
    JK_ERR_CHAIN_DECODE = -500,     /* block bytes malformed: truncated, trailing
                                       bytes, a non-canonical natural */
    JK_ERR_CHAIN_TOO_LARGE = -501,  /* a block count or size over its bound */
    JK_ERR_CHAIN_BLOCK_SIG = -502,  /* the proposer's block signature fails */
    JK_ERR_CHAIN_BODY_HASH = -503,  /* body does not hash to the header's */
    JK_ERR_CHAIN_TRACE_KEY = -504,  /* a trace made by another key */
    JK_ERR_CHAIN_TRACE_MSG = -505,  /* a trace for another message (blob or
                                       genesis) */
    JK_ERR_CHAIN_TRACE_SIG = -506,  /* a trace's signature does not verify */
    JK_ERR_CHAIN_BLOCK_INVALID = -507, /* a block import rejects: wrong parent,
                                          number, proposer, a trace unused or
                                          mismatched, apply not HALTing, state root */
    JK_ERR_CHAIN_APPLY = -508,      /* producing: chain.apply did not HALT */
    JK_ERR_CHAIN_DUPLICATE = -509,  /* an event the pool already holds */

    /* net: -900 .. -999 */
    JK_ERR_NET_LISTEN = -900,       /* the listener could not bind or listen */
    JK_ERR_NET_TLS = -901,          /* GnuTLS refused the key, certificate or setup */
    JK_ERR_NET_FRAME = -902,        /* a malformed frame (unknown kind) */
    JK_ERR_NET_TOO_LARGE = -903,    /* a frame over its kind's size bound */
    JK_ERR_NET_INCOMPLETE = -904,   /* a frame not yet whole: more bytes needed */
    JK_ERR_NET_NOT_CONNECTED = -905, /* the peer has no open connection */
    /* rpc: -1300 .. -1399 */
    JK_ERR_RPC_NOT_FOUND = -1300,   /* no such block or slot (JSON-RPC -32001) */
    JK_ERR_RPC_UNAVAILABLE = -1301, /* the node cannot answer now (-32002) */
    JK_ERR_RPC_HTTP = -1302,        /* not a valid HTTP / JSON-RPC answer */
    JK_ERR_RPC_REMOTE = -1303,      /* the server answered with a JSON-RPC error */
    /* consensus: -1000 .. -1099 */
    JK_ERR_CONS_DECODE = -1000,      /* consensus message malformed */
    JK_ERR_CONS_SIG = -1001,         /* vote or proposal signature fails */
    JK_ERR_CONS_MEMBER = -1002,      /* signer not a validator, or not the
                                       proposer of (height, round) */
    JK_ERR_CONS_CERT = -1003,        /* a commit certificate that does not
                                       prove its value final */
    JK_ERR_CONS_RECORD = -1004,      /* signed-vote record malformed */
    JK_ERR_CONS_VALUE = -1005,       /* a certified value the app rejects */
    /* node: -700 .. -799 */
    JK_ERR_NODE_STORE_BUSY = -700,  /* another process holds the store's lock */
    JK_ERR_NODE_STORE_CORRUPT = -701, /* data.mdb truncated or not an LMDB file */

    /* node, block archive and sync: -720 .. -739 */
    JK_ERR_NODE_ARCHIVE = -720,      /* the block archive (LMDB) failed */
    JK_ERR_NODE_MISSING = -721,      /* no such height or block in the archive */
    JK_ERR_NODE_CONFLICT = -722,     /* another block at an archived height, or
                                        a height out of order */

    /* node, chain-backed consensus application: -740 .. -759 */
    JK_ERR_NODE_EVENT = -740,        /* a gossiped event encoding malformed */
    JK_ERR_NODE_HEIGHT = -741,       /* a height that is not the head's next */

    /* node, one-transaction archive, LastCommit, evidence: -760 .. -779 */
    JK_ERR_NODE_EVIDENCE = -760,     /* evidence that is not two conflicting votes */
    JK_ERR_NODE_VALUE = -761,        /* a consensus value (block ‖ certificate)
                                        malformed */
    JK_ERR_NODE_LAST_COMMIT = -762,  /* the carried certificate of the parent
                                        is not a valid LastCommit */
    JK_ERR_NODE_OLD_LAYOUT = -763,   /* a store written with the archive in its
                                        own environment (before one-transaction
                                        commits) */

    /* node, the signed-vote log and the store's format: -780 .. -799 */
    JK_ERR_NODE_VOTE_LOG = -780,     /* the signed-vote log is malformed or
                                        cannot be written */
    JK_ERR_CAP_STORE_LAYOUT = -781,  /* a store of another layout (e.g. 1: a
                                        record per CNode node) */
} jk_err;

/* The message for a code; never NULL (unknown codes give "unknown error"). */
const char *jk_strerror(jk_err err);

/* Every defined code, for tests that check jk_strerror covers them all. */
extern const jk_err jk_err_all[];
extern const size_t jk_err_all_count;

/* A diagnostic line filled by decoders on failure. May be passed as NULL. */
typedef struct jk_diag {
    char msg[192];
} jk_diag;

/* printf-style: write a message into diag (no-op when diag is NULL). Returns err,
 * so decoders can write `return jk_diag_set(diag, JK_ERR_PVM_BLOB, "...", ...)`. */
jk_err jk_diag_set(jk_diag *diag, jk_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Read a whole file (src/base/file.c) into a malloc'd buffer the caller
 * frees, with a NUL after the last byte (for text; not counted in *out_len).
 * @return JK_OK; JK_ERR_IO (diag: the path and errno's message);
 *         JK_ERR_NOMEM. */
jk_err jk_read_file(const char *path, uint8_t **out, size_t *out_len, jk_diag *diag);

/* Refuse what json-c accepts silently (src/base/json.c), for every reader of
 * untrusted JSON: run on text json-c has parsed without error. Keys compare
 * as written (an escaped spelling of a key is not caught). `numbers`: also
 * refuse an integer below INT64_MIN or above UINT64_MAX, which json-c clamps
 * to those ends (false for a reader that refuses the ends per field itself,
 * as the RPC parser does to answer with that request's own error).
 * @return JK_OK; JK_ERR_PARSE (diag: a key given twice in one object, an
 *         integer out of range, or bytes that are not well-formed UTF-8 as
 *         jk_utf8_check says); JK_ERR_NOMEM. */
jk_err jk_json_check(const char *text, size_t len, bool numbers, jk_diag *diag);

/* Are the len bytes well-formed UTF-8 (Unicode Table 3-7: no overlong
 * forms, no surrogates, nothing past U+10FFFF)? When not, *bad_at
 * (optional) receives the offset of the first byte of the first bad
 * sequence. */
bool jk_utf8_check(const void *bytes, size_t len, size_t *bad_at);

#endif
