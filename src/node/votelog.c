/*
 * votelog.c — the signed-vote log: an append-only file (DIR/votes.log) of
 * the consensus machine's PERSIST records, one fdatasync per append, so
 * that a vote is on disk before it leaves (docs/cap.md "Store: syncs",
 * docs/consensus.md "What is persisted").
 *
 * Why a file of its own: in the LMDB store a durable write is a whole write
 * transaction (copied leaf and branch pages) plus the meta page, two syncs;
 * a validator wrote ~3.4 of them per height, its largest sync count. An
 * append of 95 bytes and one fdatasync is the least a durable record costs.
 *
 * Format (version 02, "jkvlog02"; docs/node.md "The signed-vote log"):
 *   header, 8 bytes: "jkvlog02" (the format version is its last two bytes);
 *   then one unit per append:
 *     unit header, 13 bytes: count u8 (0..JK_NODE_VOTELOG_GROUP) ‖ pol_len
 *       u32 LE (0..JK_NODE_VOTELOG_POL_MAX; count and pol_len not both 0)
 *       ‖ BLAKE2b-64 of those 5 bytes;
 *     body: the proof of lock (PERSIST_POL, which replaces the one before;
 *       pol_len bytes) ‖ count × the record's canonical encoding (87 bytes,
 *       jk_cons_record_encode: height, round, step, id(v) signed, valid
 *       round, the lock) ‖ BLAKE2b-64 of the unit header and the body.
 *   One record alone: 108 bytes.
 * Why a checksum of its own for the unit header: the header's count and
 * length say where the unit ends. Unchecked (format 01), a count or length
 * damaged upwards in the middle of the file made its unit seem to run to
 * the end, read as a torn tail, and the synced appends after it were
 * silently dropped. With it, a length is either trusted or known damaged.
 * An append is one unit, written with one write() and one fdatasync: the
 * votes a loop turn signs share that sync. Records are strictly increasing
 * in (height, round, step): the machine persists only what is above its
 * last record (jk_sign_allowed), and append refuses anything else.
 *
 * Recovery (jk_node_votelog_decode, strict). A torn tail is what a crash
 * inside the last append's write leaves, and only that: the last unit,
 * incomplete, with nothing valid after it —
 *   - fewer bytes left than a unit header;
 *   - a whole unit header that claims more bytes than are left;
 *   - a unit that ends exactly at the file's end with a bad body checksum;
 *   - a unit header with a bad checksum (a tail of zero bytes is one: the
 *     size grew, the data did not land), when no more than one append's
 *     bytes are left and no valid unit header starts anywhere after it.
 * It is ignored with a note, and the log is rewritten with the latest
 * two heights' whole records and the last proof of lock (a rename, never a
 * truncate in place): the torn append's fdatasync never returned, so none
 * of its votes left. Anything else that is wrong (a bad header, a bad unit
 * with bytes after it, a damaged unit header with more than one append's
 * bytes or a valid unit after it, a count or length out of range, records
 * out of order) refuses the log with JK_ERR_NODE_VOTE_LOG, naming the
 * append and its offset: a validator must not forget what it signed. (A
 * bad body checksum in the very last unit cannot be told from a torn
 * write; it is the one damage read as a torn tail, with any damage to
 * the last unit's header.)
 *
 * Format 01 ("jkvlog01": count u8 or 0xFF ‖ len u32 for a proof of lock,
 * the body, BLAKE2b-64; no header checksum) is still read, by its own
 * decoder, and migrated: open rewrites it whole in format 02 at once.
 *
 * Bound: the log is rewritten (the latest two heights' records and the last
 * proof of lock to votes.log.tmp, synced, renamed over votes.log, the
 * directory synced: a crash leaves either file whole) when an append
 * starts a new height and the file holds JK_NODE_VOTELOG_ROTATE records or
 * more, and when an append would take the file past twice its size after
 * the last rewrite (at least JK_VLOG_ROTATE_BYTES). Only the records of
 * the latest two heights and the last proof of lock are ever read back
 * (and rewritten). Why two: a validator may sign at h + 1 before its
 * store's write of h is durable (docs/node.md "The proposal before the
 * write"); after a crash that lost h it restarts at h, re-sends what it
 * signed there (the records of h: the others may need its precommit to
 * decide h) and resumes h + 1 from its records once h is decided.
 */
#include "votelog_internal.h"

#include "jark/bytes.h"
#include "jark/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JK_VLOG_MAGIC "jkvlog03"
#define JK_VLOG_HEADER JK_NODE_VLOG_HEADER
#define JK_VLOG_SUM JK_NODE_VLOG_SUM
#define JK_VLOG_UHDR (13 + JK_VLOG_SUM) /* a unit's header: count, pol_len, pol_height, their checksum */
#define JK_VLOG_UHDR2 (5 + JK_VLOG_SUM) /* format 02's: count, pol_len, their checksum */
#define JK_VLOG_UNITH(uhdr, n, pol_len) \
    ((uhdr) + (size_t)(pol_len) + (size_t)(n) * JK_CONS_RECORD_SIZE + JK_VLOG_SUM)
#define JK_VLOG_UNIT(n, pol_len) JK_VLOG_UNITH(JK_VLOG_UHDR, n, pol_len)
#define JK_VLOG_UNIT_MAX JK_VLOG_UNIT(JK_NODE_VOTELOG_GROUP, JK_NODE_VOTELOG_POL_MAX)
#define JK_VLOG_ROTATE_BYTES ((size_t)1 << 20)
/* what open reads at most: past this the file is not one this code wrote */
#define JK_VLOG_FILE_MAX (4 * (JK_NODE_VOTELOG_POL_MAX + JK_VLOG_ROTATE_BYTES))

struct jk_node_votelog {
    int fd;                      /* O_APPEND; -1 after a failed append */
    char path[4096], tmp[4096], dir[4096];
    uint64_t records;            /* whole records in the file */
    jk_cons_record *latest;      /* the latest two heights' records, in order */
    size_t nlatest, caplatest;
    uint8_t *pol;                /* the proofs of lock kept, back to back, or NULL */
    size_t pol_len;
    jk_node_votelog_polref pols[JK_NODE_VOTELOG_POLS]; /* which: offsets into pol */
    size_t npols;
    size_t bytes;                /* the file's size */
    size_t rewritten;            /* its size after the last rewrite */
    uint64_t syncs;
    char note[192];
};

int jk_node_vlog_hrs_cmp(const jk_cons_record *a, const jk_cons_record *b)
{
    if (a->height != b->height)
        return a->height < b->height ? -1 : 1;
    if (a->round != b->round)
        return a->round < b->round ? -1 : 1;
    if (a->step != b->step)
        return a->step < b->step ? -1 : 1;
    return 0;
}

/* One append's unit at out (JK_VLOG_UNIT(n, pol_len) bytes): the proof of
 * lock (pol_len 0: none) and n records. */
static void jk_vlog_encode(const jk_cons_record *recs, size_t n, const uint8_t *pol, size_t pol_len,
                           uint64_t pol_height, uint8_t *out)
{
    out[0] = (uint8_t)n;
    jk_put_u32le(out + 1, (uint32_t)pol_len);
    jk_put_u64le(out + 5, pol_len ? pol_height : 0);
    (void)jk_crypto_blake2b(out, 13, out + 13, JK_VLOG_SUM);
    uint8_t *p = out + JK_VLOG_UHDR;
    if (pol_len)
        memcpy(p, pol, pol_len);
    p += pol_len;
    for (size_t i = 0; i < n; i++)
        jk_cons_record_encode(&recs[i], p + i * JK_CONS_RECORD_SIZE);
    size_t body = JK_VLOG_UNIT(n, pol_len) - JK_VLOG_SUM;
    (void)jk_crypto_blake2b(out, body, out + body, JK_VLOG_SUM);
}

/* Is the checksum after p[0..len) right? */
static bool jk_vlog_sum_ok(const uint8_t *p, size_t len)
{
    uint8_t sum[JK_VLOG_SUM];
    (void)jk_crypto_blake2b(p, len, sum, sizeof sum);
    return memcmp(sum, p + len, JK_VLOG_SUM) == 0;
}

/* The unit header at p (uhdr bytes: JK_VLOG_UHDR, or JK_VLOG_UHDR2 in
 * format 02): its checksum right? its count, proof-of-lock length and
 * height (format 02: 0, the caller reads it from the proof). */
static bool jk_vlog_uhdr(const uint8_t *p, size_t uhdr, size_t *n, size_t *pol_len, uint64_t *pol_height)
{
    *n = p[0];
    *pol_len = jk_get_u32le(p + 1);
    *pol_height = uhdr == JK_VLOG_UHDR ? jk_get_u64le(p + 5) : 0;
    return jk_vlog_sum_ok(p, uhdr - JK_VLOG_SUM);
}

/* Does a valid unit header (its checksum right, its count and length in
 * range) start at bytes[off]? Only the header is checked, not the body it
 * announces: the scan that asks is then linear in the bytes (a body check
 * at every offset a hostile file puts a header would be quadratic), and a
 * 64-bit checksum is not right by chance, so a valid header after a damaged
 * one is a later append: the damage is in the middle. (One forged inside a
 * torn last append's proof of lock makes open refuse instead of recover:
 * the safe side.) */
static bool jk_vlog_header_at(const uint8_t *bytes, size_t len, size_t off, size_t uhdr)
{
    size_t n, pol_len;
    uint64_t h;
    return len - off >= uhdr && jk_vlog_uhdr(bytes + off, uhdr, &n, &pol_len, &h) && n <= JK_NODE_VOTELOG_GROUP &&
           pol_len <= JK_NODE_VOTELOG_POL_MAX && (n || pol_len);
}

jk_err jk_node_vlog_latest_push(jk_cons_record **list, size_t *n, size_t *cap, const jk_cons_record *r)
{
    if (*n && (*list)[*n - 1].height != r->height) {
        /* a new height: the records two heights below it are done */
        size_t keep = 0;
        for (size_t i = 0; i < *n; i++)
            if ((*list)[i].height + 1 >= r->height)
                (*list)[keep++] = (*list)[i];
        *n = keep;
    }
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        jk_cons_record *p = realloc(*list, c * sizeof *p);
        if (!p)
            return JK_ERR_NOMEM;
        *list = p;
        *cap = c;
    }
    (*list)[(*n)++] = *r;
    return JK_OK;
}

uint64_t jk_node_vlog_pol_height(const uint8_t *pol, size_t len)
{
    size_t size;
    uint64_t h;
    return jk_cons_pol_next(pol, len, &size, &h, NULL) == JK_OK && size == len ? h : 0;
}

void jk_node_vlog_pol_keep(jk_node_votelog_polref *pols, size_t *n, uint64_t height, size_t off, size_t len)
{
    size_t keep = 0;
    for (size_t i = 0; i < *n; i++)
        if (pols[i].height != height && pols[i].height + 1 >= height)
            pols[keep++] = pols[i];
    if (keep == JK_NODE_VOTELOG_POLS) { /* only out of order (a hostile file): the oldest goes */
        memmove(pols, pols + 1, (keep - 1) * sizeof *pols);
        keep--;
    }
    pols[keep++] = (jk_node_votelog_polref){.height = height, .off = off, .len = len};
    *n = keep;
}

jk_err jk_node_vlog_take(const uint8_t *rec, size_t n, size_t unit, size_t off, jk_cons_record *prev,
                         size_t *cap, jk_node_votelog_view *out, jk_diag *diag)
{
    for (size_t i = 0; i < n; i++) {
        jk_cons_record r;
        jk_diag why = {{0}};
        if (jk_cons_record_decode(rec + i * JK_CONS_RECORD_SIZE, JK_CONS_RECORD_SIZE, &r, &why) != JK_OK ||
            !r.present) {
            jk_node_votelog_view_free(out);
            return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG, "vote log: append %zu (offset %zu), record %zu: %s",
                               unit, off, i + 1, why.msg[0] ? why.msg : "an empty record");
        }
        if (out->records > 0 && jk_node_vlog_hrs_cmp(prev, &r) >= 0) {
            jk_node_votelog_view_free(out);
            return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG,
                               "vote log: height %llu round %u step %u (append %zu, offset %zu) is not above "
                               "the record before it",
                               (unsigned long long)r.height, r.round, r.step, unit, off);
        }
        if (jk_node_vlog_latest_push(&out->latest, &out->nlatest, cap, &r) != JK_OK) {
            jk_node_votelog_view_free(out);
            return JK_ERR_NOMEM;
        }
        *prev = r;
        out->records++;
    }
    return JK_OK;
}

/* Refuse the log: free what out holds, say which append, where, and why. */
static jk_err jk_vlog_refuse(jk_node_votelog_view *out, jk_diag *diag, size_t unit, size_t off, const char *fmt,
                             ...) __attribute__((format(printf, 5, 6)));
static jk_err jk_vlog_refuse(jk_node_votelog_view *out, jk_diag *diag, size_t unit, size_t off, const char *fmt,
                             ...)
{
    jk_node_votelog_view_free(out);
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG,
                       "vote log: append %zu (offset %zu) %s: refused, a validator must not forget what it signed",
                       unit, off, what);
}

/* The unit at bytes[off] has a bad header checksum: is it the torn last
 * append (true), or damage in the middle (false, *next: a valid unit
 * header found after it, or 0 when too many bytes follow)? */
static bool jk_vlog_torn_header(const uint8_t *bytes, size_t len, size_t off, size_t uhdr, size_t *next)
{
    *next = 0;
    if (len - off > JK_VLOG_UNITH(uhdr, JK_NODE_VOTELOG_GROUP, JK_NODE_VOTELOG_POL_MAX))
        return false; /* more than one append's bytes: not one torn write */
    for (size_t q = off + 1; q + uhdr <= len; q++)
        if (jk_vlog_header_at(bytes, len, q, uhdr)) {
            *next = q;
            return false;
        }
    return true;
}

jk_err jk_node_votelog_decode(const uint8_t *bytes, size_t len, jk_node_votelog_view *out,
                              jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return JK_OK; /* created, header not yet written: a crash at creation */
    if (len < JK_VLOG_HEADER) {
        if (memcmp(bytes, JK_VLOG_MAGIC, len) != 0)
            return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG, "vote log: %zu bytes, not a vote log", len);
        out->torn = true; /* a crash while writing the header */
        return JK_OK;
    }
    if (memcmp(bytes, JK_VLOG_MAGIC, 6) != 0)
        return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG, "vote log: not a vote log (bad magic)");
    if (memcmp(bytes, "jkvlog01", JK_VLOG_HEADER) == 0)
        return jk_node_votelog_decode_v1(bytes, len, out, diag);
    /* format 02: the units of 03 without the proof's height in their
     * header (read from the proof itself), migrated at open */
    bool v2 = memcmp(bytes, "jkvlog02", JK_VLOG_HEADER) == 0;
    if (!v2 && memcmp(bytes, JK_VLOG_MAGIC, JK_VLOG_HEADER) != 0)
        return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG,
                           "vote log: format version '%c%c', this jark reads '01' and '02' (migrating them) "
                           "and '%s'",
                           bytes[6], bytes[7], &JK_VLOG_MAGIC[6]);
    size_t uhdr = v2 ? JK_VLOG_UHDR2 : JK_VLOG_UHDR;
    size_t off = JK_VLOG_HEADER, cap = 0, unit = 0;
    out->valid_len = JK_VLOG_HEADER;
    jk_cons_record prev = {0};
    while (off < len) {
        const uint8_t *p = bytes + off;
        size_t left = len - off, n, pol_len, next;
        uint64_t pol_height;
        unit++;
        if (left < uhdr) {
            out->torn = true; /* not even a unit header: the last append, cut short */
            break;
        }
        if (!jk_vlog_uhdr(p, uhdr, &n, &pol_len, &pol_height)) {
            /* a unit of the other format (02 or 03): the file's version
             * byte is damaged, not the unit — never a torn tail */
            if (jk_vlog_header_at(bytes, len, off, v2 ? JK_VLOG_UHDR : JK_VLOG_UHDR2))
                return jk_vlog_refuse(out, diag, unit, off, "is a unit of format %s, not %c%c: the version is damaged",
                                      v2 ? "03" : "02", bytes[6], bytes[7]);
            if (jk_vlog_torn_header(bytes, len, off, uhdr, &next)) {
                out->torn = true; /* a torn write, or the size grew and the data did not land */
                break;
            }
            if (next)
                return jk_vlog_refuse(out, diag, unit, off,
                                      "has a corrupt header (checksum) and an append's header follows at offset %zu",
                                      next);
            return jk_vlog_refuse(out, diag, unit, off,
                                  "has a corrupt header (checksum) and %zu bytes follow it, more than one append",
                                  left);
        }
        if (n > JK_NODE_VOTELOG_GROUP || pol_len > JK_NODE_VOTELOG_POL_MAX || (n == 0 && pol_len == 0))
            return jk_vlog_refuse(out, diag, unit, off, "counts %zu records and a proof of lock of %zu bytes", n,
                                  pol_len);
        size_t size = JK_VLOG_UNITH(uhdr, n, pol_len);
        if (size > left) {
            out->torn = true; /* its header is sound: the last append, cut short by a crash */
            break;
        }
        if (!jk_vlog_sum_ok(p, size - JK_VLOG_SUM)) {
            if (size == left) {
                out->torn = true; /* the last append, its write not all landed */
                break;
            }
            return jk_vlog_refuse(out, diag, unit, off, "is corrupt (checksum) and %zu bytes follow it",
                                  left - size);
        }
        if (pol_len)
            jk_node_vlog_pol_keep(out->pols, &out->npols, v2 ? jk_node_vlog_pol_height(p + uhdr, pol_len) : pol_height,
                                  off + uhdr, pol_len);
        jk_err err = jk_node_vlog_take(p + uhdr + pol_len, n, unit, off, &prev, &cap, out, diag);
        if (err != JK_OK)
            return err;
        off += size;
        out->valid_len = off;
    }
    return JK_OK;
}

void jk_node_votelog_view_free(jk_node_votelog_view *v)
{
    free(v->latest);
    v->latest = NULL;
    v->nlatest = 0;
}

static jk_err jk_vlog_io(jk_diag *diag, const char *what, const char *path)
{
    return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG, "vote log: %s %s: %s", what, path, strerror(errno));
}

static jk_err jk_write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return JK_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return JK_OK;
}

static jk_err jk_sync_dir(const char *dir, jk_diag *diag)
{
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
        return jk_vlog_io(diag, "open directory", dir);
    int rc = fsync(d);
    close(d);
    return rc == 0 ? JK_OK : jk_vlog_io(diag, "sync directory", dir);
}

/* The proofs of lock to keep (pol, pols: offsets into it). */
typedef struct jk_vlog_pols {
    uint8_t *buf;
    size_t len;
    jk_node_votelog_polref pols[JK_NODE_VOTELOG_POLS];
    size_t n;
} jk_vlog_pols;

/* The proofs the log keeps after one more (pol, len bytes; NULL/0: none):
 * the kept ones (out->buf malloc'd, a copy). @return JK_OK; JK_ERR_NOMEM. */
static jk_err jk_vlog_pols_after(const jk_node_votelog *l, const uint8_t *pol, size_t len, jk_vlog_pols *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->pols, l->pols, l->npols * sizeof *l->pols);
    out->n = l->npols;
    if (len) /* SIZE_MAX: the new one, not in l->pol */
        jk_node_vlog_pol_keep(out->pols, &out->n, jk_node_vlog_pol_height(pol, len), SIZE_MAX, len);
    for (size_t i = 0; i < out->n; i++)
        out->len += out->pols[i].len;
    if (out->len && !(out->buf = malloc(out->len)))
        return JK_ERR_NOMEM;
    size_t off = 0;
    for (size_t i = 0; i < out->n; i++) {
        memcpy(out->buf + off, out->pols[i].off == SIZE_MAX ? pol : l->pol + out->pols[i].off, out->pols[i].len);
        out->pols[i].off = off;
        off += out->pols[i].len;
    }
    return JK_OK;
}

/* Write header ‖ the proofs of lock, one unit each ‖ recs to
 * votes.log.tmp, sync it, rename it over votes.log, sync the directory,
 * and append to the new file from now on. */
static jk_err jk_vlog_rewrite(jk_node_votelog *l, const jk_cons_record *recs, size_t n, const jk_vlog_pols *pp,
                              jk_diag *diag)
{
    size_t len = JK_VLOG_HEADER;
    for (size_t i = 0; i < pp->n; i++)
        len += JK_VLOG_UNIT(0, pp->pols[i].len);
    for (size_t i = 0; i < n; i += JK_NODE_VOTELOG_GROUP)
        len += JK_VLOG_UNIT(n - i < JK_NODE_VOTELOG_GROUP ? n - i : JK_NODE_VOTELOG_GROUP, 0);
    uint8_t *buf = malloc(len);
    if (!buf)
        return JK_ERR_NOMEM;
    memcpy(buf, JK_VLOG_MAGIC, JK_VLOG_HEADER);
    size_t off = JK_VLOG_HEADER;
    for (size_t i = 0; i < pp->n; i++) {
        const jk_node_votelog_polref *q = &pp->pols[i];
        jk_vlog_encode(NULL, 0, pp->buf + q->off, q->len, q->height, buf + off);
        off += JK_VLOG_UNIT(0, q->len);
    }
    for (size_t i = 0; i < n; i += JK_NODE_VOTELOG_GROUP) {
        size_t g = n - i < JK_NODE_VOTELOG_GROUP ? n - i : JK_NODE_VOTELOG_GROUP;
        jk_vlog_encode(recs + i, g, NULL, 0, 0, buf + off);
        off += JK_VLOG_UNIT(g, 0);
    }
    jk_err err = JK_OK;
    int fd = open(l->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        err = jk_vlog_io(diag, "create", l->tmp);
    else if (jk_write_all(fd, buf, len) != JK_OK || fdatasync(fd) != 0)
        err = jk_vlog_io(diag, "write", l->tmp);
    free(buf);
    if (fd >= 0)
        close(fd);
    if (err == JK_OK && rename(l->tmp, l->path) != 0)
        err = jk_vlog_io(diag, "rename over", l->path);
    if (err == JK_OK)
        err = jk_sync_dir(l->dir, diag);
    l->syncs += 2;
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    if (err == JK_OK && (l->fd = open(l->path, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
        err = jk_vlog_io(diag, "open", l->path);
    if (err == JK_OK) {
        l->records = n;
        l->bytes = l->rewritten = len;
    }
    return err;
}

/* Would an append of `more` bytes take the file past its bound? */
static bool jk_vlog_full(const jk_node_votelog *l, size_t more)
{
    size_t limit = 2 * l->rewritten > JK_VLOG_ROTATE_BYTES ? 2 * l->rewritten : JK_VLOG_ROTATE_BYTES;
    return l->bytes + more > limit;
}

/* Append one unit (one write, one fdatasync). */
static jk_err jk_vlog_put(jk_node_votelog *l, const uint8_t *unit, size_t len, jk_diag *diag)
{
    jk_err err = jk_write_all(l->fd, unit, len) == JK_OK && fdatasync(l->fd) == 0
                     ? JK_OK
                     : jk_vlog_io(diag, "append to", l->path);
    l->syncs++;
    if (err == JK_OK)
        l->bytes += len;
    return err;
}

/* After a failed append the file may hold part of it: no more appends
 * until a reopen has read it back. */
static jk_err jk_vlog_broken(jk_node_votelog *l, jk_err err)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    l->nlatest = 0;
    return err;
}

jk_err jk_node_votelog_open(const char *dir, jk_node_votelog **out, jk_diag *diag)
{
    *out = NULL;
    jk_node_votelog *l = calloc(1, sizeof *l);
    if (!l)
        return JK_ERR_NOMEM;
    l->fd = -1;
    snprintf(l->dir, sizeof l->dir, "%s", dir);
    snprintf(l->path, sizeof l->path, "%s/votes.log", dir);
    snprintf(l->tmp, sizeof l->tmp, "%s/votes.log.tmp", dir);
    jk_err err = JK_OK;
    uint8_t *bytes = NULL;
    size_t len = 0;
    int fd = open(l->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 && errno != ENOENT) {
        err = jk_vlog_io(diag, "open", l->path);
    } else if (fd >= 0) {
        if (fstat(fd, &st) != 0)
            err = jk_vlog_io(diag, "stat", l->path);
        else if (st.st_size > (off_t)JK_VLOG_FILE_MAX)
            err = jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG, "vote log: %s is %lld bytes, far past its bound",
                              l->path, (long long)st.st_size);
        else if (!(bytes = malloc((size_t)st.st_size + 1)))
            err = JK_ERR_NOMEM;
        else if (pread(fd, bytes, (size_t)st.st_size, 0) != (ssize_t)st.st_size)
            err = jk_vlog_io(diag, "read", l->path);
        else
            len = (size_t)st.st_size;
        close(fd);
    }
    jk_node_votelog_view v = {0};
    if (err == JK_OK)
        err = jk_node_votelog_decode(bytes, len, &v, diag);
    if (err == JK_OK) {
        l->latest = v.latest;
        l->nlatest = l->caplatest = v.nlatest;
        v.latest = NULL;
        for (size_t i = 0; i < v.npols; i++)
            l->pol_len += v.pols[i].len;
        if (l->pol_len && !(l->pol = malloc(l->pol_len)))
            err = JK_ERR_NOMEM;
        for (size_t i = 0, off = 0; err == JK_OK && i < v.npols; off += v.pols[i++].len) {
            memcpy(l->pol + off, bytes + v.pols[i].off, v.pols[i].len);
            l->pols[i] = v.pols[i];
            l->pols[i].off = off;
        }
        l->npols = err == JK_OK ? v.npols : 0;
    }
    /* formats 01 and 02 (an earlier jark's): rewritten in 03 at once */
    char from[3] = {0};
    if (len >= JK_VLOG_HEADER && memcmp(bytes, JK_VLOG_MAGIC, JK_VLOG_HEADER) != 0)
        memcpy(from, bytes + 6, 2);
    bool migrate = from[0] != 0;
    free(bytes);
    if (err == JK_OK) {
        if (v.torn)
            snprintf(l->note, sizeof l->note,
                     "votes.log: a torn last append (%zu bytes) was ignored and cut off: its votes "
                     "never left%s%s to 03", len - v.valid_len, migrate ? "; migrated from format " : "",
                     migrate ? from : "");
        else if (migrate)
            snprintf(l->note, sizeof l->note, "votes.log: migrated from format %s to 03", from);
        if (fd < 0 || v.valid_len < JK_VLOG_HEADER || v.torn || migrate) {
            /* new, or cut back to its whole records: rewrite it whole (a
             * truncate in place could itself be torn by a crash) */
            jk_vlog_pols pp = {.buf = l->pol, .len = l->pol_len, .n = l->npols};
            memcpy(pp.pols, l->pols, sizeof pp.pols);
            err = jk_vlog_rewrite(l, l->latest, l->nlatest, &pp, diag);
        } else {
            l->records = v.records;
            l->bytes = v.valid_len; /* rewritten 0: the bound is JK_VLOG_ROTATE_BYTES until a rewrite */
            if ((l->fd = open(l->path, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
                err = jk_vlog_io(diag, "open", l->path);
        }
    }
    if (err != JK_OK) {
        jk_node_votelog_close(l);
        return err;
    }
    *out = l;
    return JK_OK;
}

void jk_node_votelog_close(jk_node_votelog *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    free(l->latest);
    free(l->pol);
    free(l);
}

jk_err jk_node_votelog_append_turn(jk_node_votelog *l, const jk_cons_record *recs, size_t n,
                                   const uint8_t *pol, size_t pol_len, jk_diag *diag)
{
    if (n > JK_NODE_VOTELOG_GROUP)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "vote log: %zu records in one append, at most %d", n,
                           JK_NODE_VOTELOG_GROUP);
    if (pol_len > JK_NODE_VOTELOG_POL_MAX || (pol_len && !pol))
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "vote log: a proof of lock of %zu bytes", pol_len);
    if (n == 0 && pol_len == 0)
        return JK_OK;
    if (l->fd < 0)
        return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG, "vote log: an earlier append failed: reopen the log");
    for (size_t i = 0; i < n; i++) {
        const jk_cons_record *prev = i ? &recs[i - 1] : l->nlatest ? &l->latest[l->nlatest - 1] : NULL;
        if (!recs[i].present || (prev && jk_node_vlog_hrs_cmp(prev, &recs[i]) >= 0))
            return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG,
                               "vote log: record at height %llu round %u step %u is not above the last",
                               (unsigned long long)recs[i].height, recs[i].round, recs[i].step);
    }
    /* the one write: one unit, the proof of lock and the records */
    size_t len = JK_VLOG_UNIT(n, pol_len);
    uint64_t pol_height = pol_len ? jk_node_vlog_pol_height(pol, pol_len) : 0;
    uint8_t *buf = malloc(len);
    jk_vlog_pols pp = {0};
    if (!buf || jk_vlog_pols_after(l, pol, pol_len, &pp) != JK_OK) {
        free(buf);
        free(pp.buf);
        return JK_ERR_NOMEM;
    }
    jk_vlog_encode(recs, n, pol, pol_len, pol_height, buf);
    /* what the log keeps in memory after the append: the latest two heights'
     * records (a copy of the list: on failure the old one stays) */
    size_t nlatest = l->nlatest, cap = nlatest + n;
    jk_cons_record *latest = malloc((cap ? cap : 1) * sizeof *latest);
    if (!latest) {
        free(buf);
        free(pp.buf);
        return JK_ERR_NOMEM;
    }
    if (nlatest)
        memcpy(latest, l->latest, nlatest * sizeof *latest);
    bool new_height = n && (!nlatest || latest[nlatest - 1].height != recs[0].height);
    for (size_t i = 0; i < n; i++)
        (void)jk_node_vlog_latest_push(&latest, &nlatest, &cap, &recs[i]); /* fits: no realloc */
    jk_err err;
    if ((new_height && l->records >= JK_NODE_VOTELOG_ROTATE) || jk_vlog_full(l, len))
        err = jk_vlog_rewrite(l, latest, nlatest, &pp, diag);
    else if ((err = jk_vlog_put(l, buf, len, diag)) == JK_OK)
        l->records += n;
    free(buf);
    if (err != JK_OK) {
        free(latest);
        free(pp.buf);
        return jk_vlog_broken(l, err);
    }
    free(l->latest);
    l->latest = latest;
    l->nlatest = nlatest;
    l->caplatest = cap;
    if (pol_len) {
        free(l->pol);
        l->pol = pp.buf;
        l->pol_len = pp.len;
        memcpy(l->pols, pp.pols, sizeof pp.pols);
        l->npols = pp.n;
    } else {
        free(pp.buf);
    }
    return JK_OK;
}

jk_err jk_node_votelog_append(jk_node_votelog *l, const jk_cons_record *recs, size_t n, jk_diag *diag)
{
    return jk_node_votelog_append_turn(l, recs, n, NULL, 0, diag);
}

jk_err jk_node_votelog_put_pol(jk_node_votelog *l, const uint8_t *pol, size_t len, jk_diag *diag)
{
    if (len == 0)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "vote log: an empty proof of lock");
    return jk_node_votelog_append_turn(l, NULL, 0, pol, len, diag);
}

const uint8_t *jk_node_votelog_pol(const jk_node_votelog *l, size_t *len)
{
    *len = l->pol_len;
    return l->pol;
}

const jk_cons_record *jk_node_votelog_latest(const jk_node_votelog *l, size_t *count)
{
    *count = l->nlatest;
    return l->latest;
}

uint64_t jk_node_votelog_records(const jk_node_votelog *l) { return l->records; }

uint64_t jk_node_votelog_syncs(const jk_node_votelog *l) { return l->syncs; }

const char *jk_node_votelog_note(const jk_node_votelog *l) { return l->note; }
