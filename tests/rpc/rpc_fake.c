/*
 * rpc_fake.c — the fake node of rpc_fake.h. No test framework calls here:
 * the fuzz target links this file too.
 */
#include "rpc_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool fake_node_init(fake_node *f)
{
    memset(f, 0, sizeof *f);
    if (jk_crypto_init() != JK_OK)
        return false;
    uint8_t seed[JK_ED25519_SEED_SIZE], pub[JK_ED25519_PUBLIC_SIZE], sec[JK_ED25519_SECRET_SIZE];
    memset(seed, 7, sizeof seed);
    if (jk_crypto_ed25519_keypair_from_seed(seed, pub, sec) != JK_OK)
        return false;
    jk_hash genesis, parent, root;
    jk_crypto_blake2b256("fake genesis", 12, &genesis);
    parent = genesis;
    for (unsigned h = 1; h <= FAKE_BLOCKS; h++) {
        char text[32];
        snprintf(text, sizeof text, "event at %u", h);
        jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, (const uint8_t *)text, strlen(text)};
        jk_chain_trace tr;
        jk_chain_trace_sign(sec, &genesis, text, strlen(text), &tr);
        jk_crypto_blake2b256(text, strlen(text), &root);
        jk_chain_block b;
        if (jk_chain_block_build(&parent, h, h % 4, &root, &ev, 1, &tr, 1, &b, NULL) != JK_OK)
            return false;
        jk_chain_block_sign(&b, sec, &genesis);
        jk_chain_block_hash(&b, &f->hashes[h - 1]);
        jk_err err = jk_chain_block_encode(&b, &f->blocks[h - 1], &f->block_lens[h - 1]);
        jk_chain_block_free(&b);
        if (err != JK_OK)
            return false;
        parent = f->hashes[h - 1];
    }
    f->is_validator = true;
    return true;
}

void fake_node_free(fake_node *f)
{
    for (unsigned i = 0; i < FAKE_BLOCKS; i++)
        free(f->blocks[i]);
    memset(f, 0, sizeof *f);
}

static jk_err fake_status(void *ctx, jk_rpc_status *out, jk_diag *diag)
{
    fake_node *f = ctx;
    f->calls++;
    if (f->syncing)
        return jk_diag_set(diag, JK_ERR_RPC_UNAVAILABLE, "fake node is starting");
    out->height = FAKE_BLOCKS;
    out->head_hash = f->hashes[FAKE_BLOCKS - 1];
    out->round = 2;
    out->peers = 5;
    out->syncing = false;
    out->pool_size = f->pool_count;
    out->is_validator = f->is_validator;
    out->validator_index = 1;
    return JK_OK;
}

static jk_err fake_submit(void *ctx, const jk_rpc_event *ev, jk_rpc_submit_result *out, jk_diag *diag)
{
    (void)diag;
    fake_node *f = ctx;
    f->calls++;
    f->submits++;
    const char *why = NULL;
    if (ev->blob_len == 0)
        why = "empty blob";
    else if (ev->blob[0] == 0xFF)
        why = "verify refused the event";
    else if (ev->blob_len > sizeof f->pool[0].blob || ev->trace_count > 2)
        why = "too large for the fake pool";
    else if (f->pool_count == FAKE_POOL_MAX)
        why = "pool full";
    if (why) {
        out->admitted = false;
        snprintf(out->reason, sizeof out->reason, "%s", why);
        return JK_OK;
    }
    fake_pooled *p = &f->pool[f->pool_count++];
    p->endpoint = ev->endpoint;
    memcpy(p->blob, ev->blob, ev->blob_len);
    p->blob_len = ev->blob_len;
    if (ev->trace_count)
        memcpy(p->traces, ev->traces, ev->trace_count * sizeof *ev->traces);
    p->trace_count = ev->trace_count;
    out->admitted = true;
    jk_crypto_blake2b256(ev->blob, ev->blob_len, &out->event_hash);
    return JK_OK;
}

static jk_err fake_block(void *ctx, const jk_rpc_block_query *q, jk_rpc_buf *block, jk_rpc_buf *cert, jk_diag *diag)
{
    fake_node *f = ctx;
    f->calls++;
    int found = -1;
    for (int i = 0; i < FAKE_BLOCKS; i++)
        if (q->by_hash ? !memcmp(q->hash.bytes, f->hashes[i].bytes, 32) : q->height == (uint64_t)i + 1)
            found = i;
    if (found < 0)
        return jk_diag_set(diag, JK_ERR_RPC_NOT_FOUND, "no such block");
    jk_err err = jk_rpc_buf_set(block, f->blocks[found], f->block_lens[found]);
    if (err == JK_OK && found > 0) {   /* block 1 has no certificate: answered as null */
        char text[16];
        snprintf(text, sizeof text, "cert-%d", found + 1);
        err = jk_rpc_buf_set(cert, text, strlen(text));
    }
    return err;
}

static jk_err fake_state_slot(void *ctx, const uint32_t *path, size_t depth, jk_rpc_slot_value *out, jk_diag *diag)
{
    fake_node *f = ctx;
    f->calls++;
    out->height = FAKE_BLOCKS;
    out->block_hash = f->hashes[FAKE_BLOCKS - 1];
    if (depth == 1 && path[0] == FAKE_SLOT_ROOT) {
        out->kind = JK_RPC_SLOT_CNODE;
        jk_crypto_blake2b256("cnode", 5, &out->cap_hash);
        return jk_rpc_buf_set(&out->value, "cnode", 5);
    }
    if (depth == 1 && path[0] == FAKE_SLOT_ROOT + 1) {
        out->kind = JK_RPC_SLOT_EMPTY;
        return JK_OK;
    }
    if (depth == 2 && path[0] == FAKE_SLOT_ROOT && path[1] < 3) {
        char text[16];
        snprintf(text, sizeof text, "slot-%u", path[1]);
        out->kind = JK_RPC_SLOT_DATA;
        jk_crypto_blake2b256(text, strlen(text), &out->cap_hash);
        return jk_rpc_buf_set(&out->value, text, strlen(text));
    }
    return jk_diag_set(diag, JK_ERR_RPC_NOT_FOUND, "no cap at that path");
}

static jk_err fake_pool(void *ctx, uint32_t offset, jk_rpc_pool_sink *sink, uint64_t *total, jk_diag *diag)
{
    (void)diag;
    fake_node *f = ctx;
    f->calls++;
    *total = f->pool_count;
    for (size_t i = offset; i < f->pool_count; i++) {
        const fake_pooled *p = &f->pool[i];
        jk_rpc_pool_entry e = {p->endpoint, p->blob, p->blob_len, p->traces, p->trace_count};
        jk_err err = jk_rpc_pool_add(sink, &e);
        if (err == JK_ERR_CAP_RANGE)
            break;
        if (err != JK_OK)
            return err;
    }
    return JK_OK;
}

jk_rpc_provider fake_provider(fake_node *f)
{
    jk_rpc_provider p = {f, fake_status, fake_submit, fake_block, fake_state_slot, fake_pool};
    return p;
}
