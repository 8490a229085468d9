/*
 * auction.h — what the auction chain's programs share: slots, blob formats,
 * a BLAKE2b-256 for bid commitments, helpers. Sealed-bid first-price
 * auctions: bids are commitments during the bidding window, revealed in the
 * reveal window; the highest revealed bid wins. The chain records winners;
 * it moves no money itself.
 *
 *   open   'O' ‖ id u64 ‖ seller[32] ‖ bid_blocks u64 ‖ reveal_blocks u64
 *          (57 bytes, transact, signed by the seller): auction `id` (< 256)
 *          takes bids in the blocks before number + bid_blocks and reveals
 *          from there for reveal_blocks blocks (both 1..10000), where number
 *          is the block that applies the open.
 *   bid    'B' ‖ id u64 ‖ bidder[32] ‖ commitment[32]
 *          (73 bytes, transact, signed by the bidder): one per bidder and
 *          auction, at most 16 bidders. commitment = BLAKE2b-256(amount u64 ‖
 *          salt[32] ‖ id u64 ‖ bidder[32]), so a commitment copied from
 *          another bidder or auction can never be revealed.
 *   reveal 'R' ‖ id u64 ‖ bidder[32] ‖ amount u64 ‖ salt[32]
 *          (81 bytes, dispatch endpoint 0, signed by the bidder). process
 *          keeps, per auction, the highest reveal of the cycle (the first
 *          admitted on a tie) and emits it as a transact; apply records it
 *          when it opens the bidder's commitment and beats the best so far.
 *
 * Rejecting is faulting: a verify that faults drops the event, an apply that
 * faults makes the block invalid. What a valid block may contain but comes
 * too late (a window closed, an id taken, a second bid) is skipped.
 */
#ifndef AUCTION_H
#define AUCTION_H

#include "jark_chain.h" /* REQUIRE, REFUSE_UNLESS, PIN_*, get/put/load/store_u64, read_blob, attest (sdk/) */

enum {
    /* state */
    SLOT_AUCTIONS = 20, /* CNode of 2^8: slot id = auction id's CNode (absent until the first open) */
    SLOT_HEIGHT = 21,   /* Data u64: the number of the last block applied */
    /* working slots: every program empties them before it HALTs */
    SLOT_AA = JK_CHAIN_SLOT_AA, /* 30: where attest() CALLs the AA (sdk/jark_chain.h) */
    SLOT_INPUT = 31,
    SLOT_WORK = 32,
    SLOT_CTX = 33,
    /* in an event instance: its blob */
    EVENT_BLOB_SLOT = 20,
};

#define MAX_BLOB 256
#define OPEN_SIZE 57
#define BID_SIZE 73
#define REVEAL_SIZE 81
#define MAX_WINDOW 10000
#define MAX_AUCTIONS 256
#define MAX_BIDS 16

/* An auction is a CNode of 2^5 slots: slot 0 its header, slots 1..16 its
 * bids (bidder[32] ‖ commitment[32]) in the order apply took them. */
#define HEADER_SIZE 104
enum { H_SELLER = 0, H_BID_END = 32, H_REVEAL_END = 40, H_BIDS = 48, H_BEST = 56, H_WINNER = 64, H_REVEALED = 96 };
#define BID_REC_SIZE 64

/* BLAKE2b-256 (RFC 7693) of at most 128 bytes: one compression. The kernel
 * offers no hash host call (docs/abi.md), so a chain that needs a
 * commitment brings its own; the test checks it against libsodium's. */
static const uint64_t B2_IV[8] = {0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull,
                                  0xa54ff53a5f1d36f1ull, 0x510e527fade682d1ull, 0x9b05688c2b3e6c1full,
                                  0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull};
static const uint8_t B2_SIGMA[10][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0}};

static inline uint64_t b2_rotr(uint64_t x, int n) { return x >> n | x << (64 - n); }

static inline void b2_g(uint64_t *v, int a, int b, int c, int d, uint64_t x, uint64_t y)
{
    v[a] = v[a] + v[b] + x;
    v[d] = b2_rotr(v[d] ^ v[a], 32);
    v[c] = v[c] + v[d];
    v[b] = b2_rotr(v[b] ^ v[c], 24);
    v[a] = v[a] + v[b] + y;
    v[d] = b2_rotr(v[d] ^ v[a], 16);
    v[c] = v[c] + v[d];
    v[b] = b2_rotr(v[b] ^ v[c], 63);
}

static inline void blake2b_256_short(const uint8_t *in, uint64_t len, uint8_t out[32])
{
    uint8_t block[128];
    uint64_t m[16], h[8], v[16];
    REQUIRE(len <= 128);
    memset(block, 0, sizeof block);
    memcpy(block, in, len);
    for (int i = 0; i < 16; i++)
        m[i] = get_u64(block + 8 * i);
    for (int i = 0; i < 8; i++)
        h[i] = B2_IV[i];
    h[0] ^= 0x01010000ull ^ 32; /* depth 1, fanout 1, no key, 32-byte digest */
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = B2_IV[i];
    }
    v[12] ^= len; /* the byte counter; the last block */
    v[14] = ~v[14];
    for (int r = 0; r < 12; r++) {
        const uint8_t *s = B2_SIGMA[r % 10];
        b2_g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
        b2_g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
        b2_g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
        b2_g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
        b2_g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
        b2_g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
        b2_g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
        b2_g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 4; i++)
        put_u64(out + 8 * i, h[i] ^ v[i] ^ v[i + 8]);
}

static inline uint64_t blob_id(const uint8_t *blob) { return get_u64(blob + 1); }

static inline int open_ok(const uint8_t *b, uint64_t len)
{
    if (len != OPEN_SIZE || b[0] != 'O' || blob_id(b) >= MAX_AUCTIONS)
        return 0;
    uint64_t bids = get_u64(b + 41), reveals = get_u64(b + 49);
    return bids >= 1 && bids <= MAX_WINDOW && reveals >= 1 && reveals <= MAX_WINDOW;
}

static inline int bid_ok(const uint8_t *b, uint64_t len)
{
    return len == BID_SIZE && b[0] == 'B' && blob_id(b) < MAX_AUCTIONS;
}

static inline int reveal_ok(const uint8_t *b, uint64_t len)
{
    return len == REVEAL_SIZE && b[0] == 'R' && blob_id(b) < MAX_AUCTIONS;
}

/* Auction id's header into h; 0 when there is no such auction. */
static inline int load_header(uint64_t id, uint8_t h[HEADER_SIZE])
{
    uint64_t path = JK_PATH3(SLOT_AUCTIONS, id, 0);
    if (jk_cap_kind(JK_PATH(SLOT_AUCTIONS)) != JK_KIND_CNODE ||
        jk_cap_kind(JK_PATH2(SLOT_AUCTIONS, id)) != JK_KIND_CNODE || jk_cap_kind(path) != JK_KIND_DATA)
        return 0;
    REQUIRE(jk_data_len(path) == HEADER_SIZE);
    jk_data_read(path, 0, HEADER_SIZE, h);
    return 1;
}

static inline void store_header(uint64_t id, const uint8_t h[HEADER_SIZE])
{
    if (jk_cap_kind(JK_PATH(SLOT_AUCTIONS)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH(SLOT_AUCTIONS), 8);
    if (jk_cap_kind(JK_PATH2(SLOT_AUCTIONS, id)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH2(SLOT_AUCTIONS, id), 5);
    jk_drop(JK_PATH3(SLOT_AUCTIONS, id, 0));
    jk_data_mint(h, HEADER_SIZE, JK_PATH3(SLOT_AUCTIONS, id, 0));
}

/* The slot (1..16) of bidder's bid in auction id, or 0. */
static inline uint64_t find_bid(uint64_t id, const uint8_t h[HEADER_SIZE], const uint8_t *bidder,
                                uint8_t rec[BID_REC_SIZE])
{
    uint64_t n = get_u64(h + H_BIDS);
    for (uint64_t k = 1; k <= n; k++) {
        REQUIRE(read_blob(JK_PATH3(SLOT_AUCTIONS, id, k), rec, BID_REC_SIZE) == BID_REC_SIZE);
        if (memcmp(rec, bidder, 32) == 0)
            return k;
    }
    return 0;
}

/* Does reveal r open the bidder's commitment in rec? */
static inline int reveal_opens(const uint8_t *r, const uint8_t rec[BID_REC_SIZE])
{
    uint8_t pre[80], digest[32];
    memcpy(pre, r + 41, 8);      /* amount */
    memcpy(pre + 8, r + 49, 32); /* salt */
    memcpy(pre + 40, r + 1, 8);  /* id */
    memcpy(pre + 48, r + 9, 32); /* bidder */
    blake2b_256_short(pre, sizeof pre, digest);
    return memcmp(digest, rec + 32, 32) == 0;
}

#endif
