/* test_contracts.c — the contracts chain (examples/contracts, its README)
 * through the chain layer, loaded from its spec as any author's chain is.
 * What it covers that the other examples do not: Instances kept in chain
 * state (one per contract, under its owner's account CNode), CALLed from
 * apply with a gas budget the event names and the signer's credit pays;
 * sub-tree atomicity (a contract that faults, runs out of gas or answers
 * with junk in slot[0] leaves the state as if its call never happened, and
 * the rest of the block applies); contract state kept across blocks; a
 * governance upgrade that moves a contract to another library image with
 * its storage; every hostile mode of examples/contracts/hostile.c; verify's
 * refusals with their reasons; a library image that is not a program.
 *
 * The blob encoders and the record readers are written from the README. */
#include "../test.h"
#include "example_chain.h"

#include "jark/bytes.h"
#include "jark/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { HEAD = 41, DEPLOY = 51, CALL = 90, UPGRADE = 75, FUND = 81 };
enum { OUT_OK, OUT_FAULT, OUT_OOG, OUT_YIELDED, OUT_BAD_SLOT0, OUT_NO_CREDIT, OUT_NO_CONTRACT };
enum { LIB_COUNTER, LIB_COUNTER_V2, LIB_HOSTILE };
#define CREDIT 100000000ull

static size_t head(uint8_t *b, char op, const jk_ex_key *k, uint64_t nonce)
{
    b[0] = (uint8_t)op;
    memcpy(b + 1, k->pk, 32);
    jk_put_u64le(b + 33, nonce);
    return HEAD;
}

static size_t deploy_blob(uint8_t *b, const jk_ex_key *k, uint64_t nonce, uint8_t lib, uint8_t index, uint64_t init)
{
    head(b, 'D', k, nonce);
    b[HEAD] = lib;
    b[HEAD + 1] = index;
    jk_put_u64le(b + HEAD + 2, init);
    return DEPLOY;
}

static size_t call_blob(uint8_t *b, const jk_ex_key *k, uint64_t nonce, const jk_ex_key *owner, uint8_t index,
                        uint64_t gas, uint64_t arg)
{
    head(b, 'C', k, nonce);
    memcpy(b + HEAD, owner->pk, 32);
    b[HEAD + 32] = index;
    jk_put_u64le(b + HEAD + 33, gas);
    jk_put_u64le(b + HEAD + 41, arg);
    return CALL;
}

static size_t upgrade_blob(uint8_t *b, const jk_ex_key *k, uint64_t nonce, const jk_ex_key *owner, uint8_t index,
                           uint8_t lib)
{
    head(b, 'U', k, nonce);
    memcpy(b + HEAD, owner->pk, 32);
    b[HEAD + 32] = index;
    b[HEAD + 33] = lib;
    return UPGRADE;
}

static size_t fund_blob(uint8_t *b, const jk_ex_key *k, uint64_t nonce, const jk_ex_key *to, uint64_t amount)
{
    head(b, 'F', k, nonce);
    memcpy(b + HEAD, to->pk, 32);
    jk_put_u64le(b + HEAD + 32, amount);
    return FUND;
}

typedef struct meta {
    uint64_t nonce, credit, op, outcome, code, gas;
} meta;

/* Account `i`'s key and meta (slot 21.i: {0: key, 1: meta, 8 + j: contract j}). */
static bool account(jk_cap chain, uint32_t i, const jk_ex_key *k, meta *m)
{
    jk_cap acct = jk_cap_cnode_get(jk_cap_cnode_get(jk_cap_instance_cnode(chain), 21), i);
    uint8_t key[32], b[48];
    if (jk_cap_data_len(jk_cap_cnode_get(acct, 0)) != 32 || jk_cap_data_read(jk_cap_cnode_get(acct, 0), 0, key, 32) ||
        memcmp(key, k->pk, 32) != 0 || jk_cap_data_len(jk_cap_cnode_get(acct, 1)) != 48 ||
        jk_cap_data_read(jk_cap_cnode_get(acct, 1), 0, b, 48))
        return false;
    uint64_t *f[] = {&m->nonce, &m->credit, &m->op, &m->outcome, &m->code, &m->gas};
    for (int j = 0; j < 6; j++)
        *f[j] = jk_get_u64le(b + 8 * j);
    return true;
}

/* Word w of contract j of account i's storage (the Data in slot 20 of the
 * contract instance's own cnode), or ~0 when there is none. */
static uint64_t storage(jk_cap chain, uint32_t i, uint32_t j, uint32_t w)
{
    jk_cap acct = jk_cap_cnode_get(jk_cap_cnode_get(jk_cap_instance_cnode(chain), 21), i);
    jk_cap inst = jk_cap_cnode_get(acct, 8 + j);
    if (jk_cap_kind_of(inst) != JK_CAP_INSTANCE)
        return ~0ull;
    jk_cap d = jk_cap_cnode_get(jk_cap_instance_cnode(inst), 20);
    uint8_t b[8];
    if (jk_cap_data_len(d) < 8 * (w + 1ull) || jk_cap_data_read(d, 8 * w, b, 8))
        return ~0ull;
    return jk_get_u64le(b);
}

#define CHECK_META(chain, i, key, nonce_, outcome_, code_)                      \
    do {                                                                       \
        meta m_;                                                               \
        JK_CHECK(account((chain), (i), (key), &m_));                           \
        JK_CHECK_EQ(m_.nonce, (uint64_t)(nonce_));                             \
        JK_CHECK_EQ(m_.outcome, (uint64_t)(outcome_));                         \
        JK_CHECK_EQ(m_.code, (uint64_t)(code_));                               \
    } while (0)

/* One block of the given events (each admitted), checked on both kernels. */
#define BLOCK(...)                                                             \
    do {                                                                       \
        JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);           \
        __VA_ARGS__;                                                           \
        size_t ev_ = 0;                                                        \
        JK_REQUIRE(jk_ex_block(&c, NULL, &ev_, NULL));                         \
    } while (0)

/* The chain from its spec, with `gov` as the governance key and CREDIT for
 * every new account (slot 20, the config). */
static bool open_contracts(jk_ex_chain *c, const jk_ex_key *gov)
{
    uint8_t config[40];
    memcpy(config, gov->pk, 32);
    jk_put_u64le(config + 32, CREDIT);
    const uint32_t slots[] = {20};
    const uint8_t *data[] = {config};
    const size_t lens[] = {40};
    return jk_ex_open(c, "examples/contracts/contracts-spec.json", slots, data, lens, 1);
}

#define SUBMIT(key, len) JK_CHECK(jk_ex_submit(&c, T, b, (len), (key)))

JK_TEST(test_contracts_chain)
{
    const jk_ex_key gov = jk_ex_key_of(0x10), alice = jk_ex_key_of(0x11), bob = jk_ex_key_of(0x12);
    jk_ex_chain c;
    JK_REQUIRE(open_contracts(&c, &gov));
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT;
    uint8_t b[128];
    jk_diag why = {{0}};

    /* Block 1: alice deploys a counter at 5 (account 0), bob the hostile
     * contract (account 1). */
    BLOCK(SUBMIT(&alice, deploy_blob(b, &alice, 0, LIB_COUNTER, 0, 5));
          SUBMIT(&bob, deploy_blob(b, &bob, 0, LIB_HOSTILE, 0, 0)));
    CHECK_META(c.producer->chain, 0, &alice, 1, OUT_OK, 0);
    CHECK_META(c.producer->chain, 1, &bob, 1, OUT_OK, 0);
    JK_CHECK_EQ(storage(c.producer->chain, 0, 0, 0), 5);

    /* Verify's refusals, each with its reason. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(!jk_ex_submit_why(&c, T, b, call_blob(b, &alice, 1, &alice, 0, 1000, 1) - 1, &alice, &why));
    JK_CHECK(strstr(why.msg, "reason 1: malformed event") != NULL);
    JK_CHECK(!jk_ex_submit_why(&c, T, b, call_blob(b, &alice, 0, &alice, 0, 1000, 1), &alice, &why));
    JK_CHECK(strstr(why.msg, "reason 2: stale nonce") != NULL);
    JK_CHECK(!jk_ex_submit_why(&c, T, b, call_blob(b, &alice, 17, &alice, 0, 1000, 1), &alice, &why));
    JK_CHECK(strstr(why.msg, "reason 7: nonce too far ahead") != NULL);
    JK_CHECK(!jk_ex_submit_why(&c, T, b, upgrade_blob(b, &alice, 1, &alice, 0, LIB_COUNTER_V2), &alice, &why));
    JK_CHECK(strstr(why.msg, "reason 3: only the governance key") != NULL);
    JK_CHECK(!jk_ex_submit_why(&c, T, b, call_blob(b, &alice, 1, &alice, 0, CREDIT + 1, 1), &alice, &why));
    JK_CHECK(strstr(why.msg, "reason 1: malformed") != NULL); /* over MAX_CALL_GAS */
    JK_CHECK(!jk_ex_submit_why(&c, T, b, deploy_blob(b, &alice, 1, 3, 1, 0), &alice, &why));
    JK_CHECK(strstr(why.msg, "reason 1: malformed") != NULL); /* no library image 3 */
    JK_CHECK(!jk_ex_submit_why(&c, T, b, deploy_blob(b, &alice, 1, LIB_COUNTER, 0, 0), &alice, &why));
    JK_CHECK(strstr(why.msg, "reason 6: that contract index is taken") != NULL);

    /* A call of a contract that does not exist passes verify (an earlier
     * event of the block may deploy it) and apply records it. */
    BLOCK(SUBMIT(&alice, call_blob(b, &alice, 1, &bob, 5, 1000, 1)));
    CHECK_META(c.producer->chain, 0, &alice, 2, OUT_NO_CONTRACT, 0);

    /* Block 3, sub-tree atomicity: bob's contract counts, then loops until
     * the event's gas is gone; alice's call in the same block applies. Bob's
     * count is unchanged, his nonce moves on, and he pays the gas. */
    BLOCK(SUBMIT(&bob, call_blob(b, &bob, 1, &bob, 0, 1000000, 7));
          SUBMIT(&alice, call_blob(b, &alice, 2, &alice, 0, 100000, 7)));
    CHECK_META(c.producer->chain, 0, &alice, 3, OUT_OK, 12);
    CHECK_META(c.producer->chain, 1, &bob, 2, OUT_OOG, 0);
    JK_CHECK_EQ(storage(c.producer->chain, 0, 0, 0), 12);
    JK_CHECK_EQ(storage(c.producer->chain, 1, 0, 0), 0);
    meta m;
    JK_REQUIRE(account(c.producer->chain, 1, &bob, &m));
    JK_CHECK(m.gas >= 1000000 && m.gas < 1100000); /* the call's gas and the CALL's own cost */
    JK_CHECK_EQ(m.credit, CREDIT - m.gas);
    jk_cap contract_before = jk_cap_cnode_get(jk_cap_cnode_get(jk_cap_cnode_get(jk_cap_instance_cnode(c.producer->chain), 21), 1), 8);
    jk_hash before;
    jk_cap_hash(contract_before, &before);

    /* Every hostile mode, one block each: outcome and code; the contract
     * (its instance hash) is unchanged by every one that does not HALT
     * cleanly; the credit pays at most the gas given (and the CALL). */
    static const struct {
        uint64_t mode, outcome, code;
    } hostile[] = {
        {1, OUT_OOG, 0},        /* loop */
        {2, OUT_OOG, 0},        /* 192 MiB of page touches */
        {3, OUT_FAULT, 2},      /* unbounded recursion: past the stack */
        {4, OUT_FAULT, 3},      /* CALL of a path it does not hold */
        {5, OUT_BAD_SLOT0, 5},  /* HALT with junk in slot[0] */
        {6, OUT_FAULT, 10},     /* FAULT host call */
        {7, OUT_OOG, 0},        /* count, then loop */
        {8, OUT_FAULT, 1},      /* count, then trap */
        {10, OUT_FAULT, 3},     /* YIELD to a Data */
    };
    uint64_t nonce = 2;
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        JK_REQUIRE(account(c.producer->chain, 1, &bob, &m));
        uint64_t credit = m.credit;
        BLOCK(SUBMIT(&bob, call_blob(b, &bob, nonce, &bob, 0, 2000000, hostile[i].mode)));
        nonce++;
        CHECK_META(c.producer->chain, 1, &bob, nonce, hostile[i].outcome, hostile[i].code);
        JK_REQUIRE(account(c.producer->chain, 1, &bob, &m));
        JK_CHECK(m.gas <= 2000000 + 100000);
        JK_CHECK_EQ(m.credit, credit - m.gas);
        jk_hash now;
        jk_cap_hash(jk_cap_cnode_get(jk_cap_cnode_get(jk_cap_cnode_get(jk_cap_instance_cnode(c.producer->chain), 21), 1), 8), &now);
        JK_CHECK_MEM(now.bytes, before.bytes, 32);
        if (memcmp(now.bytes, before.bytes, 32) != 0)
            printf("hostile mode %llu changed the contract\n", (unsigned long long)hostile[i].mode);
    }
    JK_CHECK_EQ(storage(c.producer->chain, 1, 0, 0), 0);

    /* The probe found nothing of the chain's in its cnode (mode 4 returns
     * 999 if it had), and a behaving call still works: count 1. */
    BLOCK(SUBMIT(&bob, call_blob(b, &bob, nonce, &bob, 0, 1000000, 0)));
    nonce++;
    CHECK_META(c.producer->chain, 1, &bob, nonce, OUT_OK, 1);

    /* Nested CALLs: the hostile contract CALLs the counter it holds (slot
     * 21, given at deploy): +5, and counts itself. Then the same followed
     * by a trap: neither its count nor its counter's changes (sub-tree
     * atomicity two levels down). Then again: the counter is at 10, not 15. */
    BLOCK(SUBMIT(&bob, call_blob(b, &bob, nonce, &bob, 0, 1000000, 12)));
    nonce++;
    CHECK_META(c.producer->chain, 1, &bob, nonce, OUT_OK, 5);
    BLOCK(SUBMIT(&bob, call_blob(b, &bob, nonce, &bob, 0, 1000000, 13)));
    nonce++;
    CHECK_META(c.producer->chain, 1, &bob, nonce, OUT_FAULT, 1);
    BLOCK(SUBMIT(&bob, call_blob(b, &bob, nonce, &bob, 0, 1000000, 12)));
    nonce++;
    CHECK_META(c.producer->chain, 1, &bob, nonce, OUT_OK, 10);
    JK_CHECK_EQ(storage(c.producer->chain, 1, 0, 0), 3);

    /* Governance: upgrade alice's counter to v2 (storage kept), fund bob. */
    BLOCK(SUBMIT(&gov, upgrade_blob(b, &gov, 0, &alice, 0, LIB_COUNTER_V2)));
    BLOCK(SUBMIT(&gov, fund_blob(b, &gov, 1, &bob, 5000)));
    CHECK_META(c.producer->chain, 2, &gov, 2, OUT_OK, 0);
    JK_CHECK_EQ(storage(c.producer->chain, 0, 0, 0), 12);
    /* v2 adds 2 × arg and counts its calls in word 1. */
    BLOCK(SUBMIT(&alice, call_blob(b, &alice, 3, &alice, 0, 100000, 1)));
    CHECK_META(c.producer->chain, 0, &alice, 4, OUT_OK, 14);
    JK_CHECK_EQ(storage(c.producer->chain, 0, 0, 1), 1);
    /* Anyone may call anyone's contract; the caller pays. */
    BLOCK(SUBMIT(&bob, call_blob(b, &bob, nonce, &alice, 0, 100000, 3)));
    nonce++;
    CHECK_META(c.producer->chain, 1, &bob, nonce, OUT_OK, 20);
    /* A key's events sent together, in nonce order, apply in one block
     * (verify takes a window of nonces); one after a gap (7 after 5) is
     * skipped by apply — and, being in a block, must be signed anew. */
    BLOCK(SUBMIT(&alice, call_blob(b, &alice, 4, &alice, 0, 100000, 1));
          SUBMIT(&alice, call_blob(b, &alice, 5, &alice, 0, 100000, 1));
          SUBMIT(&alice, call_blob(b, &alice, 7, &alice, 0, 100000, 1)));
    CHECK_META(c.producer->chain, 0, &alice, 6, OUT_OK, 24);
    jk_ex_close(&c);
}

/* A library image that is not a program: the spec is refused, naming it. */
JK_TEST(test_contracts_malformed_library)
{
    char dir[] = "/tmp/jark-contracts-XXXXXX";
    JK_REQUIRE(mkdtemp(dir) != NULL);
    char path[512], cwd[256];
    JK_REQUIRE(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(path, sizeof path, "%s/junk.jkp", dir);
    FILE *f = fopen(path, "wb");
    JK_REQUIRE(f != NULL);
    /* the right magic and version, then one endpoint whose name runs past the file */
    static const uint8_t junk[] = {'J', 'K', 'P', 'V', 'M', 0, 1, 1, 40, 'c', 'a', 'l', 'l'};
    JK_CHECK_EQ(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    fclose(f);
    snprintf(path, sizeof path, "%s/spec.json", dir);
    f = fopen(path, "w");
    JK_REQUIRE(f != NULL);
    const char *e = "examples/contracts";
    fprintf(f,
            "{\"programs\": {\"chain\": \"%s/%s/chain.c\", \"verify\": \"%s/%s/verify.c\", \"transact\": "
            "\"%s/%s/transact.c\", \"dispatch_instance\": \"%s/%s/dispatch_instance.c\", \"dispatch\": "
            "[\"%s/%s/counter.c\", \"%s/%s/counter_v2.c\", \"junk.jkp\"]}, \"state\": [], \"validators\": "
            "[\"%064d\"], \"gas\": {\"transform\": 1000000, \"verify\": 1000000, \"process\": 1000000, "
            "\"block\": 1000000}}",
            cwd, e, cwd, e, cwd, e, cwd, e, cwd, e, cwd, e, 0);
    fclose(f);
    jk_spec_file sf;
    jk_diag diag = {{0}};
    /* Refused as the spec's input error, naming the file
     * (before: loaded, then refused by genesis as "the dispatch program:
     * …", neither k nor the file, and as the chain saying no: exit 1). */
    jk_err err = jk_spec_file_load(path, NULL, &sf, &diag);
    if (err == JK_OK)
        jk_spec_file_free(&sf);
    JK_CHECK_EQ(err, JK_ERR_PARSE);
    printf("malformed library image: %s\n", diag.msg);
    JK_CHECK(strstr(diag.msg, "program junk.jkp: not a jark program file:") != NULL);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    JK_CHECK_EQ(system(path), 0);
}

/* A contract that HALTs keeping n CNodes nested one in another (hostile
 * mode 11 + 256 n). With the contract at 21.i.8, n = 58 would put the
 * chain's state exactly at the cap-nesting bound (JK_CAP_MAX_DEPTH,
 * docs/abi.md). Found by outsider5: the CALL, the MOVE back and apply's HALT
 * all accepted it, and from then on every verify that attests failed — the
 * attest's YIELD pauses the verify instance, whose continuation nests the
 * chain's cnode one level deeper than the bound ("verify did not HALT:
 * panic") — so one 2 M-gas call stopped the chain for good. Now a HALT may
 * leave an instance at most JK_KERNEL_MAX_HALT_DEPTH deep (the kernel's
 * reserve for the pause, docs/abi.md "Bounds"): apply's HALT faults at 58
 * as at 60, produce leaves the event out (docs/chain-design.md, "Poisoned
 * pools"), and the chain goes on. */
/* bob calls his hostile contract in mode 11 with n; admitted and the block made? */
static bool nest_call(jk_ex_chain *c, const jk_ex_key *bob, uint64_t nonce, uint64_t n)
{
    uint8_t b[128];
    return jk_chain_setup_cycle(c->producer, NULL) == JK_OK &&
           jk_ex_submit(c, JK_CHAIN_ENDPOINT_TRANSACT, b, call_blob(b, bob, nonce, bob, 0, 2000000, 11 + 256 * n), bob) &&
           jk_ex_block(c, NULL, NULL, NULL);
}

JK_TEST(test_contracts_nesting_bound)
{
    const jk_ex_key gov = jk_ex_key_of(0x10), alice = jk_ex_key_of(0x11), bob = jk_ex_key_of(0x12);
    jk_ex_chain c;
    JK_REQUIRE(open_contracts(&c, &gov));
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT;
    uint8_t b[128];
    jk_diag why = {{0}};
    BLOCK(SUBMIT(&bob, deploy_blob(b, &bob, 0, LIB_HOSTILE, 0, 0)));

    /* Too deep for its home: left out of the block, nothing changes. */
    JK_CHECK(nest_call(&c, &bob, 1, 60));
    CHECK_META(c.producer->chain, 0, &bob, 1, OUT_OK, 0);
    /* 57 fits with room to spare: kept, and alice's event is admitted. */
    JK_CHECK(nest_call(&c, &bob, 1, 57));
    CHECK_META(c.producer->chain, 0, &bob, 2, OUT_OK, 57);
    BLOCK(SUBMIT(&alice, call_blob(b, &alice, 0, &bob, 0, 100000, 99)));
    CHECK_META(c.producer->chain, 1, &alice, 1, OUT_OK, 99);

    /* 58: the state would be at the bound, where no verify could pause:
     * refused at apply's HALT, left out, and every later event admitted. */
    JK_CHECK(nest_call(&c, &bob, 2, 58));
    CHECK_META(c.producer->chain, 0, &bob, 2, OUT_OK, 57);
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    bool admitted = jk_ex_submit_why(&c, T, b, call_blob(b, &alice, 1, &bob, 0, 100000, 0), &alice, &why);
    if (!admitted)
        printf("after a call that would put the state at the nesting bound: %s\n", why.msg);
    JK_CHECK(admitted);
    JK_CHECK(jk_ex_block(&c, NULL, NULL, NULL));
    CHECK_META(c.producer->chain, 1, &alice, 2, OUT_OK, 1); /* mode 0: the first count */
    jk_ex_close(&c);
}
