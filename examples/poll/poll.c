/* poll.c — helpers every poll program links in (the spec builds each role
 * from an array of files: ["verify.c", "poll.c"]). */
#include "poll.h"

uint64_t load_u64(uint64_t path)
{
    uint8_t b[8];
    if (jk_cap_kind(path) != JK_KIND_DATA)
        return 0;
    REQUIRE(jk_data_len(path) == 8);
    jk_data_read(path, 0, 8, b);
    return get_u64(b);
}

void store_u64(uint64_t path, uint64_t v)
{
    uint8_t b[8];
    put_u64(b, v);
    jk_drop(path);
    jk_data_mint(b, 8, path);
}

uint64_t read_blob(uint64_t path, uint8_t *buf, uint64_t cap)
{
    uint64_t len = jk_data_len(path);
    REQUIRE(len > 0 && len <= cap);
    jk_data_read(path, 0, len, buf);
    return len;
}

void attest(const uint8_t key[32], const uint8_t *blob, uint64_t len)
{
    jk_drop(JK_SLOT0);
    jk_cnode_mint(JK_SLOT0, 2);
    jk_data_mint(key, 32, JK_PATH2(0, 0));
    jk_data_mint(blob, len, JK_PATH2(0, 1));
    REQUIRE(jk_call(JK_PATH(SLOT_AA), 0, jk_gas(), 0, 0, 0).outcome == JK_OUTCOME_HALT);
    jk_drop(JK_SLOT0);
}

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
