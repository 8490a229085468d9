/* chain.c — the exchange's ChainImage: apply books each block's settles.
 *
 * slot[0] = {0: body (slot i = {0: target u32, 1: blob}), 1: AA, 2: block
 * context}. Only settles reach apply (verify admits nothing else as a
 * transact; process makes settles). For each settle, every entry's order is
 * attested again (on import, that is how each validator checks the block's
 * signatures), then the whole settle is checked against the state and
 * booked, or skipped as a whole:
 *   - each entry: 1 ≤ filled ≤ amount; a buy's limit ≥ price, a sell's ≤
 *     price; its owner has an account, once in the settle, with the order's
 *     nonce and the funds for what is filled (filled × price quote to buy,
 *     filled base to sell);
 *   - what the buys fill equals what the sells fill (nothing is made or
 *     lost).
 * Booking moves base and quote at the price and bumps each owner's nonce,
 * so an order settles at most once. A malformed settle faults (the block
 * is invalid: no honest process makes one); a settle the state no longer
 * allows is skipped (the block stays valid). Slot 21 keeps the last price
 * and its block. Returns the number of settles booked. */
#include "common.h"

static uint8_t blob[MAX_BLOB];
static accounts acc;

/* Check the settle against acc; book it into acc when it holds. */
static int settle_book(const uint8_t *s, uint64_t n, uint64_t price)
{
    int64_t who[MAX_ENTRIES];
    uint64_t bought = 0, sold = 0;
    for (uint64_t e = 0; e < n; e++) {
        const uint8_t *x = s + SETTLE_HEAD + e * ENTRY_SIZE;
        uint8_t ob[ORDER_SIZE];
        order o;
        order_of_entry(x, ob);
        REQUIRE(order_parse(ob, ORDER_SIZE, &o)); /* malformed: the block is invalid */
        uint64_t f = get_u64(x + ORDER_SIZE - 1);
        if (f < 1 || f > o.amount)
            return 0;
        if (o.side == SIDE_BUY ? o.limit < price : o.limit > price)
            return 0;
        int64_t i = account_find(&acc, o.owner);
        if (i < 0 || acc_nonce(&acc, i) != o.nonce)
            return 0;
        for (uint64_t k = 0; k < e; k++)
            if (who[k] == i)
                return 0;
        who[e] = i;
        if (o.side == SIDE_BUY) {
            if (f * price > acc_quote(&acc, i)) /* f, price < 2^32: no wrap */
                return 0;
            bought += f;
        } else {
            if (f > acc_base(&acc, i))
                return 0;
            sold += f;
        }
    }
    if (bought != sold || bought == 0)
        return 0;
    for (uint64_t e = 0; e < n; e++) {
        const uint8_t *x = s + SETTLE_HEAD + e * ENTRY_SIZE;
        uint8_t *r = acc.rec[who[e]];
        uint64_t f = get_u64(x + ORDER_SIZE - 1), base = get_u64(r + 32), quote = get_u64(r + 40);
        if (x[32] == SIDE_BUY) {
            base += f;
            quote -= f * price;
        } else {
            base -= f;
            quote += f * price;
        }
        put_u64(r + 32, base);
        put_u64(r + 40, quote);
        put_u64(r + 48, get_u64(r + 48) + 1);
    }
    return 1;
}

uint64_t apply(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_move(JK_PATH2(0, 2), JK_PATH(SLOT_CONTEXT));
    jk_drop(JK_SLOT0);
    uint8_t ctx[16];
    REQUIRE(jk_data_len(JK_PATH(SLOT_CONTEXT)) == 16);
    jk_data_read(JK_PATH(SLOT_CONTEXT), 0, 16, ctx);
    accounts_load(&acc);
    uint64_t booked = 0, last_price = 0;
    for (uint64_t i = 0; jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) != JK_KIND_NONE; i++) {
        uint8_t target[4];
        REQUIRE(read_blob(JK_PATH3(SLOT_INPUT, i, 0), target, 4) == 4);
        REQUIRE(target[0] == 0 && target[1] == 0 && target[2] == 0 && target[3] == 0);
        uint64_t len = read_blob(JK_PATH3(SLOT_INPUT, i, 1), blob, sizeof blob);
        REQUIRE(len >= SETTLE_HEAD && blob[0] == 'S');
        uint64_t price = get_u64(blob + 1), n = blob[9];
        REQUIRE(n >= 1 && n <= MAX_ENTRIES && len == SETTLE_HEAD + n * ENTRY_SIZE);
        REQUIRE(price >= 1 && price <= MAX_AMOUNT);
        for (uint64_t e = 0; e < n; e++) {
            uint8_t ob[ORDER_SIZE];
            order_of_entry(blob + SETTLE_HEAD + e * ENTRY_SIZE, ob);
            attest(ob + 1, ob, ORDER_SIZE);
        }
        if (settle_book(blob, n, price)) { /* it changes acc only when it books */
            booked++;
            last_price = price;
        }
    }
    if (booked) {
        accounts_store(&acc);
        uint8_t last[16];
        put_u64(last, last_price);
        memcpy(last + 8, ctx, 8);
        jk_drop(JK_PATH(SLOT_LAST));
        jk_data_mint(last, 16, JK_PATH(SLOT_LAST));
    }
    jk_drop(JK_PATH(SLOT_CONTEXT));
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return booked;
}

uint64_t transform_to_verify(void)
{
    jk_set_image(JK_PATH(PIN_VERIFY));
    return 0;
}

uint64_t transform_to_dispatch_0(void)
{
    jk_set_image(JK_PATH(PIN_DISPATCH_0));
    return 0;
}

JK_ENDPOINT(0, apply);
JK_ENDPOINT(1, transform_to_verify);
JK_ENDPOINT(2, transform_to_dispatch_0);
