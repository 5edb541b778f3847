/*
 * ckpt.h - a network's checkpoints as safetensors files.
 *
 *   FILE                 every tensor of fn_network.tensors under torchvision's
 *                        name and shape (num_batches_tracked as I64 = steps
 *                        trained), nothing else, so torchvision's
 *                        load_state_dict(strict=True) takes it as is; training
 *                        state in __metadata__
 *   FILE.optim (sibling) the optimizer's slots, "<tensor>.<slot>" (torch's state
 *                        names), with the same "id" in its metadata as FILE
 *
 * "model.safetensors" has the sibling "model.optim.safetensors".  Both are
 * written to temporary files first (fsynced), then renamed into place, the
 * sibling first: FILE is always a complete checkpoint, and a crash leaves the
 * old pair or the new pair.  Between the two renames the old sibling stays
 * linked as FILE.optim.prev ("model.optim.prev.safetensors"), so a crash
 * there leaves the old checkpoint with its state in that file, where
 * resuming finds it; a finished save removes it.
 */
#ifndef FN_CKPT_H
#define FN_CKPT_H

#include <stdio.h>

#include "model.h"
#include "optim.h"
#include "safetensors.h"

/* path with tag before its extension: ("a/m.safetensors", "best") -> "a/m.best.safetensors";
   a path without an extension gets ".tag". */
void fn_ckpt_sibling(const char *path, const char *tag, char *out, size_t size);

/* Writes the optimizer sibling (when opt is not NULL) and then path.  meta gets
   a fresh "id" and is written into both. */
int fn_ckpt_save(const char *path, fn_model *m, const fn_optim *opt, fn_st_meta *meta, char *err,
                 size_t err_size);

/* Loads every tensor; the file must hold exactly the network's tensors with
   their shapes in F32 (I64 for num_batches_tracked).  Nothing is changed when
   it does not.  meta (may be NULL) gets the file's metadata. */
int fn_ckpt_load(const char *path, fn_model *m, fn_st_meta *meta, char *err, size_t err_size);

/* Loads the optimizer state that belongs to the checkpoint at path whose
   metadata is meta; sets opt->step. */
int fn_ckpt_load_optim(const char *path, const fn_st_meta *meta, fn_model *m, fn_optim *opt,
                       char *err, size_t err_size);

/* Starts from another file's weights: loads each tensor whose name, shape and
   dtype match, and reports each one skipped on report; warns when fewer than
   half load, or the file was trained at another input size.  strict: any
   tensor that does not match, or a file tensor the network lacks, is an
   error and nothing loads.  -1 when the file is unreadable or not one tensor
   matched. */
int fn_ckpt_init_from(const char *path, fn_model *m, int strict, FILE *report, char *err,
                      size_t err_size);

#endif
