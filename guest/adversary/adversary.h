/* Firmvisor adversarial firmware: constants shared by C and assembly. */
#ifndef ADVERSARY_H
#define ADVERSARY_H

#define ADV_MAX_HARTS        8
#define ADV_STACK_SIZE       12288
#define ADV_TRAP_STACK_SIZE  4096
/* Optional parameters (scripts/adversary): magic, seed, number of random
   words, flood iterations, at this address (above this firmware, clear of
   the monitor's load image, natively and under the monitor alike). */
#define PARAM_ADDR   0x80180000
#define PARAM_MAGIC  0x31564441     /* "ADV1" */

#define SAVE_SLOT    256            /* bytes of register save area per hart */

#endif
