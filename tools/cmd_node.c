/*
 * cmd_node.c — `jark node`: one node on the network (docs/node.md,
 * "The node on a network"): a validator when --key holds a genesis
 * validator's key, otherwise a full node (no --key: a fresh node key for
 * this run). Parses arguments, opens the chain app and the node driver from
 * the library, runs until SIGINT/SIGTERM, prints.
 */
#include "commands.h"

#include "jark/devnet.h"
#include "jark/node.h"
#include "jark/spec.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JK_NODE_MAX_PEERS 64

static const char jk_node_usage[] =
    "usage: jark node --spec SPEC [--key FILE] --dir DIR --listen HOST:PORT [--peer HOST:PORT[@KEY]]...\n"
    "                 [--rpc HOST:PORT] [--validator HEX]... [--demo-seed S] [--demo-accounts A] [--max-height N]\n"
    "                 [--tcp] [-v [-v]] [--engine interp|jit]\n"
    "  --key FILE       the node key; a genesis validator's makes a validator, any other\n"
    "                   (or none: a fresh key for this run) a full node (syncs, checks\n"
    "                   certificates, relays events, serves RPC)\n"
    "  --demo-seed S    the demo chain's genesis state for seed S (accounts funded, as jark devnet's)\n"
    "  --demo-accounts A  with --demo-seed: A funded accounts (default 64; jark testnet --accounts)\n"
    "  --validator HEX  a validator's public key, in order, replacing the spec's list\n"
    "                   (what `jark testnet` passes); every node of a chain gives the same list\n"
    "  --tcp            TLS over TCP instead of QUIC (every node of a network the same)\n"
    "  --quic-cc NAME   QUIC congestion control: cubic (default), reno, bbr, bbr2; the\n"
    "                   environment's JARK_QUIC_CC when not given (jark testnet's nodes)\n"
    "  --max-height N   as a validator, propose no block above height N (the chain stops\n"
    "                   there when every validator says so: tests, benchmarks)\n"
    "  --verify-threads T  verify a loop turn's gossiped events on T threads (default 0:\n"
    "                   the node's own; the outcome is the same for any T)\n"
    "  --empty-blocks-interval MS  with nothing to propose, wait up to MS ms (or an event)\n"
    "                   before a height's first round (default 1000: one empty block a\n"
    "                   second when idle; 0: empty blocks back to back)\n"
    "  --max-block-events N  a block proposed here takes at most N events (default 1024;\n"
    "                   0: the chain's own bounds only)\n"
    "  --checkpoint-every K  write the state to the store every K heights (default 32;\n"
    "                   1: every height); the blocks every height; a restart re-applies\n"
    "                   the blocks after the last checkpoint; a clean stop writes one\n"
    "  --rpc-max-body BYTES  an RPC request's body at most BYTES (default 4 MiB; larger: 413)\n"
    "  --rpc-request-ms MS  an RPC request must arrive whole within MS ms (default 10000;\n"
    "                   slower: 408 and closed)\n"
    "  --peer-verify-gas GAS  a peer's relayed events may spend GAS verify gas a second\n"
    "                   (default 1000000000); past it they are refused unverified\n"
    "  --peer-fault-gas GAS  a peer whose refusals that are its fault (bad signatures,\n"
    "                   verify out of gas) pass GAS gas is disconnected (default 32000000)\n";

static volatile int jk_node_stop;

static void jk_node_on_signal(int sig)
{
    (void)sig;
    jk_node_stop = 1;
}

static void jk_node_print(void *ctx, int level, const char *line)
{
    (void)ctx;
    (void)level;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    printf("%02d:%02d:%02d.%03ld %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, line);
    fflush(stdout);
}

static int jk_hex_key(const char *s, uint8_t out[32])
{
    if (strlen(s) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        char b[3] = {s[2 * i], s[2 * i + 1], 0};
        char *end;
        if (!strchr("0123456789abcdefABCDEF", b[0]) || !strchr("0123456789abcdefABCDEF", b[1]))
            return -1;
        out[i] = (uint8_t)strtoul(b, &end, 16);
    }
    return 0;
}

static int jk_addr(const char *text, char host[64], uint16_t *port)
{
    jk_diag d;
    return jk_rpc_addr_parse(text, host, 64, port, &d) == JK_OK ? 0 : -1;
}

int jk_tool_node(int argc, char **argv)
{
    const char *spec_path = NULL, *key_path = NULL, *dir = NULL, *listen = NULL, *rpc = NULL;
    static jk_net_peer_config peers[JK_NODE_MAX_PEERS + JK_CONS_MAX_VALIDATORS];
    static char peer_hosts[JK_NODE_MAX_PEERS][16];
    static uint8_t vkeys[JK_CONS_MAX_VALIDATORS][32];
    size_t npeers = 0, nvkeys = 0;
    int verbose = 0;
    bool tcp = false, demo = false;
    jk_net_quic_cc quic_cc = JK_NET_CC_CUBIC;
    const char *cc_name = getenv("JARK_QUIC_CC");
    uint64_t demo_seed = 0, demo_accounts = 0, max_height = 0, verify_threads = 0;
    uint64_t empty_ms = JK_NODE_EMPTY_BLOCKS_MS, max_block_events = JK_NODE_MAX_BLOCK_EVENTS;
    uint64_t checkpoint_every = JK_NODE_CHECKPOINT_EVERY;
    uint64_t rpc_max_body = 0, rpc_request_ms = 0; /* 0: the server's defaults */
    uint64_t peer_verify_gas = 0, peer_fault_gas = 0; /* 0: the node's defaults */
    jk_diag diag = {{0}};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "-v"))
            verbose++;
        else if (!strcmp(a, "--engine")) {
            if (jk_tool_engine_flag(argc, argv, &i) != 1)
                return JK_EXIT_USAGE;
        } else if (!strcmp(a, "--tcp"))
            tcp = true;
        else if (has && !strcmp(a, "--quic-cc"))
            cc_name = argv[++i];
        else if (has && !strcmp(a, "--demo-seed")) {
            if (jk_tool_parse_number(argv[++i], false, &demo_seed) != 0) {
                fprintf(stderr, "jark node: --demo-seed: a number\n");
                return JK_EXIT_USAGE;
            }
            demo = true;
        } else if (has && !strcmp(a, "--demo-accounts")) {
            if (jk_tool_parse_number(argv[++i], false, &demo_accounts) != 0 || demo_accounts < 2 ||
                demo_accounts > JK_DEVNET_DEMO_MAX_ACCOUNTS) {
                fprintf(stderr, "jark node: --demo-accounts 2..%u\n", JK_DEVNET_DEMO_MAX_ACCOUNTS);
                return JK_EXIT_USAGE;
            }
        } else if (has && !strcmp(a, "--max-height")) {
            if (jk_tool_parse_number(argv[++i], false, &max_height) != 0 || max_height == 0) {
                fprintf(stderr, "jark node: --max-height: a number above 0\n");
                return JK_EXIT_USAGE;
            }
        } else if (has && !strcmp(a, "--verify-threads")) {
            if (jk_tool_parse_number(argv[++i], false, &verify_threads) != 0 || verify_threads > 64) {
                fprintf(stderr, "jark node: --verify-threads 0..64\n");
                return JK_EXIT_USAGE;
            }
        } else if (has && !strcmp(a, "--empty-blocks-interval")) {
            if (jk_tool_parse_number(argv[++i], false, &empty_ms) != 0 || empty_ms > 3600000) {
                fprintf(stderr, "jark node: --empty-blocks-interval 0..3600000 (ms)\n");
                return JK_EXIT_USAGE;
            }
        } else if (has && !strcmp(a, "--max-block-events")) {
            if (jk_tool_parse_number(argv[++i], false, &max_block_events) != 0 ||
                max_block_events > 1000000) {
                fprintf(stderr, "jark node: --max-block-events 0..1000000\n");
                return JK_EXIT_USAGE;
            }
        } else if (has && !strcmp(a, "--checkpoint-every")) {
            if (jk_tool_parse_number(argv[++i], false, &checkpoint_every) != 0 || checkpoint_every < 1 ||
                checkpoint_every > 1000000) {
                fprintf(stderr, "jark node: --checkpoint-every 1..1000000 (heights)\n");
                return JK_EXIT_USAGE;
            }
        } else if (has && !strcmp(a, "--rpc-max-body")) {
            if (jk_tool_parse_number(argv[++i], false, &rpc_max_body) != 0 || rpc_max_body < 1024 ||
                rpc_max_body > (1u << 30)) {
                fprintf(stderr, "jark node: --rpc-max-body 1024..1073741824 (bytes)\n");
                return JK_EXIT_USAGE;
            }
        } else if (has && (!strcmp(a, "--peer-verify-gas") || !strcmp(a, "--peer-fault-gas"))) {
            uint64_t *to = !strcmp(a, "--peer-verify-gas") ? &peer_verify_gas : &peer_fault_gas;
            if (jk_tool_parse_number(argv[++i], false, to) != 0 || *to < 1 || *to > (1ull << 50)) {
                fprintf(stderr, "jark node: %s 1..%llu (gas)\n", a, 1ull << 50);
                return JK_EXIT_USAGE;
            }
        } else if (has && !strcmp(a, "--rpc-request-ms")) {
            if (jk_tool_parse_number(argv[++i], false, &rpc_request_ms) != 0 || rpc_request_ms < 1 ||
                rpc_request_ms > 3600000) {
                fprintf(stderr, "jark node: --rpc-request-ms 1..3600000 (ms)\n");
                return JK_EXIT_USAGE;
            }
        } else if (has && (!strcmp(a, "--spec") || !strcmp(a, "--key") || !strcmp(a, "--dir") ||
                           !strcmp(a, "--listen") || !strcmp(a, "--rpc"))) {
            const char **slot = !strcmp(a, "--spec")  ? &spec_path
                                : !strcmp(a, "--key") ? &key_path
                                : !strcmp(a, "--dir") ? &dir
                                : !strcmp(a, "--listen") ? &listen
                                                         : &rpc;
            if (jk_tool_once("node", a, slot, argv[++i]) != 0)
                return JK_EXIT_USAGE;
        } else if (has && !strcmp(a, "--peer") && npeers < JK_NODE_MAX_PEERS) {
            if (jk_net_peer_parse(argv[++i], &peers[npeers], peer_hosts[npeers], &diag) != JK_OK) {
                fprintf(stderr, "jark node: --peer %s: %s\n", argv[i], diag.msg);
                return JK_EXIT_USAGE;
            }
            npeers++;
        } else if (has && !strcmp(a, "--validator") && nvkeys < JK_CONS_MAX_VALIDATORS) {
            if (jk_hex_key(argv[++i], vkeys[nvkeys]) != 0) {
                fprintf(stderr, "jark node: --validator %s: not 64 hex digits\n", argv[i]);
                return JK_EXIT_USAGE;
            }
            nvkeys++;
        } else {
            fprintf(stderr, "jark node: unknown or incomplete option %s\n%s", a, jk_node_usage);
            return JK_EXIT_USAGE;
        }
    }
    if (cc_name && cc_name[0] && jk_net_quic_cc_parse(cc_name, &quic_cc) != JK_OK) {
        fprintf(stderr, "jark node: --quic-cc (or JARK_QUIC_CC): cubic, reno, bbr or bbr2, not %s\n",
                cc_name);
        return JK_EXIT_USAGE;
    }
    if (demo_accounts && !demo) {
        fprintf(stderr, "jark node: --demo-accounts needs --demo-seed (the demo workload it sizes)\n");
        return JK_EXIT_USAGE;
    }
    char lhost[64], rhost[64];
    uint16_t lport = 0, rport = 0;
    if (!spec_path || !dir || !listen || jk_addr(listen, lhost, &lport) != 0 ||
        (rpc && jk_addr(rpc, rhost, &rport) != 0)) {
        fputs(jk_node_usage, stderr);
        return JK_EXIT_USAGE;
    }

    jk_spec_key key;
    jk_spec_file spec;
    if (key_path ? jk_spec_key_load(key_path, &key, &diag) != JK_OK
                 : jk_spec_key_generate(&key) != JK_OK) {
        fprintf(stderr, "jark node: %s\n", key_path ? diag.msg : "cannot make a node key");
        return JK_EXIT_USAGE;
    }
    if (jk_spec_file_load(spec_path, NULL, &spec, &diag) != JK_OK) {
        fprintf(stderr, "jark node: %s\n", diag.msg);
        jk_crypto_wipe(&key, sizeof key);
        return JK_EXIT_USAGE;
    }
    if (nvkeys) {
        spec.spec.validators = (const uint8_t(*)[JK_ED25519_PUBLIC_SIZE])vkeys;
        spec.spec.validator_count = (uint32_t)nvkeys;
    }
    jk_chain_genesis genesis;
    jk_node_chain_app *app = NULL;
    jk_node *node = NULL;
    int rc = JK_EXIT_OK;
    jk_devnet_demo *workload = NULL;
    jk_err err = !demo           ? JK_OK
                 : demo_accounts ? jk_devnet_demo_new_accounts(demo_seed, (uint32_t)demo_accounts, &workload)
                                 : jk_devnet_demo_new(demo_seed, &workload);
    if (workload)
        jk_devnet_demo_state(workload, &spec.spec);
    /* One exit rule (docs/library.md): the chain's own programs refusing
     * their genesis (a probe that faults) is "the chain said no", 1, as from
     * `jark chain genesis` and `jark devnet`; the demo state failing is 2. */
    int genesis_rc = JK_EXIT_USAGE;
    if (err == JK_OK) {
        genesis_rc = JK_EXIT_REFUSED;
        err = jk_chain_genesis_build(&spec.spec, &genesis, &diag);
    }
    jk_spec_file_free(&spec);
    jk_devnet_demo_free(workload);
    if (err != JK_OK) {
        fprintf(stderr, "jark node: genesis: %s\n", diag.msg[0] ? diag.msg : jk_strerror(err));
        jk_crypto_wipe(&key, sizeof key);
        return genesis_rc;
    }
    /* Without --key the chain app has no key at all (a full node's); the
     * fresh key only names this node to its peers. */
    err = jk_node_chain_app_open(dir, key_path ? key.secret : NULL, &genesis, &app, &diag);
    if (err == JK_OK && max_height)
        jk_node_chain_app_set_height_limit(app, max_height);
    if (err == JK_OK)
        jk_node_chain_app_set_verify_threads(app, (unsigned)verify_threads);
    if (err == JK_OK) {
        jk_node_chain_app_set_max_block_events(app, (size_t)max_block_events);
        jk_node_chain_app_validator(app)->checkpoint_every = (uint32_t)checkpoint_every;
    }
    if (err == JK_OK && verbose >= 2)
        jk_node_chain_app_set_debug(app, stderr); /* -v -v: the chain programs' debug stream too */
    static jk_cons_valset vs;
    uint32_t self = UINT32_MAX;
    if (err == JK_OK) {
        size_t addr_only = npeers;
        jk_node_chain_app_valset(app, &vs);
        /* The validators' keys without an address: an address-only --peer
         * moves to the key it proves in its handshake. */
        for (uint32_t v = 0; v < vs.count; v++) {
            if (memcmp(vs.keys[v], key.public_key, 32) == 0)
                continue;
            peers[npeers] = (jk_net_peer_config){.host = NULL};
            memcpy(peers[npeers].key, vs.keys[v], 32);
            npeers++;
        }
        /* Address-only peers must come after the keys they may move to. */
        jk_net_peer_config tmp[JK_NODE_MAX_PEERS + JK_CONS_MAX_VALIDATORS];
        size_t k = 0;
        for (size_t p = addr_only; p < npeers; p++)
            tmp[k++] = peers[p];
        for (size_t p = 0; p < addr_only; p++)
            tmp[k++] = peers[p];
        memcpy(peers, tmp, npeers * sizeof *peers);

        /* A key outside the validator set: a full node (no machine). */
        if (!jk_node_chain_app_is_validator(app, &self))
            self = JK_NODE_FULL;
        jk_node_archive *archive = jk_node_chain_app_archive(app);
        jk_node_config cfg = {
            .net = {.listen_host = lhost, .listen_port = lport, .peers = peers,
                    .peer_count = npeers, .transport = tcp ? JK_NET_TLS_TCP : JK_NET_QUIC,
                    .quic_cc = quic_cc},
            .secret_key = key.secret,
            .genesis = genesis.genesis_hash,
            .valset = &vs,
            .self = self,
            .timeouts = {.propose_ms = 1000, .propose_delta_ms = 500, .prevote_ms = 500,
                         .prevote_delta_ms = 250, .precommit_ms = 500, .precommit_delta_ms = 250,
                         .tick_ms = 1000, .empty_blocks_ms = (uint32_t)empty_ms},
            .archive = archive,
            .height = jk_node_archive_top(archive) + 1,
            .chain = app,
            .rpc = rpc != NULL,
            .rpc_host = rpc ? rhost : NULL,
            .rpc_port = rport,
            .rpc_max_body = (size_t)rpc_max_body,
            .rpc_request_ms = (uint32_t)rpc_request_ms,
            .peer_verify_gas_per_s = peer_verify_gas,
            .peer_fault_gas = peer_fault_gas,
            .log = jk_node_print,
            .verbose = verbose,
        };
        jk_net_limits_default(&cfg.net.limits);
        cfg.net.limits.backoff_max_ms = 2000;
        jk_node_chain_app_bind(app, &cfg.app);
        err = jk_node_new(&cfg, &node, &diag);
    }
    jk_crypto_wipe(&key, sizeof key);
    if (err != JK_OK) {
        fprintf(stderr, "jark node: %s\n", diag.msg[0] ? diag.msg : jk_strerror(err));
        rc = JK_EXIT_USAGE;
    } else {
        struct sigaction sa = {.sa_handler = jk_node_on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        char line[320], mode[64];
        if (self == JK_NODE_FULL)
            snprintf(mode, sizeof mode, "full node (%s; %u validators)",
                     key_path ? "the key is no validator's" : "no --key", vs.count);
        else
            snprintf(mode, sizeof mode, "validator %u of %u", self, vs.count);
        jk_node_validator *nv = jk_node_chain_app_validator(app);
        snprintf(line, sizeof line, "node: %s at height %llu (checkpoint %llu, %llu blocks re-applied), "
                 "listening on %s:%u, rpc %s:%u", mode,
                 (unsigned long long)jk_node_archive_top(jk_node_chain_app_archive(app)),
                 (unsigned long long)nv->checkpoint_height, (unsigned long long)nv->replayed, lhost,
                 jk_node_listen_port(node), rpc ? rhost : "-", jk_node_rpc_port(node));
        jk_node_print(NULL, 0, line);
        err = jk_node_run(node, &jk_node_stop, 0, &diag);
        if (err != JK_OK) {
            fprintf(stderr, "jark node: %s\n", diag.msg[0] ? diag.msg : jk_strerror(err));
            rc = JK_EXIT_REFUSED;
        } else {
            jk_node_print(NULL, 0, "node: stopped; the store is committed");
        }
    }
    jk_node_free(node);
    jk_node_chain_app_close(app);
    jk_cap_release(genesis.chain);
    return rc;
}
