/*
 * recv_plain.c - the "current method" of the 2006 splice proposal, as a
 * yardstick for the ingest bench: read() the socket into a 1 MiB user
 * buffer, write() it to the file.
 *
 *   recv_plain PORT DIR
 */
#include "recv_common.h"

#define BUF (1 << 20)

static char buf[BUF];

static int body(int sock, int out, long long len)
{
	while (len > 0) {
		ssize_t n = read(sock, buf, len < BUF ? (size_t)len : BUF);

		if (n <= 0)
			return -1;
		len -= n;
		for (ssize_t w = 0; w < n;) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));

			if (k <= 0)
				return -1;
			w += k;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	return rc_serve(argc, argv, body);
}
