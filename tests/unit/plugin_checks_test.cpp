// The pre-load rules on descriptors built by TRL_PLUGIN's own make_descriptor, one field changed per
// test: each refusal names the rule, what the plugin has and what the host needs.
#include <gtest/gtest.h>

#include "plugin_checks.h"
#include "trl/sdk/plugin.h"

namespace {

using trl::host::check_descriptor;
using trl::host::first_refusal;
using trl::host::HostAbi;

// What TRL_PLUGIN_STABLE("sample", ...) with a reward and a group filter writes.
trl_plugin_descriptor valid() {
  return trl::plugin_detail::make_descriptor(TRL_STABILITY_STABLE, "sample", "1.2.3", "Apache-2.0", "a sample",
                                             {TRL_REWARD("length"), TRL_GROUP_FILTER("shortest")});
}

// A host at SDK ABI 1.0 on LibTorch 1.13.1 with the C++11 ABI: the numbers the messages below name.
HostAbi host() {
  HostAbi h;
  h.abi_major = 1;
  h.abi_minor = 0;
  h.abi_patch = 0;
  h.descriptor_version = 1;
  h.torch_major = 1;
  h.torch_minor = 13;
  h.torch_patch = 1;
  h.cxx11_abi = 1;
  return h;
}

// The same descriptor, as if built against the test host's versions.
trl_plugin_descriptor valid_for_host() {
  trl_plugin_descriptor d = valid();
  d.abi_major = 1;
  d.abi_minor = 0;
  d.torch_major = 1;
  d.torch_minor = 13;
  d.torch_patch = 1;
  d.cxx11_abi = 1;
  return d;
}

std::string refusal(const trl_plugin_descriptor& d) {
  auto r = first_refusal(d, host());
  return r ? r->rule + ": " + r->reason : "";
}

TEST(PluginChecks, MacroDescriptorPassesEveryRule) {
  EXPECT_FALSE(first_refusal(valid(), trl::host::host_abi()).has_value()) << refusal(valid());
  for (const auto& v : check_descriptor(valid_for_host(), host())) EXPECT_TRUE(v.pass) << v.rule << ": " << v.reason;
}

TEST(PluginChecks, RulesComeInTheDesignOrder) {
  std::vector<std::string> rules;
  for (const auto& v : check_descriptor(valid_for_host(), host())) rules.push_back(v.rule);
  const std::vector<std::string> expected = {"magic",    "descriptor size", "descriptor version", "SDK ABI major",
                                             "SDK ABI minor", "C++ ABI",   "LibTorch",           "stability",
                                             "name",     "version",         "text fields",        "components",
                                             "reserved"};
  EXPECT_EQ(rules, expected);
}

TEST(PluginChecks, RefusesNewerAbiMinorWithOneLine) {
  trl_plugin_descriptor d = valid_for_host();
  d.abi_minor = 3;
  auto r = first_refusal(d, host());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(trl::host::refusal_line("/x/libfoo.so", *r),
            "refused /x/libfoo.so: SDK ABI minor: plugin built against 1.3, host supports up to 1.0");
  EXPECT_EQ(r->plugin, "1.3");
  EXPECT_EQ(r->host, "<= 1.0");
}

TEST(PluginChecks, AcceptsOlderAbiMinorAndIgnoresPatch) {
  HostAbi h = host();
  h.abi_minor = 4;
  trl_plugin_descriptor d = valid_for_host();
  d.abi_minor = 2;
  d.abi_patch = 99;
  EXPECT_FALSE(first_refusal(d, h).has_value());
}

TEST(PluginChecks, RefusesOtherAbiMajor) {
  trl_plugin_descriptor d = valid_for_host();
  d.abi_major = 2;
  EXPECT_EQ(refusal(d), "SDK ABI major: plugin built against SDK ABI 2.0, host has ABI 1.x (majors must be equal)");
}

TEST(PluginChecks, AbiMajorIsReportedBeforeLaterRules) {
  trl_plugin_descriptor d = valid_for_host();
  d.abi_major = 0;
  d.stability = 9;
  d.torch_minor = 1;
  EXPECT_EQ(first_refusal(d, host())->rule, "SDK ABI major");
}

TEST(PluginChecks, RefusesBadMagic) {
  trl_plugin_descriptor d = valid_for_host();
  d.magic[0] = 'X';
  EXPECT_EQ(refusal(d), "magic: descriptor starts with \"XRLPLUG\", host expects \"TRLPLUG\"");
}

TEST(PluginChecks, RefusesOtherDescriptorSize) {
  trl_plugin_descriptor d = valid_for_host();
  d.descriptor_size = 1024;
  EXPECT_EQ(refusal(d), "descriptor size: descriptor declares 1024 bytes, host expects 2048");
}

TEST(PluginChecks, RefusesDescriptorVersionZero) {
  trl_plugin_descriptor d = valid_for_host();
  d.descriptor_version = 0;
  EXPECT_EQ(first_refusal(d, host())->rule, "descriptor version");
}

TEST(PluginChecks, RefusesOtherCxx11Abi) {
  trl_plugin_descriptor d = valid_for_host();
  d.cxx11_abi = 0;
  EXPECT_EQ(refusal(d),
            "C++ ABI: plugin built with _GLIBCXX_USE_CXX11_ABI=0, host uses 1 (std::string layouts differ)");
}

TEST(PluginChecks, RefusesOtherTorchMinor) {
  trl_plugin_descriptor d = valid_for_host();
  d.torch_minor = 12;
  EXPECT_EQ(refusal(d), "LibTorch: plugin built against LibTorch 1.12.1, host runs 1.13.1 (major.minor must be equal)");
}

TEST(PluginChecks, AcceptsOtherTorchPatch) {
  trl_plugin_descriptor d = valid_for_host();
  d.torch_patch = 0;
  EXPECT_FALSE(first_refusal(d, host()).has_value());
}

TEST(PluginChecks, RefusesUnknownStability) {
  trl_plugin_descriptor d = valid_for_host();
  d.stability = TRL_STABILITY_INVALID;
  EXPECT_EQ(refusal(d), "stability: plugin declares stability 0, host knows 1 (stable) and 2 (experimental)");
}

TEST(PluginChecks, RefusesInvalidPluginName) {
  trl_plugin_descriptor d = valid_for_host();
  std::memcpy(d.name, "Bad-Name", 9);
  EXPECT_EQ(refusal(d), "name: plugin name \"Bad-Name\" does not match [a-z0-9_]+");
}

TEST(PluginChecks, RefusesUnterminatedName) {
  trl_plugin_descriptor d = valid_for_host();
  std::memset(d.name, 'a', sizeof d.name);
  auto r = first_refusal(d, host());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->rule, "name");
  EXPECT_NE(r->reason.find("not NUL-terminated"), std::string::npos) << r->reason;
}

TEST(PluginChecks, RefusesNonSemverVersion) {
  trl_plugin_descriptor d = valid_for_host();
  std::memset(d.version, 0, sizeof d.version);
  std::memcpy(d.version, "1.2", 3);
  EXPECT_EQ(refusal(d), "version: plugin version \"1.2\" is not semver");
}

TEST(PluginChecks, RefusesUnterminatedDescription) {
  trl_plugin_descriptor d = valid_for_host();
  std::memset(d.description, 'x', sizeof d.description);
  EXPECT_EQ(refusal(d), "text fields: the description field is not NUL-terminated");
}

TEST(PluginChecks, RefusesNoComponents) {
  trl_plugin_descriptor d = valid_for_host();
  std::memset(d.components, 0, sizeof d.components);
  d.num_components = 0;
  EXPECT_EQ(refusal(d), "components: plugin declares 0 components, host accepts 1..16");
}

TEST(PluginChecks, RefusesTooManyComponents) {
  trl_plugin_descriptor d = valid_for_host();
  d.num_components = 17;
  EXPECT_EQ(refusal(d), "components: plugin declares 17 components, host accepts 1..16");
}

TEST(PluginChecks, RefusesUnknownComponentKind) {
  trl_plugin_descriptor d = valid_for_host();
  d.components[1].kind = 9;
  EXPECT_EQ(refusal(d), "components: component 1 has kind 9, host knows 1 (trainer) .. 4 (group_filter)");
}

TEST(PluginChecks, RefusesInvalidComponentName) {
  trl_plugin_descriptor d = valid_for_host();
  std::memcpy(d.components[0].name, "Length", 7);
  EXPECT_EQ(refusal(d), "components: component 0 (reward) name \"Length\" does not match [a-z0-9_]+");
}

TEST(PluginChecks, RefusesDuplicateComponent) {
  trl_plugin_descriptor d = valid_for_host();
  d.components[1] = d.components[0];
  EXPECT_EQ(refusal(d), "components: reward 'length' is declared twice");
}

TEST(PluginChecks, AllowsSameNameInDifferentKinds) {
  trl_plugin_descriptor d = valid_for_host();
  std::memcpy(d.components[1].name, "length", 7);
  EXPECT_FALSE(first_refusal(d, host()).has_value()) << refusal(d);
}

TEST(PluginChecks, RefusesUnterminatedComponentName) {
  trl_plugin_descriptor d = valid_for_host();
  std::memset(d.components[0].name, 'a', sizeof d.components[0].name);
  EXPECT_EQ(refusal(d), "components: component 0 name is not NUL-terminated");
}

TEST(PluginChecks, RefusesGarbageInUnusedComponentSlot) {
  trl_plugin_descriptor d = valid_for_host();
  d.components[5].kind = TRL_KIND_REWARD;
  EXPECT_EQ(refusal(d), "components: slot 5 is past num_components=2 but not zeroed");
}

TEST(PluginChecks, RefusesNonZeroReservedBytes) {
  trl_plugin_descriptor d = valid_for_host();
  d.reserved[100] = 1;
  EXPECT_EQ(first_refusal(d, host())->rule, "reserved");
}

TEST(PluginChecks, NewerLayoutMayUseReservedBytes) {
  trl_plugin_descriptor d = valid_for_host();
  d.descriptor_version = 2;
  d.reserved[0] = 7;
  EXPECT_FALSE(first_refusal(d, host()).has_value()) << refusal(d);
}

TEST(PluginChecks, HostAbiIsTheCompiledOne) {
  const HostAbi h = trl::host::host_abi();
  EXPECT_EQ(h.abi_major, static_cast<uint32_t>(TRL_SDK_ABI_MAJOR));
  EXPECT_EQ(h.abi_minor, static_cast<uint32_t>(TRL_SDK_ABI_MINOR));
  EXPECT_EQ(h.torch_major, static_cast<uint32_t>(TORCH_VERSION_MAJOR));
  EXPECT_EQ(h.torch_minor, static_cast<uint32_t>(TORCH_VERSION_MINOR));
  EXPECT_EQ(h.cxx11_abi, static_cast<uint32_t>(_GLIBCXX_USE_CXX11_ABI));
}

TEST(PluginChecks, SemverFollowsTheSpecGrammar) {
  for (const char* ok : {"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7",
                         "1.0.0-x.7.z.92", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85"})
    EXPECT_TRUE(trl::host::is_semver(ok)) << ok;
  for (const char* bad : {"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.3-", "1.2.3-01", "1.2.3+", "v1.2.3",
                          "1.2.3 "})
    EXPECT_FALSE(trl::host::is_semver(bad)) << bad;
}

TEST(PluginChecks, NamesAreLowercaseDigitsUnderscore) {
  EXPECT_TRUE(trl::host::is_valid_name("dpo"));
  EXPECT_TRUE(trl::host::is_valid_name("token_efficiency_2"));
  EXPECT_FALSE(trl::host::is_valid_name(""));
  EXPECT_FALSE(trl::host::is_valid_name("DPO"));
  EXPECT_FALSE(trl::host::is_valid_name("a-b"));
  EXPECT_FALSE(trl::host::is_valid_name("a b"));
}

}  // namespace
