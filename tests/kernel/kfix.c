/* kfix.c — the kernel tests' fixtures (kfix.h). */
#include "kfix.h"
#include "../progs.h"
#include "../test.h"
#include "jark/sdk.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>


uint8_t *kt_program;
size_t kt_program_len;

/* The kprog image (built once per test run; the program bytes are cached). */
jk_cap kt_image(void)
{
    if (!kt_program && jk_sdk_build_one("tests/kernel/progs/kprog.c", &kt_program, &kt_program_len, NULL) != JK_OK)
        return jk_cap_null();
    static const jk_cap_mapping state = {0x40000000, 4096, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, STATE_SLOT};
    jk_kernel_image_opts opts = {.mappings = &state, .mapping_count = 1, .yield_catcher_slot = CATCHER_SLOT};
    jk_cap image = jk_cap_null();
    jk_diag diag = {{0}};
    if (kt_program_len && jk_kernel_image_from_program(kt_program, kt_program_len, &opts, &image, &diag) != JK_OK)
        printf("image: %s\n", diag.msg);
    return image;
}

/* An instance of kprog with a zeroed state page and (slot, cap) extras. */
jk_cap kt_inst(jk_cap image, int n, const uint32_t *slots, const jk_cap *caps)
{
    enum { MAX = 32 };
    uint32_t s[MAX + 1] = {STATE_SLOT};
    jk_cap c[MAX + 1] = {jk_cap_null()};
    if (n < 0 || n > MAX || jk_cap_data_new_zeroed(4096, &c[0]) != JK_OK)
        return jk_cap_null();
    for (int i = 0; i < n; i++) {
        s[i + 1] = slots[i];
        c[i + 1] = caps[i];
    }
    jk_cap inst = jk_test_instance(image, n + 1, s, c);
    jk_cap_release(c[0]);
    return inst;
}

uint64_t kt_counter(jk_cap inst)
{
    uint64_t v = ~0ull;
    jk_cap state = jk_cap_cnode_get(jk_cap_instance_cnode(inst), STATE_SLOT);
    jk_cap_data_read(state, 0, &v, 8);
    return v;
}

int64_t kt_live(void)
{
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    return s.live_objects;
}

/* ---- host calls one by one, through kprog's script endpoint ---- */


/* Run a script on an instance of image with (slot, cap) extras. */
jk_err kt_script(jk_kernel *k, jk_cap image, int n, const uint32_t *slots, const jk_cap *caps,
                        const kt_op *ops, size_t nops, jk_kernel_result *res)
{
    return kt_script_with(k, image, n, slots, caps, ops, nops, jk_cap_null(), 1000000, res);
}

jk_err kt_script_with(jk_kernel *k, jk_cap image, int n, const uint32_t *slots, const jk_cap *caps,
                      const kt_op *ops, size_t nops, jk_cap slot0, int64_t gas, jk_kernel_result *res)
{
    uint32_t all_slots[16];
    jk_cap all_caps[16], code;
    if (jk_cap_data_new(ops, nops * sizeof *ops, &code) != JK_OK)
        return JK_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        all_slots[i] = slots[i];
        all_caps[i] = caps[i];
    }
    all_slots[n] = SCRIPT_SLOT;
    all_caps[n] = code;
    jk_cap inst = kt_inst(image, n + 1, all_slots, all_caps);
    jk_err err = jk_kernel_call(k, inst, EP_SCRIPT, gas, NULL, slot0, res);
    jk_cap_release(inst);
    jk_cap_release(code);
    return err;
}

bool kt_kernel_pair(jk_kernel **interp, jk_kernel **jit)
{
    jk_kernel_config icfg = {.engine = JK_PVM_ENGINE_INTERP}, jcfg = {.engine = JK_PVM_ENGINE_JIT};
    *interp = *jit = NULL;
    if (jk_kernel_new(&icfg, interp) == JK_OK && jk_kernel_new(&jcfg, jit) == JK_OK)
        return true;
    jk_kernel_free(*interp);
    return false;
}

jk_cap kt_slot_of(jk_cap inst, uint32_t slot) { return jk_cap_cnode_get(jk_cap_instance_cnode(inst), slot); }


bool kt_begin(kt_env *e)
{
    e->live = kt_live();
    e->image = kt_image();
    if (jk_cap_is_null(e->image) || jk_kernel_new(NULL, &e->k) != JK_OK) {
        jk_cap_release(e->image);
        return false;
    }
    return true;
}

void kt_end(kt_env *e, const char *file, int line)
{
    jk_cap_release(e->image);
    jk_kernel_free(e->k);
    if (kt_live() != e->live)
        jk_test_fail(file, line, "%lld cap objects leaked", (long long)(kt_live() - e->live));
}

jk_cap kt_chain(unsigned levels)
{
    jk_cap chain;
    if (jk_cap_data_new("d", 1, &chain) != JK_OK)
        return jk_cap_null();
    for (unsigned i = 0; i < levels && !jk_cap_is_null(chain); i++) {
        jk_cap node = jk_cap_null(), next = jk_cap_null();
        if (jk_cap_cnode_new(0, &node) == JK_OK && jk_cap_cnode_set(node, 0, chain, &next) != JK_OK)
            next = jk_cap_null();
        jk_cap_release(node);
        jk_cap_release(chain);
        chain = next;
    }
    return chain;
}

