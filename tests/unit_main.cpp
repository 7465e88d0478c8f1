// The doctest runner for every *_test.cpp beside the daemon's modules.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
