/*
 * test_adv_pvm_edges_mem.c — held-out PVM cases at memory edges, on the
 * interpreter and the recompiler against each other and against the
 * Graypaper (test_adv_pvm_edges.c says what the family covers): loads and
 * stores of every width at page-crossing addresses, and sbrk against its
 * model.
 */
#include "../test.h"
#include "../pvm/jit_test_util.h"
#include "adv_pvm_model.h"

#include "jark/pvm.h"

#include <stdlib.h>

/* ---- loads and stores at page edges ---- */

#define SHARED_RW 0x11000u /* a copy-on-write page shared with the host */
#define SHARED_RO 0x12000u /* a read-only shared page right after it */
#define TOP_PAGE 0xFFFFF000u

static _Alignas(4096) uint8_t shared_pages[3][JK_PVM_PAGE_SIZE];

/* [0x10000] own rw, [0x11000] shared cow, [0x12000] shared ro, [0x13000]
 * unmapped, [0x14000] own rw, [0x15000] shared cow, [0x16000] unmapped,
 * [0xFFFFF000] own rw: the last page of the address space. */
static bool start_edges(jk_pvm_memory **mem, jk_pvm_state *st)
{
    if (jk_pvm_memory_new(mem) != JK_OK)
        return false;
    if (jk_pvm_memory_map(*mem, 0x10000, 0x1000, JK_PVM_ACCESS_WRITE) != JK_OK ||
        jk_pvm_memory_map_shared(*mem, SHARED_RW, shared_pages[0], JK_PVM_ACCESS_WRITE) != JK_OK ||
        jk_pvm_memory_map_shared(*mem, SHARED_RO, shared_pages[1], JK_PVM_ACCESS_READ) != JK_OK ||
        jk_pvm_memory_map(*mem, 0x14000, 0x1000, JK_PVM_ACCESS_WRITE) != JK_OK ||
        jk_pvm_memory_map_shared(*mem, 0x15000, shared_pages[2], JK_PVM_ACCESS_WRITE) != JK_OK ||
        jk_pvm_memory_map(*mem, TOP_PAGE, 0x1000, JK_PVM_ACCESS_WRITE) != JK_OK)
        return false;
    uint8_t fill[JK_PVM_PAGE_SIZE];
    for (size_t i = 0; i < sizeof fill; i++)
        fill[i] = (uint8_t)(i * 7 + 0x81);
    if (jk_pvm_memory_write(*mem, 0x10000, fill, sizeof fill) != JK_OK ||
        jk_pvm_memory_write(*mem, 0x14000, fill, sizeof fill) != JK_OK ||
        jk_pvm_memory_write(*mem, TOP_PAGE, fill, sizeof fill) != JK_OK)
        return false;
    memset(st, 0, sizeof *st);
    memcpy(st->regs, adv_init_regs, sizeof adv_init_regs);
    st->gas = 100;
    return true;
}

/* The layout of start_edges: may the guest read (or, `store`, write) a? */
static bool edge_accessible(uint32_t a, bool store)
{
    uint32_t page = a & ~(uint32_t)(JK_PVM_PAGE_SIZE - 1);
    switch (page) {
    case 0x10000: case SHARED_RW: case 0x14000: case 0x15000: case TOP_PAGE:
        return true;
    case SHARED_RO:
        return !store;
    default:
        return false;
    }
}

static unsigned op_width(const char *name)
{
    size_t n = strlen(name);
    if (n >= 2 && strcmp(name + n - 2, "64") == 0) return 8;
    if (n >= 2 && strcmp(name + n - 2, "32") == 0) return 4;
    if (n >= 2 && strcmp(name + n - 2, "16") == 0) return 2;
    return 1;
}

JK_TEST(test_adv_pvm_edges_page_crossing)
{
    for (int i = 0; i < 3; i++)
        for (size_t j = 0; j < JK_PVM_PAGE_SIZE; j++)
            shared_pages[i][j] = (uint8_t)(j * 13 + 0x40 + i);
    static const uint64_t bounds[] = {0x10000, 0x11000, 0x12000, 0x13000, 0x14000,
                                      0x15000, 0x16000, TOP_PAGE, 0x100000000ull};
    unsigned seen[8] = {0}, runs = 0;
    char src[512];
    for (int opc = 0; opc < 256; opc++) {
        const jk_pvm_opinfo *info = jk_pvm_opinfo_get((uint8_t)opc);
        if (!info || (strncmp(info->name, "load_", 5) != 0 && strncmp(info->name, "store_", 6) != 0) ||
            strncmp(info->name, "load_imm", 8) == 0)
            continue;
        unsigned w = op_width(info->name);
        for (size_t b = 0; b < N(bounds); b++) {
            uint64_t at[] = {bounds[b] - w, bounds[b] - w + 1, bounds[b] - 1, bounds[b]};
            for (size_t k = 0; k < N(at); k++)
                for (int split = 0; split < 4; split++) {
                    uint32_t addr = (uint32_t)at[k];
                    /* base + offset = addr mod 2^32, four ways */
                    uint64_t base;
                    int32_t off;
                    switch (split) {
                    case 0: base = addr; off = 0; break;
                    case 1: base = (uint32_t)(addr - 0x1000u); off = 0x1000; break;
                    case 2: base = 0xABCD000000000000ull | (uint32_t)(addr + 5u); off = -5; break;
                    default: base = (uint32_t)(addr + 0x80000000u); off = INT32_MIN; break; /* wraps */
                    }
                    bool direct = info->format == JK_PVM_ARGS_REG_IMM || info->format == JK_PVM_ARGS_IMM_IMM;
                    if (direct && split)
                        continue;
                    switch (info->format) {
                    case JK_PVM_ARGS_REG_IMM: /* load_u8 ra, addr / store_u8 ra, addr */
                        snprintf(src, sizeof src, "    load_imm_64 r7, 0xF1E2D3C4B5A69788\n    %s r7, %#x\n    trap\n",
                                 info->name, addr);
                        break;
                    case JK_PVM_ARGS_IMM_IMM: /* store_imm_u8 addr, value */
                        snprintf(src, sizeof src, "    %s %#x, -2\n    trap\n", info->name, addr);
                        break;
                    case JK_PVM_ARGS_REG_IMM_IMM: /* store_imm_ind_u8 ra, off, value */
                        snprintf(src, sizeof src, "    load_imm_64 r8, %#llx\n    %s r8, %d, -3\n    trap\n",
                                 (unsigned long long)base, info->name, off);
                        break;
                    case JK_PVM_ARGS_REG_REG_IMM: /* load_ind_u8 ra, rb, off / store_ind_u8 ra, rb, off */
                        snprintf(src, sizeof src,
                                 "    load_imm_64 r8, %#llx\n    load_imm_64 r7, 0x8877665544332211\n"
                                 "    %s r7, r8, %d\n    trap\n",
                                 (unsigned long long)base, info->name, off);
                        break;
                    default:
                        continue;
                    }
                    jk_pvm_program *prog = jk_test_asm_program(src, true);
                    if (!prog)
                        printf("%s", src);
                    JK_REQUIRE(prog != NULL);
                    jk_pvm_memory *mem[2];
                    jk_pvm_state st[2];
                    jk_pvm_exit ex[2];
                    for (int e = 0; e < 2; e++) {
                        JK_REQUIRE(start_edges(&mem[e], &st[e]));
                        JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e],
                                                     adv_engine_of(e)) == JK_OK);
                    }
                    int before = jk_test_failures();
                    JK_CHECK_SAME_STATE(st, ex);
                    jk_test_check_same_memory(mem[0], mem[1], 0x10000, 0x17000);
                    jk_test_check_same_memory(mem[0], mem[1], TOP_PAGE, TOP_PAGE);
                    /* the Graypaper's statuses (docs/pvm.md): below 64 KiB
                     * anywhere in the range (a wrap past 2^32 included) is a
                     * panic; else the lowest inaccessible byte's page faults
                     * (for stores read-only pages are inaccessible); a fault
                     * or panic changes no memory */
                    uint64_t lo = addr, hi = (uint64_t)addr + w; /* [lo, hi) before wrapping */
                    bool guard = lo < 0x10000 || hi > 0x100000000ull;
                    bool store = strncmp(info->name, "store", 5) == 0;
                    uint64_t bad = UINT64_MAX; /* the lowest inaccessible byte */
                    for (uint64_t a = lo; !guard && a < hi && bad == UINT64_MAX; a++)
                        if (!edge_accessible((uint32_t)a, store))
                            bad = a;
                    for (int e = 0; e < 2; e++) {
                        if (guard || bad == UINT64_MAX) {
                            JK_CHECK_EQ(ex[e].status, JK_PVM_PANIC); /* the guard, or the closing trap */
                        } else {
                            JK_CHECK_EQ(ex[e].status, JK_PVM_PAGE_FAULT);
                            JK_CHECK_EQ(ex[e].fault_address, (uint32_t)bad & ~(uint32_t)(JK_PVM_PAGE_SIZE - 1));
                        }
                    }
                    if (jk_test_failures() != before)
                        printf("%s", src);
                    if (ex[0].status < 8)
                        seen[ex[0].status]++;
                    runs++;
                    for (int e = 0; e < 2; e++) {
                        if (ex[e].status == JK_PVM_PAGE_FAULT || (ex[e].status == JK_PVM_PANIC && guard)) {
                            const uint32_t *d;
                            size_t nd;
                            jk_pvm_memory_dirty_pages(mem[e], &d, &nd);
                            JK_CHECK_EQ(nd, 0u);
                        }
                        jk_pvm_memory_free(mem[e]);
                    }
                    jk_pvm_program_free(prog);
                }
        }
    }
    /* every outcome was met: done (the trap), panic at the guard, fault */
    JK_CHECK(seen[JK_PVM_PANIC] > 100 && seen[JK_PVM_PAGE_FAULT] > 100);
    JK_CHECK(runs > 2000);
}

/* ---- sbrk against its model (docs/pvm.md: ω_D ← the heap top, the top
 * moves up by ω_A and the pages it crosses become read-write; past the
 * limit, or with no heap, 0 and nothing changes) ---- */

#define HEAP_TOP0 0x40010u  /* not page-aligned: the first sbrk maps 0x40000 */
#define HEAP_LIMIT 0x46000u

JK_TEST(test_adv_pvm_edges_sbrk_model)
{
    static const uint64_t sizes[] = {0, 1, 4095, 1, 4096, 0, 8191, 1ull << 32, 1ull << 63, UINT64_MAX,
                                     UINT64_MAX - 0x40000, 0x2000, 0x1000, 0, 0x1000 - 0x12, 1, 1, 1, 0};
    char src[4096];
    size_t len = 0;
    uint64_t top = HEAP_TOP0, want[N(sizes)]; /* ends exactly at the limit, then one past it */
    bool mapped[(HEAP_LIMIT - 0x40000) / JK_PVM_PAGE_SIZE + 1] = {false};
    for (size_t i = 0; i < N(sizes); i++) {
        /* sbrk r9, r8; store r9 at OUT_LO + 8i */
        len += (size_t)snprintf(src + len, sizeof src - len,
                                "    load_imm_64 r8, %#llx\n    sbrk r9, r8\n    store_u64 r9, %u\n",
                                (unsigned long long)sizes[i], OUT_LO + (unsigned)i * 8);
        uint64_t n = sizes[i];
        if (n > HEAP_LIMIT - top) {
            want[i] = 0;
        } else {
            want[i] = top;
            for (uint64_t a = top & ~(uint64_t)(JK_PVM_PAGE_SIZE - 1); a < top + n; a += JK_PVM_PAGE_SIZE)
                mapped[(a - 0x40000) / JK_PVM_PAGE_SIZE] = true;
            top += n;
        }
    }
    len += (size_t)snprintf(src + len, sizeof src - len, "    trap\n");
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    JK_REQUIRE(prog != NULL);
    jk_pvm_memory *mem[2];
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    for (int e = 0; e < 2; e++) {
        JK_REQUIRE(adv_start(&mem[e], &st[e], 1000));
        jk_pvm_memory_set_heap(mem[e], HEAP_TOP0, HEAP_LIMIT);
        JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e], adv_engine_of(e)) ==
                   JK_OK);
    }
    JK_CHECK_SAME_STATE(st, ex);
    jk_test_check_same_memory(mem[0], mem[1], 0x40000, HEAP_LIMIT);
    for (int e = 0; e < 2; e++) {
        JK_CHECK_EQ(ex[e].status, JK_PVM_PANIC);
        const uint8_t *page = jk_pvm_memory_page(mem[e], OUT_LO);
        JK_REQUIRE(page != NULL);
        for (size_t i = 0; i < N(sizes); i++) {
            uint64_t got;
            memcpy(&got, page + i * 8, 8);
            if (got != want[i])
                printf("sbrk %zu (%#llx) on %s: %#llx, the model %#llx\n", i, (unsigned long long)sizes[i],
                       e ? "jit" : "interp", (unsigned long long)got, (unsigned long long)want[i]);
            JK_CHECK_EQ(got, want[i]);
        }
        for (uint32_t a = 0x40000; a <= HEAP_LIMIT; a += JK_PVM_PAGE_SIZE)
            JK_CHECK_EQ(jk_pvm_memory_access_at(mem[e], a) == JK_PVM_ACCESS_WRITE,
                        mapped[(a - 0x40000) / JK_PVM_PAGE_SIZE]);
    }
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
    jk_pvm_program_free(prog);
}
