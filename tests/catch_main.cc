// The one Catch2 main for specd's host tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
