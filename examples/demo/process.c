/* process.c — Dispatch_0_Image (pinned in slot 5): the oracle's aggregation.
 *
 * slot[0] = {0: the cycle's report instances (admission order), 1: AA}.
 * Collects the reports newer than the state's round, one per (reporter,
 * round) — the first admitted wins —, picks the newest round that has a
 * quorum (DEMO_QUORUM distinct registered reporters), and builds the price
 * update 'P' ‖ round ‖ median ‖ n ‖ its reports sorted by reporter key. It
 * checks the update as apply will (demo_update_check), which attests every
 * report it uses: the seen-rule holds, the reporters took part this cycle.
 *
 * Emits (slot[0] at HALT): a CNode whose slot 0 holds {0: target Data
 * (u32 0 = transact), 1: the update}; an empty CNode when no round has a
 * quorum. Returns the number of reports used. */
#include "demo.h"

#define MAX_COLLECT 256

static demo_reporters reporters;
static uint8_t got[MAX_COLLECT][DEMO_REPORT_SIZE]; /* the reports collected */
static uint8_t update[DEMO_UPDATE_HEAD + DEMO_MAX_REPORTERS * DEMO_REPORT_SIZE];

static uint64_t round_of(const uint8_t *report) { return demo_get_u64(report + 33); }
static uint64_t price_of(const uint8_t *report) { return demo_get_u64(report + 41); }

/* Collect the reports of the events in DEMO_SLOT_INPUT; returns how many. */
static uint64_t collect(uint64_t current_round)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < 65536 && n < MAX_COLLECT; i++) {
        if (jk_cap_kind(JK_PATH2(DEMO_SLOT_INPUT, i)) != JK_KIND_INSTANCE)
            break;
        jk_drop(JK_SLOT0);
        DEMO_REQUIRE(jk_call(JK_PATH2(DEMO_SLOT_INPUT, i), 0, jk_gas(), 0, 0, 0).outcome == JK_OUTCOME_HALT);
        uint8_t blob[DEMO_REPORT_SIZE];
        demo_report r;
        if (jk_data_len(JK_SLOT0) != DEMO_REPORT_SIZE)
            continue;
        jk_data_read(JK_SLOT0, 0, DEMO_REPORT_SIZE, blob);
        if (!demo_report_parse(blob, DEMO_REPORT_SIZE, &r) || r.round <= current_round ||
            !demo_is_reporter(&reporters, r.reporter))
            continue;
        int duplicate = 0;
        for (uint64_t k = 0; k < n && !duplicate; k++)
            duplicate = round_of(got[k]) == r.round && memcmp(got[k] + 1, r.reporter, 32) == 0;
        if (!duplicate)
            memcpy(got[n++], blob, DEMO_REPORT_SIZE);
    }
    jk_drop(JK_SLOT0);
    return n;
}

/* Build the update for `round` from the collected reports; returns its length. */
static uint64_t build_update(uint64_t n, uint64_t round)
{
    uint64_t used = 0, prices[DEMO_MAX_REPORTERS];
    uint8_t *reports = update + DEMO_UPDATE_HEAD;
    for (uint64_t k = 0; k < n && used < DEMO_MAX_REPORTERS; k++) {
        if (round_of(got[k]) != round)
            continue;
        /* insert in reporter-key order */
        uint64_t at = used;
        while (at > 0 && memcmp(reports + (at - 1) * DEMO_REPORT_SIZE + 1, got[k] + 1, 32) > 0) {
            memcpy(reports + at * DEMO_REPORT_SIZE, reports + (at - 1) * DEMO_REPORT_SIZE, DEMO_REPORT_SIZE);
            at--;
        }
        memcpy(reports + at * DEMO_REPORT_SIZE, got[k], DEMO_REPORT_SIZE);
        prices[used++] = price_of(got[k]);
    }
    update[0] = 'P';
    demo_put_u64(update + 1, round);
    demo_put_u64(update + 9, demo_median(prices, used));
    demo_put_u64(update + 17, used);
    return DEMO_UPDATE_HEAD + used * DEMO_REPORT_SIZE;
}

uint64_t process(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(DEMO_SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(DEMO_SLOT_INPUT));
    jk_drop(JK_SLOT0);
    demo_reporters_load(&reporters);
    demo_price current = demo_price_load();
    uint64_t n = collect(current.round);

    /* The newest round with a quorum. */
    uint64_t round = 0;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t r = round_of(got[k]), count = 0;
        for (uint64_t j = 0; j < n; j++)
            count += round_of(got[j]) == r;
        if (r > round && count >= DEMO_QUORUM)
            round = r;
    }

    uint64_t used = 0;
    jk_cnode_mint(JK_PATH(DEMO_SLOT_OUT), 0);
    if (round) {
        uint64_t len = build_update(n, round);
        demo_update u;
        DEMO_REQUIRE(demo_update_check(update, len, &reporters, current.round, &u));
        uint8_t transact[4] = {0, 0, 0, 0};
        jk_cnode_mint(JK_PATH2(DEMO_SLOT_OUT, 0), 2);
        jk_data_mint(transact, 4, JK_PATH3(DEMO_SLOT_OUT, 0, 0));
        jk_data_mint(update, len, JK_PATH3(DEMO_SLOT_OUT, 0, 1));
        used = u.n;
    }
    jk_move(JK_PATH(DEMO_SLOT_OUT), JK_SLOT0);
    jk_drop(JK_PATH(DEMO_SLOT_AA));
    jk_drop(JK_PATH(DEMO_SLOT_INPUT));
    return used;
}
JK_ENDPOINT(0, process);
