#!/usr/bin/env python3
"""Parity of `lipar tensor dit` with the official Wan2.1 WanModel (wan/modules/model.py).

Usage: wan_dit_parity.py WAN_MODEL_PY LIPAR_BIN OUT_DIR
WAN_MODEL_PY is the reference file from a checkout of github.com/Wan-Video/Wan2.1 (not part of this
repository). It is imported with two shims: diffusers' mixins become plain nn.Module, and
flash_attention becomes torch SDPA in the input dtype (so float32 is compared in float32).
Random weights of a small configuration (fp32) and of the 1.3B configuration (bf16, autocast as the
reference runs it) are written to safetensors, run through both, and compared.
"""
import importlib.util, os, subprocess, sys, types
import torch
from safetensors.torch import save_file, load_file

model_py, lipar, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)

# --- shims -------------------------------------------------------------------------------------
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_shims import install_diffusers_shim  # noqa: E402
install_diffusers_shim()
pkg = types.ModuleType("wanref"); pkg.__path__ = []; sys.modules["wanref"] = pkg
att = types.ModuleType("wanref.attention")
def flash_attention(q, k, v, q_lens=None, k_lens=None, window_size=(-1, -1), **kw):
    dt = q.dtype if q.dtype in (torch.float32, torch.float16, torch.bfloat16) else torch.bfloat16
    if torch.is_autocast_enabled() and q.dtype == torch.float32 and k.dtype != torch.float32:
        dt = k.dtype
    o = torch.nn.functional.scaled_dot_product_attention(
        q.to(dt).transpose(1, 2), k.to(dt).transpose(1, 2), v.to(dt).transpose(1, 2))
    return o.transpose(1, 2).to(q.dtype if q.dtype in (torch.float16, torch.bfloat16, torch.float32) else dt)
att.flash_attention = flash_attention; att.attention = flash_attention
sys.modules["wanref.attention"] = att
spec = importlib.util.spec_from_file_location("wanref.model", model_py)
wan = importlib.util.module_from_spec(spec); sys.modules["wanref.model"] = wan
spec.loader.exec_module(wan)

def run_case(name, cfg, dtype, frames, h, w, text_len, tol):
    torch.manual_seed(0)
    m = wan.WanModel(model_type="t2v", patch_size=(1, 2, 2), text_len=text_len, in_dim=16,
                     dim=cfg["dim"], ffn_dim=cfg["ffn"], freq_dim=256, text_dim=cfg["text_dim"],
                     out_dim=16, num_heads=cfg["heads"], num_layers=cfg["layers"],
                     qk_norm=True, cross_attn_norm=True, eps=1e-6).cuda().eval()
    with torch.no_grad():  # reference init leaves modulation random and zeroes some; randomize all
        for p in m.parameters():
            p.copy_(torch.randn_like(p) / max(1, p.shape[-1]) ** 0.5)
    m = m.to(dtype)
    weights = {k: v.detach().contiguous().cpu() for k, v in m.state_dict().items()}
    save_file(weights, f"{out}/{name}_weights.safetensors")
    x = torch.randn(1, 16, frames, h, w); t = torch.tensor([777.0]); ctx = torch.randn(1, text_len, cfg["text_dim"])
    save_file({"x": x, "t": t, "context": ctx}, f"{out}/{name}_in.safetensors")
    seq_len = frames * (h // 2) * (w // 2)
    with torch.no_grad(), torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
        ref = m([x[0].cuda()], t.cuda(), [ctx[0].cuda()], seq_len)[0].float().cpu()
    dt = {torch.float32: "f32", torch.bfloat16: "bf16"}[dtype]
    subprocess.run([lipar, "tensor", "dit", "--weights", f"{out}/{name}_weights.safetensors",
                    "--in", f"{out}/{name}_in.safetensors", "--out", f"{out}/{name}_out.safetensors",
                    "--device", "cuda", "--dtype", dt, "--head-dim", str(cfg["dim"] // cfg["heads"])],
                   check=True)
    got = load_file(f"{out}/{name}_out.safetensors")["flow"][0]
    rel = ((got.double() - ref.double()).norm() / ref.double().norm()).item()
    status = "PASS" if rel < tol else "FAIL"
    print(f"{status} dit parity {name}: {dt}, {cfg}, latents {frames}x{h}x{w}: relative error {rel:.3e} (tol {tol})")
    for f in ("weights", "in", "out"):
        os.remove(f"{out}/{name}_{f}.safetensors")
    return rel < tol

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
ok = run_case("small_f32", dict(dim=256, ffn=512, heads=2, layers=3, text_dim=64), torch.float32, 3, 8, 12, 16, 1e-4)
ok &= run_case("wan13b_bf16", dict(dim=1536, ffn=8960, heads=12, layers=30, text_dim=4096), torch.bfloat16, 3, 30, 52, 512, 3e-2)
sys.exit(0 if ok else 1)
