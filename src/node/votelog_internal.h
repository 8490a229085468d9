/*
 * votelog_internal.h — what the signed-vote log's two decoders share
 * (src/node/votelog.c: format 03, written and read, and 02, read only;
 * votelog_v1.c: format 01, read only: both migrated at open).
 */
#ifndef JK_NODE_VOTELOG_INTERNAL_H
#define JK_NODE_VOTELOG_INTERNAL_H

#include "jark/node.h"

#define JK_NODE_VLOG_HEADER 8 /* "jkvlog" ‖ the format version, two digits */
#define JK_NODE_VLOG_SUM 8    /* BLAKE2b-64 */

/* -1, 0, 1 as a is below, equal to, above b in (height, round, step). */
int jk_node_vlog_hrs_cmp(const jk_cons_record *a, const jk_cons_record *b);
/* Keep r as the next record of the latest two heights (a higher height
 * drops the records two heights below it). @return JK_OK; JK_ERR_NOMEM. */
jk_err jk_node_vlog_latest_push(jk_cons_record **list, size_t *n, size_t *cap, const jk_cons_record *r);
/* The height of the proof of lock pol[0..len) (jk_cons_pol_next), 0 when
 * the bytes are not one proof: the log keeps them as opaque as before, the
 * machine refuses them at start. */
uint64_t jk_node_vlog_pol_height(const uint8_t *pol, size_t len);
/* Keep the proof (height, off, len) as the last of its height among
 * pols[0..*n): one of the same height and those two heights below go. */
void jk_node_vlog_pol_keep(jk_node_votelog_polref *pols, size_t *n, uint64_t height, size_t off, size_t len);
/* Take the n records at rec (an append's, unit-th at offset off) into out:
 * each must decode, be present and be above *prev (the one before it, once
 * out holds any); out->latest grows (*cap its room).
 * @return JK_OK; JK_ERR_NODE_VOTE_LOG (out freed); JK_ERR_NOMEM. */
jk_err jk_node_vlog_take(const uint8_t *rec, size_t n, size_t unit, size_t off, jk_cons_record *prev,
                         size_t *cap, jk_node_votelog_view *out, jk_diag *diag);
/* Decode bytes[0..len) (len >= 8, starting "jkvlog01") as format 01, with
 * the rules it always had (docs/node.md): a torn tail is a last unit
 * shorter than its count or length says, or one filling the file whose
 * checksum fails, or a zero tail. out as jk_node_votelog_decode.
 * @return JK_OK; JK_ERR_NODE_VOTE_LOG; JK_ERR_NOMEM. */
jk_err jk_node_votelog_decode_v1(const uint8_t *bytes, size_t len, jk_node_votelog_view *out, jk_diag *diag);

#endif
