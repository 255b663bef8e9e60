#define _GNU_SOURCE
#include "trainyard_spawn.h"

#include <fcntl.h>
#include <unistd.h>

int trainyard_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int trainyard_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int trainyard_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}
