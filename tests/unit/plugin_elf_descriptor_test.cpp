// The pre-load ELF reader: reads trl_desc and DT_NEEDED from real fixture files, and gives a reason
// (never a crash) for anything else: text, truncation, other classes and machines, corrupt tables.
#include <elf.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "elf_descriptor.h"
#include "plugin_checks.h"
#include "plugin_test_support.h"

namespace {

using trl::host::ElfStatus;
using trl::host::parse_elf_descriptor;
using trl::host::read_elf_descriptor;

trl::host::ElfDescriptor parse(const std::vector<uint8_t>& bytes) {
  return parse_elf_descriptor(bytes.data(), bytes.size());
}

// Offset of the section header named `name` in a well-formed 64-bit ELF image (for patching it).
size_t section_header_offset(const std::vector<uint8_t>& bytes, const std::string& name) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  Elf64_Shdr names;
  std::memcpy(&names, bytes.data() + eh.e_shoff + eh.e_shstrndx * sizeof(Elf64_Shdr), sizeof names);
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    const size_t at = eh.e_shoff + i * sizeof(Elf64_Shdr);
    std::memcpy(&sh, bytes.data() + at, sizeof sh);
    if (name == reinterpret_cast<const char*>(bytes.data() + names.sh_offset + sh.sh_name)) return at;
  }
  return 0;
}

TEST(ElfDescriptor, ReadsDescriptorAndNeededFromFixture) {
  const auto d = read_elf_descriptor(plugin_test::fixture("stable"));
  ASSERT_EQ(d.status, ElfStatus::ok) << d.reason;
  EXPECT_EQ(trl::host::fixed_text(d.descriptor.name, sizeof d.descriptor.name), "fixture_stable");
  EXPECT_EQ(trl::host::fixed_text(d.descriptor.version, sizeof d.descriptor.version), "1.2.3");
  EXPECT_EQ(d.descriptor.stability, static_cast<uint32_t>(TRL_STABILITY_STABLE));
  EXPECT_EQ(d.descriptor.num_components, 4u);
  EXPECT_NE(std::find(d.needed.begin(), d.needed.end(), "libtrl_sdk.so.1"), d.needed.end())
      << "DT_NEEDED should name the SDK";
  EXPECT_EQ(d.file_size, plugin_test::read_bytes(plugin_test::fixture("stable")).size());
  EXPECT_TRUE(d.reason.empty());
}

TEST(ElfDescriptor, FileAndMemoryReadersAgree) {
  const std::vector<uint8_t> bytes = plugin_test::read_bytes(plugin_test::fixture("experimental"));
  const auto from_file = read_elf_descriptor(plugin_test::fixture("experimental"));
  const auto from_memory = parse(bytes);
  ASSERT_EQ(from_memory.status, ElfStatus::ok);
  EXPECT_EQ(std::memcmp(&from_file.descriptor, &from_memory.descriptor, sizeof from_file.descriptor), 0);
  EXPECT_EQ(from_file.needed, from_memory.needed);
}

TEST(ElfDescriptor, TextFileIsNotElf) {
  const std::string text = "#!/bin/sh\necho this is not a plugin\n";
  const auto d = parse(std::vector<uint8_t>(text.begin(), text.end()));
  EXPECT_EQ(d.status, ElfStatus::not_elf);
  EXPECT_NE(d.reason.find("not an ELF file"), std::string::npos) << d.reason;
}

TEST(ElfDescriptor, EmptyFileIsNotElf) {
  EXPECT_EQ(parse({}).status, ElfStatus::not_elf);
}

TEST(ElfDescriptor, TruncatedHeaderIsMalformed) {
  std::vector<uint8_t> bytes = plugin_test::read_bytes(plugin_test::fixture("stable"));
  bytes.resize(40);
  const auto d = parse(bytes);
  EXPECT_EQ(d.status, ElfStatus::malformed);
  EXPECT_NE(d.reason.find("the file is 40 bytes"), std::string::npos) << d.reason;
}

TEST(ElfDescriptor, TruncatedFileIsMalformed) {
  std::vector<uint8_t> bytes = plugin_test::read_bytes(plugin_test::fixture("stable"));
  bytes.resize(bytes.size() / 2);  // the section header table sits at the end
  const auto d = parse(bytes);
  EXPECT_EQ(d.status, ElfStatus::malformed);
  EXPECT_NE(d.reason.find("past the end of the file"), std::string::npos) << d.reason;
}

TEST(ElfDescriptor, RefusesThirtyTwoBitElf) {
  std::vector<uint8_t> bytes = plugin_test::read_bytes(plugin_test::fixture("stable"));
  bytes[EI_CLASS] = ELFCLASS32;
  const auto d = parse(bytes);
  EXPECT_EQ(d.status, ElfStatus::unsupported);
  EXPECT_NE(d.reason.find("32-bit ELF"), std::string::npos) << d.reason;
}

TEST(ElfDescriptor, RefusesBigEndianElf) {
  std::vector<uint8_t> bytes = plugin_test::read_bytes(plugin_test::fixture("stable"));
  bytes[EI_DATA] = ELFDATA2MSB;
  const auto d = parse(bytes);
  EXPECT_EQ(d.status, ElfStatus::unsupported);
  EXPECT_NE(d.reason.find("big-endian"), std::string::npos) << d.reason;
}

TEST(ElfDescriptor, RefusesOtherMachine) {
  std::vector<uint8_t> bytes = plugin_test::read_bytes(plugin_test::fixture("stable"));
  const uint16_t machine = EM_RISCV;
  std::memcpy(bytes.data() + offsetof(Elf64_Ehdr, e_machine), &machine, sizeof machine);
  const auto d = parse(bytes);
  EXPECT_EQ(d.status, ElfStatus::unsupported);
  EXPECT_NE(d.reason.find("ELF for riscv"), std::string::npos) << d.reason;
}

TEST(ElfDescriptor, RefusesExecutable) {
  std::vector<uint8_t> bytes = plugin_test::read_bytes(plugin_test::fixture("stable"));
  const uint16_t type = ET_EXEC;
  std::memcpy(bytes.data() + offsetof(Elf64_Ehdr, e_type), &type, sizeof type);
  const auto d = parse(bytes);
  EXPECT_EQ(d.status, ElfStatus::unsupported);
  EXPECT_NE(d.reason.find("ET_EXEC"), std::string::npos) << d.reason;
}

TEST(ElfDescriptor, LibraryWithoutSectionIsNoDescriptor) {
  const auto d = read_elf_descriptor(plugin_test::fixture("no_descriptor"));
  EXPECT_EQ(d.status, ElfStatus::no_descriptor);
  EXPECT_NE(d.reason.find("without a trl_desc section"), std::string::npos) << d.reason;
  EXPECT_FALSE(d.needed.empty()) << "DT_NEEDED is read for any shared object";
}

TEST(ElfDescriptor, SectionOfWrongSizeIsReported) {
  const auto d = read_elf_descriptor(plugin_test::fixture("wrong_size"));
  EXPECT_EQ(d.status, ElfStatus::wrong_size);
  EXPECT_NE(d.reason.find("the host expects 2048"), std::string::npos) << d.reason;
}

TEST(ElfDescriptor, SectionPastEndOfFileIsMalformed) {
  std::vector<uint8_t> bytes = plugin_test::read_bytes(plugin_test::fixture("stable"));
  const size_t at = section_header_offset(bytes, "trl_desc");
  ASSERT_NE(at, 0u);
  const uint64_t offset = bytes.size() - 100;  // starts inside the file, ends 1948 bytes past it
  std::memcpy(bytes.data() + at + offsetof(Elf64_Shdr, sh_offset), &offset, sizeof offset);
  const auto d = parse(bytes);
  EXPECT_EQ(d.status, ElfStatus::malformed);
  EXPECT_NE(d.reason.find("trl_desc section at offset"), std::string::npos) << d.reason;
}

TEST(ElfDescriptor, HugeSectionCountIsMalformed) {
  std::vector<uint8_t> bytes = plugin_test::read_bytes(plugin_test::fixture("stable"));
  const uint16_t count = 0xfeff;
  std::memcpy(bytes.data() + offsetof(Elf64_Ehdr, e_shnum), &count, sizeof count);
  const auto d = parse(bytes);
  EXPECT_EQ(d.status, ElfStatus::malformed);
  EXPECT_FALSE(d.reason.empty());
}

TEST(ElfDescriptor, MissingFileIsUnreadable) {
  const auto d = read_elf_descriptor("/nonexistent/trl/plugin.so");
  EXPECT_EQ(d.status, ElfStatus::unreadable);
  EXPECT_NE(d.reason.find("No such file"), std::string::npos) << d.reason;
}

TEST(ElfDescriptor, FolderIsUnreadable) {
  const auto d = read_elf_descriptor(TRL_FIXTURE_PLUGIN_DIR);
  EXPECT_EQ(d.status, ElfStatus::unreadable);
  EXPECT_NE(d.reason.find("folder"), std::string::npos) << d.reason;
}

TEST(ElfDescriptor, FifoIsUnreadableWithoutBlocking) {
  plugin_test::TempDir tmp;
  const std::string fifo = tmp.path() + "/pipe.so";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto d = read_elf_descriptor(fifo);
  EXPECT_EQ(d.status, ElfStatus::unreadable);
  EXPECT_EQ(d.reason, "not a regular file");
}

// Every prefix length and thousands of random corruptions of the headers and tables: the reader must
// classify each one and explain every non-ok result (ASan/UBSan builds turn overreads into failures).
TEST(ElfDescriptor, CorruptedFilesAlwaysGiveAReason) {
  const std::vector<uint8_t> original = plugin_test::read_bytes(plugin_test::fixture("stable"));
  auto explained = [](const trl::host::ElfDescriptor& d) { return d.status == ElfStatus::ok || !d.reason.empty(); };
  for (size_t n = 0; n < original.size(); n += 1 + n / 8) {
    const auto d = parse_elf_descriptor(original.data(), n);
    ASSERT_NE(d.status, ElfStatus::ok) << "a " << n << "-byte prefix cannot hold the section table";
    ASSERT_TRUE(explained(d)) << "prefix " << n;
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, original.data(), sizeof eh);
  const size_t table_end = eh.e_shoff + eh.e_shnum * sizeof(Elf64_Shdr);
  std::mt19937 rng(1234);
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> bytes = original;
    for (int k = 0; k < 4; ++k) {
      // Half the flips in the ELF header, half in the section header table.
      const size_t at = (k % 2 == 0) ? rng() % sizeof(Elf64_Ehdr) : eh.e_shoff + rng() % (table_end - eh.e_shoff);
      bytes[at] = static_cast<uint8_t>(rng());
    }
    const auto d = parse(bytes);
    ASSERT_TRUE(explained(d)) << "round " << round;
  }
}

}  // namespace
