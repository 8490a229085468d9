/*
 * chain_test_util.h — what the chain-kernel tests (test_cycle.c,
 * test_safety.c) share: the small test chain of tests/chain/progs built into
 * images by hand, its genesis record, and blobs as its verify reads them.
 * Static inline, so each test file gets its own copy.
 */
#ifndef JK_TESTS_CHAIN_TEST_UTIL_H
#define JK_TESTS_CHAIN_TEST_UTIL_H

#include "../test.h"
#include "../progs.h"

#include "jark/chain.h"

#include <stdio.h>
#include <string.h>

/* A program's source: NAME is tests/chain/progs/NAME.c; anything with a '/'
 * is already a path (a hostile program of tests/adversary/progs). */
static inline jk_cap jk_image_of(const char *name, const jk_cap_pin *pins, uint32_t npins)
{
    char source[128];
    if (strchr(name, '/'))
        snprintf(source, sizeof source, "%s", name);
    else
        snprintf(source, sizeof source, "tests/chain/progs/%s.c", name);
    jk_kernel_image_opts opts = {.pins = pins, .pin_count = npins};
    return jk_test_image(source, &opts);
}

typedef struct jk_test_chain {
    jk_cap images[6]; /* transact, dinst, aa, process, verify, chain */
    jk_cap chain;
} jk_test_chain;

/* Which programs jk_test_chain_make builds the roles from, each a name or a
 * path as jk_image_of takes it; NULL (or no options at all) is the test
 * chain's own program of that name. */
typedef struct jk_test_chain_opts {
    const char *aa;      /* the AttestationAuthority */
    const char *chain;   /* the ChainImage */
    const char *verify;  /* the VerifyImage */
    const char *process; /* Dispatch_0's image */
} jk_test_chain_opts;

/* The test chain's images and genesis instance (opts: NULL for the test
 * chain as it is). */
static inline bool jk_test_chain_make(jk_test_chain *tc, const jk_test_chain_opts *opts)
{
    static const jk_test_chain_opts defaults = {0};
    const jk_test_chain_opts *o = opts ? opts : &defaults;
    memset(tc, 0, sizeof *tc);
    tc->images[0] = jk_image_of("transact", NULL, 0);
    tc->images[1] = jk_image_of("dinst", NULL, 0);
    tc->images[2] = jk_image_of(o->aa ? o->aa : "aa", NULL, 0);
    tc->images[3] = jk_image_of(o->process ? o->process : "process", NULL, 0);
    jk_cap_pin vpins[2] = {{JK_CHAIN_SLOT_TRANSACT, tc->images[0]}, {JK_CHAIN_SLOT_DISPATCH_INSTANCE, tc->images[1]}};
    tc->images[4] = jk_image_of(o->verify ? o->verify : "verify", vpins, 2);
    jk_cap_pin cpins[5] = {{JK_CHAIN_SLOT_VERIFY, tc->images[4]}, {JK_CHAIN_SLOT_TRANSACT, tc->images[0]},
                           {JK_CHAIN_SLOT_DISPATCH_INSTANCE, tc->images[1]}, {JK_CHAIN_SLOT_AA, tc->images[2]},
                           {JK_CHAIN_SLOT_DISPATCH_0, tc->images[3]}};
    tc->images[5] = jk_image_of(o->chain ? o->chain : "chain", cpins, 5);
    for (int i = 0; i < 6; i++)
        if (jk_cap_is_null(tc->images[i]))
            return false;
    jk_cap cnode;
    if (jk_cap_cnode_new(8, &cnode) != JK_OK)
        return false;
    jk_err err = jk_cap_instance_genesis(tc->images[5], cnode, &tc->chain, NULL);
    jk_cap_release(cnode);
    return err == JK_OK;
}

static inline void jk_test_chain_free(jk_test_chain *tc)
{
    for (int i = 0; i < 6; i++)
        jk_cap_release(tc->images[i]);
    jk_cap_release(tc->chain);
}

/* The key of seed {s, 0, 0, …}. */
static inline void jk_test_key(uint8_t s, uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32] = {s};
    if (jk_crypto_ed25519_keypair_from_seed(seed, pk, sk) != JK_OK)
        jk_test_fail(__FILE__, __LINE__, "keypair");
}

/* The genesis record of the test chain: validators the keys of seeds 9, 8,
 * 7, … (validator 0 is every test's producer key, seed 9, so with V = 1 it
 * proposes every block), the given block gas, one dispatch endpoint.
 * tc->chain is borrowed. Static: the record is large (one per file). */
static inline const jk_chain_genesis *jk_test_genesis(const jk_test_chain *tc, uint32_t validators,
                                                      int64_t block_gas, jk_hash *genesis)
{
    static jk_chain_genesis g;
    uint8_t sk[64];
    memset(&g, 0, sizeof g);
    for (uint32_t v = 0; v < validators; v++)
        jk_test_key((uint8_t)(9 - v), g.validators[v], sk);
    g.chain = tc->chain;
    g.validator_count = validators;
    g.gas = (jk_chain_budgets){1000000, 1000000, 1000000, block_gas};
    g.dispatch_count = 1;
    g.max_event_traces = JK_CHAIN_DEFAULT_EVENT_TRACES;
    if (jk_chain_genesis_seal(&g, NULL) != JK_OK)
        return NULL;
    *genesis = g.genesis_hash;
    return &g;
}

/* blob = key ‖ kind ‖ text */
static inline size_t jk_blob(uint8_t *out, const uint8_t key[32], char kind, const char *text)
{
    memcpy(out, key, 32);
    out[32] = (uint8_t)kind;
    size_t n = strlen(text);
    memcpy(out + 33, text, n);
    return 33 + n;
}

#endif
