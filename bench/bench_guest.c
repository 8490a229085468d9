/* bench_guest.c — hostile guests for the benches (bench_guest.h). */
#include "bench_guest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *jk_bg_name = "bench";

void jk_bg_set_name(const char *name)
{
    jk_bg_name = name;
}

void jk_bg_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", jk_bg_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void jk_bg_check(jk_err err, const char *what)
{
    if (err != JK_OK)
        jk_bg_fail("%s: %s", what, jk_strerror(err));
}

void jk_bg_put(jk_bg_text *t, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->n + (size_t)n + 1 > t->cap) {
        t->cap = (t->n + (size_t)n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        if (!t->s)
            jk_bg_fail("out of memory");
    }
    vsnprintf(t->s + t->n, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    t->n += (size_t)n;
}

void jk_bg_hc(jk_bg_text *t, unsigned n, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    jk_bg_put(t, "load_imm_64 r7, 0x%llx\nload_imm_64 r8, 0x%llx\nload_imm_64 r9, 0x%llx\nload_imm_64 r10, 0x%llx\n",
              (unsigned long long)a, (unsigned long long)b, (unsigned long long)c, (unsigned long long)d);
    jk_bg_put(t, "ecalli %u\n", n);
}

jk_cap jk_bg_image(jk_bg_text *t, const jk_cap_mapping *maps, uint32_t nmaps, const jk_cap_pin *pins,
                   uint32_t npins, uint32_t catcher)
{
    uint8_t *code;
    size_t len;
    jk_diag diag = {{0}};
    if (jk_pvm_asm(t->s, t->n, &code, &len, &diag) != JK_OK)
        jk_bg_fail("asm: %s", diag.msg);
    free(t->s);
    memset(t, 0, sizeof *t);
    jk_pvm_blob blob;
    jk_bg_check(jk_pvm_blob_parse(code, len, &blob, NULL), "blob");
    jk_cap_endpoint eps[4];
    memset(eps, 0, sizeof eps);
    for (uint32_t i = 0; i < blob.jump_count && i < 4; i++) {
        eps[i].pc = jk_pvm_blob_jump_entry(&blob, i);
        eps[i].regs[0] = JK_PVM_HALT_ADDRESS;
    }
    jk_cap_image_spec spec = {.code = code, .code_len = len, .mappings = maps, .mapping_count = nmaps,
                              .endpoints = eps, .endpoint_count = blob.jump_count < 4 ? blob.jump_count : 4,
                              .pins = pins, .pin_count = npins, .yield_catcher_slot = catcher};
    jk_cap image;
    if (jk_cap_image_new(&spec, &image, &diag) != JK_OK)
        jk_bg_fail("image: %s", diag.msg);
    free(code);
    return image;
}

jk_cap jk_bg_set(jk_cap cnode, uint32_t slot, jk_cap v)
{
    jk_cap next;
    jk_bg_check(jk_cap_cnode_set(cnode, slot, v, &next), "cnode_set");
    jk_cap_release(cnode);
    return next;
}

jk_cap jk_bg_instance(jk_cap image, jk_cap cnode)
{
    jk_cap inst;
    jk_bg_check(jk_cap_instance_genesis(image, cnode, &inst, NULL), "genesis");
    jk_cap_release(cnode);
    return inst;
}

jk_cap jk_bg_root(void)
{
    jk_cap c;
    jk_bg_check(jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &c), "cnode");
    return c;
}

jk_cap jk_bg_deep(jk_cap root)
{
    jk_cap data, l3, l2, l1;
    jk_bg_check(jk_cap_data_new("leaf", 4, &data), "data");
    jk_bg_check(jk_cap_cnode_new(16, &l3), "cnode");
    l3 = jk_bg_set(l3, 65535, data);
    jk_bg_check(jk_cap_cnode_new(16, &l2), "cnode");
    l2 = jk_bg_set(l2, 65535, l3);
    jk_bg_check(jk_cap_cnode_new(16, &l1), "cnode");
    l1 = jk_bg_set(l1, 65535, l2);
    jk_cap_release(data);
    jk_cap_release(l3);
    jk_cap_release(l2);
    root = jk_bg_set(root, 40, l1);
    jk_cap_release(l1);
    return root;
}

jk_cap jk_bg_callee_image(int yields)
{
    static jk_cap_mapping maps[256];
    for (uint32_t i = 0; i < 256; i++)
        maps[i] = (jk_cap_mapping){0x100000u + i * 0x2000u, 4096, JK_CAP_MAP_EPHEMERAL_ZERO, JK_PVM_ACCESS_WRITE, 0};
    jk_bg_text t = {0};
    jk_bg_put(&t, ".jump_table ep0, ep1, ep2, ep3\nep0: jump_ind r0, 0\nep1: fallthrough\n");
    for (int i = 0; i < yields; i++)
        jk_bg_hc(&t, JK_HOST_YIELD, 22, 0, 0, 0);
    jk_bg_put(&t, "jump_ind r0, 0\nep2: fallthrough\n");
    jk_bg_hc(&t, JK_HOST_FAULT, 7, 0x100000u, 120, 0);
    jk_bg_put(&t, "trap\nep3: ecalli 77\njump_ind r0, 0\n");
    return jk_bg_image(&t, maps, 256, NULL, 0, 0);
}

jk_cap jk_bg_catchers(jk_cap callee_image, jk_cap marker)
{
    jk_cap list, tag;
    jk_bg_check(jk_cap_data_new("stranger", 8, &tag), "data");
    jk_cap stranger = jk_bg_instance(callee_image, jk_bg_set(jk_bg_root(), 30, tag)); /* not the marker */
    jk_cap_release(tag);
    jk_bg_check(jk_cap_cnode_new(12, &list), "cnode");
    for (uint32_t i = 0; i < 4095; i++)
        list = jk_bg_set(list, i, stranger);
    list = jk_bg_set(list, 4095, marker);
    jk_cap_release(stranger);
    return list;
}

jk_cap jk_bg_pins_image(void)
{
    jk_cap_pin pins[200];
    jk_cap pinned;
    jk_bg_check(jk_cap_data_new("p", 1, &pinned), "data");
    for (uint32_t i = 0; i < 200; i++)
        pins[i] = (jk_cap_pin){55 + i, pinned};
    jk_bg_text t = {0};
    jk_bg_put(&t, ".jump_table ep0\nep0: jump_ind r0, 0\n");
    jk_cap image = jk_bg_image(&t, NULL, 0, pins, 200, 0);
    jk_cap_release(pinned); /* the image holds it */
    return image;
}

jk_cap jk_bg_image_list(jk_cap image)
{
    jk_cap images;
    jk_bg_check(jk_cap_cnode_new(16, &images), "cnode");
    for (uint32_t i = 0; i < 65536; i++)
        images = jk_bg_set(images, i, image);
    return images;
}
