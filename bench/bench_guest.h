/* bench_guest.h — what bench_gas.c and bench_adversary.c share to build
 * hostile guests: PVM assembly written into a growing text, Images and
 * Instances made from it, root cnodes filled slot by slot. Every helper exits
 * the process (status 1, message on stderr) on failure: a bench has no error
 * path to report to. */
#ifndef JK_BENCH_GUEST_H
#define JK_BENCH_GUEST_H

#include "jark/kernel.h"

#include <stddef.h>
#include <stdint.h>

/* A depth-4 slot path: root slot s, then a, b, c (docs/abi.md "Slot paths"). */
#define JK_BG_P4(s, a, b, c)                                                                                \
    ((4ull << 60) | (uint64_t)(s) | ((uint64_t)(a) << 8) | ((uint64_t)(b) << 24) | ((uint64_t)(c) << 40))

typedef struct jk_bg_text {
    char *s;
    size_t n, cap;
} jk_bg_text;

/* The program name failures are reported under (default "bench"). */
void jk_bg_set_name(const char *name);
void jk_bg_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void jk_bg_check(jk_err err, const char *what);
/* Append printf-formatted text. */
void jk_bg_put(jk_bg_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append host call n with φ7..φ10 = a, b, c, d. */
void jk_bg_hc(jk_bg_text *t, unsigned n, uint64_t a, uint64_t b, uint64_t c, uint64_t d);
/* An Image from assembly whose text starts with ".jump_table" naming each
 * endpoint's label (at most 4); every endpoint enters with φ0 = the halt
 * address. Consumes (empties) t. */
jk_cap jk_bg_image(jk_bg_text *t, const jk_cap_mapping *maps, uint32_t nmaps, const jk_cap_pin *pins,
                   uint32_t npins, uint32_t catcher);
/* cnode with slot := v; the old cnode released (v is not). */
jk_cap jk_bg_set(jk_cap cnode, uint32_t slot, jk_cap v);
/* A genesis instance of image on cnode (cnode released). */
jk_cap jk_bg_instance(jk_cap image, jk_cap cnode);
/* An empty 256-slot root cnode. */
jk_cap jk_bg_root(void);
/* root with four levels of 65,536-slot CNodes in slot 40, a 4-byte Data at
 * JK_BG_P4(40, 65535, 65535, 65535). */
jk_cap jk_bg_deep(jk_cap root);

/* A callee: 256 one-page zero mappings; endpoint 0 halts, 1 yields to
 * slot 22 `yields` times then halts, 2 runs FAULT with a 120-byte text, 3
 * an unknown host call (77). */
jk_cap jk_bg_callee_image(int yields);
/* A 4,096-slot catcher list: 4,095 instances of callee_image that are not
 * the marker, then the marker. */
jk_cap jk_bg_catchers(jk_cap callee_image, jk_cap marker);
/* An image (endpoint 0 halts) pinning one Data in each of slots 55..254. */
jk_cap jk_bg_pins_image(void);
/* A CNode of 65,536 slots, each holding image. */
jk_cap jk_bg_image_list(jk_cap image);

#endif
