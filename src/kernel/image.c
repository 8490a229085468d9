/*
 * image.c — Images from SDK program files: the standard program layout
 * expressed as an Image's mappings and pinned Data (docs/abi.md, "Images
 * from SDK programs").
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define JK_MAX_PINS 260
#define JK_MAX_MAPS (JK_CAP_IMAGE_MAX_MAPPINGS + 3)

jk_err jk_kernel_image_from_program(const uint8_t *file, size_t len,
                                    const jk_kernel_image_opts *opts, jk_cap *out,
                                    jk_diag *diag)
{
    jk_kernel_image_opts none;
    memset(&none, 0, sizeof none);
    if (!opts)
        opts = &none;
    uint32_t ro_slot = opts->ro_slot ? opts->ro_slot : JK_KERNEL_DEFAULT_RO_SLOT;
    uint32_t rw_slot = opts->rw_slot ? opts->rw_slot : JK_KERNEL_DEFAULT_RW_SLOT;
    if (opts->pin_count > JK_MAX_PINS - 2 || opts->mapping_count > JK_CAP_IMAGE_MAX_MAPPINGS)
        return jk_diag_set(diag, JK_ERR_CAP_IMAGE, "too many pins or mappings");
    if ((opts->pin_count && !opts->pins) || (opts->mapping_count && !opts->mappings))
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "%s is NULL with a count above 0",
                           opts->pin_count && !opts->pins ? "opts->pins" : "opts->mappings");

    jk_pvm_progfile *pf = malloc(sizeof *pf);
    jk_cap_endpoint *eps = calloc(JK_PVM_MAX_ENDPOINTS, sizeof *eps);
    jk_cap_pin *pins = calloc(JK_MAX_PINS, sizeof *pins);
    jk_cap_mapping *maps = calloc(JK_MAX_MAPS, sizeof *maps);
    jk_cap ro = jk_cap_null(), rw = jk_cap_null();
    jk_err err = JK_ERR_NOMEM;
    if (!pf || !eps || !pins || !maps)
        goto done;
    err = jk_pvm_progfile_parse(file, len, pf, diag);
    if (err != JK_OK)
        goto done;
    jk_pvm_stdlayout lay;
    jk_pvm_stdprog_layout(&pf->core, &lay);
    for (uint32_t i = 0; i < pf->endpoint_count; i++) {
        eps[i].pc = pf->endpoints[i].pc;
        eps[i].regs[0] = JK_PVM_HALT_ADDRESS;
        eps[i].regs[1] = lay.stack_top;
    }
    uint32_t npins = 0, nmaps = 0;
    if (pf->core.ro_len) {
        if ((err = jk_cap_data_new(pf->core.ro_data, pf->core.ro_len, &ro)) != JK_OK)
            goto done;
        pins[npins++] = (jk_cap_pin){ro_slot, ro};
        maps[nmaps++] = (jk_cap_mapping){lay.ro_base, lay.ro_size, JK_CAP_MAP_EPHEMERAL_INIT,
                                         JK_PVM_ACCESS_READ, (uint8_t)ro_slot};
    }
    if (lay.rw_size) {
        if (pf->core.rw_len) {
            if ((err = jk_cap_data_new(pf->core.rw_data, pf->core.rw_len, &rw)) != JK_OK)
                goto done;
            pins[npins++] = (jk_cap_pin){rw_slot, rw};
            maps[nmaps++] = (jk_cap_mapping){lay.rw_base, lay.rw_size, JK_CAP_MAP_EPHEMERAL_INIT,
                                             JK_PVM_ACCESS_WRITE, (uint8_t)rw_slot};
        } else {
            maps[nmaps++] = (jk_cap_mapping){lay.rw_base, lay.rw_size, JK_CAP_MAP_EPHEMERAL_ZERO,
                                             JK_PVM_ACCESS_WRITE, 0};
        }
    }
    if (lay.stack_top > lay.stack_base)
        maps[nmaps++] = (jk_cap_mapping){lay.stack_base, lay.stack_top - lay.stack_base,
                                         JK_CAP_MAP_EPHEMERAL_ZERO, JK_PVM_ACCESS_WRITE, 0};
    for (uint32_t i = 0; i < opts->mapping_count; i++)
        maps[nmaps++] = opts->mappings[i];
    for (uint32_t i = 0; i < opts->pin_count; i++)
        pins[npins++] = opts->pins[i];
    jk_cap_image_spec spec = {
        .code = pf->core.code, .code_len = pf->core.code_len, .mappings = maps, .mapping_count = nmaps,
        .endpoints = eps, .endpoint_count = pf->endpoint_count, .pins = pins, .pin_count = npins,
        .yield_catcher_slot = opts->yield_catcher_slot,
    };
    err = jk_cap_image_new(&spec, out, diag);
done:
    jk_cap_release(ro);
    jk_cap_release(rw);
    free(pf);
    free(eps);
    free(pins);
    free(maps);
    return err;
}
