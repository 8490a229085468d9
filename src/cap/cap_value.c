/* cap_value.c — what a cap value is, seen from outside: its kind's name, its
 * hash, identity and equality, its depth, and the kernel id every Instance
 * derives from. Object lifetimes (alloc, retain, release, the per-thread
 * caches) stay in cap.c. */
#include "internal.h"
#include <string.h>

const char *jk_cap_kind_name(jk_cap_kind kind)
{
    switch (kind) {
    case JK_CAP_NONE: return "none";
    case JK_CAP_DATA: return "data";
    case JK_CAP_CNODE: return "cnode";
    case JK_CAP_IMAGE: return "image";
    case JK_CAP_INSTANCE: return "instance";
    }
    return "?";
}

void jk_cap_hash(jk_cap cap, jk_hash *out)
{
    if (!cap.body) {
        memset(out, 0, sizeof *out);
        return;
    }
    jk_cap_obj_hash(jk_cap_obj(cap), out);
}

bool jk_cap_same(jk_cap a, jk_cap b)
{
    return a.kind == b.kind && a.body == b.body;
}

bool jk_cap_equal(jk_cap a, jk_cap b)
{
    if (a.kind != b.kind)
        return false;
    if (a.body == b.body)
        return true;
    if (!a.body || !b.body)
        return false;
    jk_hash ha, hb;
    jk_cap_hash(a, &ha);
    jk_cap_hash(b, &hb);
    return memcmp(ha.bytes, hb.bytes, JK_HASH_SIZE) == 0;
}

unsigned jk_cap_depth(jk_cap cap) { return jk_cap_depth_in(cap); }

/* H("jark/1") is a constant: written out once, not hashed per event (two
 * genesis derivations an event, issue 16). test_cap_instance_kernel_id
 * checks it against the hash of JK_KERNEL_ABI_ID. */
static const jk_hash jk_kernel_id = {{
    0xd2, 0x71, 0x2d, 0x05, 0x4a, 0x5c, 0x46, 0x21, 0xf2, 0xe8, 0xc8, 0x22, 0x6a, 0x13, 0x37, 0x39,
    0x35, 0x7f, 0x6a, 0x90, 0x3a, 0x80, 0x85, 0x97, 0xa1, 0x68, 0x4d, 0x29, 0xba, 0xeb, 0xc4, 0x89,
}};
_Static_assert(sizeof JK_KERNEL_ABI_ID - 1 == 6, "jk_kernel_id is H of the 6 bytes \"jark/1\"");

void jk_cap_kernel_id(jk_hash *out) { *out = jk_kernel_id; }
