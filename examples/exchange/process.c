/* process.c — the exchange's Dispatch_0_Image: once per cycle, over the
 * orders admitted to dispatch endpoint 0. slot[0] = {0: CNode of the event
 * instances, in admission order, 1: AA}.
 *
 * One order per owner (the first admitted; the owner's nonce makes any
 * other unusable anyway). Buys sorted by limit, highest first, sells lowest
 * first (ties: admission order); matched greedily while the best buy's limit
 * reaches the best sell's. Every match is booked at one clearing price, the
 * mean (rounded down) of the last matched buy's and sell's limits: no buyer
 * pays above, no seller gets below, their limit. Each matched order is
 * attested again (the seen-rule: its owner took part this cycle) and the
 * match goes out as one settle transact (common.h). Orders not matched are
 * consumed with the block, unmatched: their owners send them again.
 * Returns the number of orders matched. */
#include "common.h"

#define MAX_ORDERS 256

static accounts acc;
static uint8_t orders[MAX_ORDERS][ORDER_SIZE];
static uint64_t filled[MAX_ORDERS];
static uint16_t buys[MAX_ORDERS], sells[MAX_ORDERS];
static uint8_t settle[MAX_BLOB];

static uint64_t limit_of(uint16_t k) { return get_u64(orders[k] + 42); }
static uint64_t amount_of(uint16_t k) { return get_u64(orders[k] + 34); }

/* Insertion sort by limit (descending when `desc`), stable. */
static void sort_by_limit(uint16_t *ix, uint64_t n, int desc)
{
    for (uint64_t i = 1; i < n; i++) {
        uint16_t k = ix[i];
        uint64_t j = i;
        while (j > 0 && (desc ? limit_of(ix[j - 1]) < limit_of(k) : limit_of(ix[j - 1]) > limit_of(k))) {
            ix[j] = ix[j - 1];
            j--;
        }
        ix[j] = k;
    }
}

/* The cycle's usable orders into `orders`; returns how many. */
static uint64_t collect(void)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < 65536 && n < MAX_ORDERS; i++) {
        if (jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) != JK_KIND_INSTANCE)
            break;
        jk_drop(JK_SLOT0);
        REQUIRE(jk_call(JK_PATH2(SLOT_INPUT, i), 0, jk_gas(), 0, 0, 0).outcome == JK_OUTCOME_HALT);
        if (jk_data_len(JK_SLOT0) != ORDER_SIZE)
            continue;
        uint8_t blob[ORDER_SIZE];
        jk_data_read(JK_SLOT0, 0, ORDER_SIZE, blob);
        order o;
        int64_t a;
        if (!order_parse(blob, ORDER_SIZE, &o) || (a = account_find(&acc, o.owner)) < 0 ||
            o.nonce != acc_nonce(&acc, a) || !order_funded(&acc, a, &o))
            continue; /* verify admitted it against this same state: cannot happen */
        int dup = 0;
        for (uint64_t k = 0; k < n && !dup; k++)
            dup = memcmp(orders[k] + 1, o.owner, 32) == 0;
        if (!dup)
            memcpy(orders[n++], blob, ORDER_SIZE);
    }
    jk_drop(JK_SLOT0);
    return n;
}

uint64_t process(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    accounts_load(&acc);
    uint64_t n = collect(), nb = 0, ns = 0;
    for (uint64_t k = 0; k < n; k++) {
        filled[k] = 0;
        if (orders[k][33] == SIDE_BUY)
            buys[nb++] = (uint16_t)k;
        else
            sells[ns++] = (uint16_t)k;
    }
    sort_by_limit(buys, nb, 1);
    sort_by_limit(sells, ns, 0);

    /* Match. At most MAX_ENTRIES orders take part (one settle). */
    uint64_t bi = 0, si = 0, used = 0, last_buy = 0, last_sell = 0;
    while (bi < nb && si < ns && limit_of(buys[bi]) >= limit_of(sells[si])) {
        uint16_t b = buys[bi], s = sells[si];
        uint64_t need = (filled[b] == 0) + (filled[s] == 0);
        if (used + need > MAX_ENTRIES)
            break;
        used += need;
        uint64_t rb = amount_of(b) - filled[b], rs = amount_of(s) - filled[s], q = rb < rs ? rb : rs;
        filled[b] += q;
        filled[s] += q;
        last_buy = limit_of(b);
        last_sell = limit_of(s);
        if (filled[b] == amount_of(b))
            bi++;
        if (filled[s] == amount_of(s))
            si++;
    }

    jk_cnode_mint(JK_PATH(SLOT_WORK), 0);
    if (used) {
        uint64_t price = last_buy / 2 + last_sell / 2 + (last_buy % 2 + last_sell % 2) / 2;
        settle[0] = 'S';
        put_u64(settle + 1, price);
        uint64_t m = 0;
        for (uint64_t k = 0; k < n; k++) { /* admission order */
            if (!filled[k])
                continue;
            uint8_t *e = settle + SETTLE_HEAD + m * ENTRY_SIZE;
            memcpy(e, orders[k] + 1, ORDER_SIZE - 1);
            put_u64(e + ORDER_SIZE - 1, filled[k]);
            attest(orders[k] + 1, orders[k], ORDER_SIZE);
            m++;
        }
        settle[9] = (uint8_t)m;
        uint8_t transact[4] = {0, 0, 0, 0};
        jk_drop(JK_PATH(SLOT_WORK));
        jk_cnode_mint(JK_PATH(SLOT_WORK), 0); /* one emit: a CNode of 2^0 slots */
        jk_cnode_mint(JK_PATH2(SLOT_WORK, 0), 1);
        jk_data_mint(transact, 4, JK_PATH3(SLOT_WORK, 0, 0));
        jk_data_mint(settle, SETTLE_HEAD + m * ENTRY_SIZE, JK_PATH3(SLOT_WORK, 0, 1));
        used = m;
    }
    jk_move(JK_PATH(SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return used;
}
JK_ENDPOINT(0, process);
