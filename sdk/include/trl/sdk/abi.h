/* trl/sdk/abi.h: the C boundary between trl-host and a plugin.
 *
 * A plugin is a shared library that exports exactly three C symbols:
 *   trl_plugin_descriptor_v1   data: what the plugin is, read by the host from the file before dlopen
 *   trl_plugin_init_v1         registers the plugin's component factories into the host's registry
 *   trl_plugin_shutdown_v1     called once at process exit, in reverse load order
 * The ABI major is in the symbol names so that a host of another major can still find them and say why
 * it refuses. Everything here is plain C: no pointers in the descriptor, no exceptions across the line.
 * C++ interfaces (plugin.h) are used only after the host has checked the descriptor.
 *
 * Plugin authors do not fill the descriptor by hand: TRL_PLUGIN in plugin.h does it, and the build
 * (trl_add_plugin in the SDK's CMake package) supplies every version field.
 * Compatibility rules: docs/abi-policy.md. This file only ever grows (append-only within a major). */
#ifndef TRL_SDK_ABI_H
#define TRL_SDK_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "trl/sdk/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bytes 0..7 of every descriptor: "TRLPLUG" and a NUL. */
#define TRL_PLUGIN_MAGIC "TRLPLUG"
/** Layout version of trl_plugin_descriptor; bumped when fields are appended into the reserved area. */
#define TRL_DESCRIPTOR_VERSION 1u
/** ELF section holding the descriptor, so the host can read it without running plugin code. */
#define TRL_DESCRIPTOR_SECTION "trl_desc"
/** Most components one plugin may declare. */
#define TRL_MAX_COMPONENTS 16
/** Size of the descriptor's short text fields (name, license, compiler), NUL included. */
#define TRL_SHORT_TEXT 64
/** Size of a component name, NUL included. */
#define TRL_COMPONENT_NAME 60

/** Whether a plugin promises a stable API (stable) or may change or vanish in any release (experimental). */
typedef enum trl_stability {
  TRL_STABILITY_INVALID = 0,      /**< never valid; a zeroed descriptor is refused */
  TRL_STABILITY_STABLE = 1,       /**< the plugin's names, parameters and outputs follow semver */
  TRL_STABILITY_EXPERIMENTAL = 2  /**< the host warns once per process when it is used */
} trl_stability;

/** What a component is; run configs name components by kind and name. */
typedef enum trl_component_kind {
  TRL_KIND_NONE = 0,          /**< unused slot */
  TRL_KIND_TRAINER = 1,       /**< supplies the loss and batches to the SDK's training loop */
  TRL_KIND_CALLBACK = 2,      /**< observes and steers the training loop's events */
  TRL_KIND_REWARD = 3,        /**< scores completions (GRPO/GFPO) */
  TRL_KIND_GROUP_FILTER = 4   /**< scores completions within a prompt's group (GFPO) */
} trl_component_kind;

/** One declared component: its kind and its name, unique within the kind. 64 bytes. */
typedef struct trl_component_decl {
  uint32_t kind;                   /**< a trl_component_kind */
  char name[TRL_COMPONENT_NAME];   /**< NUL-terminated, [a-z0-9_]+ */
} trl_component_decl;

/** Everything the host needs to decide whether to load a plugin. Fixed size, no pointers, so it can be
 *  read straight from the file. Text fields are NUL-terminated UTF-8; unused bytes are zero. */
typedef struct trl_plugin_descriptor {
  char magic[8];                  /**< TRL_PLUGIN_MAGIC */
  uint32_t descriptor_size;       /**< sizeof(trl_plugin_descriptor) as the plugin saw it */
  uint32_t descriptor_version;    /**< TRL_DESCRIPTOR_VERSION as the plugin saw it */
  uint32_t abi_major;             /**< SDK ABI the plugin was built against: major must equal the host's */
  uint32_t abi_minor;             /**< ... minor must be <= the host's */
  uint32_t abi_patch;             /**< ... patch is informational */
  uint32_t stability;             /**< a trl_stability */
  uint32_t torch_major;           /**< LibTorch the plugin was built against: major.minor must equal the host's */
  uint32_t torch_minor;           /**< ... */
  uint32_t torch_patch;           /**< ... informational */
  uint32_t cxx11_abi;             /**< _GLIBCXX_USE_CXX11_ABI of the plugin's build: must equal the host's */
  char compiler[TRL_SHORT_TEXT];  /**< e.g. "gcc 12.2.0"; informational */
  char name[TRL_SHORT_TEXT];      /**< plugin name, [a-z0-9_]+, the key for shadowing and `plugins info` */
  char version[32];               /**< plugin version, semver "MAJOR.MINOR.PATCH[-pre]" */
  char license[TRL_SHORT_TEXT];   /**< SPDX identifier, e.g. "Apache-2.0" */
  char description[256];          /**< one line for `plugins list` */
  uint32_t num_components;        /**< used entries of components, 1..TRL_MAX_COMPONENTS */
  uint32_t reserved_u32;          /**< zero */
  trl_component_decl components[TRL_MAX_COMPONENTS]; /**< what init will register, so listings need no code */
  uint8_t reserved[488];          /**< zero; later descriptor versions append fields here */
} trl_plugin_descriptor;

/** Size every ABI-1 descriptor has; the host refuses any other. */
#define TRL_DESCRIPTOR_SIZE 2048u

/** Opaque registry the host passes to init; plugins fill it through trl::Registry (plugin.h). */
typedef struct trl_registry trl_registry;

/** What the host tells the plugin about itself at init. Fields are only appended within a major. */
typedef struct trl_host_api_v1 {
  uint32_t struct_size;   /**< sizeof(trl_host_api_v1) as the host saw it */
  uint32_t abi_major;     /**< the host's SDK ABI */
  uint32_t abi_minor;     /**< ... */
  uint32_t abi_patch;     /**< ... */
  const char* host_version; /**< trl-host's own version string, e.g. "0.1.0" */
} trl_host_api_v1;

/** Error text an entry point fills when it fails; always NUL-terminated. */
typedef struct trl_error {
  char message[1024]; /**< what went wrong, for the host to print after the plugin's name */
} trl_error;

/** Status codes of the entry points. */
typedef enum trl_status {
  TRL_OK = 0,              /**< success */
  TRL_ERROR = 1,           /**< failure; trl_error.message says why */
  TRL_INCOMPATIBLE = 2     /**< the plugin itself refuses this host (message says why) */
} trl_status;

/** Signature of trl_plugin_init_v1: register every declared component into `registry`. noexcept. */
typedef int (*trl_plugin_init_fn)(const trl_host_api_v1* host, trl_registry* registry, trl_error* err);
/** Signature of trl_plugin_shutdown_v1: release global resources; components are already destroyed. */
typedef void (*trl_plugin_shutdown_fn)(void);

/** Exported symbol names, for the host's loader. */
#define TRL_DESCRIPTOR_SYMBOL "trl_plugin_descriptor_v1"
#define TRL_INIT_SYMBOL "trl_plugin_init_v1"
#define TRL_SHUTDOWN_SYMBOL "trl_plugin_shutdown_v1"

#ifdef __cplusplus
}  /* extern "C" */
static_assert(sizeof(trl_component_decl) == 64, "trl_component_decl is part of the ABI");
static_assert(sizeof(trl_plugin_descriptor) == TRL_DESCRIPTOR_SIZE, "trl_plugin_descriptor is part of the ABI");
#else
_Static_assert(sizeof(trl_plugin_descriptor) == TRL_DESCRIPTOR_SIZE, "trl_plugin_descriptor is part of the ABI");
#endif

#endif /* TRL_SDK_ABI_H */
