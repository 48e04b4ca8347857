#ifndef TOKENGATE_CPKCS11_SHIM_H
#define TOKENGATE_CPKCS11_SHIM_H
#include <dlfcn.h>
/* p11-kit's pkcs11.h #defines lowercase compatibility names: include it last. */
#include <p11-kit/pkcs11.h>
#endif
