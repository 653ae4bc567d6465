/* facefleet/file.h: reading a whole file, bounded. */
#ifndef FF_FILE_H
#define FF_FILE_H

#include <stddef.h>

/* Reads the regular file at path into a malloc'd buffer with a NUL after
 * the last byte (*buf; *len bytes, not counting the NUL). Anything that is
 * not a regular file (a FIFO, a device, a folder) is refused without
 * blocking: a FIFO handed over as an image used to hang its reader.
 * Returns FF_OK, FF_ERR_NOTFOUND, FF_ERR_IO (not a regular file, or a read
 * error), FF_ERR_RANGE (over max_bytes), FF_ERR_NOMEM, FF_ERR_INVAL; the
 * reason, with the path, in errbuf. */
int ff_file_read(const char *path, size_t max_bytes, char **buf, size_t *len, char *errbuf,
		 size_t errlen);

#endif
