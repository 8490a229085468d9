/*
 * value.c — the chain application's consensus value (docs/consensus.md
 * "The value"): a jark block followed by the parent's commit certificate,
 * the LastCommit every validator checks before it prevotes for the block.
 *
 *   value = block ‖ certificate ‖ cert_len u32 LE
 *
 * The block comes first so that its header sits at offset 0 (id(v) is the
 * header hash, read without decoding the rest); the length comes last so
 * that the block's own encoding needs no change. Block 1 carries no
 * certificate (cert_len 0). The block itself is the chain layer's to decode.
 */
#include "jark/node.h"

#include "jark/bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

jk_err jk_node_value_encode(const uint8_t *block, size_t block_len, const jk_cons_cert *cert,
                            uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    size_t clen = cert ? jk_cons_cert_size(cert) : 0;
    if (block_len < JK_CHAIN_HEADER_SIZE || (cert && (cert->count == 0 ||
                                                      cert->count > JK_CONS_MAX_VALIDATORS)) ||
        block_len + clen + 4 > JK_CONS_MAX_VALUE)
        return JK_ERR_INVALID_ARG;
    uint8_t *b = malloc(block_len + clen + 4);
    if (!b)
        return JK_ERR_NOMEM;
    memcpy(b, block, block_len);
    if (cert)
        jk_cons_cert_encode(cert, b + block_len);
    jk_put_u32le(b + block_len + clen, (uint32_t)clen);
    *out = b;
    *out_len = block_len + clen + 4;
    return JK_OK;
}

jk_err jk_node_value_decode(const uint8_t *bytes, size_t len, jk_node_value *out, jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    if (len < JK_CHAIN_HEADER_SIZE + 4 || len > JK_CONS_MAX_VALUE)
        return jk_diag_set(diag, JK_ERR_NODE_VALUE, "value: %zu bytes, not within %u..%u", len,
                           JK_CHAIN_HEADER_SIZE + 4, JK_CONS_MAX_VALUE);
    uint32_t clen = jk_get_u32le(bytes + len - 4);
    if (clen > len - 4 - JK_CHAIN_HEADER_SIZE)
        return jk_diag_set(diag, JK_ERR_NODE_VALUE,
                           "value: a certificate of %u bytes leaves no block header in %zu", clen,
                           len);
    size_t block_len = len - 4 - clen;
    if (clen > 0) {
        jk_err err = jk_cons_cert_decode(bytes + block_len, clen, &out->cert, diag);
        if (err != JK_OK) {
            memset(out, 0, sizeof *out);
            char why[sizeof diag->msg];
            snprintf(why, sizeof why, "%s", diag && diag->msg[0] ? diag->msg : jk_strerror(err));
            return jk_diag_set(diag, JK_ERR_NODE_VALUE, "value: the carried certificate: %s", why);
        }
        out->has_cert = true;
    }
    out->block = bytes;
    out->block_len = block_len;
    return JK_OK;
}
