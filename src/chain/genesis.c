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

static void jk_genesis_hash(const jk_chain_genesis *g, jk_hash *out)
{
    jk_crypto_hasher h;
    jk_hash inst;
    uint8_t n[9], budget[8];
    jk_cap_hash(g->chain, &inst);
    jk_crypto_hasher_init(&h);
    jk_crypto_hasher_update(&h, JK_CHAIN_GENESIS_TAG, strlen(JK_CHAIN_GENESIS_TAG));
    jk_crypto_hasher_update(&h, inst.bytes, JK_HASH_SIZE);
    jk_crypto_hasher_update(&h, n, jk_pvm_encode_natural(g->validator_count, n));
    for (uint32_t i = 0; i < g->validator_count; i++)
        jk_crypto_hasher_update(&h, g->validators[i], JK_ED25519_PUBLIC_SIZE);
    const int64_t budgets[4] = {g->gas.transform, g->gas.verify, g->gas.process, g->gas.block};
    for (int b = 0; b < 4; b++) {
        jk_put_u64le(budget, (uint64_t)budgets[b]);
        jk_crypto_hasher_update(&h, budget, sizeof budget);
    }
    jk_crypto_hasher_update(&h, n, jk_pvm_encode_natural(g->dispatch_count, n));
    jk_crypto_hasher_update(&h, n, jk_pvm_encode_natural(g->max_event_traces, n));
    jk_crypto_hasher_final(&h, out);
}

static jk_err jk_genesis_check(const jk_chain_genesis *g, jk_diag *diag)
{
    if (jk_cap_kind_of(g->chain) != JK_CAP_INSTANCE)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "the genesis chain is not an Instance");
    /* No HALT may leave a state deeper than this (the kernel's nesting
     * reserve, docs/abi.md): a genesis deeper could never pause, so no
     * verify could attest on it. */
    if (jk_cap_depth(g->chain) > JK_KERNEL_MAX_HALT_DEPTH)
        return jk_diag_set(diag, JK_ERR_CAP_TOO_DEEP,
                           "the genesis chain is %u deep (at most %d: the kernel's nesting reserve)",
                           jk_cap_depth(g->chain), JK_KERNEL_MAX_HALT_DEPTH);
    if (g->validator_count == 0 || g->validator_count > JK_CHAIN_MAX_VALIDATORS)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "%u validators (1..%d)", g->validator_count,
                           JK_CHAIN_MAX_VALIDATORS);
    if (g->dispatch_count > JK_CHAIN_MAX_DISPATCH_ENDPOINTS)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "%u dispatch endpoints (at most %d)", g->dispatch_count,
                           JK_CHAIN_MAX_DISPATCH_ENDPOINTS);
    if (g->gas.transform < 0 || g->gas.verify < 0 || g->gas.process < 0 || g->gas.block < 0)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "a gas budget is negative");
    if (g->max_event_traces == 0 || g->max_event_traces > JK_CHAIN_MAX_EVENT_TRACES)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "%u traces per event (1..%u)", g->max_event_traces,
                           JK_CHAIN_MAX_EVENT_TRACES);
    return JK_OK;
}

jk_err jk_chain_genesis_seal(jk_chain_genesis *g, jk_diag *diag)
{
    jk_err err = jk_genesis_check(g, diag);
    if (err == JK_OK)
        jk_genesis_hash(g, &g->genesis_hash);
    return err;
}

jk_err jk_chain_genesis_verify(const jk_chain_genesis *g, jk_diag *diag)
{
    jk_err err = jk_genesis_check(g, diag);
    if (err != JK_OK)
        return err;
    jk_hash h;
    jk_genesis_hash(g, &h);
    if (memcmp(h.bytes, g->genesis_hash.bytes, JK_HASH_SIZE) != 0)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG,
                           "the genesis record's settings do not match its genesis hash");
    return JK_OK;
}

/* Refuse nothing: only the outcome matters to the probes below. */
static jk_err jk_decide_refuse(void *ctx, const uint8_t key[32], const uint8_t *blob, size_t len, bool *accept)
{
    (void)ctx, (void)key, (void)blob, (void)len;
    *accept = false;
    return JK_OK;
}

/* Whether transform endpoint ep of the genesis chain HALTs on the image
 * pinned in `slot` (and so on its lineage). */
static jk_err jk_probe_transform(jk_kernel *k, const jk_chain_genesis *g, uint32_t ep, uint32_t slot,
                                 const char *what, jk_diag *diag)
{
    jk_kernel_result res;
    memset(&res, 0, sizeof res);
    jk_err err = jk_kernel_call(k, g->chain, ep, g->gas.transform, NULL, jk_cap_null(), &res);
    if (err == JK_OK && res.outcome != JK_KERNEL_HALT)
        err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "the chain's endpoint %u (%s) does not HALT: %s", ep, what,
                          res.fault_msg[0] ? res.fault_msg : "out of gas or yield");
    else if (err == JK_OK &&
             !jk_cap_equal(jk_cap_instance_image(res.instance),
                           jk_cap_image_pinned(jk_cap_instance_image(g->chain), slot)))
        err = jk_diag_set(diag, JK_ERR_INVALID_ARG,
                          "the chain's endpoint %u (%s) does not set_image onto the image pinned in slot %u "
                          "(endpoints swapped or missing?)", ep, what, slot);
    jk_kernel_result_clear(&res);
    return err;
}

/* The chain's endpoints do what their numbers say: apply (0) over an empty
 * body does not change the image (it may fault: that depends on the state); transform_to_verify (1) and
 * transform_to_dispatch_k (2 + k) set_image onto their pinned images. And
 * the AA asks the kernel: its attest yields instead of returning (an AA that
 * returns would make every attest succeed without a signature). */
static jk_err jk_genesis_probe(const jk_chain_genesis *g, jk_diag *diag)
{
    jk_kernel *k = NULL;
    jk_cap marker = jk_cap_null(), aa = jk_cap_null(), cnode = jk_cap_null(), with_marker = jk_cap_null();
    jk_cap body = jk_cap_null(), pad = jk_cap_null(), key = jk_cap_null(), blob = jk_cap_null();
    jk_kernel_result res;
    memset(&res, 0, sizeof res);
    jk_err err = jk_kernel_new(NULL, &k);
    if (err == JK_OK)
        err = jk_kernel_mint_marker(k, 0, &marker);
    if (err == JK_OK)
        err = jk_probe_transform(k, g, JK_CHAIN_EP_TRANSFORM_TO_VERIFY, JK_CHAIN_SLOT_VERIFY, "transform_to_verify",
                                 diag);
    for (uint32_t d = 0; err == JK_OK && d < g->dispatch_count; d++)
        err = jk_probe_transform(k, g, JK_CHAIN_EP_TRANSFORM_TO_DISPATCH_0 + d, JK_CHAIN_SLOT_DISPATCH_0 + d,
                                 "transform_to_dispatch_k", diag);
    /* an AA instance as the kernel injects it */
    if (err == JK_OK)
        err = jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &cnode);
    if (err == JK_OK)
        err = jk_cap_cnode_set(cnode, JK_CHAIN_AA_MARKER_SLOT, marker, &with_marker);
    if (err == JK_OK)
        err = jk_cap_instance_genesis(jk_cap_image_pinned(jk_cap_instance_image(g->chain), JK_CHAIN_SLOT_AA),
                                      with_marker, &aa, NULL);
    /* apply over an empty body */
    if (err == JK_OK)
        err = jk_cap_cnode_new(0, &body);
    if (err == JK_OK)
        err = jk_chain_pair(body, aa, &pad);
    if (err == JK_OK)
        err = jk_chain_invoke(k, marker, g->chain, JK_CHAIN_EP_APPLY, g->gas.block, NULL, pad, jk_decide_refuse,
                              NULL, NULL, &res);
    /* (apply may fault here: what it needs of a body or of its state is the
     * chain's business; only an apply that behaves as a transform is refused) */
    if (err == JK_OK && res.outcome == JK_KERNEL_HALT &&
        !jk_cap_equal(jk_cap_instance_image(res.instance), jk_cap_instance_image(g->chain)))
        err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "the chain's apply (endpoint 0) changes the chain's image "
                          "(swapped with a transform?)");
    jk_kernel_result_clear(&res);
    jk_cap_release(pad);
    pad = jk_cap_null();
    /* the AA's attest (endpoint 0) with a well-formed request must yield */
    static const uint8_t zero[JK_ED25519_PUBLIC_SIZE];
    if (err == JK_OK)
        err = jk_cap_data_new(zero, sizeof zero, &key);
    if (err == JK_OK)
        err = jk_cap_data_new("jark genesis probe", 18, &blob);
    if (err == JK_OK)
        err = jk_chain_pair(key, blob, &pad);
    if (err == JK_OK)
        err = jk_kernel_call(k, aa, 0, g->gas.verify, NULL, pad, &res);
    if (err == JK_OK && res.outcome == JK_KERNEL_HALT)
        err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "the AA's attest returns without yielding to the kernel: "
                          "every attest would pass without a signature");
    jk_kernel_result_clear(&res);
    jk_cap_release(pad);
    jk_cap_release(key);
    jk_cap_release(blob);
    jk_cap_release(body);
    jk_cap_release(aa);
    jk_cap_release(with_marker);
    jk_cap_release(cnode);
    jk_cap_release(marker);
    jk_kernel_free(k);
    return err;
}

jk_err jk_chain_genesis_build(const jk_chain_spec *spec, jk_chain_genesis *out, jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    out->chain = jk_cap_null();
    if (spec->validator_count == 0 || spec->validator_count > JK_CHAIN_MAX_VALIDATORS)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "%u validators (1..%d)", spec->validator_count,
                           JK_CHAIN_MAX_VALIDATORS);
    if (spec->dispatch_count > JK_CHAIN_MAX_DISPATCH_ENDPOINTS)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "%u dispatch endpoints (at most %d)", spec->dispatch_count,
                           JK_CHAIN_MAX_DISPATCH_ENDPOINTS);
    if (spec->gas.transform < 0 || spec->gas.verify < 0 || spec->gas.process < 0 || spec->gas.block < 0)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "a gas budget is negative");
    if (spec->max_event_traces > JK_CHAIN_MAX_EVENT_TRACES)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "%u traces per event (at most %u)", spec->max_event_traces,
                           JK_CHAIN_MAX_EVENT_TRACES);
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
    if (err == JK_OK && jk_cap_equal(transact, dinst))
        err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "the transact and dispatch_instance programs make the same "
                          "image: verify's result could not tell a transact from a dispatch event");
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
    if (err == JK_OK) {
        out->validator_count = spec->validator_count;
        memcpy(out->validators, spec->validators, (size_t)spec->validator_count * JK_ED25519_PUBLIC_SIZE);
        out->gas = spec->gas;
        out->dispatch_count = spec->dispatch_count;
        out->max_event_traces = spec->max_event_traces ? spec->max_event_traces : JK_CHAIN_DEFAULT_EVENT_TRACES;
        err = jk_chain_genesis_seal(out, diag);
    }
    if (err == JK_OK)
        err = jk_genesis_probe(out, diag);
    if (err != JK_OK) {
        jk_cap_release(out->chain);
        out->chain = jk_cap_null();
    }
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
