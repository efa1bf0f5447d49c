#!/usr/bin/env python3
"""End-to-end parity of the editor's block loop (`lipar tensor edit-loop`) with Self-Forcing's
CausalInferencePipeline, started SDEdit-style from clean source latents, same weights, same noise.

Usage: edit_loop_reference.py SELF_FORCING_DIR LIPAR_BIN OUT_DIR [--quick | --time | --pruned | --variants]

--pruned: naive and lipar with the same keep masks on both sides: the C++ loop against
pruned_reference.py (LIPAR's semantics written out on the reference's modules, inside Self-Forcing's
pipeline), small configuration; on the CPU when there is no CUDA device (f32 either way).
--variants [--latents=PATH]: real Wan latents (default ../shared/models/test_latents_wan.pth) in lipar mode
with LIPAR's own detection: parity with the masks the C++ side detected, then how much each intended
difference from the LIPAR authors' code changes x0 (Python side).

--time: instead of parity, the two loops' speed side by side on the 1.3B configuration in bf16
(random weights, 8 blocks, at the paper's 7-frame window and at Self-Forcing's 21 frames).

SELF_FORCING_DIR is a checkout of github.com/guandeh17/Self-Forcing (not part of this repository;
wan/modules, utils, pipeline and demo_utils are used). Its own modules run unchanged:
CausalWanModel (KV cache, eviction, RoPE at absolute frame positions), FlowMatchScheduler (shift,
warped steps, add_noise), WanDiffusionWrapper (flow -> x0) and CausalInferencePipeline.inference
(the denoising loop, re-noising, the t = 0 pass that commits the cache). Shims, and nothing else:
- diffusers' ConfigMixin / ModelMixin become plain classes / nn.Module;
- wan.modules.attention: attention and flash_attention become torch SDPA in the input dtype (so
  float32 stays float32);
- the text encoder and VAE wrappers are stand-ins: the prompt embedding is given, the decode
  returns the latents (the pipeline's `output` latents are what is compared);
- the pipeline's KV-cache allocation takes the heads and head size of the configuration under test
  instead of the 1.3B model's hard-coded 12 x 128;
- SDEdit start: the pipeline's `noise` argument receives the source latents noised to the first
  warped step by the scheduler's own add_noise (as the LIPAR authors' video-to-video inference
  starts), and its torch.randn_like (the re-noising between steps) returns the file's noise in the
  loop's order.
The latent grid is 60x104 (480x832 video, 1560 tokens per frame), the size Self-Forcing's
attention window is written for.

Window mapping: the editor's {sink S, recent R} (R committed frames besides the sink) is
Self-Forcing's sink_size S, local_attn_size S + R + 3 (the current block of 3 frames included).
"""
import importlib.util, json, os, subprocess, sys, time, types
from types import SimpleNamespace

import torch
try:
    from safetensors.torch import save_file, load_file
except ImportError:  # a machine without the safetensors package (the format is simple)
    import json, struct
    _DT = {torch.float32: "F32", torch.float64: "F64", torch.bfloat16: "BF16", torch.float16: "F16",
           torch.int64: "I64", torch.int32: "I32", torch.bool: "BOOL", torch.uint8: "U8"}

    def save_file(tensors, path):
        header, blobs, offset = {}, [], 0
        for k, t in tensors.items():
            raw = t.detach().contiguous().cpu().view(torch.uint8).flatten().numpy().tobytes() \
                if t.dtype != torch.bool else t.detach().contiguous().cpu().to(torch.uint8).numpy().tobytes()
            header[k] = {"dtype": _DT[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
            blobs.append(raw); offset += len(raw)
        h = json.dumps(header).encode()
        h += b" " * ((8 - len(h) % 8) % 8)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(h))); f.write(h)
            for b in blobs:
                f.write(b)

    def load_file(path):
        inv = {v: k for k, v in _DT.items()}
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n)); data = f.read()
        out = {}
        for k, v in header.items():
            if k == "__metadata__":
                continue
            a, b = v["data_offsets"]
            dt = inv[v["dtype"]]
            buf = torch.frombuffer(bytearray(data[a:b]), dtype=torch.uint8)
            out[k] = (buf.to(torch.bool) if dt == torch.bool else buf.view(dt)).reshape(v["shape"])
        return out

sf_dir, lipar, out = sys.argv[1], sys.argv[2], sys.argv[3]
quick = "--quick" in sys.argv[4:]
DEV = "cuda" if torch.cuda.is_available() else "cpu"


def sync():
    if DEV == "cuda":
        torch.cuda.synchronize()
os.makedirs(out, exist_ok=True)
sys.path.insert(0, sf_dir)

# --- shims -------------------------------------------------------------------------------------
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_shims import install_diffusers_shim  # noqa: E402
install_diffusers_shim()
try:
    import einops  # noqa: F401  (model.py imports it for a training-only branch)
except ImportError:
    e = types.ModuleType("einops"); e.repeat = None; e.rearrange = None; sys.modules["einops"] = e


def package(name, path):
    m = types.ModuleType(name); m.__path__ = [path]; sys.modules[name] = m
    return m


# Bare packages: their __init__ files import the whole training and text-to-video stack.
package("wan", os.path.join(sf_dir, "wan"))
package("wan.modules", os.path.join(sf_dir, "wan/modules"))
package("utils", os.path.join(sf_dir, "utils"))
package("pipeline", os.path.join(sf_dir, "pipeline"))
package("demo_utils", os.path.join(sf_dir, "demo_utils"))

# Without CUDA (a CPU-only torch, e.g. Debian's 1.13 on the development machine): what the model
# files import at load time but never use in this loop.
if not hasattr(torch, "compile"):
    torch.compile = lambda f, **kw: f
try:
    import torch.nn.attention.flex_attention  # noqa: F401
except ImportError:
    for name in ("torch.nn.attention", "torch.nn.attention.flex_attention"):
        sys.modules[name] = types.ModuleType(name)
    fa = sys.modules["torch.nn.attention.flex_attention"]
    fa.create_block_mask = fa.flex_attention = fa.BlockMask = None
if DEV == "cpu":
    mem = types.ModuleType("demo_utils.memory")
    mem.gpu = mem.cpu = torch.device("cpu")
    mem.get_cuda_free_memory_gb = lambda *a: 0
    mem.DynamicSwapInstaller = mem.move_model_to_device_with_memory_preservation = None
    sys.modules["demo_utils.memory"] = mem

att = types.ModuleType("wan.modules.attention")
def sdpa(q, k, v, q_lens=None, k_lens=None, dropout_p=0., softmax_scale=None, q_scale=None,
         causal=False, window_size=(-1, -1), deterministic=False, dtype=None, **kw):
    assert q_lens is None and k_lens is None and not causal and window_size == (-1, -1)
    k, v = k.to(q.dtype), v.to(q.dtype)
    if hasattr(torch.nn.functional, "scaled_dot_product_attention"):
        o = torch.nn.functional.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    else:  # torch < 2.0
        s = torch.matmul(q.transpose(1, 2), k.transpose(1, 2).transpose(-1, -2)) / q.size(-1) ** 0.5
        o = torch.matmul(torch.softmax(s, -1), v.transpose(1, 2))
    return o.transpose(1, 2).contiguous()
att.attention = sdpa; att.flash_attention = sdpa
sys.modules["wan.modules.attention"] = att
# The text encoder, VAE and tokenizer modules of the wrapper are never built here.
for name, attrs in {"wan.modules.tokenizers": ["HuggingfaceTokenizer"], "wan.modules.vae": ["_video_vae"],
                    "wan.modules.t5": ["umt5_xxl"]}.items():
    m = types.ModuleType(name)
    for a in attrs:
        setattr(m, a, None)
    sys.modules[name] = m

from wan.modules.causal_model import CausalWanModel  # noqa: E402
from utils.scheduler import FlowMatchScheduler  # noqa: E402
from utils.wan_wrapper import WanDiffusionWrapper  # noqa: E402
import pipeline.causal_inference as causal_inference  # noqa: E402


class GivenPrompt(torch.nn.Module):
    def __init__(self, context):
        super().__init__(); self.context = context
    def forward(self, text_prompts):
        return {"prompt_embeds": self.context}


class LatentsOut(torch.nn.Module):
    def decode_to_pixel(self, latent, use_cache=False):
        return latent


class Pipeline(causal_inference.CausalInferencePipeline):
    """The reference pipeline; only the cache allocation follows the configuration under test."""
    def _initialize_kv_cache(self, batch_size, dtype, device):
        m = self.generator.model
        size = self.local_attn_size * self.frame_seq_length
        self.kv_cache1 = [{"k": torch.zeros([batch_size, size, m.num_heads, m.dim // m.num_heads], dtype=dtype, device=device),
                           "v": torch.zeros([batch_size, size, m.num_heads, m.dim // m.num_heads], dtype=dtype, device=device),
                           "global_end_index": torch.tensor([0], dtype=torch.long, device=device),
                           "local_end_index": torch.tensor([0], dtype=torch.long, device=device)}
                          for _ in range(self.num_transformer_blocks)]

    def _initialize_crossattn_cache(self, batch_size, dtype, device):
        self.crossattn_cache = [{"k": None, "v": None, "is_init": False}
                                for _ in range(self.num_transformer_blocks)]


def make_generator(cfg, sink, local, shift):
    gen = WanDiffusionWrapper.__new__(WanDiffusionWrapper)
    torch.nn.Module.__init__(gen)
    gen.model = CausalWanModel(model_type="t2v", patch_size=(1, 2, 2), text_len=cfg["text_len"], in_dim=16,
                               dim=cfg["dim"], ffn_dim=cfg["ffn"], freq_dim=256, text_dim=cfg["text_dim"],
                               out_dim=16, num_heads=cfg["heads"], num_layers=cfg["layers"],
                               local_attn_size=local, sink_size=sink, qk_norm=True, cross_attn_norm=True,
                               eps=1e-6)
    gen.uniform_timestep = False
    gen.scheduler = FlowMatchScheduler(shift=shift, sigma_min=0.0, extra_one_step=True)
    gen.scheduler.set_timesteps(1000, training=True)
    gen.seq_len = 32760
    gen.post_init()
    return gen


FPB, H, W = 3, 60, 104


def keep_masks(blocks):
    """Keep masks [f, h/2, w/2] per block for the pruned cases: block 0 keeps everything (the
    stream's first frames), later blocks keep random tokens at varying ratios, including a block
    that keeps every token and one that keeps none, and frames that keep all or nothing."""
    g = torch.Generator().manual_seed(3)
    ratios = [1.0, 0.6, 0.3, 1.0, 0.5, 0.0, 0.4, 0.8, 0.2, 0.5, 0.7]
    keeps = []
    for b in range(blocks):
        r = ratios[b % len(ratios)]
        m = torch.rand(FPB, H // 2, W // 2, generator=g) < r
        if b == 4:
            m[0] = True; m[2] = False  # one frame fully kept, one fully pruned
        keeps.append(m)
    return keeps


def prepare(name, cfg, sink, recent, blocks, steps, shift, keeps=None, z=None, trained=None):
    """Random weights (saved for lipar), or a trained pack's DiT (`trained`: its dit.safetensors),
    and the inputs: clean latents, prompt, every noise (and the keep masks of the pruned cases)."""
    local = sink + recent + FPB
    torch.manual_seed(0)
    gen = make_generator(cfg, sink, local, shift).to(DEV).eval()
    if trained:
        state = {k: v.float() for k, v in load_file(trained).items()}
        gen.model.load_state_dict(state, strict=True)  # the published checkpoint names, all of them
        wfile = trained
    else:
        with torch.no_grad():  # the reference init zeroes some weights; randomize all
            for p in gen.model.parameters():
                p.copy_(torch.randn_like(p) / max(1, p.shape[-1]) ** 0.5)
        weights = {k: v.detach().contiguous().cpu() for k, v in gen.model.state_dict().items()}
        wfile = f"{out}/{name}_weights.safetensors"
        save_file(weights, wfile)
        del weights

    g = torch.Generator().manual_seed(1)
    if z is None:
        z = torch.randn(16, blocks * FPB, H, W, generator=g)  # clean source latents [C, F, h, w]
    else:
        torch.randn(1, generator=g)  # (the prompt and noise below do not depend on where z came from)
    context = torch.zeros(1, cfg["text_len"], cfg["text_dim"])
    context[:, :20] = torch.randn(1, 20, cfg["text_dim"], generator=g)  # a 20-token prompt, zero padding
    tensors = {"z": z, "context": context}
    for b in range(blocks):
        for s in range(len(steps)):
            tensors[f"noise_b{b}_s{s}"] = torch.randn(1, 16, FPB, H, W, generator=g)
    for b, m in enumerate(keeps or []):
        tensors[f"keep_b{b}"] = m
    infile = f"{out}/{name}_in.safetensors"
    save_file(tensors, infile)
    return gen, local, tensors, wfile, infile


def reference_loop(gen, cfg, tensors, blocks, steps, dtype=torch.float32, pruned=None):
    """Self-Forcing's pipeline over the first `blocks` blocks; returns (latents [C, F, h, w] float32,
    seconds for the inference call, measured between device synchronisations)."""
    z, context = tensors["z"], tensors["context"]
    args = SimpleNamespace(denoising_step_list=list(steps), warp_denoising_step=True, num_frame_per_block=FPB,
                           independent_first_frame=False, context_noise=0)
    pipe = Pipeline(args, DEV, generator=gen, text_encoder=GivenPrompt(context.to(DEV, dtype)),
                    vae=LatentsOut())
    pipe.num_transformer_blocks = cfg["layers"]
    pipe.frame_seq_length = (H // 2) * (W // 2)
    if pruned is not None:  # (mode, sink, committed recent frames): pruned_reference.py
        import pruned_reference
        mode, sink, recent = pruned[:3]
        restore_from = pruned[3] if len(pruned) > 3 else "previous_frame"
        keeps = [tensors[f"keep_b{b}"] for b in range(blocks)]
        stream = pruned_reference.PrunedStream(gen.model, mode, keeps, sink, recent, sdpa, restore_from)
        pruned_reference.install(gen, stream, FPB, pipe.frame_seq_length)
    t0 = pipe.denoising_step_list[0]
    sched = gen.scheduler
    # SDEdit start of every block: the source latents noised to the first warped step.
    start = []
    for b in range(blocks):
        zb = z[:, b * FPB:(b + 1) * FPB].permute(1, 0, 2, 3).to(DEV)  # [f, C, h, w]
        nb = tensors[f"noise_b{b}_s0"][0].permute(1, 0, 2, 3).to(DEV)
        start.append(sched.add_noise(zb, nb, t0 * torch.ones(FPB, device=DEV)))
    start = torch.cat(start).unsqueeze(0).to(dtype)  # [1, F, C, h, w]
    renoise = [tensors[f"noise_b{b}_s{s}"][0].permute(1, 0, 2, 3).to(DEV)
               for b in range(blocks) for s in range(1, len(steps))]
    it = iter(renoise)
    real_randn_like = causal_inference.torch.randn_like
    def file_noise(x, *a, **k):
        n = next(it)
        assert n.shape == x.shape, (n.shape, x.shape)
        return n.to(x.dtype)
    causal_inference.torch.randn_like = file_noise
    try:
        with torch.no_grad():
            sync()
            began = time.perf_counter()
            _, latents = pipe.inference(start, text_prompts=["given"], return_latents=True)
            sync()
            seconds = time.perf_counter() - began
    finally:
        causal_inference.torch.randn_like = real_randn_like
    assert next(it, None) is None, "the reference loop used fewer noise tensors than the file has"
    ref = latents[0].permute(1, 0, 2, 3).float().cpu()  # [C, F, h, w]
    del pipe, latents
    return ref, seconds


def lipar_loop(name, cfg, sink, recent, steps, shift, wfile, infile, dtype="f32", extra=(), mode="off"):
    """`lipar tensor edit-loop` on the same weights and inputs; returns (x0, its per-block ms)."""
    res = subprocess.run([lipar, "tensor", "edit-loop", "--weights", wfile, "--in", infile,
                          "--out", f"{out}/{name}_out.safetensors", "--device", DEV, "--dtype", dtype,
                          "--mode", mode, "--steps", ",".join(str(s) for s in steps), "--shift", str(shift),
                          "--sink", str(sink), "--recent", str(recent), "--frames-per-block", str(FPB),
                          "--head-dim", str(cfg["dim"] // cfg["heads"]), *extra], capture_output=True, text=True)
    if res.returncode != 0:
        print(res.stdout[-2000:], res.stderr[-2000:])
        raise SystemExit(f"lipar tensor edit-loop failed for {name}")
    block_ms = [float(line.split()[3]) for line in res.stdout.splitlines() if line.startswith("edit-loop block ")]
    written = load_file(f"{out}/{name}_out.safetensors")
    lipar_loop.masks = {k: v for k, v in written.items() if k.startswith("keep_b")}  # naive/lipar
    lipar_loop.context = written["context"]
    return written["x0"], block_ms


def remove_case_files(name):
    for f in ("weights", "in", "out"):
        if os.path.exists(f"{out}/{name}_{f}.safetensors"):
            os.remove(f"{out}/{name}_{f}.safetensors")


def run_case(name, cfg, sink, recent, blocks, steps=(400, 350, 250), shift=5.0, tol=1e-4, mode=None):
    """mode None: off against Self-Forcing's own model; "off" / "naive" / "lipar": against
    pruned_reference.py with the keep masks of keep_masks() on both sides."""
    t_start = time.time()
    keeps = keep_masks(blocks) if mode else None
    gen, local, tensors, wfile, infile = prepare(name, cfg, sink, recent, blocks, steps, shift, keeps)
    ref, _ = reference_loop(gen, cfg, tensors, blocks, steps, pruned=(mode, sink, recent) if mode else None)
    del gen
    if DEV == "cuda":
        torch.cuda.empty_cache()
    got, _ = lipar_loop(name, cfg, sink, recent, steps, shift, wfile, infile, mode=mode or "off")
    errs = []
    fpb = FPB
    for b in range(blocks):
        r = ref[:, b * fpb:(b + 1) * fpb].double(); o = got[:, b * fpb:(b + 1) * fpb].double()
        errs.append(((o - r).norm() / r.norm()).item())
    worst = max(errs)
    status = "PASS" if worst < tol else "FAIL"
    print(f"{status} edit-loop {name}{' (' + mode + ', given keep masks)' if mode else ''}: window sink {sink} + recent {recent} (Self-Forcing local_attn_size {local}, "
          f"sink_size {sink}), {blocks} blocks, steps {list(steps)} shift {shift}, dim {cfg['dim']} x "
          f"{cfg['layers']} layers: x0 relative error per block max {worst:.3e} "
          f"[{', '.join(f'{e:.1e}' for e in errs)}] (tol {tol:g}; {time.time() - t_start:.0f} s)", flush=True)
    remove_case_files(name)
    results[name] = ref
    return worst < tol


results = {}  # the reference side's x0 of each case, for the cross-mode check of --pruned


def time_case(name, cfg, sink, recent, blocks, steps=(400, 350, 250), shift=5.0):
    """Side-by-side speed in bf16, as each side runs inference: the reference's whole loop over
    `blocks` blocks after a warm-up call on 2 blocks (mean per block), ours per block from
    `lipar tensor edit-loop` (median of the blocks after the first two)."""
    gen, local, tensors, wfile, infile = prepare(name, cfg, sink, recent, blocks, steps, shift)
    gen = gen.to(torch.bfloat16)
    reference_loop(gen, cfg, tensors, 2, steps, torch.bfloat16)
    ref_x0, seconds = reference_loop(gen, cfg, tensors, blocks, steps, torch.bfloat16)
    ref_ms = 1000.0 * seconds / blocks
    del gen
    torch.cuda.empty_cache()
    for residual in ("f32", "bf16"):
        # ours with the reference's autocast numerics (float32 residual stream), then with
        # Self-Forcing's own bf16 inference numerics (--residual bf16)
        x0, block_ms = lipar_loop(name, cfg, sink, recent, steps, shift, wfile, infile, dtype="bf16",
                                  extra=("--residual", residual))
        r = ref_x0.double()
        rel = ((x0.double() - r).norm() / r.norm()).item()  # both in bf16, so rounding apart
        ours = sorted(block_ms[2:])
        ours_ms = ours[len(ours) // 2] if ours else float("nan")
        print(f"TIME {name}: window sink {sink} + recent {recent} (local_attn_size {local}), {blocks} blocks, "
              f"bf16, dim {cfg['dim']} x {cfg['layers']} layers: reference {ref_ms:.1f} ms per block (mean after "
              f"a warm-up call), ours (--residual {residual}) {ours_ms:.1f} ms (median of blocks 3..{blocks}; all: "
              f"{', '.join(f'{v:.1f}' for v in block_ms)}), ours / reference {ours_ms / ref_ms:.2f}; x0 relative "
              f"difference to the reference's bf16 run {rel:.2e}", flush=True)
    remove_case_files(name)


wan13 = dict(dim=1536, ffn=8960, heads=12, layers=30, text_dim=4096, text_len=512)
if "--time" in sys.argv[4:]:
    time_case("time_paper_window", wan13, sink=1, recent=3, blocks=8)   # 7 frames attended
    time_case("time_window_21", wan13, sink=1, recent=17, blocks=8)     # Self-Forcing's 21 frames
    sys.exit(0)

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
small = dict(dim=512, ffn=1024, heads=4, layers=4, text_dim=256, text_len=512)
ok = True
def clip_latents(pack, clip, frames, width, height):
    """A clip's first `frames` frames (centre-cropped to width x height by ffmpeg) through the
    pack's TAEHV-layout autoencoder (`lipar tensor taehv-encode`): [C, F, h, w]."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", clip, "-frames:v", str(frames), "-vf",
                          f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    x = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(frames, height, width, 3)
    x = x.permute(0, 3, 1, 2).float().div(255.0).unsqueeze(0).contiguous()  # [1, T, 3, H, W]
    save_file({"x": x}, f"{out}/clip_frames.safetensors")
    subprocess.run([lipar, "tensor", "taehv-encode", "--weights", os.path.join(pack, "autoencoder.safetensors"),
                    "--in", f"{out}/clip_frames.safetensors", "--out", f"{out}/clip_latents.safetensors"],
                   capture_output=True, check=True)
    z = load_file(f"{out}/clip_latents.safetensors")["z"][0]  # [K, C, h, w]
    for f in ("frames", "latents"):
        os.remove(f"{out}/clip_{f}.safetensors")
    return z.permute(1, 0, 2, 3).contiguous()


def variant_case(name, cfg, sink, recent, latents, steps=(400, 350, 250), shift=5.0, tol=1e-4,
                 pack=None, prompt=""):
    """Real Wan latents (a clip's consecutive frames, where pruning is meant to work) through the
    C++ loop in lipar mode with LIPAR's own detection; the Python side then runs with the masks
    the C++ side detected (parity on real content), and with the intended differences from the
    LIPAR authors' code: restoration from the previous block's last frame instead of the previous
    frame; the last latent frame of every block forced fully kept (the authors' demo, which makes
    the clean reference that frame's K/V). Prints each one's x0 change against the product."""
    global H, W
    lat = latents if torch.is_tensor(latents) else torch.load(latents, map_location="cpu")
    lat = (lat[0] if lat.dim() == 5 else lat).float()  # [C, F, h, w]
    blocks = lat.size(1) // FPB
    z = lat[:, :blocks * FPB].contiguous()
    H, W = z.size(2), z.size(3)
    gen, local, tensors, wfile, infile = prepare(name, cfg, sink, recent, blocks, steps, shift, z=z,
                                                 trained=pack and os.path.join(pack, "dit.safetensors"))
    state = {k: v.clone() for k, v in gen.state_dict().items()}
    with_pack = ("--pack", pack, "--prompt", prompt) if pack else ()
    got, _ = lipar_loop(name, cfg, sink, recent, steps, shift, wfile, infile, mode="lipar", extra=with_pack)
    tensors.update(lipar_loop.masks)
    if pack:  # the prompt as the pack's text encoder gave it to the C++ side
        tensors["context"] = lipar_loop.context
    kept = sum(int(m.sum()) for m in lipar_loop.masks.values())
    total = sum(m.numel() for m in lipar_loop.masks.values())
    ours, _ = reference_loop(gen, cfg, tensors, blocks, steps, pruned=("lipar", sink, recent))
    def rel(x, y, b):
        return ((x[:, b * FPB:(b + 1) * FPB] - y[:, b * FPB:(b + 1) * FPB]).double().norm()
                / y[:, b * FPB:(b + 1) * FPB].double().norm()).item()
    errs = [rel(got, ours, b) for b in range(blocks)]
    status = "PASS" if max(errs) < tol else "FAIL"
    print(f"{status} edit-loop {name} (lipar, LIPAR's detected masks: {100.0 * kept / total:.1f}% kept, "
          f"{'the pack autoencoder' if pack else 'real Wan'} latents {H}x{W}, {blocks} blocks): x0 relative error per block max {max(errs):.3e} "
          f"[{', '.join(f'{e:.1e}' for e in errs)}] (tol {tol:g})", flush=True)
    def fresh():
        g = make_generator(cfg, sink, local, shift).to(DEV).eval(); g.load_state_dict(state); return g
    dense, _ = reference_loop(fresh(), cfg, tensors, blocks, steps, pruned=("off", sink, recent))

    def report(label, x):
        e = [rel(x, ours, b) for b in range(blocks)]
        d = [rel(x, dense, b) for b in range(blocks)]
        print(f"VARIANT {name}: {label}: x0 relative change against the product per block max {max(e):.3e} "
              f"[{', '.join(f'{v:.1e}' for v in e)}]; distance to off max {max(d):.3e} mean {sum(d) / blocks:.3e}",
              flush=True)
    report(f"the product ({100.0 * kept / total:.1f}% kept)", ours)
    # The authors' streaming mode skips the long-term (tau2) check: the C++ loop with it off.
    no_long, _ = lipar_loop(name, cfg, sink, recent, steps, shift, wfile, infile, mode="lipar",
                            extra=("--tau2", "100", *with_pack))  # above any latent distance: never fires
    kept_no_long = sum(int(m.sum()) for m in lipar_loop.masks.values())
    report(f"no long-term check (authors' streaming mode; {100.0 * kept_no_long / total:.1f}% kept)", no_long)
    # The authors' streaming filters as a whole (restarts per block, look-ahead median and
    # dilation inside the block, no long-term check): the C++ loop with --detection authors-stream.
    authors, _ = lipar_loop(name, cfg, sink, recent, steps, shift, wfile, infile, mode="lipar",
                            extra=("--detection", "authors-stream", *with_pack))
    kept_authors = sum(int(m.sum()) for m in lipar_loop.masks.values())
    report(f"the authors' streaming filters ({100.0 * kept_authors / total:.1f}% kept)", authors)
    causal, _ = lipar_loop(name, cfg, sink, recent, steps, shift, wfile, infile, mode="lipar",
                           extra=("--detection", "causal", *with_pack))
    kept_causal = sum(int(m.sum()) for m in lipar_loop.masks.values())
    report(f"strictly causal filters (the product's before look-ahead; {100.0 * kept_causal / total:.1f}% kept)", causal)
    prev_block, _ = reference_loop(fresh(), cfg, tensors, blocks, steps,
                                   pruned=("lipar", sink, recent, "previous_block"))
    report("restoration from the previous block's last frame (authors' later code)", prev_block)
    forced = dict(tensors)
    extra = 0
    for b in range(blocks):
        m = tensors[f"keep_b{b}"].clone(); extra += int((~m[-1]).sum()); m[-1] = True; forced[f"keep_b{b}"] = m
    last_kept, _ = reference_loop(fresh(), cfg, forced, blocks, steps, pruned=("lipar", sink, recent))
    report(f"last frame of each block fully kept (authors' demo; +{100.0 * extra / total:.1f} points of kept tokens)",
           last_kept)
    remove_case_files(name)
    return max(errs) < tol


if "--variants" in sys.argv[4:]:
    tiny = dict(dim=256, ffn=512, heads=2, layers=2, text_dim=64, text_len=512)
    here = os.path.dirname(os.path.abspath(__file__))
    pack = next((a.split("=", 1)[1] for a in sys.argv[4:] if a.startswith("--pack=")), None)
    if pack:
        # Trained weights: the pack's DiT, its text encoder's prompt and its autoencoder's latents of
        # a real clip, at its own schedule and window (the Nano pack: 320x192, steps 60, 20, m = [1, 6]).
        manifest = json.load(open(os.path.join(pack, "manifest.json")))
        clip = next((a.split("=", 1)[1] for a in sys.argv[4:] if a.startswith("--clip=")), None)
        prompt = next((a.split("=", 1)[1] for a in sys.argv[4:] if a.startswith("--prompt=")), "watercolor")
        if not clip:
            raise SystemExit("--pack needs --clip=PATH (a real clip the pack was not trained on)")
        nano = dict(dim=256, ffn=768, heads=4, layers=4, text_dim=128, text_len=manifest["text"]["text_len"])
        res = manifest["resolution"]
        z = clip_latents(pack, clip, 4 * 5 * FPB - 3, res["width"], res["height"])  # 5 blocks
        sink = manifest["attention"]["sink"]
        recent = manifest["attention"]["recent"] - FPB  # the paper's m counts the current block
        ok = variant_case("variants_trained", nano, sink=sink, recent=recent, latents=z,
                          steps=tuple(manifest["schedule"]["steps"]), shift=manifest["schedule"]["shift"],
                          pack=pack, prompt=prompt)
        sys.exit(0 if ok else 1)
    latents = next((a.split("=", 1)[1] for a in sys.argv[4:] if a.startswith("--latents=")),
                   os.path.join(here, "..", "..", "..", "shared", "models", "test_latents_wan.pth"))
    if not os.path.exists(latents):
        raise SystemExit(f"no real latents at {latents} (--latents=PATH)")
    sys.exit(0 if variant_case("variants_real_latents", tiny, sink=1, recent=3, latents=latents) else 1)

if "--pruned" in sys.argv[4:]:
    tiny = dict(dim=256, ffn=512, heads=2, layers=2, text_dim=64, text_len=512)
    # the Python side written out in off mode first: it must equal the C++ off loop like the
    # reference model itself does
    ok &= run_case("written_out_off", tiny, sink=1, recent=3, blocks=9, mode="off")
    ok &= run_case("naive_paper_window", tiny, sink=1, recent=3, blocks=9, mode="naive")
    ok &= run_case("lipar_paper_window", tiny, sink=1, recent=3, blocks=9, mode="lipar")
    ok &= run_case("lipar_window_21", tiny, sink=1, recent=17, blocks=9, mode="lipar")
    # The masks must matter: same weights, noise and masks, so the modes' x0 differ only by what
    # pruning and recovery change; a run in which they agree would not have tested them.
    for a, b in (("written_out_off", "naive_paper_window"), ("written_out_off", "lipar_paper_window"),
                 ("naive_paper_window", "lipar_paper_window")):
        d = ((results[a] - results[b]).double().norm() / results[b].double().norm()).item()
        differ = d > 1e-3
        ok &= differ
        print(f"{'PASS' if differ else 'FAIL'} modes differ: {a} vs {b}: x0 relative difference {d:.3e} (must exceed 1e-3)", flush=True)
    sys.exit(0 if ok else 1)
ok &= run_case("paper_window", small, sink=1, recent=3, blocks=9)        # m = [1, 6]: 7 frames attended
ok &= run_case("editor_default", small, sink=1, recent=6, blocks=9)      # 10 frames attended
ok &= run_case("window_21", small, sink=1, recent=17, blocks=9)          # Self-Forcing's 21 frames
if not quick:
    ok &= run_case("wan13b_paper_window", wan13, sink=1, recent=3, blocks=6)
sys.exit(0 if ok else 1)
