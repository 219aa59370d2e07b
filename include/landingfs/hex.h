/*
 * hex.h - the value of one hexadecimal digit, for every parser that reads
 * hex (percent-encoding, chunk sizes, token hashes, JSON escapes).
 */
#ifndef LANDINGFS_HEX_H
#define LANDINGFS_HEX_H

/* lf_hexval() returns the value of the digit c (an unsigned char value;
 * either case), or -1 when c is not one. */
static inline int lf_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif /* LANDINGFS_HEX_H */
