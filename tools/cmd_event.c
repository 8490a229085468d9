/*
 * cmd_event.c — keys and events for any chain (jark/spec.h):
 *   jark keygen -o FILE
 *   jark event sign (--spec SPEC | --genesis HASH) [--key K] --endpoint E --blob FILE
 *                   [--attest KEY:MSG]... -o EVENTS [--append]
 *   jark event transfer|report ...   the demo chain's events on top of sign
 *   jark event show EVENTS
 *   jark event submit EVENTS [--rpc HOST:PORT]   the events to a node's submit_event, batched
 */
#include "commands.h"

#include "jark/bytes.h"
#include "jark/devnet.h"
#include "jark/rpc.h"
#include "jark/spec.h"

#include <json-c/json.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int jk_tool_keygen(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[0], "-o") != 0) {
        fputs("usage: jark keygen -o FILE\n", stderr);
        return JK_EXIT_USAGE;
    }
    jk_spec_key k;
    jk_diag diag = {{0}};
    jk_err err = jk_spec_key_generate(&k);
    if (err == JK_OK)
        err = jk_spec_key_save(argv[1], &k, &diag);
    if (err != JK_OK) {
        fprintf(stderr, "jark keygen: %s\n", diag.msg[0] ? diag.msg : jk_strerror(err));
        jk_crypto_wipe(&k, sizeof k);
        return JK_EXIT_USAGE;
    }
    printf("public ");
    for (int i = 0; i < 32; i++)
        printf("%02x", k.public_key[i]);
    printf("\n");
    jk_crypto_wipe(&k, sizeof k);
    return JK_EXIT_OK;
}

static int jk_hex32(const char *s, uint8_t out[32])
{
    if (strlen(s) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
            !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* A small decimal number as the RPC's submit_event writes K: digits only,
 * no sign, no leading zero, no base prefix (strtoull's base 0 would read
 * "010" as 8 and "+1" as 1). 0 or -1. */
static int jk_parse_small_decimal(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 3 || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1))
        return -1;
    *out = strtoull(s, NULL, 10);
    return 0;
}

/* "transact", "dispatch:K" or a number (0 transact, 1 + K dispatch K). */
static int jk_parse_endpoint(const char *s, jk_chain_endpoint *out)
{
    uint64_t v;
    if (!strcmp(s, "transact")) {
        *out = JK_CHAIN_ENDPOINT_TRANSACT;
        return 0;
    }
    if (!strncmp(s, "dispatch:", 9) && !jk_parse_small_decimal(s + 9, &v) && v < JK_CHAIN_MAX_DISPATCH_ENDPOINTS) {
        *out = jk_chain_endpoint_dispatch((uint32_t)v);
        return 0;
    }
    if (!jk_parse_small_decimal(s, &v) && v <= JK_CHAIN_MAX_DISPATCH_ENDPOINTS) {
        *out = (jk_chain_endpoint)v;
        return 0;
    }
    return -1;
}

/* What every event command shares: the chain, the signer, the output. */
typedef struct jk_event_cmd {
    const char *spec, *genesis_hex, *key_path, *out;
    bool append;
    jk_tool_build build;
    jk_spec_key key;
    bool have_key;
    jk_spec_events list;
} jk_event_cmd;

/* An option that takes one value given a second time: which one the user
 * meant cannot be known (the last silently winning signed for whichever
 * chain or key came last). Says so; returns 1. */
static int jk_event_twice(const char *opt, const char *value)
{
    if (!value)
        return 0;
    fprintf(stderr, "jark event: %s given twice\n", opt);
    return 1;
}

#define JK_EVENT_SAID (-2) /* refused, and the reason printed */

/* Take a common option at argv[*i]; 1 taken, 0 not one, -1 bad, JK_EVENT_SAID. */
static int jk_event_common(int argc, char **argv, int *i, jk_event_cmd *c)
{
    const char *a = argv[*i];
    bool v = *i + 1 < argc;
    int flag = jk_tool_build_flag(argc, argv, i, &c->build);
    if (flag)
        return flag;
    if (v && ((!strcmp(a, "--spec") && jk_event_twice(a, c->spec)) ||
              (!strcmp(a, "--genesis") && jk_event_twice(a, c->genesis_hex)) ||
              (!strcmp(a, "--key") && jk_event_twice(a, c->key_path)) ||
              (!strcmp(a, "-o") && jk_event_twice(a, c->out))))
        return JK_EVENT_SAID;
    if (!strcmp(a, "--spec") && v)
        c->spec = argv[++*i];
    else if (!strcmp(a, "--genesis") && v)
        c->genesis_hex = argv[++*i];
    else if (!strcmp(a, "--key") && v)
        c->key_path = argv[++*i];
    else if (!strcmp(a, "-o") && v)
        c->out = argv[++*i];
    else if (!strcmp(a, "--append"))
        c->append = true;
    else
        return 0;
    return 1;
}

/* The chain's genesis hash, the signer's key and, with --append, the events
 * already in the output file. Returns 0 or an exit code. */
static int jk_event_prepare(const char *cmd, jk_event_cmd *c)
{
    jk_diag diag = {{0}};
    if (!c->out || !!c->spec == !!c->genesis_hex) {
        fprintf(stderr, "jark event %s: one of --spec SPEC or --genesis HASH, and -o EVENTS\n", cmd);
        return JK_EXIT_USAGE;
    }
    if (c->key_path) {
        if (jk_spec_key_load(c->key_path, &c->key, &diag) != JK_OK) {
            fprintf(stderr, "jark event %s: %s\n", cmd, diag.msg);
            return JK_EXIT_USAGE;
        }
        c->have_key = true;
    }
    jk_hash genesis;
    if (c->genesis_hex) {
        if (jk_hex32(c->genesis_hex, genesis.bytes)) {
            fprintf(stderr, "jark event %s: --genesis: 64 hex digits\n", cmd);
            return JK_EXIT_USAGE;
        }
    } else {
        jk_spec_file f;
        jk_chain_genesis g;
        jk_err err = jk_spec_file_load(c->spec, &c->build.o, &f, &diag);
        if (err == JK_OK) {
            err = jk_chain_genesis_build(&f.spec, &g, &diag);
            jk_spec_file_free(&f);
        }
        if (err != JK_OK) {
            fprintf(stderr, "jark event %s: %s: %s\n", cmd, c->spec, diag.msg[0] ? diag.msg : jk_strerror(err));
            return JK_EXIT_USAGE;
        }
        genesis = g.genesis_hash;
        jk_cap_release(g.chain);
    }
    if (c->append && access(c->out, F_OK) == 0) {
        if (jk_spec_events_load(c->out, &c->list, &diag) != JK_OK) {
            fprintf(stderr, "jark event %s: %s\n", cmd, diag.msg);
            return JK_EXIT_USAGE;
        }
        if (memcmp(c->list.genesis.bytes, genesis.bytes, 32) != 0) {
            fprintf(stderr, "jark event %s: %s holds events for another chain (another genesis hash)\n", cmd, c->out);
            return JK_EXIT_USAGE;
        }
    }
    c->list.genesis = genesis;
    return 0;
}

static int jk_event_finish(const char *cmd, jk_event_cmd *c, jk_err err)
{
    jk_diag diag = {{0}};
    if (err == JK_OK)
        err = jk_spec_events_save(c->out, &c->list, &diag);
    if (err != JK_OK)
        fprintf(stderr, "jark event %s: %s\n", cmd, diag.msg[0] ? diag.msg : jk_strerror(err));
    else
        printf("%s: %zu event%s\n", c->out, c->list.count, c->list.count == 1 ? "" : "s");
    jk_spec_events_free(&c->list);
    jk_crypto_wipe(&c->key, sizeof c->key);
    return err == JK_OK ? JK_EXIT_OK : JK_EXIT_USAGE;
}

#define JK_MAX_ATTESTS 16

static int jk_event_sign(int argc, char **argv)
{
    static const char usage[] =
        "usage: jark event sign (--spec SPEC | --genesis HASH) [--key KEY] --endpoint transact|dispatch:K|N\n"
        "                       --blob FILE [--attest KEY:MSGFILE]... -o EVENTS [--append]\n";
    jk_event_cmd c;
    memset(&c, 0, sizeof c);
    jk_tool_build_init(&c.build);
    const char *blob_path = NULL, *attest_args[JK_MAX_ATTESTS];
    size_t nattest = 0;
    jk_chain_endpoint endpoint = 0;
    bool have_endpoint = false;
    for (int i = 0; i < argc; i++) {
        int taken = jk_event_common(argc, argv, &i, &c);
        if (taken > 0)
            continue;
        if (taken == JK_EVENT_SAID)
            return JK_EXIT_USAGE;
        if ((!strcmp(argv[i], "--endpoint") && have_endpoint) || (!strcmp(argv[i], "--blob") && blob_path)) {
            fprintf(stderr, "jark event sign: %s given twice\n", argv[i]);
            return JK_EXIT_USAGE;
        }
        /* a bad value says what was wrong, not just the usage */
        const char *bad = NULL, *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (taken == 0 && !strcmp(argv[i], "--endpoint") && val && jk_parse_endpoint(val, &endpoint))
            bad = "transact, dispatch:K with K 0..12, or a number 0..13";
        else if (taken == 0 && !strcmp(argv[i], "--attest") && val && !strchr(val, ':'))
            bad = "KEY:MSGFILE (a key file and the file of the bytes it attests)";
        else if (taken == 0 && !strcmp(argv[i], "--attest") && val && nattest == JK_MAX_ATTESTS)
            bad = "at most 16 --attest";
        if (bad) {
            fprintf(stderr, "jark event sign: %s %s: %s\n", argv[i], val, bad);
            return JK_EXIT_USAGE;
        }
        if (taken == 0 && !strcmp(argv[i], "--endpoint") && val)
            have_endpoint = true, i++;
        else if (taken == 0 && !strcmp(argv[i], "--blob") && val)
            blob_path = argv[++i];
        else if (taken == 0 && !strcmp(argv[i], "--attest") && val)
            attest_args[nattest++] = argv[++i];
        else {
            fputs(usage, stderr);
            return JK_EXIT_USAGE;
        }
    }
    if (!have_endpoint || !blob_path) {
        fputs(usage, stderr);
        return JK_EXIT_USAGE;
    }
    int rc = jk_event_prepare("sign", &c);
    uint8_t *blob = NULL, *msgs[JK_MAX_ATTESTS] = {0};
    jk_spec_key *keys = calloc(JK_MAX_ATTESTS, sizeof *keys);
    jk_spec_attest attests[JK_MAX_ATTESTS + 1];
    size_t n = 0, blob_len = 0;
    jk_diag diag = {{0}};
    if (!rc && !keys)
        rc = JK_EXIT_USAGE;
    if (!rc && jk_read_file(blob_path, &blob, &blob_len, &diag) != JK_OK) {
        fprintf(stderr, "jark event sign: %s\n", diag.msg);
        rc = JK_EXIT_USAGE;
    }
    if (!rc && blob_len > JK_CHAIN_MAX_BLOB) {
        fprintf(stderr, "jark event sign: --blob %s: %zu bytes, more than an event's blob may have (%u)\n", blob_path,
                blob_len, (unsigned)JK_CHAIN_MAX_BLOB);
        rc = JK_EXIT_USAGE;
    }
    if (!rc && c.have_key) /* the submitter attests the blob itself */
        attests[n++] = (jk_spec_attest){c.key.secret, blob, blob_len};
    for (size_t i = 0; !rc && i < nattest; i++) {
        char key_path[4096];
        const char *colon = strchr(attest_args[i], ':');
        snprintf(key_path, sizeof key_path, "%.*s", (int)(colon - attest_args[i]), attest_args[i]);
        size_t len = 0;
        if (jk_spec_key_load(key_path, &keys[i], &diag) != JK_OK ||
            jk_read_file(colon + 1, &msgs[i], &len, &diag) != JK_OK) {
            fprintf(stderr, "jark event sign: --attest %s: %s\n", attest_args[i], diag.msg);
            rc = JK_EXIT_USAGE;
            break;
        }
        attests[n++] = (jk_spec_attest){keys[i].secret, msgs[i], len};
    }
    if (!rc)
        rc = jk_event_finish("sign", &c, jk_spec_events_sign(&c.list, endpoint, blob, blob_len, attests, n));
    else
        jk_spec_events_free(&c.list);
    free(blob);
    for (size_t i = 0; i < nattest; i++)
        free(msgs[i]);
    if (keys)
        jk_crypto_wipe(keys, JK_MAX_ATTESTS * sizeof *keys);
    free(keys);
    jk_crypto_wipe(&c.key, sizeof c.key);
    return rc;
}

/* `jark event transfer|report`: the demo chain's blobs, signed by --key. */
static int jk_event_demo(const char *cmd, int argc, char **argv)
{
    bool transfer = !strcmp(cmd, "transfer");
    const char *usage = transfer ? "usage: jark event transfer (--spec SPEC | --genesis HASH) --key FROM --to PUBHEX "
                                   "--amount N --nonce N -o EVENTS [--append]\n"
                                 : "usage: jark event report (--spec SPEC | --genesis HASH) --key REPORTER --round N "
                                   "--price P -o EVENTS [--append]\n";
    jk_event_cmd c;
    memset(&c, 0, sizeof c);
    jk_tool_build_init(&c.build);
    uint64_t a = 0, b = 0;
    bool have_a = false, have_b = false, have_to = false;
    uint8_t to[32];
    for (int i = 0; i < argc; i++) {
        int taken = jk_event_common(argc, argv, &i, &c);
        if (taken > 0)
            continue;
        if (taken == JK_EVENT_SAID)
            return JK_EXIT_USAGE;
        const char *o = argv[i];
        bool v = taken == 0 && i + 1 < argc;
        if (v && transfer && !strcmp(o, "--to") && !jk_hex32(argv[i + 1], to))
            have_to = true, i++;
        else if (v && !strcmp(o, transfer ? "--amount" : "--round") && !jk_tool_parse_number(argv[i + 1], false, &a))
            have_a = true, i++;
        else if (v && !strcmp(o, transfer ? "--nonce" : "--price") && !jk_tool_parse_number(argv[i + 1], false, &b))
            have_b = true, i++;
        else {
            fputs(usage, stderr);
            return JK_EXIT_USAGE;
        }
    }
    if (!c.key_path || !have_a || !have_b || (transfer && !have_to)) {
        fputs(usage, stderr);
        return JK_EXIT_USAGE;
    }
    int rc = jk_event_prepare(cmd, &c);
    if (rc) {
        jk_spec_events_free(&c.list);
        jk_crypto_wipe(&c.key, sizeof c.key);
        return rc;
    }
    uint8_t blob[JK_DEVNET_TRANSFER_LEN];
    size_t len = transfer ? JK_DEVNET_TRANSFER_LEN : JK_DEVNET_REPORT_LEN;
    if (transfer)
        jk_devnet_transfer_blob(c.key.public_key, to, a, b, blob);
    else
        jk_devnet_report_blob(c.key.public_key, a, b, blob);
    jk_spec_attest self = {c.key.secret, blob, len};
    jk_chain_endpoint endpoint = transfer ? JK_CHAIN_ENDPOINT_TRANSACT : jk_chain_endpoint_dispatch(0);
    return jk_event_finish(cmd, &c, jk_spec_events_sign(&c.list, endpoint, blob, len, &self, 1));
}

static int jk_event_show(int argc, char **argv)
{
    if (argc != 1) {
        fputs("usage: jark event show EVENTS\n", stderr);
        return JK_EXIT_USAGE;
    }
    jk_spec_events list;
    jk_diag diag = {{0}};
    if (jk_spec_events_load(argv[0], &list, &diag) != JK_OK) {
        fprintf(stderr, "jark event show: %s\n", diag.msg);
        return JK_EXIT_USAGE;
    }
    printf("genesis ");
    for (int i = 0; i < 32; i++)
        printf("%02x", list.genesis.bytes[i]);
    printf("\nevents %zu\n", list.count);
    for (size_t i = 0; i < list.count; i++) {
        const jk_spec_event *e = &list.events[i];
        if (e->endpoint == JK_CHAIN_ENDPOINT_TRANSACT)
            printf("event %zu transact", i);
        else
            printf("event %zu dispatch:%u", i, jk_chain_endpoint_dispatch_index(e->endpoint));
        printf(" blob %zu bytes traces %zu", e->blob_len, e->trace_count);
        for (size_t t = 0; t < e->trace_count; t++) {
            printf(" key:");
            for (int b = 0; b < 8; b++)
                printf("%02x", e->traces[t].key[b]);
        }
        printf("\n");
    }
    jk_spec_events_free(&list);
    return JK_EXIT_OK;
}

/* A fresh JSON string of b[0..n) in hex; NULL when out of memory. */
static json_object *jk_event_hex(const uint8_t *b, size_t n)
{
    char *hex = malloc(2 * n + 1);
    if (!hex)
        return NULL;
    jk_hex_encode(b, n, hex);
    json_object *o = json_object_new_string_len(hex, (int)(2 * n));
    free(hex);
    return o;
}

/* submit_event's params for one event: [endpoint, blob hex, [[key, msg_hash, sig]...]]
 * (docs/rpc.md); NULL when out of memory. */
static char *jk_event_params(const jk_spec_event *e)
{
    char endpoint[24] = "transact";
    if (e->endpoint != JK_CHAIN_ENDPOINT_TRANSACT)
        snprintf(endpoint, sizeof endpoint, "dispatch:%u", jk_chain_endpoint_dispatch_index(e->endpoint));
    json_object *params = json_object_new_array(), *traces = json_object_new_array();
    int bad = !params || !traces;
    if (!bad) {
        json_object_array_add(params, json_object_new_string(endpoint));
        json_object_array_add(params, jk_event_hex(e->blob, e->blob_len));
        json_object_array_add(params, traces);
        traces = NULL;
    }
    for (size_t t = 0; !bad && t < e->trace_count; t++) {
        const jk_chain_trace *tr = &e->traces[t];
        json_object *a = json_object_new_array();
        bad = !a || json_object_array_add(json_object_array_get_idx(params, 2), a) != 0;
        if (bad) {
            json_object_put(a);
            break;
        }
        json_object_array_add(a, jk_event_hex(tr->key, sizeof tr->key));
        json_object_array_add(a, jk_event_hex(tr->msg_hash.bytes, sizeof tr->msg_hash.bytes));
        json_object_array_add(a, jk_event_hex(tr->sig, sizeof tr->sig));
    }
    char *text = bad ? NULL : strdup(json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN));
    json_object_put(params);
    json_object_put(traces);
    return text;
}

/* Sends an events file's events, in order, to a node's submit_event: the
 * bridge from `jark event sign` to a running `jark node` / `jark testnet`.
 * Exit 0 when the node admitted every event, 1 when it refused one (the
 * chain said no), 2 for a bad file or no answer (README.md, "Exit codes"). */
static int jk_event_submit(int argc, char **argv)
{
    static const char usage[] = "usage: jark event submit EVENTS [--rpc HOST:PORT]\n";
    char host[64] = "127.0.0.1";
    uint16_t port = JK_RPC_DEFAULT_PORT;
    const char *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--rpc") && i + 1 < argc) {
            jk_diag d = {{0}};
            if (jk_rpc_addr_parse(argv[++i], host, sizeof host, &port, &d) != JK_OK) {
                fprintf(stderr, "jark event submit: --rpc %s\n", d.msg);
                return JK_EXIT_USAGE;
            }
        } else if (argv[i][0] != '-' && !file) {
            file = argv[i];
        } else {
            fputs(usage, stderr);
            return JK_EXIT_USAGE;
        }
    }
    if (!file) {
        fputs(usage, stderr);
        return JK_EXIT_USAGE;
    }
    jk_spec_events list;
    jk_diag diag = {{0}};
    if (jk_spec_events_load(file, &list, &diag) != JK_OK) {
        fprintf(stderr, "jark event submit: %s\n", diag.msg);
        return JK_EXIT_USAGE;
    }
    /* One JSON-RPC batch per JK_RPC_MAX_BATCH events: the node takes a
     * batch's events together, so they meet in one proposal (one cycle),
     * as on jark devnet (docs/rpc.md "Batches"). */
    int rc = JK_EXIT_OK;
    for (size_t first = 0; first < list.count && rc != JK_EXIT_USAGE; first += JK_RPC_MAX_BATCH) {
        size_t n = list.count - first < JK_RPC_MAX_BATCH ? list.count - first : JK_RPC_MAX_BATCH;
        char *params[JK_RPC_MAX_BATCH] = {0}, *results[JK_RPC_MAX_BATCH] = {0};
        jk_err errs[JK_RPC_MAX_BATCH];
        jk_diag d = {{0}};
        jk_err err = JK_OK;
        for (size_t k = 0; k < n && err == JK_OK; k++)
            if (!(params[k] = jk_event_params(&list.events[first + k])))
                err = JK_ERR_NOMEM;
        if (err == JK_OK)
            err = jk_rpc_call_batch(host, port, "submit_event", (const char *const *)params, n, results, errs, &d);
        if (err != JK_OK) {
            fprintf(stderr, "jark event submit: %s:%u: %s\n", host, (unsigned)port, d.msg[0] ? d.msg : jk_strerror(err));
            rc = JK_EXIT_USAGE; /* no answer: README "Exit codes" */
        }
        for (size_t k = 0; k < n && err == JK_OK; k++) {
            size_t i = first + k;
            json_object *o = json_tokener_parse(results[k]), *v;
            if (errs[k] == JK_ERR_RPC_REMOTE) {
                fprintf(stderr, "jark event submit: event %zu: error %s\n", i, results[k]);
                rc = JK_EXIT_REFUSED;
            } else if (json_object_object_get_ex(o, "admitted", &v) && json_object_get_boolean(v)) {
                printf("event %zu admitted", i);
                if (json_object_object_get_ex(o, "event_hash", &v))
                    printf(" %s", json_object_get_string(v));
                printf("\n");
            } else {
                printf("event %zu refused: %s\n", i,
                       json_object_object_get_ex(o, "reason", &v) ? json_object_get_string(v) : results[k]);
                rc = JK_EXIT_REFUSED;
            }
            json_object_put(o);
        }
        for (size_t k = 0; k < n; k++) {
            free(params[k]);
            free(results[k]);
        }
    }
    jk_spec_events_free(&list);
    return rc;
}

int jk_tool_event(int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "sign"))
        return jk_event_sign(argc - 1, argv + 1);
    if (argc >= 1 && (!strcmp(argv[0], "transfer") || !strcmp(argv[0], "report")))
        return jk_event_demo(argv[0], argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "show"))
        return jk_event_show(argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "submit"))
        return jk_event_submit(argc - 1, argv + 1);
    fputs("usage: jark event sign|transfer|report|show|submit ... (jark help)\n", stderr);
    return JK_EXIT_USAGE;
}
