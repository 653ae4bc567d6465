/* facefleet/api_token.h: the HTTP API's bearer tokens (table api_tokens,
 * migration 010). A token is "NAME.SECRET": NAME its row's id
 * ([a-z0-9-]{1,32}), SECRET 43 base64url characters of 32 random bytes.
 * Only its SHA-256 is stored; fleetctl makes tokens, fleet-backend checks
 * them (backend/http_auth.c). */
#ifndef FF_API_TOKEN_H
#define FF_API_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facefleet/ids.h"

#define FF_API_TOKEN_HASH_LEN 32
#define FF_API_TOKEN_MAX (FF_ID_MAX + 1 + 64) /* longest token text accepted, no NUL */

/* SHA-256 (OpenSSL EVP) of the token text. Returns FF_OK or FF_ERR_NOMEM /
 * FF_ERR_INVAL (NULL token). */
int ff_api_token_hash(const char *token, uint8_t out[FF_API_TOKEN_HASH_LEN]);
/* The NAME of a token text into name (FF_ID_MAX + 1 bytes). False when the
 * text is not NAME.SECRET with a valid id and a secret of 16..64 characters. */
bool ff_api_token_name(const char *token, char name[FF_ID_MAX + 1]);
/* True when token hashes to stored (the hashes compared in constant time). */
bool ff_api_token_matches(const char *token, const uint8_t *stored, size_t stored_len);

#endif
