/*
 * passthrough.c - kernel FUSE passthrough with libfuse 3.14.
 *
 * Since Linux 6.9 the kernel can hand reads and writes of an open FUSE file
 * straight to a backing file (CONFIG_FUSE_PASSTHROUGH): the daemon registers
 * the backing file's fd on /dev/fuse (ioctl FUSE_DEV_IOC_BACKING_OPEN, which
 * needs CAP_SYS_ADMIN), then answers OPEN or CREATE with FOPEN_PASSTHROUGH
 * and the backing id. libfuse 3.14 predates the feature and has no API for
 * it, but the FUSE protocol is a stable kernel ABI and libfuse 3.14 lets a
 * filesystem carry its own /dev/fuse I/O (fuse_session_custom_io). This file
 * uses that seam:
 *
 *   1. io_read() sees the kernel's INIT request and notes whether it offers
 *      FUSE_PASSTHROUGH (a flags2 bit, invisible in libfuse 3.14's
 *      fuse_conn_info).
 *   2. The init op calls passthrough_on_init(), which arms a thread-local
 *      flag; libfuse then sends the INIT reply from that same thread, and
 *      io_writev() adds FUSE_PASSTHROUGH and max_stack_depth = 1 to it.
 *   3. An open or create handler registers the blob's fd, arms the backing
 *      id on its thread and replies; io_writev() recognises the open reply
 *      (fuse_open_out alone, or after fuse_entry_out for CREATE) and sets
 *      FOPEN_PASSTHROUGH and backing_id.
 *
 * With passthrough, the INIT reply also asks for FUSE_HANDLE_KILLPRIV_V2
 * when offered: the kernel then marks the superblock SB_NOSEC and stops
 * asking the daemon for security.capability before every write(2) (a round
 * trip per call that halved passthrough write throughput), and leaves
 * clearing set-user-ID and set-group-ID bits to the daemon (ops.c does it
 * on open for writing, truncate and chown; see passthrough_killpriv()).
 *
 * Everything else goes through unchanged: read(2), writev(2) and splice(2)
 * on the same fd, as libfuse would do itself. When the kernel does not offer
 * passthrough, or the ioctl is refused (no privilege), nothing is patched
 * and the splice paths serve reads and writes; one log line says so.
 */
#include "passthrough.h"

#include "landingfs/log.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

/* Protocol values from <linux/fuse.h> 7.40, absent from bookworm's 6.1
 * headers. */
#define PT_FUSE_PASSTHROUGH (1ULL << 37)
#define PT_FUSE_HANDLE_KILLPRIV_V2 (1ULL << 28)
#define PT_FOPEN_PASSTHROUGH (1u << 7)

struct pt_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define PT_IOC_BACKING_OPEN _IOW(229, 1, struct pt_backing_map)
#define PT_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

/* fuse_init_out as of protocol 7.40 (64 bytes, like libfuse 3.14's). */
struct pt_init_out {
	uint32_t major;
	uint32_t minor;
	uint32_t max_readahead;
	uint32_t flags;
	uint16_t max_background;
	uint16_t congestion_threshold;
	uint32_t max_write;
	uint32_t time_gran;
	uint16_t max_pages;
	uint16_t map_alignment;
	uint32_t flags2;
	uint32_t max_stack_depth;
	uint32_t unused[6];
};

_Static_assert(sizeof(struct pt_init_out) == 64, "fuse_init_out is 64 bytes");
_Static_assert(sizeof(struct fuse_open_out) == 16, "fuse_open_out is 16 bytes");

static int pt_devfd = -1;        /* the session's /dev/fuse fd */
static bool pt_enabled;          /* asked for by the options */
static atomic_bool pt_offered;   /* the kernel offered it in INIT */
static atomic_bool pt_killpriv_offered; /* and FUSE_HANDLE_KILLPRIV_V2 */
static atomic_bool pt_killpriv;  /* asked for in the INIT reply */
static atomic_bool pt_on;        /* negotiated and the ioctl works */
static _Thread_local bool pt_patch_init;
static _Thread_local int pt_armed; /* backing id for this thread's reply */

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	const struct fuse_in_header *h = buf;
	ssize_t n;

	(void)userdata;
	n = read(fd, buf, len);
	if (n >= (ssize_t)(sizeof(*h) + sizeof(struct fuse_init_in)) &&
	    h->opcode == FUSE_INIT) {
		const struct fuse_init_in *in = (const void *)(h + 1);
		uint64_t flags = in->flags;

		if (flags & FUSE_INIT_EXT)
			flags |= (uint64_t)in->flags2 << 32;
		atomic_store(&pt_offered, (flags & PT_FUSE_PASSTHROUGH) != 0);
		atomic_store(&pt_killpriv_offered,
			     (flags & PT_FUSE_HANDLE_KILLPRIV_V2) != 0);
	}
	return n;
}

static void patch_open_out(struct fuse_open_out *o, int backing_id)
{
	o->open_flags |= PT_FOPEN_PASSTHROUGH;
	/* The padding member of libfuse's fuse_open_out is backing_id. */
	o->padding = (uint32_t)backing_id;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	if (pt_patch_init && count >= 2 &&
	    iov[1].iov_len == sizeof(struct pt_init_out)) {
		struct pt_init_out *o = iov[1].iov_base;

		o->flags |= FUSE_INIT_EXT;
		o->flags2 |= (uint32_t)(PT_FUSE_PASSTHROUGH >> 32);
		if (atomic_load(&pt_killpriv_offered)) {
			o->flags |= (uint32_t)PT_FUSE_HANDLE_KILLPRIV_V2;
			atomic_store(&pt_killpriv, true);
		}
		o->max_stack_depth = 1;
		pt_patch_init = false;
	}
	if (pt_armed > 0 && count >= 2) {
		size_t len = iov[1].iov_len;

		/* OPEN: fuse_open_out; CREATE: fuse_entry_out, then it. */
		if (len == sizeof(struct fuse_open_out))
			patch_open_out(iov[1].iov_base, pt_armed);
		else if (len == sizeof(struct fuse_entry_out) +
				       sizeof(struct fuse_open_out))
			patch_open_out((void *)((char *)iov[1].iov_base +
						sizeof(struct fuse_entry_out)),
				       pt_armed);
		pt_armed = 0;
	}
	return writev(fd, iov, count);
}

static ssize_t io_splice(int fdin, off_t *offin, int fdout, off_t *offout,
			 size_t len, unsigned int flags, void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

/*
 * passthrough_setup() takes over the session's /dev/fuse I/O (after
 * fuse_session_mount()). With enable false it does nothing and the session
 * keeps libfuse's own I/O. Returns 0 or -errno. Start-up only.
 */
int passthrough_setup(struct fuse_session *se, bool enable)
{
	static const struct fuse_custom_io io = {
		.read = io_read,
		.writev = io_writev,
		.splice_receive = io_splice,
		.splice_send = io_splice,
	};

	pt_enabled = enable;
	if (!enable)
		return 0;
	pt_devfd = fuse_session_fd(se);
	if (fuse_session_custom_io(se, &io, pt_devfd) != 0)
		return -EINVAL;
	return 0;
}

/*
 * passthrough_on_init() is called from the init op: if the kernel offered
 * passthrough, the INIT reply libfuse sends next on this thread asks for it.
 */
void passthrough_on_init(void)
{
	if (!pt_enabled)
		return;
	if (!atomic_load(&pt_offered)) {
		lf_log(LOG_INFO, "kernel offers no FUSE passthrough; reads and "
				 "writes take the splice paths");
		return;
	}
	pt_patch_init = true;
	atomic_store(&pt_on, true);
}

/*
 * passthrough_killpriv() tells whether the session runs with
 * FUSE_HANDLE_KILLPRIV_V2: the kernel no longer clears set-user-ID and
 * set-group-ID bits on write, truncate and chown; the daemon must. Fixed
 * once INIT is answered.
 */
bool passthrough_killpriv(void)
{
	return atomic_load(&pt_killpriv);
}

/* passthrough_active() tells whether opens should try passthrough. */
bool passthrough_active(void)
{
	return atomic_load(&pt_on);
}

/*
 * passthrough_open() registers fd as a backing file and returns its backing
 * id (> 0), or -errno; on the first refusal (e.g. EPERM without
 * CAP_SYS_ADMIN) passthrough is switched off for the session with one log
 * line. fd stays the caller's; the kernel holds its own reference.
 */
int passthrough_open(int fd)
{
	struct pt_backing_map map = { .fd = fd };
	int id;

	if (!atomic_load(&pt_on))
		return -ENOTSUP;
	id = ioctl(pt_devfd, PT_IOC_BACKING_OPEN, &map);
	if (id < 0) {
		int err = errno;

		if (atomic_exchange(&pt_on, false))
			lf_err(err, "FUSE passthrough refused; reads and writes "
				    "take the splice paths");
		return -err;
	}
	return id;
}

/* passthrough_arm() makes this thread's next open or create reply carry
 * backing_id. Call it right before fuse_reply_open()/fuse_reply_create(). */
void passthrough_arm(int backing_id)
{
	pt_armed = backing_id;
}

/* passthrough_close() drops a backing id (at release). Accepts id <= 0. */
void passthrough_close(int backing_id)
{
	uint32_t id = (uint32_t)backing_id;

	if (backing_id <= 0)
		return;
	if (ioctl(pt_devfd, PT_IOC_BACKING_CLOSE, &id) < 0)
		lf_warn("FUSE_DEV_IOC_BACKING_CLOSE %d", backing_id);
}
