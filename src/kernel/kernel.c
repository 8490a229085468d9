/*
 * kernel.c — a kernel's lifetime and options (jk_kernel_new / _free /
 * _set_debug), the markers it mints, the counters it keeps and the helpers on
 * a result. The call loop is loop.c, pushing frames push.c, the embedder's
 * calls call.c.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

jk_err jk_kernel_new(const jk_kernel_config *cfg, jk_kernel **out)
{
    jk_kernel *k = calloc(1, sizeof *k);
    if (!k)
        return JK_ERR_NOMEM;
    k->debug = cfg ? cfg->debug : NULL;
    k->engine = cfg ? cfg->engine : JK_PVM_ENGINE_AUTO;
    /* Markers are instances of a one-instruction (trap) image. */
    static const uint8_t trap_blob[] = {0, 0, 1, 0, 1};
    static const jk_cap_endpoint ep = {0, {0}};
    jk_cap_image_spec spec = {.code = trap_blob, .code_len = sizeof trap_blob, .endpoints = &ep,
                              .endpoint_count = 1};
    jk_err err = jk_pvm_mem_pool_new(&k->mem_pool);
    if (err == JK_OK)
        err = jk_cap_image_new(&spec, &k->marker_image, NULL);
    if (err != JK_OK) {
        jk_pvm_mem_pool_free(k->mem_pool);
        free(k);
        return err;
    }
    *out = k;
    return JK_OK;
}

void jk_kernel_unwind(jk_kernel *k)
{
    while (k->depth > 0)
        jk_kernel_frame_release(&k->frames[--k->depth]);
}

void jk_kernel_set_debug(jk_kernel *k, FILE *debug)
{
    k->debug = debug;
}

void jk_kernel_free(jk_kernel *k)
{
    if (!k)
        return;
    jk_kernel_unwind(k);
    for (uint32_t i = 0; i < JK_KERNEL_MAX_DEPTH; i++) {
        free(k->spare_maps[i].maps);
        free(k->spare_maps[i].live);
    }
    jk_cap_release(k->marker_image);
    jk_pvm_mem_pool_free(k->mem_pool); /* after the frames' memories */
    free(k->markers);
    free(k);
}

jk_err jk_kernel_mint_marker(jk_kernel *k, uint64_t tag, jk_cap *out)
{
    /* image_hash = H("jark/marker" ‖ tag): no program can make an instance
     * with that lineage (every lineage a program can reach starts from a
     * kernel_id genesis), so a marker cannot be forged. */
    uint8_t seed[11 + 8];
    memcpy(seed, "jark/marker", 11);
    for (int i = 0; i < 8; i++)
        seed[11 + i] = (uint8_t)(tag >> (8 * i));
    jk_hash lineage, h;
    jk_crypto_blake2b256(seed, sizeof seed, &lineage);
    jk_cap cnode;
    jk_err err = jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &cnode);
    if (err != JK_OK)
        return err;
    err = jk_cap_instance_make(k->marker_image, &lineage, cnode, JK_CAP_IDLE, NULL, 0, out, NULL);
    jk_cap_release(cnode);
    if (err != JK_OK)
        return err;
    jk_cap_hash(*out, &h);
    jk_hash *grown = realloc(k->markers, (k->marker_count + 1) * sizeof *grown);
    if (!grown) {
        jk_cap_release(*out);
        *out = jk_cap_null();
        return JK_ERR_NOMEM;
    }
    k->markers = grown;
    k->markers[k->marker_count++] = h;
    return JK_OK;
}

bool jk_kernel_is_marker(const jk_kernel *k, const jk_hash *h)
{
    for (size_t i = 0; i < k->marker_count; i++)
        if (!memcmp(k->markers[i].bytes, h->bytes, JK_HASH_SIZE))
            return true;
    return false;
}

void jk_kernel_result_clear(jk_kernel_result *res)
{
    jk_cap_release(res->instance);
    jk_cap_release(res->slot0);
    jk_cap_release(res->marker);
    memset(res, 0, sizeof *res);
}

jk_err jk_kernel_drop_paused(jk_cap paused, jk_cap *out)
{
    if (jk_cap_kind_of(paused) != JK_CAP_INSTANCE || jk_cap_instance_status(paused) != JK_CAP_PAUSED)
        return JK_ERR_INVALID_ARG;
    return jk_cap_instance_with_status(paused, JK_CAP_IDLE, out);
}

uint64_t jk_kernel_page_scans(const jk_kernel *k) { return k->page_scans; }

uint64_t jk_kernel_hostcalls_in_code(const jk_kernel *k) { return k->hostcalls_in_code; }
uint64_t jk_kernel_hostcalls_handed_on(const jk_kernel *k) { return k->hostcalls_handed_on; }
uint64_t jk_kernel_runs(const jk_kernel *k) { return k->runs; }

uint64_t jk_kernel_served_in_place(const jk_kernel *k)
{
    return k->served_in_place;
}
