#pragma once
// Configuration of a Wan2.1-architecture DiT. Every field except the head count can be read off a
// checkpoint's tensor shapes; the head count follows Wan's head_dim of 128 unless given.

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include <torch/torch.h>

namespace lipar::model {

struct DitConfig {
    int64_t dim = 1536;
    int64_t ffn_dim = 8960;
    int64_t num_heads = 12;
    int64_t num_layers = 30;
    int64_t in_channels = 16;
    int64_t out_channels = 16;
    int64_t text_dim = 4096;
    int64_t freq_dim = 256;
    int64_t text_len = 512;
    std::array<int64_t, 3> patch = {1, 2, 2};
    double eps = 1e-6;

    int64_t head_dim() const { return dim / num_heads; }
    int64_t patch_volume() const { return patch[0] * patch[1] * patch[2]; }
    int64_t parameter_count() const;
    void validate() const;  // throws Error(InvalidArgument) naming the bad field
    std::string describe() const;

    static DitConfig wan_1_3b();
    // A few-million-parameter configuration for tests and CPU demos (2 layers, dim 256).
    static DitConfig tiny();
    // The trained Nano pack's DiT (4 layers, dim 256, head_dim 64, ~4M parameters): real time on
    // a 2-core CPU at 320x192.
    static DitConfig nano();
    // "tiny" | "nano" | "wan-1.3b"
    static DitConfig by_name(const std::string& name);
    // Reads dim, ffn_dim, layers, channels, patch, text_dim and freq_dim from tensor shapes.
    static DitConfig from_weights(const std::map<std::string, torch::Tensor>& weights,
                                  int64_t head_dim = 128);
};

}  // namespace lipar::model
