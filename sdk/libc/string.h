/* string.h — the part of the C library's string.h that SDK programs get
 * (sdk/libc/libc.c implements it). `jark cc` puts this directory on the
 * system include path for PVM builds only. */
#ifndef JARK_SDK_STRING_H
#define JARK_SDK_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
