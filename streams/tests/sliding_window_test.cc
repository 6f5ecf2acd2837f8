// Placeholder: tests arrive with the feature.
#include <gtest/gtest.h>
