/* fleet-eval codes: the VQ code indices of aligned 112x112 faces, one JSON
 * line per image. Used to check the C encoder against PyTorch
 * (models/train/check_parity.py). */
#include <getopt.h>
#include <stdio.h>

#include "facefleet/entropy.h"
#include "facefleet/error.h"
#include "facefleet/image.h"
#include "facefleet/log.h"
#include "facefleet/vq.h"
#include "fleet_eval.h"

static void codes_usage(FILE *f)
{
	fprintf(f, "usage: fleet-eval codes --vq-model PREFIX [--threads N] [--code-bytes N]\n"
		   "                        FACE112.jpg...\n"
		   "Prints {\"image\":PATH,\"model_id\":ID,\"codes\":[...]} per aligned 112x112 face\n"
		   "(wire order: cell-major raster, then code group), encoded by PREFIX.enc.ffn;\n"
		   "with the model's rANS tables (PREFIX.codes.ent) also \"coded_bytes\": the size\n"
		   "of these codes entropy-coded (codes_ans), and \"sent_bytes\", \"moved\": the\n"
		   "stream a device sends within --code-bytes (default 121, as the device; rate control,\n"
		   "ff_vq_encode_coded) and how many indices it moved off the nearest codeword\n"
		   "to fit.\n"
		   "Exit status: 0 all encoded, 1 a model or image failed, 2 usage.\n");
}

/* Encodes one face and prints its line. Returns FF_OK or an error (logged). */
static int codes_one(ff_vq_encoder *enc, const ff_entropy_table *ent, size_t budget,
		     const char *path)
{
	const ff_vq_info *info = ff_vq_encoder_info(enc);
	ff_image img = FF_IMAGE_EMPTY;
	uint16_t idx[FF_VQ_MAX_CODES];
	char why[256] = "", q[300];
	int rc = ff_image_load(path, NULL, &img, why, sizeof(why));

	if (rc == FF_OK)
		rc = ff_vq_encode(enc, &img, idx, info->num_codes);
	if (rc == FF_OK) {
		cJSON *o = cJSON_CreateObject(), *codes;
		cJSON_AddStringToObject(o, "image", path);
		cJSON_AddStringToObject(o, "model_id", info->model_id);
		codes = cJSON_AddArrayToObject(o, "codes");
		for (uint32_t i = 0; codes && i < info->num_codes; i++)
			cJSON_AddItemToArray(codes, cJSON_CreateNumber(idx[i]));
		if (ent) {
			uint8_t coded[FF_ENTROPY_MAX_STREAM];
			size_t len = 0;
			uint16_t sent[FF_VQ_MAX_CODES];
			size_t moved = 0;
			if (ff_entropy_encode(ent, idx, info->num_codes, coded, sizeof(coded), &len) == FF_OK)
				cJSON_AddNumberToObject(o, "coded_bytes", (double)len);
			if (ff_vq_encode_coded(enc, &img, ent, budget, sent, info->num_codes,
					       coded, &len, &moved) == FF_OK) {
				cJSON_AddNumberToObject(o, "sent_bytes", (double)len);
				cJSON_AddNumberToObject(o, "moved", (double)moved);
			}
		}
		if (fe_json_print(o) != 0)
			rc = FF_ERR_NOMEM;
	} else {
		ff_log(FF_LOG_ERROR, "eval", "event=encode_failed image=%s err=%s",
		       ff_log_quote(q, sizeof(q), path), why[0] ? why : ff_strerror(rc));
	}
	ff_image_free(&img);
	return rc;
}

int fe_cmd_codes(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vq-model", required_argument, NULL, 'v' }, { "threads", required_argument, NULL, 't' },
		{ "code-bytes", required_argument, NULL, 'B' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	ff_nn_options nopt = FF_NN_OPTIONS_INIT;
	ff_vq_encoder *enc = NULL;
	ff_entropy_table *ent = NULL;
	const char *prefix = NULL;
	char path[4096], why[256] = "", q[300];
	int c, failed = 0, budget = FF_VQ_DEFAULT_CODE_BYTES;

	optind = 1;
	while ((c = getopt_long(argc, argv, "v:t:B:h", longopts, NULL)) != -1) {
		if (c == 'v')
			prefix = optarg;
		else if (c == 't' && fe_parse_int(optarg, 1, 64, &nopt.threads) == 0)
			continue;
		else if (c == 'B' && fe_parse_int(optarg, 16, FF_VQ_MAX_PAYLOAD, &budget) == 0)
			continue;
		else if (c == 'h') {
			codes_usage(stdout);
			return FF_EXIT_OK;
		} else
			goto usage;
	}
	if (!prefix || optind >= argc)
		goto usage;
	snprintf(path, sizeof(path), "%s.enc.ffn", prefix);
	if (ff_vq_encoder_create(path, &nopt, &enc, why, sizeof(why)) != FF_OK) {
		ff_log(FF_LOG_ERROR, "eval", "event=model_failed path=%s reason=%s", path, why);
		return FF_EXIT_FAIL;
	}
	/* no tables (FF_ERR_NOTFOUND): packed codes only, no coded_bytes */
	c = ff_entropy_table_open(path, ff_vq_encoder_info(enc), &ent, why, sizeof(why));
	if (c != FF_OK && c != FF_ERR_NOTFOUND)
		ff_log(FF_LOG_WARN, "eval", "event=entropy_tables_failed reason=%s",
		       ff_log_quote(q, sizeof(q), why));
	for (int i = optind; i < argc; i++)
		if (codes_one(enc, ent, (size_t)budget, argv[i]) != FF_OK)
			failed = 1;
	ff_entropy_table_free(ent);
	ff_vq_encoder_free(enc);
	return failed ? FF_EXIT_FAIL : FF_EXIT_OK;
usage:
	codes_usage(stderr);
	return FF_EXIT_USAGE;
}
