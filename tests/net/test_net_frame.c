/*
 * test_net_frame.c — the frame parser, the token bucket, the ALPN string,
 * reason names, configuration refusals and send's argument checks.
 */
#include "../test.h"
#include "net_util.h"

#include "../../src/net/internal.h"

#include <stdlib.h>

static const uint32_t bounds[JK_NET_KINDS] = {10, 0, 0x01000000};

JK_TEST(test_net_frame_parse)
{
    uint8_t b[32] = {0};
    jk_net_kind kind = JK_NET_SYNC;
    uint32_t len = 99;
    jk_diag diag = {{0}};
    /* A whole frame: kind 0, 3 bytes. */
    jk_net_frame_header(JK_NET_CONSENSUS, 3, b);
    JK_CHECK_EQ(b[0], 0);
    JK_CHECK_EQ(b[1], 3);
    JK_CHECK_EQ(jk_net_frame_parse(b, 8, bounds, &kind, &len, &diag), JK_OK);
    JK_CHECK_EQ(kind, JK_NET_CONSENSUS);
    JK_CHECK_EQ(len, 3);
    /* Every shorter view needs more bytes. */
    for (size_t n = 0; n < 8; n++)
        JK_CHECK_EQ(jk_net_frame_parse(b, n, bounds, &kind, &len, NULL), JK_ERR_NET_INCOMPLETE);
    /* At the bound, and one over: refused from the header alone. */
    jk_net_frame_header(JK_NET_CONSENSUS, 10, b);
    JK_CHECK_EQ(jk_net_frame_parse(b, 15, bounds, &kind, &len, NULL), JK_OK);
    jk_net_frame_header(JK_NET_CONSENSUS, 11, b);
    JK_CHECK_EQ(jk_net_frame_parse(b, 5, bounds, &kind, &len, &diag), JK_ERR_NET_TOO_LARGE);
    JK_CHECK(strstr(diag.msg, "over its bound") != NULL);
    /* A kind bounded at 0 takes empty frames only. */
    jk_net_frame_header(JK_NET_EVENTS, 0, b);
    JK_CHECK_EQ(jk_net_frame_parse(b, 5, bounds, &kind, &len, NULL), JK_OK);
    JK_CHECK_EQ(len, 0);
    jk_net_frame_header(JK_NET_EVENTS, 1, b);
    JK_CHECK_EQ(jk_net_frame_parse(b, 6, bounds, &kind, &len, NULL), JK_ERR_NET_TOO_LARGE);
    /* The length is little-endian, all four bytes. */
    jk_net_frame_header(JK_NET_SYNC, 0x00ABCDEF, b);
    JK_CHECK_EQ(b[1], 0xEF);
    JK_CHECK_EQ(b[4], 0x00);
    JK_CHECK_EQ(jk_net_frame_parse(b, 5, bounds, &kind, &len, NULL), JK_ERR_NET_INCOMPLETE);
    b[4] = 0x01; /* 0x01ABCDEF > 0x01000000 */
    JK_CHECK_EQ(jk_net_frame_parse(b, 5, bounds, &kind, &len, NULL), JK_ERR_NET_TOO_LARGE);
    /* An unknown kind is refused from its first byte. */
    b[0] = JK_NET_KINDS;
    diag.msg[0] = 0;
    JK_CHECK_EQ(jk_net_frame_parse(b, 1, bounds, &kind, &len, &diag), JK_ERR_NET_FRAME);
    JK_CHECK(strstr(diag.msg, "unknown kind 3") != NULL);
    b[0] = 0xFF;
    JK_CHECK_EQ(jk_net_frame_parse(b, 5, bounds, &kind, &len, NULL), JK_ERR_NET_FRAME);
}

JK_TEST(test_net_bucket)
{
    jk_net_bucket b;
    jk_net_bucket_init(&b, 10, 100);
    JK_CHECK(jk_net_bucket_has(&b, 10));
    JK_CHECK(!jk_net_bucket_has(&b, 11));
    JK_CHECK(jk_net_bucket_take(&b, 7));
    JK_CHECK(!jk_net_bucket_take(&b, 4));
    JK_CHECK(jk_net_bucket_take(&b, 3));
    /* 3 tokens/s: 333 ms gives 0.999 of a token, 334 ms one. */
    jk_net_bucket_refill(&b, 3, 10, 433);
    JK_CHECK(!jk_net_bucket_has(&b, 1));
    jk_net_bucket_refill(&b, 3, 10, 434);
    JK_CHECK(jk_net_bucket_has(&b, 1));
    /* Time going backwards adds nothing; a long wait fills to the burst only. */
    uint64_t m = b.milli;
    jk_net_bucket_refill(&b, 3, 10, 50);
    JK_CHECK_EQ(b.milli, m);
    jk_net_bucket_refill(&b, 0xFFFFFFFFu, 10, UINT64_MAX);
    JK_CHECK_EQ(b.milli, 10000);
}

JK_TEST(test_net_alpn_and_reasons)
{
    uint8_t g[32];
    for (int i = 0; i < 32; i++)
        g[i] = (uint8_t)(0xA0 + i);
    char alpn[24];
    jk_net_alpn(g, alpn);
    JK_CHECK(strcmp(alpn, "jark/1/a0a1a2a3a4a5a6a7") == 0);
    for (int r = 0; r < JK_NET_REASONS; r++)
        JK_CHECK(strcmp(jk_net_reason_name((jk_net_reason)r), "unknown") != 0);
    JK_CHECK(strcmp(jk_net_reason_name(JK_NET_REASON_OVERSIZE), "oversize") == 0);
    JK_CHECK(strcmp(jk_net_reason_name((jk_net_reason)JK_NET_REASONS), "unknown") == 0);
}

JK_TEST(test_net_create_refusals)
{
    uint8_t sk[64], pk[32], g[32] = {1};
    tnode_key(1, sk, pk);
    jk_net_config cfg = {0};
    cfg.listen_host = "127.0.0.1";
    cfg.secret_key = sk;
    cfg.genesis_hash = g;
    tnode_limits(&cfg.limits);
    jk_net *net = (jk_net *)1;
    jk_diag diag = {{0}};

    jk_net_config c = cfg;
    c.secret_key = NULL;
    JK_CHECK_EQ(jk_net_create(&c, &net, &diag), JK_ERR_INVALID_ARG);
    JK_CHECK(net == NULL);
    c = cfg;
    c.listen_host = "localhost"; /* an address, not a name */
    JK_CHECK_EQ(jk_net_create(&c, &net, &diag), JK_ERR_INVALID_ARG);
    c = cfg;
    c.limits.max_frame[JK_NET_SYNC] = JK_NET_MAX_FRAME + 1;
    JK_CHECK_EQ(jk_net_create(&c, &net, &diag), JK_ERR_INVALID_ARG);
    c = cfg;
    c.limits.backoff_max_ms = c.limits.backoff_min_ms - 1;
    JK_CHECK_EQ(jk_net_create(&c, &net, &diag), JK_ERR_INVALID_ARG);
    /* A secret key whose public half is not its seed's. */
    uint8_t bad[64];
    memcpy(bad, sk, 64);
    bad[40] ^= 1;
    c = cfg;
    c.secret_key = bad;
    JK_CHECK_EQ(jk_net_create(&c, &net, &diag), JK_ERR_INVALID_ARG);
    JK_CHECK(strstr(diag.msg, "public half") != NULL);
    /* Our own key, or one key twice, as peers. */
    jk_net_peer_config peers[2] = {{.host = "127.0.0.1", .port = 9}, {.host = NULL}};
    memcpy(peers[0].key, pk, 32);
    c = cfg;
    c.peers = peers;
    c.peer_count = 1;
    JK_CHECK_EQ(jk_net_create(&c, &net, &diag), JK_ERR_INVALID_ARG);
    uint8_t sk2[64], pk2[32];
    tnode_key(2, sk2, pk2);
    memcpy(peers[0].key, pk2, 32);
    memcpy(peers[1].key, pk2, 32);
    c.peer_count = 2;
    JK_CHECK_EQ(jk_net_create(&c, &net, &diag), JK_ERR_INVALID_ARG);
    /* The port in use by another listener. */
    JK_REQUIRE(jk_net_create(&cfg, &net, &diag) == JK_OK);
    c = cfg;
    c.listen_port = jk_net_listen_port(net);
    jk_net *other = NULL;
    JK_CHECK_EQ(jk_net_create(&c, &other, &diag), JK_ERR_NET_LISTEN);
    JK_CHECK(other == NULL);

    /* send and broadcast check their arguments before anything else. */
    jk_net_peer_config pc = {.host = "127.0.0.1", .port = 1};
    memcpy(pc.key, pk2, 32);
    uint32_t idx;
    pc.host = NULL; /* the key first (the validator set)... */
    JK_CHECK_EQ(jk_net_add_peer(net, &pc, &idx), JK_OK);
    JK_CHECK_EQ(jk_net_add_peer(net, &pc, &idx), JK_ERR_INVALID_ARG);
    pc.host = "127.0.0.1"; /* ...then its address, once */
    uint32_t again = UINT32_MAX;
    JK_CHECK_EQ(jk_net_add_peer(net, &pc, &again), JK_OK);
    JK_CHECK_EQ(again, idx);
    JK_CHECK_EQ(jk_net_add_peer(net, &pc, &again), JK_ERR_INVALID_ARG);
    pc.port = 0;
    JK_CHECK_EQ(jk_net_add_peer(net, &pc, NULL), JK_ERR_INVALID_ARG);
    uint8_t x = 0;
    JK_CHECK_EQ(jk_net_send(net, idx, JK_NET_EVENTS, &x, 1), JK_ERR_NET_NOT_CONNECTED);
    JK_CHECK_EQ(jk_net_send(net, idx + 1, JK_NET_EVENTS, &x, 1), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_net_send(net, idx, (jk_net_kind)3, &x, 1), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_net_send(net, idx, JK_NET_EVENTS, NULL, 1), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_net_send(net, idx, JK_NET_EVENTS, &x, (2u << 20) + 1), JK_ERR_NET_TOO_LARGE);
    size_t sent = 9;
    JK_CHECK_EQ(jk_net_broadcast(net, JK_NET_EVENTS, &x, 1, &sent), JK_OK);
    JK_CHECK_EQ(sent, 0);
    JK_CHECK_EQ(jk_net_peer_count(net), 1);
    uint8_t k[32];
    JK_CHECK_EQ(jk_net_peer_key(net, idx, k), JK_OK);
    JK_CHECK_MEM(k, pk2, 32);
    JK_CHECK_EQ(jk_net_peer_key(net, idx + 1, k), JK_ERR_INVALID_ARG);
    jk_net_event ev;
    JK_CHECK(!jk_net_next_event(net, &ev));
    JK_CHECK(jk_net_take_data(net) == NULL); /* nothing delivered */

    /* A delivered frame's payload taken (session 8): the caller's, past
     * the next event and the transport's end; a peer event has none, and
     * a payload is taken once. */
    static const uint8_t one[3] = {1, 2, 3}, two[2] = {7, 8};
    jk_net_emit(net, JK_NET_EV_FRAME, idx, JK_NET_REASON_CLOSED, JK_NET_EVENTS, one, sizeof one);
    jk_net_emit(net, JK_NET_EV_FRAME, idx, JK_NET_REASON_CLOSED, JK_NET_CONSENSUS, two, sizeof two);
    jk_net_emit(net, JK_NET_EV_PEER_DOWN, idx, JK_NET_REASON_CLOSED, JK_NET_EVENTS, NULL, 0);
    /* (the EVENTS frame comes last: session 9, docs/network.md "The
     * queue's order") */
    JK_REQUIRE(jk_net_next_event(net, &ev) && ev.type == JK_NET_EV_FRAME && ev.len == sizeof two);
    uint8_t *b = jk_net_take_data(net);
    JK_CHECK(b == ev.data);
    JK_CHECK(jk_net_take_data(net) == NULL);
    JK_REQUIRE(jk_net_next_event(net, &ev) && ev.type == JK_NET_EV_PEER_DOWN);
    JK_CHECK(jk_net_take_data(net) == NULL);
    JK_REQUIRE(jk_net_next_event(net, &ev) && ev.len == sizeof one);
    uint8_t *a = jk_net_take_data(net);
    JK_CHECK(!jk_net_next_event(net, &ev));
    jk_net_destroy(net);
    JK_REQUIRE(a && b);
    JK_CHECK_MEM(a, one, sizeof one);
    JK_CHECK_MEM(b, two, sizeof two);
    free(a);
    free(b);
    jk_net_destroy(NULL);
}

JK_TEST(test_net_cert_deterministic)
{
    /* A node's certificate is a pure function of its key (no clock, no
     * randomness): two builds give the same DER bytes. */
    uint8_t sk[64], pk[32], g[32] = {0};
    tnode_key(9, sk, pk);
    jk_net_tls t1, t2;
    JK_REQUIRE(jk_net_tls_init(&t1, sk, g, NULL, NULL) == JK_OK);
    JK_REQUIRE(jk_net_tls_init(&t2, sk, g, NULL, NULL) == JK_OK);
    gnutls_datum_t d1 = {0}, d2 = {0};
    gnutls_x509_crt_t *l1 = NULL, *l2 = NULL;
    unsigned n1 = 0, n2 = 0;
    JK_REQUIRE(gnutls_certificate_get_x509_crt(t1.cred, 0, &l1, &n1) >= 0);
    JK_REQUIRE(gnutls_certificate_get_x509_crt(t2.cred, 0, &l2, &n2) >= 0);
    JK_CHECK_EQ(n1, 1);
    JK_CHECK(gnutls_x509_crt_export2(l1[0], GNUTLS_X509_FMT_DER, &d1) >= 0);
    JK_CHECK(gnutls_x509_crt_export2(l2[0], GNUTLS_X509_FMT_DER, &d2) >= 0);
    JK_CHECK(d1.size > 0 && d1.size == d2.size && memcmp(d1.data, d2.data, d1.size) == 0);
    /* And it carries the node key. */
    gnutls_ecc_curve_t curve;
    gnutls_datum_t x = {0};
    JK_CHECK(gnutls_x509_crt_get_pk_ecc_raw(l1[0], &curve, &x, NULL) >= 0);
    JK_CHECK(curve == GNUTLS_ECC_CURVE_ED25519 && x.size == 32 && memcmp(x.data, pk, 32) == 0);
    gnutls_free(x.data);
    gnutls_free(d1.data);
    gnutls_free(d2.data);
    for (unsigned i = 0; i < n1; i++)
        gnutls_x509_crt_deinit(l1[i]);
    for (unsigned i = 0; i < n2; i++)
        gnutls_x509_crt_deinit(l2[i]);
    gnutls_free(l1);
    gnutls_free(l2);
    jk_net_tls_free(&t1);
    jk_net_tls_free(&t2);
}

JK_TEST(test_net_peer_parse)
{
    jk_net_peer_config pc;
    char host[16];
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_net_peer_parse("127.0.0.1:9000", &pc, host, &diag), JK_OK);
    JK_CHECK(pc.any_key && pc.port == 9000 && strcmp(pc.host, "127.0.0.1") == 0);
    char text[100];
    snprintf(text, sizeof text, "10.1.2.3:65535@%s",
             "00112233445566778899aabbccddeeffFFEEDDCCBBAA99887766554433221100");
    JK_CHECK_EQ(jk_net_peer_parse(text, &pc, host, &diag), JK_OK);
    JK_CHECK(!pc.any_key && pc.port == 65535);
    JK_CHECK_EQ(pc.key[0], 0x00);
    JK_CHECK_EQ(pc.key[5], 0x55);
    JK_CHECK_EQ(pc.key[16], 0xFF);
    JK_CHECK_EQ(pc.key[31], 0x00);
    const char *bad[] = {
        "", "127.0.0.1", "127.0.0.1:", ":80", "localhost:80", "127.0.0.1:0", "127.0.0.1:080",
        "127.0.0.1:65536", "127.0.0.1:+80", "127.0.0.1: 80", "127.0.0.1:80 ", "1.2.3:80",
        "256.1.1.1:80", "127.0.0.1:80@", "127.0.0.1:80@abcd", "127.0.0.1:80#x",
        "0001.2.3.4:80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        diag.msg[0] = 0;
        JK_CHECK_EQ(jk_net_peer_parse(bad[i], &pc, host, &diag), JK_ERR_PARSE);
        JK_CHECK(diag.msg[0] != 0);
    }
    /* A key one digit short, one digit long, a non-hex digit. */
    snprintf(text, sizeof text, "1.2.3.4:5@%.63s", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    JK_CHECK_EQ(jk_net_peer_parse(text, &pc, host, NULL), JK_ERR_PARSE);
    snprintf(text, sizeof text, "1.2.3.4:5@%s0", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    JK_CHECK_EQ(jk_net_peer_parse(text, &pc, host, NULL), JK_ERR_PARSE);
    snprintf(text, sizeof text, "1.2.3.4:5@%s", "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    JK_CHECK_EQ(jk_net_peer_parse(text, &pc, host, NULL), JK_ERR_PARSE);
}
