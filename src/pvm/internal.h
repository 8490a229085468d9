/*
 * internal.h — what the files of src/pvm share: the pre-decoded program, the
 * page table, and the inline memory fast paths the interpreter uses.
 */
#ifndef JK_PVM_INTERNAL_H
#define JK_PVM_INTERNAL_H

#include "jark/pvm.h"
#include "opcodes.h"

#include <string.h>

#define JK_LIKELY(x) __builtin_expect(!!(x), 1)
#define JK_UNLIKELY(x) __builtin_expect(!!(x), 0)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define JK_HOST_BIG_ENDIAN 1
#else
#define JK_HOST_BIG_ENDIAN 0
#endif

/* X_n: sign-extend the low 8n bits of v (n in 0..8) to 64 bits. */
static inline uint64_t jk_pvm_sign_extend(uint64_t v, unsigned n)
{
    if (n == 0 || n >= 8)
        return v;
    unsigned shift = 64 - 8 * n;
    return (uint64_t)((int64_t)(v << shift) >> shift);
}

/* ---- pre-decoded program ---- */

#define JK_PVM_NO_TARGET UINT32_MAX
/* The handler index of a position that execution reaches by falling through a
 * skip capped at 24 but whose bitmask bit is clear (or pc 0 with its bit
 * clear): not an instruction start, so it panics where it stands, as a byte
 * that is not an opcode does (Lean executeStep: `!bitmaskValid → panic`).
 * 255 is no opcode. */
#define JK_PVM_OPC_NOT_INSN 255

/* One decoded instruction, 32 bytes. Instructions are stored in pc order, so
 * the fall-through successor of insns[i] is always insns[i + 1]; the last entry
 * is the implicit trap at pc = |c| that ends every program. */
typedef struct jk_pvm_insn {
    uint8_t opcode;     /* handler index: the opcode byte (bad bytes panic) */
    uint8_t ra, rb, rd; /* register operands, capped at 12 */
    uint32_t pc;        /* where the instruction sits in the code */
    uint32_t target;    /* branch/jump target as an index, or JK_PVM_NO_TARGET
                           when the target is not a basic-block start */
    uint32_t cost;      /* gas charged if a basic block is entered here: this
                           instruction through the block's terminator */
    uint64_t imm_x, imm_y;
} jk_pvm_insn;

struct jk_pvm_program {
    uint8_t *bytes;         /* our own copy of the blob */
    size_t len;
    jk_pvm_blob blob;       /* views into bytes */
    jk_pvm_insn *insns;     /* insn_count entries */
    uint32_t insn_count;
    uint32_t *pc_to_index;  /* code_len + 1 entries; JK_PVM_NO_TARGET if none */
    uint8_t *block_start;   /* per index: 1 if the Graypaper's ϖ holds its pc */
    uint32_t *jump_targets; /* jump table entries as indices (or NO_TARGET) */
    struct jk_pvm_jit *jit; /* compiled code (jit.h), or NULL: run interpreted */
};

/* ---- memory ----
 * A two-level page table: 1024 leaves of 1024 entries, each leaf covering
 * 4 MiB of the address space. An entry is the address of a 4 KiB-aligned page
 * buffer with access bits in its low bits, or 0 when the page is not mapped.
 *
 * A frame should cost what it touches (issue 16): the top level holds each
 * leaf as its byte offset from one shared all-zero leaf (jk_pvm_empty_leaf),
 * so the all-zero top level that calloc gives is the empty address space (no
 * initialisation loop) and a lookup is still two loads, an add and a test,
 * with no NULL check. Leaves are allocated when a page in their range is first
 * mapped; the memory lists them, with the range of entries ever written in
 * each, so freeing visits only what was touched. */
#define JK_PAGE_R ((uintptr_t)1)
#define JK_PAGE_W ((uintptr_t)2)
#define JK_PAGE_SHARED ((uintptr_t)4) /* buffer not ours: never written or freed */
#define JK_PAGE_COW ((uintptr_t)8)    /* shared, writable after a private copy */
#define JK_PAGE_FLAGS ((uintptr_t)(JK_PVM_PAGE_SIZE - 1))
#define JK_LEAF_BITS 10
#define JK_LEAF_SIZE (1u << JK_LEAF_BITS)
#define JK_TOP_SIZE (JK_PVM_PAGE_COUNT >> JK_LEAF_BITS)

extern const uintptr_t jk_pvm_empty_leaf[JK_LEAF_SIZE];

/* A leaf the memory allocated: which top-level slot, and the entries
 * [lo, hi] ever written (only those can hold pages to free). */
typedef struct jk_pvm_leaf_use {
    uint16_t top, lo, hi;
} jk_pvm_leaf_use;

struct jk_pvm_memory {
    uintptr_t top[JK_TOP_SIZE]; /* leaf address − jk_pvm_empty_leaf's (0: none) */
    uint32_t heap_top, heap_limit;
    jk_pvm_resolver resolver;  /* maps pages on first touch (may be NULL) */
    void *resolver_ctx;
    struct jk_pvm_mem_pool *pool; /* where jk_pvm_memory_free gives parts back (or NULL) */
    uint32_t *dirty;           /* pages given a private copy, in order */
    size_t dirty_count, dirty_cap;
    uint32_t leaf_count;       /* entries of leaves[] in use */
    /* The recompiler's context (jit_run.c), kept from one run to the next so
     * that its TLBs survive a host call that changed no page-table entry
     * (issue 16: a flush of 32 words on every entry, ~45 k entries a block).
     * `gen` counts changes of entries (jk_slot, park, free); the TLBs are
     * valid while `jit_gen` equals it. NULL until the first compiled run;
     * kept when the memory goes back to its pool. */
    struct jk_jit_ctx *jit_ctx;
    uint64_t gen, jit_gen;
    /* Host calls served inside a compiled run (jit_host.c; NULL: none). */
    jk_pvm_host_fn host_fn;
    void *host_ctx;
    bool host_args; /* the server reads and writes only φ7..φ12 and gas (jit_host.c) */
    /* Arenas (memory_arena.c): host ranges that hold the private pages of
     * guest ranges mapped in one piece, so that consecutive guest pages are
     * consecutive host pages; NULL/0 when none. */
    struct jk_pvm_arena *arenas;
    uint32_t arena_count, arena_cap;
    /* Guest loads and stores that took the general slow path
     * (jk_mem_prepare: the resolver, copy-on-write, faults), not the fast
     * paths nor jk_pvm_mem_pair's; tests/adversary bound it. */
    uint64_t general_accesses;
    jk_pvm_leaf_use leaves[JK_TOP_SIZE];
};

/* ---- arenas (memory_arena.c; docs/pvm.md "Memory (session 9)") ----
 * An arena covers guest pages [first, first + count) with one host range,
 * page first + i at host + i·4096; arenas never cover the same guest page.
 * Guest page p's private buffer, whenever it has one and an arena covers p,
 * is its slot there (mapped, or a copy-on-write page written: jk_unshare),
 * so no other page ever uses that slot. */
#define JK_ARENA_MIN_PAGES 16u /* smaller maps take single page buffers */
/* Page p's slot, or NULL when no arena covers p. */
uint8_t *jk_pvm_arena_slot(const jk_pvm_memory *mem, uint32_t p);
/* Cover [first, first + count) (none of it covered yet) with a new arena;
 * false when the host refuses the range (the caller then takes single page
 * buffers: an arena is an optimisation, never needed). */
bool jk_pvm_arena_add(jk_pvm_memory *mem, uint32_t first, uint32_t count);
/* Page p's slot is free again: give its host memory back. */
void jk_pvm_arena_release(uint8_t *slot);
/* Unmap every arena (the memory is emptied or freed). */
void jk_pvm_arena_free_all(jk_pvm_memory *mem);

/* Leaf t of a top level (the empty leaf when none was allocated). */
static inline const uintptr_t *jk_pvm_leaf(const uintptr_t *top, uint32_t t)
{
    return (const uintptr_t *)((uintptr_t)jk_pvm_empty_leaf + top[t]);
}

/* The entry of page p (0 when unmapped). */
static inline uintptr_t jk_pvm_entry(const jk_pvm_memory *mem, uint32_t p)
{
    return jk_pvm_leaf(mem->top, p >> JK_LEAF_BITS)[p & (JK_LEAF_SIZE - 1)];
}

/* The fast path: a pointer to n bytes at addr when they sit in one page that
 * allows `need`, else NULL (the caller takes the slow path). Takes the top
 * level itself so the interpreter can keep it in a register: guest stores go
 * through byte pointers, which would otherwise force a reload after every
 * store. */
static inline uint8_t *jk_pvm_page_ptr(const uintptr_t *top, uint32_t addr, unsigned n,
                                       uintptr_t need)
{
    uintptr_t e = jk_pvm_leaf(top, addr >> (JK_PVM_PAGE_SHIFT + JK_LEAF_BITS))[(addr >> JK_PVM_PAGE_SHIFT) & (JK_LEAF_SIZE - 1)];
    uint32_t off = addr & (JK_PVM_PAGE_SIZE - 1);
    if (JK_LIKELY((e & need) == need && off <= JK_PVM_PAGE_SIZE - n))
        return (uint8_t *)(e & ~JK_PAGE_FLAGS) + off;
    return NULL;
}

/* Outcome of a guest memory access on the slow path. */
enum { JK_MEM_OK = 0, JK_MEM_PANIC = 1, JK_MEM_FAULT = 2, JK_MEM_NOMEM = 3 };

/* Guest load/store of n bytes (1, 2, 4 or 8) at addr, with the Graypaper's
 * rules: addresses wrap mod 2^32; any byte below 64 KiB panics; otherwise a
 * byte in an inaccessible (or, for stores, read-only) page faults at that
 * page's address. A faulting store writes nothing. Unmapped pages are offered
 * to the memory's resolver first; a store to a copy-on-write page copies it
 * (JK_MEM_NOMEM when that copy cannot be allocated). */
int jk_pvm_mem_load_slow(jk_pvm_memory *mem, uint32_t addr, unsigned n,
                         uint64_t *value, uint32_t *fault_address);
int jk_pvm_mem_store_slow(jk_pvm_memory *mem, uint32_t addr, unsigned n,
                          uint64_t value, uint32_t *fault_address);
/* The page-straddling access the slow paths take first: n bytes at addr
 * over two pages that both allow it as they are (readable; for a store,
 * writable in place). *value is loaded, or stored, and true returned; false
 * (nothing read or changed) when anything else applies — an in-page access,
 * an unmapped, parked, copy-on-write or read-only page, the guard, a wrap
 * past 2^32 —, which the general path then decides. Changes no page-table
 * entry, so the recompiler's TLBs stay valid. */
bool jk_pvm_mem_pair(jk_pvm_memory *mem, uint32_t addr, unsigned n, uint64_t *value, bool write);

/* Interpreter back ends; both give identical results (the tests check). */
typedef enum jk_pvm_backend {
    JK_PVM_BACKEND_SWITCH = 0, /* portable reference */
    JK_PVM_BACKEND_GOTO = 1,   /* computed goto (GNU C); the default */
    JK_PVM_BACKEND_JIT = 2,    /* the recompiler (jit.c), where the program has code */
} jk_pvm_backend;

/* The run of a state whose pc is not an instruction start, shared by every
 * engine (the reference, jarchain/jar JAVM `executeStep`, panics where the
 * bitmask bit is clear, charging the step's 1 gas): a fresh run
 * (!block_paid) is a one-instruction block that panics at that pc and costs
 * 1, or exits out of gas when less than 1 is left; nothing else changes. A
 * resume that claims its block is paid (block_paid) cannot be at such a pc:
 * JK_ERR_PVM_BAD_PC, nothing changed. */
jk_err jk_pvm_run_not_insn(jk_pvm_state *state, jk_pvm_exit *out);

/* jk_pvm_run with a chosen back end (falls back to the switch where computed
 * goto is not built). */
jk_err jk_pvm_run_backend(const jk_pvm_program *prog, jk_pvm_memory *mem,
                          jk_pvm_state *state, jk_pvm_exit *out, int backend);

/* jk_pvm_run on the program's compiled code (jit_run.c); prog->jit set. */
jk_err jk_pvm_jit_run(const jk_pvm_program *prog, jk_pvm_memory *mem, jk_pvm_state *state,
                      jk_pvm_exit *out);

/* sbrk: grow the heap by size bytes; returns the old top, or 0 on failure. */
uint64_t jk_pvm_mem_sbrk(jk_pvm_memory *mem, uint64_t size);

static inline uint64_t jk_pvm_load_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
#if JK_HOST_BIG_ENDIAN
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
#else
    memcpy(&v, p, n);
#endif
    return v;
}

static inline void jk_pvm_store_le(uint8_t *p, uint64_t v, unsigned n)
{
#if JK_HOST_BIG_ENDIAN
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#else
    memcpy(p, &v, n);
#endif
}

#endif
