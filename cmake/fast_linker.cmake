# Link with lld when the toolchain can (Debian: lld-14), else gold (binutils, always there),
# else the default bfd ld. Linking the test executables with full debug info is several seconds
# of CPU each with bfd; lld and gold do it in a fraction (docs/BENCHMARKS.md, "CI time").
# Each candidate is tried by linking a test program, so a machine without lld falls back
# quietly. -DRUSHCAST_LINKER=default keeps the compiler's own choice.
set(RUSHCAST_LINKER "auto" CACHE STRING "Linker: auto (lld, else gold), lld, gold or default")
include(CheckLinkerFlag)
if(RUSHCAST_LINKER STREQUAL "auto")
  check_linker_flag(CXX -fuse-ld=lld RUSHCAST_HAS_LLD)
  if(RUSHCAST_HAS_LLD)
    add_link_options(-fuse-ld=lld)
  else()
    check_linker_flag(CXX -fuse-ld=gold RUSHCAST_HAS_GOLD)
    if(RUSHCAST_HAS_GOLD)
      add_link_options(-fuse-ld=gold)
    endif()
  endif()
elseif(NOT RUSHCAST_LINKER STREQUAL "default")
  add_link_options(-fuse-ld=${RUSHCAST_LINKER})
endif()
