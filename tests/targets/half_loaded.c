/* SPDX-License-Identifier: MIT */
/* half_loaded.c: test-only. Maps a shared library as the dynamic loader first does (the
 * whole file, read-only, from offset 0; only then does it map each segment in its place),
 * stays so for a while, then execs a command, or exits 0 when none is given. A libpython
 * mapped so has its _PyRuntime symbol but not its data: `ferret run` must wait for it.
 * Usage: half_loaded LIBRARY MILLISECONDS [COMMAND [ARGS...]] */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: half_loaded LIBRARY MILLISECONDS [COMMAND [ARGS...]]\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(argv[1]);
        return 1;
    }
    if (mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    long ms = atol(argv[2]);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    if (argc == 3)
        return 0;
    execvp(argv[3], argv + 3);
    perror(argv[3]);
    return 127;
}
