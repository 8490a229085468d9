/*
 * frame.c — a frame's memory: the image's mappings built from Data caps,
 * minted back at HALT, captured into a continuation and restored from one.
 *
 * Every page starts shared (a Data cap's page, or the one zero page) and is
 * mapped on first touch by the PVM memory's resolver, so a CALL costs
 * O(mappings) whatever their size. A write copies the page (copy-on-write)
 * and the memory records it as dirty; minting and capturing therefore cost
 * O(dirty pages · log pages), never O(mapping).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Alignas(4096) const uint8_t jk_zero_page[JK_PVM_PAGE_SIZE];

static jk_fmap *jk_find_map(jk_frame *f, uint32_t addr)
{
    uint32_t lo = 0, hi = f->map_count;
    while (lo < hi) { /* mappings are sorted by base and do not overlap */
        uint32_t mid = lo + (hi - lo) / 2;
        const jk_cap_mapping *m = &f->maps[mid].m;
        if (addr < m->base)
            hi = mid;
        else if (addr - m->base >= m->size)
            lo = mid + 1;
        else
            return &f->maps[mid];
    }
    return NULL;
}

static void jk_resolve(void *ctx, jk_pvm_memory *mem, uint32_t page_addr)
{
    jk_frame *f = ctx;
    jk_fmap *fm = jk_find_map(f, page_addr);
    if (!fm)
        return;
    uint32_t index = (page_addr - fm->m.base) / JK_PVM_PAGE_SIZE;
    /* A parked page (in-place resume) is mapped again as it was: its contents
     * are what the captured region would hold at that page. */
    bool parked = jk_pvm_memory_parked(mem, page_addr);
    const uint8_t *page = NULL;
    if (parked)
        page = jk_zero_page; /* any non-NULL: not mapped from it */
    else if (index < fm->data_pages)
        page = jk_cap_data_page(fm->data, index);
    else if (fm->m.kind != JK_CAP_MAP_PERSISTENT)
        page = jk_zero_page; /* a persistent region stops where its Data does */
    if (!page)
        return;
    /* The first touch past an ephemeral region's Data also pays for the
     * copy of that Data a pause would make to hold the page (capture): an
     * initialised region's, and a zero region's resumed from a pause (its
     * captured pages), else a guest paused and resumed in small slices makes
     * every pause copy the whole region it grew so far. */
    int64_t cost = JK_GAS_PER_PAGE_TOUCHED;
    bool past_init = fm->m.kind != JK_CAP_MAP_PERSISTENT && index >= fm->price_pages && !fm->past_init_paid;
    if (past_init)
        cost += (int64_t)fm->price_pages * JK_GAS_PER_PAGE_COPIED;
    if (!f->in_host) {
        if (f->run_cost + cost > f->run_gas) {
            f->starved = true; /* cannot pay: the access faults, the loop pauses */
            return;
        }
        f->run_cost += cost;
        fm->past_init_paid |= past_init;
    }
    if (parked)
        jk_pvm_memory_unpark(mem, page_addr);
    else
        jk_pvm_memory_map_shared(mem, page_addr, page, (jk_pvm_access)fm->m.access);
    /* live again: the next in-place resume parks it */
    if (!f->live_all && f->live_count == f->live_cap) {
        size_t cap = f->live_cap ? 2 * f->live_cap : 64;
        uint32_t *grown = realloc(f->live, cap * sizeof *grown);
        if (grown) {
            f->live = grown;
            f->live_cap = cap;
        } else {
            f->live_all = true;
        }
    }
    if (!f->live_all)
        f->live[f->live_count++] = page_addr;
}

jk_err jk_kernel_frame_memory(jk_frame *f, const jk_cap_region *regions, uint32_t region_count,
                       char *msg, size_t msg_len)
{
    jk_cap image = f->exec_image;
    uint32_t n = jk_cap_image_mapping_count(image);
    if (regions && region_count != n) {
        snprintf(msg, msg_len, "continuation has %u memory regions for %u mappings", region_count, n);
        return JK_ERR_INVALID_ARG;
    }
    /* The array the last frame at this depth left, if it is large enough. */
    jk_kernel *k = f->kernel;
    uint32_t at = (uint32_t)(f - k->frames), cap = n ? n : 1;
    if (k->spare_maps[at].maps && k->spare_maps[at].cap >= cap) {
        f->maps = k->spare_maps[at].maps;
        cap = k->spare_maps[at].cap;
        k->spare_maps[at].maps = NULL;
    } else {
        f->maps = malloc(cap * sizeof *f->maps);
        if (!f->maps)
            return JK_ERR_NOMEM;
    }
    memset(f->maps, 0, n * sizeof *f->maps);
    memset(f->persist_slots, 0, sizeof f->persist_slots);
    f->map_cap = cap;
    f->map_count = n;
    for (uint32_t i = 0; i < n; i++) {
        jk_fmap *fm = &f->maps[i];
        fm->m = *jk_cap_image_mapping(image, i);
        jk_cap source = jk_cap_null();
        if (fm->m.kind == JK_CAP_MAP_PERSISTENT) {
            f->persist_slots[fm->m.slot >> 6] |= UINT64_C(1) << (fm->m.slot & 63); /* a u8: a root slot */
            source = jk_kernel_slot(f, fm->m.slot);
            if (jk_cap_kind_of(source) != JK_CAP_DATA) {
                snprintf(msg, msg_len, "mapping at 0x%x: slot %u holds no Data", fm->m.base, fm->m.slot);
                return JK_ERR_INVALID_ARG;
            }
            fm->pinned = !jk_cap_is_null(jk_cap_image_pinned(image, fm->m.slot));
            fm->mint = !fm->pinned && fm->m.access == JK_PVM_ACCESS_WRITE;
            if (fm->mint)
                fm->slot_data = jk_cap_retain(source);
        } else if (fm->m.kind == JK_CAP_MAP_EPHEMERAL_INIT) {
            source = jk_cap_image_pinned(image, fm->m.slot);
        }
        if (regions) {
            if (regions[i].base != fm->m.base) {
                snprintf(msg, msg_len, "continuation region at 0x%x, mapping at 0x%x", regions[i].base, fm->m.base);
                return JK_ERR_INVALID_ARG;
            }
            source = regions[i].data;
        }
        if (!jk_cap_is_null(source) && jk_cap_data_len(source) > fm->m.size) {
            snprintf(msg, msg_len, "mapping at 0x%x: a %llu-byte Data does not fit its %u-byte region", fm->m.base,
                     (unsigned long long)jk_cap_data_len(source), fm->m.size);
            return JK_ERR_INVALID_ARG;
        }
        fm->data = jk_cap_retain(source);
        fm->data_pages = jk_cap_data_page_count(source);
        fm->price_pages = fm->data_pages;
        /* The resolver maps pages with jk_cap_data_page, which cannot fail
         * once a small last page has its 4 KiB form: make it here, where
         * running out of memory is an error and not a fault. */
        uint64_t tail = jk_cap_data_len(source) % JK_CAP_PAGE_SIZE;
        if (tail && tail <= JK_CAP_SMALL_PAGE && !jk_cap_data_page(source, fm->data_pages - 1))
            return JK_ERR_NOMEM;
    }
    jk_err err = jk_pvm_memory_new_pooled(f->kernel->mem_pool, &f->mem);
    if (err != JK_OK)
        return err;
    f->dirty_seen = 0; /* a fresh memory: nothing dirty, nothing live */
    f->live_count = 0;
    f->live_all = false;
    if (!f->live && k->spare_maps[at].live) { /* the last frame's list at this depth */
        f->live = k->spare_maps[at].live;
        f->live_cap = k->spare_maps[at].live_cap;
        k->spare_maps[at].live = NULL;
    }
    jk_pvm_memory_set_resolver(f->mem, jk_resolve, f);
    return JK_OK;
}

static int jk_u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* `base` with the dirty pages of fm's region replacing its pages: *out NEW. */
static jk_err jk_apply_dirty(jk_frame *f, const jk_fmap *fm, jk_cap base, jk_cap *out)
{
    const uint32_t *dirty;
    size_t ndirty, n = 0;
    jk_pvm_memory_dirty_pages(f->mem, &dirty, &ndirty);
    uint32_t first = fm->m.base / JK_PVM_PAGE_SIZE, pages = jk_cap_data_page_count(base);
    uint32_t *index = malloc((ndirty ? ndirty : 1) * sizeof *index);
    const uint8_t **ptrs = malloc((ndirty ? ndirty : 1) * sizeof *ptrs);
    if (!index || !ptrs) {
        free(index);
        free(ptrs);
        return JK_ERR_NOMEM;
    }
    for (size_t i = 0; i < ndirty; i++)
        if (dirty[i] >= first && dirty[i] - first < pages)
            index[n++] = dirty[i] - first;
    qsort(index, n, sizeof *index, jk_u32_cmp);
    for (size_t i = 0; i < n; i++)
        ptrs[i] = jk_pvm_memory_page(f->mem, fm->m.base + index[i] * JK_PVM_PAGE_SIZE);
    jk_err err = n ? jk_cap_data_replace_pages(base, index, ptrs, n, out) : JK_OK;
    if (!n)
        *out = jk_cap_retain(base);
    free(index);
    free(ptrs);
    return err;
}

/* Bring every mapping's dirtied / written_pages up to the dirty list: the
 * list only grows while the frame's memory lives, so each page is looked at
 * once (O(pages dirtied since the last scan · log mappings)), however many
 * pauses, in-place resumes and HALTs ask. */
static void jk_scan_dirty(jk_frame *f)
{
    const uint32_t *dirty;
    size_t ndirty;
    jk_pvm_memory_dirty_pages(f->mem, &dirty, &ndirty);
    size_t from = f->dirty_seen < ndirty ? f->dirty_seen : ndirty;
    f->kernel->page_scans += ndirty - from;
    for (size_t i = from; i < ndirty; i++) {
        jk_fmap *fm = jk_find_map(f, dirty[i] * JK_PVM_PAGE_SIZE);
        if (!fm)
            continue;
        uint32_t end = dirty[i] - fm->m.base / JK_PVM_PAGE_SIZE + 1;
        fm->dirtied = true;
        if (end > fm->written_pages)
            fm->written_pages = end;
    }
    f->dirty_seen = ndirty;
}

/* Whether any page of fm's region was written. */
static bool jk_region_dirty(jk_frame *f, const jk_fmap *fm)
{
    jk_scan_dirty(f);
    return fm->dirtied;
}

/* Bytes from fm's base up to the end of its last written page (0: none). */
static uint64_t jk_region_written_end(jk_frame *f, const jk_fmap *fm)
{
    jk_scan_dirty(f);
    return (uint64_t)fm->written_pages * JK_PVM_PAGE_SIZE;
}

jk_err jk_kernel_frame_mint(jk_frame *f)
{
    for (uint32_t i = 0; i < f->map_count; i++) {
        jk_fmap *fm = &f->maps[i];
        if (!fm->mint || fm->replaced)
            continue; /* read-only, or the frame replaced the slot itself */
        if (!jk_region_dirty(f, fm) && jk_cap_equal(fm->data, fm->slot_data))
            continue; /* nothing written (nor before a pause): the slot keeps its
                         Data (by value: minting would give an equal value) */
        jk_cap minted;
        jk_err err = jk_apply_dirty(f, fm, fm->data, &minted);
        if (err != JK_OK)
            return err;
        err = jk_kernel_slot_set(f, fm->m.slot, minted);
        jk_cap_release(minted);
        if (err != JK_OK)
            return err;
    }
    return JK_OK;
}

void jk_kernel_frame_slot_mapped_written(jk_frame *f, uint32_t slot)
{
    for (uint32_t i = 0; i < f->map_count; i++)
        if (f->maps[i].m.kind == JK_CAP_MAP_PERSISTENT && f->maps[i].m.slot == slot)
            f->maps[i].replaced = true;
}

void jk_kernel_frame_capture_free(jk_cap_frame *cf)
{
    jk_cap_release(cf->instance);
    for (uint32_t i = 0; i < cf->region_count; i++)
        jk_cap_release(cf->regions[i].data);
    free((void *)cf->regions);
    memset(cf, 0, sizeof *cf);
}

jk_err jk_kernel_frame_capture(jk_frame *f, int64_t gas, jk_cap_frame *out)
{
    jk_err err;
    memset(out, 0, sizeof *out);
    if (f->set_image_ran)
        return JK_ERR_INVALID_ARG; /* its new image's code cannot resume the old pc */
    err = jk_kernel_frame_flush(f); /* the instance is made of the whole cnode */
    if (err != JK_OK)
        return err;
    jk_cap_region *regions = calloc(f->map_count ? f->map_count : 1, sizeof *regions);
    if (!regions)
        return JK_ERR_NOMEM;
    out->regions = regions;
    for (uint32_t i = 0; i < f->map_count; i++) {
        jk_fmap *fm = &f->maps[i];
        jk_cap base = jk_cap_retain(fm->data);
        /* A region's Data covers its starting Data and every page written
         * (the rest reads as zero on resume): a zero region costs O(log
         * pages); an initialised one is copied only when pages past its Data
         * were written, which the first such touch paid for (jk_resolve). */
        uint64_t need = jk_region_written_end(f, fm);
        if (fm->m.kind != JK_CAP_MAP_PERSISTENT && (jk_cap_is_null(base) || jk_cap_data_len(base) < need)) {
            jk_cap full, written;
            err = jk_cap_data_new_zeroed((size_t)need, &full);
            if (err == JK_OK && !jk_cap_is_null(base) && jk_cap_data_len(base)) {
                uint8_t *bytes = malloc((size_t)jk_cap_data_len(base));
                err = bytes ? jk_cap_data_read(base, 0, bytes, (size_t)jk_cap_data_len(base)) : JK_ERR_NOMEM;
                if (err == JK_OK)
                    err = jk_cap_data_write(full, 0, bytes, (size_t)jk_cap_data_len(base), &written);
                free(bytes);
                if (err == JK_OK) {
                    jk_cap_release(full);
                    full = written;
                } else {
                    jk_cap_release(full);
                }
            }
            jk_cap_release(base);
            if (err != JK_OK)
                goto fail;
            base = full;
        }
        regions[i].base = fm->m.base;
        err = jk_apply_dirty(f, fm, base, &regions[i].data);
        jk_cap_release(base);
        out->region_count = i + 1;
        if (err != JK_OK)
            goto fail;
    }
    err = jk_cap_instance_with_cnode(f->inst, f->cnode, &out->instance, NULL);
    if (err != JK_OK)
        goto fail;
    out->endpoint = (uint8_t)f->endpoint;
    out->pc = f->st.pc;
    memcpy(out->regs, f->st.regs, sizeof out->regs);
    out->gas = gas;
    out->flags = f->st.block_paid ? JK_CAP_FRAME_BLOCK_PAID : 0;
    return JK_OK;
fail:
    jk_kernel_frame_capture_free(out);
    return err;
}

/* Pages of the region jk_kernel_frame_capture would make for fm (its Data's pages,
 * or for an ephemeral region up to the last page written when that is
 * further). The dirty list scanned (jk_scan_dirty) first: the callers scan
 * once for all the mappings (session 15: it was once a mapping). */
static uint64_t jk_captured_pages(const jk_fmap *fm)
{
    uint64_t pages = jk_cap_data_page_count(fm->data);
    if (fm->m.kind == JK_CAP_MAP_PERSISTENT)
        return pages;
    uint64_t written = fm->written_pages;
    return written > pages ? written : pages;
}

bool jk_kernel_frame_pausable(jk_frame *f, unsigned *depth)
{
    if (f->set_image_ran)
        return false; /* capture refuses */
    jk_scan_dirty(f);
    for (uint32_t i = 0; i < f->map_count; i++) {
        const jk_fmap *fm = &f->maps[i];
        if (jk_captured_pages(fm) * JK_PVM_PAGE_SIZE > JK_CAP_DATA_MAX_LEN)
            return false; /* the captured region cannot be a Data */
        if (fm->m.kind == JK_CAP_MAP_PERSISTENT &&
            jk_cap_kind_of(jk_kernel_slot(f, fm->m.slot)) != JK_CAP_DATA)
            return false; /* a resume faults the frame (jk_kernel_frame_memory) */
    }
    /* jk_cap_instance_with_cnode(inst, cnode): the pins and the nesting bound */
    jk_cap image = jk_cap_instance_image(f->inst);
    if (!jk_kernel_frame_pins_hold(f))
        return false;
    /* The working root's depth bound where it decides nothing; near the
     * bound (within the one level jk_can_serve_in_place adds) the cnode is
     * brought up to date and its depth is exact, so no answer moves. */
    unsigned c = jk_kernel_cnode_depth_bound(f);
    if ((jk_cap_depth(image) > c ? jk_cap_depth(image) : c) + 2 > JK_CAP_MAX_DEPTH) {
        if (jk_kernel_frame_flush(f) != JK_OK)
            return false; /* out of memory: the pause itself fails alike */
        c = jk_cap_depth(f->cnode);
    }
    unsigned d = jk_cap_depth(image) > c ? jk_cap_depth(image) : c;
    if (d + 1 > JK_CAP_MAX_DEPTH)
        return false;
    if (d + 1 > *depth)
        *depth = d + 1; /* deeper than any region's Data */
    return true;
}

void jk_kernel_frame_resume_in_place(jk_frame *f)
{
    jk_scan_dirty(f);
    for (uint32_t i = 0; i < f->map_count; i++) {
        jk_fmap *fm = &f->maps[i];
        /* jk_kernel_frame_memory over the captured regions: the region's own pages
         * set the price of a touch past them, nothing is paid yet, and the
         * slot's Data at resume is what a mint compares with. */
        fm->price_pages = (uint32_t)jk_captured_pages(fm);
        fm->past_init_paid = false;
        fm->replaced = false;
        if (fm->mint) {
            jk_cap_release(fm->slot_data);
            fm->slot_data = jk_cap_retain(jk_kernel_slot(f, fm->m.slot));
        }
    }
    if (f->live_all) {
        const uint32_t *dirty;
        size_t ndirty;
        jk_pvm_memory_dirty_pages(f->mem, &dirty, &ndirty);
        f->kernel->page_scans += ndirty; /* about the pages it walks */
        jk_pvm_memory_park(f->mem);
    } else {
        f->kernel->page_scans += f->live_count;
        jk_pvm_memory_park_pages(f->mem, f->live, f->live_count);
    }
    f->live_count = 0;
    f->live_all = false;
}

void jk_kernel_frame_release(jk_frame *f)
{
    jk_cap_release(f->original);
    jk_cap_release(f->inst);
    jk_cap_release(f->cnode);
    for (uint32_t i = 0; i < f->w.count; i++)
        jk_cap_release(f->w.val[i]);
    jk_cap_release(f->exec_image);
    for (uint32_t i = 0; i < f->map_count; i++) {
        jk_cap_release(f->maps[i].data);
        jk_cap_release(f->maps[i].slot_data);
    }
    jk_kernel *k = f->kernel;
    uint32_t at = k ? (uint32_t)(f - k->frames) : 0;
    if (k && f->maps && !k->spare_maps[at].maps) {
        k->spare_maps[at].maps = f->maps; /* for the next frame at this depth */
        k->spare_maps[at].cap = f->map_cap;
    } else {
        free(f->maps);
    }
    jk_pvm_memory_free(f->mem);
    if (k && f->live && !k->spare_maps[at].live) {
        k->spare_maps[at].live = f->live; /* for the next frame at this depth */
        k->spare_maps[at].live_cap = f->live_cap;
    } else {
        free(f->live);
    }
    jk_kernel_frame_zero(f);
}
