/* fuzz_replay: main() for a fuzz target in ordinary builds (gcc, no
 * libFuzzer): runs LLVMFuzzerTestOneInput once on every file given, or on
 * every file of every folder given (seed corpora and tests/fuzz/regress/:
 * crashes found by fuzzing, kept as regression inputs). Under FF_SANITIZE
 * the sanitizers check each run. Exit 0 when all ran (a crash aborts). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	if (!fp) {
		perror(path);
		return 1;
	}
	if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
		fclose(fp);
		return 1;
	}
	buf = malloc((size_t)n + 1); /* +1: never malloc(0) */
	if (!buf || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		fprintf(stderr, "%s: read failed\n", path);
		free(buf);
		fclose(fp);
		return 1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	int files = 0, bad = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			continue; /* an optional folder (regress/<target>) may not exist */
		}
		if (S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *e;
			char **names = NULL;
			size_t nn = 0;
			while (d && (e = readdir(d))) {
				char **grown;
				if (e->d_name[0] == '.')
					continue;
				grown = realloc(names, (nn + 1) * sizeof(char *));
				if (!grown)
					break;
				names = grown;
				names[nn] = malloc(strlen(argv[i]) + strlen(e->d_name) + 2);
				if (!names[nn])
					break;
				sprintf(names[nn], "%s/%s", argv[i], e->d_name);
				nn++;
			}
			if (d)
				closedir(d);
			if (nn)
				qsort(names, nn, sizeof(char *), cmp_str);
			for (size_t k = 0; k < nn; k++) {
				bad += run_file(names[k]);
				files++;
				free(names[k]);
			}
			free(names);
		} else {
			bad += run_file(argv[i]);
			files++;
		}
	}
	printf("fuzz_replay: %d inputs, %d unreadable\n", files, bad);
	return bad || files == 0 ? 1 : 0;
}
