/*
 * votelog_v1.c — the signed-vote log's format 01 ("jkvlog01"), read only:
 * a log an earlier jark wrote is decoded with the rules it was written
 * under and rewritten in format 02 by jk_node_votelog_open (votelog.c says
 * why 02 replaced it: 01 has no checksum over a unit's count or length).
 *
 * Format 01: header "jkvlog01"; then per append either count u8
 * (1..JK_NODE_VOTELOG_GROUP) ‖ count × 87-byte records ‖ BLAKE2b-64 of the
 * count and the records, or a proof of lock: 0xFF ‖ len u32 LE
 * (1..JK_NODE_VOTELOG_POL_MAX) ‖ the bytes ‖ BLAKE2b-64 of the marker, the
 * length and the bytes.
 */
#include "votelog_internal.h"

#include "jark/bytes.h"
#include "jark/crypto.h"

#include <stdlib.h>
#include <string.h>

#define JK_VLOG1_UNIT(n) (1 + (size_t)(n) * JK_CONS_RECORD_SIZE + JK_NODE_VLOG_SUM)
#define JK_VLOG1_POL 0xFF
#define JK_VLOG1_POL_UNIT(len) (5 + (size_t)(len) + JK_NODE_VLOG_SUM)

static bool jk_vlog1_sum_ok(const uint8_t *unit, size_t body)
{
    uint8_t sum[JK_NODE_VLOG_SUM];
    (void)jk_crypto_blake2b(unit, body, sum, sizeof sum);
    return memcmp(sum, unit + body, JK_NODE_VLOG_SUM) == 0;
}

static bool jk_vlog1_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

jk_err jk_node_votelog_decode_v1(const uint8_t *bytes, size_t len, jk_node_votelog_view *out, jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    size_t off = JK_NODE_VLOG_HEADER, cap = 0, unit = 0;
    out->valid_len = JK_NODE_VLOG_HEADER;
    jk_cons_record prev = {0};
    while (off < len) {
        const uint8_t *p = bytes + off;
        size_t n = p[0], left = len - off, size = JK_VLOG1_UNIT(n), body = size - JK_NODE_VLOG_SUM;
        unit++;
        if (jk_vlog1_zero(p, left)) {
            out->torn = true; /* the file grew, the last append's data did not land */
            break;
        }
        if (n == JK_VLOG1_POL) {
            if (left < 5) {
                out->torn = true;
                break;
            }
            size_t plen = jk_get_u32le(p + 1);
            if (plen == 0 || plen > JK_NODE_VOTELOG_POL_MAX) {
                jk_node_votelog_view_free(out);
                return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG,
                                   "vote log (format 01): append %zu (offset %zu): a proof of lock of %zu bytes",
                                   unit, off, plen);
            }
            size = JK_VLOG1_POL_UNIT(plen);
            body = size - JK_NODE_VLOG_SUM;
        } else if (n == 0 || n > JK_NODE_VOTELOG_GROUP) {
            jk_node_votelog_view_free(out);
            return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG,
                               "vote log (format 01): append %zu (offset %zu) counts %zu records", unit, off, n);
        }
        if (size > left || !jk_vlog1_sum_ok(p, body)) {
            if (size >= left) {
                out->torn = true; /* the last append, cut short by a crash */
                break;
            }
            jk_node_votelog_view_free(out);
            return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG,
                               "vote log (format 01): append %zu (offset %zu) is corrupt (checksum) and %zu bytes "
                               "follow it",
                               unit, off, left - size);
        }
        if (n == JK_VLOG1_POL) {
            size_t plen = size - 5 - JK_NODE_VLOG_SUM;
            jk_node_vlog_pol_keep(out->pols, &out->npols, jk_node_vlog_pol_height(p + 5, plen), off + 5, plen);
            n = 0;
        }
        jk_err err = jk_node_vlog_take(p + 1, n, unit, off, &prev, &cap, out, diag);
        if (err != JK_OK)
            return err;
        off += size;
        out->valid_len = off;
    }
    return JK_OK;
}

