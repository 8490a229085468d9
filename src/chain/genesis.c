/*
 * genesis.c — a chain from its spec: every role's Image, pinned as
 * docs/chain-design.md lays out, the initial state, and the genesis hash
 * that binds attestations and blocks to this chain.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* An Image of a program file with `pins`, which must have at least
 * `min_endpoints` endpoints. *out NEW. */
static jk_err jk_role_image(const char *role, const uint8_t *file, size_t len, const jk_cap_pin *pins,
                            uint32_t npins, uint32_t min_endpoints, jk_cap *out, jk_diag *diag)
{
    jk_kernel_image_opts opts = {.pins = pins, .pin_count = npins};
    jk_diag inner = {{0}};
    if (!file)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "the spec has no %s program", role);
    jk_err err = jk_kernel_image_from_program(file, len, &opts, out, &inner);
    if (err == JK_ERR_NOMEM)
        return err;
    if (err != JK_OK)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "the %s program: %s", role, inner.msg);
    uint32_t have = jk_cap_image_endpoint_count(*out);
    if (have < min_endpoints) {
        jk_cap_release(*out);
        *out = jk_cap_null();
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "the %s program has %u endpoints, needs %u", role, have,
                           min_endpoints);
    }
    return JK_OK;
}

static void jk_genesis_hash(const jk_cap chain, const jk_chain_spec *spec, jk_hash *out)
{
    jk_crypto_hasher h;
    jk_hash inst;
    uint8_t n[9], budget[8];
    jk_cap_hash(chain, &inst);
    jk_crypto_hasher_init(&h);
    jk_crypto_hasher_update(&h, JK_CHAIN_GENESIS_TAG, strlen(JK_CHAIN_GENESIS_TAG));
    jk_crypto_hasher_update(&h, inst.bytes, JK_HASH_SIZE);
    jk_crypto_hasher_update(&h, n, jk_pvm_encode_natural(spec->validator_count, n));
    for (uint32_t i = 0; i < spec->validator_count; i++)
        jk_crypto_hasher_update(&h, spec->validators[i], JK_ED25519_PUBLIC_SIZE);
    const int64_t budgets[4] = {spec->gas.transform, spec->gas.verify, spec->gas.process, spec->gas.block};
    for (int b = 0; b < 4; b++) {
        jk_put_u64le(budget, (uint64_t)budgets[b]);
        jk_crypto_hasher_update(&h, budget, sizeof budget);
    }
    jk_crypto_hasher_final(&h, out);
}

jk_err jk_chain_genesis_build(const jk_chain_spec *spec, jk_chain_genesis *out, jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    if (spec->validator_count == 0 || spec->validator_count > JK_CHAIN_MAX_VALIDATORS)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "%u validators (1..%d)", spec->validator_count,
                           JK_CHAIN_MAX_VALIDATORS);
    if (spec->dispatch_count > JK_CHAIN_MAX_DISPATCH_ENDPOINTS)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "%u dispatch endpoints (at most %d)", spec->dispatch_count,
                           JK_CHAIN_MAX_DISPATCH_ENDPOINTS);
    if (spec->gas.transform < 0 || spec->gas.verify < 0 || spec->gas.process < 0 || spec->gas.block < 0)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "a gas budget is negative");
    for (uint32_t i = 0; i < spec->state_count; i++) {
        if (spec->state_slots[i] < 20 || spec->state_slots[i] > 255)
            return jk_diag_set(diag, JK_ERR_INVALID_ARG, "state slot %u is outside 20..255 (1..19 are pinned "
                               "references, 0 the scratchpad)", spec->state_slots[i]);
        for (uint32_t j = 0; j < i; j++)
            if (spec->state_slots[j] == spec->state_slots[i])
                return jk_diag_set(diag, JK_ERR_INVALID_ARG, "state slot %u given twice", spec->state_slots[i]);
    }
    jk_cap transact = jk_cap_null(), dinst = jk_cap_null(), aa = jk_cap_null(), verify = jk_cap_null();
    jk_cap chain_image = jk_cap_null(), cnode = jk_cap_null();
    jk_cap dispatch[JK_CHAIN_MAX_DISPATCH_ENDPOINTS] = {{0}};
    jk_err err = jk_role_image("transact", spec->transact, spec->transact_len, NULL, 0, 0, &transact, diag);
    if (err == JK_OK)
        err = jk_role_image("dispatch_instance", spec->dispatch_instance, spec->dispatch_instance_len, NULL, 0, 0,
                            &dinst, diag);
    if (err == JK_OK)
        err = jk_role_image("aa", spec->aa, spec->aa_len, NULL, 0, 1, &aa, diag);
    for (uint32_t k = 0; err == JK_OK && k < spec->dispatch_count; k++)
        err = jk_role_image("dispatch", spec->dispatch[k], spec->dispatch_len[k], NULL, 0, 1, &dispatch[k], diag);
    if (err == JK_OK) {
        jk_cap_pin vpins[2] = {{JK_CHAIN_SLOT_TRANSACT, transact}, {JK_CHAIN_SLOT_DISPATCH_INSTANCE, dinst}};
        err = jk_role_image("verify", spec->verify, spec->verify_len, vpins, 2, 1, &verify, diag);
    }
    if (err == JK_OK) {
        jk_cap_pin cpins[4 + JK_CHAIN_MAX_DISPATCH_ENDPOINTS] = {
            {JK_CHAIN_SLOT_VERIFY, verify}, {JK_CHAIN_SLOT_TRANSACT, transact},
            {JK_CHAIN_SLOT_DISPATCH_INSTANCE, dinst}, {JK_CHAIN_SLOT_AA, aa}};
        for (uint32_t k = 0; k < spec->dispatch_count; k++)
            cpins[4 + k] = (jk_cap_pin){JK_CHAIN_SLOT_DISPATCH_0 + k, dispatch[k]};
        err = jk_role_image("chain", spec->chain, spec->chain_len, cpins, 4 + spec->dispatch_count,
                            JK_CHAIN_EP_TRANSFORM_TO_DISPATCH_0 + spec->dispatch_count, &chain_image, diag);
    }
    if (err == JK_OK)
        err = jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &cnode);
    for (uint32_t i = 0; err == JK_OK && i < spec->state_count; i++) {
        jk_cap data, next;
        err = jk_cap_data_new(spec->state_data[i], spec->state_len[i], &data);
        if (err == JK_OK) {
            err = jk_cap_cnode_set(cnode, spec->state_slots[i], data, &next);
            jk_cap_release(data);
        }
        if (err == JK_OK) {
            jk_cap_release(cnode);
            cnode = next;
        }
    }
    if (err == JK_OK) {
        jk_diag inner = {{0}};
        err = jk_cap_instance_genesis(chain_image, cnode, &out->chain, &inner);
        if (err != JK_OK && err != JK_ERR_NOMEM)
            err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "genesis: %s", inner.msg);
    }
    if (err == JK_OK)
        jk_genesis_hash(out->chain, spec, &out->genesis_hash);
    jk_cap_release(transact);
    jk_cap_release(dinst);
    jk_cap_release(aa);
    jk_cap_release(verify);
    jk_cap_release(chain_image);
    jk_cap_release(cnode);
    for (uint32_t k = 0; k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++)
        jk_cap_release(dispatch[k]);
    return err;
}
