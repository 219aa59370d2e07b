/*
 * reserved.h - names the daemon keeps for itself in the mounted tree.
 *
 * Uploads are first published in the store under a unique name in
 * LF_INCOMING_DIR (mode 0700), then renamed through the mount to their
 * own name, so that inotify watchers see them arrive. A rename from that
 * directory into another would be a cross-directory rename, which the
 * kernel serialises for the whole file system (s_vfs_rename_mutex) across
 * the FUSE round trips. So the rename names its source by an alias in the
 * destination directory instead: LF_INCOMING_ALIAS followed by the
 * incoming name. The FUSE side resolves such a name in LF_INCOMING_DIR,
 * only for the daemon's own user (who can read the store directly anyway),
 * and no entry can be created under such a name, through the mount or
 * over HTTP. The rename is then within one directory.
 *
 * LF_PRIVATE_DIR, at the root, is left out of directory listings (readdir
 * on the mount, HTTP listings): what is in it is not yet, or no longer, a
 * file of the tree, and a `find` over the mount must not pick up an upload
 * in flight. It can still be reached by name.
 */
#ifndef LANDINGFS_RESERVED_H
#define LANDINGFS_RESERVED_H

#define LF_PRIVATE_DIR ".landing"
#define LF_PRIVATE_DIR_LEN (sizeof(LF_PRIVATE_DIR) - 1)
#define LF_INCOMING_DIR LF_PRIVATE_DIR "/incoming"
#define LF_INCOMING_ALIAS ".landing-incoming."
#define LF_INCOMING_ALIAS_LEN (sizeof(LF_INCOMING_ALIAS) - 1)

#endif /* LANDINGFS_RESERVED_H */
