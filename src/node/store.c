/*
 * store.c — opening a validator's LMDB store safely (docs/node.md, "The
 * store"): one process at a time (an flock on DIR/jark.lock, held while the
 * store is open), and a data.mdb that LMDB would map past its end refused
 * before it is mapped.
 *
 * Why the size check: LMDB maps data.mdb and reads its pages in place. A file
 * cut short (a full disk, a bad copy) still has valid meta pages naming pages
 * beyond its end, and the first read there is a SIGBUS inside mdb_get, with
 * no message. So before opening we read the two meta pages ourselves and
 * require the file to hold every page the newest meta says is in use.
 *
 * The meta page layout (LMDB 0.9, 64-bit; lmdb's mdb.c, MDB_page/MDB_meta):
 *   page header, 16 bytes: pgno u64 ‖ pad u16 ‖ flags u16 ‖ lower/upper u32
 *   meta at +16: magic u32 (0xBEEFC0DE) ‖ version u32 ‖ address u64 ‖
 *     mapsize u64 ‖ 2 × MDB_db (48 bytes each; the first's md_pad u32 is the
 *     page size) ‖ last_pg u64 ‖ txnid u64
 * Page 0 and page 1 are the two metas; LMDB uses the one with the larger
 * txnid.
 */
#include "internal.h"
#include "jark/node.h"
#include "jark/bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define JK_LMDB_MAGIC 0xBEEFC0DEu
#define JK_LMDB_PAGEHDR 16
#define JK_LMDB_META_MAGIC (JK_LMDB_PAGEHDR + 0)
#define JK_LMDB_META_PSIZE (JK_LMDB_PAGEHDR + 24)        /* mm_dbs[0].md_pad */
#define JK_LMDB_META_LAST_PG (JK_LMDB_PAGEHDR + 24 + 96) /* after the two MDB_db */
#define JK_LMDB_META_TXNID (JK_LMDB_META_LAST_PG + 8)
#define JK_LMDB_META_END (JK_LMDB_META_TXNID + 8)

typedef struct jk_lmdb_meta {
    uint32_t psize;
    uint64_t last_pg, txnid;
} jk_lmdb_meta;

static bool jk_meta_read(const uint8_t *p, jk_lmdb_meta *m)
{
    if (jk_get_u32le(p + JK_LMDB_META_MAGIC) != JK_LMDB_MAGIC)
        return false;
    m->psize = jk_get_u32le(p + JK_LMDB_META_PSIZE);
    m->last_pg = jk_get_u64le(p + JK_LMDB_META_LAST_PG);
    m->txnid = jk_get_u64le(p + JK_LMDB_META_TXNID);
    return true;
}

/* Where the file's bytes come from: an open file, or memory (the fuzz
 * target). Reads up to n bytes at off; returns how many it got. */
typedef struct jk_lmdb_src {
    int fd;
    const uint8_t *mem;
    uint64_t size;
} jk_lmdb_src;

static size_t jk_src_read(const jk_lmdb_src *src, uint8_t *buf, size_t n, uint64_t off)
{
    if (off >= src->size)
        return 0;
    if (n > src->size - off)
        n = (size_t)(src->size - off);
    if (src->mem) {
        memcpy(buf, src->mem + off, n);
        return n;
    }
    ssize_t got = pread(src->fd, buf, n, (off_t)off);
    return got < 0 ? 0 : (size_t)got;
}

static jk_err jk_lmdb_check(const jk_lmdb_src *src, const char *name, jk_diag *diag)
{
    uint8_t page0[JK_LMDB_META_END], page1[JK_LMDB_META_END];
    jk_lmdb_meta m0, m1;
    long long size = (long long)src->size;
    if (src->size == 0)
        return JK_OK; /* LMDB makes a fresh environment in an empty file */
    if (jk_src_read(src, page0, sizeof page0, 0) != sizeof page0 || !jk_meta_read(page0, &m0))
        return jk_diag_set(diag, JK_ERR_NODE_STORE_CORRUPT, "%s (%lld bytes) does not start with an LMDB meta page",
                           name, size);
    if (m0.psize < 512 || m0.psize > (1u << 16) || (m0.psize & (m0.psize - 1)) || src->size < 2ull * m0.psize)
        return jk_diag_set(diag, JK_ERR_NODE_STORE_CORRUPT,
                           "%s (%lld bytes): page size %u, but two meta pages do not fit (truncated?)", name, size,
                           m0.psize);
    if (jk_src_read(src, page1, sizeof page1, m0.psize) != sizeof page1 || !jk_meta_read(page1, &m1))
        return jk_diag_set(diag, JK_ERR_NODE_STORE_CORRUPT, "%s: the second LMDB meta page is damaged", name);
    const jk_lmdb_meta *m = m1.txnid > m0.txnid ? &m1 : &m0;
    uint64_t need = m->last_pg >= UINT64_MAX / m0.psize - 1 ? UINT64_MAX : (m->last_pg + 1) * m0.psize;
    if (src->size < need)
        return jk_diag_set(diag, JK_ERR_NODE_STORE_CORRUPT,
                           "%s is %lld bytes, but its meta page uses pages up to %llu (%llu bytes): the file is "
                           "truncated", name, size, (unsigned long long)m->last_pg, (unsigned long long)need);
    return JK_OK;
}

jk_err jk_node_store_check_bytes(const uint8_t *file, size_t len, jk_diag *diag)
{
    jk_lmdb_src src = {-1, file, len};
    return jk_lmdb_check(&src, "data.mdb", diag);
}

jk_err jk_node_store_check_file(const char *path, jk_diag *diag)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? JK_OK : jk_diag_set(diag, JK_ERR_CAP_STORE, "%s: %s", path, strerror(errno));
    struct stat st;
    jk_err err;
    if (fstat(fd, &st) != 0) {
        err = jk_diag_set(diag, JK_ERR_CAP_STORE, "%s: %s", path, strerror(errno));
    } else {
        jk_lmdb_src src = {fd, NULL, (uint64_t)st.st_size};
        err = jk_lmdb_check(&src, path, diag);
    }
    close(fd);
    return err;
}

jk_err jk_node_store_open(const char *dir, size_t map_size, jk_node_store *out, jk_diag *diag)
{
    out->store = NULL;
    out->lock_fd = -1;
    char path[4096];
    (void)mkdir(dir, 0755); /* as jk_cap_store_open would; it reports failures */
    snprintf(path, sizeof path, "%s/jark.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return jk_diag_set(diag, JK_ERR_CAP_STORE, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return jk_diag_set(diag, JK_ERR_NODE_STORE_BUSY, "%s is open in another process (%s is locked)", dir,
                               path);
        return jk_diag_set(diag, JK_ERR_CAP_STORE, "%s: flock: %s", path, strerror(e));
    }
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    jk_err err = jk_node_store_check_file(path, diag);
    jk_cap_store_options opt = {map_size};
    if (err == JK_OK)
        err = jk_cap_store_open(dir, &opt, &out->store, diag);
    if (err != JK_OK) {
        close(fd); /* releases the lock */
        out->store = NULL;
        return err;
    }
    out->lock_fd = fd;
    return JK_OK;
}

void jk_node_store_close(jk_node_store *s)
{
    jk_cap_store_close(s->store);
    s->store = NULL;
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    s->lock_fd = -1;
}

/* ---- the dispatch-queue record (docs/node.md, "The store") ----
 *
 * Slot 3 of the head record: a Data holding the committed head's dispatch
 * queue (jk_chain_queue_encode: what the head block's process queued, then
 * what its apply emitted to dispatch endpoints, or a queue carried over a
 * block whose process did not run). Neither of the last two is in any
 * block, so a node restarted from its store could not rebuild them, and its
 * own proposals — which must consume the queue first — were refused until
 * another proposer's block consumed it. Committed in the head's own
 * transaction (it is a slot of the record), so the queue and the head are
 * always of one height. A record without the slot (a store of an earlier
 * jark) falls back to the head block's queued list. */
#define JK_NODE_HEAD_QUEUE_SLOT 3

jk_err jk_node_store_queue_put(jk_cap record, const jk_chain_kernel *ck, jk_cap *out)
{
    *out = jk_cap_null();
    uint8_t *bytes = NULL;
    size_t len = 0;
    jk_cap data = jk_cap_null();
    jk_err err = jk_chain_queue_encode(ck, &bytes, &len);
    if (err == JK_OK)
        err = jk_cap_data_new(bytes, len, &data);
    free(bytes);
    if (err == JK_OK)
        err = jk_cap_cnode_set(record, JK_NODE_HEAD_QUEUE_SLOT, data, out);
    jk_cap_release(data);
    return err;
}

jk_cap jk_node_store_queue_get(jk_cap record)
{
    return jk_cap_cnode_get(record, JK_NODE_HEAD_QUEUE_SLOT);
}

jk_err jk_node_store_queue_restore(jk_cap queue, jk_chain_kernel *ck, bool *restored, jk_diag *diag)
{
    *restored = false;
    if (jk_cap_is_null(queue))
        return JK_OK; /* a store of an earlier jark: no record */
    if (jk_cap_kind_of(queue) != JK_CAP_DATA)
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "the head record's dispatch queue is not a Data");
    size_t len = (size_t)jk_cap_data_len(queue);
    uint8_t *bytes = malloc(len ? len : 1);
    if (!bytes)
        return JK_ERR_NOMEM;
    jk_chain_pooled *list = NULL;
    size_t n = 0;
    jk_err err = jk_cap_data_read(queue, 0, bytes, len);
    if (err == JK_OK)
        err = jk_chain_queue_decode(bytes, len, &list, &n, diag);
    free(bytes);
    if (err == JK_OK)
        err = jk_chain_set_queue(ck, list, n);
    jk_chain_pooled_list_free(list, n);
    *restored = err == JK_OK;
    return err;
}
