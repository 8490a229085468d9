/*
 * driver.c — the smallest embedder of jark: a program that links libjark.a,
 * includes only the jark/ headers, loads a chain spec, makes its genesis and runs a
 * validator for a few blocks, optionally on events from a file. Everything
 * `jark devnet` does for V validators, for one, in plain calls:
 *
 *   cc driver.c $(pkg-config --cflags --libs jark) -o driver
 *   JARK_SDK_DIR=$(pkg-config --variable=sdkdir jark) ./driver SPEC [BLOCKS] [EVENTS]
 *
 * The validator's key is made fresh and replaces the spec's validator list
 * (so events from a file must be signed for the genesis this prints; `jark
 * devnet --spec SPEC --validator-key K` runs a spec's own validators). The
 * store lives in a temporary folder removed at the end.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <jark/node.h>
#include <jark/spec.h>

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void print_hash(const char *label, const jk_hash *h)
{
    printf("%s ", label);
    for (int i = 0; i < JK_HASH_SIZE; i++)
        printf("%02x", h->bytes[i]);
    printf("\n");
}

/* One block: the cycle over the gossip, then apply, encode, commit. */
static jk_err produce(jk_node_validator *v, uint64_t number, const jk_spec_events *events, size_t *next,
                      jk_diag *diag)
{
    enum { PER_BLOCK = 32 };
    jk_chain_event gossip[PER_BLOCK];
    const jk_chain_trace *traces[PER_BLOCK];
    size_t counts[PER_BLOCK], n = 0;
    bool admitted[PER_BLOCK];
    for (; events && n < PER_BLOCK && *next < events->count; n++, (*next)++) {
        const jk_spec_event *e = &events->events[*next];
        gossip[n] = (jk_chain_event){e->endpoint, e->blob, e->blob_len};
        traces[n] = e->traces;
        counts[n] = e->trace_count;
    }
    jk_chain_block block;
    memset(&block, 0, sizeof block);
    uint8_t *bytes = NULL;
    size_t len = 0;
    jk_hash hash;
    jk_err err = jk_chain_setup_cycle(v->ck, diag);
    if (err == JK_OK)
        err = jk_chain_handle_incoming_events(v->ck, gossip, traces, counts, n, 0, admitted);
    if (err == JK_OK)
        err = jk_chain_run_cycle_process(v->ck, NULL);
    if (err == JK_OK)
        err = jk_chain_apply_block_produce(v->ck, &v->head_hash, number, 0, NULL, &block, diag); /* round 0 */
    jk_chain_teardown(v->ck);
    if (err == JK_OK)
        err = jk_chain_block_encode(&block, &bytes, &len);
    if (err == JK_OK) {
        jk_chain_block_hash(&block, &hash);
        err = jk_node_validator_commit(v, number, &hash, bytes, len, diag);
    }
    if (err == JK_OK)
        printf("block %" PRIu64 ": %zu events, %zu traces\n", number, block.event_count, block.trace_count);
    jk_chain_block_free(&block);
    free(bytes);
    return err;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: driver SPEC [BLOCKS] [EVENTS]\n");
        return 2;
    }
    uint64_t blocks = argc > 2 ? strtoull(argv[2], NULL, 10) : 3;
    jk_diag diag = {{0}};
    jk_spec_file spec;
    jk_spec_events events = {0};
    jk_spec_key key;
    jk_chain_genesis genesis = {0};
    jk_node_validator *v = NULL;
    char dir[] = "/tmp/jark-driver-XXXXXX";
    int rc = 2;
    if (jk_crypto_init() != JK_OK || jk_spec_key_generate(&key) != JK_OK || !mkdtemp(dir)) {
        fprintf(stderr, "driver: cannot set up\n");
        return 2;
    }
    jk_err err = jk_spec_file_load(argv[1], NULL, &spec, &diag);
    if (err != JK_OK) {
        fprintf(stderr, "driver: %s: %s\n", argv[1], diag.msg);
        goto out;
    }
    const uint8_t(*validators)[32] = (const uint8_t(*)[32])key.public_key;
    spec.spec.validators = validators;
    spec.spec.validator_count = 1;
    err = jk_chain_genesis_build(&spec.spec, &genesis, &diag);
    if (err == JK_OK && argc > 3)
        err = jk_spec_events_load(argv[3], &events, &diag);
    if (err == JK_OK)
        err = jk_node_validator_open(dir, key.secret, &genesis, &v, &diag);
    if (err != JK_OK) {
        fprintf(stderr, "driver: %s\n", diag.msg[0] ? diag.msg : jk_strerror(err));
        goto out;
    }
    print_hash("genesis", &genesis.genesis_hash);
    rc = 1;
    size_t next = 0;
    for (uint64_t n = 1; n <= blocks; n++) {
        if ((err = produce(v, n, argc > 3 ? &events : NULL, &next, &diag)) != JK_OK) {
            fprintf(stderr, "driver: block %" PRIu64 ": %s\n", n, diag.msg[0] ? diag.msg : jk_strerror(err));
            goto out;
        }
    }
    jk_hash root;
    jk_cap_hash(v->ck->chain, &root);
    printf("height %" PRIu64 "\n", v->height);
    print_hash("state_root", &root);
    rc = 0;
out:
    jk_node_validator_close(v);
    jk_cap_release(genesis.chain);
    jk_spec_events_free(&events);
    jk_spec_file_free(&spec);
    jk_crypto_wipe(&key, sizeof key);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return rc;
}
