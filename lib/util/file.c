/* Bounded whole-file reads (facefleet/file.h). */
#include "facefleet/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facefleet/error.h"

int ff_file_read(const char *path, size_t max_bytes, char **buf, size_t *len, char *errbuf,
		 size_t errlen)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	int fd, rc = FF_OK;

	if (!path || !buf || !len)
		return FF_ERR_INVAL;
	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: opening a FIFO without a writer returns at once */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		ff_seterr(errbuf, errlen, "%s: cannot open: %s", path, strerror(e));
		return e == ENOENT ? FF_ERR_NOTFOUND : FF_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		ff_seterr(errbuf, errlen, "%s: not a regular file", path);
		rc = FF_ERR_IO;
		goto out;
	}
	if ((unsigned long long)st.st_size > max_bytes) {
		ff_seterr(errbuf, errlen, "%s: %lld bytes over the limit of %zu", path,
			  (long long)st.st_size, max_bytes);
		rc = FF_ERR_RANGE;
		goto out;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		rc = FF_ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) { /* an error, or the file shrank under us */
			ff_seterr(errbuf, errlen, "%s: short read", path);
			rc = FF_ERR_IO;
			goto out;
		}
		got += (size_t)n;
	}
	data[got] = '\0';
	*buf = data;
	*len = got;
	data = NULL;
out:
	free(data);
	close(fd);
	return rc;
}
