/* fuzz_config: libFuzzer target for the table-driven config parser
 * (lib/util config.c) that reads every program's `key = value` file:
 * fleet-device, fleet-backend, fleetctl bundles. The input is the file text;
 * a table with one field of each type (string, path, int, int64, bool,
 * double, a secret) is filled. Must end in FF_OK or FF_ERR_CONFIG with a
 * message, never crash or leak. Seed corpus: tests/fuzz/corpus/config. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "facefleet/config.h"
#include "facefleet/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct cfg {
	char *name, *path, *password;
	int port;
	int64_t bytes;
	bool tls;
	double score;
} cfg;

static const ff_config_field fields[] = {
	{ "name", FF_CFG_STRING, offsetof(cfg, name), "x", 1, 32, "id", FF_CFG_REQUIRED },
	{ "path", FF_CFG_PATH, offsetof(cfg, path), "", 0, 0, "a file", 0 },
	{ "password", FF_CFG_STRING, offsetof(cfg, password), "", 0, 128, "secret", FF_CFG_SECRET },
	{ "port", FF_CFG_INT, offsetof(cfg, port), "1883", 1, 65535, "port", 0 },
	{ "bytes", FF_CFG_INT64, offsetof(cfg, bytes), "0", 0, 1e15, "bytes", 0 },
	{ "tls", FF_CFG_BOOL, offsetof(cfg, tls), "false", 0, 0, "tls", 0 },
	{ "score", FF_CFG_DOUBLE, offsetof(cfg, score), "0.5", 0, 1, "score", 0 },
	FF_CONFIG_END
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cfg c;
	char err[256], *text;
	int rc;
	if (size > 1 << 16)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* a NUL inside ends the text early, like a C string file */
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	if (ff_config_defaults(fields, &c, err, sizeof(err)) != FF_OK)
		abort();
	rc = ff_config_load_string(fields, &c, text, "fuzz.conf", err, sizeof(err));
	if (rc != FF_OK && (rc != FF_ERR_CONFIG && rc != FF_ERR_NOMEM))
		abort();
	if (rc != FF_OK && !err[0])
		abort(); /* every refusal says why */
	if (rc == FF_OK && (c.port < 1 || c.port > 65535 || c.score < 0 || c.score > 1))
		abort(); /* ranges hold */
	ff_config_free(fields, &c);
	free(text);
	return 0;
}
