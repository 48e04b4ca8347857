// Linux calls Swift's Glibc module does not export (they need _GNU_SOURCE), declared as glibc
// defines them. Used by SystemIO only, behind safe APIs.
#ifndef TOKENGATE_CLINUX_SHIM_H
#define TOKENGATE_CLINUX_SHIM_H
#include <stdint.h>

#if defined(__linux__)
/// sync_file_range(2): start (and optionally wait for) write-back of a byte range.
extern int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags);
/// copy_file_range(2): copies a byte range between files inside the kernel.
extern long copy_file_range(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, unsigned long len, unsigned int flags);
/// memfd_create(2): an anonymous file in memory (never on a file system), gone with its last descriptor.
extern int memfd_create(const char *name, unsigned int flags);
/// fallocate(2): here only to punch holes (free a range of an in-memory file's pages).
extern int fallocate(int fd, int mode, int64_t offset, int64_t len);
#endif

#define TG_FALLOC_FL_KEEP_SIZE 1
#define TG_FALLOC_FL_PUNCH_HOLE 2

#define TG_MFD_CLOEXEC 1u

#define TG_SYNC_FILE_RANGE_WAIT_BEFORE 1u
#define TG_SYNC_FILE_RANGE_WRITE 2u
#define TG_SYNC_FILE_RANGE_WAIT_AFTER 4u

#endif
