/*
 * identity.h - what network a checkpoint was written by, in its metadata,
 * and the checks of a checkpoint against the network that reads it.
 *
 *   network   net->name ("resnet18")
 *   input     HxWxC
 *   batch     images a step
 *   n_classes outputs
 *   layers    CRC32 of the layer table (names, ops, channels, kernels,
 *             strides, padding): another variant or width of the same
 *             network differs here even where the names do not
 *   abi       FN_ABI_VERSION of the generated code
 *   target    the code generation target ("avx512")
 *
 * ResNets end in a global average pool, so their tensors fit any input size:
 * only the metadata tells that weights trained at 48x48 now run at 32x32.
 */
#ifndef FN_IDENTITY_H
#define FN_IDENTITY_H

#include "flatnet.h"
#include "safetensors.h"

void id_record(const fn_network *net, fn_st_meta *meta);

/* Warns on stderr ("command: warning: ...") when the checkpoint at path
   recorded another input size than net's. */
void id_warn_input(const char *command, const char *flag, const char *path,
                   const fn_network *net, const fn_st_meta *meta);

/* --resume: refuses (-1 after a message naming both) a checkpoint trained
   with another batch or input size, whose saved position would then count
   other images; warns when the layers differ. */
int id_check_resume(const fn_network *net, const char *path, const fn_st_meta *meta);

#endif
