/* Umbrella header of the CShim module (imported by Swift as `CShim`). */
#ifndef FIRMVISOR_CSHIM_H
#define FIRMVISOR_CSHIM_H

#include "csr.h"
#include "mmio.h"
#include "frame.h"
#include "sync.h"

#endif /* FIRMVISOR_CSHIM_H */
