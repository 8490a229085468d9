/*
 * chain_app_fx.c — the chain app tests' shared fixture (chain_app_fx.h).
 */
#include "chain_app_fx.h"

bool fx_open_app(fx *f, uint32_t i)
{
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s/v%u", f->dir, i);
    jk_diag diag = {{0}};
    jk_err e = jk_node_chain_app_open(d, f->keys[i].sk, &f->genesis, &f->apps[i], &diag);
    if (e != JK_OK) {
        fprintf(stderr, "open app %u: %s\n", i, diag.msg);
        return false;
    }
    jk_node_chain_app_bind(f->apps[i], &f->cb[i]);
    return true;
}

/* The demo chain with V validators derived from seed 1, one app each. */
bool fx_make(fx *f)
{
    memset(f, 0, sizeof *f);
    const char *sdk = jk_sdk_dir();
    if (!sdk || jk_crypto_init() != JK_OK)
        return false;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%.3000s/../examples/demo/devnet-spec.json", sdk);
    jk_diag diag = {{0}};
    if (jk_spec_file_load(path, NULL, &f->spec, &diag) != JK_OK) {
        fprintf(stderr, "%s\n", diag.msg);
        return false;
    }
    jk_devnet_demo_init(&f->demo, 1, &f->spec.spec);
    for (uint32_t i = 0; i < V; i++) {
        jk_devnet_derive_key("validator", 1, i, &f->keys[i]);
        memcpy(f->pks[i], f->keys[i].pk, 32);
    }
    f->spec.spec.validators = (const uint8_t(*)[32])f->pks;
    f->spec.spec.validator_count = V;
    if (jk_chain_genesis_build(&f->spec.spec, &f->genesis, &diag) != JK_OK)
        return false;
    jk_test_tmpdir("chain-app", f->dir, sizeof f->dir);
    for (uint32_t i = 0; i < V; i++)
        if (!fx_open_app(f, i))
            return false;
    return true;
}

void fx_free(fx *f)
{
    for (uint32_t i = 0; i < V; i++)
        jk_node_chain_app_close(f->apps[i]);
    jk_test_rm_tree(f->dir);
    jk_cap_release(f->genesis.chain);
    f->spec.spec.validators = NULL;
    jk_spec_file_free(&f->spec);
}

/* Gossip block `height`'s demo events to every app; returns how many were
 * new at app 0. */
size_t fx_gossip(fx *f, uint64_t height, uint32_t transfers)
{
    jk_devnet_demo_block(&f->demo, &f->genesis.genesis_hash, height, transfers, &f->gossip);
    size_t fresh = 0;
    for (size_t e = 0; e < f->gossip.n; e++) {
        uint8_t *bytes;
        size_t len;
        if (fx_encode(f, e, &bytes, &len) != JK_OK)
            continue;
        for (uint32_t i = 0; i < V; i++) {
            bool added = f->cb[i].add_event(f->apps[i], bytes, len);
            if (i == 0 && added)
                fresh++;
            /* a second delivery is an echo */
            JK_CHECK(!f->cb[i].add_event(f->apps[i], bytes, len));
        }
        free(bytes);
    }
    return fresh;
}

jk_err fx_encode(const fx *f, size_t e, uint8_t **bytes, size_t *len)
{
    return jk_node_event_encode(&f->gossip.events[e], f->gossip.trace_ptrs[e], f->gossip.counts[e], bytes, len);
}

bool fx_copy_event(uint8_t **batch, size_t *lens, size_t *nb, size_t k, bool forge)
{
    if (!(batch[*nb] = malloc(lens[k])))
        return false;
    memcpy(batch[*nb], batch[k], lens[k]);
    if (forge)
        batch[*nb][9] ^= 1;
    lens[*nb] = lens[k];
    (*nb)++;
    return true;
}

size_t fx_batch(fx *f, uint64_t height, uint32_t transfers, uint8_t **batch, size_t *lens, size_t max)
{
    jk_devnet_demo_block(&f->demo, &f->genesis.genesis_hash, height, transfers, &f->gossip);
    size_t n = 0;
    for (; n < f->gossip.n && n < max; n++)
        if (fx_encode(f, n, &batch[n], &lens[n]) != JK_OK) {
            jk_test_fail(__FILE__, __LINE__, "demo event %zu of height %llu does not encode", n,
                         (unsigned long long)height);
            break;
        }
    return n;
}

/* A certificate of validators 0..2 for value id at (height, round). */
void fx_cert(const fx *f, uint64_t height, uint32_t round, const jk_hash *id,
                    jk_cons_cert *c)
{
    memset(c, 0, sizeof *c);
    c->height = height;
    c->round = round;
    c->value = *id;
    for (uint32_t i = 0; i < 3; i++) {
        jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = height, .round = round,
                          .has_value = true, .value = *id, .validator = i};
        jk_cons_vote_sign(&v, &f->genesis.genesis_hash, f->keys[i].sk);
        c->sigs[i].validator = i;
        memcpy(c->sigs[i].sig, v.sig, 64);
    }
    c->count = 3;
}

void fx_root(const fx *f, uint32_t i, jk_hash *out)
{
    jk_cap_hash(jk_node_chain_app_validator(f->apps[i])->ck->chain, out);
}

/* One height decided in round `round` with the value its proposer made:
 * every other app checks it, everyone commits it. */
bool fx_decide(fx *f, uint64_t height, uint32_t round, jk_cons_cert *cert)
{
    uint32_t p = jk_chain_proposer_index(V, height, round);
    JK_CHECK_EQ(f->cb[0].proposer(f->apps[0], height, round), p);
    uint8_t *value = NULL;
    size_t len = 0;
    if (f->cb[p].get_value(f->apps[p], height, round, &value, &len) != JK_OK)
        return false;
    jk_hash id;
    f->cb[0].hash(f->apps[0], value, len, &id);
    bool ok = true;
    for (uint32_t i = 0; i < V; i++)
        ok = ok && f->cb[i].valid(f->apps[i], height, value, len);
    fx_cert(f, height, round, &id, cert);
    for (uint32_t i = 0; i < V && ok; i++)
        ok = f->cb[i].commit(f->apps[i], height, value, len, cert) == JK_OK;
    free(value);
    return ok;
}

/* A certificate of validators `first`..`first`+2 (or, with forged, signed
 * by keys that are no validator's under those indices; or `count` of them). */
void fx_cert_by(const fx *f, uint64_t height, uint32_t round, const jk_hash *id,
                       uint32_t first, uint32_t count, bool forged, jk_cons_cert *c)
{
    memset(c, 0, sizeof *c);
    c->height = height;
    c->round = round;
    c->value = *id;
    for (uint32_t k = 0; k < count; k++) {
        uint32_t i = first + k;
        jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = height, .round = round,
                          .has_value = true, .value = *id, .validator = i};
        jk_keypair other;
        jk_devnet_derive_key("not a validator", 7, i, &other);
        jk_cons_vote_sign(&v, &f->genesis.genesis_hash, forged ? other.sk : f->keys[i].sk);
        c->sigs[k].validator = i;
        memcpy(c->sigs[k].sig, v.sig, 64);
    }
    c->count = count;
}

jk_node_chain_app_stats fx_stats(const fx *f, uint32_t i)
{
    jk_node_chain_app_stats st;
    jk_node_chain_app_stats_get(f->apps[i], &st);
    return st;
}
