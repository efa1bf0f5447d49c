#pragma once
// Precompiled header for the engine, its tests and the CLI: LibTorch's headers dominate build time.
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>
