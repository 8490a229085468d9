/* example_chain.c — see example_chain.h. */
#include "example_chain.h"

#include "jark/bytes.h"
#include "jark/sdk.h"
#include "jark/spec.h"

#include <stdio.h>
#include <string.h>

jk_ex_key jk_ex_key_of(uint8_t b)
{
    uint8_t seed[32];
    jk_ex_key k;
    memset(seed, b, sizeof seed);
    if (jk_crypto_ed25519_keypair_from_seed(seed, k.pk, k.sk) != JK_OK)
        memset(&k, 0, sizeof k);
    return k;
}

bool jk_ex_open(jk_ex_chain *c, const char *spec_path, const uint32_t *slots, const uint8_t *const *data,
                const size_t *lens, uint32_t state_count)
{
    return jk_ex_open_built(c, spec_path, NULL, slots, data, lens, state_count);
}

bool jk_ex_open_built(jk_ex_chain *c, const char *spec_path, const jk_sdk_options *build, const uint32_t *slots,
                      const uint8_t *const *data, const size_t *lens, uint32_t state_count)
{
    memset(c, 0, sizeof *c);
    c->validator = jk_ex_key_of(0x99);
    jk_spec_file f;
    jk_diag lerr = {{0}};
    if (jk_spec_file_load(spec_path, build, &f, &lerr) != JK_OK) {
        printf("%s: %s\n", spec_path, lerr.msg);
        return false;
    }
    jk_chain_spec spec = f.spec;
    if (state_count) {
        spec.state_slots = slots;
        spec.state_data = data;
        spec.state_len = lens;
        spec.state_count = state_count;
    }
    spec.validators = (const uint8_t(*)[32])c->validator.pk;
    spec.validator_count = 1;
    c->gas = spec.gas;
    jk_diag diag = {{0}};
    jk_err e = jk_chain_genesis_build(&spec, &c->g, &diag);
    jk_spec_file_free(&f);
    if (e != JK_OK) {
        printf("%s: genesis: %s\n", spec_path, diag.msg);
        return false;
    }
    if (jk_chain_kernel_new(&c->g, jk_cap_null(), &c->producer, &diag) != JK_OK ||
        jk_chain_kernel_new(&c->g, jk_cap_null(), &c->importer, &diag) != JK_OK) {
        printf("%s: kernel: %s\n", spec_path, diag.msg);
        return false;
    }
    jk_chain_set_own_key(c->producer, c->validator.sk);
    c->parent = c->g.genesis_hash;
    c->number = 1;
    return true;
}

void jk_ex_close(jk_ex_chain *c)
{
    jk_chain_kernel_free(c->producer);
    jk_chain_kernel_free(c->importer);
    jk_cap_release(c->g.chain);
    memset(c, 0, sizeof *c);
}

bool jk_ex_submit(jk_ex_chain *c, jk_chain_endpoint ep, const uint8_t *blob, size_t len, const jk_ex_key *signer)
{
    return jk_ex_submit_why(c, ep, blob, len, signer, NULL);
}

bool jk_ex_submit_why(jk_ex_chain *c, jk_chain_endpoint ep, const uint8_t *blob, size_t len,
                      const jk_ex_key *signer, jk_diag *why)
{
    jk_chain_trace t;
    if (signer)
        jk_chain_trace_sign(signer->sk, &c->g.genesis_hash, blob, len, &t);
    jk_chain_event ev = {ep, blob, len};
    bool admitted = false;
    if (jk_chain_handle_incoming_event(c->producer, &ev, signer ? &t : NULL, signer ? 1 : 0, &admitted, why) !=
        JK_OK)
        return false;
    return admitted;
}

bool jk_ex_block(jk_ex_chain *c, uint64_t *processed0, size_t *events, size_t *traces)
{
    uint64_t processed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS] = {0};
    if (jk_chain_run_cycle_process(c->producer, processed) != JK_OK)
        return false;
    if (processed0)
        *processed0 = processed[0];
    jk_chain_block b;
    jk_diag why = {{0}};
    if (jk_chain_apply_block_produce(c->producer, &c->parent, c->number, 0, NULL, &b, &why) != JK_OK) {
        printf("produce %llu: %s\n", (unsigned long long)c->number, why.msg);
        return false;
    }
    jk_err err = jk_chain_apply_block_import(c->importer, &b, &c->parent, c->number, &why);
    if (err != JK_OK)
        printf("import %llu: %s\n", (unsigned long long)c->number, why.msg);
    jk_hash p, i;
    jk_cap_hash(c->producer->chain, &p);
    jk_cap_hash(c->importer->chain, &i);
    bool ok = err == JK_OK && !memcmp(p.bytes, b.header.state_root.bytes, 32) &&
              !memcmp(i.bytes, b.header.state_root.bytes, 32);
    if (events)
        *events = b.event_count;
    if (traces)
        *traces = b.trace_count;
    jk_chain_block_hash(&b, &c->parent);
    c->number++;
    jk_chain_block_free(&b);
    return ok;
}

bool jk_ex_submit_signed(jk_ex_chain *c, jk_chain_endpoint ep, const uint8_t *blob, size_t len,
                         const jk_ex_key *const *keys, size_t n, jk_diag *why)
{
    jk_chain_trace t[8];
    if (n > 8)
        return false;
    for (size_t i = 0; i < n; i++)
        jk_chain_trace_sign(keys[i]->sk, &c->g.genesis_hash, blob, len, &t[i]);
    jk_chain_event ev = {ep, blob, len};
    bool admitted = false;
    return jk_chain_handle_incoming_event(c->producer, &ev, t, n, &admitted, why) == JK_OK && admitted;
}

bool jk_ex_produce(jk_ex_chain *c, jk_chain_block *out)
{
    jk_diag why = {{0}};
    if (jk_chain_apply_block_produce(c->producer, &c->parent, c->number, 0, NULL, out, &why) != JK_OK) {
        printf("produce %llu: %s\n", (unsigned long long)c->number, why.msg);
        return false;
    }
    return true;
}

jk_err jk_ex_import_made(jk_ex_chain *c, const jk_chain_event *events, size_t n, const jk_chain_trace *traces,
                         size_t ntraces, const jk_hash *root)
{
    jk_chain_block b;
    jk_diag why = {{0}};
    jk_err err = jk_chain_block_build(&c->parent, c->number, 0, root, events, n, traces, ntraces, &b, &why);
    if (err != JK_OK)
        return err;
    jk_chain_block_sign(&b, c->validator.sk, &c->g.genesis_hash);
    err = jk_chain_apply_block_import(c->importer, &b, &c->parent, c->number, &why);
    if (err == JK_OK) {
        jk_chain_block_hash(&b, &c->parent);
        c->number++;
    }
    jk_chain_block_free(&b);
    return err;
}

bool jk_ex_state_read(jk_cap chain, const uint32_t *path, unsigned depth, uint8_t *out, size_t len)
{
    jk_cap d;
    return jk_cap_cnode_get_path(jk_cap_instance_cnode(chain), path, depth, &d) && jk_cap_data_len(d) == len &&
           jk_cap_data_read(d, 0, out, len) == JK_OK;
}

uint64_t jk_ex_slot_u64(jk_cap chain, uint32_t slot)
{
    uint8_t b[8];
    return jk_ex_state_read(chain, &slot, 1, b, 8) ? jk_get_u64le(b) : 0;
}
