/*
 * push.c — pushing frames: a CALL of an Idle instance and a CALL_RESUME (or
 * the embedder's resume) of a Paused one, whose continuation frames are
 * rebuilt with the gas jk_resume_budgets gives them. What a guest got wrong
 * comes back in *why (JK_HC_FAULT and its reason) for the loop to deliver.
 */
#include "internal.h"

#include <string.h>

static jk_err jk_setup_fail(jk_hc_result *why, jk_kernel_fault fault, const char *msg)
{
    why->action = JK_HC_FAULT;
    why->fault = fault;
    snprintf(why->msg, sizeof why->msg, "%s", msg);
    return JK_ERR_INVALID_ARG;
}

/* Fill a zeroed frame from an Idle instance value (the working copy). */
static jk_err jk_frame_init(jk_frame *f, jk_kernel *k, jk_cap original, jk_cap inst, uint64_t path)
{
    f->kernel = k;
    f->original = jk_cap_retain(original);
    f->inst = jk_cap_retain(inst);
    f->cnode = jk_cap_retain(jk_cap_instance_cnode(inst));
    f->exec_image = jk_cap_retain(jk_cap_instance_image(inst));
    f->prog = jk_cap_image_program(f->exec_image);
    f->path = path;
    jk_kernel_frame_pins(f); /* and they hold (pins_moved false) */
    return JK_OK;
}

/* Put slot0 into f's slot 0 (replacing what is there). */
jk_err jk_kernel_give_slot0(jk_frame *f, jk_cap slot0)
{
    if (jk_cap_same(slot0, jk_kernel_slot(f, 0)))
        return JK_OK; /* nothing changes (typically: both empty) */
    return jk_kernel_slot_set(f, 0, slot0);
}

jk_err jk_kernel_push_call(jk_kernel *k, jk_cap target, uint64_t path, uint32_t endpoint, int64_t gas,
                    const uint64_t args[3], jk_cap slot0, jk_hc_result *why)
{
    if (jk_cap_kind_of(target) != JK_CAP_INSTANCE)
        return jk_setup_fail(why, JK_FAULT_HOSTCALL, "CALL target is not an Instance");
    if (jk_cap_instance_status(target) != JK_CAP_IDLE)
        return jk_setup_fail(why, JK_FAULT_HOSTCALL, "CALL target is not Idle (Paused or Faulted)");
    jk_cap image = jk_cap_instance_image(target);
    const jk_cap_endpoint *ep = jk_cap_image_endpoint(image, endpoint);
    if (!ep)
        return jk_setup_fail(why, JK_FAULT_HOSTCALL, "CALL endpoint out of range");
    if (k->depth >= JK_KERNEL_MAX_DEPTH)
        return jk_setup_fail(why, JK_FAULT_DEPTH, "call depth bound reached");
    jk_frame *f = &k->frames[k->depth]; /* zero (jk_kernel_frame_zero) */
    jk_frame_init(f, k, target, target, path);
    k->depth++;
    f->endpoint = endpoint;
    f->st.pc = ep->pc;
    memcpy(f->st.regs, ep->regs, sizeof f->st.regs);
    for (int i = 0; i < 3; i++)
        f->st.regs[7 + i] = args ? args[i] : 0;
    f->st.gas = gas;
    jk_err err = jk_kernel_give_slot0(f, slot0);
    if (err == JK_ERR_NOMEM)
        return err; /* the loop unwinds */
    if (err != JK_OK) { /* slot[0] would nest too deep in the callee: it faults */
        jk_setup_fail(why, JK_FAULT_LIMIT, "slot[0] cannot be given to the callee (nesting bound)");
        return JK_OK;
    }
    char msg[sizeof why->msg];
    err = jk_kernel_frame_memory(f, NULL, 0, msg, sizeof msg);
    if (err == JK_ERR_INVALID_ARG) {
        why->action = JK_HC_FAULT;
        why->fault = JK_FAULT_MAPPING;
        snprintf(why->msg, sizeof why->msg, "%s", msg);
        return JK_OK; /* pushed, and faults at once */
    }
    why->action = JK_HC_PUSH;
    return err;
}

static int64_t jk_sat_add(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

/* Gas of resumed frames [first, first+n). Each continuation frame stores the
 * gas it had left when paused; frame j > 0 was CALLed by frame j-1 with a cap,
 * so the sub-stack from j may spend at most what frames j.. had left together
 * (B_j). The resumer's `gas` is frame 0's (its cap is the resumer's); it flows
 * up as CALL moves it: sub_j = min(B_j, sub_(j-1)), frame j keeps
 * sub_j - sub_(j+1). Nothing is minted: the frames hold exactly `gas`. */
static void jk_resume_budgets(jk_kernel *k, jk_cap paused, uint32_t first, uint32_t n, int64_t gas)
{
    int64_t below = gas; /* sub_(j-1) */
    for (uint32_t j = 0; j < n; j++) {
        int64_t cap = 0; /* B_j */
        for (uint32_t i = j; i < n; i++) {
            int64_t g = jk_cap_instance_frame(paused, i)->gas;
            cap = jk_sat_add(cap, g > 0 ? g : 0);
        }
        int64_t sub = j == 0 || cap > below ? below : cap;
        if (j > 0)
            k->frames[first + j - 1].st.gas = below - sub;
        k->frames[first + j].st.gas = sub;
        below = sub;
    }
}

jk_err jk_kernel_push_resume(jk_kernel *k, jk_cap paused, uint64_t path, int64_t gas, jk_cap slot0,
                      jk_hc_result *why)
{
    if (jk_cap_kind_of(paused) != JK_CAP_INSTANCE || jk_cap_instance_status(paused) != JK_CAP_PAUSED)
        return jk_setup_fail(why, JK_FAULT_HOSTCALL, "CALL_RESUME target is not Paused");
    uint32_t n = jk_cap_instance_frame_count(paused);
    if (k->depth + n > JK_KERNEL_MAX_DEPTH)
        return jk_setup_fail(why, JK_FAULT_DEPTH, "resuming would pass the call depth bound");
    jk_cap base;
    jk_err err = jk_cap_instance_with_status(paused, JK_CAP_IDLE, &base);
    if (err != JK_OK)
        return err;
    /* Whatever is wrong with a paused value a guest made (a frame whose
     * mapped slot no longer holds a Data, a caller that no longer holds its
     * callee) faults the frame concerned once the frames below it are back:
     * its caller sees FAULT. Only running out of memory is an error. */
    uint32_t first = k->depth;
    const char *bad = NULL;
    jk_kernel_fault bad_fault = JK_FAULT_MAPPING;
    char msg[sizeof why->msg];
    for (uint32_t j = 0; j < n && !bad; j++) {
        const jk_cap_frame *cf = jk_cap_instance_frame(paused, j);
        jk_frame *f = &k->frames[k->depth]; /* zero (jk_kernel_frame_zero) */
        jk_cap original = base;
        uint64_t fpath = path;
        if (j > 0) { /* the caller frame still holds it at the path of its CALL (φ7) */
            const jk_cap_frame *caller = jk_cap_instance_frame(paused, j - 1);
            fpath = caller->regs[7];
            if (!jk_kernel_path_get(&k->frames[k->depth - 1], fpath, &original) ||
                jk_cap_kind_of(original) != JK_CAP_INSTANCE) {
                bad = "continuation does not match its callers' slots";
                bad_fault = JK_FAULT_HOSTCALL;
                break;
            }
        }
        jk_frame_init(f, k, original, cf->instance, fpath);
        k->depth++;
        f->endpoint = cf->endpoint;
        f->st.pc = cf->pc;
        memcpy(f->st.regs, cf->regs, sizeof f->st.regs);
        f->st.block_paid = (cf->flags & JK_CAP_FRAME_BLOCK_PAID) != 0;
        f->st.gas = 0; /* set below, once the frames are there */
        err = jk_kernel_frame_memory(f, cf->regions, cf->region_count, msg, sizeof msg);
        if (err == JK_ERR_INVALID_ARG)
            bad = msg;
        else if (err != JK_OK)
            break;
    }
    jk_cap_release(base);
    if (err == JK_OK || bad) {
        jk_resume_budgets(k, paused, first, k->depth - first, gas);
        if (!bad && !jk_cap_is_null(slot0) && (err = jk_kernel_give_slot0(&k->frames[k->depth - 1], slot0)) != JK_OK &&
            err != JK_ERR_NOMEM) {
            bad = "slot[0] cannot be given to the resumed frame (nesting bound)";
            bad_fault = JK_FAULT_LIMIT;
        }
    }
    if (bad) {
        if (k->depth == first) /* nothing back: cannot happen (frame 0 always is) */
            return jk_setup_fail(why, bad_fault, bad);
        why->action = JK_HC_FAULT;
        why->fault = bad_fault;
        snprintf(why->msg, sizeof why->msg, "%s", bad);
        return JK_OK;
    }
    if (err != JK_OK) {
        while (k->depth > first)
            jk_kernel_frame_release(&k->frames[--k->depth]);
        return err;
    }
    why->action = JK_HC_PUSH;
    return JK_OK;
}
