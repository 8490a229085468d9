/*
 * test_jit_host.c — host calls served inside compiled code (jit_host.c,
 * jk_pvm_memory_set_host): a run that asks the memory's server at each
 * `ecalli` must end exactly as the runs of the plain protocol — exit at the
 * host call, the same server applied to the exit state, a fresh run from
 * there — on both engines: registers, gas, pc, block_paid, exit status and
 * the memory's bytes, with the server changing pages between (the TLBs).
 */
#include "jit_test_util.h"

#include "../../src/pvm/jit.h"

/* Reads the u64 at 0x20000 and stores r8 at 0x21000 through base registers
 * (r9 = 0x20000, r10 = 0x21000: both live across the host calls), host-calls,
 * does both again, enters a second block, host-calls again, halts. */
static const char jk_host_src[] =
    "start:\n"
    "  load_imm r9, 0x20000\n"
    "  load_imm r10, 0x21000\n"
    "  load_ind_u64 r2, r9, 0\n"
    "  store_ind_u64 r8, r10, 0\n"
    "  ecalli 1\n"
    "  load_ind_u64 r3, r9, 0\n"
    "  store_ind_u64 r8, r10, 0\n"
    "  add_64 r4, r7, r8\n"
    "  jump next\n"
    "next:\n"
    "  ecalli 2\n"
    "  add_64 r5, r7, r3\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n";

/* What the server does at ecalli 1 (the page change), and how it answers 2. */
typedef struct jk_host_plan {
    int change;                 /* 0 none, 1 copy-on-write write, 2 remap, 3 unmap 0x21000 */
    int64_t charge;             /* gas taken at ecalli 1 (may leave too little for `next`) */
    jk_pvm_host_answer second;  /* the answer at ecalli 2 */
    uint8_t *other;             /* a buffer for the remap */
    int calls;
    bool asked;                 /* the server answered at the last exit */
    jk_pvm_host_answer last;    /* … so */
} jk_host_plan;

static jk_pvm_host_answer jk_plan_serve(void *ctx, jk_pvm_state *st, uint64_t n)
{
    jk_host_plan *p = ctx;
    jk_pvm_memory *mem = NULL;
    memcpy(&mem, &st->regs[12], sizeof mem); /* smuggled in by the test (r12 is unused) */
    p->calls++;
    p->asked = true;
    if (n == 2) {
        if (p->second != JK_PVM_HOST_EXIT)
            st->regs[7] += 100;
        return p->last = p->second;
    }
    uint64_t v = 0x33;
    switch (p->change) {
    case 1:
        (void)jk_pvm_memory_guest_write(mem, 0x20000, &v, 1, NULL);
        break;
    case 2:
        (void)jk_pvm_memory_map_shared(mem, 0x20000, p->other, JK_PVM_ACCESS_READ);
        break;
    case 3:
        (void)jk_pvm_memory_map(mem, 0x21000, 4096, JK_PVM_ACCESS_NONE);
        break;
    }
    st->regs[7] = 40;
    st->regs[8] = 9;
    st->gas -= p->charge < st->gas ? p->charge : st->gas;
    return p->last = JK_PVM_HOST_SERVED;
}

typedef struct jk_host_end {
    jk_pvm_state st;
    jk_pvm_exit ex;
    uint64_t at20, at21;
    int calls;
} jk_host_end;

/* One whole run: served in the code (fast) or by the plain protocol: at a
 * host-call exit the embedder takes the server's answer if it was asked for
 * that exit, else asks it now, and runs on while it says SERVED. */
enum { JK_HOST_PLAIN, JK_HOST_FAST, JK_HOST_ARGS }; /* no server, jk_pvm_memory_set_host, _set_host_args */

static void jk_host_run(const jk_pvm_program *prog, jk_pvm_engine engine, int fast, jk_host_plan plan,
                        jk_host_end *end)
{
    static _Alignas(4096) uint8_t first[4096], other[4096];
    memset(first, 0, sizeof first);
    memset(other, 0, sizeof other);
    first[0] = 0x11;
    other[0] = 0x22;
    plan.other = other;
    jk_pvm_memory *mem;
    JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
    JK_REQUIRE(jk_pvm_memory_map_shared(mem, 0x20000, first, JK_PVM_ACCESS_WRITE) == JK_OK);
    JK_REQUIRE(jk_pvm_memory_map(mem, 0x21000, 4096, JK_PVM_ACCESS_WRITE) == JK_OK);
    if (fast == JK_HOST_FAST)
        jk_pvm_memory_set_host(mem, jk_plan_serve, &plan);
    else if (fast == JK_HOST_ARGS) /* jk_plan_serve reads φ12 and changes φ7, φ8 and gas */
        jk_pvm_memory_set_host_args(mem, jk_plan_serve, &plan);
    memset(&end->st, 0, sizeof end->st);
    end->st.gas = 1000;
    end->st.regs[8] = 7;
    memcpy(&end->st.regs[12], &mem, sizeof mem);
    for (int turn = 0; turn < 4; turn++) {
        plan.asked = false;
        JK_CHECK_EQ(jk_pvm_run_engine(prog, mem, &end->st, &end->ex, engine), JK_OK);
        if (end->ex.status != JK_PVM_HOST_CALL)
            break;
        jk_pvm_host_answer a = plan.asked ? plan.last : jk_plan_serve(&plan, &end->st, end->ex.host_call);
        if (a != JK_PVM_HOST_SERVED)
            break;
    }
    end->at20 = end->at21 = 0;
    (void)jk_pvm_memory_read(mem, 0x20000, &end->at20, sizeof end->at20);
    (void)jk_pvm_memory_read(mem, 0x21000, &end->at21, sizeof end->at21);
    end->calls = plan.calls;
    JK_CHECK_EQ(first[0], 0x11); /* a shared page is never written */
    jk_pvm_memory_free(mem);
}

static void jk_host_same(const jk_host_end *a, const jk_host_end *b)
{
    for (int r = 0; r < 12; r++)
        JK_CHECK_EQ(a->st.regs[r], b->st.regs[r]);
    JK_CHECK_EQ(a->st.gas, b->st.gas);
    JK_CHECK_EQ(a->st.pc, b->st.pc);
    JK_CHECK_EQ(a->st.block_paid, b->st.block_paid);
    JK_CHECK_EQ(a->ex.status, b->ex.status);
    JK_CHECK_EQ(a->ex.host_call, b->ex.host_call);
    JK_CHECK_EQ(a->ex.host_call_pc, b->ex.host_call_pc);
    JK_CHECK_EQ(a->ex.fault_address, b->ex.fault_address);
    JK_CHECK_EQ(a->at20, b->at20);
    JK_CHECK_EQ(a->at21, b->at21);
    JK_CHECK_EQ(a->calls, b->calls);
}

JK_TEST(test_jit_host_served_in_code_equals_exit_and_reentry)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_host_src, true);
    JK_REQUIRE(prog != NULL);
    const jk_pvm_host_answer seconds[] = {JK_PVM_HOST_EXIT, JK_PVM_HOST_SERVED, JK_PVM_HOST_DONE};
    int cases = 0;
    for (int change = 0; change <= 3; change++)
        for (size_t s = 0; s < sizeof seconds / sizeof seconds[0]; s++)
            for (int64_t charge = 0; charge <= 1000; charge += charge < 980 ? 490 : 1) {
                jk_host_plan plan = {change, charge, seconds[s], NULL, 0, false, JK_PVM_HOST_EXIT};
                jk_host_end ref, interp, jit, args;
                jk_host_run(prog, JK_PVM_ENGINE_INTERP, JK_HOST_PLAIN, plan, &ref);
                jk_host_run(prog, JK_PVM_ENGINE_INTERP, JK_HOST_FAST, plan, &interp);
                jk_host_run(prog, JK_PVM_ENGINE_JIT, JK_HOST_FAST, plan, &jit);
                jk_host_run(prog, JK_PVM_ENGINE_JIT, JK_HOST_ARGS, plan, &args);
                jk_host_same(&ref, &interp);
                jk_host_same(&ref, &jit);
                jk_host_same(&ref, &args);
                cases++;
            }
    JK_CHECK(cases > 100);
    /* what the plan does shows in the result (the comparison is not empty) */
    jk_host_plan plan = {1, 0, JK_PVM_HOST_SERVED, NULL, 0, false, JK_PVM_HOST_EXIT};
    jk_host_end jit;
    jk_host_run(prog, JK_PVM_ENGINE_JIT, JK_HOST_FAST, plan, &jit);
    JK_CHECK_EQ(jit.ex.status, JK_PVM_HALT);
    JK_CHECK_EQ(jit.st.regs[2], 0x11);
    JK_CHECK_EQ(jit.st.regs[3], 0x33); /* the private copy, not the cached shared page */
    JK_CHECK_EQ(jit.st.regs[4], 49);
    JK_CHECK_EQ(jit.st.regs[5], 140 + 0x33);
    JK_CHECK_EQ(jit.at21, 9);
    JK_CHECK_EQ(jit.calls, 2);
    jk_pvm_program_free(prog);
}

/* Runs prog on mem (then freed) to its first exit: ecalli 1, the server not asked. */
static void jk_host_first_exit(const jk_pvm_program *prog, jk_pvm_memory *mem, jk_pvm_engine engine,
                               const jk_host_plan *plan)
{
    static _Alignas(4096) uint8_t page[4096];
    JK_REQUIRE(jk_pvm_memory_map_shared(mem, 0x20000, page, JK_PVM_ACCESS_READ) == JK_OK);
    JK_REQUIRE(jk_pvm_memory_map(mem, 0x21000, 4096, JK_PVM_ACCESS_WRITE) == JK_OK);
    jk_pvm_state st;
    jk_pvm_exit ex;
    memset(&st, 0, sizeof st);
    st.gas = 1000;
    JK_CHECK_EQ(jk_pvm_run_engine(prog, mem, &st, &ex, engine), JK_OK);
    JK_CHECK_EQ(ex.status, JK_PVM_HOST_CALL);
    JK_CHECK_EQ(ex.host_call, 1);
    JK_CHECK_EQ(plan->calls, 0);
    jk_pvm_memory_free(mem);
}

/* The interpreter never asks the server; a memory back in its pool has none. */
JK_TEST(test_jit_host_not_asked_by_the_interpreter_nor_after_the_pool)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_host_src, true);
    JK_REQUIRE(prog != NULL);
    jk_host_plan plan = {0, 0, JK_PVM_HOST_SERVED, NULL, 0, false, JK_PVM_HOST_EXIT};
    jk_pvm_memory *mem;
    JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
    jk_pvm_memory_set_host(mem, jk_plan_serve, &plan);
    jk_host_first_exit(prog, mem, JK_PVM_ENGINE_INTERP, &plan);
    jk_pvm_mem_pool *pool;
    JK_REQUIRE(jk_pvm_mem_pool_new(&pool) == JK_OK);
    JK_REQUIRE(jk_pvm_memory_new_pooled(pool, &mem) == JK_OK);
    jk_pvm_memory_set_host(mem, jk_plan_serve, &plan);
    jk_pvm_memory_free(mem);
    JK_REQUIRE(jk_pvm_memory_new_pooled(pool, &mem) == JK_OK);
    jk_host_first_exit(prog, mem, JK_PVM_ENGINE_JIT, &plan);
    jk_pvm_mem_pool_free(pool);
    jk_pvm_program_free(prog);
}

/* Reads 0x20000 and writes 0x21000 (both pages in the TLBs), host-calls,
 * then does both again and halts. */
static const char jk_done_src[] =
    "  load_imm r9, 0x20000\n"
    "  load_imm r10, 0x21000\n"
    "  load_ind_u64 r2, r9, 0\n"
    "  store_ind_u64 r8, r10, 0\n"
    "  ecalli 5\n"
    "  load_ind_u64 r3, r9, 0\n"
    "  store_ind_u64 r8, r10, 0\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n";

typedef struct jk_done_plan {
    jk_pvm_memory *mem;
    const uint8_t *other;
    bool unmap; /* else remap 0x20000 to `other` */
    int calls;
} jk_done_plan;

/* Changes the page table and answers DONE: the run stops, the embedder
 * has done the call and runs the program again. */
static jk_pvm_host_answer jk_done_serve(void *ctx, jk_pvm_state *st, uint64_t n)
{
    jk_done_plan *p = ctx;
    p->calls++;
    st->regs[7] = n;
    if (p->unmap)
        (void)jk_pvm_memory_map(p->mem, 0x21000, 4096, JK_PVM_ACCESS_NONE);
    else
        (void)jk_pvm_memory_map_shared(p->mem, 0x20000, p->other, JK_PVM_ACCESS_READ);
    return JK_PVM_HOST_DONE;
}

/* A server that changes a page-table entry and answers DONE: the compiled
 * code empties its TLBs before it exits (the code after the call compares
 * the memory's generation for every answer), so the run that follows sees
 * the new page, or faults on the unmapped one, as the interpreter does —
 * with the TLBs kept, the second run would read the old page through them
 * (jk_pvm_jit_run keeps them across runs when the generation did not move
 * since the last exit). */
JK_TEST(test_jit_host_done_after_a_page_change_empties_the_tlbs)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_done_src, true);
    JK_REQUIRE(prog != NULL);
    static _Alignas(4096) uint8_t first[4096], other[4096];
    first[0] = 0x11;
    other[0] = 0x22;
    for (int unmap = 0; unmap < 2; unmap++) {
        jk_pvm_state st[2];
        jk_pvm_exit ex[2];
        for (int e = 0; e < 2; e++) {
            jk_pvm_engine engine = e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP;
            jk_pvm_memory *mem;
            JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
            JK_REQUIRE(jk_pvm_memory_map_shared(mem, 0x20000, first, JK_PVM_ACCESS_READ) == JK_OK);
            JK_REQUIRE(jk_pvm_memory_map(mem, 0x21000, 4096, JK_PVM_ACCESS_WRITE) == JK_OK);
            jk_done_plan plan = {mem, other, unmap == 1, 0};
            jk_pvm_memory_set_host(mem, jk_done_serve, &plan);
            memset(&st[e], 0, sizeof st[e]);
            st[e].gas = 1000;
            st[e].regs[8] = 7;
            JK_CHECK_EQ(jk_pvm_run_engine(prog, mem, &st[e], &ex[e], engine), JK_OK);
            JK_CHECK_EQ(ex[e].status, JK_PVM_HOST_CALL);
            JK_CHECK_EQ(ex[e].host_call, 5);
            if (engine == JK_PVM_ENGINE_INTERP) /* the interpreter never asks: the embedder serves */
                jk_done_serve(&plan, &st[e], ex[e].host_call);
            JK_CHECK_EQ(plan.calls, 1);
            JK_CHECK_EQ(st[e].regs[7], 5);
            JK_CHECK_EQ(jk_pvm_run_engine(prog, mem, &st[e], &ex[e], engine), JK_OK);
            jk_pvm_memory_free(mem);
        }
        JK_CHECK_EQ(ex[0].status, unmap ? JK_PVM_PAGE_FAULT : JK_PVM_HALT);
        JK_CHECK_EQ(ex[1].status, ex[0].status);
        JK_CHECK_EQ(ex[1].fault_address, ex[0].fault_address);
        JK_CHECK_EQ(st[1].pc, st[0].pc);
        JK_CHECK_EQ(st[1].gas, st[0].gas);
        for (int r = 0; r < 12; r++)
            JK_CHECK_EQ(st[1].regs[r], st[0].regs[r]);
        if (!unmap)
            JK_CHECK_EQ(st[1].regs[3], 0x22); /* the new page, not the cached one */
    }
    jk_pvm_program_free(prog);
}

/* Every guest register live across the host call (three of them kept in
 * the context, not in host registers; some in host registers a C call
 * keeps, some in ones it does not), each then read. */
static const char jk_args_src[] =
    "  load_imm r0, 0x1000\n"
    "  load_imm r1, 0x1001\n"
    "  load_imm r2, 0x1002\n"
    "  load_imm r3, 0x1003\n"
    "  load_imm r4, 0x1004\n"
    "  load_imm r5, 0x1005\n"
    "  load_imm r6, 0x1006\n"
    "  load_imm r7, 0x1007\n"
    "  load_imm r8, 0x1008\n"
    "  load_imm r9, 0x1009\n"
    "  load_imm r10, 0x100a\n"
    "  load_imm r11, 0x100b\n"
    "  load_imm r12, 0x100c\n"
    "  ecalli 3\n"
    "  add_64 r0, r0, r7\n"
    "  add_64 r1, r1, r0\n"
    "  add_64 r2, r2, r1\n"
    "  add_64 r3, r3, r2\n"
    "  add_64 r4, r4, r3\n"
    "  add_64 r5, r5, r4\n"
    "  add_64 r6, r6, r5\n"
    "  add_64 r8, r8, r6\n"
    "  add_64 r9, r9, r8\n"
    "  add_64 r10, r10, r9\n"
    "  add_64 r11, r11, r10\n"
    "  add_64 r12, r12, r11\n"
    "  ecalli 4\n"
    "  add_64 r7, r7, r12\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n";

/* A server of the arguments alone: φ7 from φ8..φ12, some gas. */
static jk_pvm_host_answer jk_args_serve(void *ctx, jk_pvm_state *st, uint64_t n)
{
    int *calls = ctx;
    (*calls)++;
    st->regs[7] = st->regs[8] * 3 + st->regs[9] + st->regs[12] + n;
    st->regs[11] ^= 0x55;
    st->gas -= 7;
    return JK_PVM_HOST_SERVED;
}

/* A server of the arguments (jk_pvm_memory_set_host_args): the code keeps
 * the other registers where they are across the call; every register and
 * the gas end as with the plain exit and re-entry and as with a server of
 * the whole state, on both engines. */
JK_TEST(test_jit_host_args_server_keeps_the_other_registers)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_args_src, true);
    JK_REQUIRE(prog != NULL);
    jk_pvm_state end[5];
    int calls[5];
    for (int m = 0; m < 5; m++) {
        /* 0: interpreter, plain; 1: jit, plain; 2: jit, set_host; 3: jit,
         * set_host_args; 4: interpreter, set_host_args (never asked) */
        jk_pvm_engine engine = m == 0 || m == 4 ? JK_PVM_ENGINE_INTERP : JK_PVM_ENGINE_JIT;
        jk_pvm_memory *mem;
        JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
        calls[m] = 0;
        if (m == 2)
            jk_pvm_memory_set_host(mem, jk_args_serve, &calls[m]);
        else if (m >= 3)
            jk_pvm_memory_set_host_args(mem, jk_args_serve, &calls[m]);
        jk_pvm_state *st = &end[m];
        memset(st, 0, sizeof *st);
        st->gas = 1000;
        jk_pvm_exit ex;
        for (int turn = 0; turn < 4; turn++) {
            JK_CHECK_EQ(jk_pvm_run_engine(prog, mem, st, &ex, engine), JK_OK);
            if (ex.status != JK_PVM_HOST_CALL)
                break;
            jk_args_serve(&calls[m], st, ex.host_call);
        }
        JK_CHECK_EQ(ex.status, JK_PVM_HALT);
        jk_pvm_memory_free(mem);
    }
    for (int m = 1; m < 5; m++) {
        for (int r = 1; r < JK_PVM_REGS; r++)
            JK_CHECK_EQ(end[m].regs[r], end[0].regs[r]);
        JK_CHECK_EQ(end[m].gas, end[0].gas);
        JK_CHECK_EQ(end[m].pc, end[0].pc);
        JK_CHECK_EQ(calls[m], 2);
    }
    /* the server's φ7 shows (r1 = 0x1001 + r0, r0 = 0x1000 + φ7 after ecalli 3) */
    JK_CHECK_EQ(end[0].regs[1], 0x1001 + 0x1000 + 0x1008 * 3 + 0x1009 + 0x100c + 3);
    jk_pvm_program_free(prog);
}
