#pragma once
// Components runnable by `lipar tensor`. Each lives in a tensor_*.cpp file: declare_options adds
// its own options; run reads ctx.args.get("in"), computes, and writes ctx.args.get("out").

#include <torch/torch.h>

#include "args.h"

namespace lipar::cli {

struct TensorRunContext {
    Args& args;
    torch::Device device;
    torch::Dtype dtype;
};

struct TensorComponent {
    const char* name;
    const char* summary;
    void (*declare_options)(Args& args);
    void (*run)(TensorRunContext& ctx);
};

void declare_dit_options(Args& args);
void run_tensor_dit(TensorRunContext& ctx);
void run_tensor_dit_causal(TensorRunContext& ctx);

// tensor_vae.cpp: TAESD family (x [N,3,H,W] <-> z [N,C,H/8,W/8]; --weights encoder, --weights2
// decoder) and TAEHV (x [N,T,3,H,W] <-> z [N,T',16,H/8,W/8]; --weights one file).
void declare_taesd_options(Args& args);
void declare_taehv_options(Args& args);
void run_tensor_taesd_encode(TensorRunContext& ctx);
void run_tensor_taesd_decode(TensorRunContext& ctx);
void run_tensor_taehv_encode(TensorRunContext& ctx);
void run_tensor_taehv_decode(TensorRunContext& ctx);
void declare_edit_loop_options(Args& args);  // tensor_edit_loop.cpp
void run_tensor_edit_loop(TensorRunContext& ctx);
void declare_t5_options(Args& args);  // tensor_text.cpp
void run_tensor_t5(TensorRunContext& ctx);

}  // namespace lipar::cli
