/*
 * hostcall_code.c — the host calls served in compiled code (jk_serve_in_code,
 * loop.c; docs/kernel.md "Host calls from compiled code"): what one turn of
 * jk_kernel_loop does after a host-call exit and before it runs the frame
 * again, for a call that leaves the stack, the program and the memory object
 * as they are — the run's page touches settled (run_cost), the price checked
 * and paid, the call, and run_gas / run_cost / starved started again — and,
 * for the calls a demo transfer makes most, a short way for the plain case.
 * Every short way prices as jk_kernel_hostcall_price and hands anything but
 * the plain case, paid the same, to jk_kernel_hostcall (hostcall.c), which
 * decides it as it always did: the interpreter, which never comes here, is
 * the reference of the tests (tests/kernel/test_kernel_hostcall_code.c).
 */
#include "internal.h"

/* The frame's gas at the `ecalli`, the run's page touches paid. */
static int64_t jk_gas_now(const jk_frame *f)
{
    int64_t gas = f->st.gas - f->run_cost;
    return gas > 0 ? gas : 0;
}

/* The price paid: gas is what is left. */
static void jk_pay(jk_frame *f, int64_t gas)
{
    f->st.gas = gas;
    f->run_cost = 0;
}

/* Whether root slot s is one the frame's image pins. */
static bool jk_root_pinned(const jk_frame *f, uint64_t s)
{
    return jk_kernel_slot_pinned(f, (uint32_t)s);
}

/* The call ended in "continue": the frame runs on in the code. */
static jk_pvm_host_answer jk_served(jk_kernel *k, jk_frame *f)
{
    k->hostcalls_in_code++;
    f->run_gas = f->st.gas;
    f->starved = false;
    return JK_PVM_HOST_SERVED;
}

/* The host failed (out of memory) part-way: the loop ends the call with it. */
static jk_pvm_host_answer jk_failed(jk_kernel *k, jk_err err)
{
    k->hc_done = true;
    k->hc_err = err;
    return JK_PVM_HOST_DONE;
}

jk_pvm_host_answer jk_kernel_hostcall_paid(jk_kernel *k, jk_frame *f, uint64_t n, int64_t gas)
{
    k->hostcalls_handed_on++;
    jk_pay(f, gas);
    f->in_host = true; /* pages a host call touches are in its price */
    jk_err err = jk_kernel_hostcall(k, n, &k->hc);
    f->in_host = false;
    if (err == JK_OK && k->hc.action == JK_HC_CONTINUE)
        return jk_served(k, f);
    /* a fault, a yield or an error: the loop acts on it (k->hc_done) */
    return jk_failed(k, err);
}

/* The reads a verify and an apply make most (DATA_READ, CAP_KIND, DATA_LEN:
 * ~32 of the ~45 host calls of a demo transfer's verify and of its apply:
 * the ledger's binary search, the account tree's kinds), from the price to
 * the answer in one function: the price from the arguments as
 * jk_kernel_hostcall_price gives it (a path decoded once, for the price and
 * the walk), then the plain case. Anything else — a refusal, a range across
 * a page of the Data, a malformed path — is paid the same and goes to
 * jk_kernel_hostcall, which decides it as it always did. Same prices, same
 * answers (test_kernel_hostcall_reads_fast_equals_general). */
jk_pvm_host_answer jk_kernel_hostcall_serve_read(jk_kernel *k, jk_frame *f, uint64_t n)
{
    uint64_t *r = f->st.regs;
    int64_t gas = jk_gas_now(f);
    unsigned d = 1;
    uint32_t idx[JK_KERNEL_MAX_PATH_DEPTH];
    int64_t price = JK_KERNEL_HOSTCALL_GAS;
    idx[0] = (uint32_t)r[7];
    bool plain = r[7] < 256 || jk_path_decode(r[7], &d, idx); /* else malformed: refused there */
    if (n == JK_HOST_DATA_READ) /* the pages copied alone (jk_kernel_hostcall_price) */
        price += jk_pages_of(r[9], JK_MAX_COPY) * JK_GAS_PER_PAGE_COPIED;
    else if (plain) /* DATA_LEN, CAP_KIND: the levels read (φ7 is their one path) */
        price += (int64_t)d * JK_GAS_PER_LEVEL_READ;
    if (gas < price)
        return JK_PVM_HOST_EXIT; /* out of gas at the ecalli: the loop's path */
    gas -= price;
    if (!plain)
        return jk_kernel_hostcall_paid(k, f, n, gas);
    jk_cap cap;
    if (n == JK_HOST_CAP_KIND) {
        /* a root slot, or a nested path (the demo's account tree: is the
         * bucket a Data, split into a CNode, or is there no tree yet?) */
        if (!jk_kernel_path_walk(f, idx, d, &cap))
            cap = jk_cap_null(); /* names no slot: empty, as there */
        r[7] = (uint64_t)jk_cap_kind_of(cap);
        jk_pay(f, gas);
        return jk_served(k, f);
    }
    uint64_t size;
    if (f->read_known && f->read_path == r[7]) {
        cap = f->read_cap; /* the same slot again, nothing written since */
        size = f->read_size;
    } else {
        if (!jk_kernel_path_walk(f, idx, d, &cap) || jk_cap_kind_of(cap) != JK_CAP_DATA)
            return jk_kernel_hostcall_paid(k, f, n, gas); /* refused there */
        f->read_known = true;
        f->read_path = r[7];
        f->read_cap = cap;
        f->read_size = size = jk_cap_data_len(cap);
        f->read_page = NULL;
    }
    if (n == JK_HOST_DATA_LEN) {
        r[7] = size;
        jk_pay(f, gas);
        return jk_served(k, f);
    }
    uint64_t off = r[8], len = r[9], dst = r[10];
    if (len == 0 || len > JK_PVM_PAGE_SIZE || off > size || len > size - off || dst > UINT32_MAX ||
        off % JK_PVM_PAGE_SIZE + len > JK_PVM_PAGE_SIZE)
        return jk_kernel_hostcall_paid(k, f, n, gas); /* refused, empty, or over a page boundary */
    const uint8_t *page = f->read_page;
    uint32_t index = (uint32_t)(off / JK_PVM_PAGE_SIZE);
    jk_err err = JK_OK;
    if (!page || f->read_page_index != index) {
        err = jk_cap_data_spans(cap, index, 1, &page);
        f->read_page = err == JK_OK ? page : NULL;
        f->read_page_index = index;
    }
    jk_pay(f, gas);
    f->in_host = true;
    if (err == JK_OK)
        err = jk_pvm_memory_guest_write(f->mem, (uint32_t)dst, page + off % JK_PVM_PAGE_SIZE, (size_t)len, NULL);
    f->in_host = false;
    if (err == JK_OK)
        return jk_served(k, f);
    /* a refused write changed nothing: the general path refuses it again
     * with its words */
    if (err == JK_ERR_PVM_NOT_MAPPED)
        return jk_kernel_hostcall_paid(k, f, n, gas);
    return jk_failed(k, err);
}

/* DROP and MOVE (a demo transfer's verify makes 4 DROPs and 3 MOVEs, its
 * apply 4 DROPs and 2 MOVEs: the scratch slots of its Data and CNodes, the
 * event's blob and AA taken out of slot[0]'s CNode, its accounts' buckets),
 * priced as jk_kernel_hostcall_price and done as jk_hc_cap_table does them,
 * each path decoded once (for the price, the checks and the writes) and
 * walked once, without the two switches, the price's decodes, the checks'
 * second decode and the write's third (session 14: a nested MOVE cost ~1,280
 * instructions the general way). A malformed path, a pinned root slot, a
 * path that names no slot, an empty source or a taken destination: paid the
 * same and decided by jk_kernel_hostcall, as is a first write the bound
 * refuses (it changed nothing); the second write (the source emptied) can
 * fail only for want of memory: the destination written cannot be on the
 * source's path, or it would not have been empty
 * (test_kernel_hostcall_moves_fast_equals_general). */
jk_pvm_host_answer jk_kernel_hostcall_serve_move(jk_kernel *k, jk_frame *f, uint64_t n)
{
    const uint64_t *r = f->st.regs;
    int64_t gas = jk_gas_now(f);
    bool move = n == JK_HOST_MOVE;
    unsigned da = 0, db = 0; /* a malformed path prices no level (jk_levels) */
    uint32_t ia[JK_KERNEL_MAX_PATH_DEPTH], ib[JK_KERNEL_MAX_PATH_DEPTH];
    bool plain = jk_path_decode(r[7], &da, ia);
    if (move && !jk_path_decode(r[8], &db, ib))
        plain = false;
    int64_t price = JK_KERNEL_HOSTCALL_GAS + (int64_t)(da + db) * JK_GAS_PER_LEVEL_WRITTEN;
    if (gas < price)
        return JK_PVM_HOST_EXIT; /* out of gas at the ecalli: the loop's path */
    gas -= price;
    jk_cap x, y;
    if (!plain || !jk_kernel_path_walk(f, ia, da, &x) || (da == 1 && jk_root_pinned(f, ia[0])) ||
        (move && (jk_cap_is_null(x) || !jk_kernel_path_walk(f, ib, db, &y) || !jk_cap_is_null(y) ||
                  (db == 1 && jk_root_pinned(f, ib[0])))))
        return jk_kernel_hostcall_paid(k, f, n, gas); /* refused there (also a == b) */
    jk_pay(f, gas);
    jk_err err = JK_OK;
    if (move) {
        x = jk_cap_retain(x); /* borrowed from the frame, which the write may change */
        err = jk_kernel_path_update_at(f, ib, db, x);
        jk_cap_release(x);
        if (err == JK_ERR_CAP_TOO_DEEP || err == JK_ERR_INVALID_ARG)
            return jk_kernel_hostcall_paid(k, f, n, gas); /* nothing written: refused there */
        if (err == JK_OK && db == 1)
            jk_kernel_frame_slot_written(f, ib[0]);
    }
    if (err == JK_OK)
        err = jk_kernel_path_update_at(f, ia, da, jk_cap_null());
    if (err == JK_OK) {
        if (da == 1)
            jk_kernel_frame_slot_written(f, ia[0]);
        return jk_served(k, f);
    }
    return jk_failed(k, err);
}

/* DATA_MINT of at most 256 bytes and CNODE_MINT into an empty slot (a demo
 * transfer's apply mints 4 Data — two of them into slot[0]'s CNode for the
 * AA, two into the account tree — and a CNode, its verify 2 of each),
 * priced as jk_kernel_hostcall_price and made as jk_hc_data and
 * jk_kernel_hostcall make them, the destination decoded and walked once. A
 * malformed destination, one that names no slot, a taken or pinned one, a
 * length or size past the bound, an address past 2^32, an unreadable range:
 * paid the same and decided by jk_kernel_hostcall
 * (test_kernel_hostcall_mints_fast_equals_general). */
jk_pvm_host_answer jk_kernel_hostcall_serve_mint(jk_kernel *k, jk_frame *f, uint64_t n)
{
    const uint64_t *r = f->st.regs;
    int64_t gas = jk_gas_now(f);
    bool data = n == JK_HOST_DATA_MINT;
    uint64_t addr = r[7], len = r[8], dst = data ? r[9] : r[7];
    unsigned d = 0; /* a malformed path prices no level (jk_levels) */
    uint32_t idx[JK_KERNEL_MAX_PATH_DEPTH];
    bool plain = jk_path_decode(dst, &d, idx);
    int64_t price = JK_KERNEL_HOSTCALL_GAS + (int64_t)d * JK_GAS_PER_LEVEL_WRITTEN;
    if (data)
        price += jk_pages_of(len, JK_MAX_COPY) * JK_GAS_PER_PAGE_COPIED;
    if (gas < price)
        return JK_PVM_HOST_EXIT; /* out of gas at the ecalli: the loop's path */
    gas -= price;
    uint8_t small[256];
    jk_cap cur;
    if (!plain || (data ? len > sizeof small || addr > UINT32_MAX : len > JK_CAP_CNODE_MAX_LOG2) ||
        !jk_kernel_path_walk(f, idx, d, &cur) || !jk_cap_is_null(cur) || (d == 1 && jk_root_pinned(f, idx[0])))
        return jk_kernel_hostcall_paid(k, f, n, gas);
    jk_pay(f, gas);
    jk_cap made;
    jk_err err;
    if (data) {
        f->in_host = true; /* pages the read touches are in the price */
        err = jk_pvm_memory_guest_read(f->mem, (uint32_t)addr, small, (size_t)len, NULL);
        f->in_host = false;
        if (err == JK_ERR_PVM_NOT_MAPPED)
            return jk_kernel_hostcall_paid(k, f, n, gas); /* refused there, with its words */
        if (err == JK_OK)
            err = jk_cap_data_new(small, (size_t)len, &made);
    } else {
        err = jk_cap_cnode_new((unsigned)len, &made);
    }
    if (err != JK_OK)
        return jk_failed(k, err);
    /* A new Data or empty CNode is one level deep, d + 1 <= 5 levels under
     * the root, and the walk found the slot: the write fails only for want
     * of memory, as there. */
    err = jk_kernel_path_update_at(f, idx, d, made);
    jk_cap_release(made);
    if (err != JK_OK)
        return jk_failed(k, err);
    if (d == 1)
        jk_kernel_frame_slot_written(f, idx[0]);
    return jk_served(k, f);
}

jk_pvm_host_answer jk_kernel_hostcall_serve_gas(jk_kernel *k, jk_frame *f)
{
    int64_t gas = jk_gas_now(f) - JK_KERNEL_HOSTCALL_GAS; /* jk_kernel_hostcall_price: 0 */
    if (gas < 0)
        return JK_PVM_HOST_EXIT; /* out of gas at the ecalli: the loop's path */
    jk_pay(f, gas);
    f->st.regs[7] = (uint64_t)gas; /* the gas left once it is paid, as there */
    return jk_served(k, f);
}
