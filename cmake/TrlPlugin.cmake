# trl_add_plugin(): builds one trl-host plugin, in this tree or out of it (installed with the SDK).
#
#   trl_add_plugin(<target> [VERSION x.y.z] [NO_INSTALL] SOURCES a.cpp b.cpp ...)
#
# Makes a MODULE library named <target>.so (no "lib" prefix) that links the SDK, exports only the three
# trl_plugin_* symbols (export map + hidden visibility), refuses undefined symbols at link time
# (-z defs), compiles with LibTorch's C++ ABI flags, and gets the plugin version (default: the
# project's version) as TRL_PLUGIN_VERSION_STRING for TRL_PLUGIN(). The ABI fields come from the SDK
# headers it compiles against. Output goes to TRL_PLUGIN_OUTPUT_DIR if set (else the binary dir) and
# installs to <libdir>/trl/plugins (unless NO_INSTALL: test fixtures).
set(_TRL_PLUGIN_CMAKE_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(trl_add_plugin target)
  cmake_parse_arguments(ARG "NO_INSTALL" "VERSION" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "trl_add_plugin(${target}): no SOURCES given")
  endif()
  if(NOT ARG_VERSION)
    set(ARG_VERSION "${PROJECT_VERSION}")
  endif()
  if(NOT ARG_VERSION)
    set(ARG_VERSION "0.0.0")
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE trl::sdk)
  target_compile_definitions(${target} PRIVATE TRL_PLUGIN_VERSION_STRING="${ARG_VERSION}")
  target_compile_features(${target} PRIVATE cxx_std_17)
  set(_map "${_TRL_PLUGIN_CMAKE_DIR}/trl_plugin.map")
  target_link_options(${target} PRIVATE "LINKER:-z,defs" "LINKER:--version-script=${_map}")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${_map}")
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
    # Installed next to the SDK: <prefix>/lib/trl/plugins -> <prefix>/lib.
    INSTALL_RPATH "$ORIGIN/../..")
  if(NOT ARG_NO_INSTALL)
    include(GNUInstallDirs)
    install(TARGETS ${target} LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}/trl/plugins")
  endif()
endfunction()
