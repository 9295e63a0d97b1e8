/*
 * The symbol-table reader behind lp_func_register_object (ABI/AutomaticHooksAPI.swift):
 * which functions a loaded object defines and where they are loaded. C over
 * elfutils' libelf and dl_iterate_phdr; the registering stays in Swift.
 */
#ifndef LPS_ELF_SHIM_H
#define LPS_ELF_SHIM_H

#include <stdint.h>

/* Called once per function: its registration name, the name to register it
 * under when another function took that one (NULL: none), and its loaded
 * address. A nonzero return stops the walk and is returned by
 * lps_elf_for_each_function. */
typedef int (*lps_elf_function_cb)(const char *name, const char *fallback, const void *addr, void *ctx);

/* Calls cb for each function of the loaded object (NULL: the main
 * executable; else its path as loaded, or that path's file name) whose
 * registration name matches name_glob (fnmatch; NULL: all). 0 or cb's
 * nonzero return; -ENOENT no such object loaded, -ENOEXEC its file is not
 * readable as ELF or has no symbol table, -ENOMEM. */
int lps_elf_for_each_function(const char *object, const char *name_glob, lps_elf_function_cb cb, void *ctx);

/* Calls cb for every defined function symbol of nonzero size in an ELF
 * file's symbol table (.symtab, else .dynsym when the file is stripped):
 * its name, "file.c:name" for a local one whose STT_FILE is known (else
 * NULL), its value and size. 0, cb's nonzero return, or -ENOEXEC: no
 * symbol table. */
struct Elf;
typedef int (*lps_elf_symbol_cb)(const char *name, const char *qualified, uint64_t value, uint64_t size, void *ctx);
int lps_elf_for_each_function_symbol(struct Elf *elf, lps_elf_symbol_cb cb, void *ctx);

#endif
