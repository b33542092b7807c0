# trl_add_plugin(): builds one trl-host plugin, in this tree or out of it (installed with the SDK).
#
#   trl_add_plugin(<target> [VERSION x.y.z] [NO_INSTALL] [INSTALL_DIR <dir>] SOURCES a.cpp b.cpp ...)
#
# Makes a MODULE library named <target>.so (no "lib" prefix) that links the SDK, exports only the three
# trl_plugin_* symbols (export map + hidden visibility), refuses undefined symbols at link time
# (-z defs), compiles with LibTorch's C++ ABI flags (carried by trl::sdk), and gets the plugin version
# (default: the project's version, padded to x.y.z) as TRL_PLUGIN_VERSION_STRING for TRL_PLUGIN(). The
# ABI fields come from the SDK headers it compiles against. Output goes to TRL_PLUGIN_OUTPUT_DIR if set
# (else the binary dir).
#
# Install: unless NO_INSTALL (test fixtures), into INSTALL_DIR, else the cache variable
# TRL_PLUGIN_INSTALL_DIR, else lib/trl/plugins of CMAKE_INSTALL_PREFIX. The installed SDK package
# sets TRL_SDK_PLUGIN_DIR to the host's own plugin folder: `INSTALL_DIR "${TRL_SDK_PLUGIN_DIR}"` (or
# -DTRL_PLUGIN_INSTALL_DIR=...) installs next to the shipped plugins, where the host finds it by default.
# RPATH: from <prefix>/lib/trl/plugins to <prefix>/<libdir> ($ORIGIN/../.. for lib), so a plugin finds
# libtrl_sdk.so.N of its prefix; an out-of-tree plugin also records the installed SDK's lib folder, so it
# loads from any prefix.
set(_TRL_PLUGIN_CMAKE_DIR "${CMAKE_CURRENT_LIST_DIR}")

# "1.2" -> "1.2.0": the descriptor's version must be semver MAJOR.MINOR.PATCH[-pre][+build].
function(_trl_plugin_semver target version out_var)
  if(version MATCHES "^[0-9]+$")
    set(version "${version}.0.0")
  elseif(version MATCHES "^[0-9]+\\.[0-9]+$")
    set(version "${version}.0")
  endif()
  if(NOT version MATCHES "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$")
    message(FATAL_ERROR "trl_add_plugin(${target}): version '${version}' is not semver MAJOR.MINOR.PATCH "
                        "(trl-host refuses such a plugin); pass VERSION x.y.z or set project(... VERSION x.y.z)")
  endif()
  string(LENGTH "${version}" _len)
  if(_len GREATER 31)
    message(FATAL_ERROR "trl_add_plugin(${target}): version '${version}' is longer than 31 characters")
  endif()
  set(${out_var} "${version}" PARENT_SCOPE)
endfunction()

function(trl_add_plugin target)
  cmake_parse_arguments(ARG "NO_INSTALL" "VERSION;INSTALL_DIR" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "trl_add_plugin(${target}): no SOURCES given")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "trl_add_plugin(${target}): unexpected arguments '${ARG_UNPARSED_ARGUMENTS}' "
                        "(expected VERSION, NO_INSTALL, INSTALL_DIR, SOURCES)")
  endif()
  if(NOT ARG_VERSION)
    set(ARG_VERSION "${PROJECT_VERSION}")
  endif()
  if(NOT ARG_VERSION)
    set(ARG_VERSION "0.0.0")
  endif()
  _trl_plugin_semver(${target} "${ARG_VERSION}" ARG_VERSION)
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE trl::sdk)
  target_compile_definitions(${target} PRIVATE TRL_PLUGIN_VERSION_STRING="${ARG_VERSION}")
  target_compile_features(${target} PRIVATE cxx_std_17)
  set(_map "${_TRL_PLUGIN_CMAKE_DIR}/trl_plugin.map")
  target_link_options(${target} PRIVATE "LINKER:-z,defs" "LINKER:--version-script=${_map}")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${_map}")
  include(GNUInstallDirs)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    file(RELATIVE_PATH _sdk_from_plugins "${CMAKE_INSTALL_PREFIX}/lib/trl/plugins" "${CMAKE_INSTALL_LIBDIR}")
  else()
    file(RELATIVE_PATH _sdk_from_plugins "/prefix/lib/trl/plugins" "/prefix/${CMAKE_INSTALL_LIBDIR}")
  endif()
  string(REGEX REPLACE "/$" "" _sdk_from_plugins "${_sdk_from_plugins}")
  if(DEFINED TRL_PLUGIN_OUTPUT_DIR)
    set(_out "${TRL_PLUGIN_OUTPUT_DIR}")
  else()
    set(_out "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY "${_out}"
    # Installed in <prefix>/lib/trl/plugins: libtrl_sdk.so.N is in <prefix>/<libdir> ("$ORIGIN/../.." for lib).
    INSTALL_RPATH "$ORIGIN/${_sdk_from_plugins}")
  if(TRL_TORCH_RUNTIME_DIR)  # a TORCH=pip build: its LibTorch where it is (cmake/TrlTorch.cmake)
    set_property(TARGET ${target} APPEND PROPERTY INSTALL_RPATH "${TRL_TORCH_RUNTIME_DIR}")
  endif()
  get_target_property(_sdk_imported trl::sdk IMPORTED)
  if(_sdk_imported)
    # Against an installed SDK, also the folder libtrl_sdk.so.N was linked from (outside this project).
    set_target_properties(${target} PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
  endif()
  if(NOT ARG_NO_INSTALL)
    if(ARG_INSTALL_DIR)
      set(_dest "${ARG_INSTALL_DIR}")
    elseif(TRL_PLUGIN_INSTALL_DIR)
      set(_dest "${TRL_PLUGIN_INSTALL_DIR}")
    else()
      set(_dest "lib/trl/plugins")  # where trl-host looks: <exe>/../lib/trl/plugins
    endif()
    install(TARGETS ${target} LIBRARY DESTINATION "${_dest}")
  endif()
endfunction()
