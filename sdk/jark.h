/*
 * jark.h — the SDK for chain programs written in C.
 *
 * Programs are compiled for RV64EM (clang-19, -march=rv64em -mabi=lp64e) and
 * translated to PVM by `jark link` (`jark cc` does both). This header gives:
 *   - host calls: jk_host_call(N, a0..a5) → an `ecalli N` in the PVM program,
 *     arguments in φ7..φ12, result in φ7;
 *   - endpoints: JK_ENDPOINT(index, function) exports a function as entry
 *     point `index` (0, 1, 2, … in declared order) under its own name;
 *   - debug output: jk_debug_write(), the only way bytes reach stdout under
 *     `jark pvm exec`, and small formatting helpers built on it;
 *   - the C library functions the compiler may call (sdk/libc.c).
 *
 * Compiled with -DJARK_NATIVE (the test corpus does this), the same program
 * builds as an ordinary host executable whose debug output goes to stdout, so
 * both builds can be compared byte for byte.
 */
#ifndef JARK_SDK_H
#define JARK_SDK_H

#include <stddef.h>
#include <stdint.h>

/* Host-call numbers (docs/abi.md). */
#define JK_HOST_DEBUG_WRITE 100 /* (ptr, len) → len; writes bytes to the debug stream */

#ifdef JARK_NATIVE
#include <stdio.h>
#include <string.h>

static inline long jk_debug_write(const void *data, unsigned long len)
{
    return (long)fwrite(data, 1, len, stdout);
}
#define JK_ENDPOINT(index, fn)
#define JK_PROGRAM_MAIN(fn)                                                    \
    int main(void)                                                             \
    {                                                                          \
        fn();                                                                  \
        return 0;                                                              \
    }                                                                          \
    struct jk_program_main_##fn /* so that the macro takes a semicolon */

#else /* the PVM build */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* The host-call instruction: custom-0 opcode, I-type, funct3 0, rd = rs1 =
 * x0, immediate N (0..2047). `jark link` turns it into `ecalli N`. The host
 * reads φ7..φ12 (a0..a5), writes φ7 (a0), and may read or write memory. */
/* The host-call instruction: custom-0 opcode, I-type, funct3 0, rd = rs1 =
 * x0, immediate N (0..2047). `jark link` turns it into `ecalli N`. The host
 * reads φ7..φ12 (a0..a5), writes φ7 (a0) and φ8 (a1, stored in *second), and
 * may read or write memory. */
#define jk_host_call2(n, x0, x1, x2, x3, x4, x5, second)                        \
    __extension__({                                                            \
        register long jk_a0 __asm__("a0") = (long)(x0);                        \
        register long jk_a1 __asm__("a1") = (long)(x1);                        \
        register long jk_a2 __asm__("a2") = (long)(x2);                        \
        register long jk_a3 __asm__("a3") = (long)(x3);                        \
        register long jk_a4 __asm__("a4") = (long)(x4);                        \
        register long jk_a5 __asm__("a5") = (long)(x5);                        \
        __asm__ volatile(".insn i 0x0b, 0, x0, x0, %6"                         \
                         : "+r"(jk_a0), "+r"(jk_a1)                            \
                         : "r"(jk_a2), "r"(jk_a3), "r"(jk_a4), "r"(jk_a5),     \
                           "i"(n)                                              \
                         : "memory");                                          \
        *(second) = (uint64_t)jk_a1;                                           \
        jk_a0;                                                                 \
    })

/* A host call whose result is φ7 alone. */
#define jk_host_call(n, x0, x1, x2, x3, x4, x5)                                \
    __extension__({                                                            \
        uint64_t jk_unused_second;                                             \
        jk_host_call2(n, x0, x1, x2, x3, x4, x5, &jk_unused_second);           \
    })

static inline long jk_debug_write(const void *data, unsigned long len)
{
    return jk_host_call(JK_HOST_DEBUG_WRITE, data, len, 0, 0, 0, 0);
}

/* ---- the kernel ABI (docs/abi.md) ----
 * Caps are named by slot paths: JK_PATH(s) is slot s of the root cnode;
 * JK_PATH2(s, i) slot i of the CNode in slot s; and so on, 4 levels deep. A
 * host call that fails faults the calling program (its caller sees FAULT). */

#define JK_PATH(s) ((uint64_t)(s))
#define JK_PATH2(s, a) ((2ull << 60) | (uint64_t)(s) | ((uint64_t)(a) << 8))
#define JK_PATH3(s, a, b) ((3ull << 60) | (uint64_t)(s) | ((uint64_t)(a) << 8) | ((uint64_t)(b) << 24))
#define JK_PATH4(s, a, b, c)                                                   \
    ((4ull << 60) | (uint64_t)(s) | ((uint64_t)(a) << 8) | ((uint64_t)(b) << 24) | ((uint64_t)(c) << 40))
#define JK_SLOT0 JK_PATH(0) /* the scratchpad */

enum { JK_OUTCOME_HALT = 0, JK_OUTCOME_FAULT = 1, JK_OUTCOME_OUT_OF_GAS = 2, JK_OUTCOME_YIELDED = 3 };
enum { JK_KIND_NONE = 0, JK_KIND_DATA = 1, JK_KIND_CNODE = 2, JK_KIND_IMAGE = 3, JK_KIND_INSTANCE = 4 };

typedef struct jk_call_result {
    uint64_t outcome; /* JK_OUTCOME_* */
    uint64_t value;   /* HALT: the callee's result; FAULT: the fault code */
} jk_call_result;

/* CALL the Idle instance at `target`'s endpoint with up to `gas` and three
 * arguments; slot[0] travels with the call and comes back with a HALT. */
static inline jk_call_result jk_call(uint64_t target, uint64_t endpoint, uint64_t gas, uint64_t a0,
                                     uint64_t a1, uint64_t a2)
{
    jk_call_result r;
    r.outcome = (uint64_t)jk_host_call2(1, target, endpoint, gas, a0, a1, a2, &r.value);
    return r;
}
/* CALL_RESUME the Paused instance at `target`; slot[0] goes to the paused top frame. */
static inline jk_call_result jk_call_resume(uint64_t target, uint64_t gas)
{
    jk_call_result r;
    r.outcome = (uint64_t)jk_host_call2(2, target, gas, 0, 0, 0, 0, &r.value);
    return r;
}
static inline void jk_drop_paused(uint64_t target) { jk_host_call(3, target, 0, 0, 0, 0, 0); }
/* YIELD to the marker instance at `marker`; returns when resumed (the answer is in slot[0]). */
static inline void jk_yield(uint64_t marker) { jk_host_call(4, marker, 0, 0, 0, 0, 0); }
static inline void jk_copy(uint64_t src, uint64_t dst) { jk_host_call(5, src, dst, 0, 0, 0, 0); }
static inline void jk_move(uint64_t src, uint64_t dst) { jk_host_call(6, src, dst, 0, 0, 0, 0); }
static inline void jk_drop(uint64_t slot) { jk_host_call(7, slot, 0, 0, 0, 0, 0); }
static inline void jk_swap(uint64_t a, uint64_t b) { jk_host_call(8, a, b, 0, 0, 0, 0); }
static inline void jk_set_image(uint64_t image) { jk_host_call(9, image, 0, 0, 0, 0, 0); }
static inline void jk_derive_spawn(uint64_t image, uint64_t cnode, uint64_t dst)
{
    jk_host_call(10, image, cnode, dst, 0, 0, 0);
}
static inline int jk_same_type(uint64_t a, uint64_t b) { return (int)jk_host_call(11, a, b, 0, 0, 0, 0); }
static inline int jk_same_type_as(uint64_t comparer, uint64_t comparee, uint64_t images)
{
    return (int)jk_host_call(12, comparer, comparee, images, 0, 0, 0);
}
static inline uint64_t jk_data_len(uint64_t data) { return (uint64_t)jk_host_call(13, data, 0, 0, 0, 0, 0); }
static inline void jk_data_read(uint64_t data, uint64_t offset, uint64_t len, void *dst)
{
    jk_host_call(14, data, offset, len, dst, 0, 0);
}
static inline void jk_data_mint(const void *src, uint64_t len, uint64_t dst)
{
    jk_host_call(15, src, len, dst, 0, 0, 0);
}
static inline void jk_cnode_mint(uint64_t dst, uint64_t log2_slots) { jk_host_call(16, dst, log2_slots, 0, 0, 0, 0); }
static inline int jk_cap_kind(uint64_t slot) { return (int)jk_host_call(17, slot, 0, 0, 0, 0, 0); }
static inline uint64_t jk_gas(void) { return (uint64_t)jk_host_call(0, 0, 0, 0, 0, 0, 0); }

/* One endpoint record, read by `jark link` from section .jark.endpoints
 * (64 bytes: the function's address, its index, its name). */
struct jk_endpoint_record {
    void (*address)(void);
    uint32_t index;
    char name[52];
};

#define JK_ENDPOINT(index, fn)                                                 \
    __attribute__((used, section(".jark.endpoints"), aligned(8)))             \
    static const struct jk_endpoint_record jk_endpoint_record_##fn = {        \
        (void (*)(void))(fn), (index), #fn}

#define JK_PROGRAM_MAIN(fn) JK_ENDPOINT(0, fn)

#endif /* JARK_NATIVE */

/* ---- formatting helpers (identical in both builds) ---- */

static inline void jk_print_str(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    jk_debug_write(s, n);
}

static inline void jk_print_u64(uint64_t v)
{
    char buf[24];
    int i = (int)sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    jk_debug_write(buf + i, sizeof buf - (unsigned long)i);
}

static inline void jk_print_i64(int64_t v)
{
    if (v < 0) {
        jk_debug_write("-", 1);
        jk_print_u64(0 - (uint64_t)v);
    } else {
        jk_print_u64((uint64_t)v);
    }
}

static inline void jk_print_hex(uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    char buf[16];
    if (digits < 1 || digits > 16)
        digits = 16;
    for (int i = 0; i < digits; i++)
        buf[i] = hex[(v >> (4 * (digits - 1 - i))) & 15];
    jk_debug_write(buf, (unsigned long)digits);
}

static inline void jk_print_bytes_hex(const void *data, unsigned long len)
{
    const unsigned char *p = (const unsigned char *)data;
    for (unsigned long i = 0; i < len; i++)
        jk_print_hex(p[i], 2);
}

/* FAULT (host call 18): end this program with a fault that carries a reason
 * code and a short text (at most 120 bytes kept), which the kernel reports to
 * its embedder (jk_kernel_result.reason / reason_text) when this program is the
 * one the embedder called: e.g. "verify refused: nonce 3, expected 4". A
 * caller inside the chain sees FAULT with fault code 10. Never returns. */
#define JK_HOST_FAULT 18
#ifdef JARK_NATIVE /* natively there is no kernel: the program stops */
__attribute__((noreturn)) static inline void jk_fault(uint64_t reason, const char *text, uint64_t len)
{
    (void)reason;
    jk_debug_write(text, (unsigned long)len);
    __builtin_trap();
}
#else
__attribute__((noreturn)) static inline void jk_fault(uint64_t reason, const char *text, uint64_t len)
{
    jk_host_call(JK_HOST_FAULT, reason, text, len, 0, 0, 0);
    __builtin_unreachable();
}
#endif

#endif
