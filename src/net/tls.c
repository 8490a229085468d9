/*
 * tls.c — a node's TLS identity: a self-signed X.509 certificate over its
 * Ed25519 node key, TLS 1.3 sessions with the chain's ALPN protocol, and the
 * peer key read back from the peer's certificate.
 *
 * Why a self-signed certificate is enough: nobody checks the certificate's
 * signature chain. What authenticates the peer is TLS 1.3's CertificateVerify,
 * a signature over the handshake transcript by the certificate's key; so the
 * key in the certificate is the key that holds the private half, and that key
 * is then compared with the expected node key (net.c). The certificate's
 * other fields are fixed (serial from the key, validity 2020 .. no expiry) so
 * that a node's certificate is a pure function of its key.
 */
#include "internal.h"

#include "jark/crypto.h"

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <stdio.h>
#include <string.h>

/* TLS 1.3 only; GnuTLS's NORMAL set includes Ed25519 signatures. */
#define JK_NET_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3"
/* QUIC forbids TLS 1.3's middlebox compatibility mode (RFC 9001 §8.4). */
#define JK_NET_PRIORITY_QUIC JK_NET_PRIORITY ":%DISABLE_TLS13_COMPAT_MODE"
/* 2020-01-01T00:00:00Z: any fixed time in the past. */
#define JK_NET_CERT_NOT_BEFORE ((time_t)1577836800)

void jk_net_alpn(const uint8_t genesis_hash[32], char out[24])
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(JK_NET_ALPN_PREFIX);
    memcpy(out, JK_NET_ALPN_PREFIX, n);
    for (size_t i = 0; i < 8; i++) {
        out[n + 2 * i] = hex[genesis_hash[i] >> 4];
        out[n + 2 * i + 1] = hex[genesis_hash[i] & 15];
    }
    out[n + 16] = '\0';
}

static jk_err jk_net_tls_fail(jk_diag *diag, const char *what, int rc)
{
    return jk_diag_set(diag, JK_ERR_NET_TLS, "net: %s: %s", what, gnutls_strerror(rc));
}

/* The certificate and key, made from the seed and checked against the public
 * half of the secret key. */
static jk_err jk_net_tls_cert(const uint8_t secret_key[JK_NET_SECRET_SIZE],
                              gnutls_x509_crt_t *crt_out, gnutls_x509_privkey_t *key_out,
                              jk_diag *diag)
{
    uint8_t pub[JK_ED25519_PUBLIC_SIZE], sk[JK_ED25519_SECRET_SIZE];
    jk_err err = jk_crypto_ed25519_keypair_from_seed(secret_key, pub, sk);
    jk_crypto_wipe(sk, sizeof sk);
    if (err != JK_OK)
        return jk_diag_set(diag, err, "net: cannot derive the node key");
    if (memcmp(pub, secret_key + 32, 32) != 0)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG,
                           "net: the secret key's public half does not match its seed");

    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    int rc = gnutls_x509_privkey_init(&key);
    if (rc < 0)
        return jk_net_tls_fail(diag, "privkey_init", rc);
    gnutls_datum_t x = {pub, 32};
    gnutls_datum_t k = {(unsigned char *)secret_key, 32};
    rc = gnutls_x509_privkey_import_ecc_raw(key, GNUTLS_ECC_CURVE_ED25519, &x, NULL, &k);
    if (rc < 0) {
        err = jk_net_tls_fail(diag, "import Ed25519 key", rc);
        goto fail;
    }
    if ((rc = gnutls_x509_crt_init(&crt)) < 0) {
        err = jk_net_tls_fail(diag, "crt_init", rc);
        goto fail;
    }
    uint8_t serial[8];
    memcpy(serial, pub, sizeof serial);
    serial[0] &= 0x7f; /* a positive INTEGER */
    serial[0] |= 0x01; /* and no leading zero byte */
    const char *bad = NULL;
    if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
        (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) < 0 ||
        (rc = gnutls_x509_crt_set_activation_time(crt, JK_NET_CERT_NOT_BEFORE)) < 0 ||
        (rc = gnutls_x509_crt_set_expiration_time(crt, GNUTLS_X509_NO_WELL_DEFINED_EXPIRATION)) < 0 ||
        (rc = gnutls_x509_crt_set_dn(crt, "CN=jark-node", &bad)) < 0 ||
        (rc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
        (rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA512, 0)) < 0) {
        err = jk_net_tls_fail(diag, "build the certificate", rc);
        goto fail;
    }
    *crt_out = crt;
    *key_out = key;
    return JK_OK;
fail:
    if (crt)
        gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    return err;
}

jk_err jk_net_tls_init(jk_net_tls *t, const uint8_t secret_key[JK_NET_SECRET_SIZE],
                       const uint8_t genesis_hash[32],
                       gnutls_certificate_verify_function *verify, jk_diag *diag)
{
    memset(t, 0, sizeof *t);
    if (jk_crypto_init() != JK_OK)
        return jk_diag_set(diag, JK_ERR_CRYPTO_INIT, "net: libsodium failed to initialise");
    gnutls_x509_crt_t crt = NULL;
    gnutls_x509_privkey_t key = NULL;
    jk_err err = jk_net_tls_cert(secret_key, &crt, &key, diag);
    if (err != JK_OK)
        return err;
    int rc = gnutls_certificate_allocate_credentials(&t->cred);
    if (rc < 0) {
        t->cred = NULL;
        err = jk_net_tls_fail(diag, "allocate credentials", rc);
        goto done;
    }
    /* GnuTLS copies the certificate and key into the credentials. */
    if ((rc = gnutls_certificate_set_x509_key(t->cred, &crt, 1, key)) < 0) {
        err = jk_net_tls_fail(diag, "set certificate", rc);
        goto done;
    }
    if (verify)
        gnutls_certificate_set_verify_function(t->cred, verify);
    const char *pos = NULL;
    if ((rc = gnutls_priority_init(&t->prio, JK_NET_PRIORITY, &pos)) < 0) {
        t->prio = NULL;
        err = jk_net_tls_fail(diag, "priority string", rc);
        goto done;
    }
    if ((rc = gnutls_priority_init(&t->prio_quic, JK_NET_PRIORITY_QUIC, &pos)) < 0) {
        t->prio_quic = NULL;
        err = jk_net_tls_fail(diag, "QUIC priority string", rc);
        goto done;
    }
    jk_net_alpn(genesis_hash, t->alpn);
    memcpy(t->own_key, secret_key + 32, JK_NET_KEY_SIZE);
    err = JK_OK;
done:
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    if (err != JK_OK)
        jk_net_tls_free(t);
    return err;
}

void jk_net_tls_free(jk_net_tls *t)
{
    if (t->cred)
        gnutls_certificate_free_credentials(t->cred);
    if (t->prio)
        gnutls_priority_deinit(t->prio);
    if (t->prio_quic)
        gnutls_priority_deinit(t->prio_quic);
    t->cred = NULL;
    t->prio = NULL;
    t->prio_quic = NULL;
}

/* What both transports' sessions share: priorities, our certificate, the
 * ALPN protocol (mandatory on the server), a required client certificate. */
static jk_err jk_net_tls_setup(const jk_net_tls *t, gnutls_session_t s, gnutls_priority_t prio,
                               bool server, void *ptr)
{
    gnutls_datum_t proto = {(unsigned char *)t->alpn, (unsigned)strlen(t->alpn)};
    if (gnutls_priority_set(s, prio) < 0 ||
        gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, t->cred) < 0 ||
        gnutls_alpn_set_protocols(s, &proto, 1, server ? GNUTLS_ALPN_MANDATORY : 0) < 0)
        return JK_ERR_NET_TLS;
    if (server)
        gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_ptr(s, ptr);
    return JK_OK;
}

jk_err jk_net_tls_session(const jk_net_tls *t, int fd, bool server, void *ptr,
                          gnutls_session_t *out)
{
    gnutls_session_t s;
    /* No session tickets: nodes never resume, and a ticket is state we would
     * have to bound. NO_SIGNAL: a peer that hangs up must not raise SIGPIPE. */
    unsigned flags = (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK |
                     GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL;
    if (gnutls_init(&s, flags) < 0)
        return JK_ERR_NET_TLS;
    if (jk_net_tls_setup(t, s, t->prio, server, ptr) != JK_OK) {
        gnutls_deinit(s);
        return JK_ERR_NET_TLS;
    }
    gnutls_transport_set_int(s, fd);
    gnutls_handshake_set_timeout(s, 0); /* timeouts come from jk_net_step's clock */
    *out = s;
    return JK_OK;
}

jk_err jk_net_tls_quic_session(const jk_net_tls *t, bool server, void *ptr,
                               gnutls_session_t *out)
{
    gnutls_session_t s;
    if (gnutls_init(&s, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_TICKETS) < 0)
        return JK_ERR_NET_TLS;
    int rc = server ? ngtcp2_crypto_gnutls_configure_server_session(s)
                    : ngtcp2_crypto_gnutls_configure_client_session(s);
    if (rc != 0 || jk_net_tls_setup(t, s, t->prio_quic, server, ptr) != JK_OK) {
        gnutls_deinit(s);
        return JK_ERR_NET_TLS;
    }
    *out = s;
    return JK_OK;
}

jk_err jk_net_tls_peer_key(gnutls_session_t s, uint8_t key[JK_NET_KEY_SIZE])
{
    unsigned n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
    if (!certs || n != 1)
        return JK_ERR_NET_TLS;
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) < 0)
        return JK_ERR_NET_TLS;
    jk_err err = JK_ERR_NET_TLS;
    gnutls_ecc_curve_t curve;
    gnutls_datum_t x = {NULL, 0};
    if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) >= 0 &&
        gnutls_x509_crt_get_pk_algorithm(crt, NULL) == GNUTLS_PK_EDDSA_ED25519 &&
        gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &x, NULL) >= 0 &&
        curve == GNUTLS_ECC_CURVE_ED25519 && x.size == JK_NET_KEY_SIZE) {
        memcpy(key, x.data, JK_NET_KEY_SIZE);
        err = JK_OK;
    }
    gnutls_free(x.data);
    gnutls_x509_crt_deinit(crt);
    return err;
}

bool jk_net_tls_alpn_ok(const jk_net_tls *t, gnutls_session_t s)
{
    gnutls_datum_t got;
    if (gnutls_alpn_get_selected_protocol(s, &got) < 0)
        return false;
    size_t n = strlen(t->alpn);
    return got.size == n && memcmp(got.data, t->alpn, n) == 0;
}
