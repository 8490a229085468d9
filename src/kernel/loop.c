/*
 * loop.c — the call loop: frames popped by HALT, FAULT, OUT_OF_GAS and caught
 * yields, the pause of frames into a continuation, and the in-place serving
 * of a yield at the root.
 *
 * The stack is an array of frames run in a loop (no C recursion). Gas: a
 * CALL moves `given` from the caller's budget to the callee's; when the
 * callee ends, whatever it did not burn moves back. A pause keeps each
 * frame's budget in the continuation (its gas left), so a resume never lets a
 * callee spend more than the cap its caller gave it (jk_resume_budgets).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int64_t jk_left(const jk_frame *f) { return f->st.gas > 0 ? f->st.gas : 0; }

/* Deliver an outcome to the caller of the top frame: write `value_cap` at the
 * top frame's path in the caller (or hand it to the embedder), set the
 * caller's slot[0] (keep_stash: leave it as it is), give back `left` gas. */
static jk_err jk_deliver(jk_kernel *k, jk_root *root, jk_kernel_outcome outcome, uint64_t value,
                         jk_cap value_cap, bool keep_stash, jk_cap slot0, int64_t left)
{
    jk_frame *top = &k->frames[k->depth - 1];
    if (k->depth == 1) {
        jk_kernel_result *res = root->res;
        res->outcome = outcome;
        res->value = value;
        res->gas_used = root->gas - left;
        /* a HALT's value the embedder drops (jk_halt builds it only where
         * it must, to refuse it as it would be refused) */
        res->instance = outcome == JK_KERNEL_HALT && root->no_instance ? jk_cap_null() : jk_cap_retain(value_cap);
        res->slot0 = jk_cap_retain(keep_stash ? root->sent_slot0 : slot0);
        return JK_OK;
    }
    jk_frame *caller = &k->frames[k->depth - 2];
    /* Both writes change the caller's cnode in place where the caller holds
     * it alone (jk_cap_cnode_update_path: a working copy held twice would
     * path-copy it at every return, issue 16). A failed write leaves the
     * cnode as it was; a failed second one takes the first back (the slot's
     * old value, held here), so the caller is left as it was either way. */
    jk_cap old = jk_cap_null();
    if (!keep_stash) {
        jk_cap cur = jk_cap_null();
        jk_kernel_path_get(caller, top->path, &cur);
        old = jk_cap_retain(cur);
    }
    jk_err err = jk_kernel_path_update(caller, top->path, value_cap);
    if (err == JK_OK && !keep_stash) {
        err = jk_kernel_slot_set(caller, 0, slot0);
        if (err != JK_OK) {
            jk_err undo = jk_kernel_path_update(caller, top->path, old);
            if (undo != JK_OK)
                err = undo;
        }
    }
    jk_cap_release(old);
    if (err != JK_OK)
        return err;
    caller->st.gas += left;
    caller->st.regs[7] = outcome;
    caller->st.regs[8] = value;
    return JK_OK;
}

static void jk_pop(jk_kernel *k)
{
    jk_kernel_frame_release(&k->frames[--k->depth]);
}

JK_COLD static jk_err jk_fault(jk_kernel *k, jk_root *root, jk_kernel_fault why, const char *msg);

/* Whether the root frame's HALT would build its new value without a refusal
 * (jk_halt: jk_cap_instance_with_cnode, then the kernel's nesting reserve),
 * decided without building it: the value is at most 1 + the deeper of its
 * image and the frame's cnode (slot[0] only leaves it), and its pins are
 * the image's where each pinned slot holds the very cap pinned. Anything
 * else (a pin equal but another object, a pinned slot 0): no, and the
 * value is built as always. */
static bool jk_halt_value_fits(const jk_frame *top)
{
    jk_cap image = jk_cap_instance_image(top->inst);
    unsigned a = jk_cap_depth(image), b = jk_kernel_cnode_depth_bound(top);
    if ((a > b ? a : b) + 1 > JK_KERNEL_MAX_HALT_DEPTH)
        return false;
    for (uint32_t i = 0, n = jk_cap_image_pin_count(image); i < n; i++) {
        const jk_cap_pin *pin = jk_cap_image_pin(image, i);
        if (pin->slot == 0 || !jk_cap_same(jk_kernel_slot(top, pin->slot), pin->cap))
            return false;
    }
    return true;
}

static jk_err jk_halt(jk_kernel *k, jk_root *root)
{
    jk_frame *top = &k->frames[k->depth - 1];
    jk_err err = jk_kernel_frame_mint(top);
    if (err != JK_OK)
        return err;
    if (k->depth == 1 && root->no_instance && jk_halt_value_fits(top)) {
        /* the embedder drops the value: only slot[0] goes out */
        jk_cap slot0 = jk_cap_retain(jk_kernel_slot(top, 0));
        err = jk_deliver(k, root, JK_KERNEL_HALT, top->st.regs[7], jk_cap_null(), false, slot0, jk_left(top));
        jk_cap_release(slot0);
        if (err == JK_OK)
            jk_pop(k);
        return err;
    }
    /* The value: the frame's cnode with slot[0] emptied, written into the
     * tree (a slot written back as the tree holds it costs nothing there:
     * an AA given slot[0] and halting with it taken out leaves its cnode
     * the very one its instance holds). */
    jk_cap slot0 = jk_cap_retain(jk_kernel_slot(top, 0)), cnode, inst;
    err = jk_kernel_slot_set(top, 0, jk_cap_null());
    if (err == JK_OK)
        err = jk_kernel_frame_flush(top);
    if (err == JK_OK) {
        cnode = jk_cap_retain(top->cnode);
        /* A frame that changed nothing halts to its instance as it was: the
         * same value, without building it again (the result is a value, so
         * which object carries it is unobservable). */
        if (jk_cap_same(cnode, jk_cap_instance_cnode(top->inst)) && jk_cap_instance_status(top->inst) == JK_CAP_IDLE)
            inst = jk_cap_retain(top->inst);
        else
            err = jk_cap_instance_with_cnode(top->inst, cnode, &inst, NULL);
        jk_cap_release(cnode);
    }
    if (err == JK_OK && jk_cap_depth(inst) > JK_KERNEL_MAX_HALT_DEPTH) {
        /* The kernel's reserve (docs/abi.md "Bounds"): an instance a HALT
         * leaves behind must stay pausable when it runs again — its pause
         * wraps it in one more level — or a state at the bound (a chain's,
         * inherited by every verify_proto) could never YIELD again. Refused
         * here, while the caller still holds the original. */
        char msg[96];
        snprintf(msg, sizeof msg, "HALT would leave an instance %u deep (at most %u: the kernel's reserve)",
                 jk_cap_depth(inst), JK_KERNEL_MAX_HALT_DEPTH);
        jk_cap_release(inst);
        jk_cap_release(slot0);
        return jk_fault(k, root, JK_FAULT_LIMIT, msg);
    }
    if (err == JK_OK) {
        err = jk_deliver(k, root, JK_KERNEL_HALT, top->st.regs[7], inst, false, slot0, jk_left(top));
        jk_cap_release(inst);
    }
    jk_cap_release(slot0);
    if (err == JK_OK)
        jk_pop(k);
    return err;
}

JK_COLD static jk_err jk_fault(jk_kernel *k, jk_root *root, jk_kernel_fault why, const char *msg)
{
    jk_frame *top = &k->frames[k->depth - 1];
    jk_cap faulted;
    jk_err err = jk_cap_instance_with_status(top->original, JK_CAP_FAULTED, &faulted);
    if (err != JK_OK)
        return err;
    if (k->depth == 1) {
        root->res->fault = why;
        snprintf(root->res->fault_msg, sizeof root->res->fault_msg, "%s", msg);
    }
    err = jk_deliver(k, root, JK_KERNEL_FAULT, why, faulted, true, jk_cap_null(), jk_left(top));
    jk_cap_release(faulted);
    if (err == JK_OK)
        jk_pop(k);
    return err;
}

/* Pause frames [from, depth) into one Paused value of frames[from]'s target. */
JK_COLD static jk_err jk_pause_frames(jk_kernel *k, uint32_t from, jk_cap *out)
{
    uint32_t n = k->depth - from;
    jk_cap_frame *cfs = calloc(n, sizeof *cfs);
    jk_err err = cfs ? JK_OK : JK_ERR_NOMEM;
    uint32_t made = 0;
    for (; err == JK_OK && made < n; made++) {
        /* Each frame's gas left is its budget on resume (jk_resume_budgets). */
        err = jk_kernel_frame_capture(&k->frames[from + made], jk_left(&k->frames[from + made]), &cfs[made]);
        if (err == JK_OK)
            cfs[made].spawned = k->instances_made;
        if (err != JK_OK)
            break;
    }
    if (err == JK_OK)
        err = jk_cap_instance_pause(k->frames[from].original, cfs, n, out, NULL);
    for (uint32_t i = 0; i < made && cfs; i++)
        jk_kernel_frame_capture_free(&cfs[i]);
    free(cfs);
    return err;
}

JK_COLD static jk_err jk_out_of_gas(jk_kernel *k, jk_root *root)
{
    jk_cap paused;
    jk_err err = jk_pause_frames(k, k->depth - 1, &paused);
    if (err == JK_ERR_INVALID_ARG)
        return jk_fault(k, root, JK_FAULT_LIMIT, "out of gas after SET_IMAGE: the frame cannot be paused");
    if (err != JK_OK)
        return err;
    /* What the frame could not spend (less than its next block) goes back. */
    err = jk_deliver(k, root, JK_KERNEL_OUT_OF_GAS, 0, paused, false, jk_cap_null(),
                     jk_left(&k->frames[k->depth - 1]));
    jk_cap_release(paused);
    if (err == JK_OK)
        jk_pop(k);
    return err;
}

/* Does frame f catch a yield to the marker hashed h? */
static bool jk_catches(const jk_frame *f, const jk_hash *h)
{
    uint32_t slot = jk_cap_image_yield_catcher_slot(jk_cap_instance_image(f->inst));
    if (!slot)
        return false;
    jk_cap list = jk_kernel_slot(f, slot);
    uint32_t i = 0;
    while (jk_cap_kind_of(list) == JK_CAP_CNODE && jk_cap_cnode_next(list, i, &i)) {
        jk_cap m = jk_cap_cnode_get(list, i);
        jk_hash mh;
        if (jk_cap_kind_of(m) == JK_CAP_INSTANCE) {
            jk_cap_hash(m, &mh);
            if (!memcmp(mh.bytes, h->bytes, JK_HASH_SIZE))
                return true;
        }
        i++;
    }
    return false;
}

/* Whether a yield caught at the root can be served in place: the pause it
 * stands for would succeed (jk_pause_frames) and so would the resume of that
 * continuation (jk_kernel_push_resume). When not, both run for real and fail as
 * they do. */
static bool jk_can_serve_in_place(jk_kernel *k)
{
    jk_cap orig = k->frames[0].original;
    unsigned a = jk_cap_depth(jk_cap_instance_image(orig)), b = jk_cap_depth(jk_cap_instance_cnode(orig));
    unsigned depth = a > b ? a : b;
    for (uint32_t i = 0; i < k->depth; i++) {
        if (!jk_kernel_frame_pausable(&k->frames[i], &depth))
            return false;
        jk_cap o;
        if (i > 0 && (!jk_kernel_path_get(&k->frames[i - 1], k->frames[i - 1].st.regs[7], &o) ||
                      jk_cap_kind_of(o) != JK_CAP_INSTANCE))
            return false; /* the resume faults: "continuation does not match" */
    }
    return depth + 1 <= JK_CAP_MAX_DEPTH;
}

/* The in-place resume (docs/abi.md "Serving a yield at the root"): what
 * jk_pause_frames + jk_kernel_resume(paused, gas left, answer) would make of
 * the stack, made of the running frames themselves. Each frame keeps the gas
 * it had left (jk_resume_budgets gives exactly that when the resumer passes
 * all of it on), its original and path are looked up as the resume looks
 * them up, its memory is parked (a page's next touch is charged as on a
 * rebuilt memory) and its mappings priced as the captured regions. */
static jk_err jk_resume_in_place_give(jk_kernel *k, jk_root *root, jk_cap answer)
{
    for (uint32_t i = 0; i < k->depth; i++) {
        jk_frame *f = &k->frames[i];
        f->st.gas = jk_left(f);
        if (i > 0) {
            jk_frame *caller = &k->frames[i - 1];
            jk_cap o;
            jk_kernel_path_get(caller, caller->st.regs[7], &o); /* checked: an Instance */
            o = jk_cap_retain(o);
            jk_cap_release(f->original);
            f->original = o;
            f->path = caller->st.regs[7];
        }
        jk_kernel_frame_resume_in_place(f);
    }
    /* From now on a FAULT of the root frame gives back what this "resume" sent. */
    jk_cap_release(root->held);
    root->held = answer;
    root->sent_slot0 = answer;
    if (jk_cap_is_null(answer))
        return JK_OK;
    return jk_kernel_give_slot0(&k->frames[k->depth - 1], answer);
}

#define JK_RESUME_SLOT0_MSG "slot[0] cannot be given to the resumed frame (nesting bound)"

static jk_err jk_resume_in_place(jk_kernel *k, jk_root *root, jk_cap answer)
{
    jk_err err = jk_resume_in_place_give(k, root, answer);
    if (err != JK_OK && err != JK_ERR_NOMEM)
        err = jk_fault(k, root, JK_FAULT_LIMIT, JK_RESUME_SLOT0_MSG);
    return err;
}

/* The rest of a YIELD once y's marker was found and the yielder's slot[0]
 * taken, when the embedder did not answer it in place: the frames above
 * the catcher paused into one continuation, delivered to the catcher (or
 * the embedder). Takes y's references. */
static jk_err jk_yield_rest(jk_kernel *k, jk_root *root, jk_yielding *y)
{
    jk_err err = y->err;
    jk_cap marker = y->marker, slot0 = y->slot0;
    uint32_t from = (uint32_t)(y->catcher + 1);
    y->marker = y->slot0 = jk_cap_null();
    int64_t left = 0;
    for (uint32_t i = from; i < k->depth; i++)
        left += jk_left(&k->frames[i]);
    jk_cap paused = jk_cap_null();
    if (err == JK_OK)
        err = jk_pause_frames(k, from, &paused);
    if (err == JK_ERR_INVALID_ARG) {
        jk_cap_release(marker);
        jk_cap_release(slot0);
        return jk_fault(k, root, JK_FAULT_LIMIT, "YIELD after SET_IMAGE: the frame cannot be paused");
    }
    if (err == JK_OK) {
        /* Deliver as if the frame just above the catcher ended. */
        while (k->depth > from + 1)
            jk_pop(k);
        err = jk_deliver(k, root, JK_KERNEL_YIELDED, 0, paused, false, slot0, left);
        if (err == JK_OK && k->depth == 1)
            root->res->marker = jk_cap_retain(marker);
        if (err == JK_OK)
            jk_pop(k);
    }
    jk_cap_release(paused);
    jk_cap_release(slot0);
    jk_cap_release(marker);
    return err;
}

static jk_err jk_yield(jk_kernel *k, jk_root *root)
{
    jk_frame *top = &k->frames[k->depth - 1];
    jk_cap marker;
    if (!jk_kernel_path_get(top, top->st.regs[7], &marker) || jk_cap_kind_of(marker) != JK_CAP_INSTANCE)
        return jk_fault(k, root, JK_FAULT_HOSTCALL, "YIELD: the marker slot holds no Instance");
    jk_hash h;
    jk_cap_hash(marker, &h);
    int catcher = -1;
    for (int f = (int)k->depth - 2; f >= 0 && catcher < 0; f--)
        if (jk_catches(&k->frames[f], &h))
            catcher = f;
    if (catcher < 0 && !jk_kernel_is_marker(k, &h))
        return jk_fault(k, root, JK_FAULT_NO_CATCHER, "YIELD to a marker no frame catches");
    /* The yielder's slot[0] goes to the catcher; the yielder keeps an empty one. */
    jk_yielding y = {jk_cap_retain(marker), jk_cap_retain(jk_kernel_slot(top, 0)), catcher, JK_OK};
    y.err = jk_kernel_give_slot0(top, jk_cap_null());
    if (y.err == JK_OK && catcher < 0 && root->serve && jk_can_serve_in_place(k)) {
        /* The embedder answers now; nothing it can see differs from the
         * YIELDED result and resume jk_serve_rest would go through. */
        bool resume = false;
        jk_cap answer = jk_cap_null();
        jk_err err = root->serve(root->serve_ctx, y.marker, y.slot0, &resume, &answer);
        if (err != JK_OK || resume) {
            jk_cap_release(y.marker);
            jk_cap_release(y.slot0);
        }
        if (err != JK_OK) {
            jk_cap_release(answer);
            root->serve_err = err;
            jk_kernel_unwind(k);
            return JK_OK;
        }
        if (resume) {
            k->served_in_place++;
            return jk_resume_in_place(k, root, answer);
        }
        jk_cap_release(answer);
        root->answered = true; /* stop: the YIELDED result as it would be */
    }
    return jk_yield_rest(k, root, &y);
}

/* A step of the loop failed with err while frames run. Whatever a guest can
 * reach — a value that would nest past JK_CAP_MAX_DEPTH at HALT or pause, a
 * bound of the cap layer, a setup that cannot be done — faults the top frame
 * (JK_FAULT_LIMIT): every step checks before it changes a frame, so the top
 * frame is still as it was and its caller holds its original. Only the host
 * running out of memory ends the call with an error. */
JK_COLD static jk_err jk_contain(jk_kernel *k, jk_root *root, jk_err err)
{
    if (err == JK_OK || err == JK_ERR_NOMEM || k->depth == 0)
        return err;
    char msg[96];
    snprintf(msg, sizeof msg, "kernel bound (depth %u): %s", k->depth - 1, jk_strerror(err));
    jk_err again = jk_fault(k, root, JK_FAULT_LIMIT, msg);
    return again == JK_OK ? JK_OK : err;
}

/* Host calls that never change the stack, the frame's program or its
 * memory object (whatever else they do: slot writes, guest bytes, pages):
 * after one, the loop would run the same frame again at once. */
static bool jk_local_hostcall(uint64_t n)
{
    switch (n) {
    case JK_HOST_GAS:
    case JK_HOST_COPY:
    case JK_HOST_MOVE:
    case JK_HOST_DROP:
    case JK_HOST_SWAP:
    case JK_HOST_SAME_TYPE:
    case JK_HOST_SAME_TYPE_AS:
    case JK_HOST_DATA_LEN:
    case JK_HOST_DATA_READ:
    case JK_HOST_DATA_MINT:
    case JK_HOST_CNODE_MINT:
    case JK_HOST_CAP_KIND:
    case JK_HOST_DEBUG_WRITE_NUM:
    case JK_HOST_DERIVE_SPAWN: /* a slot write and an instance (session 15) */
        return true;
    default:
        return false;
    }
}

/* The host call at an `ecalli` of compiled code (jk_pvm_host_fn, pvm.h):
 * what one turn of jk_kernel_loop does after a host-call exit — the run's
 * page touches paid, the price checked and paid, the call — and, when that
 * ends in "continue", what the next turn does before it runs the frame
 * again (run_gas, run_cost, starved): hostcall.c, jk_kernel_hostcall_paid
 * and, for the hot reads, jk_kernel_hostcall_serve_read (a tail call: the
 * round trip's own instructions are the code's stores and reloads and the
 * few tests here). Anything else the loop does itself: a call that is not
 * local or cannot be paid is left to it untouched (JK_PVM_HOST_EXIT), and
 * the outcome of a call that faulted, failed or yields is handed to it
 * (JK_PVM_HOST_DONE, k->hc_done). Gas, registers, memory and cnode end as
 * the exit and re-entry would leave them
 * (test_kernel_hostcall_in_code_equals_the_loop). */
/* The gas host call n of top leaves at the `ecalli`, the run's page touches
 * and its price paid; -1 when it cannot be paid (out of gas there: the
 * loop's path). */
static int64_t jk_gas_after_price(jk_kernel *k, const jk_frame *top, uint64_t n)
{
    int64_t gas = top->st.gas - top->run_cost;
    if (gas < 0)
        gas = 0;
    int64_t price = JK_KERNEL_HOSTCALL_GAS + jk_kernel_hostcall_price(k, n);
    return gas < price ? -1 : gas - price;
}

static __attribute__((noinline)) jk_pvm_host_answer jk_serve_local(jk_kernel *k, jk_frame *top, uint64_t n)
{
    int64_t gas = jk_local_hostcall(n) ? jk_gas_after_price(k, top, n) : -1;
    if (gas < 0)
        return JK_PVM_HOST_EXIT;
    return jk_kernel_hostcall_paid(k, top, n, gas);
}

/* A YIELD at an `ecalli` of compiled code (session 15): what the loop's
 * exit, jk_yield and re-entry do for a yield to this kernel's marker that
 * no frame catches and the embedder answers in place — the AA's attest,
 * once or twice an event — so that the AA runs on in its code (one exit
 * and entry fewer, ~400 instructions). Decided, before anything changes,
 * as jk_yield decides it: any other yield is paid and handed to the loop,
 * which runs jk_yield whole. After the yielder's slot[0] is taken, the
 * outcomes that change the stack are left to the loop (k->hc): the pause
 * when the embedder says stop or the stack cannot be served in place
 * (JK_HC_YIELD_REST), the unwind when its serve fails (JK_HC_UNWIND), a
 * resumed frame that cannot take the answer (JK_HC_FAULT, with
 * jk_resume_in_place's words). A resume in place parks the frames'
 * memories, this one's too: the code's TLBs go with the page-table
 * generation (jit_host.c), as they would at an entry. */
static __attribute__((noinline)) jk_pvm_host_answer jk_serve_yield(jk_kernel *k, jk_frame *top)
{
    jk_root *root = k->root;
    int64_t gas = jk_gas_after_price(k, top, JK_HOST_YIELD);
    if (gas < 0)
        return JK_PVM_HOST_EXIT; /* out of gas at the ecalli: the loop's path */
    jk_cap marker;
    if (!root || !root->serve || !jk_kernel_path_get(top, top->st.regs[7], &marker) ||
        jk_cap_kind_of(marker) != JK_CAP_INSTANCE)
        return jk_kernel_hostcall_paid(k, top, JK_HOST_YIELD, gas);
    jk_hash h;
    jk_cap_hash(marker, &h);
    for (int f = (int)k->depth - 2; f >= 0; f--)
        if (jk_catches(&k->frames[f], &h))
            return jk_kernel_hostcall_paid(k, top, JK_HOST_YIELD, gas);
    if (!jk_kernel_is_marker(k, &h))
        return jk_kernel_hostcall_paid(k, top, JK_HOST_YIELD, gas);
    top->st.gas = gas; /* paid, as jk_kernel_hostcall_paid pays */
    top->run_cost = 0;
    k->hostcalls_in_code++;
    k->hc_done = true;
    k->hc_err = JK_OK;
    jk_yielding *y = &k->yielding;
    *y = (jk_yielding){jk_cap_retain(marker), jk_cap_retain(jk_kernel_slot(top, 0)), -1, JK_OK};
    y->err = jk_kernel_give_slot0(top, jk_cap_null());
    if (y->err != JK_OK || !jk_can_serve_in_place(k)) {
        k->hc.action = JK_HC_YIELD_REST;
        return JK_PVM_HOST_DONE;
    }
    bool resume = false;
    jk_cap answer = jk_cap_null();
    jk_err err = root->serve(root->serve_ctx, y->marker, y->slot0, &resume, &answer);
    if (err == JK_OK && !resume) {
        jk_cap_release(answer);
        root->answered = true; /* stop: the YIELDED result as it would be */
        k->hc.action = JK_HC_YIELD_REST;
        return JK_PVM_HOST_DONE;
    }
    jk_cap_release(y->marker);
    jk_cap_release(y->slot0);
    y->marker = y->slot0 = jk_cap_null();
    if (err != JK_OK) {
        jk_cap_release(answer);
        root->serve_err = err;
        k->hc.action = JK_HC_UNWIND;
        return JK_PVM_HOST_DONE;
    }
    k->served_in_place++;
    err = jk_resume_in_place_give(k, root, answer);
    if (err == JK_ERR_NOMEM) {
        k->hc_err = err;
        return JK_PVM_HOST_DONE;
    }
    if (err != JK_OK) {
        k->hc.action = JK_HC_FAULT;
        k->hc.fault = JK_FAULT_LIMIT;
        snprintf(k->hc.msg, sizeof k->hc.msg, "%s", JK_RESUME_SLOT0_MSG);
        return JK_PVM_HOST_DONE;
    }
    k->hc_done = false;
    top->run_gas = top->st.gas; /* the next turn's start, as jk_served */
    top->starved = false;
    return JK_PVM_HOST_SERVED;
}

static jk_pvm_host_answer jk_serve_in_code(void *ctx, jk_pvm_state *st, uint64_t n)
{
    jk_kernel *k = ctx;
    jk_frame *top = &k->frames[k->depth - 1];
    if (st != &top->st)
        return JK_PVM_HOST_EXIT;
    /* tail calls, no frame of its own here (jk_serve_local is apart so
     * that its registers are not saved on the short ways) */
    switch (n) {
    case JK_HOST_DATA_LEN:
    case JK_HOST_DATA_READ:
    case JK_HOST_CAP_KIND:
        return jk_kernel_hostcall_serve_read(k, top, n);
    case JK_HOST_DROP:
    case JK_HOST_MOVE:
        return jk_kernel_hostcall_serve_move(k, top, n);
    case JK_HOST_DATA_MINT:
    case JK_HOST_CNODE_MINT:
        return jk_kernel_hostcall_serve_mint(k, top, n);
    case JK_HOST_GAS:
        return jk_kernel_hostcall_serve_gas(k, top);
    case JK_HOST_YIELD:
        return jk_serve_yield(k, top);
    default:
        return jk_serve_local(k, top, n);
    }
}

/* A PANIC or a PAGE_FAULT exit of the top frame, faulted with its words. */
JK_COLD static jk_err jk_fault_at(jk_kernel *k, jk_root *root, const jk_pvm_exit *ex)
{
    const jk_frame *top = &k->frames[k->depth - 1];
    char msg[96];
    if (ex->status == JK_PVM_PANIC) {
        snprintf(msg, sizeof msg, "panic at pc %u (depth %u)", top->st.pc, k->depth - 1);
        return jk_fault(k, root, JK_FAULT_PANIC, msg);
    }
    snprintf(msg, sizeof msg, "page fault at 0x%x, pc %u (depth %u)", ex->fault_address, top->st.pc, k->depth - 1);
    return jk_fault(k, root, JK_FAULT_PAGE, msg);
}

/* Run until the stack is empty. Returns an error only when the kernel itself
 * cannot go on (out of memory); every guest outcome lands in root->res. */
jk_err jk_kernel_loop(jk_kernel *k, jk_root *root, jk_hc_result *pending)
{
    jk_err err = JK_OK;
    k->root = root; /* for a YIELD served in the code (jk_serve_yield) */
    if (pending->action == JK_HC_FAULT)
        err = jk_contain(k, root, jk_fault(k, root, pending->fault, pending->msg));
    while (err == JK_OK && k->depth > 0) {
        jk_frame *top = &k->frames[k->depth - 1];
        jk_pvm_exit ex;
        top->run_gas = top->st.gas;
        top->run_cost = 0;
        top->starved = false;
        k->hc_done = false;
        jk_pvm_memory_set_host_args(top->mem, jk_serve_in_code, k); /* φ7..φ12 and gas */
        k->runs++;
        err = jk_pvm_run_engine(top->prog, top->mem, &top->st, &ex, k->engine);
        /* Pages the run touched are paid now (the interpreter keeps its gas
         * to itself while it runs; the resolver refused any page the gas the
         * run started with could not pay for). */
        top->st.gas -= top->run_cost;
        if (top->st.gas < 0)
            top->st.gas = 0;
        if (err == JK_OK && ex.status == JK_PVM_PAGE_FAULT && top->starved) {
            /* Out of gas at the access: the faulting instruction had no
             * effect and its block is paid, so a resume runs it. */
            top->st.block_paid = true;
            err = jk_out_of_gas(k, root);
            err = jk_contain(k, root, err);
            continue;
        }
        if (err == JK_ERR_PVM_BAD_PC) {
            err = jk_fault(k, root, JK_FAULT_PANIC, "resume pc is not an instruction");
            continue;
        }
        if (err != JK_OK)
            break;
        switch (ex.status) {
        case JK_PVM_HALT:
            err = jk_halt(k, root);
            break;
        case JK_PVM_PANIC:
        case JK_PVM_PAGE_FAULT:
            err = jk_fault_at(k, root, &ex);
            break;
        case JK_PVM_OUT_OF_GAS:
            err = jk_out_of_gas(k, root);
            break;
        case JK_PVM_HOST_CALL: {
            /* Not zeroed (two text buffers, ~330 bytes, on every host call):
             * jk_kernel_hostcall sets `action` first, and every path that makes it
             * JK_HC_FAULT writes `fault`, `msg` and, for JK_FAULT_GUEST,
             * `reason` and all of `reason_text`. */
            jk_hc_result *hc = &k->hc;
            if (k->hc_done) {
                /* Paid and done in compiled code (jk_serve_in_code): only
                 * its outcome is left. */
                err = k->hc_err;
            } else {
                int64_t price = JK_KERNEL_HOSTCALL_GAS + jk_kernel_hostcall_price(k, ex.host_call);
                if (top->st.gas < price) {
                    /* Cannot pay for the host call: out of gas at the ecalli, so
                     * that a resume runs it (its block is already paid). */
                    top->st.pc = ex.host_call_pc;
                    top->st.block_paid = true;
                    err = jk_out_of_gas(k, root);
                    break;
                }
                top->st.gas -= price;
                top->in_host = true; /* pages a host call touches are in its price */
                err = jk_kernel_hostcall(k, ex.host_call, hc);
                /* Only `top` was set: frames a CALL pushes start zeroed, and a
                 * host call pops none (k->frames is a fixed array: top stays valid). */
                top->in_host = false;
            }
            if (err != JK_OK)
                break;
            if (hc->action == JK_HC_FAULT && hc->fault == JK_FAULT_GUEST && k->depth == 1) {
                root->res->reason = hc->reason;
                memcpy(root->res->reason_text, hc->reason_text, sizeof hc->reason_text);
            }
            if (hc->action == JK_HC_FAULT)
                err = jk_fault(k, root, hc->fault, hc->msg);
            else if (hc->action == JK_HC_YIELD)
                err = jk_yield(k, root);
            else if (hc->action == JK_HC_YIELD_REST)
                err = jk_yield_rest(k, root, &k->yielding);
            else if (hc->action == JK_HC_UNWIND)
                jk_kernel_unwind(k);
            break;
        }
        }
        if (err != JK_OK)
            err = jk_contain(k, root, err);
    }
    if (err != JK_OK)
        jk_kernel_unwind(k);
    return err;
}
