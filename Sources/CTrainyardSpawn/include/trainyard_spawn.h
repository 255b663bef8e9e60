#ifndef TRAINYARD_SPAWN_H
#define TRAINYARD_SPAWN_H

#include <spawn.h>

/// glibc's GNU extensions to posix_spawn and pipe, which Swift's Glibc module does not export (they need _GNU_SOURCE).
/// The agent starts the user's command with them: in its own working directory, with no descriptor of the agent.
int trainyard_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);
int trainyard_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from);
/// pipe2(fds, O_CLOEXEC): a pipe no other concurrently spawned child inherits.
int trainyard_pipe_cloexec(int fds[2]);

#endif
