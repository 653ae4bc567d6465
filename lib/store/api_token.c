/* The HTTP API's bearer tokens (facefleet/api_token.h). */
#include "facefleet/api_token.h"

#include "facefleet/error.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

int ff_api_token_hash(const char *token, uint8_t out[FF_API_TOKEN_HASH_LEN])
{
	unsigned int len = 0;
	if (!token)
		return FF_ERR_INVAL;
	if (EVP_Digest(token, strlen(token), out, &len, EVP_sha256(), NULL) != 1 ||
	    len != FF_API_TOKEN_HASH_LEN)
		return FF_ERR_NOMEM;
	return FF_OK;
}

bool ff_api_token_name(const char *token, char name[FF_ID_MAX + 1])
{
	const char *dot = token ? strchr(token, '.') : NULL;
	size_t secret;
	if (!dot || !ff_id_valid_n(token, (size_t)(dot - token)))
		return false;
	secret = strlen(dot + 1);
	if (secret < 16 || secret > 64)
		return false;
	memcpy(name, token, (size_t)(dot - token));
	name[dot - token] = '\0';
	return true;
}

bool ff_api_token_matches(const char *token, const uint8_t *stored, size_t stored_len)
{
	uint8_t h[FF_API_TOKEN_HASH_LEN];
	if (stored_len != FF_API_TOKEN_HASH_LEN || ff_api_token_hash(token, h) != FF_OK)
		return false;
	return CRYPTO_memcmp(h, stored, sizeof(h)) == 0;
}
