/*
 * image.c — Image: a program's spec (architecture §2), validated when built.
 *
 * Building checks everything first and allocates the body last (decode, then
 * invoke): the code must load as a PVM program and every endpoint start a
 * basic block; mappings must be page-aligned, non-empty, inside
 * [64 KiB, 2^32), pairwise disjoint, and name their slot consistently with
 * their kind; pinned slots lie in 1..255, each once, holding a Data or an
 * Image; the yield-catcher slot is 0 (none) or an unpinned 1..255. The
 * program is loaded once here and shared by every user of the Image.
 *
 * Mappings and pins are kept sorted (by base, by slot): their canonical order.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

static int jk_map_cmp(const void *a, const void *b)
{
    const jk_cap_mapping *x = a, *y = b;
    return x->base < y->base ? -1 : x->base > y->base;
}

static int jk_pin_cmp(const void *a, const void *b)
{
    const jk_cap_pin *x = a, *y = b;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static const jk_cap_pin *jk_pin_find(const jk_cap_pin *pins, uint32_t n, uint32_t slot)
{
    for (uint32_t i = 0; i < n; i++)
        if (pins[i].slot == slot)
            return &pins[i];
    return NULL;
}

/* JK_ERR_CAP_IMAGE with "image: <reason>" in diag. */
static jk_err jk_image_refuse(jk_diag *diag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static jk_err jk_image_refuse(jk_diag *diag, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return jk_diag_set(diag, JK_ERR_CAP_IMAGE, "image: %s", msg);
}

/* Pins: sorted copy in *out. */
static jk_err jk_image_check_pins(const jk_cap_pin *pins, uint32_t n, jk_cap_pin **out,
                                  unsigned *depth, jk_diag *diag)
{
    if (n > 255)
        return jk_image_refuse(diag, "%u pinned slots (at most %u)", n, 255);
    jk_cap_pin *p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        return JK_ERR_NOMEM;
    if (n)
        memcpy(p, pins, n * sizeof *p);
    qsort(p, n, sizeof *p, jk_pin_cmp);
    jk_err err = JK_OK;
    for (uint32_t i = 0; i < n && err == JK_OK; i++) {
        if (p[i].slot == JK_CAP_SCRATCH_SLOT)
            err = jk_image_refuse(diag, "slot 0 (the scratchpad) cannot be pinned");
        else if (p[i].slot > 255)
            err = jk_image_refuse(diag, "pinned slot %u out of range 1..255", p[i].slot);
        else if (i > 0 && p[i].slot == p[i - 1].slot)
            err = jk_image_refuse(diag, "slot %u pinned twice", p[i].slot);
        else if (p[i].cap.kind != JK_CAP_DATA && p[i].cap.kind != JK_CAP_IMAGE)
            err = jk_diag_set(diag, JK_ERR_CAP_IMAGE,
                              "image: pinned slot %u holds a %s (only data or image)",
                              p[i].slot, jk_cap_kind_name(p[i].cap.kind));
        else if (jk_cap_depth(p[i].cap) + 1 > JK_CAP_MAX_DEPTH)
            err = jk_diag_set(diag, JK_ERR_CAP_TOO_DEEP, "image: pinned slot %u too deep",
                              p[i].slot);
        else if (jk_cap_depth(p[i].cap) > *depth)
            *depth = jk_cap_depth(p[i].cap);
    }
    if (err != JK_OK) {
        free(p);
        return err;
    }
    *out = p;
    return JK_OK;
}

static jk_err jk_image_check_maps(const jk_cap_mapping *maps, uint32_t n,
                                  const jk_cap_pin *pins, uint32_t npins,
                                  jk_cap_mapping **out, jk_diag *diag)
{
    if (n > JK_CAP_IMAGE_MAX_MAPPINGS)
        return jk_image_refuse(diag, "%u mappings (at most %u)", n, JK_CAP_IMAGE_MAX_MAPPINGS);
    jk_cap_mapping *m = malloc((n ? n : 1) * sizeof *m);
    if (!m)
        return JK_ERR_NOMEM;
    if (n)
        memcpy(m, maps, n * sizeof *m);
    qsort(m, n, sizeof *m, jk_map_cmp);
    jk_err err = JK_OK;
    for (uint32_t i = 0; i < n && err == JK_OK; i++) {
        const jk_cap_mapping *x = &m[i];
        const jk_cap_pin *pin = jk_pin_find(pins, npins, x->slot);
        if (x->kind > JK_CAP_MAP_EPHEMERAL_INIT)
            err = jk_image_refuse(diag, "mapping at 0x%x has unknown kind %u", x->base, x->kind);
        else if (x->access != JK_PVM_ACCESS_READ && x->access != JK_PVM_ACCESS_WRITE)
            err = jk_image_refuse(diag, "mapping at 0x%x has bad access %u", x->base, x->access);
        else if (x->base % JK_PVM_PAGE_SIZE || x->size % JK_PVM_PAGE_SIZE)
            err = jk_image_refuse(diag, "mapping at 0x%x size 0x%x not page-aligned", x->base,
                                  x->size);
        else if (x->size == 0)
            err = jk_image_refuse(diag, "mapping at 0x%x is empty", x->base);
        else if (x->size > JK_CAP_DATA_MAX_LEN)
            /* A paused frame keeps each region as one Data: a region no Data
             * can hold could never be paused (OUT_OF_GAS, a yield). */
            err = jk_image_refuse(diag, "mapping at 0x%x size 0x%x is over 1 GiB (the longest Data)",
                                  x->base, x->size);
        else if (x->base < JK_PVM_GUARD_SIZE)
            err = jk_image_refuse(diag, "mapping at 0x%x is inside the 64 KiB guard",
                                  x->base);
        else if ((uint64_t)x->base + x->size > (1ull << 32))
            err = jk_image_refuse(diag, "mapping at 0x%x size 0x%x runs past 2^32", x->base,
                                  x->size);
        else if (i > 0 && (uint64_t)m[i - 1].base + m[i - 1].size > x->base)
            err = jk_image_refuse(diag, "mappings at 0x%x and 0x%x overlap", m[i - 1].base,
                                  x->base);
        else if (x->kind == JK_CAP_MAP_PERSISTENT && x->slot == JK_CAP_SCRATCH_SLOT)
            err = jk_image_refuse(diag, "persistent mapping at 0x%x from slot 0 (the scratchpad)",
                                  x->base);
        else if (x->kind == JK_CAP_MAP_PERSISTENT && pin && pin->cap.kind != JK_CAP_DATA)
            err = jk_image_refuse(diag, "persistent mapping at 0x%x from pinned slot %u, not a data",
                                  x->base, x->slot);
        else if (x->kind == JK_CAP_MAP_PERSISTENT && pin && x->access != JK_PVM_ACCESS_READ)
            err = jk_image_refuse(diag, "persistent mapping at 0x%x of pinned slot %u must be read-only",
                                  x->base, x->slot);
        else if (x->kind == JK_CAP_MAP_EPHEMERAL_ZERO && x->slot != 0)
            err = jk_image_refuse(diag, "ephemeral-zero mapping at 0x%x names slot %u", x->base,
                                  x->slot);
        else if (x->kind == JK_CAP_MAP_EPHEMERAL_INIT && (!pin || pin->cap.kind != JK_CAP_DATA))
            err = jk_image_refuse(diag, "ephemeral-init mapping at 0x%x: slot %u is not a pinned data",
                                  x->base, x->slot);
        else if (x->kind == JK_CAP_MAP_EPHEMERAL_INIT && jk_cap_data_len(pin->cap) > x->size)
            err = jk_image_refuse(diag, "ephemeral-init mapping at 0x%x: pinned data in slot %u longer than the mapping",
                                  x->base, x->slot);
        else if (x->kind == JK_CAP_MAP_PERSISTENT && pin &&
                 jk_cap_data_len(pin->cap) > x->size)
            err = jk_image_refuse(diag, "persistent mapping at 0x%x: pinned data in slot %u longer than the mapping",
                                  x->base, x->slot);
    }
    if (err != JK_OK) {
        free(m);
        return err;
    }
    *out = m;
    return JK_OK;
}

/* Build from a code Data and the same bytes (contiguous). */
static jk_err jk_image_build_bytes(jk_cap code, const uint8_t *bytes, size_t len,
                                   const jk_cap_mapping *maps, uint32_t nmaps,
                                   const jk_cap_endpoint *eps, uint32_t neps,
                                   const jk_cap_pin *pins, uint32_t npins,
                                   uint32_t catcher, jk_cap *out, jk_diag *diag)
{
    jk_cap_pin *p = NULL;
    jk_cap_mapping *m = NULL;
    jk_cap_endpoint *e = NULL;
    jk_pvm_program *prog = NULL;
    jk_image_body *im = NULL;
    unsigned depth = 1; /* the code Data */
    jk_diag pdiag = {{0}};
    jk_err err;

    if (len > JK_CAP_IMAGE_MAX_CODE)
        return jk_image_refuse(diag, "code of %u bytes (at most %u)",
                               len > UINT32_MAX ? UINT32_MAX : (uint32_t)len,
                               JK_CAP_IMAGE_MAX_CODE);
    if (neps > JK_CAP_IMAGE_MAX_ENDPOINTS)
        return jk_image_refuse(diag, "%u endpoints (at most %u)", neps,
                               JK_CAP_IMAGE_MAX_ENDPOINTS);
    if ((err = jk_image_check_pins(pins, npins, &p, &depth, diag)) != JK_OK)
        return err;
    if (catcher > 255)
        err = jk_image_refuse(diag, "yield-catcher slot %u out of range 1..255", catcher);
    else if (catcher != 0 && jk_pin_find(p, npins, catcher))
        err = jk_image_refuse(diag, "yield-catcher slot %u is pinned", catcher);
    if (err != JK_OK)
        goto fail;
    if ((err = jk_image_check_maps(maps, nmaps, p, npins, &m, diag)) != JK_OK)
        goto fail;
    if ((err = jk_pvm_program_load(bytes, len, &prog, &pdiag)) != JK_OK) {
        if (err != JK_ERR_NOMEM)
            err = jk_diag_set(diag, JK_ERR_CAP_IMAGE, "image: code does not load: %s",
                              pdiag.msg);
        goto fail;
    }
    for (uint32_t i = 0; i < neps; i++) {
        if (!jk_pvm_program_is_block_start(prog, eps[i].pc)) {
            err = jk_image_refuse(diag, "endpoint %u: pc %u does not start a basic block", i,
                                  eps[i].pc);
            goto fail;
        }
    }
    e = malloc((neps ? neps : 1) * sizeof *e);
    im = jk_cap_obj_alloc(sizeof *im, JK_OBJ_IMAGE);
    if (!e || !im) {
        err = JK_ERR_NOMEM;
        goto fail;
    }
    if (neps)
        memcpy(e, eps, neps * sizeof *e);
    for (uint32_t i = 0; i < npins; i++)
        jk_cap_retain(p[i].cap);
    im->o.depth = (uint8_t)(depth + 1);
    im->code = jk_cap_retain(code);
    im->prog = prog;
    im->nmaps = nmaps;
    im->neps = neps;
    im->npins = npins;
    im->catcher = (uint8_t)catcher;
    im->maps = m;
    im->eps = e;
    im->pins = p;
    for (uint32_t i = 0; i < npins; i++) /* slots 1..255, checked above; at most 255 pins */
        im->pin_at[p[i].slot] = (uint8_t)(i + 1);
    *out = jk_cap_of(JK_CAP_IMAGE, im);
    return JK_OK;
fail:
    free(p);
    free(m);
    free(e);
    if (im)
        jk_cap_obj_release(&im->o); /* fields still zero: frees nothing else */
    jk_pvm_program_free(prog);
    return err;
}

jk_err jk_cap_image_build(jk_cap code, const jk_cap_mapping *maps, uint32_t nmaps,
                      const jk_cap_endpoint *eps, uint32_t neps,
                      const jk_cap_pin *pins, uint32_t npins, uint32_t catcher,
                      jk_cap *out, jk_diag *diag)
{
    if (code.kind != JK_CAP_DATA)
        return jk_diag_set(diag, JK_ERR_CAP_KIND, "image: code is a %s, not a data",
                           jk_cap_kind_name(code.kind));
    uint64_t len = jk_cap_data_len(code);
    if (len > JK_CAP_IMAGE_MAX_CODE)
        return jk_image_refuse(diag, "code of %u bytes (at most %u)",
                               len > UINT32_MAX ? UINT32_MAX : (uint32_t)len,
                               JK_CAP_IMAGE_MAX_CODE);
    uint8_t *bytes = malloc(len ? len : 1);
    if (!bytes)
        return JK_ERR_NOMEM;
    jk_cap_data_read(code, 0, bytes, len);
    jk_err err = jk_image_build_bytes(code, bytes, len, maps, nmaps, eps, neps, pins,
                                      npins, catcher, out, diag);
    free(bytes);
    return err;
}

jk_err jk_cap_image_new(const jk_cap_image_spec *spec, jk_cap *out, jk_diag *diag)
{
    if (!spec || (!spec->code && spec->code_len) ||
        (!spec->mappings && spec->mapping_count) ||
        (!spec->endpoints && spec->endpoint_count) || (!spec->pins && spec->pin_count))
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "image: bad spec pointers");
    if (spec->code_len > JK_CAP_IMAGE_MAX_CODE)
        return jk_image_refuse(diag, "code of %u bytes (at most %u)",
                               spec->code_len > UINT32_MAX ? UINT32_MAX
                                                           : (uint32_t)spec->code_len,
                               JK_CAP_IMAGE_MAX_CODE);
    jk_cap code;
    jk_err err = jk_cap_data_new(spec->code, spec->code_len, &code);
    if (err != JK_OK)
        return err;
    err = jk_image_build_bytes(code, spec->code, spec->code_len, spec->mappings,
                               spec->mapping_count, spec->endpoints, spec->endpoint_count,
                               spec->pins, spec->pin_count, spec->yield_catcher_slot, out,
                               diag);
    jk_cap_release(code);
    return err;
}

void jk_cap_image_body_free(jk_image_body *im, jk_dead *d)
{
    jk_cap_dead_drop(d, jk_cap_obj(im->code));
    jk_pvm_program_free(im->prog);
    for (uint32_t i = 0; i < im->npins; i++)
        jk_cap_dead_drop(d, jk_cap_obj(im->pins[i].cap));
    free(im->maps);
    free(im->eps);
    free(im->pins);
}

void jk_cap_image_encode(jk_image_body *im, jk_wr *w)
{
    jk_hash h;
    jk_cap_wr_u8(w, JK_CAP_TAG_IMAGE);
    jk_cap_hash(im->code, &h);
    jk_cap_wr_bytes(w, h.bytes, JK_HASH_SIZE);
    jk_cap_wr_u32(w, im->nmaps);
    for (uint32_t i = 0; i < im->nmaps; i++) {
        const jk_cap_mapping *m = &im->maps[i];
        jk_cap_wr_u32(w, m->base);
        jk_cap_wr_u32(w, m->size);
        jk_cap_wr_u8(w, m->kind);
        jk_cap_wr_u8(w, m->access);
        jk_cap_wr_u8(w, m->slot);
    }
    jk_cap_wr_u32(w, im->neps);
    for (uint32_t i = 0; i < im->neps; i++) {
        jk_cap_wr_u32(w, im->eps[i].pc);
        for (int r = 0; r < JK_PVM_REGS; r++)
            jk_cap_wr_u64(w, im->eps[i].regs[r]);
    }
    jk_cap_wr_u32(w, im->npins);
    for (uint32_t i = 0; i < im->npins; i++) {
        jk_cap_wr_u8(w, (uint8_t)im->pins[i].slot);
        jk_cap_hash(im->pins[i].cap, &h);
        jk_cap_wr_bytes(w, h.bytes, JK_HASH_SIZE);
    }
    jk_cap_wr_u8(w, im->catcher);
}

/* ---- accessors ---- */

static const jk_image_body *jk_image_get(jk_cap image)
{
    assert(image.kind == JK_CAP_IMAGE);
    return jk_image_of(image);
}

jk_cap jk_cap_image_code(jk_cap image) { return jk_image_get(image)->code; }

const jk_pvm_program *jk_cap_image_program(jk_cap image) { return jk_image_get(image)->prog; }

uint32_t jk_cap_image_mapping_count(jk_cap image) { return jk_image_get(image)->nmaps; }

const jk_cap_mapping *jk_cap_image_mapping(jk_cap image, uint32_t i)
{
    const jk_image_body *im = jk_image_get(image);
    return i < im->nmaps ? &im->maps[i] : NULL;
}

uint32_t jk_cap_image_endpoint_count(jk_cap image) { return jk_image_get(image)->neps; }

const jk_cap_endpoint *jk_cap_image_endpoint(jk_cap image, uint32_t i)
{
    const jk_image_body *im = jk_image_get(image);
    return i < im->neps ? &im->eps[i] : NULL;
}

uint32_t jk_cap_image_pin_count(jk_cap image) { return jk_image_get(image)->npins; }

const jk_cap_pin *jk_cap_image_pin(jk_cap image, uint32_t i)
{
    const jk_image_body *im = jk_image_get(image);
    return i < im->npins ? &im->pins[i] : NULL;
}

jk_cap jk_cap_image_pinned(jk_cap image, uint32_t slot)
{
    const jk_image_body *im = jk_image_get(image);
    unsigned at = slot < JK_CAP_ROOT_SLOTS ? im->pin_at[slot] : 0;
    return at ? im->pins[at - 1].cap : jk_cap_null();
}

uint32_t jk_cap_image_yield_catcher_slot(jk_cap image) { return jk_image_get(image)->catcher; }
