// A small <elf.h> reader for the trl_desc section and DT_NEEDED (spec/plugin-abi.md 3.2). It reads only
// what it needs (headers, the section table, two string tables, the descriptor) with pread, so listing a
// folder of large plugins stays cheap, and checks every offset against the file size before reading.
#include "elf_descriptor.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace trl::host {
namespace {

// The only ELF this host can dlopen: 64-bit, little-endian, its own machine.
#if defined(__x86_64__)
constexpr uint16_t kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t kHostMachine = EM_AARCH64;
#else
#error "trl-host reads plugin descriptors only on x86-64 and aarch64"
#endif

std::string machine_name(uint16_t machine) {
  switch (machine) {
    case EM_386: return "i386";
    case EM_ARM: return "arm";
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "aarch64";
    case EM_PPC64: return "ppc64";
    case EM_S390: return "s390";
    case EM_RISCV: return "riscv";
    default: return "machine " + std::to_string(machine);
  }
}

std::string elf_type_name(uint16_t type) {
  switch (type) {
    case ET_REL: return "ET_REL (an object file)";
    case ET_EXEC: return "ET_EXEC (an executable)";
    case ET_CORE: return "ET_CORE (a core dump)";
    default: return "type " + std::to_string(type);
  }
}

// A file or a buffer read at offsets; read() refuses ranges outside it.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  virtual bool read(uint64_t offset, void* out, size_t n) const = 0;
};

class MemorySource : public ByteSource {
 public:
  MemorySource(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint64_t size() const override { return size_; }
  bool read(uint64_t offset, void* out, size_t n) const override {
    if (offset > size_ || n > size_ - offset) return false;
    if (n > 0) std::memcpy(out, data_ + offset, n);
    return true;
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

class FileSource : public ByteSource {
 public:
  FileSource(int fd, uint64_t size) : fd_(fd), size_(size) {}
  ~FileSource() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  bool read(uint64_t offset, void* out, size_t n) const override {
    if (offset > size_ || n > size_ - offset) return false;
    auto* dst = static_cast<uint8_t*>(out);
    while (n > 0) {
      ssize_t got = ::pread(fd_, dst, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;  // shrank under us or an I/O error: the caller reports it as truncated
      dst += got;
      offset += static_cast<uint64_t>(got);
      n -= static_cast<size_t>(got);
    }
    return true;
  }

 private:
  int fd_;
  uint64_t size_;
};

// Thrown inside the parser only, turned into ElfStatus::malformed with its text.
struct Malformed {
  std::string reason;
};

// "what at offset X..Y is past the end of the file (N bytes)", overflow-safe.
void need_range(const ByteSource& src, uint64_t offset, uint64_t length, const std::string& what) {
  if (offset > src.size() || length > src.size() - offset)
    throw Malformed{what + " at offset " + std::to_string(offset) + ".." +
                    std::to_string(offset + length) + " is past the end of the file (" +
                    std::to_string(src.size()) + " bytes): truncated or corrupt ELF"};
}

void read_exact(const ByteSource& src, uint64_t offset, void* out, size_t n, const std::string& what) {
  need_range(src, offset, n, what);
  if (!src.read(offset, out, n)) throw Malformed{"cannot read " + what + " (the file changed while reading?)"};
}

std::vector<char> read_section_bytes(const ByteSource& src, const Elf64_Shdr& sh, const std::string& what) {
  if (sh.sh_type == SHT_NOBITS) throw Malformed{what + " has no contents in the file (SHT_NOBITS)"};
  need_range(src, sh.sh_offset, sh.sh_size, what);
  std::vector<char> bytes(static_cast<size_t>(sh.sh_size));
  read_exact(src, sh.sh_offset, bytes.data(), bytes.size(), what);
  return bytes;
}

// A NUL-terminated string at `offset` inside a string table; the NUL must lie inside the table.
std::string string_at(const std::vector<char>& table, uint64_t offset, const std::string& what) {
  if (offset >= table.size())
    throw Malformed{what + ": string offset " + std::to_string(offset) + " outside its table (" +
                    std::to_string(table.size()) + " bytes)"};
  const char* start = table.data() + offset;
  const void* nul = std::memchr(start, '\0', table.size() - offset);
  if (nul == nullptr) throw Malformed{what + ": string at offset " + std::to_string(offset) + " is not terminated"};
  return std::string(start, static_cast<const char*>(nul));
}

std::vector<Elf64_Shdr> read_section_headers(const ByteSource& src, const Elf64_Ehdr& eh) {
  if (eh.e_shoff == 0) return {};
  if (eh.e_shentsize != sizeof(Elf64_Shdr))
    throw Malformed{"section header entries are " + std::to_string(eh.e_shentsize) + " bytes, expected " +
                    std::to_string(sizeof(Elf64_Shdr))};
  // More than 0xff00 sections: the real count is in section 0's sh_size (ELF gABI, "Sections").
  Elf64_Shdr first{};
  read_exact(src, eh.e_shoff, &first, sizeof first, "section header 0");
  uint64_t count = eh.e_shnum != 0 ? eh.e_shnum : first.sh_size;
  if (count == 0) return {};
  if (count > src.size() / sizeof(Elf64_Shdr))
    throw Malformed{"section count " + std::to_string(count) + " cannot fit in a file of " +
                    std::to_string(src.size()) + " bytes"};
  need_range(src, eh.e_shoff, count * sizeof(Elf64_Shdr), "section header table");
  std::vector<Elf64_Shdr> headers(static_cast<size_t>(count));
  read_exact(src, eh.e_shoff, headers.data(), headers.size() * sizeof(Elf64_Shdr), "section header table");
  return headers;
}

std::vector<std::string> read_needed(const ByteSource& src, const std::vector<Elf64_Shdr>& sections) {
  std::vector<std::string> needed;
  for (const Elf64_Shdr& sh : sections) {
    if (sh.sh_type != SHT_DYNAMIC) continue;
    if (sh.sh_link >= sections.size())
      throw Malformed{".dynamic links to string table " + std::to_string(sh.sh_link) + " of " +
                      std::to_string(sections.size()) + " sections"};
    const std::vector<char> dynstr = read_section_bytes(src, sections[sh.sh_link], ".dynstr");
    need_range(src, sh.sh_offset, sh.sh_size, ".dynamic");
    const uint64_t entries = sh.sh_size / sizeof(Elf64_Dyn);
    for (uint64_t i = 0; i < entries; ++i) {
      Elf64_Dyn dyn{};
      read_exact(src, sh.sh_offset + i * sizeof(Elf64_Dyn), &dyn, sizeof dyn, ".dynamic entry");
      if (dyn.d_tag == DT_NULL) break;
      if (dyn.d_tag == DT_NEEDED) needed.push_back(string_at(dynstr, dyn.d_un.d_val, "DT_NEEDED"));
    }
    break;  // one dynamic section per object
  }
  return needed;
}

ElfDescriptor fail(ElfDescriptor out, ElfStatus status, std::string reason) {
  out.status = status;
  out.reason = std::move(reason);
  return out;
}

ElfDescriptor parse(const ByteSource& src) {
  ElfDescriptor out;
  out.file_size = src.size();
  unsigned char ident[EI_NIDENT] = {};
  const size_t ident_bytes = src.size() < EI_NIDENT ? static_cast<size_t>(src.size()) : EI_NIDENT;
  if (!src.read(0, ident, ident_bytes)) return fail(out, ElfStatus::unreadable, "cannot read the file");
  if (ident_bytes < SELFMAG || std::memcmp(ident, ELFMAG, SELFMAG) != 0)
    return fail(out, ElfStatus::not_elf, "not an ELF file (no \\x7fELF magic at the start)");
  if (ident_bytes < EI_NIDENT)
    return fail(out, ElfStatus::malformed,
                "truncated ELF: the file is " + std::to_string(src.size()) + " bytes, its header needs " +
                    std::to_string(sizeof(Elf64_Ehdr)));
  if (ident[EI_CLASS] != ELFCLASS64)
    return fail(out, ElfStatus::unsupported,
                std::string(ident[EI_CLASS] == ELFCLASS32 ? "32-bit ELF" : "ELF of unknown class " +
                                                                               std::to_string(ident[EI_CLASS])) +
                    "; the host loads only 64-bit " + machine_name(kHostMachine) + " plugins");
  if (ident[EI_DATA] != ELFDATA2LSB)
    return fail(out, ElfStatus::unsupported,
                "big-endian or unknown byte order ELF; the host loads only little-endian " +
                    machine_name(kHostMachine) + " plugins");
  Elf64_Ehdr eh{};
  if (src.size() < sizeof eh)
    return fail(out, ElfStatus::malformed,
                "truncated ELF: the file is " + std::to_string(src.size()) + " bytes, its header needs " +
                    std::to_string(sizeof eh));
  if (!src.read(0, &eh, sizeof eh)) return fail(out, ElfStatus::unreadable, "cannot read the ELF header");
  if (eh.e_machine != kHostMachine)
    return fail(out, ElfStatus::unsupported,
                "ELF for " + machine_name(eh.e_machine) + "; the host is " + machine_name(kHostMachine));
  if (eh.e_type != ET_DYN)
    return fail(out, ElfStatus::unsupported, "not a shared object: ELF " + elf_type_name(eh.e_type));

  try {
    const std::vector<Elf64_Shdr> sections = read_section_headers(src, eh);
    if (sections.empty())
      return fail(out, ElfStatus::no_descriptor, "ELF shared object without section headers: no trl_desc section");
    // Beyond 0xff00 sections the name table's index is in section 0's sh_link (ELF gABI).
    const uint64_t names_index = eh.e_shstrndx == SHN_XINDEX ? sections[0].sh_link : eh.e_shstrndx;
    if (names_index == SHN_UNDEF || names_index >= sections.size())
      throw Malformed{"section name table index " + std::to_string(names_index) + " outside the " +
                      std::to_string(sections.size()) + " sections"};
    const std::vector<char> names = read_section_bytes(src, sections[names_index], "section name table");
    out.needed = read_needed(src, sections);

    const Elf64_Shdr* desc = nullptr;
    for (const Elf64_Shdr& sh : sections) {
      if (sh.sh_name < names.size() && string_at(names, sh.sh_name, "section name") == TRL_DESCRIPTOR_SECTION) {
        desc = &sh;
        break;
      }
    }
    if (desc == nullptr)
      return fail(out, ElfStatus::no_descriptor,
                  "ELF shared object without a " TRL_DESCRIPTOR_SECTION " section: not a trl-host plugin");
    if (desc->sh_type == SHT_NOBITS)
      throw Malformed{TRL_DESCRIPTOR_SECTION " section has no contents in the file (SHT_NOBITS)"};
    if (desc->sh_size != TRL_DESCRIPTOR_SIZE)
      return fail(out, ElfStatus::wrong_size,
                  TRL_DESCRIPTOR_SECTION " section is " + std::to_string(desc->sh_size) + " bytes, the host expects " +
                      std::to_string(TRL_DESCRIPTOR_SIZE) + " (a descriptor of another ABI, or not one descriptor)");
    read_exact(src, desc->sh_offset, &out.descriptor, sizeof out.descriptor, TRL_DESCRIPTOR_SECTION " section");
  } catch (const Malformed& m) {
    return fail(out, ElfStatus::malformed, m.reason);
  }
  out.status = ElfStatus::ok;
  return out;
}

}  // namespace

std::string to_string(ElfStatus status) {
  switch (status) {
    case ElfStatus::ok: return "ok";
    case ElfStatus::unreadable: return "unreadable";
    case ElfStatus::not_elf: return "not an ELF file";
    case ElfStatus::unsupported: return "unsupported ELF";
    case ElfStatus::malformed: return "malformed ELF";
    case ElfStatus::no_descriptor: return "no descriptor";
    case ElfStatus::wrong_size: return "descriptor of wrong size";
  }
  return "unknown";
}

ElfDescriptor parse_elf_descriptor(const uint8_t* data, size_t size) {
  return parse(MemorySource(data, size));
}

ElfDescriptor read_elf_descriptor(const std::string& path) {
  ElfDescriptor out;
  // O_NONBLOCK: a FIFO named like a plugin must not block the listing waiting for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return fail(out, ElfStatus::unreadable, "cannot open: " + std::string(std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const std::string why = S_ISDIR(st.st_mode) ? "a folder, not a file" : "not a regular file";
    ::close(fd);
    return fail(out, ElfStatus::unreadable, why);
  }
  return parse(FileSource(fd, static_cast<uint64_t>(st.st_size)));
}

}  // namespace trl::host
