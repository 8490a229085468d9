/*
 * hostcall.c — every host call of the kernel ABI (docs/abi.md), and slot
 * paths. Each call is decoded and checked completely (paths, kinds, pinned
 * slots, ranges, bounds) before anything changes, as seL4 does: a check that
 * fails faults the calling frame and leaves its state as it was.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define JK_MAX_DEBUG (1u << 20) /* DEBUG_WRITE: bytes per call */

/* ---- helpers ---- */

typedef struct jk_hc {
    jk_kernel *k;
    jk_frame *f;
    jk_hc_result *out;
} jk_hc;

JK_COLD static jk_err jk_refuse(jk_hc *c, const char *fmt, uint64_t a)
{
    c->out->action = JK_HC_FAULT;
    c->out->fault = JK_FAULT_HOSTCALL;
    snprintf(c->out->msg, sizeof c->out->msg, fmt, (unsigned long long)a);
    return JK_OK;
}

static uint64_t *jk_reg(jk_hc *c, int i) { return &c->f->st.regs[i]; }

/* The slot at path, which must exist. */
static bool jk_get(jk_hc *c, uint64_t path, jk_cap *out) { return jk_kernel_path_get(c->f, path, out); }

/* Whether path names a root slot the frame's image pins. */
static bool jk_pinned(jk_hc *c, uint64_t path)
{
    unsigned d;
    uint32_t idx[JK_KERNEL_MAX_PATH_DEPTH];
    if (!jk_path_decode(path, &d, idx) || d != 1)
        return false;
    return jk_kernel_slot_pinned(c->f, idx[0]);
}

/* Write value at path in the frame's cnode. */
static jk_err jk_put(jk_hc *c, uint64_t path, jk_cap value)
{
    jk_err err = jk_kernel_path_update(c->f, path, value);
    if (err == JK_ERR_INVALID_ARG || err == JK_ERR_CAP_TOO_DEEP)
        return jk_refuse(c, "slot path 0x%llx cannot hold the cap (bad path or nesting bound)", path);
    if (err != JK_OK)
        return err;
    unsigned d;
    uint32_t idx[JK_KERNEL_MAX_PATH_DEPTH];
    if (jk_path_decode(path, &d, idx) && d == 1)
        jk_kernel_frame_slot_written(c->f, idx[0]);
    return JK_OK;
}

/* A destination: an existing, empty, unpinned slot. */
static bool jk_dest_ok(jk_hc *c, uint64_t path)
{
    jk_cap cur;
    return jk_get(c, path, &cur) && jk_cap_is_null(cur) && !jk_pinned(c, path);
}

static int64_t jk_gas_left(const jk_frame *f) { return f->st.gas > 0 ? f->st.gas : 0; }

/* ---- the calls ---- */

static jk_err jk_hc_call(jk_hc *c, bool resume)
{
    uint64_t path = *jk_reg(c, 7);
    uint64_t want = resume ? *jk_reg(c, 8) : *jk_reg(c, 9);
    jk_cap target;
    unsigned d;
    uint32_t idx[JK_KERNEL_MAX_PATH_DEPTH];
    if (!jk_get(c, path, &target) || !jk_path_decode(path, &d, idx))
        return jk_refuse(c, "CALL: bad slot path 0x%llx", path);
    /* slot[0] moves into the callee, so a target at or under slot[0] would be
     * sent to itself. Decided by the path, never by comparing cap objects: a
     * reloaded state (equal values merged) must decide as one built in memory. */
    if (idx[0] == 0)
        return jk_refuse(c, "CALL: the target is in slot[0] (path 0x%llx)", path);
    int64_t given = want < (uint64_t)jk_gas_left(c->f) ? (int64_t)want : jk_gas_left(c->f);
    uint64_t args[3] = {*jk_reg(c, 10), *jk_reg(c, 11), *jk_reg(c, 12)};
    jk_cap slot0 = jk_kernel_slot(c->f, 0); /* moves; the caller keeps a stash */
    jk_kernel *k = c->k;
    jk_frame *caller = c->f;
    caller->st.gas -= given;
    jk_err err = resume ? jk_kernel_push_resume(k, target, path, given, slot0, c->out)
                        : jk_kernel_push_call(k, target, path, (uint32_t)(*jk_reg(c, 8) > UINT32_MAX ? UINT32_MAX : *jk_reg(c, 8)),
                                       given, args, slot0, c->out);
    if (err != JK_OK && k->frames + k->depth - 1 == caller)
        caller->st.gas += given; /* nothing was pushed: the caller faults */
    return err == JK_ERR_INVALID_ARG ? JK_OK : err;
}

static jk_err jk_hc_cap_table(jk_hc *c, uint64_t n)
{
    uint64_t a = *jk_reg(c, 7), b = *jk_reg(c, 8);
    jk_cap x, y;
    if (!jk_get(c, a, &x) || jk_pinned(c, a))
        return jk_refuse(c, "cap table: slot path 0x%llx is bad or pinned", a);
    if (n == JK_HOST_DROP)
        return jk_put(c, a, jk_cap_null());
    if (!jk_get(c, b, &y) || jk_pinned(c, b))
        return jk_refuse(c, "cap table: slot path 0x%llx is bad or pinned", b);
    if (n == JK_HOST_SWAP) {
        x = jk_cap_retain(x);
        y = jk_cap_retain(y);
        jk_err err = jk_put(c, a, y);
        if (err == JK_OK && c->out->action != JK_HC_FAULT)
            err = jk_put(c, b, x);
        jk_cap_release(x);
        jk_cap_release(y);
        return err;
    }
    if (jk_cap_is_null(x))
        return jk_refuse(c, "COPY/MOVE: source slot 0x%llx is empty", a);
    if (!jk_cap_is_null(y))
        return jk_refuse(c, "COPY/MOVE: destination slot 0x%llx is not empty", b);
    x = jk_cap_retain(x);
    jk_err err = jk_put(c, b, x);
    if (err == JK_OK && c->out->action != JK_HC_FAULT && n == JK_HOST_MOVE)
        err = jk_put(c, a, jk_cap_null());
    jk_cap_release(x);
    return err;
}

JK_COLD static jk_err jk_hc_set_image(jk_hc *c)
{
    jk_cap image, self, next;
    if (!jk_get(c, *jk_reg(c, 7), &image) || jk_cap_kind_of(image) != JK_CAP_IMAGE)
        return jk_refuse(c, "SET_IMAGE: slot path 0x%llx holds no Image", *jk_reg(c, 7));
    /* the instance is made of the whole cnode (image stays valid: the
     * frame's slots are the same after the flush) */
    jk_err err = jk_kernel_frame_flush(c->f);
    if (err == JK_OK)
        err = jk_cap_instance_with_cnode(c->f->inst, c->f->cnode, &self, NULL);
    if (err != JK_OK)
        return err;
    jk_diag diag = {{0}};
    err = jk_cap_instance_set_image(self, image, &next, &diag);
    jk_cap_release(self);
    if (err == JK_ERR_CAP_PINNED || err == JK_ERR_CAP_INSTANCE || err == JK_ERR_CAP_TOO_DEEP)
        return jk_refuse(c, "SET_IMAGE refused (pinned-slot collision or bound), slot 0x%llx", *jk_reg(c, 7));
    if (err != JK_OK)
        return err;
    /* The old image's pinned slots are emptied and the new one's installed:
     * a persistent mapping of any of them is no longer minted back. */
    jk_cap old_image = jk_cap_instance_image(c->f->inst);
    for (uint32_t s = 1; s < JK_CAP_ROOT_SLOTS; s++)
        if (!jk_cap_is_null(jk_cap_image_pinned(old_image, s)) || !jk_cap_is_null(jk_cap_image_pinned(image, s)))
            jk_kernel_frame_slot_written(c->f, s);
    jk_kernel_frame_forget(c->f);
    jk_cap_release(c->f->inst);
    jk_cap_release(c->f->cnode);
    c->f->inst = next;
    c->f->cnode = jk_cap_retain(jk_cap_instance_cnode(next));
    c->f->set_image_ran = true;
    jk_kernel_frame_pins(c->f);
    c->f->pins_moved = true; /* looked at again, from now on */
    return JK_OK;
}

/* What jk_cap_instance_with_cnode(f->inst, f's cnode) would refuse, without
 * making it (nor flushing the working root, when the depth bound shows it
 * fits): the image's pins not held (JK_ERR_CAP_INSTANCE), then the nesting
 * bound (JK_ERR_CAP_TOO_DEEP); JK_ERR_NOMEM from a flush. DERIVE_SPAWN made
 * that instance only for the spawner's image hash, which f->inst has too. */
static jk_err jk_self_fits(jk_frame *f)
{
    jk_cap image = jk_cap_instance_image(f->inst);
    if (!jk_kernel_frame_pins_hold(f))
        return JK_ERR_CAP_INSTANCE;
    unsigned a = jk_cap_depth(image), b = jk_kernel_cnode_depth_bound(f);
    if ((a > b ? a : b) + 1 <= JK_CAP_MAX_DEPTH)
        return JK_OK;
    jk_err err = jk_kernel_frame_flush(f); /* near the bound: exactly */
    if (err != JK_OK)
        return err;
    b = jk_cap_depth(f->cnode);
    return (a > b ? a : b) + 1 > JK_CAP_MAX_DEPTH ? JK_ERR_CAP_TOO_DEEP : JK_OK;
}

static jk_err jk_hc_derive_spawn(jk_hc *c)
{
    uint64_t ip = *jk_reg(c, 7), cp = *jk_reg(c, 8), dp = *jk_reg(c, 9);
    jk_cap image, cnode, spawned;
    if (!jk_get(c, ip, &image) || jk_cap_kind_of(image) != JK_CAP_IMAGE)
        return jk_refuse(c, "DERIVE_SPAWN: slot path 0x%llx holds no Image", ip);
    if (!jk_get(c, cp, &cnode) || jk_cap_kind_of(cnode) != JK_CAP_CNODE || jk_pinned(c, cp) ||
        jk_cap_cnode_slot_count(cnode) != JK_CAP_ROOT_SLOTS)
        return jk_refuse(c, "DERIVE_SPAWN: slot path 0x%llx holds no unpinned 256-slot CNode", cp);
    if (!jk_dest_ok(c, dp) || dp == cp)
        return jk_refuse(c, "DERIVE_SPAWN: destination 0x%llx is not an empty unpinned slot", dp);
    if (c->k->instances_made >= JK_KERNEL_MAX_INSTANCES) {
        c->out->action = JK_HC_FAULT;
        c->out->fault = JK_FAULT_LIMIT;
        snprintf(c->out->msg, sizeof c->out->msg, "more than %d instances created in one call", JK_KERNEL_MAX_INSTANCES);
        return JK_OK;
    }
    jk_err err = jk_self_fits(c->f);
    if (err != JK_OK)
        return err;
    err = jk_cap_instance_derive_spawn(c->f->inst, image, cnode, &spawned, NULL);
    if (err == JK_ERR_CAP_PINNED || err == JK_ERR_CAP_TOO_DEEP || err == JK_ERR_CAP_INSTANCE)
        return jk_refuse(c, "DERIVE_SPAWN refused (pinned-slot collision or bound), image 0x%llx", ip);
    if (err != JK_OK)
        return err;
    c->k->instances_made++;
    err = jk_put(c, cp, jk_cap_null()); /* the cnode is consumed */
    if (err == JK_OK)
        err = jk_put(c, dp, spawned);
    jk_cap_release(spawned);
    return err;
}

JK_COLD static jk_err jk_hc_same_type(jk_hc *c, bool relative)
{
    jk_cap a, b, images = jk_cap_null();
    if (!jk_get(c, *jk_reg(c, 7), &a) || !jk_get(c, *jk_reg(c, 8), &b) ||
        jk_cap_kind_of(a) != JK_CAP_INSTANCE || jk_cap_kind_of(b) != JK_CAP_INSTANCE)
        return jk_refuse(c, "SAME_TYPE: slots 0x%llx and φ8 must hold Instances", *jk_reg(c, 7));
    if (relative && (!jk_get(c, *jk_reg(c, 9), &images) || jk_cap_kind_of(images) != JK_CAP_CNODE))
        return jk_refuse(c, "SAME_TYPE_AS: slot path 0x%llx holds no CNode of Images", *jk_reg(c, 9));
    jk_hash ha, hb;
    jk_cap_instance_image_hash(a, &ha);
    jk_cap_instance_image_hash(b, &hb);
    uint32_t i = 0;
    while (relative && jk_cap_cnode_next(images, i, &i)) {
        jk_cap img = jk_cap_cnode_get(images, i);
        if (jk_cap_kind_of(img) != JK_CAP_IMAGE)
            return jk_refuse(c, "SAME_TYPE_AS: slot %llu of the list is not an Image", i);
        uint8_t buf[2 * JK_HASH_SIZE];
        jk_hash id;
        jk_cap_hash(img, &id);
        memcpy(buf, ha.bytes, JK_HASH_SIZE);
        memcpy(buf + JK_HASH_SIZE, id.bytes, JK_HASH_SIZE);
        jk_crypto_blake2b256(buf, sizeof buf, &ha);
        i++;
    }
    *jk_reg(c, 7) = !memcmp(ha.bytes, hb.bytes, JK_HASH_SIZE);
    return JK_OK;
}

static jk_err jk_hc_data(jk_hc *c, uint64_t n)
{
    jk_cap data;
    if (n == JK_HOST_DATA_MINT) {
        uint64_t addr = *jk_reg(c, 7), len = *jk_reg(c, 8), dst = *jk_reg(c, 9);
        if (len > JK_MAX_COPY || addr > UINT32_MAX)
            return jk_refuse(c, "DATA_MINT: %llu bytes is over the bound", len);
        if (!jk_dest_ok(c, dst))
            return jk_refuse(c, "DATA_MINT: destination 0x%llx is not an empty unpinned slot", dst);
        /* a small mint (an attest's key, a short blob) needs no malloc */
        uint8_t small[256];
        uint8_t *buf = len <= sizeof small ? small : malloc((size_t)len);
        if (!buf)
            return JK_ERR_NOMEM;
        jk_err err = jk_pvm_memory_guest_read(c->f->mem, (uint32_t)addr, buf, (size_t)len, NULL);
        if (err == JK_OK)
            err = jk_cap_data_new(buf, (size_t)len, &data);
        if (buf != small)
            free(buf);
        if (err == JK_ERR_PVM_NOT_MAPPED)
            return jk_refuse(c, "DATA_MINT: memory at 0x%llx is not readable", addr);
        if (err != JK_OK)
            return err;
        err = jk_put(c, dst, data);
        jk_cap_release(data);
        return err;
    }
    if (!jk_get(c, *jk_reg(c, 7), &data) || jk_cap_kind_of(data) != JK_CAP_DATA)
        return jk_refuse(c, "DATA: slot path 0x%llx holds no Data", *jk_reg(c, 7));
    if (n == JK_HOST_DATA_LEN) {
        *jk_reg(c, 7) = jk_cap_data_len(data);
        return JK_OK;
    }
    uint64_t off = *jk_reg(c, 8), len = *jk_reg(c, 9), dst = *jk_reg(c, 10);
    if (len > JK_MAX_COPY || off > jk_cap_data_len(data) || len > jk_cap_data_len(data) - off || dst > UINT32_MAX)
        return jk_refuse(c, "DATA_READ: range of %llu bytes outside the Data or over the bound", len);
    /* Straight from the Data's pages into guest memory, a batch of page
     * pointers at a time: no copy of the whole range. A refusal part-way
     * faults the frame, which discards its memory, so a partial write is
     * never seen. */
    jk_err err = JK_OK;
    const uint8_t *pages[64];
    for (uint64_t done = 0; err == JK_OK && done < len;) {
        uint64_t pos = off + done;
        uint32_t first = (uint32_t)(pos / JK_PVM_PAGE_SIZE);
        uint32_t count = (uint32_t)((pos % JK_PVM_PAGE_SIZE + (len - done) + JK_PVM_PAGE_SIZE - 1) / JK_PVM_PAGE_SIZE);
        count = count > 64 ? 64 : count;
        err = jk_cap_data_spans(data, first, count, pages); /* read inside the length only */
        for (uint32_t i = 0; err == JK_OK && i < count && done < len; i++) {
            size_t in = (size_t)((off + done) % JK_PVM_PAGE_SIZE);
            size_t chunk = JK_PVM_PAGE_SIZE - in < len - done ? JK_PVM_PAGE_SIZE - in : (size_t)(len - done);
            err = jk_pvm_memory_guest_write(c->f->mem, (uint32_t)(dst + done), pages[i] + in, chunk, NULL);
            done += chunk;
        }
    }
    if (err == JK_ERR_PVM_NOT_MAPPED)
        return jk_refuse(c, "DATA_READ: memory at 0x%llx is not writable", dst);
    return err;
}

/* The rare calls, out of the hot path (JK_COLD). */

JK_COLD static jk_err jk_hc_drop_paused(jk_hc *c)
{
    jk_cap target, idle;
    if (!jk_get(c, *jk_reg(c, 7), &target) || jk_kernel_drop_paused(target, &idle) != JK_OK)
        return jk_refuse(c, "DROP_PAUSED: slot path 0x%llx holds no Paused instance", *jk_reg(c, 7));
    jk_err err = jk_put(c, *jk_reg(c, 7), idle);
    jk_cap_release(idle);
    return err;
}

JK_COLD static jk_err jk_hc_fault(jk_hc *c)
{
    /* The program ends itself with a reason its embedder can report. The
     * text is best effort: an unreadable range leaves it empty. */
    uint64_t addr = *jk_reg(c, 8), len = *jk_reg(c, 9);
    size_t tn = len > JK_KERNEL_REASON_MAX ? JK_KERNEL_REASON_MAX : (size_t)len;
    uint8_t text[JK_KERNEL_REASON_MAX];
    c->out->action = JK_HC_FAULT;
    c->out->fault = JK_FAULT_GUEST;
    c->out->reason = *jk_reg(c, 7);
    /* the loop copies all of it into the result (jk_kernel_loop does not zero hc) */
    memset(c->out->reason_text, 0, sizeof c->out->reason_text);
    if (tn && jk_pvm_memory_guest_read(c->f->mem, (uint32_t)addr, text, tn, NULL) == JK_OK)
        for (size_t i = 0; i < tn; i++)
            c->out->reason_text[i] = text[i] >= 0x20 && text[i] < 0x7F ? (char)text[i] : '?';
    snprintf(c->out->msg, sizeof c->out->msg, "program fault, reason %llu: %s", (unsigned long long)c->out->reason,
             c->out->reason_text);
    return JK_OK;
}

JK_COLD static jk_err jk_hc_debug_write(jk_hc *c)
{
    uint64_t addr = *jk_reg(c, 7), len = *jk_reg(c, 8);
    if (len > JK_MAX_DEBUG || addr > UINT32_MAX)
        return jk_refuse(c, "DEBUG_WRITE: %llu bytes is over the bound", len);
    uint8_t *buf = malloc(len ? (size_t)len : 1);
    if (!buf)
        return JK_ERR_NOMEM;
    jk_err err = jk_pvm_memory_guest_read(c->f->mem, (uint32_t)addr, buf, (size_t)len, NULL);
    if (err == JK_OK && c->k->debug)
        fwrite(buf, 1, (size_t)len, c->k->debug);
    free(buf);
    if (err == JK_ERR_PVM_NOT_MAPPED)
        return jk_refuse(c, "DEBUG_WRITE: memory at 0x%llx is not readable", addr);
    *jk_reg(c, 7) = len;
    return err;
}

JK_COLD static jk_err jk_hc_unknown(jk_hc *c, uint64_t n)
{
    c->out->action = JK_HC_FAULT;
    c->out->fault = JK_FAULT_UNKNOWN_CALL;
    snprintf(c->out->msg, sizeof c->out->msg, "unknown host call %llu", (unsigned long long)n);
    return JK_OK;
}

/* ---- prices (docs/abi.md "Gas schedule") ---- */

static int64_t jk_image_price(jk_cap image)
{
    return (int64_t)jk_cap_image_mapping_count(image) * JK_GAS_PER_MAPPING + JK_GAS_PER_FRAME;
}

/* Slots of frame f's yield-catcher list (0 when it has none). */
static int64_t jk_catcher_slots(const jk_frame *f)
{
    uint32_t slot = jk_cap_image_yield_catcher_slot(jk_cap_instance_image(f->inst));
    jk_cap list = slot ? jk_kernel_slot(f, slot) : jk_cap_null();
    return jk_cap_kind_of(list) == JK_CAP_CNODE ? jk_cap_cnode_slot_count(list) : 0;
}

/* Which of φ7, φ8, φ9 (bits 0..2) are slot paths, by host call number. */
static const uint8_t jk_path_args[JK_HOST_FAULT + 1] = {
    [JK_HOST_CALL] = 1, [JK_HOST_CALL_RESUME] = 1, [JK_HOST_DROP_PAUSED] = 1, [JK_HOST_YIELD] = 1,
    [JK_HOST_COPY] = 3, [JK_HOST_MOVE] = 3, [JK_HOST_DROP] = 1, [JK_HOST_SWAP] = 3,
    [JK_HOST_SET_IMAGE] = 1, [JK_HOST_DERIVE_SPAWN] = 7, [JK_HOST_SAME_TYPE] = 3,
    [JK_HOST_SAME_TYPE_AS] = 7, [JK_HOST_DATA_LEN] = 1, [JK_HOST_DATA_READ] = 1,
    [JK_HOST_DATA_MINT] = 4, [JK_HOST_CNODE_MINT] = 1, [JK_HOST_CAP_KIND] = 1,
};

/* The levels read through the arguments of host call n that are paths. */
static int64_t jk_read_price(const uint64_t *r, uint64_t n)
{
    int64_t price = 0;
    /* only the arguments that are paths; a root slot (the common case) is
     * one level without decoding */
    for (unsigned i = 0, args = n <= JK_HOST_FAULT ? jk_path_args[n] : 0; args; i++, args >>= 1) {
        unsigned d;
        uint32_t idx[JK_KERNEL_MAX_PATH_DEPTH];
        if (!(args & 1))
            continue;
        if (r[7 + i] < 256)
            price += JK_GAS_PER_LEVEL_READ;
        else if (jk_path_decode(r[7 + i], &d, idx))
            price += (int64_t)d * JK_GAS_PER_LEVEL_READ;
    }
    return price;
}

int64_t jk_kernel_hostcall_price(jk_kernel *k, uint64_t n)
{
    jk_frame *f = &k->frames[k->depth - 1];
    const uint64_t *r = f->st.regs;
    jk_cap x, y;
    int64_t price = 0;
    /* A call whose price below stands on its own does not walk its path
     * arguments for the levels read (the price is what it always was). */
    switch (n) {
    case JK_HOST_COPY:
    case JK_HOST_DROP:
    case JK_HOST_DROP_PAUSED:
        return jk_levels(n == JK_HOST_COPY ? r[8] : r[7]);
    case JK_HOST_MOVE:
    case JK_HOST_SWAP:
        return jk_levels(r[7]) + jk_levels(r[8]);
    case JK_HOST_CNODE_MINT:
        return jk_levels(r[7]);
    case JK_HOST_CALL:
        /* The result is written back at the target's path and in slot[0]. */
        price = jk_levels(r[7]) + JK_GAS_PER_LEVEL_WRITTEN;
        if (jk_kernel_path_get(f, r[7], &x) && jk_cap_kind_of(x) == JK_CAP_INSTANCE)
            price += jk_image_price(jk_cap_instance_image(x));
        return price;
    case JK_HOST_CALL_RESUME:
        price = jk_levels(r[7]) + JK_GAS_PER_LEVEL_WRITTEN;
        if (jk_kernel_path_get(f, r[7], &x) && jk_cap_kind_of(x) == JK_CAP_INSTANCE) {
            uint32_t frames = jk_cap_instance_frame_count(x);
            for (uint32_t i = 0; i < frames && i < JK_KERNEL_MAX_DEPTH; i++) {
                const jk_cap_frame *cf = jk_cap_instance_frame(x, i);
                price += (int64_t)cf->region_count * JK_GAS_PER_MAPPING + JK_GAS_PER_FRAME;
            }
        }
        return price;
    case JK_HOST_YIELD:
        /* The search may walk every frame's catcher list; the pause may
         * capture every frame. */
        price = jk_read_price(r, n);
        for (uint32_t i = 0; i < k->depth; i++)
            price += jk_image_price(k->frames[i].exec_image) +
                     jk_catcher_slots(&k->frames[i]) * JK_GAS_PER_LIST_SLOT;
        return price;
    case JK_HOST_SET_IMAGE:
        if (jk_kernel_path_get(f, r[7], &x) && jk_cap_kind_of(x) == JK_CAP_IMAGE)
            return (int64_t)(jk_cap_image_pin_count(x) + jk_cap_image_pin_count(jk_cap_instance_image(f->inst))) *
                   JK_GAS_PER_PIN;
        break;
    case JK_HOST_DERIVE_SPAWN:
        price = jk_levels(r[8]) + jk_levels(r[9]);
        if (jk_kernel_path_get(f, r[7], &x) && jk_cap_kind_of(x) == JK_CAP_IMAGE)
            price += (int64_t)jk_cap_image_pin_count(x) * JK_GAS_PER_PIN;
        return price;
    case JK_HOST_SAME_TYPE_AS:
        if (jk_kernel_path_get(f, r[9], &y) && jk_cap_kind_of(y) == JK_CAP_CNODE)
            return (int64_t)jk_cap_cnode_slot_count(y) * JK_GAS_PER_LIST_SLOT;
        break;
    case JK_HOST_DATA_READ:
        return jk_pages_of(r[9], JK_MAX_COPY) * JK_GAS_PER_PAGE_COPIED;
    case JK_HOST_DATA_MINT:
        return jk_pages_of(r[8], JK_MAX_COPY) * JK_GAS_PER_PAGE_COPIED + jk_levels(r[9]);
    case JK_HOST_DEBUG_WRITE_NUM:
        return jk_pages_of(r[8], JK_MAX_DEBUG) * JK_GAS_PER_PAGE_COPIED;
    default:
        break;
    }
    return jk_read_price(r, n);
}

jk_err jk_kernel_hostcall(jk_kernel *k, uint64_t n, jk_hc_result *out)
{
    jk_hc c = {k, &k->frames[k->depth - 1], out};
    out->action = JK_HC_CONTINUE;
    switch (n) {
    case JK_HOST_GAS:
        *jk_reg(&c, 7) = (uint64_t)jk_gas_left(c.f);
        return JK_OK;
    case JK_HOST_CALL:
        return jk_hc_call(&c, false);
    case JK_HOST_CALL_RESUME:
        return jk_hc_call(&c, true);
    case JK_HOST_DROP_PAUSED:
        return jk_hc_drop_paused(&c);
    case JK_HOST_YIELD:
        out->action = JK_HC_YIELD;
        return JK_OK;
    case JK_HOST_COPY:
    case JK_HOST_MOVE:
    case JK_HOST_DROP:
    case JK_HOST_SWAP:
        return jk_hc_cap_table(&c, n);
    case JK_HOST_SET_IMAGE:
        return jk_hc_set_image(&c);
    case JK_HOST_DERIVE_SPAWN:
        return jk_hc_derive_spawn(&c);
    case JK_HOST_SAME_TYPE:
        return jk_hc_same_type(&c, false);
    case JK_HOST_SAME_TYPE_AS:
        return jk_hc_same_type(&c, true);
    case JK_HOST_DATA_LEN:
    case JK_HOST_DATA_READ:
    case JK_HOST_DATA_MINT:
        return jk_hc_data(&c, n);
    case JK_HOST_CNODE_MINT: {
        uint64_t dst = *jk_reg(&c, 7), log2 = *jk_reg(&c, 8);
        jk_cap cnode;
        if (log2 > JK_CAP_CNODE_MAX_LOG2 || !jk_dest_ok(&c, dst))
            return jk_refuse(&c, "CNODE_MINT: bad size or destination 0x%llx", dst);
        jk_err err = jk_cap_cnode_new((unsigned)log2, &cnode);
        if (err == JK_OK)
            err = jk_put(&c, dst, cnode);
        jk_cap_release(cnode);
        return err;
    }
    case JK_HOST_CAP_KIND: {
        /* A query: a well-formed path that names no slot (an index past a
         * CNode's end, or through a slot that holds no CNode) is empty. */
        jk_cap cap = jk_cap_null();
        unsigned d;
        uint32_t idx[JK_KERNEL_MAX_PATH_DEPTH];
        if (!jk_path_decode(*jk_reg(&c, 7), &d, idx))
            return jk_refuse(&c, "CAP_KIND: malformed slot path 0x%llx", *jk_reg(&c, 7));
        jk_get(&c, *jk_reg(&c, 7), &cap);
        *jk_reg(&c, 7) = (uint64_t)jk_cap_kind_of(cap);
        return JK_OK;
    }
    case JK_HOST_FAULT:
        return jk_hc_fault(&c);
    case JK_HOST_DEBUG_WRITE_NUM:
        return jk_hc_debug_write(&c);
    default:
        return jk_hc_unknown(&c, n);
    }
}
