// Reads a plugin's descriptor (the `trl_desc` ELF section) and its DT_NEEDED list straight from the file,
// without dlopen: `plugins list`, `plugins info` and every pre-load refusal run no plugin code
// (spec/plugin-abi.md 3.2). Only 64-bit little-endian ELF of the host's machine is read; every offset and
// size taken from the file is bounds-checked, so a truncated or garbage file gives a reason, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "trl/sdk/abi.h"

namespace trl::host {

/// What reading a file's descriptor found.
enum class ElfStatus {
  ok,             ///< an ELF shared object with a trl_desc section of the right size; descriptor is filled
  unreadable,     ///< the file cannot be opened or read (permissions, a folder, vanished)
  not_elf,        ///< no ELF magic: a text file, a script, anything else
  unsupported,    ///< ELF, but another class, byte order, machine or object type than the host's
  malformed,      ///< ELF headers or tables that point outside the file (truncated or corrupt)
  no_descriptor,  ///< a valid ELF object without a trl_desc section: not a plugin
  wrong_size      ///< a trl_desc section whose size is not the ABI's descriptor size
};

/// "ok", "unreadable", "not an ELF file", ... for messages and JSON.
std::string to_string(ElfStatus status);

/// The descriptor and link information of one file.
struct ElfDescriptor {
  ElfStatus status = ElfStatus::unreadable;  ///< what was found
  std::string reason;                        ///< why status is not ok, in words naming the values found; empty when ok
  trl_plugin_descriptor descriptor{};        ///< the section's bytes; meaningful only when status is ok
  std::vector<std::string> needed;           ///< DT_NEEDED sonames in file order; empty if none or unreadable
  uint64_t file_size = 0;                    ///< bytes in the file
};

/// Reads `path`. Never throws for a bad file: the status and reason say what is wrong.
ElfDescriptor read_elf_descriptor(const std::string& path);

/// The same over bytes in memory (the whole file); for tests and fuzzing.
ElfDescriptor parse_elf_descriptor(const uint8_t* data, size_t size);

}  // namespace trl::host
