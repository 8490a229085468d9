/*
 * jark/pvm.h — the PVM: program blobs, paged memory, and the interpreter.
 *
 * The 64-bit PVM of the JAM Graypaper, Appendix A: 13 registers φ0..φ12, a
 * 32-bit address space in 4 KiB pages (the first 64 KiB never accessible),
 * halt by a dynamic jump to 0xFFFF0000.
 *
 * Life cycle:
 *   1. jk_pvm_program_load() parses and validates a program blob once and turns
 *      it into a pre-decoded form (fixed-width instructions, resolved jump
 *      targets, per-block gas). A program is immutable afterwards and may be
 *      shared by any number of runs, on any number of threads.
 *   2. jk_pvm_memory_new() + jk_pvm_memory_map() build the address space.
 *   3. jk_pvm_run() executes from a jk_pvm_state until an exit: halt, panic,
 *      page fault, out of gas, or a host call (`ecalli N`). After a host call or
 *      out-of-gas the embedder may change registers, memory or gas and call
 *      jk_pvm_run() again with the same state to resume.
 *
 * Gas (architecture §4): every instruction costs 1, and a basic block's whole
 * cost is charged when the block is entered. A block whose cost exceeds the gas
 * left is not entered: the run exits JK_PVM_OUT_OF_GAS with pc at the block's
 * first instruction and registers, memory and gas exactly as they were.
 *
 * Nothing here knows about caps or the kernel. This layer depends only on
 * jark/err.h.
 */
#ifndef JARK_PVM_H
#define JARK_PVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jark/err.h"

#define JK_PVM_REGS 13
#define JK_PVM_PAGE_SIZE 4096u
#define JK_PVM_PAGE_SHIFT 12
#define JK_PVM_PAGE_COUNT (1u << 20)          /* pages in the 32-bit space */
#define JK_PVM_GUARD_SIZE 0x10000u            /* first 64 KiB: never accessible */
#define JK_PVM_HALT_ADDRESS 0xFFFF0000u       /* djump here halts */
#define JK_PVM_MAX_SKIP 24                    /* Graypaper's skip bound */
#define JK_PVM_MAX_CODE_LEN (64u << 20)       /* documented bound on |c| */
#define JK_PVM_MAX_JUMP_TABLE (1u << 24)      /* documented bound on |j| */

/* ---------------------------------------------------------------------------
 * Instruction set
 * ------------------------------------------------------------------------- */

/* Argument formats of Graypaper A.5 (the operands an opcode is followed by). */
typedef enum jk_pvm_argfmt {
    JK_PVM_ARGS_NONE,            /* trap, fallthrough */
    JK_PVM_ARGS_IMM,             /* ecalli */
    JK_PVM_ARGS_REG_IMM64,       /* load_imm_64 */
    JK_PVM_ARGS_IMM_IMM,         /* store_imm_* */
    JK_PVM_ARGS_OFFSET,          /* jump */
    JK_PVM_ARGS_REG_IMM,         /* jump_ind, load_imm, load_*, store_* */
    JK_PVM_ARGS_REG_IMM_IMM,     /* store_imm_ind_* */
    JK_PVM_ARGS_REG_IMM_OFFSET,  /* load_imm_jump, branch_*_imm */
    JK_PVM_ARGS_REG_REG,         /* move_reg, sbrk, bit counts, extends */
    JK_PVM_ARGS_REG_REG_IMM,     /* *_ind, *_imm ALU ops */
    JK_PVM_ARGS_REG_REG_OFFSET,  /* branch_* */
    JK_PVM_ARGS_REG_REG_IMM_IMM, /* load_imm_jump_ind */
    JK_PVM_ARGS_REG_REG_REG,     /* three-register ALU ops */
} jk_pvm_argfmt;

/* Static description of one opcode. Names are the Graypaper's, lower case
 * (e.g. "add_imm_32", "branch_ge_u"); they are the assembler's mnemonics. */
typedef struct jk_pvm_opinfo {
    const char *name;
    uint8_t opcode;
    uint8_t format;        /* a jk_pvm_argfmt */
    bool is_terminator;    /* ends a basic block (Graypaper's set T) */
} jk_pvm_opinfo;

/* The description of `opcode`, or NULL when the byte is not an instruction
 * (executing such a byte panics). Static storage; never free it. */
const jk_pvm_opinfo *jk_pvm_opinfo_get(uint8_t opcode);

/* The description for a mnemonic, or NULL. Static storage. */
const jk_pvm_opinfo *jk_pvm_opinfo_find(const char *name);

/* ---------------------------------------------------------------------------
 * Program blobs
 * ------------------------------------------------------------------------- */

/* A parsed program blob: views into the caller's bytes, valid as long as they
 * are. Layout (Graypaper A.2): E(|j|) ‖ E1(z) ‖ E(|c|) ‖ E_z(j) ‖ c ‖ k, where E
 * is the JAM variable-length natural, z the jump-table entry size (0..4), and k
 * the opcode bitmask, ceil(|c|/8) bytes, bit i (LSB first) marking byte i of c
 * as the start of an instruction. */
typedef struct jk_pvm_blob {
    const uint8_t *code;
    const uint8_t *bitmask;
    const uint8_t *jump_table;  /* jump_count entries of jump_entry_size bytes */
    uint32_t code_len;
    uint32_t jump_count;
    uint8_t jump_entry_size;
} jk_pvm_blob;

/* Parse the container of a program blob (no instruction-level checks).
 * @param bytes,len  the blob; borrowed, must outlive *out.
 * @param out        filled on success.
 * @param diag       optional; gets the reason on failure.
 * @return JK_OK; JK_ERR_PVM_BLOB when truncated, a length prefix is not a
 *         canonical JAM natural, z > 4, or bytes follow the bitmask;
 *         JK_ERR_PVM_TOO_LARGE past the documented bounds. Bits of the last
 *         bitmask byte past |c| are ignored (the disassembler keeps them with
 *         `.bitmask_tail`). */
jk_err jk_pvm_blob_parse(const uint8_t *bytes, size_t len, jk_pvm_blob *out,
                         jk_diag *diag);

/* Entry i of the jump table. Precondition: i < blob->jump_count. */
uint32_t jk_pvm_blob_jump_entry(const jk_pvm_blob *blob, uint32_t i);

/* True when bit `pc` of the bitmask is set; positions past |c| count as set
 * (the Graypaper extends k with ones). */
bool jk_pvm_blob_is_insn_start(const jk_pvm_blob *blob, uint32_t pc);

/* Graypaper skip(i): bytes of operands following the opcode at pc, at most 24. */
uint32_t jk_pvm_blob_skip(const jk_pvm_blob *blob, uint32_t pc);

/* Encode a JAM variable-length natural (1..9 bytes) into out[9]; returns the
 * number of bytes written. */
size_t jk_pvm_encode_natural(uint64_t value, uint8_t out[9]);

/* Decode a JAM natural from bytes[0..len). Returns the bytes consumed, or 0
 * when truncated. */
size_t jk_pvm_decode_natural(const uint8_t *bytes, size_t len, uint64_t *value);

/* Decoded operands of one instruction, as the Graypaper defines them. Used by
 * the disassembler and by tests; the interpreter uses its own compact form. */
typedef struct jk_pvm_operands {
    uint8_t opcode;
    uint8_t format;     /* jk_pvm_argfmt, or JK_PVM_ARGS_NONE for a bad opcode */
    uint8_t ra, rb, rd; /* register indices, already capped at 12 */
    uint32_t skip;      /* operand bytes after the opcode */
    uint64_t imm_x;     /* ν_X (sign-extended), or a branch target for OFFSET */
    uint64_t imm_y;     /* ν_Y (sign-extended), or a branch target */
} jk_pvm_operands;

/* Decode the instruction at pc (pc < code_len) into *out. Never fails: bytes
 * past the end of code read as zero, exactly as the Graypaper says. */
void jk_pvm_decode_operands(const jk_pvm_blob *blob, uint32_t pc,
                            jk_pvm_operands *out);

/* ---------------------------------------------------------------------------
 * Pre-decoded programs
 * ------------------------------------------------------------------------- */

typedef struct jk_pvm_program jk_pvm_program;

/* Parse, validate and pre-decode a program blob.
 * @param bytes,len  the blob; copied, so the caller may free it afterwards.
 * @param out        on success, a new program the caller owns (free with
 *                   jk_pvm_program_free).
 * @param diag       optional; the reason on failure.
 * @return JK_OK, JK_ERR_PVM_BLOB, JK_ERR_PVM_TOO_LARGE or JK_ERR_NOMEM.
 * A program whose instructions are nonsense still loads: the Graypaper gives
 * every byte sequence a meaning (a bad opcode panics when executed). */
jk_err jk_pvm_program_load(const uint8_t *bytes, size_t len,
                           jk_pvm_program **out, jk_diag *diag);

void jk_pvm_program_free(jk_pvm_program *prog);

/* The parsed blob (views into the program's own copy of the bytes). */
const jk_pvm_blob *jk_pvm_program_blob(const jk_pvm_program *prog);

/* True when pc starts a basic block (the Graypaper's ϖ): a valid target for
 * jumps and branches, and the only valid entry point for a fresh run. */
bool jk_pvm_program_is_block_start(const jk_pvm_program *prog, uint32_t pc);

/* ---------------------------------------------------------------------------
 * Memory
 * ------------------------------------------------------------------------- */

typedef enum jk_pvm_access {
    JK_PVM_ACCESS_NONE = 0,
    JK_PVM_ACCESS_READ = 1,
    JK_PVM_ACCESS_WRITE = 3,  /* read and write */
} jk_pvm_access;

typedef struct jk_pvm_memory jk_pvm_memory;

/* A new, wholly inaccessible address space. The caller owns it
 * (jk_pvm_memory_free). @return JK_OK or JK_ERR_NOMEM. */
jk_err jk_pvm_memory_new(jk_pvm_memory **out);
void jk_pvm_memory_free(jk_pvm_memory *mem);

/* Memory reuse (issue 16): a pool keeps freed memories, page-table leaves and
 * page buffers for the next memory made from it, so a short-lived memory (a
 * kernel frame's) costs what it touches and not a calloc of its top level,
 * leaves and pages. A pool and every memory made from it belong to ONE thread
 * at a time (nothing is locked); free the memories before the pool. The pool
 * holds at most a bounded number of each, so it never keeps more than a few
 * MiB. A memory from a pool behaves exactly as one from jk_pvm_memory_new
 * (wholly inaccessible, every page it maps zero-filled). */
typedef struct jk_pvm_mem_pool jk_pvm_mem_pool;

/* @param[out] out  owned by the caller (jk_pvm_mem_pool_free).
 * @return JK_OK or JK_ERR_NOMEM. */
jk_err jk_pvm_mem_pool_new(jk_pvm_mem_pool **out);
void jk_pvm_mem_pool_free(jk_pvm_mem_pool *pool);

/* As jk_pvm_memory_new, from `pool` (NULL: plain jk_pvm_memory_new). The
 * memory's jk_pvm_memory_free gives its parts back to the pool.
 * @return JK_OK or JK_ERR_NOMEM. */
jk_err jk_pvm_memory_new_pooled(jk_pvm_mem_pool *pool, jk_pvm_memory **out);

/* Make [addr, addr+len) accessible with `access`, zero-filled where it was not
 * mapped before (contents of already-mapped pages are kept; their access is
 * changed). addr and len must be page-aligned, the range inside the 32-bit
 * space and above the 64 KiB guard; JK_PVM_ACCESS_NONE unmaps.
 * @return JK_OK, JK_ERR_PVM_MAP (alignment or range) or JK_ERR_NOMEM. */
jk_err jk_pvm_memory_map(jk_pvm_memory *mem, uint32_t addr, uint32_t len,
                         jk_pvm_access access);

/* Access of the page holding addr. */
jk_pvm_access jk_pvm_memory_access_at(const jk_pvm_memory *mem, uint32_t addr);

/* Host-side copies that ignore read-only protection but require every byte to
 * be mapped (JK_ERR_PVM_NOT_MAPPED otherwise, with nothing copied). The range
 * must not wrap past 2^32. A shared page written this way first gets a
 * private copy (JK_ERR_NOMEM if that fails). */
jk_err jk_pvm_memory_write(jk_pvm_memory *mem, uint32_t addr, const void *src,
                           size_t len);
jk_err jk_pvm_memory_read(jk_pvm_memory *mem, uint32_t addr, void *dst,
                          size_t len);

/* Copies with the guest's rules, for host calls that read or write the
 * caller's memory: addresses wrap mod 2^32, the guard and page access apply
 * exactly as for loads and stores, copy-on-write pages are copied, and a
 * refused access changes nothing.
 * @param fault_address  optional: the page-aligned address of the lowest
 *                       inaccessible byte (0 when the range touches the guard).
 * @return JK_OK; JK_ERR_PVM_NOT_MAPPED (refused); JK_ERR_NOMEM. */
jk_err jk_pvm_memory_guest_read(jk_pvm_memory *mem, uint32_t addr, void *dst,
                                size_t len, uint32_t *fault_address);
jk_err jk_pvm_memory_guest_write(jk_pvm_memory *mem, uint32_t addr, const void *src,
                                 size_t len, uint32_t *fault_address);

/* Map the page at addr (page-aligned, above the guard) onto a buffer this
 * memory does not own: `page` is 4096 bytes, 4096-aligned, read-only, and must
 * outlive the mapping (the kernel maps Data caps' pages this way). With
 * JK_PVM_ACCESS_WRITE the page is copy-on-write: the first write gives the
 * memory its own copy and records the page as dirty. Replaces (and frees, if
 * owned) whatever was mapped there.
 * @return JK_OK; JK_ERR_PVM_MAP (bad address, alignment of addr or page, or
 *         access); JK_ERR_NOMEM (the page table for addr cannot be grown;
 *         nothing changed). */
jk_err jk_pvm_memory_map_shared(jk_pvm_memory *mem, uint32_t addr, const uint8_t *page,
                                jk_pvm_access access);

/* Lazy mapping: when an access (guest or host) touches a page that is not
 * mapped, the resolver is called with the page's address first and may map
 * it; if it does not, the access faults as usual. */
typedef void (*jk_pvm_resolver)(void *ctx, jk_pvm_memory *mem, uint32_t page_addr);
void jk_pvm_memory_set_resolver(jk_pvm_memory *mem, jk_pvm_resolver resolver, void *ctx);

/* Host calls served inside a compiled run (issue 16: a host call that leaves
 * compiled code and enters it again costs ~500 host instructions, most of
 * them the exit and the entry). When a memory has a server, compiled code
 * at an `ecalli` first calls it with `state` exactly as jk_pvm_run would
 * return it at that host-call exit (registers, gas, pc after the ecalli,
 * block_paid set) and `host_call` = ν_X. The server answers:
 *   JK_PVM_HOST_EXIT    it did nothing and changed nothing: the run exits
 *                       with JK_PVM_HOST_CALL as it would without a server;
 *   JK_PVM_HOST_SERVED  it did what the embedder does at that exit and
 *                       would run on from `state` (registers and gas as it
 *                       left them; pc and block_paid untouched): the run
 *                       goes on in compiled code, as a fresh jk_pvm_run from
 *                       that state would;
 *   JK_PVM_HOST_DONE    it did its part of the exit but the run must stop:
 *                       the run exits with JK_PVM_HOST_CALL and `state` as
 *                       the server left it (the embedder knows the call is
 *                       done).
 * The server may change the memory's pages and contents (the run's TLBs
 * follow); it must not free the memory or run it. The interpreter never calls
 * it. Cleared when the memory goes back to its pool. */
typedef enum jk_pvm_host_answer {
    JK_PVM_HOST_EXIT = 0,
    JK_PVM_HOST_SERVED = 1,
    JK_PVM_HOST_DONE = 2,
} jk_pvm_host_answer;
typedef struct jk_pvm_state jk_pvm_state;
typedef jk_pvm_host_answer (*jk_pvm_host_fn)(void *ctx, jk_pvm_state *state, uint64_t host_call);
void jk_pvm_memory_set_host(jk_pvm_memory *mem, jk_pvm_host_fn fn, void *ctx);
/* The same for a server that reads only φ7..φ12 and the gas of `state` and
 * changes nothing else of it (the kernel's: a host call's arguments and
 * results): the code stores and reloads only those and the registers a C
 * call does not keep, and not pc nor block_paid, so the server sees the
 * other fields as some earlier point left them (session 14: ~20 host
 * instructions less a host call). Registers, gas and pc after the run are
 * as with jk_pvm_memory_set_host. */
void jk_pvm_memory_set_host_args(jk_pvm_memory *mem, jk_pvm_host_fn fn, void *ctx);

/* Parking (the kernel's in-place resume, docs/abi.md): every mapped page
 * becomes parked — the memory then behaves as if nothing were mapped (guest
 * and host accesses fault or ask the resolver, jk_pvm_memory_access_at says
 * NONE) while each page keeps its buffer, contents and access, and the dirty
 * list is kept. The resolver, asked about a parked page, may give it back as
 * it was with jk_pvm_memory_unpark (or leave it parked: the access faults).
 * jk_pvm_memory_page still sees parked pages; mapping over one replaces or
 * unparks it. Costs O(pages mapped). */
void jk_pvm_memory_park(jk_pvm_memory *mem);
/* jk_pvm_memory_park for the pages at addrs[0..n) only (those not mapped or
 * parked already are left as they are), in O(n): a caller that knows which
 * pages it mapped or unparked since its last park parks just those. */
void jk_pvm_memory_park_pages(jk_pvm_memory *mem, const uint32_t *addrs, size_t n);
bool jk_pvm_memory_parked(const jk_pvm_memory *mem, uint32_t addr);
void jk_pvm_memory_unpark(jk_pvm_memory *mem, uint32_t addr);

/* The 4096 bytes currently mapped at the page holding addr (shared or own),
 * or NULL when unmapped (the resolver is not asked). Borrowed: valid until the
 * page is written, remapped or the memory freed. */
const uint8_t *jk_pvm_memory_page(const jk_pvm_memory *mem, uint32_t addr);

/* Pages that copy-on-write gave a private copy, as page numbers (addr >> 12)
 * in the order it happened; each at most once. Borrowed: valid until the next
 * access that may copy another page. */
void jk_pvm_memory_dirty_pages(const jk_pvm_memory *mem, const uint32_t **pages,
                               size_t *count);

/* Configure the heap that `sbrk` grows: the current top (the next byte sbrk
 * hands out) and the limit it may not pass. Both 0 (the default) disables
 * sbrk: it then returns 0 and changes nothing. */
void jk_pvm_memory_set_heap(jk_pvm_memory *mem, uint32_t top, uint32_t limit);

/* ---------------------------------------------------------------------------
 * Execution
 * ------------------------------------------------------------------------- */

typedef enum jk_pvm_status {
    JK_PVM_HALT,        /* dynamic jump to 0xFFFF0000 */
    JK_PVM_PANIC,       /* trap, bad opcode, invalid jump, access below 64 KiB */
    JK_PVM_PAGE_FAULT,  /* access to an inaccessible (or read-only) page */
    JK_PVM_OUT_OF_GAS,  /* next block costs more than the gas left */
    JK_PVM_HOST_CALL,   /* ecalli: the embedder serves it, then resumes */
} jk_pvm_status;

/* Machine state. Zero-initialise, then set regs, pc and gas. */
typedef struct jk_pvm_state {
    uint64_t regs[JK_PVM_REGS];
    int64_t gas;
    uint32_t pc;
    /* Set by a host-call exit: pc continues a basic block whose gas is already
     * paid, so the resuming jk_pvm_run() does not charge it again. Clear it if
     * you move pc elsewhere. */
    bool block_paid;
} jk_pvm_state;

typedef struct jk_pvm_exit {
    jk_pvm_status status;
    uint32_t fault_address; /* JK_PVM_PAGE_FAULT: page-aligned faulting address */
    uint64_t host_call;     /* JK_PVM_HOST_CALL: the ecalli immediate ν_X */
    uint32_t host_call_pc;  /* JK_PVM_HOST_CALL: the ecalli's own pc (an embedder
                               that cannot serve the call yet sets pc back to it,
                               with block_paid, to re-run it on resume) */
} jk_pvm_exit;

/* Run until an exit. On return, state->pc is:
 *   halt: the jump that halted;  panic / page fault: the faulting instruction;
 *   out of gas: the first instruction of the block that could not be paid;
 *   host call: the instruction after the ecalli (where a resume continues).
 * A page fault or panic leaves its block charged and the faulting instruction
 * without effect. `prog` is only read and may be shared across threads; `mem`
 * and `state` belong to this run.
 * A run whose pc is not an instruction start (a clear bitmask bit, inside an
 * instruction's operands, or past the code) panics at that pc and costs 1
 * gas, as the reference does (jarchain/jar JAVM `executeStep`): it is a
 * block of one instruction that traps, so with less than 1 gas left the exit
 * is out of gas and nothing changes. Only a resume with block_paid set (the
 * state a host-call exit leaves, whose pc always is an instruction start)
 * cannot be at such a pc.
 * @return JK_OK whenever the guest ran (whatever its exit status);
 *         JK_ERR_PVM_BAD_PC when state->block_paid is set and state->pc is
 *         not an instruction start (the embedder moved pc without clearing
 *         block_paid; nothing is charged or changed); JK_ERR_NOMEM when a
 *         store to a copy-on-write page cannot get its private copy: that
 *         instruction did not happen, state->pc is at it and its block stays
 *         charged. */
jk_err jk_pvm_run(const jk_pvm_program *prog, jk_pvm_memory *mem,
                  jk_pvm_state *state, jk_pvm_exit *out);

/* Engines. The interpreter is the reference; the recompiler (x86-64 only)
 * compiles a program once, in jk_pvm_program_load, and gives identical
 * results on everything observable (exit status, pc, registers, gas, memory,
 * fault address, host calls and their resumption). Either engine may resume
 * a state the other left. */
typedef enum jk_pvm_engine {
    JK_PVM_ENGINE_AUTO = 0,   /* the recompiler where the program has code, else the interpreter */
    JK_PVM_ENGINE_INTERP = 1, /* always the interpreter */
    JK_PVM_ENGINE_JIT = 2,    /* the recompiler; falls back to the interpreter where there is none */
} jk_pvm_engine;

/* jk_pvm_run on a chosen engine; same contract and errors as jk_pvm_run
 * (JK_OK, JK_ERR_PVM_BAD_PC, JK_ERR_NOMEM).
 * (jk_pvm_run itself is the interpreter.) */
jk_err jk_pvm_run_engine(const jk_pvm_program *prog, jk_pvm_memory *mem,
                         jk_pvm_state *state, jk_pvm_exit *out, jk_pvm_engine engine);

/* What JK_PVM_ENGINE_AUTO selects in this process: the recompiler (the
 * default) or, after jk_pvm_set_auto_engine(JK_PVM_ENGINE_INTERP), the
 * interpreter. For tools and tests that run code through layers which only
 * ask for AUTO (the chain's kernels). Not synchronised: set it before any run
 * starts, never while one is going on. */
void jk_pvm_set_auto_engine(jk_pvm_engine engine);
jk_pvm_engine jk_pvm_auto_engine(void);

/* True when the program was compiled (x86-64 host with executable memory). */
bool jk_pvm_program_jitted(const jk_pvm_program *prog);

/* "auto" / "interp" / "jit" -> engine. @return JK_OK or JK_ERR_INVALID_ARG. */
jk_err jk_pvm_engine_parse(const char *name, jk_pvm_engine *out);

/* The name jk_pvm_engine_parse takes. Static storage. */
const char *jk_pvm_engine_name(jk_pvm_engine engine);

/* "halt", "panic", "page-fault", "out-of-gas", "host-call". */
const char *jk_pvm_status_name(jk_pvm_status status);

/* ---------------------------------------------------------------------------
 * Assembler and disassembler (text syntax documented in docs/asm.md)
 * ------------------------------------------------------------------------- */

/* Assemble source text into a program blob.
 * @param out,out_len  on success a malloc'd blob the caller frees with free().
 * @param diag         the first error, with its line number.
 * @return JK_OK, JK_ERR_PVM_ASM or JK_ERR_NOMEM. */
jk_err jk_pvm_asm(const char *source, size_t source_len, uint8_t **out,
                  size_t *out_len, jk_diag *diag);

/* Disassemble a blob into text that jk_pvm_asm() turns back into the same
 * bytes. @param out  a malloc'd NUL-terminated string the caller frees.
 * @return JK_OK, JK_ERR_PVM_BLOB or JK_ERR_PVM_TOO_LARGE (what
 *         jk_pvm_blob_parse refuses, with diag), or JK_ERR_NOMEM. */
jk_err jk_pvm_disasm(const uint8_t *blob, size_t blob_len, char **out,
                     jk_diag *diag);

/* ---------------------------------------------------------------------------
 * Standard program format (Graypaper A.7) and the jark program file
 * ------------------------------------------------------------------------- */

#define JK_PVM_ZONE_SIZE 0x10000u    /* Z_Z */
#define JK_PVM_INPUT_SIZE 0x1000000u /* Z_I: room reserved for arguments */
#define JK_PVM_MAX_ENDPOINTS 256
#define JK_PVM_MAX_ENDPOINT_NAME 63

/* A standard program: E3(|o|) ‖ E3(|w|) ‖ E2(z) ‖ E3(s) ‖ o ‖ w ‖ E4(|c|) ‖ c.
 * Views into the caller's bytes. */
typedef struct jk_pvm_stdprog {
    const uint8_t *ro_data;  /* o: read-only data, mapped at 64 KiB */
    const uint8_t *rw_data;  /* w: read-write data, at 2·Z_Z + Z(|o|) */
    const uint8_t *code;     /* c: a program blob (jk_pvm_program_load) */
    uint32_t ro_len, rw_len, code_len;
    uint32_t heap_pages;     /* z: zeroed pages after w */
    uint32_t stack_size;     /* s: bytes of stack below 2^32 − 2·Z_Z − Z_I */
} jk_pvm_stdprog;

/* Parse a standard program (no check of the code blob itself).
 * @return JK_OK, or JK_ERR_PVM_BLOB (truncated, trailing bytes, or a layout
 *         that does not fit the 32-bit space), with the reason in diag. */
jk_err jk_pvm_stdprog_parse(const uint8_t *bytes, size_t len, jk_pvm_stdprog *out,
                            jk_diag *diag);

/* Encode; *out is malloc'd and owned by the caller.
 * @return JK_OK, JK_ERR_INVALID_ARG (a field exceeds its encoding), or
 *         JK_ERR_NOMEM. */
jk_err jk_pvm_stdprog_encode(const jk_pvm_stdprog *prog, uint8_t **out, size_t *out_len);

/* Addresses of the standard layout for this program. */
typedef struct jk_pvm_stdlayout {
    uint32_t ro_base, ro_size;     /* ro_size page-rounded */
    uint32_t rw_base, rw_size;     /* w plus heap pages, page-rounded */
    uint32_t stack_base, stack_top;
    uint32_t args_base;
} jk_pvm_stdlayout;

void jk_pvm_stdprog_layout(const jk_pvm_stdprog *prog, jk_pvm_stdlayout *out);

/* Graypaper Y(p, a): map and fill `mem` (which must have nothing mapped) and set
 * the registers: φ0 = the halt address, φ1 = the stack top, φ7 = the argument
 * address, φ8 = |a|, the rest 0. The heap that `sbrk` grows starts after the
 * read-write region and stops at the stack.
 * @return JK_OK, JK_ERR_PVM_MAP (args longer than Z_I), JK_ERR_NOMEM. */
jk_err jk_pvm_stdprog_init(const jk_pvm_stdprog *prog, const uint8_t *args,
                           uint32_t args_len, jk_pvm_memory *mem,
                           uint64_t regs[JK_PVM_REGS]);

/* A jark program file: a standard program plus its named entry points.
 *   "JKPVM\0" ‖ version u8 (1) ‖ E(n) ‖ n × (E(|name|) ‖ name ‖ E(pc)) ‖
 *   E(|core|) ‖ core
 * where core is a standard program, names are 1..63 bytes of [A-Za-z0-9_],
 * unique, and endpoint i is the i-th listed (docs/program-format.md). */
typedef struct jk_pvm_endpoint {
    char name[JK_PVM_MAX_ENDPOINT_NAME + 1];
    uint32_t pc;
} jk_pvm_endpoint;

typedef struct jk_pvm_progfile {
    uint32_t endpoint_count;
    jk_pvm_endpoint endpoints[JK_PVM_MAX_ENDPOINTS];
    jk_pvm_stdprog core;      /* views into the parsed bytes */
    const uint8_t *core_bytes;
    size_t core_len;
} jk_pvm_progfile;

/* Parse a program file (borrowing `bytes` for the views in out->core).
 * @return JK_OK or JK_ERR_PVM_BLOB with the reason. */
jk_err jk_pvm_progfile_parse(const uint8_t *bytes, size_t len, jk_pvm_progfile *out,
                             jk_diag *diag);

/* Encode endpoints + an encoded standard program into a program file;
 * *out is malloc'd and owned by the caller.
 * @return JK_OK, JK_ERR_INVALID_ARG (bad or duplicate name, too many
 *         endpoints), JK_ERR_NOMEM. */
jk_err jk_pvm_progfile_encode(const jk_pvm_endpoint *endpoints, uint32_t count,
                              const uint8_t *core, size_t core_len, uint8_t **out,
                              size_t *out_len);

/* Index of the endpoint called `name`, or -1. */
int jk_pvm_progfile_find(const jk_pvm_progfile *file, const char *name);

#endif
