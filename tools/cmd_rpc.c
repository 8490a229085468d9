/*
 * cmd_rpc.c — `jark rpc [--rpc HOST:PORT] METHOD [ARGS]`: a small JSON-RPC
 * client for a node's RPC server (docs/rpc.md). It turns the arguments into
 * the method's params, calls the library's client (jk_rpc_call) and prints
 * the result as indented JSON on stdout.
 *
 * Exit codes: 0 the result was printed; 1 the server answered with a
 * JSON-RPC error (code, message and data on stderr); 2 bad usage or no
 * answer (cannot connect, not HTTP, not JSON-RPC: README.md, "Exit codes").
 */
#include "commands.h"

#include "jark/rpc.h"

#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_rpc_usage(FILE *to)
{
    fprintf(to,
            "usage: jark rpc [--rpc HOST:PORT] METHOD [ARGS]   (default --rpc 127.0.0.1:%u)\n"
            "  status\n"
            "  pool [LIMIT [OFFSET]]\n"
            "  block HEIGHT|HASH\n"
            "  state_slot SLOT[/SLOT...]            e.g. 20/1 (or 20.1, as `jark chain show --slot`)\n"
            "  submit_event ENDPOINT BLOB [KEY:MSG_HASH:SIG]...\n"
            "                                       ENDPOINT transact or dispatch:K; bytes in hex\n"
            "  metrics                              the Prometheus text of GET /metrics\n"
            "  METHOD --params JSON                 any method, params given as JSON\n"
            "exit: 0 result printed, 1 JSON-RPC error, 2 usage or no answer\n",
            JK_RPC_DEFAULT_PORT);
}

static int jk_rpc_bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "jark rpc: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return -1;
}

static int jk_rpc_number(json_object *arr, const char *text)
{
    uint64_t v;
    if (jk_tool_parse_number(text, false, &v) != 0)
        return jk_rpc_bad("'%s' is not a number", text);
    return json_object_array_add(arr, json_object_new_uint64(v)) == 0 ? 0 : -1;
}

/* The params for METHOD ARGS... as a JSON array (positional, docs/rpc.md). */
static int jk_rpc_params(const char *method, int argc, char **argv, json_object *params)
{
    if (!strcmp(method, "status")) {
        return argc == 0 ? 0 : jk_rpc_bad("%s takes no arguments", method);
    }
    if (!strcmp(method, "pool")) {
        if (argc > 2)
            return jk_rpc_bad("%s takes [LIMIT [OFFSET]]", method);
        for (int i = 0; i < argc; i++)
            if (jk_rpc_number(params, argv[i]) != 0)
                return -1;
        return 0;
    }
    if (!strcmp(method, "block")) {
        if (argc != 1)
            return jk_rpc_bad("%s takes HEIGHT or HASH", method);
        if (strlen(argv[0]) == 2 * JK_HASH_SIZE)
            return json_object_array_add(params, json_object_new_string(argv[0])) == 0 ? 0 : -1;
        return jk_rpc_number(params, argv[0]);
    }
    if (!strcmp(method, "state_slot")) {
        if (argc != 1)
            return jk_rpc_bad("%s takes SLOT[/SLOT...]", method);
        json_object *path = json_object_new_array();
        if (!path || json_object_array_add(params, path) != 0) {
            json_object_put(path);
            return -1;
        }
        /* Slots are separated by '/' or '.' (`jark chain show --slot 20.3`
         * writes them with dots); each is a decimal number. An empty part
         * ("", "20//1", "20/") is refused here: strtok would skip it and
         * send another path than the one written. */
        const char *s = argv[0];
        if (!*s)
            return jk_rpc_bad("%s: an empty slot path", method);
        for (;;) {
            size_t n = strcspn(s, "/.");
            char part[24];
            if (n == 0 || n >= sizeof part || strspn(s, "0123456789") != n)
                return jk_rpc_bad("slot path '%s': decimal slots separated by '/' or '.', e.g. 20/1", argv[0]);
            memcpy(part, s, n);
            part[n] = '\0';
            if (jk_rpc_number(path, part) != 0)
                return -1;
            if (!s[n])
                return 0;
            s += n + 1;
        }
    }
    if (!strcmp(method, "submit_event")) {
        if (argc < 2)
            return jk_rpc_bad("%s takes ENDPOINT BLOB [KEY:MSG_HASH:SIG]...", method);
        /* The blob is the user's input: bad hex is a usage error (exit 2)
         * here, not a round trip that the server refuses (exit 1). */
        size_t hex = strlen(argv[1]);
        if (hex % 2 || strspn(argv[1], "0123456789abcdefABCDEF") != hex)
            return jk_rpc_bad("blob '%s': an even number of hex digits", argv[1]);
        json_object *traces = json_object_new_array();
        json_object_array_add(params, json_object_new_string(argv[0]));
        json_object_array_add(params, json_object_new_string(argv[1]));
        if (!traces || json_object_array_add(params, traces) != 0) {
            json_object_put(traces);
            return -1;
        }
        for (int i = 2; i < argc; i++) {
            const char *a = argv[i], *c1 = strchr(a, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2 || strchr(c2 + 1, ':'))
                return jk_rpc_bad("trace '%s': expected KEY:MSG_HASH:SIG", a);
            json_object *t = json_object_new_array();
            if (!t || json_object_array_add(traces, t) != 0) {
                json_object_put(t);
                return -1;
            }
            json_object_array_add(t, json_object_new_string_len(a, (int)(c1 - a)));
            json_object_array_add(t, json_object_new_string_len(c1 + 1, (int)(c2 - c1 - 1)));
            json_object_array_add(t, json_object_new_string(c2 + 1));
        }
        return 0;
    }
    return argc == 0 ? 0 : jk_rpc_bad("unknown method '%s': give its params with --params JSON", method);
}

static int jk_rpc_metrics_cmd(const char *host, uint16_t port)
{
    int status;
    char *reply = NULL;
    size_t len;
    jk_diag d = {{0}};
    jk_err err = jk_rpc_http(host, port, "GET", "/metrics", NULL, 0, &status, &reply, &len, &d);
    if (err != JK_OK) {
        fprintf(stderr, "jark rpc: %s\n", d.msg[0] ? d.msg : jk_strerror(err));
        return 2; /* no answer: an input error (the address), README "Exit codes" */
    }
    if (status != 200) {
        fprintf(stderr, "jark rpc: GET /metrics: HTTP %d\n", status);
        free(reply);
        return 2; /* no answer: an input error (the address), README "Exit codes" */
    }
    fwrite(reply, 1, len, stdout);
    free(reply);
    return 0;
}

int jk_tool_rpc(int argc, char **argv)
{
    char host[64] = "127.0.0.1";
    uint16_t port = JK_RPC_DEFAULT_PORT;
    const char *raw_params = NULL;
    int i = 0;
    if (argc > 0 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))) {
        jk_rpc_usage(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[0], "--rpc")) {
        jk_diag d = {{0}};
        if (jk_rpc_addr_parse(argv[1], host, sizeof host, &port, &d) != JK_OK) {
            fprintf(stderr, "jark rpc: --rpc %s\n", d.msg);
            return 2;
        }
        i = 2;
    }
    if (i >= argc) {
        jk_rpc_usage(stderr);
        return 2;
    }
    const char *method = argv[i++];
    if (!strcmp(method, "--rpc")) { /* a second --rpc, or one after the method */
        fprintf(stderr, "jark rpc: --rpc given twice (it comes once, before METHOD)\n");
        return 2;
    }
    if (argc - i == 2 && !strcmp(argv[i], "--params")) {
        raw_params = argv[i + 1];
        i = argc;
        /* json-c keeps one of two equal keys and clamps huge integers without
         * a word; the server would then see other params than the ones
         * written. Refuse them as every JSON reader of jark does. */
        jk_diag jd = {{0}};
        json_object *parsed = json_tokener_parse(raw_params);
        jk_err jerr = parsed ? jk_json_check(raw_params, strlen(raw_params), true, &jd) : JK_OK;
        json_object_put(parsed);
        if (jerr != JK_OK) {
            fprintf(stderr, "jark rpc: --params: %s\n", jd.msg[0] ? jd.msg : jk_strerror(jerr));
            return 2;
        }
    }
    if (!strcmp(method, "metrics"))
        return i == argc ? jk_rpc_metrics_cmd(host, port) : (jk_rpc_usage(stderr), 2);

    char *params_text = NULL;
    if (!raw_params) {
        json_object *params = json_object_new_array();
        if (!params || jk_rpc_params(method, argc - i, argv + i, params) != 0) {
            json_object_put(params);
            return 2;
        }
        if (json_object_array_length(params))
            params_text = strdup(json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN));
        json_object_put(params);
    }
    char *result = NULL;
    jk_diag d = {{0}};
    jk_err err = jk_rpc_call(host, port, method, raw_params ? raw_params : params_text, &result, &d);
    free(params_text);
    if (err == JK_ERR_INVALID_ARG) {
        fprintf(stderr, "jark rpc: --params: %s\n", d.msg);
        return 2;
    }
    if (err == JK_ERR_RPC_REMOTE) {
        fprintf(stderr, "jark rpc: %s: error %s\n", method, d.msg);
        free(result);
        return 1;
    }
    if (err != JK_OK) {
        fprintf(stderr, "jark rpc: %s:%u: %s\n", host, (unsigned)port, d.msg[0] ? d.msg : jk_strerror(err));
        return 2; /* no answer: an input error (the address), README "Exit codes" */
    }
    json_object *o = json_tokener_parse(result);
    puts(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE)
           : result);
    json_object_put(o);
    free(result);
    return 0;
}
