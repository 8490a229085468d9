/* internal.h — the rpc layer's shared internals (not part of jark/rpc.h). */
#ifndef JK_RPC_INTERNAL_H
#define JK_RPC_INTERNAL_H

#include "jark/rpc.h"

/* The standard message of a JSON-RPC error code ("Parse error", ...). */
const char *jk_rpc_code_message(int code);

/* The JSON text of a single error response with id null (body-level
 * refusals and HTTP-level answers). malloc'd; NULL on NOMEM. */
char *jk_rpc_error_json(int code, const char *detail, size_t *out_len);

struct sockaddr_in;
/* host (numeric IPv4, "localhost", or NULL for 127.0.0.1) and port as an
 * address. @return JK_OK; JK_ERR_INVALID_ARG. */
jk_err jk_rpc_resolve(const char *host, uint16_t port, struct sockaddr_in *out, jk_diag *diag);

#endif
