/* test_cycle.c — the spec's Kernel, first steps, through a small test chain
 * written in C (tests/chain/progs): setup_cycle derives verify_proto and
 * Dispatch_0 from the chain; handle_incoming_event verifies events in fresh
 * copies with the AttestationAuthority in verify mode and admits them. */
#include "../test.h"
#include "../../tools/sdk_exec.h"

#include "jark/chain.h"

#include <stdlib.h>
#include <unistd.h>

static jk_cap jk_image_of(const char *name, const jk_cap_pin *pins, uint32_t npins)
{
    char path[] = "/tmp/jark-cycle-test-XXXXXX", source[128];
    int fd = mkstemp(path);
    jk_cap image = jk_cap_null();
    if (fd < 0)
        return image;
    close(fd);
    snprintf(source, sizeof source, "tests/chain/progs/%s.c", name);
    const char *src[1] = {source};
    if (jk_cc_build(src, 1, "-O2", path, NULL, NULL, NULL) == 0) {
        static uint8_t buf[1 << 20];
        FILE *f = fopen(path, "rb");
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        jk_kernel_image_opts opts = {.pins = pins, .pin_count = npins};
        jk_diag diag = {{0}};
        if (jk_kernel_image_from_program(buf, n, &opts, &image, &diag) != JK_OK)
            printf("%s: %s\n", name, diag.msg);
    }
    unlink(path);
    return image;
}

typedef struct jk_test_chain {
    jk_cap images[6]; /* transact, dinst, aa, process, verify, chain */
    jk_cap chain;
} jk_test_chain;

static bool jk_test_chain_make(jk_test_chain *tc)
{
    memset(tc, 0, sizeof *tc);
    tc->images[0] = jk_image_of("transact", NULL, 0);
    tc->images[1] = jk_image_of("dinst", NULL, 0);
    tc->images[2] = jk_image_of("aa", NULL, 0);
    tc->images[3] = jk_image_of("process", NULL, 0);
    jk_cap_pin vpins[2] = {{JK_CHAIN_SLOT_TRANSACT, tc->images[0]}, {JK_CHAIN_SLOT_DISPATCH_INSTANCE, tc->images[1]}};
    tc->images[4] = jk_image_of("verify", vpins, 2);
    jk_cap_pin cpins[5] = {{JK_CHAIN_SLOT_VERIFY, tc->images[4]}, {JK_CHAIN_SLOT_TRANSACT, tc->images[0]},
                           {JK_CHAIN_SLOT_DISPATCH_INSTANCE, tc->images[1]}, {JK_CHAIN_SLOT_AA, tc->images[2]},
                           {JK_CHAIN_SLOT_DISPATCH_0, tc->images[3]}};
    tc->images[5] = jk_image_of("chain", cpins, 5);
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

static void jk_test_chain_free(jk_test_chain *tc)
{
    for (int i = 0; i < 6; i++)
        jk_cap_release(tc->images[i]);
    jk_cap_release(tc->chain);
}

/* blob = key ‖ kind ‖ text */
static size_t jk_blob(uint8_t *out, const uint8_t key[32], char kind, const char *text)
{
    memcpy(out, key, 32);
    out[32] = (uint8_t)kind;
    size_t n = strlen(text);
    memcpy(out + 33, text, n);
    return 33 + n;
}

JK_TEST(test_chain_cycle_verify_admits_and_drops)
{
    jk_cap_stats before;
    jk_cap_stats_get(&before);
    jk_test_chain tc;
    JK_REQUIRE(jk_test_chain_make(&tc));
    jk_hash genesis;
    jk_crypto_blake2b256("test chain", 10, &genesis);
    jk_chain_budgets gas = {1000000, 1000000, 1000000, 10000000};
    jk_chain_kernel *ck;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_chain_kernel_new(tc.chain, &genesis, &gas, 1, &ck, &diag) == JK_OK);

    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, NULL, 0};
    bool admitted = true;
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, NULL, 0, &admitted, &diag), JK_ERR_INVALID_ARG);
    JK_REQUIRE(jk_chain_setup_cycle(ck, &diag) == JK_OK);
    JK_CHECK(!jk_cap_is_null(ck->verify_proto));
    JK_CHECK(!jk_cap_is_null(ck->dispatch_protos[0]));
    JK_CHECK(jk_cap_equal(jk_cap_instance_image(ck->verify_proto), tc.images[4]));
    jk_hash proto_before;
    jk_cap_hash(ck->verify_proto, &proto_before);

    uint8_t seed_a[32] = {1}, seed_b[32] = {2}, pk_a[32], sk_a[64], pk_b[32], sk_b[64];
    JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seed_a, pk_a, sk_a) == JK_OK);
    JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seed_b, pk_b, sk_b) == JK_OK);
    uint8_t blob[128];
    jk_chain_trace tr, forged;

    /* A signed transact is admitted to the pool. */
    ev.blob = blob;
    ev.blob_len = jk_blob(blob, pk_a, 'T', "pay 5 to bob");
    jk_chain_trace_sign(sk_a, &genesis, blob, ev.blob_len, &tr);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, &tr, 1, &admitted, &diag), JK_OK);
    JK_CHECK(admitted);
    JK_CHECK_EQ(ck->pool_count, 1);
    JK_CHECK(jk_chain_keyset_contains(&ck->pool_seen_keys, pk_a));

    /* Forged (signed by another key), missing, or for another genesis: dropped. */
    jk_chain_trace_sign(sk_b, &genesis, blob, ev.blob_len, &forged);
    memcpy(forged.key, pk_a, 32);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, &forged, 1, &admitted, &diag), JK_OK);
    JK_CHECK(!admitted);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, NULL, 0, &admitted, &diag), JK_OK);
    JK_CHECK(!admitted);
    jk_hash other_genesis;
    jk_crypto_blake2b256("other chain", 11, &other_genesis);
    jk_chain_trace elsewhere;
    jk_chain_trace_sign(sk_a, &other_genesis, blob, ev.blob_len, &elsewhere);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, &elsewhere, 1, &admitted, &diag), JK_OK);
    JK_CHECK(!admitted);
    JK_CHECK_EQ(ck->pool_count, 1);

    /* A dispatch event goes to endpoint 0's buffer; its key becomes seen. */
    jk_chain_event dev = {jk_chain_endpoint_dispatch(0), blob, jk_blob(blob, pk_b, 'D', "price 42")};
    jk_chain_trace dtr;
    jk_chain_trace_sign(sk_b, &genesis, blob, dev.blob_len, &dtr);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &dev, &dtr, 1, &admitted, &diag), JK_OK);
    JK_CHECK(admitted);
    JK_CHECK_EQ(ck->dispatch_buffered[0], 1);
    JK_CHECK(jk_chain_keyset_contains(&ck->cycle_seen_keys[0], pk_b));
    JK_CHECK(!jk_chain_keyset_contains(&ck->cycle_seen_keys[0], pk_a));
    /* The same dispatch blob on the transact endpoint: wrong lineage, dropped. */
    dev.endpoint = JK_CHAIN_ENDPOINT_TRANSACT;
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &dev, &dtr, 1, &admitted, &diag), JK_OK);
    JK_CHECK(!admitted);
    /* A dispatch endpoint that does not exist. */
    dev.endpoint = jk_chain_endpoint_dispatch(3);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &dev, &dtr, 1, &admitted, &diag), JK_OK);
    JK_CHECK(!admitted);

    /* A verify that scribbles on its copy leaks nothing into verify_proto. */
    ev.blob_len = jk_blob(blob, pk_a, 'M', "mutate");
    jk_chain_trace_sign(sk_a, &genesis, blob, ev.blob_len, &tr);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, &tr, 1, &admitted, &diag), JK_OK);
    JK_CHECK(admitted);
    jk_hash proto_after;
    jk_cap_hash(ck->verify_proto, &proto_after);
    JK_CHECK_MEM(proto_before.bytes, proto_after.bytes, 32);
    JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(jk_cap_instance_cnode(ck->verify_proto), 40)));
    JK_CHECK_EQ(ck->pool_count, 2);

    jk_chain_teardown(ck);
    JK_CHECK(jk_cap_is_null(ck->verify_proto));
    jk_chain_kernel_free(ck);
    jk_test_chain_free(&tc);
    jk_cap_stats after;
    jk_cap_stats_get(&after);
    JK_CHECK_EQ(after.live_objects, before.live_objects);
}
