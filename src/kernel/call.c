/*
 * call.c — the embedder's entry points: jk_kernel_call, jk_kernel_resume and
 * jk_kernel_call_served (a call whose yields to this kernel's markers are
 * answered by a serve callback, in place where loop.c can, else by a real
 * resume). Each sets up the root (jk_root) and runs loop.c's jk_kernel_loop.
 */
#include "internal.h"

#include <string.h>

static jk_err jk_start(jk_kernel *k, jk_root *root, jk_kernel_result *res)
{
    memset(res, 0, sizeof *res);
    root->res = res;
    k->instances_made = 0;
    return JK_OK;
}

/* A top-level resume continues the invocation that paused: the instance
 * bound counts what it had created (an attest must not reset it). A nested
 * CALL_RESUME keeps the running invocation's count. */
static void jk_resume_count(jk_kernel *k, jk_cap paused)
{
    const jk_cap_frame *f0 = jk_cap_instance_frame(paused, 0);
    k->instances_made = f0 ? f0->spawned : 0;
}

/* The embedder's CALL of target with root (gas, slot0, result, serve). */
static jk_err jk_call_root(jk_kernel *k, jk_root *root, jk_cap target, uint32_t endpoint,
                           const uint64_t args[3])
{
    /* Only `action` is read unless a push sets it to JK_HC_FAULT, which
     * writes the fault and its words (jk_hc_result): ~360 bytes not cleared
     * on every verify. */
    jk_hc_result setup;
    setup.action = JK_HC_CONTINUE;
    jk_start(k, root, root->res);
    if (root->gas < 0 || jk_cap_kind_of(target) != JK_CAP_INSTANCE ||
        jk_cap_instance_status(target) != JK_CAP_IDLE ||
        endpoint >= jk_cap_image_endpoint_count(jk_cap_instance_image(target))) {
        if (root->take_slot0)
            jk_cap_release(root->sent_slot0);
        return JK_ERR_INVALID_ARG;
    }
    jk_err err = jk_kernel_push_call(k, target, 0, endpoint, root->gas, args, root->sent_slot0, &setup);
    if (root->take_slot0) { /* the frame holds it now, alone (or nobody does) */
        jk_cap_release(root->sent_slot0);
        root->sent_slot0 = jk_cap_null();
    }
    if (err != JK_OK) {
        jk_kernel_unwind(k);
        return err;
    }
    return jk_kernel_loop(k, root, &setup);
}

jk_err jk_kernel_call(jk_kernel *k, jk_cap target, uint32_t endpoint, int64_t gas,
                      const uint64_t args[3], jk_cap slot0, jk_kernel_result *res)
{
    jk_root root = {gas, slot0, res};
    return jk_call_root(k, &root, target, endpoint, args);
}

/* After the first run of a served call: answer each YIELDED result the
 * in-place path left (jk_can_serve_in_place said no) with a real resume, as
 * jk_kernel_call_served is specified. */
static jk_err jk_serve_rest(jk_kernel *k, jk_root *root, int64_t gas, jk_err err)
{
    jk_kernel_result *res = root->res;
    int64_t used = res->gas_used;
    while (err == JK_OK && root->serve_err == JK_OK && !root->answered && res->outcome == JK_KERNEL_YIELDED) {
        bool resume = false;
        jk_cap answer = jk_cap_null();
        err = root->serve(root->serve_ctx, res->marker, res->slot0, &resume, &answer);
        if (err != JK_OK || !resume) {
            jk_cap_release(answer);
            break;
        }
        jk_cap paused = jk_cap_retain(res->instance);
        jk_kernel_result_clear(res);
        jk_root again = {gas - used, answer, res, root->serve, root->serve_ctx, false, JK_OK, jk_cap_null(),
                         root->no_instance};
        jk_hc_result setup;
        memset(&setup, 0, sizeof setup);
        jk_start(k, &again, res);
        jk_resume_count(k, paused);
        err = jk_kernel_push_resume(k, paused, 0, gas - used, answer, &setup);
        if (err != JK_OK)
            jk_kernel_unwind(k);
        else
            err = jk_kernel_loop(k, &again, &setup);
        jk_cap_release(paused);
        jk_cap_release(answer);
        jk_cap_release(again.held);
        used += res->gas_used;
        res->gas_used = used;
        root->answered = again.answered;
        root->serve_err = again.serve_err;
    }
    if (err == JK_OK)
        err = root->serve_err;
    if (err != JK_OK)
        jk_kernel_result_clear(res);
    return err;
}

jk_err jk_kernel_call_served(jk_kernel *k, jk_cap target, uint32_t endpoint, int64_t gas,
                             const uint64_t args[3], jk_cap slot0, jk_kernel_serve_fn serve, void *ctx,
                             jk_kernel_result *res)
{
    return jk_kernel_call_served_flags(k, target, endpoint, gas, args, slot0, serve, ctx, 0, res);
}

jk_err jk_kernel_call_served_flags(jk_kernel *k, jk_cap target, uint32_t endpoint, int64_t gas,
                                   const uint64_t args[3], jk_cap slot0, jk_kernel_serve_fn serve,
                                   void *ctx, unsigned flags, jk_kernel_result *res)
{
    bool no_instance = (flags & JK_KERNEL_CALL_NO_INSTANCE) != 0;
    bool take = (flags & JK_KERNEL_CALL_TAKE_SLOT0) != 0;
    if (!serve) {
        jk_root plain = {gas, slot0, res, NULL, NULL, false, JK_OK, jk_cap_null(), no_instance, take};
        return jk_call_root(k, &plain, target, endpoint, args);
    }
    jk_root root = {gas, slot0, res, serve, ctx, false, JK_OK, jk_cap_null(), no_instance, take};
    jk_err err = jk_serve_rest(k, &root, gas, jk_call_root(k, &root, target, endpoint, args));
    jk_cap_release(root.held); /* res holds its own references to what it gives back */
    return err;
}

jk_err jk_kernel_resume(jk_kernel *k, jk_cap paused, int64_t gas, jk_cap slot0, jk_kernel_result *res)
{
    jk_root root = {gas, slot0, res};
    jk_hc_result setup;
    memset(&setup, 0, sizeof setup);
    jk_start(k, &root, res);
    if (gas < 0 || jk_cap_kind_of(paused) != JK_CAP_INSTANCE || jk_cap_instance_status(paused) != JK_CAP_PAUSED)
        return JK_ERR_INVALID_ARG;
    jk_resume_count(k, paused);
    jk_err err = jk_kernel_push_resume(k, paused, 0, gas, slot0, &setup);
    if (err != JK_OK) {
        jk_kernel_unwind(k);
        return err == JK_ERR_NOMEM ? err : JK_ERR_INVALID_ARG;
    }
    return jk_kernel_loop(k, &root, &setup);
}
