/*
 * version.h - the release every program of landingfs reports (--version).
 */
#ifndef LANDINGFS_VERSION_H
#define LANDINGFS_VERSION_H

#define LANDINGFS_VERSION "0.1.0"

#endif /* LANDINGFS_VERSION_H */
