/*
 * jark_chain.h — what every chain's programs write the same way: refusing,
 * the pinned slots of a chain image, little-endian u64s in blobs and in Data
 * caps, reading a blob, and "key attests blob" through the AA.
 *
 * Include it (after or instead of "jark.h") from the header your programs
 * share: `#include "jark_chain.h"`. It is found where jark.h is (`jark cc`
 * passes the SDK folder). The names are short on purpose — they are the
 * tutorial's (docs/tutorial.md) and every example's — so a program that
 * already has a get_u64 of its own must drop it or not include this header.
 *
 * The AA instance: apply, verify and process receive it in slot[0][1];
 * attest() below CALLs it in root slot JK_CHAIN_SLOT_AA (30 unless you
 * #define JK_CHAIN_SLOT_AA before including this header), so move it there
 * first: `jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA))`. Empty that slot (and
 * every working slot) before you HALT, or it reaches the state.
 */
#ifndef JARK_CHAIN_H
#define JARK_CHAIN_H

#include "jark.h"

#include <stdint.h>
#include <string.h>

#ifndef JK_CHAIN_SLOT_AA
#define JK_CHAIN_SLOT_AA 30
#endif

/* A condition that no honest input breaks: trap (the frame faults; a verify
 * that faults drops the event, a process that faults has its emits dropped,
 * an apply that faults makes the block invalid). */
#define REQUIRE(cond)                                                          \
    do {                                                                       \
        if (!(cond))                                                           \
            __builtin_trap();                                                  \
    } while (0)

/* Refuse with a reason: the FAULT host call carries a code and a short text
 * to whoever runs the chain ("verify did not HALT: program fault, reason 1:
 * malformed message"), where REQUIRE only says the program faulted. Use it
 * for what users get wrong. `text` is a NUL-terminated string (a literal,
 * or a choice between literals: its length is strlen's, not sizeof's, so
 * `c ? "a" : "b"` keeps its text; a literal's length is folded at compile
 * time). */
#define REFUSE_UNLESS(cond, code, text)                                        \
    do {                                                                       \
        if (!(cond)) {                                                         \
            const char *jk_why_ = (text);                                      \
            jk_fault((code), jk_why_, __builtin_strlen(jk_why_));              \
        }                                                                      \
    } while (0)

/* The chain image's pinned slots (docs/chain-spec.md, "What genesis
 * builds"): a program may name them as the image of jk_set_image and
 * jk_derive_spawn, never move, copy or drop them. */
enum {
    PIN_VERIFY = 1,
    PIN_TRANSACT = 2,
    PIN_DISPATCH_INSTANCE = 3,
    PIN_AA = 4,
    PIN_DISPATCH_0 = 5, /* dispatch endpoint k's image: PIN_DISPATCH(k) */
};
#define PIN_DISPATCH(k) (PIN_DISPATCH_0 + (k))

/* transform_to_verify: SET_IMAGE onto the image pinned for verify (the
 * ChainImage's endpoint 1 in every chain; used by the two macros below). */
#define JK_CHAIN_TRANSFORM_TO_VERIFY_                                          \
    uint64_t transform_to_verify(void);                                        \
    uint64_t transform_to_verify(void)                                         \
    {                                                                          \
        jk_set_image(JK_PATH(PIN_VERIFY));                                     \
        return 0;                                                              \
    }

/* The ChainImage's endpoints for a chain with no dispatch endpoint (spec
 * "dispatch": []): 0 its apply (`apply_fn`), 1 transform_to_verify. Write
 * `JK_CHAIN_ENDPOINTS_0(apply);` after apply in chain.c
 * (examples/crowdfund/chain.c). */
#define JK_CHAIN_ENDPOINTS_0(apply_fn)                                         \
    JK_CHAIN_TRANSFORM_TO_VERIFY_                                              \
    JK_ENDPOINT(0, apply_fn);                                                  \
    JK_ENDPOINT(1, transform_to_verify)

/* The ChainImage's endpoints for a chain with one dispatch endpoint: 0 its
 * apply (`apply_fn`), 1 transform_to_verify and 2 transform_to_dispatch_0,
 * each transform SET_IMAGEing the instance onto the image pinned for its
 * role (docs/chain-design.md, "Slots and endpoints"). Write
 * `JK_CHAIN_ENDPOINTS_1(apply);` after apply in chain.c; a chain with more
 * dispatch endpoints writes its transforms out (examples/poll/chain.c). */
#define JK_CHAIN_ENDPOINTS_1(apply_fn)                                         \
    JK_CHAIN_TRANSFORM_TO_VERIFY_                                              \
    uint64_t transform_to_dispatch_0(void);                                    \
    uint64_t transform_to_dispatch_0(void)                                     \
    {                                                                          \
        jk_set_image(JK_PATH(PIN_DISPATCH_0));                                 \
        return 0;                                                              \
    }                                                                          \
    JK_ENDPOINT(0, apply_fn);                                                  \
    JK_ENDPOINT(1, transform_to_verify);                                       \
    JK_ENDPOINT(2, transform_to_dispatch_0)

static inline uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The Data at `path` as a u64 (absent: 0; a Data of another length traps). */
static inline uint64_t load_u64(uint64_t path)
{
    uint8_t b[8];
    if (jk_cap_kind(path) != JK_KIND_DATA)
        return 0;
    REQUIRE(jk_data_len(path) == 8);
    jk_data_read(path, 0, 8, b);
    return get_u64(b);
}

/* Replace whatever `path` holds by an 8-byte Data of v. */
static inline void store_u64(uint64_t path, uint64_t v)
{
    uint8_t b[8];
    put_u64(b, v);
    jk_drop(path);
    jk_data_mint(b, 8, path);
}

/* A fixed-size record: the Data at `path` into rec when it holds exactly
 * `size` bytes; 0 when the slot holds no Data (absent, or a path through a
 * missing CNode: CAP_KIND reads it as empty), and a trap for a Data of
 * another size (the state is the chain's own: that is a bug). */
static inline int load_fixed(uint64_t path, uint8_t *rec, uint64_t size)
{
    if (jk_cap_kind(path) != JK_KIND_DATA)
        return 0;
    REQUIRE(jk_data_len(path) == size);
    jk_data_read(path, 0, size, rec);
    return 1;
}

/* Read the Data at `path` into buf (1..cap bytes, else trap); its length. */
static inline uint64_t read_blob(uint64_t path, uint8_t *buf, uint64_t cap)
{
    uint64_t len = jk_data_len(path);
    REQUIRE(len > 0 && len <= cap);
    jk_data_read(path, 0, len, buf);
    return len;
}

/* "key attests blob": returns only when it does (the kernel checks the
 * event's signature; a refusal aborts the whole call, so there is nothing
 * to branch on). Uses slot[0], which it leaves empty. */
static inline void attest(const uint8_t key[32], const uint8_t *blob, uint64_t len)
{
    jk_drop(JK_SLOT0);
    jk_cnode_mint(JK_SLOT0, 2);
    jk_data_mint(key, 32, JK_PATH2(0, 0));
    jk_data_mint(blob, len, JK_PATH2(0, 1));
    REQUIRE(jk_call(JK_PATH(JK_CHAIN_SLOT_AA), 0, jk_gas(), 0, 0, 0).outcome == JK_OUTCOME_HALT);
    jk_drop(JK_SLOT0);
}

#endif
