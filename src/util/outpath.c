#include "util/outpath.h"

#include <sys/stat.h>

bool
outpath_in_place(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || S_ISREG(st.st_mode))
        return false;
    if (S_ISLNK(st.st_mode)) /* a link to a directory is still an error, reported later */
        return !(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    return !S_ISDIR(st.st_mode);
}
