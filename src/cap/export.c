/*
 * export.c — send a value's objects somewhere: jk_cap_export (one object
 * per record, children before parents: image files, RPC), and the store's
 * layouts (jk_cap_export_grouped; jk_cap_export_put_first for a head
 * commit): a CNode's inner nodes four levels per group record, a small
 * Data held in the group that names it (layout 3, docs/cap.md "Store:
 * layout 3"). Split from load.c, whose loaders read what this writes.
 */
#include "internal.h"

typedef struct jk_exporter {
    const jk_cap_sink *sink;
    const jk_cap_put_sink *ps;  /* put first (jk_cap_export_put_first), or NULL */
    bool grouped;
    jk_wr buf;  /* reused: a parent is encoded only after all its children */
} jk_exporter;

static jk_err jk_export_obj(void *ctx, jk_obj *o);

static void jk_kid_hash(jk_cnode_node *n, int i, jk_hash *out)
{
    jk_obj *kid = n->o.height == 1 ? (n->u.slot[i].body ? jk_cap_obj(n->u.slot[i]) : NULL)
                                   : (n->u.kid[i] ? &n->u.kid[i]->o : NULL);
    if (kid)
        jk_cap_obj_hash(kid, out);
    else
        memset(out->bytes, 0, JK_HASH_SIZE);
}

/* The one page of a Data a group record may hold (layout 3): a Data of
 * 1..JK_CAP_INLINE_MAX bytes, while the group's held bytes stay within
 * JK_CAP_INLINE_BUDGET (so that a full group of 15 nodes and its forms
 * stays under LMDB's overflow threshold: one leaf, no overflow page).
 * NULL: the slot is a record of its own. */
static const jk_dnode *jk_inline_page(jk_cap slot, size_t held)
{
    if (slot.kind != JK_CAP_DATA)
        return NULL;
    const jk_data_body *d = (const jk_data_body *)slot.body;
    if (d->len == 0 || d->len > JK_CAP_INLINE_MAX || held + 2 + d->len > JK_CAP_INLINE_BUDGET)
        return NULL;
    return d->root;
}

/* A group record being written: a buffer of JK_GROUP_MAX bytes, which a
 * group cannot outgrow (15 nodes, 16 form bytes, the held Data's lengths
 * and bytes within JK_CAP_INLINE_BUDGET), so writes are plain copies
 * (through jk_wr they were ~9 % of a commit's instructions: a call and a
 * capacity check per 32-byte hash). */
enum {
    JK_GROUP_MAX = 2 + 2 * JK_HASH_SIZE * ((1u << JK_CAP_GROUP_LEVELS) - 1) + (1u << JK_CAP_GROUP_LEVELS) +
                   JK_CAP_INLINE_BUDGET
};
typedef struct jk_gbuf {
    uint8_t *p;         /* NULL: a walk that only exports what the group names */
    size_t len, held;   /* bytes written; of them, held Data (lengths and bytes) */
    bool descend;       /* export what the group names (records of their own) */
} jk_gbuf;

/* Append n and the group's nodes under it (pre-order) to g (when g->p),
 * and export what the group's bottom names (when g->descend: before the
 * group's own put, children before parents). A height-1 node's non-empty
 * slots follow it, each a form byte and, for a Data held here, its length
 * and bytes (layout 3). Which slots are held depends on the group alone,
 * so a walk that writes and one that exports agree. */
static jk_err jk_export_group_nodes(jk_exporter *ex, jk_cnode_node *n, unsigned bottom, jk_gbuf *g)
{
    jk_err err = JK_OK;
    for (int i = 0; i < 2 && g->p; i++) {
        jk_hash h;
        jk_kid_hash(n, i, &h);
        memcpy(g->p + g->len, h.bytes, JK_HASH_SIZE);
        g->len += JK_HASH_SIZE;
    }
    for (int i = 0; i < 2 && err == JK_OK; i++) {
        if (n->o.height == 1) {
            if (!n->u.slot[i].body)
                continue;
            const jk_dnode *page = jk_inline_page(n->u.slot[i], g->held);
            if (page) {
                uint32_t len = page->u.page.len;
                if (g->p) {
                    g->p[g->len] = JK_CAP_FORM_DATA;
                    g->p[g->len + 1] = (uint8_t)len;
                    g->p[g->len + 2] = (uint8_t)(len >> 8);
                    memcpy(g->p + g->len + 3, page->u.page.bytes, len);
                    g->len += 3 + len;
                }
                g->held += 2 + len;
                continue;
            }
            if (g->p)
                g->p[g->len++] = JK_CAP_FORM_RECORD;
            if (g->descend)
                err = jk_export_obj(ex, jk_cap_obj(n->u.slot[i]));
        } else if (n->u.kid[i]) {
            if ((unsigned)n->o.height - 1 != bottom)
                err = jk_export_group_nodes(ex, n->u.kid[i], bottom, g);
            else if (g->descend)
                err = jk_export_obj(ex, &n->u.kid[i]->o);
        }
    }
    return err;
}

/* A group top: its record, unless the store has it (and so everything
 * under it). */
static jk_err jk_export_group(jk_exporter *ex, jk_cnode_node *top, const jk_hash *h)
{
    /* one buffer of the bound a group (growing from the writer's 128 bytes
     * cost three reallocs a group, ~7 % of a commit's instructions:
     * docs/bench.md "The critical path, session 6"); on the heap, as the
     * export recurses through every group of a nested value */
    jk_gbuf g = {malloc(JK_GROUP_MAX), 2, 0, ex->ps == NULL};
    if (!g.p)
        return JK_ERR_NOMEM;
    g.p[0] = JK_CAP_GROUP3_TAG;
    g.p[1] = top->o.height;
    unsigned bottom = jk_cap_group_bottom(top->o.height);
    jk_err err = jk_export_group_nodes(ex, top, bottom, &g);
    if (err == JK_OK && !ex->ps) {
        err = ex->sink->put(ex->sink->ctx, h, g.p, g.len);
    } else if (err == JK_OK) {
        bool present = false;
        err = ex->ps->put_new(ex->ps->ctx, h, g.p, g.len, &present);
        jk_gbuf walk = {NULL, 0, 0, true};
        if (err == JK_OK && !present)
            err = jk_export_group_nodes(ex, top, bottom, &walk);
    }
    free(g.p);
    return err;
}

/* jk_export_obj for a put-first sink. */
static jk_err jk_export_obj_first(jk_exporter *ex, jk_obj *o)
{
    jk_hash h;
    jk_cap_obj_hash(o, &h);
    if (ex->ps->known(ex->ps->ctx, &h))
        return JK_OK;
    if (o->type == JK_OBJ_CNODE_NODE) /* a group top, as in jk_export_obj */
        return jk_export_group(ex, (jk_cnode_node *)o, &h);
    ex->buf.len = 0;
    jk_cap_obj_encode(o, &ex->buf);
    if (ex->buf.oom)
        return JK_ERR_NOMEM;
    bool present = false;
    jk_err err = ex->ps->put_new(ex->ps->ctx, &h, ex->buf.buf, ex->buf.len, &present);
    if (err == JK_OK && !present)
        err = jk_cap_obj_each_child(o, jk_export_obj, ex);
    return err;
}

static jk_err jk_export_obj(void *ctx, jk_obj *o)
{
    jk_exporter *ex = ctx;
    if (ex->ps)
        return jk_export_obj_first(ex, o);
    jk_hash h;
    bool present = false;
    jk_cap_obj_hash(o, &h);
    jk_err err = ex->sink->has(ex->sink->ctx, &h, &present);
    if (err != JK_OK || present)
        return err;
    /* grouped: a CNode node reached here is a group top (a root, or the
     * next group under a group's bottom) */
    if (ex->grouped && o->type == JK_OBJ_CNODE_NODE)
        return jk_export_group(ex, (jk_cnode_node *)o, &h);
    if ((err = jk_cap_obj_each_child(o, jk_export_obj, ex)) != JK_OK)
        return err;
    ex->buf.len = 0;
    jk_cap_obj_encode(o, &ex->buf);
    if (ex->buf.oom)
        return JK_ERR_NOMEM;
    return ex->sink->put(ex->sink->ctx, &h, ex->buf.buf, ex->buf.len);
}

static jk_err jk_cap_export_as(jk_cap cap, const jk_cap_sink *sink, const jk_cap_put_sink *ps, bool grouped,
                               jk_diag *diag)
{
    if (!cap.body)
        return jk_diag_set(diag, JK_ERR_CAP_KIND, "export: the null cap has no objects");
    if (ps ? !ps->known || !ps->put_new : !sink || !sink->has || !sink->put)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "export: bad sink");
    jk_exporter ex = {.sink = sink, .ps = ps, .grouped = grouped};
    jk_err err = jk_export_obj(&ex, jk_cap_obj(cap));
    free(ex.buf.buf);
    if (err != JK_OK)
        jk_diag_set(diag, err, "export: %s", jk_strerror(err));
    return err;
}

jk_err jk_cap_export(jk_cap cap, const jk_cap_sink *sink, jk_diag *diag)
{
    return jk_cap_export_as(cap, sink, NULL, false, diag);
}

jk_err jk_cap_export_grouped(jk_cap cap, const jk_cap_sink *sink, jk_diag *diag)
{
    return jk_cap_export_as(cap, sink, NULL, true, diag);
}

jk_err jk_cap_export_put_first(jk_cap cap, const jk_cap_put_sink *sink, jk_diag *diag)
{
    return jk_cap_export_as(cap, NULL, sink, true, diag);
}
