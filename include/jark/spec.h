/*
 * jark/spec.h — chains as files: a chain spec (docs/chain-spec.md) loaded,
 * its C programs compiled with the SDK, ready for genesis
 * (jk_chain_genesis_build); events files (docs/events-format.md); key files
 * (docs/keys.md).
 *
 * Layer: spec sits on chain, image and sdk (crypto → pvm → sdk;
 * … → kernel → image → chain → spec → devnet). It is what an embedder
 * includes to run a chain from its files without the `jark` command
 * (examples/driver/).
 */
#ifndef JARK_SPEC_H
#define JARK_SPEC_H

#include "jark/chain.h"
#include "jark/err.h"
#include "jark/sdk.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------
 * Chain specs
 * ------------------------------------------------------------------------- */

/* A loaded spec: `spec` points into the storage below, which the struct
 * owns; free it with jk_spec_file_free. */
typedef struct jk_spec_file {
    jk_chain_spec spec;
    uint8_t *programs[5 + JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    uint32_t *state_slots;
    uint8_t **state_data;
    size_t state_cap;    /* entries of state_slots / state_data / state_len */
    size_t *state_len;
    uint8_t (*validators)[JK_ED25519_PUBLIC_SIZE];
} jk_spec_file;

/* Reads what a spec names: a program (program = true: from `count` names,
 * 1..JK_SDK_MAX_SOURCES, several being C files built together) or state
 * data (one name).
 * @param[out] out  malloc'd bytes; the spec file takes them.
 * @return JK_OK, or an error with the reason in diag. */
typedef jk_err (*jk_spec_reader)(void *ctx, const char *const *names, size_t count, bool program, uint8_t **out,
                                 size_t *len, jk_diag *diag);

/* Parse a chain spec from text[0..len) (untrusted JSON: one object, nothing
 * after it but white space), reading the files it names with reader(ctx, …).
 * @param[out] out  filled on success; on failure zeroed with nothing to free.
 * @return JK_OK; JK_ERR_PARSE (not JSON, an unknown key, a field missing,
 *         mistyped or out of range: diag names the field); what the reader
 *         returns; JK_ERR_NOMEM. Never crashes on any input (fuzzed:
 *         tests/fuzz/fuzz_spec.c). Genesis checks the programs
 *         themselves. */
jk_err jk_spec_file_parse(const char *text, size_t len, jk_spec_reader reader, void *ctx, jk_spec_file *out,
                          jk_diag *diag);

/* Load the spec at `path`: files it names are relative to the spec's folder
 * (or absolute); a program ending in ".c", or an array of C files, is
 * compiled with the SDK (jk_sdk_build with `build`, NULL: -O2), any other
 * name is a program file.
 * @param[out] out  as jk_spec_file_parse.
 * @return as jk_spec_file_parse, plus JK_ERR_IO (a file cannot be read, the
 *         SDK or its tools are missing, a program does not compile: diag
 *         names the program) and what jk_sdk_build returns. */
jk_err jk_spec_file_load(const char *path, const jk_sdk_options *build, jk_spec_file *out, jk_diag *diag);

/* Free what f holds and zero it. Safe on a zeroed struct. */
void jk_spec_file_free(jk_spec_file *f);

/* ---------------------------------------------------------------------------
 * Events files (docs/events-format.md)
 *
 * Events for a chain with their traces, as `jark event sign` writes them and
 * `jark devnet --events` gossips them:
 *
 *   "JKEVT\0" ‖ version u8 (1) ‖ genesis hash[32] ‖ count u32 ‖
 *   count × ( endpoint u32 ‖ blob_len u32 ‖ blob ‖ trace_count u32 ‖
 *             trace_count × trace[128] )
 *
 * integers little-endian; endpoint 0 is transact, 1 + k is dispatch k; a
 * trace is key[32] ‖ H(msg)[32] ‖ sig[64] (jk_chain_trace_encode), msg =
 * "jark/attest/v1" ‖ genesis ‖ blob (attestation.md).
 * ------------------------------------------------------------------------- */

#define JK_SPEC_EVENTS_MAGIC "JKEVT\0"
#define JK_SPEC_EVENTS_VERSION 1
#define JK_SPEC_EVENTS_MAX 65536u        /* events in one file */
#define JK_SPEC_EVENT_MAX_TRACES JK_CHAIN_MAX_EVENT_TRACES /* traces on one event: what a spec may allow */

typedef struct jk_spec_event {
    jk_chain_endpoint endpoint;   /* 0 transact, 1 + k dispatch k (≤ 1 + JK_CHAIN_MAX_DISPATCH_ENDPOINTS - 1) */
    uint8_t *blob;                /* blob_len bytes (malloc'd; owned by the list) */
    size_t blob_len;              /* ≤ JK_CHAIN_MAX_BLOB */
    jk_chain_trace *traces;       /* trace_count traces (malloc'd; owned) */
    size_t trace_count;           /* ≤ JK_SPEC_EVENT_MAX_TRACES */
} jk_spec_event;

/* A list of events for the chain named by `genesis`. Zero it to start. */
typedef struct jk_spec_events {
    jk_hash genesis;
    jk_spec_event *events;
    size_t count, cap;
} jk_spec_events;

/* Append an event, copying blob and traces.
 * @return JK_OK; JK_ERR_INVALID_ARG (endpoint, blob or trace count over its
 *         bound, or the list is full); JK_ERR_NOMEM (the list unchanged). */
jk_err jk_spec_events_add(jk_spec_events *list, jk_chain_endpoint endpoint, const uint8_t *blob, size_t blob_len,
                          const jk_chain_trace *traces, size_t trace_count);

/* One key attesting one message: what `--key` and `--attest` name. */
typedef struct jk_spec_attest {
    const uint8_t *secret_key;   /* JK_ED25519_SECRET_SIZE bytes */
    const uint8_t *msg;          /* the attested blob */
    size_t msg_len;
} jk_spec_attest;

/* Sign and append one event: one trace per attest, in the given order, each
 * (key, H("jark/attest/v1" ‖ list->genesis ‖ msg), signature) — what an AA's
 * attest of (key, msg) during the event's verify finds.
 * @return as jk_spec_events_add. */
jk_err jk_spec_events_sign(jk_spec_events *list, jk_chain_endpoint endpoint, const uint8_t *blob, size_t blob_len,
                           const jk_spec_attest *attests, size_t attest_count);

/* Encode a list (deterministic: equal lists, equal bytes).
 * @param[out] out  malloc'd bytes the caller frees.
 * @return JK_OK; JK_ERR_INVALID_ARG (a bound broken); JK_ERR_NOMEM. */
jk_err jk_spec_events_encode(const jk_spec_events *list, uint8_t **out, size_t *out_len);

/* Decode an events file, strictly (untrusted bytes).
 * @param[out] out  filled on success (free with jk_spec_events_free); zeroed
 *                  on failure, nothing to free.
 * @return JK_OK; JK_ERR_PARSE (bad magic or version, truncated, trailing
 *         bytes, an endpoint, blob length, trace count or event count over
 *         its bound: diag says which event and field); JK_ERR_NOMEM. Never
 *         crashes on any input (fuzzed: tests/fuzz/fuzz_events.c). */
jk_err jk_spec_events_decode(const uint8_t *bytes, size_t len, jk_spec_events *out, jk_diag *diag);

/* jk_spec_events_encode / _decode to and from a path.
 * @return as those, plus JK_ERR_IO (diag: the path and errno's message). */
jk_err jk_spec_events_save(const char *path, const jk_spec_events *list, jk_diag *diag);
jk_err jk_spec_events_load(const char *path, jk_spec_events *out, jk_diag *diag);

/* Free every event and zero the list. Safe on a zeroed list. */
void jk_spec_events_free(jk_spec_events *list);

/* ---------------------------------------------------------------------------
 * Key files (docs/keys.md)
 *
 * An Ed25519 key as text, three lines:
 *   jark-ed25519-key v1
 *   seed <64 hex digits>
 *   public <64 hex digits>
 * The seed is the secret; the public key must be the seed's.
 * ------------------------------------------------------------------------- */

typedef struct jk_spec_key {
    uint8_t secret[JK_ED25519_SECRET_SIZE];  /* seed ‖ public (libsodium's form) */
    uint8_t public_key[JK_ED25519_PUBLIC_SIZE];
} jk_spec_key;

/* Make a fresh key from the operating system's randomness (getrandom);
 * the seed is wiped from the stack after.
 * @return JK_OK; JK_ERR_CRYPTO_INIT (libsodium could not initialise, or the
 *         system gave no randomness); JK_ERR_INVALID_ARG (libsodium refused
 *         the seed: jk_crypto_ed25519_keypair_from_seed, never with current
 *         libsodium). */
jk_err jk_spec_key_generate(jk_spec_key *out);

/* The key file's text for k (exactly JK_SPEC_KEY_TEXT_LEN bytes, NUL added). */
#define JK_SPEC_KEY_TEXT_LEN (20 + 5 + 64 + 1 + 7 + 64 + 1)
void jk_spec_key_format(const jk_spec_key *k, char out[JK_SPEC_KEY_TEXT_LEN + 1]);

/* Decode a key file's text, strictly (untrusted: exactly the three lines
 * above, lower-case hex, the public key the seed's). On failure *out holds
 * no secret (wiped or untouched).
 * @return JK_OK; JK_ERR_PARSE (diag says which line); JK_ERR_CRYPTO_INIT;
 *         JK_ERR_INVALID_ARG (as jk_spec_key_generate). */
jk_err jk_spec_key_parse(const uint8_t *text, size_t len, jk_spec_key *out, jk_diag *diag);

/* Write a new key file: created with mode 0600, never overwriting.
 * @return JK_OK; JK_ERR_IO (the file exists, or cannot be written: diag). */
jk_err jk_spec_key_save(const char *path, const jk_spec_key *k, jk_diag *diag);
/* Read and parse a key file (the text read is wiped before it is freed).
 * @return as jk_spec_key_parse, plus JK_ERR_IO (diag: the path and errno's
 *         message) and JK_ERR_NOMEM. */
jk_err jk_spec_key_load(const char *path, jk_spec_key *out, jk_diag *diag);

#endif
