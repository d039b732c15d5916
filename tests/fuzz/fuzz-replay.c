/* SPDX-License-Identifier: MIT */
/*
 * A tiny main() for fuzz targets built without libFuzzer: runs every file
 * named on the command line, or every file in a directory named there,
 * through LLVMFuzzerTestOneInput() once. A broken invariant traps, so the
 * test fails with the file name printed last. Exit 77 (skip) when there is
 * no input at all: an empty corpus proves nothing.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned files;

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (!f) {
		perror(path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		perror(path);
		fclose(f);
		return -1;
	}
	/* malloc exactly len bytes (1 for empty) so overreads show under
	 * sanitizers. */
	buf = malloc(len ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "%s: read failed\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	fprintf(stderr, "replay %s (%ld bytes)\n", path, len);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	files++;
	return 0;
}

static int
run_path(const char *path)
{
	struct stat st;
	struct dirent **names;
	int n, ret = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		return run_file(path);
	}
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		perror(path);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char full[4096];

		if (names[i]->d_name[0] != '.') {
			snprintf(full, sizeof(full), "%s/%s", path,
				 names[i]->d_name);
			if (run_file(full) < 0) {
				ret = -1;
			}
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int
main(int argc, char **argv)
{
	int ret = 0;

	for (int i = 1; i < argc; i++) {
		if (run_path(argv[i]) < 0) {
			ret = 1;
		}
	}
	if (files == 0) {
		printf("fuzz-replay: no inputs, skipped\n");
		return 77;
	}
	printf("fuzz-replay: %u inputs ran clean\n", files);
	return ret;
}
