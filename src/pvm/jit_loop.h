/*
 * jit_loop.h — the strided-loop compiler's shared types (jit_loop.c: the
 * scan and the copies; jit_loop_check.c: the check; jit_loop_vec.c: the 16-byte moves and the
 * folded bases of one-block copies, session 7). Internal to src/pvm.
 */
#ifndef JK_PVM_JIT_LOOP_H
#define JK_PVM_JIT_LOOP_H

#include "jit_cc.h"

#if JK_PVM_HAVE_JIT

#define JK_LOOP_MAX_INSNS 48   /* instructions in the block, branch included */
#define JK_LOOP_CURSORS 4      /* = the size of ctx->loop_delta */
#define JK_LOOP_MAX_STRIDE 2048
/* A step in a register: K is taken by a shift at each check (at worst half
 * the exact count), so the check only pays when it buys several iterations;
 * larger steps go to the ordinary code, tested first so that failing costs
 * a few instructions. */
#define JK_LOOP_MAX_REG_STEP 256
/* The check with runs (one-block loops, session 12) takes register steps up
 * to this: a run of host-contiguous pages (up to 1 MiB) holds many
 * iterations even of a large step, where one page holds a few. Below
 * JK_LOOP_WIDE_K iterations for a step of 256 or more (single page buffers,
 * a leaf's end), the wide copy runs JK_LOOP_WIDE_RUN iterations and comes
 * back to that check. */
#define JK_LOOP_MAX_RUN_STEP 65536
#define JK_LOOP_WIDE_K 8
#define JK_LOOP_WIDE_RUN 64
#define JK_LOOP_MAX_REACH 1024 /* |offset| of an access, and one iteration's span */
#define JK_LOOP_STILL 4096     /* K when no cursor moves */
/* Pages past the cursor's one that a check's run may add (jk_loop_run,
 * session 9): 1 MiB of room at most, which keeps room < 2^21 for
 * jk_loop_div1, and the scan's cost per check bounded. */
#define JK_LOOP_RUN_PAGES 255
_Static_assert(sizeof(((jk_jit_ctx *)0)->loop_delta) == JK_LOOP_CURSORS * 8, "one delta per cursor");
#define JK_LOOP_VECS 8         /* xmm0..xmm7; xmm15 is scratch */
#define JK_VEC_SKIP 0xFF

typedef struct jk_cursor {
    unsigned reg;    /* guest register */
    uint8_t host;    /* its host register */
    int64_t stride;  /* what one iteration adds (0: not written) */
    int sreg;        /* or the guest register that holds it (-1: none) */
    uint32_t update; /* the instruction that adds it, or UINT32_MAX */
    int xreg, preg;  /* a derived base: reg = xreg + preg, stepped with preg (-1: not one) */
    uint32_t def;    /* ... computed by this instruction */
    bool pre;        /* ... after preg's step in the iteration (a constant one) */
    bool fold;       /* ... not kept in its register by the copy (jk_pvm_jit_loop_fold) */
    bool dead;       /* ... whose value no exit sees: nothing to write back */
    int64_t lo, hi;  /* bytes one iteration touches: [cursor + lo, cursor + hi),
                        relative to the cursor's value at the iteration's start */
    bool write;
} jk_cursor;

/* One block [first, last] whose branch `last` goes back to first; or two
 * blocks, B1 = [first, mid] and B2 = [second, last] (first < second), where
 * B1's branch `mid` continues to B2 in one direction (taken when
 * stay_taken, else falling through) and leaves the loop in the other, and
 * B2's branch `last` goes back to first. The path of an iteration is
 * [first, mid) then [second, last), branches left out: loop_next. */
typedef struct jk_kernel_loop {
    uint32_t first, mid, second, last; /* mid = UINT32_MAX and second = first: one block */
    bool stay_taken;
    uint32_t cost; /* one iteration's gas: both blocks' */
    unsigned ncur;
    jk_cursor cur[JK_LOOP_CURSORS];
    /* 16-byte moves (jk_pvm_jit_loop_vec; one-block loops only): pair p's
     * registers vlo[p] (the lower address) and vhi[p] live in xmm p during
     * the copy; vrole[k − first] is 0, or 1 + p at the first of a pair's
     * two adjacent accesses (one movdqu), or JK_VEC_SKIP at the second */
    unsigned nvec;
    uint8_t vlo[JK_LOOP_VECS], vhi[JK_LOOP_VECS];
    uint8_t vrole[JK_LOOP_MAX_INSNS];
    /* A bulk copy (jk_pvm_jit_loop_bulk, session 11): cur[bulk_src] only
     * loads, the other cursor only stores what it loaded, both step by
     * 1 << bulk_shift; the branch compares cur[bulk_cmp] with bulk_end
     * (`branch_ne` when bulk_ne, else `branch_lt_u` cursor first) */
    bool bulk, bulk_ne;
    uint8_t bulk_src, bulk_cmp, bulk_shift, bulk_end;
    /* ... or a fill (session 12): cur[0] only stores bulk_vreg's value
     * (bulk_vimm when bulk_vreg < 0), 1 << bulk_shift bytes a step */
    bool bulk_fill;
    int8_t bulk_vreg;
    uint64_t bulk_vimm;
} jk_kernel_loop;

/* jit_loop_check.c: the check. */
/* A cursor's probe in the check that missed: its rel32 jump, and where the
 * cursor's address is formed (jk_pvm_jit_loop_walks comes back there). */
typedef struct jk_loop_miss {
    size_t at, again;
} jk_loop_miss;
/* Does the copy's trip go back to the check, not to the ordinary code? */
bool jk_pvm_jit_loop_retries(const jk_kernel_loop *l);
/* The check (with the runs of pages past the cursors' when `runs`, else
 * their pages only); misses jump to miss[j].at
 * (for jk_pvm_jit_loop_walks), a step in a register outside
 * 1..JK_LOOP_MAX_REG_STEP (with runs: outside 1..JK_LOOP_MAX_RUN_STEP, or
 * a step of 256 or more with fewer than JK_LOOP_WIDE_K iterations) through
 * wide[0..*nwide) (for the caller). */
void jk_pvm_jit_loop_check(jk_cc *c, const jk_kernel_loop *l, bool runs, size_t wide[2 * JK_LOOP_CURSORS],
                           unsigned *nwide, jk_loop_miss miss[JK_LOOP_CURSORS]);
/* The check's misses: walk the page table, refill, probe again. */
void jk_pvm_jit_loop_walks(jk_cc *c, const jk_kernel_loop *l, const jk_loop_miss *miss);

/* jit_loop_vec.c (docs/pvm.md "Loops and copies (session 7)"). */
/* Fill l's vector fields: load and store pairs that move 16 bytes at once. */
void jk_pvm_jit_loop_vec(const jk_pvm_program *prog, jk_kernel_loop *l);
/* Entering the copy: xmm p = (vlo[p], vhi[p]). Leaves rcx and rdx alone. */
void jk_pvm_jit_loop_vec_enter(jk_cc *c, const jk_kernel_loop *l);
/* Leaving the copy: the registers from xmm p. */
void jk_pvm_jit_loop_vec_leave(jk_cc *c, const jk_kernel_loop *l);
/* Mark the derived bases the copy need not compute (cursor.fold). */
void jk_pvm_jit_loop_fold(const jk_cc *c, jk_kernel_loop *l);
/* rax = what a folded base holds where the copy is left before path
 * instruction `at` (UINT32_MAX: an iteration's end, x + p − step). */
void jk_pvm_jit_loop_fold_value(jk_cc *c, const jk_cursor *cu, uint32_t at);

/* jit_loop_bulk.c (docs/pvm.md "Bulk copies (session 11)"). */
/* Fill l's bulk fields: a loop that only copies bytes from one cursor's
 * span to the other's. */
void jk_pvm_jit_loop_bulk(const jk_pvm_program *prog, jk_kernel_loop *l);
/* At the checked copy's entry: move as many of its iterations as `rep
 * movsb` can (none when too few, or the ranges overlap). */
void jk_pvm_jit_loop_bulk_emit(jk_cc *c, const jk_kernel_loop *l);

#endif /* JK_PVM_HAVE_JIT */
#endif
