/* The benchmarks' JSON last line (device.h), through cJSON. */
#include "device.h"

#include <math.h>
#include <stdio.h>

void dev_json_num(cJSON *o, const char *name, double v, int decimals)
{
	double s = pow(10.0, decimals);
	cJSON_AddNumberToObject(o, name, isfinite(v) ? round(v * s) / s : 0.0);
}

void dev_json_print(cJSON *o)
{
	char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
	if (txt)
		printf("%s\n", txt);
	cJSON_free(txt);
	cJSON_Delete(o);
}
