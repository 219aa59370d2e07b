/*
 * passthrough.h - FUSE passthrough on libfuse 3.14 (fs/passthrough.c).
 *
 * Private to fs/. Call order: passthrough_setup() after fuse_session_mount();
 * passthrough_on_init() from the init op; then, for each open or create that
 * should bypass the daemon: id = passthrough_open(fd), passthrough_arm(id),
 * fuse_reply_open()/fuse_reply_create() on the same thread, and
 * passthrough_close(id) at release.
 */
#ifndef LANDINGFS_FS_PASSTHROUGH_H
#define LANDINGFS_FS_PASSTHROUGH_H

#include <stdbool.h>

struct fuse_session;

int passthrough_setup(struct fuse_session *se, bool enable);
void passthrough_on_init(void);
bool passthrough_active(void);
bool passthrough_killpriv(void);
int passthrough_open(int fd);
void passthrough_arm(int backing_id);
void passthrough_close(int backing_id);

#endif /* LANDINGFS_FS_PASSTHROUGH_H */
