# Which LibTorch trl-host builds against (docs/torch2.md), as one target named `torch`.
#
#   TRL_TORCH=system   Debian 12's libtorch-dev (LibTorch 1.13): find_package(Torch) as usual. The default.
#   TRL_TORCH=pip      LibTorch 2.x from PyPI's `torch` wheel, at TRL_TORCH_PIP_DIR (the wheel's `torch/` package
#                      folder, the one holding include/, lib/ and share/cmake/Torch). `make TORCH=pip` makes it.
#
# Why not the wheel's own TorchConfig.cmake: the PyPI wheel is a CUDA build, and its config pulls Caffe2's CUDA
# detection (find_package(CUDAToolkit), nvrtc, nvtx), which fails on a machine without the CUDA toolkit even
# though every CPU library is right there. trl-host needs only two of them: libtorch_cpu.so (ATen, autograd, the
# C++ API, c10d with Gloo) and libc10.so. So this file declares them as imported targets with what the wheel's
# Caffe2Targets.cmake gives torch_cpu (include dirs, USE_DISTRIBUTED/USE_C10D_GLOO, the C++11 ABI the wheel is
# built with, C++20 which its headers need since 2.10).
#
#   TRL_TORCH_CUDA=ON  (pip only) also links libtorch_cuda.so and libc10_cuda.so, whose static initialisers
#                      register the CUDA backend: then `device: cuda` works on a machine with an NVIDIA driver. The
#                      CUDA runtime libraries come from the wheel's nvidia-* dependencies (their RPATH), not a
#                      toolkit. Off by default: loading them costs every process ~1 GB of mappings for no use on CPU.
#
# Which libtorch_cpu.so a process really runs on is found at run time (`trl-host env`, trl/sdk/torch_runtime.h).
# Installed with the SDK: TrlSdkConfig.cmake sets these three to the SDK's own build before including this file.
if(NOT DEFINED TRL_TORCH)
  set(TRL_TORCH "system" CACHE STRING "LibTorch to build against: system (Debian's libtorch-dev) or pip (a torch wheel)")
  set_property(CACHE TRL_TORCH PROPERTY STRINGS system pip)
endif()
if(NOT DEFINED TRL_TORCH_PIP_DIR)
  set(TRL_TORCH_PIP_DIR "" CACHE PATH "TRL_TORCH=pip: the wheel's torch/ package folder (site-packages/torch)")
endif()
if(NOT DEFINED TRL_TORCH_CUDA)
  option(TRL_TORCH_CUDA "TRL_TORCH=pip: also link the wheel's CUDA libraries (libtorch_cuda.so)" OFF)
endif()

# Precompiled <ATen/ATen.h> for the targets with many LibTorch translation units: measured on a test file of
# tests/unit (GCC 12, -O3, LibTorch 2.15 headers), 17.3 s of CPU without, 10.3 s with, and 22 s once to build
# the header. On by default for the wheel's build (no ccache hits from the Debian build to lose; CI builds it
# from scratch), off for Debian's (ccache caches no compile that uses a precompiled header).
if(TRL_TORCH STREQUAL "pip")
  option(TRL_PRECOMPILE_HEADERS "Precompile <ATen/ATen.h> for the SDK's heaviest consumers" ON)
else()
  option(TRL_PRECOMPILE_HEADERS "Precompile <ATen/ATen.h> for the SDK's heaviest consumers" OFF)
endif()
function(trl_precompile_torch_headers)
  if(NOT TRL_PRECOMPILE_HEADERS)
    return()
  endif()
  foreach(target ${ARGN})
    if(TARGET ${target})
      target_precompile_headers(${target} PRIVATE <ATen/ATen.h>)
    endif()
  endforeach()
endfunction()

if(TRL_TORCH STREQUAL "system")
  find_package(Torch REQUIRED)
elseif(TRL_TORCH STREQUAL "pip")
  if(NOT TRL_TORCH_PIP_DIR)
    message(FATAL_ERROR "TRL_TORCH=pip needs -DTRL_TORCH_PIP_DIR=<venv>/lib/python3.X/site-packages/torch "
                        "(scripts/python-env.sh trl makes one; `make TORCH=pip` does both)")
  endif()
  set(_dir "${TRL_TORCH_PIP_DIR}")
  foreach(_need include/torch/csrc/api/include/torch/version.h lib/libtorch_cpu.so lib/libc10.so)
    if(NOT EXISTS "${_dir}/${_need}")
      message(FATAL_ERROR "TRL_TORCH_PIP_DIR=${_dir}: no ${_need} (expected the torch wheel's package folder)")
    endif()
  endforeach()
  # The wheel's include/ also holds the third-party headers it was built with (fmt 11, pybind11, oneDNN,
  # ...): first on the include path, its fmt would replace Debian's fmt 9 that spdlog needs. So the include
  # path gets a folder with links to LibTorch's own header trees only.
  set(_inc "${CMAKE_BINARY_DIR}/trl-torch-include")
  file(MAKE_DIRECTORY "${_inc}")
  foreach(_tree ATen c10 caffe2 torch)
    if(EXISTS "${_dir}/include/${_tree}" AND NOT EXISTS "${_inc}/${_tree}")
      file(CREATE_LINK "${_dir}/include/${_tree}" "${_inc}/${_tree}" SYMBOLIC)
    endif()
  endforeach()
  add_library(trl_c10 SHARED IMPORTED GLOBAL)
  set_target_properties(trl_c10 PROPERTIES IMPORTED_LOCATION "${_dir}/lib/libc10.so" IMPORTED_SONAME libc10.so)
  add_library(torch SHARED IMPORTED GLOBAL)
  set_target_properties(torch PROPERTIES
    IMPORTED_LOCATION "${_dir}/lib/libtorch_cpu.so"
    IMPORTED_SONAME libtorch_cpu.so
    INTERFACE_INCLUDE_DIRECTORIES "${_inc};${_inc}/torch/csrc/api/include"
    INTERFACE_COMPILE_DEFINITIONS "USE_DISTRIBUTED;USE_C10D_GLOO;_GLIBCXX_USE_CXX11_ABI=1"
    INTERFACE_COMPILE_FEATURES cxx_std_20
    # As the wheel's own torch_cpu_library (and Debian's config): libtorch_cpu.so stays NEEDED even by a library
    # that calls none of it, for its static registrations.
    INTERFACE_LINK_LIBRARIES "trl_c10;-Wl,--no-as-needed,${_dir}/lib/libtorch_cpu.so,--as-needed")
  if(TRL_TORCH_CUDA)
    foreach(_lib torch_cuda c10_cuda)
      if(NOT EXISTS "${_dir}/lib/lib${_lib}.so")
        message(FATAL_ERROR "TRL_TORCH_CUDA=ON: ${_dir}/lib/lib${_lib}.so not found (a CPU-only wheel?)")
      endif()
      # --no-as-needed: nothing refers to their symbols, they are linked for their registrations.
      set_property(TARGET torch APPEND PROPERTY INTERFACE_LINK_LIBRARIES
                   "-Wl,--no-as-needed,${_dir}/lib/lib${_lib}.so,--as-needed")
    endforeach()
  endif()
  # The wheel's ABI flag, as Debian's TorchConfig gives it in TORCH_CXX_FLAGS (the rest of the project uses it).
  set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=1")
  set(TORCH_LIBRARIES torch)
  # Installed binaries find the wheel's libraries where they were linked from. The folder is named
  # explicitly too: the libraries are linked through a flag (--no-as-needed), which the link-path rule does
  # not see, and the wheel's sonames are unversioned (libtorch_cpu.so), so without it an installed trl-host
  # would load Debian's libtorch_cpu.so (1.13, from libtorch-dev) instead.
  set(CMAKE_INSTALL_RPATH_USE_LINK_PATH ON)
  set(TRL_TORCH_RUNTIME_DIR "${_dir}/lib")
  set(CMAKE_INSTALL_RPATH "${TRL_TORCH_RUNTIME_DIR}")
  file(STRINGS "${_dir}/include/torch/csrc/api/include/torch/version.h" _ver REGEX "define TORCH_VERSION ")
  message(STATUS "LibTorch from the torch wheel: ${_dir} (${_ver})")
else()
  message(FATAL_ERROR "TRL_TORCH='${TRL_TORCH}': expected system or pip")
endif()
