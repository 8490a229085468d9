/*
 * cmd_chain_show.c — `jark chain show --store DIR [--slot PATH] [--hex]
 * [--accounts N]`: a validator store's committed head (docs/node.md) for any
 * chain: height, block, genesis, state root, the chain's image id, every
 * state slot (with --hex the Data bytes); --slot PATH one cap by its slot
 * path. When the chain runs the demo's Chain image (recognised by image id),
 * also the demo's balances and oracle price (docs/demo-chain.md).
 *
 * DIR is a validator's store, or a devnet directory (then validator-0's).
 * Read only: the store is opened, its head record read, and closed.
 */
#include "commands.h"

#include "jark/bytes.h"
#include "jark/devnet.h"

#include "../examples/demo/demo_view.h" /* the demo's own reader of its ledger */

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { JK_SHOW_PRICE_SLOT = 22 };

static void jk_show_hex(const char *label, const uint8_t *bytes, size_t len)
{
    printf("%s ", label);
    for (size_t i = 0; i < len; i++)
        printf("%02x", bytes[i]);
    printf("\n");
}

static bool jk_show_is_store(const char *dir)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%.4000s/data.mdb", dir);
    return stat(path, &st) == 0;
}

static const char *jk_show_kind(jk_cap c)
{
    switch (jk_cap_kind_of(c)) {
    case JK_CAP_DATA: return "data";
    case JK_CAP_CNODE: return "cnode";
    case JK_CAP_IMAGE: return "image";
    case JK_CAP_INSTANCE: return "instance";
    default: return "empty";
    }
}

/* The demo's ledger (the genesis ledger under the account tree, merged by
 * examples/demo/demo_view.h): count, total balance, the first rows. */
static void jk_show_ledger(jk_cap chain, uint64_t max_rows)
{
    uint64_t count = 0, total = 0;
    uint8_t *records = demo_view_ledger(chain, &count);
    if (!records)
        return;
    for (uint64_t i = 0; i < count; i++)
        total += jk_get_u64le(records + DEMO_VIEW_RECORD * i + 32);
    printf("ledger %" PRIu64 " accounts, total balance %" PRIu64 "\n", count, total);
    for (uint64_t i = 0; i < count && i < max_rows; i++) {
        const uint8_t *rec = records + DEMO_VIEW_RECORD * i;
        char key[65];
        jk_hex_encode(rec, 32, key);
        printf("  %s balance %" PRIu64 " nonce %" PRIu64 "\n", key, jk_get_u64le(rec + 32), jk_get_u64le(rec + 40));
    }
    if (count > max_rows)
        printf("  ... and %" PRIu64 " more (--accounts N)\n", count - max_rows);
    free(records);
}

/* The demo view (ledger, price): only when the chain runs the demo's Chain
 * image, recognised by its image id (the demo spec built here; a chain that
 * merely has Data in slots 20/22 is not taken for the demo). */
static void jk_show_demo(jk_cap chain, jk_cap cnode, uint64_t max_rows)
{
    jk_hash demo, mine;
    jk_diag diag = {{0}};
    if (jk_devnet_demo_image_id(&demo, &diag) != JK_OK)
        return; /* no SDK or demo here: the raw view is all there is */
    jk_cap_hash(jk_cap_instance_image(chain), &mine);
    if (memcmp(demo.bytes, mine.bytes, JK_HASH_SIZE) != 0)
        return;
    printf("chain the demo (docs/demo-chain.md)\n");
    jk_show_ledger(chain, max_rows);
    jk_cap price = jk_cap_cnode_get(cnode, JK_SHOW_PRICE_SLOT);
    uint8_t pbytes[16];
    if (jk_cap_kind_of(price) == JK_CAP_DATA && jk_cap_data_len(price) == 16 &&
        jk_cap_data_read(price, 0, pbytes, 16) == JK_OK)
        printf("price round %" PRIu64 " value %" PRIu64 "\n", jk_get_u64le(pbytes), jk_get_u64le(pbytes + 8));
    else
        printf("price none yet\n");
}

/* One cap: "<label> <kind> [<n> bytes|<n> slots] hash <16 hex>", then with
 * hex the Data's bytes, 32 a line. */
static void jk_show_cap(const char *label, jk_cap value, bool hex)
{
    jk_hash h;
    jk_cap_hash(value, &h);
    printf("%s %s", label, jk_show_kind(value));
    if (jk_cap_kind_of(value) == JK_CAP_DATA)
        printf(" %" PRIu64 " bytes", (uint64_t)jk_cap_data_len(value));
    if (jk_cap_kind_of(value) == JK_CAP_CNODE)
        printf(" %u slots", jk_cap_cnode_slot_count(value));
    printf(" hash ");
    for (int b = 0; b < 8; b++)
        printf("%02x", h.bytes[b]);
    printf("\n");
    if (!hex || jk_cap_kind_of(value) != JK_CAP_DATA)
        return;
    uint8_t chunk[32];
    uint64_t len = jk_cap_data_len(value);
    for (uint64_t off = 0; off < len; off += sizeof chunk) {
        size_t n = len - off < sizeof chunk ? (size_t)(len - off) : sizeof chunk;
        if (jk_cap_data_read(value, off, chunk, n) != JK_OK)
            break;
        printf("  ");
        for (size_t b = 0; b < n; b++)
            printf("%02x", chunk[b]);
        printf("\n");
    }
}

/* The occupied slots of a CNode from `from` on. */
static void jk_show_slots(const char *prefix, jk_cap cnode, uint32_t from, bool hex)
{
    uint32_t slot = 0;
    for (; jk_cap_cnode_next(cnode, from, &slot); from = slot + 1) {
        char label[96];
        snprintf(label, sizeof label, "%sslot %u", prefix, slot);
        jk_show_cap(label, jk_cap_cnode_get(cnode, slot), hex);
    }
}

int jk_tool_chain_show(int argc, char **argv)
{
    const char *dir = NULL, *path = NULL;
    uint64_t max_rows = 20;
    bool hex = false;
    for (int i = 0; i < argc; i++) {
        if (i + 1 < argc && ((!strcmp(argv[i], "--store") && dir) || (!strcmp(argv[i], "--slot") && path))) {
            fprintf(stderr, "jark chain show: %s given twice\n", argv[i]);
            return JK_EXIT_USAGE;
        }
        if (!strcmp(argv[i], "--store") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--slot") && i + 1 < argc) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "--hex")) {
            hex = true;
        } else if (!strcmp(argv[i], "--accounts") && i + 1 < argc &&
                   !jk_tool_parse_number(argv[i + 1], false, &max_rows)) {
            i++;
        } else {
            dir = NULL;
            break;
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: jark chain show --store DIR [--slot PATH] [--hex] [--accounts N]\n");
        return JK_EXIT_USAGE;
    }
    char store[PATH_MAX];
    snprintf(store, sizeof store, "%.4000s", dir);
    if (!jk_show_is_store(store)) {
        snprintf(store, sizeof store, "%.4000s/validator-0", dir);
        if (!jk_show_is_store(store)) {
            fprintf(stderr, "jark chain show: %s: not a validator store (no data.mdb) nor a devnet directory\n", dir);
            return JK_EXIT_USAGE;
        }
    }
    jk_node_head head;
    jk_diag diag = {{0}};
    jk_err err = jk_node_head_read(store, &head, &diag);
    if (err != JK_OK) {
        fprintf(stderr, "jark chain show: %s: %s\n", store, diag.msg[0] ? diag.msg : jk_strerror(err));
        return JK_EXIT_USAGE;
    }
    jk_cap cnode = jk_cap_instance_cnode(head.chain);
    int rc = JK_EXIT_OK;
    if (path) {
        /* PATH: slot numbers through nested CNodes, "20" or "20.3.1": first
         * its syntax (decimal numbers joined by single dots), then the walk */
        jk_cap at = cnode;
        char label[256] = "";
        const char *p = path;
        for (const char *q = path; rc == JK_EXIT_OK; q++) {
            bool digit = *q >= '0' && *q <= '9', sep = *q == '.' || !*q;
            if ((!digit && !sep) || (sep && (q == path || q[-1] == '.')) || (digit && q - path >= 64)) {
                fprintf(stderr, "jark chain show: --slot '%s': not a slot path (decimal numbers joined by '.')\n",
                        path);
                rc = JK_EXIT_USAGE;
            }
            if (!*q)
                break;
        }
        while (rc == JK_EXIT_OK && *p) {
            char *end;
            unsigned long slot = strtoul(p, &end, 10);
            if (jk_cap_kind_of(at) != JK_CAP_CNODE) {
                fprintf(stderr, "jark chain show: --slot %s: %.*s is not a CNode, so it has no slot %.*s\n", path,
                        (int)(p - path - 1), path, (int)(end - p), p);
                rc = JK_EXIT_USAGE;
            } else if (slot >= jk_cap_cnode_slot_count(at)) {
                /* the slot as written: strtoul clamps a number past 64 bits */
                fprintf(stderr, "jark chain show: --slot %s: slot %.*s is past the %" PRIu64 " slots of %s\n", path,
                        (int)(end - p), p, (uint64_t)jk_cap_cnode_slot_count(at),
                        p == path ? "the chain's root cnode" : "its CNode");
                rc = JK_EXIT_USAGE;
            } else {
                at = jk_cap_cnode_get(at, (uint32_t)slot);
                p = *end ? end + 1 : end;
            }
        }
        if (rc == JK_EXIT_OK) {
            snprintf(label, sizeof label, "slot %s", path);
            jk_show_cap(label, at, hex);
            if (jk_cap_kind_of(at) == JK_CAP_CNODE)
                jk_show_slots("  ", at, 0, hex);
        }
    } else {
        jk_hash root;
        jk_cap_hash(head.chain, &root);
        printf("store %s\nheight %" PRIu64 "\n", store, head.height);
        jk_show_hex("block", head.block_hash.bytes, JK_HASH_SIZE);
        jk_show_hex("genesis", head.genesis_hash.bytes, JK_HASH_SIZE);
        jk_show_hex("state_root", root.bytes, JK_HASH_SIZE);
        jk_hash image;
        jk_cap_hash(jk_cap_instance_image(head.chain), &image);
        jk_show_hex("chain_image", image.bytes, JK_HASH_SIZE);
        /* Slots 20.. hold the chain's state (docs/chain-design.md); 1..19 are pins. */
        jk_show_slots("", cnode, 20, hex);
        jk_show_demo(head.chain, cnode, max_rows);
    }
    jk_node_head_release(&head);
    return rc;
}
