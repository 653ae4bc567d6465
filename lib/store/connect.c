/* Opening a PostgreSQL connection (facefleet/store.h). */
#include "facefleet/store.h"

#include <string.h>

#include "facefleet/text.h"

PGconn *ff_store_open(const char *conninfo, const char *app_name, char *errbuf, size_t errlen)
{
	/* expand_dbname: conninfo may be "key=value ..." or a postgresql:// URI */
	const char *keys[3] = { "dbname", "application_name", NULL };
	const char *vals[3] = { conninfo ? conninfo : "", app_name ? app_name : "facefleet", NULL };
	PGconn *db = PQconnectdbParams(keys, vals, 1);
	if (db && PQstatus(db) == CONNECTION_OK)
		return db;
	if (errbuf && errlen) {
		const char *why = db ? PQerrorMessage(db) : "out of memory";
		size_t n = strlen(why);
		while (n && (why[n - 1] == '\n' || why[n - 1] == ' '))
			n--; /* libpq ends its messages with a newline */
		ff_sanitize(errbuf, errlen, why, n);
	}
	PQfinish(db);
	return NULL;
}
