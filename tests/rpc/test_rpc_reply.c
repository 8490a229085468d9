/*
 * test_rpc_reply.c — the client's reply decoder (jk_rpc_reply_decode): what
 * it accepts, and each refusal with its reason.
 */
#include "../test.h"

#include "jark/rpc.h"

#include <stdlib.h>

JK_TEST(test_rpc_reply_decode)
{
    static const struct {
        const char *raw;
        jk_err err;
        const char *text;   /* result or error JSON; or a part of the reason for JK_ERR_RPC_HTTP */
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 46\r\n\r\n"
         "{\"jsonrpc\":\"2.0\",\"result\":{\"height\":3},\"id\":1}trailing bytes past the length",
         JK_OK, "{\"height\":3}"},
        {"HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"result\":[1,\"a/b\"],\"id\":1}\r\n", JK_OK, "[1,\"a/b\"]"},
        {"HTTP/1.0 200 OK\r\nContent-Length:38\r\n\r\n{\"jsonrpc\":\"2.0\",\"result\":null,\"id\":1}", JK_OK, "null"},
        {"HTTP/1.1 200\r\n\r\n{\"jsonrpc\":\"2.0\",\"result\":7,\"id\":1}", JK_OK, "7"},
        {"HTTP/1.1 413 Content Too Large\r\ncontent-length: 79\r\n\r\n"
         "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"Invalid Request\"},\"id\":null}",
         JK_ERR_RPC_REMOTE, "{\"code\":-32600,\"message\":\"Invalid Request\"}"},
        {"HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32001,\"message\":\"Not found\",\"data\":\"x\"},\"id\":1}",
         JK_ERR_RPC_REMOTE, "{\"code\":-32001,\"message\":\"Not found\",\"data\":\"x\"}"},
        {"HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":2}", JK_ERR_RPC_HTTP, "another id"},
        {"HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":\"1\"}", JK_ERR_RPC_HTTP, "another id"},
        {"HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"m\"},\"id\":2}", JK_ERR_RPC_HTTP,
         "malformed error"},
        {"HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"error\":{\"code\":\"1\",\"message\":\"m\"},\"id\":1}",
         JK_ERR_RPC_HTTP, "malformed error"},
        {"HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"result\":1,\"error\":{\"code\":1,\"message\":\"m\"},\"id\":1}",
         JK_ERR_RPC_HTTP, "exactly one"},
        {"HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1}", JK_ERR_RPC_HTTP, "exactly one"},
        {"HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"1.0\",\"result\":1,\"id\":1}", JK_ERR_RPC_HTTP, "without a JSON-RPC"},
        {"HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"result\":1}", JK_ERR_RPC_HTTP, "without a JSON-RPC"},
        {"HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1}xyz", JK_ERR_RPC_HTTP, "without a JSON-RPC"},
        {"HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1", JK_ERR_RPC_HTTP, "without a JSON-RPC"},
        {"HTTP/1.1 500 Internal\r\n\r\n{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1}", JK_ERR_RPC_HTTP, "HTTP 500"},
        {"HTTP/1.1 204 No Content\r\n\r\n", JK_ERR_RPC_HTTP, "HTTP 204"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n{}", JK_ERR_RPC_HTTP, "shorter than its Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n{", JK_ERR_RPC_HTTP, "two Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n{", JK_ERR_RPC_HTTP, "malformed Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n{", JK_ERR_RPC_HTTP, "malformed Content-Length"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", JK_ERR_RPC_HTTP, "chunked"},
        {"HTTP/2 200 OK\r\n\r\n{}", JK_ERR_RPC_HTTP, "status line"},
        {"HTTP/1.1 20 OK\r\n\r\n{}", JK_ERR_RPC_HTTP, "status line"},
        {"HTTP/1.1 600 OK\r\n\r\n{}", JK_ERR_RPC_HTTP, "status line"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2", JK_ERR_RPC_HTTP, "no complete HTTP header"},
        {"", JK_ERR_RPC_HTTP, "no complete HTTP header"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = NULL;
        jk_diag d = {{0}};
        jk_err err = jk_rpc_reply_decode((const uint8_t *)cases[i].raw, strlen(cases[i].raw), 1, &text, &d);
        bool ok = err == cases[i].err;
        if (ok && err == JK_ERR_RPC_HTTP)
            ok = !text && strstr(d.msg, cases[i].text) != NULL;
        else if (ok)
            ok = text && !strcmp(text, cases[i].text);
        if (!ok)
            jk_test_fail(__FILE__, __LINE__, "case %zu: %s, text %s, reason '%s'", i, jk_strerror(err),
                         text ? text : "(none)", d.msg);
        free(text);
    }
    /* the remote error's reason reads "code message: data" */
    static const char remote[] = "HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,"
                                 "\"message\":\"Invalid params\",\"data\":\"blob: odd\"},\"id\":1}";
    char *text = NULL;
    jk_diag d = {{0}};
    JK_CHECK_EQ(jk_rpc_reply_decode((const uint8_t *)remote, sizeof remote - 1, 1, &text, &d), JK_ERR_RPC_REMOTE);
    JK_CHECK(!strcmp(d.msg, "-32602 Invalid params: blob: odd"));
    free(text);
    /* a NUL inside the body is not JSON */
    static const uint8_t nul[] = "HTTP/1.1 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1}\0";
    text = NULL;
    JK_CHECK_EQ(jk_rpc_reply_decode(nul, sizeof nul, 1, &text, NULL), JK_ERR_RPC_HTTP);
    JK_CHECK(text == NULL);
}
