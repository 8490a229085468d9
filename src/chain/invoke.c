/*
 * invoke.c — one top-level invocation with its attests served: the kernel side
 * of the AttestationAuthority (docs/chain-design.md).
 *
 * The loop: CALL; while the result is a yield of the attest marker, read
 * {key, blob} from the yielder's slot[0], ask `decide`, and resume with the
 * gas left — or abort. An abort discards everything: the caller gets the
 * target it passed in, unchanged, as if the invocation had never run.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Read the attest request {0: key (32 bytes), 1: blob} out of a slot[0].
 * *price: the blob's share of the invocation's gas (below). A blob of up to
 * sizeof *small bytes (a transfer's 81) is read into `small`, not a malloc'd
 * copy: *blob is then small (free it only when it is not). */
static bool jk_attest_request(jk_cap request, uint8_t key[JK_ED25519_PUBLIC_SIZE], uint8_t **blob,
                              size_t *blob_len, uint64_t *price, uint8_t (*small)[512])
{
    jk_cap k = jk_cap_cnode_get(request, 0), b = jk_cap_cnode_get(request, 1);
    if (jk_cap_kind_of(request) != JK_CAP_CNODE || jk_cap_kind_of(k) != JK_CAP_DATA ||
        jk_cap_kind_of(b) != JK_CAP_DATA || jk_cap_data_len(k) != JK_ED25519_PUBLIC_SIZE ||
        jk_cap_data_len(b) > JK_CHAIN_MAX_BLOB)
        return false;
    size_t n = (size_t)jk_cap_data_len(b);
    *price = ((uint64_t)n * JK_GAS_PER_PAGE_COPIED + JK_CAP_PAGE_SIZE - 1) / JK_CAP_PAGE_SIZE;
    *blob = n <= sizeof *small ? *small : malloc(n);
    if (!*blob)
        return false;
    if (jk_cap_data_read(k, 0, key, JK_ED25519_PUBLIC_SIZE) != JK_OK || jk_cap_data_read(b, 0, *blob, n) != JK_OK) {
        if (*blob != *small)
            free(*blob);
        return false;
    }
    *blob_len = n;
    return true;
}

static void jk_abort(jk_kernel_result *res, jk_cap target, jk_cap slot0, int64_t used, const char *why)
{
    jk_kernel_result_clear(res);
    res->outcome = JK_KERNEL_FAULT;
    res->fault = JK_FAULT_ABORTED;
    res->instance = jk_cap_retain(target);
    res->slot0 = jk_cap_retain(slot0);
    res->gas_used = used;
    snprintf(res->fault_msg, sizeof res->fault_msg, "%s", why);
}

/* The serve function handed to jk_kernel_call_served: the kernel answers
 * accepted attests where the yield happens (no continuation is built); a
 * yield this loop would abort stops the call, and jk_chain_invoke aborts. */
typedef struct jk_invoke_serve {
    jk_cap marker;
    jk_chain_attest_fn decide;
    void *ctx;
    uint32_t accepted;
    const char *abort_why; /* set when the served call stopped to abort */
    /* The host reads and hashes every attest's blob (H(tag ‖ genesis ‖ blob)
     * to find its trace) while the guest pays only its CALL and YIELD: the
     * same 1 MiB blob attested in a loop made a 1 M-gas verify cost the host
     * ~700 MB of copies and hashing. So the blob bytes of an invocation's
     * attests are priced as a copy (JK_GAS_PER_PAGE_COPIED per 4 KiB, by the
     * byte) against the gas it was given; an attest past that aborts it. */
    uint64_t blob_gas, gas;
} jk_invoke_serve;

static jk_err jk_invoke_serve_fn(void *ctx, jk_cap marker, jk_cap request, bool *resume,
                                 jk_cap *answer)
{
    jk_invoke_serve *sv = ctx;
    uint8_t key[JK_ED25519_PUBLIC_SIZE], *blob = NULL, small[512];
    size_t blob_len = 0;
    bool accept = false;
    *resume = false;
    *answer = jk_cap_null();
    if (!jk_cap_equal(marker, sv->marker)) {
        sv->abort_why = "yield to a marker that is not the attest marker";
        return JK_OK;
    }
    uint64_t price = 0;
    if (!jk_attest_request(request, key, &blob, &blob_len, &price, &small)) {
        sv->abort_why = "malformed attest request (want {key: 32-byte Data, blob: Data})";
        return JK_OK;
    }
    if ((sv->blob_gas += price) > sv->gas) {
        if (blob != small)
            free(blob);
        sv->abort_why = "attests read more blob bytes than the invocation's gas pays for";
        return JK_OK;
    }
    jk_err err = sv->decide(sv->ctx, key, blob, blob_len, &accept);
    if (blob != small)
        free(blob);
    if (err != JK_OK)
        return err;
    if (!accept) {
        sv->abort_why = JK_CHAIN_ATTEST_REFUSED;
        return JK_OK;
    }
    sv->accepted++;
    *resume = true;
    return JK_OK;
}

/* Exactly the loop "CALL; while YIELDED: check, decide, resume with the gas
 * left" (see jk_kernel_call_served for the equivalence), without pausing the
 * stack into a continuation at each accepted attest. */
jk_err jk_chain_invoke(jk_kernel *k, jk_cap marker, jk_cap target, uint32_t endpoint,
                       int64_t gas, const uint64_t args[3], jk_cap slot0,
                       jk_chain_attest_fn decide, void *ctx, uint32_t *attests,
                       jk_kernel_result *res)
{
    return jk_chain_invoke_flags(k, marker, target, endpoint, gas, args, slot0, decide, ctx, 0, attests, res);
}

jk_err jk_chain_invoke_flags(jk_kernel *k, jk_cap marker, jk_cap target, uint32_t endpoint,
                             int64_t gas, const uint64_t args[3], jk_cap slot0,
                             jk_chain_attest_fn decide, void *ctx, unsigned flags,
                             uint32_t *attests, jk_kernel_result *res)
{
    jk_invoke_serve sv = {.marker = marker, .decide = decide, .ctx = ctx, .gas = gas > 0 ? (uint64_t)gas : 0};
    jk_err err = jk_kernel_call_served_flags(k, target, endpoint, gas, args, slot0, jk_invoke_serve_fn,
                                             &sv, flags, res);
    if (err == JK_OK && res->outcome == JK_KERNEL_YIELDED)
        jk_abort(res, target, flags & JK_KERNEL_CALL_TAKE_SLOT0 ? jk_cap_null() : slot0, res->gas_used,
                 sv.abort_why ? sv.abort_why : "yield to a marker that is not the attest marker");
    if (attests)
        *attests = sv.accepted;
    return err;
}
