/*
 * recv_splice.c - the bare splice receiver of the ingest bench: socket ->
 * 1 MiB pipe -> file with splice(2), no HTTP beyond the head. The physical
 * limit of landingfs's data path on this machine.
 *
 *   recv_splice PORT DIR
 */
#include "recv_common.h"

static int pfd[2] = { -1, -1 };

static int body(int sock, int out, long long len)
{
	if (pfd[0] < 0) {
		if (pipe2(pfd, O_CLOEXEC) < 0)
			return -1;
		fcntl(pfd[1], F_SETPIPE_SZ, 1 << 20);
	}
	while (len > 0) {
		ssize_t n = splice(sock, NULL, pfd[1], NULL,
				   len < (1 << 20) ? (size_t)len : (1 << 20),
				   SPLICE_F_MOVE);

		if (n <= 0)
			return -1;
		len -= n;
		while (n > 0) {
			ssize_t m = splice(pfd[0], NULL, out, NULL, (size_t)n,
					   SPLICE_F_MOVE);

			if (m <= 0)
				return -1;
			n -= m;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	return rc_serve(argc, argv, body);
}
