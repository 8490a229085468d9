/*
 * codec.c — the consensus layer's bytes: vote and proposal signing messages,
 * commit certificates (encoding, hash, check), peer messages (canonical
 * encoding, strict decoding) and the signed-vote record.
 *
 * Every format is fixed-width little-endian (jark/bytes.h) and is laid out in
 * docs/consensus.md. Decoders take untrusted bytes: they check every length
 * and flag before reading, refuse anything the encoder would not have
 * written (so decode ∘ encode is the identity both ways), never allocate, and
 * explain a refusal in the jk_diag.
 */
#include "internal.h"

#include "jark/bytes.h"

#include <stdlib.h>
#include <string.h>

/* Domain tags: a vote signature can never be read as a proposal signature,
 * a block signature or an attestation trace (those sign other layouts). */
static const uint8_t jk_vote_tag[16] = "jark-cons-vote-1";
static const uint8_t jk_prop_tag[16] = "jark-cons-prop-1";

uint32_t jk_cons_quorum(uint32_t n) { return (2 * n) / 3 + 1; }
uint32_t jk_cons_skip_threshold(uint32_t n) { return n / 3 + 1; }

/* ---- votes ---------------------------------------------------------------- */

static void jk_vote_sign_bytes(const jk_cons_vote *v, const jk_hash *genesis,
                               uint8_t out[JK_CONS_VOTE_SIGN_SIZE])
{
    memcpy(out, jk_vote_tag, 16);
    memcpy(out + 16, genesis->bytes, 32);
    jk_put_u64le(out + 48, v->height);
    jk_put_u32le(out + 56, v->round);
    out[60] = v->type;
    out[61] = v->has_value ? 1 : 0;
    if (v->has_value)
        memcpy(out + 62, v->value.bytes, 32);
    else
        memset(out + 62, 0, 32);
}

void jk_cons_vote_sign(jk_cons_vote *vote, const jk_hash *genesis,
                       const uint8_t secret_key[JK_ED25519_SECRET_SIZE])
{
    uint8_t msg[JK_CONS_VOTE_SIGN_SIZE];
    jk_vote_sign_bytes(vote, genesis, msg);
    jk_crypto_ed25519_sign(secret_key, msg, sizeof msg, vote->sig);
}

jk_err jk_cons_vote_verify(const jk_cons_vote *vote, const jk_hash *genesis,
                           const jk_cons_valset *vs)
{
    if (vote->validator >= vs->count)
        return JK_ERR_CONS_MEMBER;
    uint8_t msg[JK_CONS_VOTE_SIGN_SIZE];
    jk_vote_sign_bytes(vote, genesis, msg);
    if (jk_crypto_ed25519_verify(vs->keys[vote->validator], msg, sizeof msg, vote->sig) != JK_OK)
        return JK_ERR_CONS_SIG;
    return JK_OK;
}

/* ---- proposals ------------------------------------------------------------ */

static void jk_prop_sign_bytes(const jk_cons_proposal *p, const jk_hash *genesis,
                               const jk_hash *value_hash, uint8_t out[96])
{
    memcpy(out, jk_prop_tag, 16);
    memcpy(out + 16, genesis->bytes, 32);
    jk_put_u64le(out + 48, p->height);
    jk_put_u32le(out + 56, p->round);
    jk_put_u32le(out + 60, p->valid_round);
    memcpy(out + 64, value_hash->bytes, 32);
}

void jk_cons_proposal_sign(jk_cons_proposal *p, const jk_hash *genesis,
                           const jk_hash *value_hash,
                           const uint8_t secret_key[JK_ED25519_SECRET_SIZE])
{
    uint8_t msg[96];
    jk_prop_sign_bytes(p, genesis, value_hash, msg);
    jk_crypto_ed25519_sign(secret_key, msg, sizeof msg, p->sig);
}

jk_err jk_cons_proposal_verify(const jk_cons_proposal *p, const jk_hash *genesis,
                               const jk_hash *value_hash, const jk_cons_valset *vs)
{
    if (p->proposer >= vs->count)
        return JK_ERR_CONS_MEMBER;
    uint8_t msg[96];
    jk_prop_sign_bytes(p, genesis, value_hash, msg);
    if (jk_crypto_ed25519_verify(vs->keys[p->proposer], msg, sizeof msg, p->sig) != JK_OK)
        return JK_ERR_CONS_SIG;
    return JK_OK;
}

/* ---- certificates --------------------------------------------------------- */

size_t jk_cons_cert_size(const jk_cons_cert *cert)
{
    return JK_CONS_CERT_HEAD + (size_t)JK_CONS_CERT_ENTRY * cert->count;
}

void jk_cons_cert_encode(const jk_cons_cert *cert, uint8_t *out)
{
    jk_put_u64le(out, cert->height);
    jk_put_u32le(out + 8, cert->round);
    memcpy(out + 12, cert->value.bytes, 32);
    jk_put_u32le(out + 44, cert->count);
    uint8_t *p = out + JK_CONS_CERT_HEAD;
    for (uint32_t i = 0; i < cert->count; i++, p += JK_CONS_CERT_ENTRY) {
        jk_put_u32le(p, cert->sigs[i].validator);
        memcpy(p + 4, cert->sigs[i].sig, JK_ED25519_SIG_SIZE);
    }
}

jk_err jk_cons_cert_decode(const uint8_t *b, size_t len, jk_cons_cert *cert, jk_diag *diag)
{
    memset(cert, 0, sizeof *cert);
    if (len < JK_CONS_CERT_HEAD)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE,
                           "certificate: %zu bytes, shorter than its 48-byte head", len);
    uint32_t count = jk_get_u32le(b + 44);
    if (count == 0 || count > JK_CONS_MAX_VALIDATORS)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE,
                           "certificate: %u signatures (1..%u allowed)", count,
                           JK_CONS_MAX_VALIDATORS);
    if (len != JK_CONS_CERT_HEAD + (size_t)JK_CONS_CERT_ENTRY * count)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE,
                           "certificate: %zu bytes for %u signatures (want %zu)", len, count,
                           JK_CONS_CERT_HEAD + (size_t)JK_CONS_CERT_ENTRY * count);
    uint32_t round = jk_get_u32le(b + 8);
    if (round > JK_CONS_MAX_ROUND)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE, "certificate: round %u over the bound",
                           round);
    const uint8_t *p = b + JK_CONS_CERT_HEAD;
    for (uint32_t i = 0; i < count; i++, p += JK_CONS_CERT_ENTRY) {
        uint32_t v = jk_get_u32le(p);
        if (v >= JK_CONS_MAX_VALIDATORS || (i > 0 && v <= cert->sigs[i - 1].validator)) {
            memset(cert, 0, sizeof *cert);
            return jk_diag_set(diag, JK_ERR_CONS_DECODE,
                               "certificate: signature %u names validator %u (must be "
                               "ascending, below %u)", i, v, JK_CONS_MAX_VALIDATORS);
        }
        cert->sigs[i].validator = v;
        memcpy(cert->sigs[i].sig, p + 4, JK_ED25519_SIG_SIZE);
    }
    cert->height = jk_get_u64le(b);
    cert->round = round;
    memcpy(cert->value.bytes, b + 12, 32);
    cert->count = count;
    return JK_OK;
}

void jk_cons_cert_hash(const jk_cons_cert *cert, jk_hash *out)
{
    jk_crypto_hasher h;
    uint8_t head[JK_CONS_CERT_HEAD], entry[JK_CONS_CERT_ENTRY];
    /* Streamed so that no 8.7 KB buffer is needed; same bytes as encode. */
    jk_put_u64le(head, cert->height);
    jk_put_u32le(head + 8, cert->round);
    memcpy(head + 12, cert->value.bytes, 32);
    jk_put_u32le(head + 44, cert->count);
    jk_crypto_hasher_init(&h);
    jk_crypto_hasher_update(&h, head, sizeof head);
    for (uint32_t i = 0; i < cert->count && i < JK_CONS_MAX_VALIDATORS; i++) {
        jk_put_u32le(entry, cert->sigs[i].validator);
        memcpy(entry + 4, cert->sigs[i].sig, JK_ED25519_SIG_SIZE);
        jk_crypto_hasher_update(&h, entry, sizeof entry);
    }
    (void)jk_crypto_hasher_final(&h, out);
}

jk_err jk_cons_cert_check(const jk_cons_cert *cert, const jk_hash *genesis,
                          const jk_cons_valset *vs, uint64_t height,
                          const jk_hash *value, jk_diag *diag)
{
    if (cert->height != height)
        return jk_diag_set(diag, JK_ERR_CONS_CERT, "certificate for height %llu, not %llu",
                           (unsigned long long)cert->height, (unsigned long long)height);
    if (memcmp(cert->value.bytes, value->bytes, JK_HASH_SIZE) != 0)
        return jk_diag_set(diag, JK_ERR_CONS_CERT, "certificate for another value");
    uint32_t q = jk_cons_quorum(vs->count);
    if (cert->count < q || cert->count > vs->count)
        return jk_diag_set(diag, JK_ERR_CONS_CERT,
                           "certificate has %u precommits, a quorum of %u validators is %u",
                           cert->count, vs->count, q);
    jk_cons_vote v = {0};
    v.type = JK_CONS_MSG_PRECOMMIT;
    v.height = height;
    v.round = cert->round;
    v.has_value = true;
    v.value = *value;
    for (uint32_t i = 0; i < cert->count; i++) {
        /* Ascending order is what makes the members distinct. */
        if (i > 0 && cert->sigs[i].validator <= cert->sigs[i - 1].validator)
            return jk_diag_set(diag, JK_ERR_CONS_CERT,
                               "certificate: validator %u repeated or out of order",
                               cert->sigs[i].validator);
        v.validator = cert->sigs[i].validator;
        memcpy(v.sig, cert->sigs[i].sig, JK_ED25519_SIG_SIZE);
        jk_err err = jk_cons_vote_verify(&v, genesis, vs);
        if (err == JK_ERR_CONS_MEMBER)
            return jk_diag_set(diag, JK_ERR_CONS_CERT,
                               "certificate: validator %u not in the set of %u",
                               v.validator, vs->count);
        if (err != JK_OK)
            return jk_diag_set(diag, JK_ERR_CONS_CERT,
                               "certificate: precommit of validator %u does not verify",
                               v.validator);
    }
    return JK_OK;
}

/* ---- messages ------------------------------------------------------------- */

void jk_cons_vote_encode(const jk_cons_vote *v, uint8_t out[JK_CONS_VOTE_SIZE])
{
    out[0] = v->type;
    jk_put_u64le(out + 1, v->height);
    jk_put_u32le(out + 9, v->round);
    out[13] = v->has_value ? 1 : 0;
    if (v->has_value)
        memcpy(out + 14, v->value.bytes, 32);
    else
        memset(out + 14, 0, 32);
    jk_put_u32le(out + 46, v->validator);
    memcpy(out + 50, v->sig, JK_ED25519_SIG_SIZE);
}

static bool jk_all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static jk_err jk_decode_vote(const uint8_t *b, size_t len, jk_cons_vote *v, jk_diag *diag)
{
    if (len != JK_CONS_VOTE_SIZE)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE, "vote: %zu bytes, want %d", len,
                           JK_CONS_VOTE_SIZE);
    if (b[13] > 1)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE, "vote: value flag %u is not 0 or 1", b[13]);
    if (b[13] == 0 && !jk_all_zero(b + 14, 32))
        return jk_diag_set(diag, JK_ERR_CONS_DECODE, "vote: a nil vote with a value hash");
    v->type = b[0];
    v->height = jk_get_u64le(b + 1);
    v->round = jk_get_u32le(b + 9);
    if (v->round > JK_CONS_MAX_ROUND)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE, "vote: round %u over the bound", v->round);
    v->has_value = b[13] == 1;
    memcpy(v->value.bytes, b + 14, 32);
    v->validator = jk_get_u32le(b + 46);
    if (v->validator >= JK_CONS_MAX_VALIDATORS)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE, "vote: validator index %u over the bound",
                           v->validator);
    memcpy(v->sig, b + 50, JK_ED25519_SIG_SIZE);
    return JK_OK;
}

static jk_err jk_decode_proposal(const uint8_t *b, size_t len, jk_cons_proposal *p,
                                 jk_diag *diag)
{
    if (len < JK_CONS_PROPOSAL_FIXED)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE, "proposal: %zu bytes, shorter than %d",
                           len, JK_CONS_PROPOSAL_FIXED);
    p->height = jk_get_u64le(b + 1);
    p->round = jk_get_u32le(b + 9);
    p->valid_round = jk_get_u32le(b + 13);
    p->proposer = jk_get_u32le(b + 17);
    uint32_t vlen = jk_get_u32le(b + 21);
    if (p->round > JK_CONS_MAX_ROUND)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE, "proposal: round %u over the bound",
                           p->round);
    if (p->valid_round != JK_CONS_NIL_ROUND && p->valid_round >= p->round)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE,
                           "proposal: valid round %u not below its round %u", p->valid_round,
                           p->round);
    if (p->proposer >= JK_CONS_MAX_VALIDATORS)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE, "proposal: proposer %u over the bound",
                           p->proposer);
    if (vlen == 0 || vlen > JK_CONS_MAX_VALUE)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE, "proposal: value of %u bytes (1..%u)",
                           vlen, JK_CONS_MAX_VALUE);
    if (len != JK_CONS_PROPOSAL_FIXED + (size_t)vlen)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE,
                           "proposal: %zu bytes for a value of %u (want %zu)", len, vlen,
                           JK_CONS_PROPOSAL_FIXED + (size_t)vlen);
    p->value = b + 25;
    p->value_len = vlen;
    memcpy(p->sig, b + 25 + vlen, JK_ED25519_SIG_SIZE);
    return JK_OK;
}

/* Zero every field of msg but the certificate's signature entries (~8.7 KB
 * of the ~8.8 KB struct): an EVENT or a vote uses a few dozen bytes of it,
 * and zeroing the whole struct was 9,000 of the 9,900 instructions the
 * machine spent on an EVENT message (docs/bench.md "Admission, session
 * 7"). With decision.cert.count 0 no entry is part of the value; a DECISION
 * writes its certificate whole (jk_cons_cert_decode). */
static void jk_msg_clear(jk_cons_msg *msg)
{
    msg->kind = 0;
    memset(&msg->proposal, 0, sizeof msg->proposal);
    memset(&msg->vote, 0, sizeof msg->vote);
    msg->sync_height = 0;
    msg->decision.value = NULL;
    msg->decision.value_len = 0;
    msg->decision.cert.height = 0;
    msg->decision.cert.round = 0;
    memset(msg->decision.cert.value.bytes, 0, JK_HASH_SIZE);
    msg->decision.cert.count = 0;
    msg->event = NULL;
    msg->event_len = 0;
}

jk_err jk_cons_msg_decode(const uint8_t *b, size_t len, jk_cons_msg *msg, jk_diag *diag)
{
    jk_err err = JK_OK;
    jk_msg_clear(msg);
    if (len == 0)
        return jk_diag_set(diag, JK_ERR_CONS_DECODE, "empty message");
    switch (b[0]) {
    case JK_CONS_MSG_PROPOSAL:
        err = jk_decode_proposal(b, len, &msg->proposal, diag);
        break;
    case JK_CONS_MSG_PREVOTE:
    case JK_CONS_MSG_PRECOMMIT:
        err = jk_decode_vote(b, len, &msg->vote, diag);
        break;
    case JK_CONS_MSG_SYNC_REQUEST:
        if (len != 9)
            err = jk_diag_set(diag, JK_ERR_CONS_DECODE, "sync request: %zu bytes, want 9", len);
        else
            msg->sync_height = jk_get_u64le(b + 1);
        break;
    case JK_CONS_MSG_DECISION: {
        if (len < 5) {
            err = jk_diag_set(diag, JK_ERR_CONS_DECODE, "decision: %zu bytes, truncated", len);
            break;
        }
        uint32_t vlen = jk_get_u32le(b + 1);
        if (vlen == 0 || vlen > JK_CONS_MAX_VALUE || vlen > len - 5) {
            err = jk_diag_set(diag, JK_ERR_CONS_DECODE,
                              "decision: value of %u bytes in a %zu-byte message", vlen, len);
            break;
        }
        msg->decision.value = b + 5;
        msg->decision.value_len = vlen;
        err = jk_cons_cert_decode(b + 5 + vlen, len - 5 - vlen, &msg->decision.cert, diag);
        break;
    }
    case JK_CONS_MSG_EVENT: {
        uint32_t elen = len >= 5 ? jk_get_u32le(b + 1) : 0;
        if (len < 5 || elen == 0 || elen > JK_CONS_MAX_EVENT || len != 5 + (size_t)elen)
            err = jk_diag_set(diag, JK_ERR_CONS_DECODE,
                              "event: %zu bytes with a length field of %u (1..%u)", len, elen,
                              JK_CONS_MAX_EVENT);
        else {
            msg->event = b + 5;
            msg->event_len = elen;
        }
        break;
    }
    default:
        err = jk_diag_set(diag, JK_ERR_CONS_DECODE, "unknown message kind %u", b[0]);
    }
    if (err != JK_OK) {
        jk_msg_clear(msg);
        return err;
    }
    msg->kind = (jk_cons_msg_kind)b[0];
    return JK_OK;
}

jk_err jk_cons_event_encode(const uint8_t *event, size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!event || len == 0 || len > JK_CONS_MAX_EVENT)
        return JK_ERR_INVALID_ARG;
    uint8_t *b = malloc(5 + len);
    if (!b)
        return JK_ERR_NOMEM;
    b[0] = JK_CONS_MSG_EVENT;
    jk_put_u32le(b + 1, (uint32_t)len);
    memcpy(b + 5, event, len);
    *out = b;
    *out_len = 5 + len;
    return JK_OK;
}

jk_err jk_cons_msg_encode(const jk_cons_msg *msg, uint8_t **out, size_t *out_len)
{
    size_t n;
    uint8_t *b;
    *out = NULL;
    *out_len = 0;
    switch (msg->kind) {
    case JK_CONS_MSG_PROPOSAL: {
        const jk_cons_proposal *p = &msg->proposal;
        if (!p->value || p->value_len == 0 || p->value_len > JK_CONS_MAX_VALUE ||
            p->round > JK_CONS_MAX_ROUND || p->proposer >= JK_CONS_MAX_VALIDATORS ||
            (p->valid_round != JK_CONS_NIL_ROUND && p->valid_round >= p->round))
            return JK_ERR_INVALID_ARG;
        n = JK_CONS_PROPOSAL_FIXED + p->value_len;
        if (!(b = malloc(n)))
            return JK_ERR_NOMEM;
        b[0] = JK_CONS_MSG_PROPOSAL;
        jk_put_u64le(b + 1, p->height);
        jk_put_u32le(b + 9, p->round);
        jk_put_u32le(b + 13, p->valid_round);
        jk_put_u32le(b + 17, p->proposer);
        jk_put_u32le(b + 21, (uint32_t)p->value_len);
        memcpy(b + 25, p->value, p->value_len);
        memcpy(b + 25 + p->value_len, p->sig, JK_ED25519_SIG_SIZE);
        break;
    }
    case JK_CONS_MSG_PREVOTE:
    case JK_CONS_MSG_PRECOMMIT:
        if (msg->vote.type != msg->kind || msg->vote.round > JK_CONS_MAX_ROUND ||
            msg->vote.validator >= JK_CONS_MAX_VALIDATORS)
            return JK_ERR_INVALID_ARG;
        n = JK_CONS_VOTE_SIZE;
        if (!(b = malloc(n)))
            return JK_ERR_NOMEM;
        jk_cons_vote_encode(&msg->vote, b);
        break;
    case JK_CONS_MSG_SYNC_REQUEST:
        n = 9;
        if (!(b = malloc(n)))
            return JK_ERR_NOMEM;
        b[0] = JK_CONS_MSG_SYNC_REQUEST;
        jk_put_u64le(b + 1, msg->sync_height);
        break;
    case JK_CONS_MSG_DECISION: {
        const jk_cons_cert *c = &msg->decision.cert;
        size_t vlen = msg->decision.value_len;
        if (!msg->decision.value || vlen == 0 || vlen > JK_CONS_MAX_VALUE || c->count == 0 ||
            c->count > JK_CONS_MAX_VALIDATORS || c->round > JK_CONS_MAX_ROUND)
            return JK_ERR_INVALID_ARG;
        for (uint32_t i = 0; i < c->count; i++)
            if (c->sigs[i].validator >= JK_CONS_MAX_VALIDATORS ||
                (i > 0 && c->sigs[i].validator <= c->sigs[i - 1].validator))
                return JK_ERR_INVALID_ARG;
        n = 5 + vlen + jk_cons_cert_size(c);
        if (!(b = malloc(n)))
            return JK_ERR_NOMEM;
        b[0] = JK_CONS_MSG_DECISION;
        jk_put_u32le(b + 1, (uint32_t)vlen);
        memcpy(b + 5, msg->decision.value, vlen);
        jk_cons_cert_encode(c, b + 5 + vlen);
        break;
    }
    case JK_CONS_MSG_EVENT:
        return jk_cons_event_encode(msg->event, msg->event_len, out, out_len);
    default:
        return JK_ERR_INVALID_ARG;
    }
    *out = b;
    *out_len = n;
    return JK_OK;
}

/* ---- the signed-vote record ----------------------------------------------- */

void jk_cons_record_encode(const jk_cons_record *r, uint8_t out[JK_CONS_RECORD_SIZE])
{
    memset(out, 0, JK_CONS_RECORD_SIZE);
    if (!r->present)
        return;
    out[0] = 1;
    jk_put_u64le(out + 1, r->height);
    jk_put_u32le(out + 9, r->round);
    out[13] = r->step;
    out[14] = r->has_value ? 1 : 0;
    if (r->has_value)
        memcpy(out + 15, r->value.bytes, 32);
    jk_put_u32le(out + 47, r->valid_round);
    jk_put_u32le(out + 51, r->locked_round);
    if (r->locked_round != JK_CONS_NIL_ROUND)
        memcpy(out + 55, r->locked_value.bytes, 32);
}

jk_err jk_cons_record_decode(const uint8_t *b, size_t len, jk_cons_record *r, jk_diag *diag)
{
    memset(r, 0, sizeof *r);
    if (len != JK_CONS_RECORD_SIZE)
        return jk_diag_set(diag, JK_ERR_CONS_RECORD, "record: %zu bytes, want %d", len,
                           JK_CONS_RECORD_SIZE);
    if (b[0] > 1 || b[13] > JK_CONS_STEP_PRECOMMIT || b[14] > 1)
        return jk_diag_set(diag, JK_ERR_CONS_RECORD,
                           "record: flag %u, step %u or value flag %u out of range", b[0],
                           b[13], b[14]);
    if (b[0] == 0) {
        if (!jk_all_zero(b, len))
            return jk_diag_set(diag, JK_ERR_CONS_RECORD, "record: empty record with content");
        return JK_OK;
    }
    jk_cons_record t = {0};
    t.present = true;
    t.height = jk_get_u64le(b + 1);
    t.round = jk_get_u32le(b + 9);
    t.step = b[13];
    t.has_value = b[14] == 1;
    memcpy(t.value.bytes, b + 15, 32);
    t.valid_round = jk_get_u32le(b + 47);
    t.locked_round = jk_get_u32le(b + 51);
    memcpy(t.locked_value.bytes, b + 55, 32);
    if ((!t.has_value && !jk_all_zero(b + 15, 32)) ||
        (t.locked_round == JK_CONS_NIL_ROUND && !jk_all_zero(b + 55, 32)))
        return jk_diag_set(diag, JK_ERR_CONS_RECORD, "record: a nil field with a hash");
    if (t.round > JK_CONS_MAX_ROUND ||
        (t.locked_round != JK_CONS_NIL_ROUND && t.locked_round > t.round))
        return jk_diag_set(diag, JK_ERR_CONS_RECORD, "record: round %u / locked round %u",
                           t.round, t.locked_round);
    *r = t;
    return JK_OK;
}
