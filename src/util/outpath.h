/* Output paths that are not regular files. */
#ifndef FERRET_UTIL_OUTPATH_H
#define FERRET_UTIL_OUTPATH_H

#include <stdbool.h>

/* True when path exists and is not a regular file (a device such as /dev/null or
 * /dev/stdout, a FIFO, a socket): such an output is written in place, never through
 * "path.tmp" and rename(), which would replace the device with a regular file. */
bool outpath_in_place(const char *path);

#endif
