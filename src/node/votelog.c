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
 * Format:
 *   header, 8 bytes: "jkvlog01" (the format version is its last two bytes);
 *   then one unit per append: count u8 (1..JK_NODE_VOTELOG_GROUP) ‖ count ×
 *   the record's canonical encoding (87 bytes, jk_cons_record_encode:
 *   height, round, step, id(v) signed, valid round, the lock) ‖ checksum:
 *   BLAKE2b-64 of the count and the records. One record: 96 bytes.
 *   or a proof of lock (PERSIST_POL, which replaces the one before): 0xFF ‖
 *   len u32 LE (1..JK_NODE_VOTELOG_POL_MAX) ‖ the bytes ‖ BLAKE2b-64 of
 *   the marker, the length and the bytes.
 * An append is one unit, written with one write() and one fdatasync: the
 * votes a loop turn signs share that sync. Records are strictly increasing
 * in (height, round, step): the machine persists only what is above its
 * last record (jk_sign_allowed), and append refuses anything else.
 *
 * Recovery (jk_node_votelog_decode, strict): a torn tail — a last unit
 * shorter than its count says, or one that fills the file to its end but
 * whose checksum fails, which is what a crash inside the append's write
 * leaves, or a tail of zero bytes (the size grew, the data did not land)
 * — is ignored with a note, and the log is rewritten with the latest
 * height's whole records and the last proof of lock (a rename, never a
 * truncate in place): the torn append's fdatasync never returned, so none
 * of its votes left. Anything else that is wrong (a bad header, a bad unit
 * with bytes after it, a bad count or length, records out of order)
 * refuses the log with JK_ERR_NODE_VOTE_LOG: a validator must not guess
 * what it signed.
 *
 * Bound: the log is rewritten (the latest height's records and the last
 * proof of lock to votes.log.tmp, synced, renamed over votes.log, the
 * directory synced: a crash leaves either file whole) when an append
 * starts a new height and the file holds JK_NODE_VOTELOG_ROTATE records or
 * more, and when an append would take the file past twice its size after
 * the last rewrite (at least JK_VLOG_ROTATE_BYTES). Only the latest
 * height's records and the last proof of lock are ever read back.
 */
#include "jark/node.h"

#include "jark/bytes.h"
#include "jark/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JK_VLOG_MAGIC "jkvlog01"
#define JK_VLOG_HEADER 8
#define JK_VLOG_SUM 8
#define JK_VLOG_UNIT(n) (1 + (size_t)(n) * JK_CONS_RECORD_SIZE + JK_VLOG_SUM)
#define JK_VLOG_POL 0xFF
#define JK_VLOG_POL_UNIT(len) (5 + (size_t)(len) + JK_VLOG_SUM)
#define JK_VLOG_ROTATE_BYTES ((size_t)1 << 20)
/* what open reads at most: past this the file is not one this code wrote */
#define JK_VLOG_FILE_MAX (4 * (JK_NODE_VOTELOG_POL_MAX + JK_VLOG_ROTATE_BYTES))

struct jk_node_votelog {
    int fd;                      /* O_APPEND; -1 after a failed append */
    char path[4096], tmp[4096], dir[4096];
    uint64_t records;            /* whole records in the file */
    jk_cons_record *latest;      /* the latest height's records, in order */
    size_t nlatest, caplatest;
    uint8_t *pol;                /* the last proof of lock, or NULL */
    size_t pol_len;
    size_t bytes;                /* the file's size */
    size_t rewritten;            /* its size after the last rewrite */
    uint64_t syncs;
    char note[192];
};

static int jk_hrs_cmp(const jk_cons_record *a, const jk_cons_record *b)
{
    if (a->height != b->height)
        return a->height < b->height ? -1 : 1;
    if (a->round != b->round)
        return a->round < b->round ? -1 : 1;
    if (a->step != b->step)
        return a->step < b->step ? -1 : 1;
    return 0;
}

/* One append's unit at out (JK_VLOG_UNIT(n) bytes). */
static void jk_vlog_encode(const jk_cons_record *recs, size_t n, uint8_t *out)
{
    out[0] = (uint8_t)n;
    for (size_t i = 0; i < n; i++)
        jk_cons_record_encode(&recs[i], out + 1 + i * JK_CONS_RECORD_SIZE);
    size_t body = 1 + n * JK_CONS_RECORD_SIZE;
    (void)jk_crypto_blake2b(out, body, out + body, JK_VLOG_SUM);
}

/* Is the unit's checksum (after its body bytes) right? */
static bool jk_vlog_sum_ok(const uint8_t *unit, size_t body)
{
    uint8_t sum[JK_VLOG_SUM];
    (void)jk_crypto_blake2b(unit, body, sum, sizeof sum);
    return memcmp(sum, unit + body, JK_VLOG_SUM) == 0;
}

/* A proof of lock's unit at out (JK_VLOG_POL_UNIT(len) bytes). */
static void jk_vlog_encode_pol(const uint8_t *pol, size_t len, uint8_t *out)
{
    out[0] = JK_VLOG_POL;
    jk_put_u32le(out + 1, (uint32_t)len);
    memcpy(out + 5, pol, len);
    (void)jk_crypto_blake2b(out, 5 + len, out + 5 + len, JK_VLOG_SUM);
}

static bool jk_all_zero_bytes(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Keep r as the latest height's next record (a higher height starts a new
 * list). */
static jk_err jk_latest_push(jk_cons_record **list, size_t *n, size_t *cap, const jk_cons_record *r)
{
    if (*n && (*list)[*n - 1].height != r->height)
        *n = 0;
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
    if (memcmp(bytes, JK_VLOG_MAGIC, JK_VLOG_HEADER) != 0)
        return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG, "vote log: format version '%c%c', this jark reads '%s'",
                           bytes[6], bytes[7], &JK_VLOG_MAGIC[6]);
    size_t off = JK_VLOG_HEADER, cap = 0, unit = 0;
    out->valid_len = JK_VLOG_HEADER;
    jk_cons_record prev = {0};
    while (off < len) {
        const uint8_t *p = bytes + off;
        size_t n = p[0], left = len - off, size = JK_VLOG_UNIT(n), body = size - JK_VLOG_SUM;
        unit++;
        if (jk_all_zero_bytes(p, left)) {
            out->torn = true; /* the file grew, the last append's data did not land */
            break;
        }
        if (n == JK_VLOG_POL) {
            if (left < 5) {
                out->torn = true;
                break;
            }
            size_t plen = jk_get_u32le(p + 1);
            if (plen == 0 || plen > JK_NODE_VOTELOG_POL_MAX) {
                jk_node_votelog_view_free(out);
                return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG,
                                   "vote log: append %zu (offset %zu): a proof of lock of %zu bytes", unit, off,
                                   plen);
            }
            size = JK_VLOG_POL_UNIT(plen);
            body = size - JK_VLOG_SUM;
        } else if (n == 0 || n > JK_NODE_VOTELOG_GROUP) {
            jk_node_votelog_view_free(out);
            return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG, "vote log: append %zu (offset %zu) counts %zu records",
                               unit, off, n);
        }
        if (size > left || !jk_vlog_sum_ok(p, body)) {
            if (size >= left) {
                out->torn = true; /* the last append, cut short by a crash */
                break;
            }
            jk_node_votelog_view_free(out);
            return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG,
                               "vote log: append %zu (offset %zu) is corrupt (checksum) and %zu bytes follow it",
                               unit, off, left - size);
        }
        if (n == JK_VLOG_POL) {
            out->pol_off = off + 5;
            out->pol_len = size - 5 - JK_VLOG_SUM;
            n = 0;
        }
        for (size_t i = 0; i < n; i++) {
            jk_cons_record r;
            jk_diag why = {{0}};
            if (jk_cons_record_decode(p + 1 + i * JK_CONS_RECORD_SIZE, JK_CONS_RECORD_SIZE, &r, &why) != JK_OK ||
                !r.present) {
                jk_node_votelog_view_free(out);
                return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG, "vote log: append %zu, record %zu: %s", unit,
                                   i + 1, why.msg[0] ? why.msg : "an empty record");
            }
            if (out->records > 0 && jk_hrs_cmp(&prev, &r) >= 0) {
                jk_node_votelog_view_free(out);
                return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG,
                                   "vote log: height %llu round %u step %u (append %zu) is not above the record "
                                   "before it",
                                   (unsigned long long)r.height, r.round, r.step, unit);
            }
            if (jk_latest_push(&out->latest, &out->nlatest, &cap, &r) != JK_OK) {
                jk_node_votelog_view_free(out);
                return JK_ERR_NOMEM;
            }
            prev = r;
            out->records++;
        }
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

/* Write header ‖ the proof of lock ‖ recs to votes.log.tmp, sync it,
 * rename it over votes.log, sync the directory, and append to the new
 * file from now on. */
static jk_err jk_vlog_rewrite(jk_node_votelog *l, const jk_cons_record *recs, size_t n, const uint8_t *pol,
                              size_t pol_len, jk_diag *diag)
{
    size_t len = JK_VLOG_HEADER + (pol_len ? JK_VLOG_POL_UNIT(pol_len) : 0);
    for (size_t i = 0; i < n; i += JK_NODE_VOTELOG_GROUP)
        len += JK_VLOG_UNIT(n - i < JK_NODE_VOTELOG_GROUP ? n - i : JK_NODE_VOTELOG_GROUP);
    uint8_t *buf = malloc(len);
    if (!buf)
        return JK_ERR_NOMEM;
    memcpy(buf, JK_VLOG_MAGIC, JK_VLOG_HEADER);
    size_t off = JK_VLOG_HEADER;
    if (pol_len) {
        jk_vlog_encode_pol(pol, pol_len, buf + off);
        off += JK_VLOG_POL_UNIT(pol_len);
    }
    for (size_t i = 0; i < n; i += JK_NODE_VOTELOG_GROUP) {
        size_t k = n - i < JK_NODE_VOTELOG_GROUP ? n - i : JK_NODE_VOTELOG_GROUP;
        jk_vlog_encode(recs + i, k, buf + off);
        off += JK_VLOG_UNIT(k);
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
        if (v.pol_len && !(l->pol = malloc(v.pol_len)))
            err = JK_ERR_NOMEM;
        else if (v.pol_len)
            memcpy(l->pol, bytes + v.pol_off, v.pol_len);
        l->pol_len = l->pol ? v.pol_len : 0;
    }
    free(bytes);
    if (err == JK_OK) {
        if (v.torn)
            snprintf(l->note, sizeof l->note,
                     "votes.log: a torn last append (%zu bytes) was ignored and cut off: its votes "
                     "never left", len - v.valid_len);
        if (fd < 0 || v.valid_len < JK_VLOG_HEADER || v.torn) {
            /* new, or cut back to its whole records: rewrite it whole (a
             * truncate in place could itself be torn by a crash) */
            err = jk_vlog_rewrite(l, l->latest, l->nlatest, l->pol, l->pol_len, diag);
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
        if (!recs[i].present || (prev && jk_hrs_cmp(prev, &recs[i]) >= 0))
            return jk_diag_set(diag, JK_ERR_NODE_VOTE_LOG,
                               "vote log: record at height %llu round %u step %u is not above the last",
                               (unsigned long long)recs[i].height, recs[i].round, recs[i].step);
    }
    /* the one write: the proof of lock's unit, then the records' */
    size_t len = (pol_len ? JK_VLOG_POL_UNIT(pol_len) : 0) + (n ? JK_VLOG_UNIT(n) : 0);
    uint8_t *buf = malloc(len), *copy = pol_len ? malloc(pol_len) : NULL;
    if (!buf || (pol_len && !copy)) {
        free(buf);
        free(copy);
        return JK_ERR_NOMEM;
    }
    if (pol_len) {
        memcpy(copy, pol, pol_len);
        jk_vlog_encode_pol(pol, pol_len, buf);
    }
    if (n)
        jk_vlog_encode(recs, n, buf + (pol_len ? JK_VLOG_POL_UNIT(pol_len) : 0));
    /* what the log keeps in memory after the append: the latest height's
     * records (a copy of the list: on failure the old one stays) */
    size_t nlatest = l->nlatest, cap = nlatest + n;
    jk_cons_record *latest = malloc((cap ? cap : 1) * sizeof *latest);
    if (!latest) {
        free(buf);
        free(copy);
        return JK_ERR_NOMEM;
    }
    if (nlatest)
        memcpy(latest, l->latest, nlatest * sizeof *latest);
    bool new_height = n && (!nlatest || latest[nlatest - 1].height != recs[0].height);
    for (size_t i = 0; i < n; i++)
        (void)jk_latest_push(&latest, &nlatest, &cap, &recs[i]); /* fits: no realloc */
    jk_err err;
    if ((new_height && l->records >= JK_NODE_VOTELOG_ROTATE) || jk_vlog_full(l, len))
        err = jk_vlog_rewrite(l, latest, nlatest, pol_len ? copy : l->pol, pol_len ? pol_len : l->pol_len, diag);
    else if ((err = jk_vlog_put(l, buf, len, diag)) == JK_OK)
        l->records += n;
    free(buf);
    if (err != JK_OK) {
        free(latest);
        free(copy);
        return jk_vlog_broken(l, err);
    }
    free(l->latest);
    l->latest = latest;
    l->nlatest = nlatest;
    l->caplatest = cap;
    if (pol_len) {
        free(l->pol);
        l->pol = copy;
        l->pol_len = pol_len;
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
