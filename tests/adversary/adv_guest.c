/* adv_guest.c — the hostile guests' images and measured calls (adv_guest.h). */
#include "adv_guest.h"
#include "adv_alloc.h"
#include "../test.h"

#include "jark/pvm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct adv_text {
    char *s;
    size_t n, cap;
} adv_text;

__attribute__((format(printf, 2, 3))) static void adv_put(adv_text *t, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line || !t->s)
        return;
    if (t->n + (size_t)n + 1 > t->cap) {
        size_t cap = (t->n + (size_t)n + 1) * 2;
        char *s = realloc(t->s, cap);
        if (!s) {
            free(t->s);
            t->s = NULL;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
    memcpy(t->s + t->n, line, (size_t)n + 1);
    t->n += (size_t)n;
}

static void adv_ops(adv_text *t, const adv_op *ops, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        adv_put(t, "load_imm_64 r7, 0x%llx\nload_imm_64 r8, 0x%llx\n", (unsigned long long)ops[i].a,
                (unsigned long long)ops[i].b);
        adv_put(t, "load_imm_64 r9, 0x%llx\nload_imm_64 r10, 0x%llx\n", (unsigned long long)ops[i].c,
                (unsigned long long)ops[i].d);
        adv_put(t, "ecalli %llu\n", (unsigned long long)ops[i].n);
    }
}

jk_cap adv_asm_image(const char *text, unsigned extra_maps)
{
    uint8_t *code = NULL;
    size_t code_len = 0;
    jk_diag diag = {{0}};
    jk_cap image = jk_cap_null();
    if (extra_maps > JK_CAP_IMAGE_MAX_MAPPINGS - 2 || jk_pvm_asm(text, strlen(text), &code, &code_len, &diag) != JK_OK) {
        printf("adversary: assembly refused: %s\n", diag.msg);
        return image;
    }
    jk_cap_endpoint ep = {0, {0}};
    ep.regs[0] = JK_PVM_HALT_ADDRESS;
    jk_cap_mapping maps[JK_CAP_IMAGE_MAX_MAPPINGS] = {
        {ADV_ZERO, ADV_MAP_SIZE, JK_CAP_MAP_EPHEMERAL_ZERO, JK_PVM_ACCESS_WRITE, 0},
        {ADV_STATE, ADV_MAP_SIZE, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, ADV_STATE_SLOT},
    };
    for (unsigned i = 0; i < extra_maps; i++)
        maps[2 + i] = (jk_cap_mapping){0xA0000000u + i * 2 * 4096u, 4096, JK_CAP_MAP_EPHEMERAL_ZERO,
                                       JK_PVM_ACCESS_WRITE, 0};
    jk_cap_image_spec spec = {.code = code, .code_len = code_len, .mappings = maps,
                              .mapping_count = 2 + extra_maps, .endpoints = &ep, .endpoint_count = 1,
                              .yield_catcher_slot = ADV_CATCHER_SLOT};
    if (jk_cap_image_new(&spec, &image, &diag) != JK_OK)
        printf("adversary: image refused: %s\n", diag.msg);
    free(code);
    return image;
}

jk_cap adv_loop_image(const adv_op *setup, size_t setup_count, const adv_op *loop, size_t loop_count,
                      unsigned extra_maps)
{
    adv_text t = {malloc(256), 0, 256};
    adv_ops(&t, setup, setup_count);
    if (loop_count) {
        adv_put(&t, "fallthrough\nloop:\n");
        adv_ops(&t, loop, loop_count);
        adv_put(&t, "jump loop\n");
    } else {
        adv_put(&t, "jump_ind r0, 0\n");
    }
    if (!t.s)
        return jk_cap_null();
    jk_cap image = adv_asm_image(t.s, extra_maps);
    free(t.s);
    return image;
}

jk_cap adv_inst(jk_cap image, int n, const uint32_t *slots, const jk_cap *caps)
{
    jk_cap cnode, next, state, inst = jk_cap_null();
    if (jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &cnode) != JK_OK)
        return inst;
    /* the state window's Data (one page unless the caller gives another) */
    if (jk_cap_data_new_zeroed(4096, &state) != JK_OK || jk_cap_cnode_set(cnode, ADV_STATE_SLOT, state, &next) != JK_OK) {
        jk_cap_release(state);
        jk_cap_release(cnode);
        return inst;
    }
    jk_cap_release(state);
    jk_cap_release(cnode);
    cnode = next;
    for (int i = 0; i < n; i++) {
        if (jk_cap_cnode_set(cnode, slots[i], caps[i], &next) != JK_OK) {
            jk_cap_release(cnode);
            return inst;
        }
        jk_cap_release(cnode);
        cnode = next;
    }
    jk_cap_instance_genesis(image, cnode, &inst, NULL);
    jk_cap_release(cnode);
    return inst;
}

static double adv_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static jk_err adv_serve_nothing(void *ctx, jk_cap marker, jk_cap request, bool *resume, jk_cap *answer)
{
    (void)marker;
    (void)request;
    ++*(uint64_t *)ctx;
    *resume = true;
    *answer = jk_cap_null();
    return JK_OK;
}

jk_kernel *adv_kernel(jk_pvm_engine engine)
{
    jk_kernel_config cfg = {.debug = NULL, .engine = engine};
    jk_kernel *k = NULL;
    return jk_kernel_new(&cfg, &k) == JK_OK ? k : NULL;
}

void adv_call(jk_kernel *k, jk_cap target, int64_t gas, const uint64_t args[3], bool serve, adv_run *run)
{
    memset(run, 0, sizeof *run);
    uint64_t served = 0;
    double t0 = adv_cpu_ns();
    uint64_t b0 = adv_allocated();
    run->err = serve ? jk_kernel_call_served(k, target, 0, gas, args, jk_cap_null(), adv_serve_nothing, &served,
                                             &run->res)
                     : jk_kernel_call(k, target, 0, gas, args, jk_cap_null(), &run->res);
    run->bytes = adv_allocated() - b0;
    run->cpu_ns = adv_cpu_ns() - t0;
}

void adv_resume(jk_kernel *k, jk_cap paused, int64_t gas, adv_run *run)
{
    memset(run, 0, sizeof *run);
    double t0 = adv_cpu_ns();
    uint64_t b0 = adv_allocated();
    run->err = jk_kernel_resume(k, paused, gas, jk_cap_null(), &run->res);
    run->bytes = adv_allocated() - b0;
    run->cpu_ns = adv_cpu_ns() - t0;
}

void adv_check_bounds(const char *file, int line, const char *what, const adv_run *run, int64_t gas)
{
    if (run->err != JK_OK)
        jk_test_fail(file, line, "%s: the kernel returned %s (a guest never makes it fail)", what,
                     jk_strerror(run->err));
    if (run->res.gas_used < 0 || run->res.gas_used > gas)
        jk_test_fail(file, line, "%s: gas_used %lld outside 0..%lld", what, (long long)run->res.gas_used,
                     (long long)gas);
    if (run->bytes > adv_bound(gas))
        jk_test_fail(file, line, "%s: the host allocated %llu bytes for %lld gas (bound %llu)", what,
                     (unsigned long long)run->bytes, (long long)gas, (unsigned long long)adv_bound(gas));
    if (getenv("JK_ADV_REPORT")) {
        double used = run->res.gas_used > 0 ? (double)run->res.gas_used : 1.0;
        printf("ADV %-44s outcome=%d fault=%d gas=%lld used=%lld bytes=%llu bytes/gas=%.2f ns/gas=%.2f\n", what,
               (int)run->res.outcome, (int)run->res.fault, (long long)gas, (long long)run->res.gas_used,
               (unsigned long long)run->bytes, (double)run->bytes / used, run->cpu_ns / used);
    }
}
