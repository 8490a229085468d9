/* err.c — messages for the project-wide jk_err codes, and jk_diag. */
#include "jark/err.h"

#include <stdarg.h>
#include <stdio.h>

#define JK_ERR_TABLE(X)                                                        \
    X(JK_OK, "success")                                                        \
    X(JK_ERR_NOMEM, "out of memory")                                           \
    X(JK_ERR_INVALID_ARG, "invalid argument")                                  \
    X(JK_ERR_IO, "input/output error")                                         \
    X(JK_ERR_PARSE, "malformed input")                                         \
    X(JK_ERR_CRYPTO_INIT, "crypto library failed to initialise")               \
    X(JK_ERR_CRYPTO_BAD_SIG, "signature does not verify")                      \
    X(JK_ERR_PVM_BLOB, "malformed PVM program blob")                           \
    X(JK_ERR_PVM_TOO_LARGE, "PVM program exceeds a size bound")                \
    X(JK_ERR_PVM_MAP, "invalid PVM memory mapping")                            \
    X(JK_ERR_PVM_NOT_MAPPED, "PVM memory not mapped")                          \
    X(JK_ERR_PVM_BAD_PC, "pc is not an instruction start")                     \
    X(JK_ERR_PVM_ASM, "invalid PVM assembly")                                  \
    X(JK_ERR_CAP_KIND, "wrong cap kind")                                       \
    X(JK_ERR_CAP_RANGE, "cap index, offset or length out of range")            \
    X(JK_ERR_CAP_TOO_LARGE, "cap value exceeds a size bound")                  \
    X(JK_ERR_CAP_TOO_DEEP, "caps nested too deeply")                           \
    X(JK_ERR_CAP_IMAGE, "invalid image")                                       \
    X(JK_ERR_CAP_INSTANCE, "invalid instance")                                 \
    X(JK_ERR_CAP_PINNED, "pinned slot collides with existing content")         \
    X(JK_ERR_CAP_DECODE, "malformed or non-canonical cap encoding")            \
    X(JK_ERR_CAP_CORRUPT, "stored object does not match its hash")             \
    X(JK_ERR_CAP_MISSING, "object not in the store")                           \
    X(JK_ERR_CAP_STORE, "cap store (LMDB) failure")                            \
    X(JK_ERR_CAP_STORE_FULL, "cap store map is full")                          \
    X(JK_ERR_CHAIN_DECODE, "malformed or non-canonical block encoding")        \
    X(JK_ERR_CHAIN_TOO_LARGE, "block count or size exceeds a bound")           \
    X(JK_ERR_CHAIN_BLOCK_SIG, "block signature does not verify")               \
    X(JK_ERR_CHAIN_BODY_HASH, "block body does not match its body hash")       \
    X(JK_ERR_CHAIN_TRACE_KEY, "attestation trace is by another key")           \
    X(JK_ERR_CHAIN_TRACE_MSG, "attestation trace is for another message")      \
    X(JK_ERR_CHAIN_TRACE_SIG, "attestation trace signature does not verify")   \
    X(JK_ERR_CHAIN_BLOCK_INVALID, "block rejected")                            \
    X(JK_ERR_CHAIN_APPLY, "chain.apply did not halt")                          \
    X(JK_ERR_CHAIN_DUPLICATE, "event already in the pool")                   \
    X(JK_ERR_NET_LISTEN, "network listener could not bind or listen")         \
    X(JK_ERR_NET_TLS, "TLS setup failed")                                      \
    X(JK_ERR_NET_FRAME, "malformed network frame")                            \
    X(JK_ERR_NET_TOO_LARGE, "network frame over its size bound")              \
    X(JK_ERR_NET_INCOMPLETE, "network frame incomplete")                      \
    X(JK_ERR_NET_NOT_CONNECTED, "peer not connected")                          \
    X(JK_ERR_RPC_NOT_FOUND, "not found")                                       \
    X(JK_ERR_RPC_UNAVAILABLE, "the node cannot answer now")                    \
    X(JK_ERR_RPC_HTTP, "malformed HTTP or JSON-RPC answer")                    \
    X(JK_ERR_RPC_REMOTE, "the server answered with a JSON-RPC error")          \
    X(JK_ERR_CONS_DECODE, "malformed consensus message")                       \
    X(JK_ERR_CONS_SIG, "consensus signature does not verify")                  \
    X(JK_ERR_CONS_MEMBER, "signer is not the expected validator")              \
    X(JK_ERR_CONS_CERT, "invalid commit certificate")                          \
    X(JK_ERR_CONS_RECORD, "malformed signed-vote record")                      \
    X(JK_ERR_CONS_VALUE, "certified value rejected by the application")        \
    X(JK_ERR_NODE_STORE_BUSY, "the store is open in another process")         \
    X(JK_ERR_NODE_STORE_CORRUPT, "the store file is truncated or damaged")     \
    X(JK_ERR_NODE_ARCHIVE, "block archive (LMDB) failure")                     \
    X(JK_ERR_NODE_MISSING, "no such block in the archive")                     \
    X(JK_ERR_NODE_CONFLICT, "block conflicts with the archive")                \
    X(JK_ERR_NODE_EVENT, "malformed gossiped event")                          \
    X(JK_ERR_NODE_HEIGHT, "not the height after the committed head") \
    X(JK_ERR_NODE_EVIDENCE, "evidence is not two conflicting votes")           \
    X(JK_ERR_NODE_VALUE, "malformed consensus value (block and certificate)")  \
    X(JK_ERR_NODE_LAST_COMMIT, "the carried LastCommit certificate is invalid") \
    X(JK_ERR_NODE_OLD_LAYOUT, "a store of the old layout (separate archive)")  \
    X(JK_ERR_NODE_VOTE_LOG, "the signed-vote log is malformed or cannot be written") \
    X(JK_ERR_CAP_STORE_LAYOUT, "a store of another layout (sync again into an empty directory)")

#define JK_ERR_CODE(code, msg) code,
const jk_err jk_err_all[] = {JK_ERR_TABLE(JK_ERR_CODE)};
const size_t jk_err_all_count = sizeof jk_err_all / sizeof jk_err_all[0];

const char *jk_strerror(jk_err err)
{
    switch (err) {
#define JK_ERR_CASE(code, msg) case code: return msg;
        JK_ERR_TABLE(JK_ERR_CASE)
    }
    return "unknown error";
}

jk_err jk_diag_set(jk_diag *diag, jk_err err, const char *fmt, ...)
{
    if (diag) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(diag->msg, sizeof diag->msg, fmt, ap);
        va_end(ap);
    }
    return err;
}
