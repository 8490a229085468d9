/*
 * fuzz_jit.c — differential fuzz target: the recompiler against the
 * interpreter (the reference) on random programs.
 *
 * Input: 8 configuration bytes, then either a whole program blob (valid or
 * not: config[0] bit 0 clear) or raw code bytes that we wrap into a blob with
 * a pseudo-random bitmask and jump table (bit 0 set), so that most inputs
 * load and run. config[0] bits 1..3 pick a memory map (read-write, read-only,
 * copy-on-write shared pages, a lazy resolver, a heap for sbrk), bits 4..7
 * the initial pc (0..15, often not an instruction start), config[1]
 * the gas (small, so out-of-gas lands everywhere), config[2..7] seed the
 * registers. Both engines run the same sequence of resumptions: host calls
 * are served by writing registers (and, in one map, guest memory), an
 * out-of-gas stop is resumed with a little more gas, up to 12 times; one run
 * switches engine at every resumption, so each engine also resumes states
 * the other left. Afterwards everything observable must be equal: exit,
 * pc, registers, gas, fault address, every page's access and bytes, and the
 * dirty-page list. Any difference aborts.
 */
#include "fuzz_targets.h"

#include "../../src/pvm/internal.h"
#include "../../src/pvm/jit.h"
#include "../../src/pvm/jit_plan.h"

#include <stdio.h>
#include <stdlib.h>

static void jk_jit_fail(const char *what)
{
    fprintf(stderr, "fuzz_jit: %s\n", what);
    abort();
}

/* A Data cap's page, shared read-only or copy-on-write into both memories. */
static _Alignas(4096) uint8_t jk_shared_page[4096];

#define JK_LAZY_BASE 0x30000u
#define JK_LAZY_END 0x38000u

static void jk_lazy_resolver(void *ctx, jk_pvm_memory *mem, uint32_t page_addr)
{
    (void)ctx;
    if (page_addr >= JK_LAZY_BASE && page_addr < JK_LAZY_END && (page_addr >> 12) % 2 == 0)
        jk_pvm_memory_map(mem, page_addr, JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_WRITE);
}

static void jk_setup_memory(jk_pvm_memory *mem, unsigned variant)
{
    jk_pvm_memory_map(mem, 0x10000, 0x2000, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map(mem, 0x12000, 0x1000, JK_PVM_ACCESS_READ);
    uint8_t fill[64];
    for (unsigned i = 0; i < sizeof fill; i++)
        fill[i] = (uint8_t)(i * 37 + variant);
    jk_pvm_memory_write(mem, 0x10ff0, fill, sizeof fill); /* straddles two pages */
    jk_pvm_memory_write(mem, 0x12000, fill, sizeof fill);
    if (variant & 1) {
        jk_pvm_memory_map_shared(mem, 0x14000, jk_shared_page, JK_PVM_ACCESS_WRITE);
        jk_pvm_memory_map_shared(mem, 0x15000, jk_shared_page, JK_PVM_ACCESS_READ);
    }
    if (variant & 2)
        jk_pvm_memory_set_resolver(mem, jk_lazy_resolver, NULL);
    if (variant & 4) {
        jk_pvm_memory_set_heap(mem, 0x20000, 0x28000);
        jk_pvm_memory_map(mem, 0xFFFF0000u, 0x10000, JK_PVM_ACCESS_WRITE); /* top of space */
    }
}

/* Wrap raw code into a blob: a jump table of 4 two-byte entries,
 * bitmask bits from a xorshift stream (density about 1/3, bit 0 set). */
static uint8_t *jk_wrap_code(const uint8_t *code, size_t len, uint64_t seed, size_t *out_len)
{
    if (len > 4000)
        len = 4000;
    uint32_t jumps = 4;
    size_t mask_len = (len + 7) / 8;
    uint8_t nat[9];
    size_t clen_n = jk_pvm_encode_natural(len, nat);
    size_t total = 1 + 1 + clen_n + jumps * 2 + len + mask_len;
    uint8_t *blob = calloc(1, total ? total : 1);
    if (!blob)
        return NULL;
    size_t at = 0;
    blob[at++] = (uint8_t)jumps;
    blob[at++] = 2;
    memcpy(blob + at, nat, clen_n);
    at += clen_n;
    uint64_t x = seed | 1;
    for (uint32_t j = 0; j < jumps; j++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint32_t target = len ? (uint32_t)(x % (len + 1)) : 0;
        blob[at++] = (uint8_t)target;
        blob[at++] = (uint8_t)(target >> 8);
    }
    memcpy(blob + at, code, len);
    at += len;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (i == 0 || x % 3 == 0)
            blob[at + i / 8] |= (uint8_t)(1u << (i % 8));
    }
    *out_len = total;
    return blob;
}

typedef struct jk_side {
    jk_pvm_memory *mem;
    jk_pvm_state st;
    jk_pvm_exit ex;
    jk_err err;
} jk_side;

static void jk_run_side(const jk_pvm_program *prog, jk_side *s, const uint8_t cfg[8], int mode)
{
    unsigned variant = (cfg[0] >> 1) & 7;
    if (jk_pvm_memory_new(&s->mem) != JK_OK)
        jk_jit_fail("out of memory");
    jk_setup_memory(s->mem, variant);
    memset(&s->st, 0, sizeof s->st);
    uint64_t seed = 0;
    for (int i = 2; i < 8; i++)
        seed = seed << 8 | cfg[i];
    for (int r = 0; r < JK_PVM_REGS; r++)
        s->st.regs[r] = r % 3 == 0 ? 0x10000 + ((seed >> r) & 0x2FFF)
                      : r % 3 == 1 ? (seed * (uint64_t)(r + 1)) : (uint64_t)r << (cfg[2] & 63);
    s->st.gas = 1 + cfg[1] * 8;
    s->st.pc = cfg[0] >> 4; /* often not an instruction start: panics for 1 gas */
    for (int hop = 0; hop < 12; hop++) {
        /* mode 0: interpreter; 1: recompiler; 2: alternate, starting with it */
        int backend = mode == 0 ? JK_PVM_BACKEND_GOTO
                    : mode == 1 ? JK_PVM_BACKEND_JIT
                    : (hop & 1) ? JK_PVM_BACKEND_GOTO : JK_PVM_BACKEND_JIT;
        s->err = jk_pvm_run_backend(prog, s->mem, &s->st, &s->ex, backend);
        if (s->err != JK_OK)
            return;
        if (s->ex.status == JK_PVM_HOST_CALL) {
            s->st.regs[7] = s->ex.host_call * 3 + (uint64_t)hop;
            if (variant & 1) { /* a host call that writes guest memory */
                uint8_t v = (uint8_t)hop;
                jk_pvm_memory_guest_write(s->mem, (uint32_t)(0x10100 + hop), &v, 1, NULL);
            }
        } else if (s->ex.status == JK_PVM_OUT_OF_GAS) {
            s->st.gas += 5 + cfg[1] % 32;
        } else {
            return;
        }
    }
}

static void jk_compare(const jk_side *a, const jk_side *b)
{
    if (a->err != b->err)
        jk_jit_fail("engines disagree on the run's error");
    if (a->ex.status != b->ex.status || a->ex.fault_address != b->ex.fault_address ||
        a->ex.host_call != b->ex.host_call || a->ex.host_call_pc != b->ex.host_call_pc)
        jk_jit_fail("engines disagree on the exit");
    if (a->st.pc != b->st.pc || a->st.gas != b->st.gas || a->st.block_paid != b->st.block_paid)
        jk_jit_fail("engines disagree on pc or gas");
    if (memcmp(a->st.regs, b->st.regs, sizeof a->st.regs) != 0)
        jk_jit_fail("engines disagree on registers");
    /* every page that either could have touched: the low map, shared pages,
     * the lazy range, the heap, the top of the space */
    static const uint32_t ranges[][2] = {
        {0x10000, 0x16000}, {JK_LAZY_BASE, JK_LAZY_END}, {0x20000, 0x29000}, {0xFFFF0000u, 0xFFFFF000u},
    };
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
        for (uint64_t p = ranges[r][0]; p <= ranges[r][1]; p += JK_PVM_PAGE_SIZE) {
            uint32_t addr = (uint32_t)p;
            if (jk_pvm_memory_access_at(a->mem, addr) != jk_pvm_memory_access_at(b->mem, addr))
                jk_jit_fail("engines disagree on a page's access");
            const uint8_t *pa = jk_pvm_memory_page(a->mem, addr), *pb = jk_pvm_memory_page(b->mem, addr);
            if ((pa == NULL) != (pb == NULL) || (pa && memcmp(pa, pb, JK_PVM_PAGE_SIZE) != 0))
                jk_jit_fail("engines disagree on memory");
        }
    const uint32_t *da, *db;
    size_t na, nb;
    jk_pvm_memory_dirty_pages(a->mem, &da, &na);
    jk_pvm_memory_dirty_pages(b->mem, &db, &nb);
    if (na != nb || (na && memcmp(da, db, na * sizeof *da) != 0))
        jk_jit_fail("engines disagree on dirty pages");
}

int jk_fuzz_jit(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    const uint8_t *cfg = data;
    const uint8_t *rest = data + 8;
    size_t rest_len = size - 8;
    uint8_t *wrapped = NULL;
    if (cfg[0] & 1) {
        uint64_t seed = 0;
        for (int i = 0; i < 8; i++)
            seed = seed << 8 | cfg[i];
        wrapped = jk_wrap_code(rest, rest_len, seed, &rest_len);
        if (!wrapped)
            return 0;
        rest = wrapped;
    }
    jk_pvm_program *prog = NULL;
    jk_diag diag;
    /* returns predicted with the host's call/ret, or direct where the
     * program has few call sites (session 10): both ways, by one bit */
    jk_pvm_jit_direct_max = (cfg[3] & 1) ? 0 : 4;
    unsigned long refused = jk_pvm_jit_plan_refused;
    jk_err loaded = jk_pvm_program_load(rest, rest_len, &prog, &diag);
    jk_pvm_jit_direct_max = 4;
    if (jk_pvm_jit_plan_refused != refused) /* a gas plan broke its rule (jit_plan.c) */
        jk_jit_fail("gas plan refused by its check");
    if (loaded != JK_OK) {
        if (!diag.msg[0])
            jk_jit_fail("rejected blob without a message");
        free(wrapped);
        return 0;
    }
#if defined(__x86_64__)
    if (!prog->jit)
        jk_jit_fail("program not compiled on x86-64");
#endif
    jk_side side[3];
    for (int m = 0; m < 3; m++)
        jk_run_side(prog, &side[m], cfg, m);
    jk_compare(&side[0], &side[1]);
    jk_compare(&side[0], &side[2]);
    for (int m = 0; m < 3; m++)
        jk_pvm_memory_free(side[m].mem);
    jk_pvm_program_free(prog);
    free(wrapped);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_jit(data, size);
}
#endif
