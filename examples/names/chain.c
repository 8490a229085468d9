/* chain.c — the registry's ChainImage: apply and the transforms.
 *
 * Pins: 1 VerifyImage, 2 TransactImage, 3 DispatchInstanceImage, 4 AAImage,
 * 5 Dispatch_0_Image. State: 20 records, 21 height, 22 expiry queue, 23 TTL
 * (names.h).
 *
 * apply: slot[0] = {0: body, 1: AA}; body slot i = {0: target Data (u32),
 * 1: blob Data}, in block order. It counts the block (height h = blocks
 * applied, this one included), then applies each event, which must be a
 * transact (target 0) holding a well-formed award, renew, transfer or delete
 * — else apply faults and the block is invalid. One that no longer fits the
 * state (a name taken since its verify, a renew that an earlier event in the
 * block already used, a delete of a name renewed since) is skipped, so two
 * events verified against the same state can share a block. Renews and
 * transfers are attested only when they apply (their signer is the record's
 * owner, which a skipped one may no longer have); awards always are.
 *
 * Emits (slot[0] at HALT, when there are any): for each name that runs out
 * at h, a delete transact 'D' ‖ name (at most NAMES_MAX_EMITS a block), so
 * the record is removed by an ordinary event in a later block; anyone may
 * send the same delete, and a name that has run out is free either way.
 * Returns the number of events that changed the state. */
#include "names.h"

#define QUEUE_MAX 2048 /* names queued per expiry height (64 KiB) */

static uint8_t blob[NAMES_MAX_BLOB];
static uint8_t queue[QUEUE_MAX][NAMES_NAME];

/* Remember that `name` runs out at `expires`: the expiry queue's slot
 * expires mod 2^16, visited at every height of that residue (emit_expired).
 * A full slot drops the entry: the name still runs out, it only gets no
 * delete emit. */
static void queue_add(uint64_t expires, const uint8_t name[NAMES_NAME])
{
    if (jk_cap_kind(JK_PATH(NAMES_SLOT_EXPIRY)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH(NAMES_SLOT_EXPIRY), 16);
    uint64_t path = JK_PATH2(NAMES_SLOT_EXPIRY, expires & 0xffff);
    uint64_t n = names_read_units(path, queue, sizeof queue, NAMES_NAME);
    if (n == QUEUE_MAX)
        return;
    memcpy(queue[n++], name, NAMES_NAME);
    jk_drop(path);
    jk_data_mint(queue, n * NAMES_NAME, path);
}

/* Emit a delete for each queued name whose record runs out at h. The slot
 * then keeps only the names that run out at a later height sharing it
 * (renewals can push an expiry 2^16 or more blocks ahead). */
static uint64_t emit_expired(uint64_t h)
{
    uint64_t path = JK_PATH2(NAMES_SLOT_EXPIRY, h & 0xffff), emits = 0, kept = 0;
    if (jk_cap_kind(path) != JK_KIND_DATA)
        return 0;
    uint64_t len = jk_data_len(path);
    NAMES_REQUIRE(len % NAMES_NAME == 0 && len <= sizeof queue);
    jk_cnode_mint(JK_PATH(NAMES_SLOT_OUT), 8);
    for (uint64_t off = 0; off < len; off += NAMES_NAME) {
        uint8_t del[NAMES_DELETE], transact[4] = {0, 0, 0, 0};
        jk_data_read(path, off, NAMES_NAME, del + 1);
        names_record r;
        names_get(del + 1, &r);
        if (r.exists && names_expires(&r) > h && (names_expires(&r) & 0xffff) == (h & 0xffff))
            memcpy(queue[kept++], del + 1, NAMES_NAME); /* runs out 2^16·k blocks later */
        if (!r.exists || names_expires(&r) != h || emits == NAMES_MAX_EMITS)
            continue; /* renewed, deleted, awarded anew — or over the bound */
        del[0] = 'D';
        jk_cnode_mint(JK_PATH2(NAMES_SLOT_OUT, emits), 1);
        jk_data_mint(transact, 4, JK_PATH3(NAMES_SLOT_OUT, emits, 0));
        jk_data_mint(del, NAMES_DELETE, JK_PATH3(NAMES_SLOT_OUT, emits, 1));
        emits++;
    }
    jk_drop(path);
    if (kept)
        jk_data_mint(queue, kept * NAMES_NAME, path);
    if (emits)
        jk_move(JK_PATH(NAMES_SLOT_OUT), JK_SLOT0);
    else
        jk_drop(JK_PATH(NAMES_SLOT_OUT));
    return emits;
}

/* Apply one event at height h; returns whether it changed the state. */
static int apply_one(uint64_t len, uint64_t h, uint64_t ttl)
{
    names_record r;
    if (blob[0] == 'A') {
        const uint8_t *claim = blob + 1;
        NAMES_REQUIRE(len == NAMES_AWARD && names_claim_parse(claim, NAMES_CLAIM));
        names_attest(claim + 1, claim, NAMES_CLAIM);
        names_get(claim + 33, &r);
        if (names_taken(&r, h) || (!r.exists && !names_room(claim + 33)))
            return 0;
        memcpy(r.rec + 32, claim + 1, 32);
        names_put_u64(r.rec + 64, h + ttl);
        names_put_u64(r.rec + 72, 0);
        names_put(r.rec, 0);
        queue_add(h + ttl, claim + 33);
        return 1;
    }
    if (blob[0] == 'R' || blob[0] == 'X') {
        NAMES_REQUIRE(len == (blob[0] == 'R' ? NAMES_RENEW : NAMES_TRANSFER) && names_valid(blob + 1));
        names_get(blob + 1, &r);
        if (!names_change_fits(&r, h, blob + len - 16))
            return 0;
        names_attest(names_owner(&r), blob, len);
        if (blob[0] == 'R') {
            names_put_u64(r.rec + 64, names_expires(&r) + ttl);
            queue_add(names_expires(&r), blob + 1);
        } else {
            memcpy(r.rec + 32, blob + 33, 32);
        }
        names_put_u64(r.rec + 72, names_version(&r) + 1);
        names_put(r.rec, 0);
        return 1;
    }
    NAMES_REQUIRE(blob[0] == 'D' && len == NAMES_DELETE && names_valid(blob + 1));
    names_get(blob + 1, &r);
    if (!r.exists || names_taken(&r, h))
        return 0;
    names_put(r.rec, 1);
    return 1;
}

uint64_t apply(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(NAMES_SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(NAMES_SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t h = names_next_height(), ttl = names_ttl(), changed = 0;
    names_store_u64(JK_PATH(NAMES_SLOT_HEIGHT), h);
    for (uint64_t i = 0; i < 65536; i++) {
        if (jk_cap_kind(JK_PATH2(NAMES_SLOT_INPUT, i)) == JK_KIND_NONE)
            break;
        uint8_t target[4];
        NAMES_REQUIRE(jk_data_len(JK_PATH3(NAMES_SLOT_INPUT, i, 0)) == 4);
        jk_data_read(JK_PATH3(NAMES_SLOT_INPUT, i, 0), 0, 4, target);
        NAMES_REQUIRE(target[0] == 0 && target[1] == 0 && target[2] == 0 && target[3] == 0);
        uint64_t len = jk_data_len(JK_PATH3(NAMES_SLOT_INPUT, i, 1));
        NAMES_REQUIRE(len > 0 && len <= sizeof blob);
        jk_data_read(JK_PATH3(NAMES_SLOT_INPUT, i, 1), 0, len, blob);
        changed += (uint64_t)apply_one(len, h, ttl);
    }
    jk_drop(JK_PATH(NAMES_SLOT_AA));
    jk_drop(JK_PATH(NAMES_SLOT_INPUT));
    emit_expired(h);
    return changed;
}

uint64_t transform_to_verify(void)
{
    jk_set_image(JK_PATH(NAMES_PIN_VERIFY));
    return 0;
}

uint64_t transform_to_dispatch_0(void)
{
    jk_set_image(JK_PATH(NAMES_PIN_DISPATCH_0));
    return 0;
}

JK_ENDPOINT(0, apply);
JK_ENDPOINT(1, transform_to_verify);
JK_ENDPOINT(2, transform_to_dispatch_0);
