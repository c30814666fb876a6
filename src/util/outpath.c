#include "util/outpath.h"

#include <sys/stat.h>

bool
outpath_in_place(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}
