/*
 * jark/rpc.h — JSON-RPC 2.0 over HTTP for clients and operators, Prometheus
 * metrics, and a small client (docs/rpc.md is the protocol's reference).
 *
 * Four parts, usable apart:
 *   1. The request parser (jk_rpc_parse): a pure function from an HTTP body
 *      to typed requests, each either valid or carrying its JSON-RPC error.
 *      No I/O, no globals; fuzzed (tests/fuzz/fuzz_rpc.c).
 *   2. The provider (jk_rpc_provider): a struct of function pointers + ctx
 *      that the node implements; the server answers every method from it.
 *   3. The metrics registry (jk_rpc_metrics): counters, gauges, histograms
 *      with fixed buckets, rendered in the Prometheus text format 0.0.4 in
 *      registration order.
 *   4. The server (jk_rpc_server, libmicrohttpd) serving POST / (JSON-RPC,
 *      single or batch) and GET /metrics; and the client (jk_rpc_call), a
 *      minimal HTTP/1.1 POST over a TCP socket.
 *
 * The rpc layer sits beside the node: it depends on the chain layer's block
 * decoder and trace type only, never on the node, consensus or transport.
 */
#ifndef JARK_RPC_H
#define JARK_RPC_H

#include "jark/chain.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ===========================================================================
 * Bounds (docs/rpc.md "Bounds")
 * ======================================================================== */
#define JK_RPC_MAX_BODY (4u << 20)     /* HTTP request body: 4 MiB (a 1 MiB blob is 2 MiB of hex) */
#define JK_RPC_MAX_CONNECTIONS 64      /* open HTTP connections; past it new ones wait in the backlog */
#define JK_RPC_MAX_CONNECTIONS_PER_ADDRESS 32 /* from one client address (all of loopback is one) */
#define JK_RPC_REQUEST_MS 10000u       /* a request must arrive whole within this (slow clients) */
#define JK_RPC_MAX_BATCH 64u           /* requests in one batch */
#define JK_RPC_MAX_DEPTH 16            /* JSON nesting */
#define JK_RPC_MAX_TRACES 64u          /* attestation traces on one submitted event */
#define JK_RPC_MAX_PATH 8u             /* slot path depth for state_slot */
#define JK_RPC_MAX_POOL 1000u          /* pool entries in one answer */
#define JK_RPC_DEFAULT_POOL 100u       /* ... when the request gives no limit */
#define JK_RPC_MAX_ID 256u             /* bytes of a string id */
#define JK_RPC_MAX_REPLY (256u << 20)  /* the client refuses a larger HTTP reply */
#define JK_RPC_DEFAULT_PORT 8645u      /* `jark rpc`'s default server port (127.0.0.1) */

/* JSON-RPC 2.0 error codes. The application band is -32000 .. -32099. */
#define JK_RPC_PARSE_ERROR (-32700)
#define JK_RPC_INVALID_REQUEST (-32600)
#define JK_RPC_METHOD_NOT_FOUND (-32601)
#define JK_RPC_INVALID_PARAMS (-32602)
#define JK_RPC_INTERNAL_ERROR (-32603)
#define JK_RPC_ERR_NOT_FOUND (-32001)     /* no such block / slot */
#define JK_RPC_ERR_UNAVAILABLE (-32002)   /* the node cannot answer now (starting, syncing) */
#define JK_RPC_ERR_TOO_LARGE (-32003)     /* the answer would exceed a bound */

/* ===========================================================================
 * 1. Requests
 * ======================================================================== */

typedef enum jk_rpc_method {
    JK_RPC_M_NONE = 0,        /* not a known method (the request carries an error) */
    JK_RPC_M_SUBMIT_EVENT,
    JK_RPC_M_STATUS,
    JK_RPC_M_BLOCK,
    JK_RPC_M_STATE_SLOT,
    JK_RPC_M_POOL,
} jk_rpc_method;

/* A request id as JSON-RPC allows it here: absent (a notification, no
 * answer), null, an integer (int64) or a string (≤ JK_RPC_MAX_ID bytes).
 * Fractional ids are refused (-32600). */
typedef enum jk_rpc_id_kind {
    JK_RPC_ID_ABSENT = 0,
    JK_RPC_ID_NULL,
    JK_RPC_ID_INT,
    JK_RPC_ID_STRING,
} jk_rpc_id_kind;

typedef struct jk_rpc_id {
    jk_rpc_id_kind kind;
    int64_t num;          /* JK_RPC_ID_INT */
    char *str;            /* JK_RPC_ID_STRING: NUL-terminated, owned by the request */
    size_t str_len;       /* may hold NUL bytes: str_len is the length */
} jk_rpc_id;

/* An event to submit: where it goes, its blob and the traces its submitter
 * made (attestation.md). Arrays owned by the request. */
typedef struct jk_rpc_event {
    jk_chain_endpoint endpoint;   /* 0 = transact, k + 1 = dispatch k */
    uint8_t *blob;                /* blob_len bytes (non-NULL even when empty) */
    size_t blob_len;              /* ≤ JK_CHAIN_MAX_BLOB */
    jk_chain_trace *traces;
    size_t trace_count;           /* ≤ JK_RPC_MAX_TRACES */
} jk_rpc_event;

/* block's parameter: a height or a block hash. */
typedef struct jk_rpc_block_query {
    bool by_hash;
    uint64_t height;
    jk_hash hash;
} jk_rpc_block_query;

/* One parsed request. When error_code is non-zero the request is refused
 * with that JSON-RPC code and error_msg (the parser's reason); method and
 * params are then meaningless. */
typedef struct jk_rpc_request {
    jk_rpc_id id;
    jk_rpc_method method;
    int error_code;                /* 0, or a JK_RPC_* code above */
    char error_msg[192];
    union {
        jk_rpc_event submit;                         /* submit_event */
        jk_rpc_block_query block;                    /* block */
        struct {
            uint32_t path[JK_RPC_MAX_PATH];          /* slot indexes, root cnode first */
            size_t depth;                            /* 1 .. JK_RPC_MAX_PATH */
        } slot;                                      /* state_slot */
        struct {
            uint32_t offset, limit;                  /* limit 1 .. JK_RPC_MAX_POOL */
        } pool;                                      /* pool */
    } params;
} jk_rpc_request;

/* A whole HTTP body: one request or a batch. When error_code is non-zero
 * the body as a whole was refused (-32700 not JSON, -32600 an empty or
 * oversize batch, or not an object/array) and count is 0: the answer is one
 * error object with id null. */
typedef struct jk_rpc_parsed {
    bool batch;                 /* the body was a JSON array */
    jk_rpc_request *requests;   /* count requests, in body order */
    size_t count;
    int error_code;
    char error_msg[192];
} jk_rpc_parsed;

/* Parse and validate an HTTP body as JSON-RPC 2.0 requests of the methods
 * above (docs/rpc.md). Pure: same bytes, same result; never reads past len;
 * any byte string is safe. Body-level failures (not JSON, trailing bytes,
 * nesting deeper than JK_RPC_MAX_DEPTH, an empty batch or one larger than
 * JK_RPC_MAX_BATCH, a body that is neither object nor array) set
 * out->error_code; a request-level failure (not an object, no "jsonrpc":
 * "2.0", no method, bad id, unknown method, bad params) sets that request's
 * error_code and leaves the others in the batch valid.
 * @param[in]  body, len  the untrusted bytes (body may be NULL when len is 0).
 * @param[out] out        filled; release with jk_rpc_parsed_free (also
 *                        after a body-level refusal).
 * @return JK_OK (even when the body or a request is refused: that is an
 *         answer, not a failure); JK_ERR_NOMEM (out then holds nothing). */
jk_err jk_rpc_parse(const uint8_t *body, size_t len, jk_rpc_parsed *out);
void jk_rpc_parsed_free(jk_rpc_parsed *p);

/* The method's wire name ("submit_event", ...), or NULL for JK_RPC_M_NONE. */
const char *jk_rpc_method_name(jk_rpc_method m);

/* Strict hex: an even number of [0-9a-fA-F], no prefix, no spaces.
 * @param[out] out  cap bytes; *out_len receives len / 2.
 * @return JK_OK; JK_ERR_PARSE (odd length, a non-hex character, or more
 *         than cap bytes; reason in diag). */
jk_err jk_rpc_hex_decode(const char *hex, size_t len, uint8_t *out, size_t cap, size_t *out_len,
                         jk_diag *diag);
/* Lowercase hex of bytes[0..len) into out (2 * len + 1 bytes, NUL-terminated). */
void jk_rpc_hex_encode(const uint8_t *bytes, size_t len, char *out);

/* ===========================================================================
 * 2. The provider: what the node implements
 *
 * Thread contract. In the server's threaded mode every provider function is
 * called on the server's one polling thread, one call at a time: never two
 * provider calls at once, but possibly at the same time as the node's own
 * threads, so the node locks what it shares (or copies a snapshot under its
 * lock). In the external-loop mode (jk_rpc_server_config.external_loop) the
 * provider is called only from inside jk_rpc_server_run, on the caller's
 * thread: a node that runs the server from its event loop needs no lock.
 *
 * Every function returns JK_OK or an error: JK_ERR_RPC_NOT_FOUND (or
 * JK_ERR_CAP_MISSING) answers -32001, JK_ERR_RPC_UNAVAILABLE -32002, any
 * other error -32603; the diag's message (may be left empty) goes into the
 * error's "data". Results are written into out-structs the server owns;
 * bytes go through the copying sinks below, so nothing the provider hands
 * over needs to outlive the call. A NULL function pointer makes its method
 * answer -32601 (the method does not exist on this server).
 * ======================================================================== */

/* A byte buffer the server owns; the provider fills it with jk_rpc_buf_set. */
typedef struct jk_rpc_buf {
    uint8_t *data;
    size_t len;
} jk_rpc_buf;

/* Copy bytes[0..len) into b (replacing what it held).
 * @return JK_OK; JK_ERR_NOMEM. */
jk_err jk_rpc_buf_set(jk_rpc_buf *b, const void *bytes, size_t len);

typedef struct jk_rpc_status {
    uint64_t height;            /* committed height (0 = genesis) */
    jk_hash head_hash;          /* that block's hash (the genesis hash at 0) */
    uint32_t round;             /* the consensus round at height + 1 */
    uint32_t peers;             /* connected peers */
    bool syncing;               /* catching up from peers */
    uint64_t pool_size;         /* events waiting in the pool */
    bool is_validator;          /* false: a full node (validator_index is null) */
    uint32_t validator_index;
    uint64_t max_peer_height;   /* the highest height a connected peer is known to
                                   have committed (0: none known); syncing is
                                   max_peer_height > height + 1 */
    uint64_t evidence;          /* equivocation evidence entries the node keeps */
} jk_rpc_status;

typedef struct jk_rpc_submit_result {
    bool admitted;              /* verify accepted it into the pool */
    jk_hash event_hash;         /* admitted: H of the event (the node's choice, documented there) */
    char reason[192];           /* refused: why, one line */
    bool has_code;              /* refused by verify's own FAULT (host call): */
    uint64_t code;              /* its reason code, answered as "code" */
} jk_rpc_submit_result;

typedef enum jk_rpc_slot_kind {
    JK_RPC_SLOT_EMPTY = 0,
    JK_RPC_SLOT_DATA,
    JK_RPC_SLOT_CNODE,
    JK_RPC_SLOT_IMAGE,
    JK_RPC_SLOT_INSTANCE,
} jk_rpc_slot_kind;

typedef struct jk_rpc_slot_value {
    jk_rpc_slot_kind kind;
    jk_rpc_buf value;           /* Data: its bytes; CNode, Image, Instance: the
                                   cap layer's root record (docs/cap.md
                                   "Encodings"; H(value) = cap_hash); empty: nothing */
    jk_hash cap_hash;           /* the cap's hash (zeros when empty) */
    uint64_t height;            /* the committed head it was read at */
    jk_hash block_hash;         /* ... and that block's hash */
} jk_rpc_slot_value;

/* One pool entry, borrowed for the duration of jk_rpc_pool_add. */
typedef struct jk_rpc_pool_entry {
    jk_chain_endpoint endpoint;
    const uint8_t *blob;
    size_t blob_len;
    const jk_chain_trace *traces;
    size_t trace_count;
} jk_rpc_pool_entry;

typedef struct jk_rpc_pool_sink jk_rpc_pool_sink;   /* the server's */

/* Append a copy of e to the answer. The server stops taking entries at the
 * request's limit, or when the answer's hex would pass its 64 MiB bound.
 * @return JK_OK; JK_ERR_NOMEM; JK_ERR_CAP_RANGE when the entry is not taken:
 *         the limit or the byte bound is reached, or e is over the chain's
 *         bounds (a blob over JK_CHAIN_MAX_BLOB): the provider should stop. */
jk_err jk_rpc_pool_add(jk_rpc_pool_sink *sink, const jk_rpc_pool_entry *e);

typedef struct jk_rpc_provider {
    void *ctx;
    jk_err (*status)(void *ctx, jk_rpc_status *out, jk_diag *diag);
    /* Verify ev as gossip would (handle_incoming_event); admitted or refused
     * is a result (out), not an error. */
    jk_err (*submit_event)(void *ctx, const jk_rpc_event *ev, jk_rpc_submit_result *out,
                           jk_diag *diag);
    /* The committed block (its canonical encoding) and its commit
     * certificate (its encoding; left empty when the node has none). */
    jk_err (*block)(void *ctx, const jk_rpc_block_query *q, jk_rpc_buf *block,
                    jk_rpc_buf *certificate, jk_diag *diag);
    /* The cap at path (path[0] a slot of the chain instance's root cnode,
     * then slots of CNodes nested in it) in the committed state. */
    jk_err (*state_slot)(void *ctx, const uint32_t *path, size_t depth, jk_rpc_slot_value *out,
                         jk_diag *diag);
    /* Pool entries from offset on, in the pool's order, through
     * jk_rpc_pool_add; *total receives the pool's whole size. */
    jk_err (*pool)(void *ctx, uint32_t offset, jk_rpc_pool_sink *sink, uint64_t *total,
                   jk_diag *diag);
    /* Optional (NULL: not called). Before a batch's requests are answered,
     * the well-formed submit_event requests among them (two or more), in
     * body order; each is then answered through submit_event as always,
     * and submit_batch_end (when set) follows the batch. A provider may
     * verify them together here; the answers must be those it gives
     * without the call (it is a hint, never a second submission). */
    void (*submit_batch)(void *ctx, const jk_rpc_event *const *events, size_t n);
    void (*submit_batch_end)(void *ctx);
} jk_rpc_provider;

/* Answer a parsed body from the provider: the JSON text to send back, or
 * NULL when nothing is to be sent (only notifications). Used by the server;
 * public so that tests and other transports can answer without HTTP.
 * Deterministic: same requests and provider answers, same bytes. The hex
 * in one answer (all of a batch) is bounded by 64 MiB: a block or value
 * past it is answered -32003, a pool answer stops early.
 * @param[out] out, out_len  malloc'd NUL-terminated JSON (caller frees), or NULL/0.
 * @return JK_OK; JK_ERR_NOMEM. */
jk_err jk_rpc_answer(const jk_rpc_provider *p, const jk_rpc_parsed *req, char **out,
                     size_t *out_len);

/* ===========================================================================
 * 3. Metrics (Prometheus text exposition format 0.0.4)
 *
 * A registry is safe to update from any thread (one mutex); rendering takes
 * the same lock, so a scrape sees each metric at one instant. Output is in
 * registration order, floats in their shortest round-trip form: two
 * registries with the same history render the same bytes.
 * ======================================================================== */

typedef struct jk_rpc_metrics jk_rpc_metrics;
typedef struct jk_rpc_metric jk_rpc_metric;   /* owned by its registry */

#define JK_RPC_MAX_BUCKETS 32u

/* @return JK_OK; JK_ERR_NOMEM. Free with jk_rpc_metrics_free (NULL is fine). */
jk_err jk_rpc_metrics_new(jk_rpc_metrics **out);
void jk_rpc_metrics_free(jk_rpc_metrics *m);

/* Register a metric. name matches [a-zA-Z_:][a-zA-Z0-9_:]* and is unique in
 * m; help is one line (no newline; may be NULL). A histogram's bounds are
 * finite, strictly increasing, 1 .. JK_RPC_MAX_BUCKETS of them (+Inf is
 * implicit). The handle lives as long as m.
 * @return JK_OK; JK_ERR_INVALID_ARG (a bad or duplicate name, bad bounds);
 *         JK_ERR_NOMEM. */
jk_err jk_rpc_metrics_counter(jk_rpc_metrics *m, const char *name, const char *help,
                              jk_rpc_metric **out);
jk_err jk_rpc_metrics_gauge(jk_rpc_metrics *m, const char *name, const char *help,
                            jk_rpc_metric **out);
jk_err jk_rpc_metrics_histogram(jk_rpc_metrics *m, const char *name, const char *help,
                                const double *bounds, size_t bound_count, jk_rpc_metric **out);

/* Counter += n; gauge = v; histogram observes v. Calling one on a metric of
 * another type is a programming error (ignored). NULL metric: no-op. */
void jk_rpc_metric_add(jk_rpc_metric *c, uint64_t n);
void jk_rpc_metric_set(jk_rpc_metric *g, double v);
void jk_rpc_metric_observe(jk_rpc_metric *h, double v);

/* Read back (tests, status): a counter's count or a gauge's value; a
 * histogram's observation count. */
double jk_rpc_metric_value(jk_rpc_metric *metric);

/* The exposition text. @param[out] out malloc'd, NUL-terminated (caller frees).
 * @return JK_OK; JK_ERR_NOMEM. */
jk_err jk_rpc_metrics_render(jk_rpc_metrics *m, char **out, size_t *out_len);

/* The node's metrics (issue 13), registered in this order by
 * jk_rpc_node_metrics_register (names in docs/rpc.md). */
typedef struct jk_rpc_node_metrics {
    jk_rpc_metric *height;             /* gauge   jark_height */
    jk_rpc_metric *round;              /* gauge   jark_round */
    jk_rpc_metric *rounds_per_height;  /* hist.   jark_rounds_per_height */
    jk_rpc_metric *peers;              /* gauge   jark_peers */
    jk_rpc_metric *pool_size;          /* gauge   jark_pool_size */
    jk_rpc_metric *events_admitted;    /* counter jark_events_admitted_total */
    jk_rpc_metric *events_refused;     /* counter jark_events_refused_total */
    jk_rpc_metric *verify_seconds;     /* hist.   jark_verify_seconds */
    jk_rpc_metric *apply_seconds;      /* hist.   jark_apply_seconds */
    jk_rpc_metric *finality_seconds;   /* hist.   jark_finality_seconds */
    jk_rpc_metric *ed25519_verifies;   /* counter jark_ed25519_verifies_total */
} jk_rpc_node_metrics;

/* @return JK_OK; JK_ERR_INVALID_ARG (already registered in m); JK_ERR_NOMEM. */
jk_err jk_rpc_node_metrics_register(jk_rpc_metrics *m, jk_rpc_node_metrics *out);

/* ===========================================================================
 * 4. Server and client
 * ======================================================================== */

typedef struct jk_rpc_server jk_rpc_server;

typedef struct jk_rpc_server_config {
    const char *host;        /* a numeric IPv4 address or "localhost"; NULL = 127.0.0.1 */
    uint16_t port;           /* 0 = an ephemeral port (jk_rpc_server_port tells which) */
    size_t max_body;         /* 0 = JK_RPC_MAX_BODY; larger bodies get HTTP 413 */
    jk_rpc_metrics *metrics; /* served at GET /metrics; NULL: 404 there. Borrowed:
                                must outlive the server */
    bool external_loop;      /* false: the server runs its own polling thread;
                                true: the caller drives it with jk_rpc_server_run */
    uint32_t request_ms;     /* a request (headers and body; either mode since
                                session 8) must arrive whole within this many ms of its
                                connection's start or of the last answer on it;
                                a connection still short of a whole request then
                                is answered 408 and closed, and counted
                                (jk_rpc_server_timed_out; jark_rpc_requests_
                                timed_out_total when metrics is set). 0 =
                                JK_RPC_REQUEST_MS. (MHD's own timeout, 30 s,
                                is of inactivity: a byte every 29 s kept a
                                connection for ever.) */
} jk_rpc_server_config;

/* Bind and start serving. The provider struct is copied; its ctx is borrowed
 * and must outlive the server.
 * @return JK_OK; JK_ERR_INVALID_ARG (a bad host); JK_ERR_IO (the address
 *         could not be bound, or libmicrohttpd failed to start; reason in
 *         diag); JK_ERR_NOMEM.
 * @param[out] out  stop with jk_rpc_server_stop. */
jk_err jk_rpc_server_start(const jk_rpc_server_config *cfg, const jk_rpc_provider *provider,
                           jk_rpc_server **out, jk_diag *diag);

/* The bound TCP port. */
uint16_t jk_rpc_server_port(const jk_rpc_server *s);

/* External-loop mode only. An fd (an epoll fd) that becomes readable when
 * the server has work: add it to the caller's poll/epoll set and call
 * jk_rpc_server_run when it fires. -1 in threaded mode. */
int jk_rpc_server_fd(const jk_rpc_server *s);

/* The HTTP connections open now (at most JK_RPC_MAX_CONNECTIONS; those past
 * JK_RPC_MAX_CONNECTIONS_PER_ADDRESS from one address are closed at once). */
unsigned jk_rpc_server_connections(const jk_rpc_server *s);

/* Connections closed because their request did not arrive whole within
 * request_ms (jk_rpc_server_config). */
uint64_t jk_rpc_server_timed_out(const jk_rpc_server *s);

/* External-loop mode only: the longest the caller may wait before calling
 * jk_rpc_server_run even without activity (idle connections time out from
 * there, and slow requests at their request_ms), in ms; -1 when there is
 * no deadline (or in threaded mode). 0 after
 * a run in which a connection closed: the server must run again at once to
 * listen again if it was at JK_RPC_MAX_CONNECTIONS (the listening socket is
 * out of jk_rpc_server_fd's set until then). */
int jk_rpc_server_timeout_ms(const jk_rpc_server *s);

/* External-loop mode only: do every pending piece of work without blocking
 * (accept, read, answer — the provider is called from here), then return.
 * @return JK_OK; JK_ERR_IO (libmicrohttpd failed); JK_ERR_INVALID_ARG in
 *         threaded mode. */
jk_err jk_rpc_server_run(jk_rpc_server *s);

/* Stop serving, close every connection, join the thread, free s (NULL is
 * fine). No provider call is in progress or starts after it returns. */
void jk_rpc_server_stop(jk_rpc_server *s);

/* Parse "HOST:PORT" (numeric IPv4 or "localhost"; port 0..65535).
 * @param[out] host  NUL-terminated, cap bytes. @return JK_OK; JK_ERR_PARSE. */
jk_err jk_rpc_addr_parse(const char *addr, char *host, size_t cap, uint16_t *port, jk_diag *diag);

/* One JSON-RPC call: POST {"jsonrpc":"2.0","id":1,"method":...,"params":...}
 * to http://host:port/ over a fresh TCP connection (HTTP/1.1, Connection:
 * close) and read the answer.
 * @param[in]  params_json  JSON text of the params (an object or array), or NULL.
 * @param[out] result_json  malloc'd JSON text of the "result" (caller frees),
 *                          when JK_OK.
 * @return JK_OK; JK_ERR_RPC_REMOTE: the server answered with a JSON-RPC
 *         error (code and message in diag; *result_json then holds the
 *         error object's JSON); JK_ERR_IO: no connection, or the connection
 *         failed; JK_ERR_RPC_HTTP: not an HTTP answer, a status other than
 *         200, a reply over JK_RPC_MAX_REPLY, or a body that is not a
 *         JSON-RPC response; JK_ERR_INVALID_ARG: params_json is not JSON;
 *         JK_ERR_NOMEM. */
jk_err jk_rpc_call(const char *host, uint16_t port, const char *method, const char *params_json,
                   char **result_json, jk_diag *diag);

/* A node's committed height: jk_rpc_call(host, port, "status") and its
 * "height" field. @return JK_OK; any error of jk_rpc_call; JK_ERR_RPC_HTTP
 * (a result without an integer "height"). */
jk_err jk_rpc_status_height(const char *host, uint16_t port, int64_t *height, jk_diag *diag);

/* Decode a raw HTTP reply (status line, headers, body) carrying the
 * JSON-RPC response to the request with integer id `id`. Pure; any bytes are
 * safe (tests/fuzz/fuzz_rpc_reply.c).
 * @param[out] result_json  malloc'd (caller frees): the "result" as JSON text
 *                          on JK_OK, the "error" object on JK_ERR_RPC_REMOTE;
 *                          NULL otherwise.
 * @return JK_OK (HTTP 200, our id, a result); JK_ERR_RPC_REMOTE (a
 *         well-formed error object, whatever the HTTP status; "code message:
 *         data" in diag); JK_ERR_RPC_HTTP (not HTTP/1.x, chunked, a short or
 *         malformed Content-Length, a body that is not exactly one strict
 *         JSON-RPC 2.0 response object, another id, a result with a status
 *         other than 200); JK_ERR_NOMEM. */
jk_err jk_rpc_reply_decode(const uint8_t *raw, size_t len, int64_t id, char **result_json, jk_diag *diag);

/* Decode a raw HTTP reply carrying the JSON-RPC responses to a batch of n
 * calls with integer ids 1..n (jk_rpc_call_batch). Pure; any bytes are safe
 * (tests/fuzz/fuzz_rpc_reply.c). Responses may come in any order; each id
 * must come exactly once.
 * @param[out] results  n slots: malloc'd (caller frees) result JSON for
 *                      errs[i] == JK_OK, the error object for
 *                      JK_ERR_RPC_REMOTE; all NULL unless JK_OK is returned.
 * @param[out] errs     n slots: each call's JK_OK or JK_ERR_RPC_REMOTE.
 * @return JK_OK (every call answered; look at errs); JK_ERR_RPC_REMOTE (the
 *         server refused the whole batch with one error object; "code
 *         message" in diag); JK_ERR_RPC_HTTP (anything else malformed: not
 *         HTTP/1.x, not an array of n responses, an id missing, unknown or
 *         twice, a response as jk_rpc_reply_decode refuses it);
 *         JK_ERR_NOMEM. */
jk_err jk_rpc_batch_reply_decode(const uint8_t *raw, size_t len, size_t n, char **results,
                                 jk_err *errs, jk_diag *diag);

/* n calls of one method in one JSON-RPC batch (one HTTP request), so that
 * a node takes them together (submit_event: the events meet in one
 * proposal, docs/rpc.md). params_json[i] as jk_rpc_call's, for call i
 * (id i + 1). n is 1..JK_RPC_MAX_BATCH.
 * @param[out] results, errs  as jk_rpc_batch_reply_decode's.
 * @return JK_OK (look at errs); JK_ERR_INVALID_ARG (n out of range, params
 *         not a JSON array or object); any error of jk_rpc_call's
 *         exchange; those of jk_rpc_batch_reply_decode. */
jk_err jk_rpc_call_batch(const char *host, uint16_t port, const char *method,
                         const char *const *params_json, size_t n, char **results, jk_err *errs,
                         jk_diag *diag);

/* The raw exchange under jk_rpc_call: send body (with the given HTTP method
 * and path) and return the HTTP status and the reply body.
 * @param[in] http_method  "POST" or "GET"; body may be NULL for GET.
 * @param[out] status      the HTTP status code.
 * @param[out] reply, reply_len  malloc'd NUL-terminated body (caller frees).
 * @return JK_OK; JK_ERR_IO; JK_ERR_RPC_HTTP; JK_ERR_NOMEM. */
jk_err jk_rpc_http(const char *host, uint16_t port, const char *http_method, const char *path,
                   const char *body, size_t body_len, int *status, char **reply,
                   size_t *reply_len, jk_diag *diag);

#endif
