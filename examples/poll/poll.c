/* poll.c — helpers every poll program links in (the spec builds each role
 * from an array of files: ["verify.c", "poll.c"]). */
#include "poll.h"

/* Globals start afresh at every CALL (docs/abi.md), so this cache lives for
 * one call of the program: the roll cannot change under it. */
static uint8_t roll[MAX_VOTERS * 32];
static uint64_t roll_len;
static int roll_loaded;

int roll_index(const uint8_t key[32])
{
    if (!roll_loaded) {
        roll_len = jk_cap_kind(JK_PATH(SLOT_ROLL)) == JK_KIND_DATA ? jk_data_len(JK_PATH(SLOT_ROLL)) : 0;
        REQUIRE(roll_len % 32 == 0 && roll_len <= sizeof roll); /* genesis put it there */
        if (roll_len)
            jk_data_read(JK_PATH(SLOT_ROLL), 0, roll_len, roll);
        roll_loaded = 1;
    }
    for (uint64_t i = 0; i < roll_len / 32; i++)
        if (!memcmp(roll + 32 * i, key, 32))
            return (int)i;
    return -1;
}

int batch_ok(const uint8_t *blob, uint64_t len, uint8_t tag, uint64_t *n)
{
    if (len < BATCH_HEAD + BATCH_ENTRY || blob[0] != tag || get_u64(blob + 1) >= MAX_POLLS)
        return 0;
    *n = blob[9];
    if (*n < 1 || *n > MAX_BATCH || len != BATCH_HEAD + BATCH_ENTRY * *n)
        return 0;
    for (uint64_t i = 0; i < *n; i++) {
        uint8_t c = blob[BATCH_HEAD + BATCH_ENTRY * i + 32];
        if (c != CHOICE_YES && c != CHOICE_NO)
            return 0;
    }
    return 1;
}

void batch_vote(const uint8_t *batch, uint64_t i, uint8_t vote[VOTE_SIZE])
{
    const uint8_t *e = batch + BATCH_HEAD + BATCH_ENTRY * i;
    vote[0] = 'V';
    memcpy(vote + 1, batch + 1, 8);
    memcpy(vote + 9, e, 32);
    vote[41] = e[32];
}

int poll_record(uint64_t id, uint8_t rec[RECORD_SIZE])
{
    uint64_t path = JK_PATH3(SLOT_POLLS, id, POLL_RECORD);
    if (id >= MAX_POLLS || jk_cap_kind(path) != JK_KIND_DATA)
        return 0;
    REQUIRE(jk_data_len(path) == RECORD_SIZE);
    jk_data_read(path, 0, RECORD_SIZE, rec);
    return 1;
}

int has_voted(uint64_t id, int index)
{
    return jk_cap_kind(JK_PATH4(SLOT_POLLS, id, POLL_BALLOTS, (uint64_t)index)) != JK_KIND_NONE;
}
