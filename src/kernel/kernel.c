/*
 * kernel.c — the call loop: frames pushed by CALL / CALL_RESUME, popped by
 * HALT, FAULT, OUT_OF_GAS and caught yields; the embedder's entry points.
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

jk_err jk_kernel_new(const jk_kernel_config *cfg, jk_kernel **out)
{
    jk_kernel *k = calloc(1, sizeof *k);
    if (!k)
        return JK_ERR_NOMEM;
    k->debug = cfg ? cfg->debug : NULL;
    k->engine = cfg ? cfg->engine : JK_PVM_ENGINE_AUTO;
    /* Markers are instances of a one-instruction (trap) image. */
    static const uint8_t trap_blob[] = {0, 0, 1, 0, 1};
    static const jk_cap_endpoint ep = {0, {0}};
    jk_cap_image_spec spec = {.code = trap_blob, .code_len = sizeof trap_blob, .endpoints = &ep,
                              .endpoint_count = 1};
    jk_err err = jk_pvm_mem_pool_new(&k->mem_pool);
    if (err == JK_OK)
        err = jk_cap_image_new(&spec, &k->marker_image, NULL);
    if (err != JK_OK) {
        jk_pvm_mem_pool_free(k->mem_pool);
        free(k);
        return err;
    }
    *out = k;
    return JK_OK;
}

static void jk_unwind(jk_kernel *k)
{
    while (k->depth > 0)
        jk_frame_release(&k->frames[--k->depth]);
}

void jk_kernel_set_debug(jk_kernel *k, FILE *debug)
{
    k->debug = debug;
}

void jk_kernel_free(jk_kernel *k)
{
    if (!k)
        return;
    jk_unwind(k);
    for (uint32_t i = 0; i < JK_KERNEL_MAX_DEPTH; i++)
        free(k->spare_maps[i].maps);
    jk_cap_release(k->marker_image);
    jk_pvm_mem_pool_free(k->mem_pool); /* after the frames' memories */
    free(k->markers);
    free(k);
}

jk_err jk_kernel_mint_marker(jk_kernel *k, uint64_t tag, jk_cap *out)
{
    /* image_hash = H("jark/marker" ‖ tag): no program can make an instance
     * with that lineage (every lineage a program can reach starts from a
     * kernel_id genesis), so a marker cannot be forged. */
    uint8_t seed[11 + 8];
    memcpy(seed, "jark/marker", 11);
    for (int i = 0; i < 8; i++)
        seed[11 + i] = (uint8_t)(tag >> (8 * i));
    jk_hash lineage, h;
    jk_crypto_blake2b256(seed, sizeof seed, &lineage);
    jk_cap cnode;
    jk_err err = jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &cnode);
    if (err != JK_OK)
        return err;
    err = jk_cap_instance_make(k->marker_image, &lineage, cnode, JK_CAP_IDLE, NULL, 0, out, NULL);
    jk_cap_release(cnode);
    if (err != JK_OK)
        return err;
    jk_cap_hash(*out, &h);
    jk_hash *grown = realloc(k->markers, (k->marker_count + 1) * sizeof *grown);
    if (!grown) {
        jk_cap_release(*out);
        *out = jk_cap_null();
        return JK_ERR_NOMEM;
    }
    k->markers = grown;
    k->markers[k->marker_count++] = h;
    return JK_OK;
}

bool jk_kernel_is_marker(const jk_kernel *k, const jk_hash *h)
{
    for (size_t i = 0; i < k->marker_count; i++)
        if (!memcmp(k->markers[i].bytes, h->bytes, JK_HASH_SIZE))
            return true;
    return false;
}

void jk_kernel_result_clear(jk_kernel_result *res)
{
    jk_cap_release(res->instance);
    jk_cap_release(res->slot0);
    jk_cap_release(res->marker);
    memset(res, 0, sizeof *res);
}

jk_err jk_kernel_drop_paused(jk_cap paused, jk_cap *out)
{
    if (jk_cap_kind_of(paused) != JK_CAP_INSTANCE || jk_cap_instance_status(paused) != JK_CAP_PAUSED)
        return JK_ERR_INVALID_ARG;
    return jk_cap_instance_with_status(paused, JK_CAP_IDLE, out);
}

/* ---- pushing frames ---- */

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
    return JK_OK;
}

/* Put slot0 into f's slot 0 (replacing what is there). */
static jk_err jk_give_slot0(jk_frame *f, jk_cap slot0)
{
    if (jk_cap_same(slot0, jk_cap_cnode_get(f->cnode, 0)))
        return JK_OK; /* nothing changes (typically: both empty) */
    return jk_cap_cnode_update(&f->cnode, 0, slot0);
}

jk_err jk_push_call(jk_kernel *k, jk_cap target, uint64_t path, uint32_t endpoint, int64_t gas,
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
    jk_frame *f = &k->frames[k->depth];
    memset(f, 0, sizeof *f);
    jk_frame_init(f, k, target, target, path);
    k->depth++;
    f->endpoint = endpoint;
    f->st.pc = ep->pc;
    memcpy(f->st.regs, ep->regs, sizeof f->st.regs);
    for (int i = 0; i < 3; i++)
        f->st.regs[7 + i] = args ? args[i] : 0;
    f->st.gas = gas;
    jk_err err = jk_give_slot0(f, slot0);
    if (err == JK_ERR_NOMEM)
        return err; /* the loop unwinds */
    if (err != JK_OK) { /* slot[0] would nest too deep in the callee: it faults */
        jk_setup_fail(why, JK_FAULT_LIMIT, "slot[0] cannot be given to the callee (nesting bound)");
        return JK_OK;
    }
    char msg[sizeof why->msg];
    err = jk_frame_memory(f, NULL, 0, msg, sizeof msg);
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

jk_err jk_push_resume(jk_kernel *k, jk_cap paused, uint64_t path, int64_t gas, jk_cap slot0,
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
        jk_frame *f = &k->frames[k->depth];
        memset(f, 0, sizeof *f);
        jk_cap original = base;
        uint64_t fpath = path;
        if (j > 0) { /* the caller frame still holds it at the path of its CALL (φ7) */
            const jk_cap_frame *caller = jk_cap_instance_frame(paused, j - 1);
            fpath = caller->regs[7];
            if (!jk_path_get(k->frames[k->depth - 1].cnode, fpath, &original) ||
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
        err = jk_frame_memory(f, cf->regions, cf->region_count, msg, sizeof msg);
        if (err == JK_ERR_INVALID_ARG)
            bad = msg;
        else if (err != JK_OK)
            break;
    }
    jk_cap_release(base);
    if (err == JK_OK || bad) {
        jk_resume_budgets(k, paused, first, k->depth - first, gas);
        if (!bad && !jk_cap_is_null(slot0) && (err = jk_give_slot0(&k->frames[k->depth - 1], slot0)) != JK_OK &&
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
            jk_frame_release(&k->frames[--k->depth]);
        return err;
    }
    why->action = JK_HC_PUSH;
    return JK_OK;
}

/* ---- popping frames ---- */

typedef struct jk_root {
    int64_t gas;             /* given by the embedder */
    jk_cap sent_slot0;       /* borrowed from the embedder's call (or held) */
    jk_kernel_result *res;
    /* jk_kernel_call_served: answers yields to this kernel's markers */
    jk_kernel_serve_fn serve;
    void *serve_ctx;
    bool answered;           /* serve said stop to the yield being delivered */
    jk_err serve_err;        /* serve failed: the call ends with this */
    jk_cap held;             /* owned: an in-place resume's slot0, which is
                                then what "the embedder sent" (sent_slot0) */
} jk_root;

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
        res->instance = jk_cap_retain(value_cap);
        res->slot0 = jk_cap_retain(keep_stash ? root->sent_slot0 : slot0);
        return JK_OK;
    }
    jk_frame *caller = &k->frames[k->depth - 2];
    /* Both writes go to a working copy first: a failed second one must leave
     * the caller as it was. */
    jk_cap cnode = jk_cap_retain(caller->cnode);
    jk_err err = jk_path_update(&cnode, top->path, value_cap);
    if (err == JK_OK && !keep_stash)
        err = jk_cap_cnode_update(&cnode, 0, slot0);
    if (err != JK_OK) {
        jk_cap_release(cnode);
        return err;
    }
    jk_cap_release(caller->cnode);
    caller->cnode = cnode;
    caller->st.gas += left;
    caller->st.regs[7] = outcome;
    caller->st.regs[8] = value;
    return JK_OK;
}

static void jk_pop(jk_kernel *k)
{
    jk_frame_release(&k->frames[--k->depth]);
}

static jk_err jk_halt(jk_kernel *k, jk_root *root)
{
    jk_frame *top = &k->frames[k->depth - 1];
    jk_err err = jk_frame_mint(top);
    if (err != JK_OK)
        return err;
    jk_cap slot0 = jk_cap_retain(jk_cap_cnode_get(top->cnode, 0)), cnode, inst;
    if (jk_cap_is_null(slot0))
        cnode = jk_cap_retain(top->cnode);
    else
        err = jk_cap_cnode_set(top->cnode, 0, jk_cap_null(), &cnode);
    if (err == JK_OK) {
        /* A frame that changed nothing halts to its instance as it was: the
         * same value, without building it again (the result is a value, so
         * which object carries it is unobservable). */
        if (jk_cap_same(cnode, jk_cap_instance_cnode(top->inst)) && jk_cap_instance_status(top->inst) == JK_CAP_IDLE)
            inst = jk_cap_retain(top->inst);
        else
            err = jk_cap_instance_with_cnode(top->inst, cnode, &inst, NULL);
        jk_cap_release(cnode);
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

static jk_err jk_fault(jk_kernel *k, jk_root *root, jk_kernel_fault why, const char *msg)
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
static jk_err jk_pause_frames(jk_kernel *k, uint32_t from, jk_cap *out)
{
    uint32_t n = k->depth - from;
    jk_cap_frame *cfs = calloc(n, sizeof *cfs);
    jk_err err = cfs ? JK_OK : JK_ERR_NOMEM;
    uint32_t made = 0;
    for (; err == JK_OK && made < n; made++) {
        /* Each frame's gas left is its budget on resume (jk_resume_budgets). */
        err = jk_frame_capture(&k->frames[from + made], jk_left(&k->frames[from + made]), &cfs[made]);
        if (err == JK_OK)
            cfs[made].spawned = k->instances_made;
        if (err != JK_OK)
            break;
    }
    if (err == JK_OK)
        err = jk_cap_instance_pause(k->frames[from].original, cfs, n, out, NULL);
    for (uint32_t i = 0; i < made && cfs; i++)
        jk_frame_capture_free(&cfs[i]);
    free(cfs);
    return err;
}

static jk_err jk_out_of_gas(jk_kernel *k, jk_root *root)
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
    jk_cap list = jk_cap_cnode_get(f->cnode, slot);
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
 * continuation (jk_push_resume). When not, both run for real and fail as
 * they do. */
static bool jk_can_serve_in_place(jk_kernel *k)
{
    jk_cap orig = k->frames[0].original;
    unsigned a = jk_cap_depth(jk_cap_instance_image(orig)), b = jk_cap_depth(jk_cap_instance_cnode(orig));
    unsigned depth = a > b ? a : b;
    for (uint32_t i = 0; i < k->depth; i++) {
        if (!jk_frame_pausable(&k->frames[i], &depth))
            return false;
        jk_cap o;
        if (i > 0 && (!jk_path_get(k->frames[i - 1].cnode, k->frames[i - 1].st.regs[7], &o) ||
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
static jk_err jk_resume_in_place(jk_kernel *k, jk_root *root, jk_cap answer)
{
    for (uint32_t i = 0; i < k->depth; i++) {
        jk_frame *f = &k->frames[i];
        f->st.gas = jk_left(f);
        if (i > 0) {
            jk_frame *caller = &k->frames[i - 1];
            jk_cap o;
            jk_path_get(caller->cnode, caller->st.regs[7], &o); /* checked: an Instance */
            o = jk_cap_retain(o);
            jk_cap_release(f->original);
            f->original = o;
            f->path = caller->st.regs[7];
        }
        jk_frame_resume_in_place(f);
    }
    /* From now on a FAULT of the root frame gives back what this "resume" sent. */
    jk_cap_release(root->held);
    root->held = answer;
    root->sent_slot0 = answer;
    if (jk_cap_is_null(answer))
        return JK_OK;
    jk_err err = jk_give_slot0(&k->frames[k->depth - 1], answer);
    if (err != JK_OK && err != JK_ERR_NOMEM)
        err = jk_fault(k, root, JK_FAULT_LIMIT, "slot[0] cannot be given to the resumed frame (nesting bound)");
    return err;
}

static jk_err jk_yield(jk_kernel *k, jk_root *root)
{
    jk_frame *top = &k->frames[k->depth - 1];
    jk_cap marker;
    if (!jk_path_get(top->cnode, top->st.regs[7], &marker) || jk_cap_kind_of(marker) != JK_CAP_INSTANCE)
        return jk_fault(k, root, JK_FAULT_HOSTCALL, "YIELD: the marker slot holds no Instance");
    jk_hash h;
    jk_cap_hash(marker, &h);
    int catcher = -1;
    for (int f = (int)k->depth - 2; f >= 0 && catcher < 0; f--)
        if (jk_catches(&k->frames[f], &h))
            catcher = f;
    if (catcher < 0 && !jk_kernel_is_marker(k, &h))
        return jk_fault(k, root, JK_FAULT_NO_CATCHER, "YIELD to a marker no frame catches");
    marker = jk_cap_retain(marker);
    /* The yielder's slot[0] goes to the catcher; the yielder keeps an empty one. */
    jk_cap slot0 = jk_cap_retain(jk_cap_cnode_get(top->cnode, 0));
    jk_err err = jk_give_slot0(top, jk_cap_null());
    if (err == JK_OK && catcher < 0 && root->serve && jk_can_serve_in_place(k)) {
        /* The embedder answers now; nothing it can see differs from the
         * YIELDED result and resume jk_serve_rest would go through. */
        bool resume = false;
        jk_cap answer = jk_cap_null();
        err = root->serve(root->serve_ctx, marker, slot0, &resume, &answer);
        if (err != JK_OK || resume) {
            jk_cap_release(marker);
            jk_cap_release(slot0);
        }
        if (err != JK_OK) {
            jk_cap_release(answer);
            root->serve_err = err;
            jk_unwind(k);
            return JK_OK;
        }
        if (resume) {
            k->served_in_place++;
            return jk_resume_in_place(k, root, answer);
        }
        jk_cap_release(answer);
        root->answered = true; /* stop: the YIELDED result as it would be */
    }
    uint32_t from = (uint32_t)(catcher + 1);
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

/* A step of the loop failed with err while frames run. Whatever a guest can
 * reach — a value that would nest past JK_CAP_MAX_DEPTH at HALT or pause, a
 * bound of the cap layer, a setup that cannot be done — faults the top frame
 * (JK_FAULT_LIMIT): every step checks before it changes a frame, so the top
 * frame is still as it was and its caller holds its original. Only the host
 * running out of memory ends the call with an error. */
static jk_err jk_contain(jk_kernel *k, jk_root *root, jk_err err)
{
    if (err == JK_OK || err == JK_ERR_NOMEM || k->depth == 0)
        return err;
    char msg[96];
    snprintf(msg, sizeof msg, "kernel bound (depth %u): %s", k->depth - 1, jk_strerror(err));
    jk_err again = jk_fault(k, root, JK_FAULT_LIMIT, msg);
    return again == JK_OK ? JK_OK : err;
}

/* Run until the stack is empty. Returns an error only when the kernel itself
 * cannot go on (out of memory); every guest outcome lands in root->res. */
static jk_err jk_loop(jk_kernel *k, jk_root *root, jk_hc_result *pending)
{
    jk_err err = JK_OK;
    if (pending->action == JK_HC_FAULT)
        err = jk_contain(k, root, jk_fault(k, root, pending->fault, pending->msg));
    while (err == JK_OK && k->depth > 0) {
        jk_frame *top = &k->frames[k->depth - 1];
        jk_pvm_exit ex;
        top->run_gas = top->st.gas;
        top->run_cost = 0;
        top->starved = false;
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
        char msg[96];
        switch (ex.status) {
        case JK_PVM_HALT:
            err = jk_halt(k, root);
            break;
        case JK_PVM_PANIC:
            snprintf(msg, sizeof msg, "panic at pc %u (depth %u)", top->st.pc, k->depth - 1);
            err = jk_fault(k, root, JK_FAULT_PANIC, msg);
            break;
        case JK_PVM_PAGE_FAULT:
            snprintf(msg, sizeof msg, "page fault at 0x%x, pc %u (depth %u)", ex.fault_address, top->st.pc,
                     k->depth - 1);
            err = jk_fault(k, root, JK_FAULT_PAGE, msg);
            break;
        case JK_PVM_OUT_OF_GAS:
            err = jk_out_of_gas(k, root);
            break;
        case JK_PVM_HOST_CALL: {
            jk_hc_result hc;
            memset(&hc, 0, sizeof hc);
            int64_t price = JK_KERNEL_HOSTCALL_GAS + jk_hostcall_price(k, ex.host_call);
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
            err = jk_hostcall(k, ex.host_call, &hc);
            for (uint32_t i = 0; i < k->depth; i++)
                k->frames[i].in_host = false;
            if (err != JK_OK)
                break;
            if (hc.action == JK_HC_FAULT && hc.fault == JK_FAULT_GUEST && k->depth == 1) {
                root->res->reason = hc.reason;
                memcpy(root->res->reason_text, hc.reason_text, sizeof hc.reason_text);
            }
            if (hc.action == JK_HC_FAULT)
                err = jk_fault(k, root, hc.fault, hc.msg);
            else if (hc.action == JK_HC_YIELD)
                err = jk_yield(k, root);
            break;
        }
        }
        err = jk_contain(k, root, err);
    }
    if (err != JK_OK)
        jk_unwind(k);
    return err;
}

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
    jk_hc_result setup;
    memset(&setup, 0, sizeof setup);
    jk_start(k, root, root->res);
    if (root->gas < 0 || jk_cap_kind_of(target) != JK_CAP_INSTANCE ||
        jk_cap_instance_status(target) != JK_CAP_IDLE ||
        endpoint >= jk_cap_image_endpoint_count(jk_cap_instance_image(target)))
        return JK_ERR_INVALID_ARG;
    jk_err err = jk_push_call(k, target, 0, endpoint, root->gas, args, root->sent_slot0, &setup);
    if (err != JK_OK) {
        jk_unwind(k);
        return err;
    }
    return jk_loop(k, root, &setup);
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
        jk_root again = {gas - used, answer, res, root->serve, root->serve_ctx, false, JK_OK, jk_cap_null()};
        jk_hc_result setup;
        memset(&setup, 0, sizeof setup);
        jk_start(k, &again, res);
        jk_resume_count(k, paused);
        err = jk_push_resume(k, paused, 0, gas - used, answer, &setup);
        if (err != JK_OK)
            jk_unwind(k);
        else
            err = jk_loop(k, &again, &setup);
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
    if (!serve)
        return jk_kernel_call(k, target, endpoint, gas, args, slot0, res);
    jk_root root = {gas, slot0, res, serve, ctx, false, JK_OK, jk_cap_null()};
    jk_err err = jk_serve_rest(k, &root, gas, jk_call_root(k, &root, target, endpoint, args));
    jk_cap_release(root.held); /* res holds its own references to what it gives back */
    return err;
}

uint64_t jk_kernel_page_scans(const jk_kernel *k) { return k->page_scans; }

uint64_t jk_kernel_served_in_place(const jk_kernel *k)
{
    return k->served_in_place;
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
    jk_err err = jk_push_resume(k, paused, 0, gas, slot0, &setup);
    if (err != JK_OK) {
        jk_unwind(k);
        return err == JK_ERR_NOMEM ? err : JK_ERR_INVALID_ARG;
    }
    return jk_loop(k, &root, &setup);
}
