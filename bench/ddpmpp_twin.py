#!/usr/bin/python3
"""The PyTorch (Python) twin of genphys's `ddpmpp-small` preset, written the way the PFGM++/EDM
reference code works: EDM's SongUNet in DDPM++ configuration, EDM preconditioning, the PFGM++
(D = 128) loss with Adam and an EMA, and the float64 Heun sampler on the EDM schedule.

It is the yardstick for bench/run_bench.py and the other half of the equivalence test
(tests/engine/test_engine_twin.cpp): both sides read the same weight file (format in
read_tensors/write_tensors), so the same weights must give the same outputs.

    ddpmpp_twin.py count                          parameters and forward FLOPs per image
    ddpmpp_twin.py forward IN OUT                 IN holds the weights plus 'x' and 'sigma'
    ddpmpp_twin.py heun IN OUT --nfe K            IN holds the weights plus 'x' (prior draws)
    ddpmpp_twin.py serve                          timing server for bench/run_bench.py
"""
import argparse
import contextlib
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# ---- tensor files: "GPTF", uint32 count, then per tensor: uint32 name length, name (UTF-8),
# ---- uint32 rank, int64 sizes[rank], float32 data (little-endian, row-major).
MAGIC = b"GPTF"


def write_tensors(path, tensors):
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(tensors)))
        for name, t in tensors.items():
            raw = name.encode()
            t = t.detach().to(torch.float32).contiguous().cpu()
            f.write(struct.pack("<I", len(raw)) + raw + struct.pack("<I", t.dim()))
            f.write(struct.pack(f"<{t.dim()}q", *t.shape))
            f.write(t.numpy().astype("<f4").tobytes())


def read_tensors(path):
    out = {}
    with open(path, "rb") as f:
        if f.read(4) != MAGIC:
            raise ValueError(f"{path}: not a tensor file")
        (count,) = struct.unpack("<I", f.read(4))
        for _ in range(count):
            (n,) = struct.unpack("<I", f.read(4))
            name = f.read(n).decode()
            (rank,) = struct.unpack("<I", f.read(4))
            shape = struct.unpack(f"<{rank}q", f.read(8 * rank))
            numel = int(np.prod(shape)) if rank else 1
            data = np.frombuffer(f.read(4 * numel), dtype="<f4").reshape(shape)
            out[name] = torch.from_numpy(data.copy())
    return out


# ---- the network: EDM's SongUNet, DDPM++ configuration ---------------------------------------

def xavier(shape, fan_in, fan_out, gain=1.0):
    return math.sqrt(6 / (fan_in + fan_out)) * (torch.rand(*shape) * 2 - 1) * gain


class Linear(torch.nn.Module):
    def __init__(self, cin, cout, gain=1.0):
        super().__init__()
        self.weight = torch.nn.Parameter(xavier([cout, cin], cin, cout, gain))
        self.bias = torch.nn.Parameter(torch.zeros(cout))

    def forward(self, x):
        return x @ self.weight.t() + self.bias


class Conv2d(torch.nn.Module):
    """Optional 2x resampling with the [1,1] filter as EDM does it (a grouped stride-2 (transposed)
    convolution), then an optional k x k convolution."""

    def __init__(self, cin, cout, kernel, up=False, down=False, gain=1.0):
        super().__init__()
        self.cin, self.up, self.down = cin, up, down
        fan_in, fan_out = cin * kernel * kernel, cout * kernel * kernel
        self.weight = torch.nn.Parameter(xavier([cout, cin, kernel, kernel], fan_in, fan_out, gain)) if kernel else None
        self.bias = torch.nn.Parameter(torch.zeros(cout)) if kernel else None
        f = torch.tensor([1.0, 1.0])
        self.register_buffer("resample_filter", (f.ger(f) / f.sum().square())[None, None] if up or down else None)

    def forward(self, x):
        f = self.resample_filter
        if self.up:
            x = F.conv_transpose2d(x, f.mul(4).tile([self.cin, 1, 1, 1]), groups=self.cin, stride=2)
        if self.down:
            x = F.conv2d(x, f.tile([self.cin, 1, 1, 1]), groups=self.cin, stride=2)
        if self.weight is not None:
            x = F.conv2d(x, self.weight, padding=self.weight.shape[-1] // 2) + self.bias.reshape(1, -1, 1, 1)
        return x


class GroupNorm(torch.nn.Module):
    def __init__(self, channels, eps=1e-6):
        super().__init__()
        self.groups, self.eps = min(32, channels // 4), eps
        self.weight = torch.nn.Parameter(torch.ones(channels))
        self.bias = torch.nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return F.group_norm(x, self.groups, self.weight, self.bias, self.eps)


class UNetBlock(torch.nn.Module):
    """DDPM++ residual block: additive embedding, one attention head, resampling projection."""

    def __init__(self, cin, cout, emb, up=False, down=False, attention=False, dropout=0.1):
        super().__init__()
        self.cin, self.attention, self.dropout = cin, attention, dropout
        self.norm0 = GroupNorm(cin)
        self.conv0 = Conv2d(cin, cout, 3, up=up, down=down)
        self.affine = Linear(emb, cout)
        self.norm1 = GroupNorm(cout)
        self.conv1 = Conv2d(cout, cout, 3, gain=1e-5)
        self.skip = Conv2d(cin, cout, 1, up=up, down=down) if cin != cout or up or down else None
        if attention:
            self.norm2 = GroupNorm(cout)
            self.qkv = Conv2d(cout, 3 * cout, 1, gain=math.sqrt(0.2))
            self.proj = Conv2d(cout, cout, 1, gain=1e-5)

    def forward(self, x, emb):
        orig = x
        x = self.conv0(F.silu(self.norm0(x)))
        x = F.silu(self.norm1(x + self.affine(emb)[:, :, None, None]))
        x = self.conv1(F.dropout(x, p=self.dropout, training=self.training))
        x = (x + (self.skip(orig) if self.skip is not None else orig)) * math.sqrt(0.5)
        if self.attention:
            B, C, H, W = x.shape
            q, k, v = self.qkv(self.norm2(x)).reshape(B, C, 3, H * W).unbind(2)
            w = torch.einsum("ncq,nck->nqk", q, k / math.sqrt(C)).softmax(dim=2)
            a = torch.einsum("nqk,nck->ncq", w, v)
            x = (self.proj(a.reshape(B, C, H, W)) + x) * math.sqrt(0.5)
        return x


class SongUNet(torch.nn.Module):
    def __init__(self, res=28, channels=1, mc=32, mult=(1, 2, 2), blocks=2, attn=(7,), dropout=0.1):
        super().__init__()
        self.mc, emb = mc, 4 * mc
        self.map_layer0 = Linear(mc, emb)
        self.map_layer1 = Linear(emb, emb)
        kw = dict(emb=emb, dropout=dropout)
        self.enc = torch.nn.ModuleDict()
        cout = channels
        for level, m in enumerate(mult):
            r = res >> level
            if level == 0:
                self.enc[f"{r}x{r}_conv"] = Conv2d(cout, mc, 3)
                cout = mc
            else:
                self.enc[f"{r}x{r}_down"] = UNetBlock(cout, cout, down=True, **kw)
            for i in range(blocks):
                cin, cout = cout, mc * m
                self.enc[f"{r}x{r}_block{i}"] = UNetBlock(cin, cout, attention=r in attn, **kw)
        skips = [b.conv0.weight.shape[0] if isinstance(b, UNetBlock) else mc for b in self.enc.values()]
        self.dec = torch.nn.ModuleDict()
        for level, m in reversed(list(enumerate(mult))):
            r = res >> level
            if level == len(mult) - 1:
                self.dec[f"{r}x{r}_in0"] = UNetBlock(cout, cout, attention=True, **kw)
                self.dec[f"{r}x{r}_in1"] = UNetBlock(cout, cout, **kw)
            else:
                self.dec[f"{r}x{r}_up"] = UNetBlock(cout, cout, up=True, **kw)
            for i in range(blocks + 1):
                cin, cout = cout + skips.pop(), mc * m
                self.dec[f"{r}x{r}_block{i}"] = UNetBlock(cin, cout, attention=i == blocks and r in attn, **kw)
        self.dec[f"{res}x{res}_aux_norm"] = GroupNorm(cout)
        self.dec[f"{res}x{res}_aux_conv"] = Conv2d(cout, channels, 3, gain=1e-5)

    def forward(self, x, c_noise):
        half = self.mc // 2
        freqs = (1 / 10000) ** (torch.arange(half, dtype=torch.float32) / (half - 1))
        e = c_noise.ger(freqs)
        emb = torch.cat([e.sin(), e.cos()], dim=1)  # EDM swaps cos/sin for DDPM++
        emb = F.silu(self.map_layer1(F.silu(self.map_layer0(emb))))
        skips = []
        for block in self.enc.values():
            x = block(x, emb) if isinstance(block, UNetBlock) else block(x)
            skips.append(x)
        tmp = None
        for name, block in self.dec.items():
            if name.endswith("aux_norm"):
                tmp = block(x)
            elif name.endswith("aux_conv"):
                x = block(F.silu(tmp))
            else:
                if x.shape[1] != block.cin:
                    x = torch.cat([x, skips.pop()], dim=1)
                x = block(x, emb)
        return x


class EDMPrecond(torch.nn.Module):
    def __init__(self, model, sigma_data=0.5):
        super().__init__()
        self.model, self.sigma_data = model, sigma_data

    def forward(self, x, sigma):
        x = x.to(torch.float32)
        sigma = sigma.to(torch.float32).reshape(-1, 1, 1, 1)
        sd = self.sigma_data
        c_skip = sd**2 / (sigma**2 + sd**2)
        c_out = sigma * sd / (sigma**2 + sd**2).sqrt()
        c_in = 1 / (sd**2 + sigma**2).sqrt()
        c_noise = sigma.log() / 4
        F_x = self.model(c_in * x, c_noise.flatten())
        return c_skip * x + c_out * F_x


# ---- PFGM++ training step and the Heun sampler (as the reference code does them) ---------------

def pfgmpp_loss(net, y, D=128, P_mean=-1.2, P_std=1.2, sigma_data=0.5):
    B = y.shape[0]
    N = y[0].numel()
    sigma = (torch.randn([B, 1, 1, 1]) * P_std + P_mean).exp()
    weight = (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2
    r = sigma.double() * np.sqrt(D)
    beta = np.clip(np.random.beta(a=N / 2.0, b=D / 2.0, size=B), 1e-3, 1 - 1e-3)
    inverse_beta = torch.from_numpy(beta / (1 - beta + 1e-8)).double()
    radius = (r.flatten() * torch.sqrt(inverse_beta + 1e-8)).view(B, -1)
    g = torch.randn(B, N)
    n = (g / g.norm(p=2, dim=1, keepdim=True) * radius).float().view_as(y)
    D_yn = net(y + n, sigma)
    return weight * (D_yn - y) ** 2


class Trainer:
    def __init__(self, net, lr=1e-3, ema_beta=0.999):
        self.net, self.ema_beta = net, ema_beta
        self.ema = [p.detach().clone() for p in net.parameters()]
        self.opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)

    def step(self, y):
        self.net.train()
        self.opt.zero_grad(set_to_none=True)
        loss = pfgmpp_loss(self.net, y)
        loss.sum().mul(1 / y.shape[0]).backward()
        for p in self.net.parameters():
            if p.grad is not None:
                torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
        self.opt.step()
        with torch.no_grad():
            for e, p in zip(self.ema, self.net.parameters()):
                e.copy_(p.detach().lerp(e, self.ema_beta))
        return float(loss.mean())


def edm_sigma_steps(nfe, sigma_min=0.002, sigma_max=80.0, rho=7.0):
    n = (nfe + 1) // 2
    i = torch.arange(n, dtype=torch.float64)
    t = (sigma_max ** (1 / rho) + i / (n - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return torch.cat([t, torch.zeros(1, dtype=torch.float64)])


@torch.no_grad()
def heun_sample(net, x_prior, nfe=35):
    net.eval()
    t_steps = edm_sigma_steps(nfe)
    x_next = x_prior.to(torch.float64)
    for i, (t_cur, t_next) in enumerate(zip(t_steps[:-1], t_steps[1:])):
        x_cur = x_next
        denoised = net(x_cur, t_cur.expand(x_cur.shape[0])).to(torch.float64)
        d_cur = (x_cur - denoised) / t_cur
        x_next = x_cur + (t_next - t_cur) * d_cur
        if i < len(t_steps) - 2:
            denoised = net(x_next, t_next.expand(x_cur.shape[0])).to(torch.float64)
            d_prime = (x_next - denoised) / t_next
            x_next = x_cur + (t_next - t_cur) * (0.5 * d_cur + 0.5 * d_prime)
    return x_next


def pfgmpp_prior(n, shape=(1, 28, 28), D=128, sigma_max=80.0):
    N = int(np.prod(shape))
    beta = np.clip(np.random.beta(a=N / 2.0, b=D / 2.0, size=n), 1e-3, 1 - 1e-3)
    radius = torch.from_numpy(sigma_max * np.sqrt(D) * np.sqrt(beta / (1 - beta + 1e-8)))
    g = torch.randn(n, N, dtype=torch.float64)
    return (g / g.norm(dim=1, keepdim=True) * radius[:, None]).reshape(n, *shape)


def make_net(dropout=0.1):
    return EDMPrecond(SongUNet(dropout=dropout))


def load_weights(net, tensors):
    state = {"model." + k: v for k, v in tensors.items() if k not in ("x", "sigma")}
    missing = [k for k in net.state_dict() if k not in state and not k.endswith("resample_filter")]
    if missing:
        raise ValueError(f"weight file lacks {missing[:3]}")
    net.load_state_dict(state, strict=False)


# ---- FLOPs of one forward pass per image (multiply-adds count 2) -------------------------------

def count_flops(net, res=28):
    flops = 0

    def conv_hook(mod, inp, out):
        nonlocal flops
        if mod.weight is not None:
            k = mod.weight.shape
            flops += 2 * out[0].numel() * k[1] * k[2] * k[3]

    def lin_hook(mod, inp, out):
        nonlocal flops
        flops += 2 * out[0].numel() * mod.weight.shape[1]

    def block_hook(mod, inp, out):
        nonlocal flops
        if mod.attention:  # q^T k and w v: two (HW x HW x C) products
            C, HW = out.shape[1], out.shape[2] * out.shape[3]
            flops += 2 * 2 * HW * HW * C

    hooks = []
    for m in net.modules():
        if isinstance(m, Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, Linear):
            hooks.append(m.register_forward_hook(lin_hook))
        elif isinstance(m, UNetBlock):
            hooks.append(m.register_forward_hook(block_hook))
    with torch.no_grad():
        net.eval()
        net(torch.zeros(1, 1, res, res), torch.ones(1))
    for h in hooks:
        h.remove()
    return flops


# ---- timing server: one JSON request per line on stdin, one JSON answer per line on stdout ----

def serve():
    torch.manual_seed(0)
    np.random.seed(0)
    net = make_net()
    trainer = Trainer(net)
    data = torch.rand(4096, 1, 28, 28) * 2 - 1
    step = 0
    print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        what, B = req["what"], int(req.get("batch", 128))
        repeat = int(req.get("repeat", 1))
        if repeat < 1:
            raise ValueError("repeat must be >= 1")
        t0 = time.perf_counter()
        if what == "train":
            y = data[(torch.arange(B) + step * B) % data.shape[0]]
            step += 1
            t0 = time.perf_counter()
            trainer.step(y)
        elif what == "forward":
            x = torch.randn(B, 1, 28, 28)
            s = torch.full([B], 0.5)
            net.eval()
            with torch.no_grad():
                net(x, s)  # untimed, then the mean of `repeat` passes (as ddpmpp_bench does)
                t0 = time.perf_counter()
                for _ in range(repeat):
                    net(x, s)
        elif what == "sample":
            # The reference generate.py samples in batches of 64 (its --batch default).
            x = pfgmpp_prior(B)
            # bf16: the network under CPU autocast, as genphys's --bf16 runs it (Heun state float64).
            precision = torch.autocast("cpu", dtype=torch.bfloat16) if req.get("bf16") else contextlib.nullcontext()
            t0 = time.perf_counter()
            with precision:
                for part in x.split(int(req.get("twin_batch", 64))):
                    heun_sample(net, part, int(req.get("nfe", 35)))
        elif what == "radii":
            n, N, D = B, int(req.get("dim", 3072)), 128.0
            t0 = time.perf_counter()
            beta = np.clip(np.random.beta(a=N / 2.0, b=D / 2.0, size=n), 1e-3, 1 - 1e-3)
            np.sqrt(D) * np.sqrt(beta / (1 - beta + 1e-8))
        elif what == "field":
            n, m, dim, t = int(req["data"]), B, int(req.get("dim", 784)), 1.0
            ys = torch.rand(n, dim, dtype=torch.float64)
            x = torch.randn(m, dim, dtype=torch.float64)
            t0 = time.perf_counter()
            # PFGM++ D = 128 exact field: weights from log q = -(N + D)/2 log(r^2 + r_D^2)
            r2 = torch.cdist(x, ys).square()
            logw = -(dim + 128) / 2 * torch.log(r2 + 128 * t * t)
            w = torch.softmax(logw, dim=1)
            (x - w @ ys) / t
        elif what == "conv":
            x = torch.randn(B, 64, 28, 28).contiguous(memory_format=torch.channels_last)
            w = torch.randn(64, 64, 3, 3).contiguous(memory_format=torch.channels_last)
            with torch.no_grad():
                F.conv2d(x, w, torch.zeros(64), padding=1)
                t0 = time.perf_counter()
                for _ in range(repeat):
                    F.conv2d(x, w, torch.zeros(64), padding=1)
        elif what == "matmul":
            dtype = torch.float64 if req.get("double") else torch.float32
            a, b = torch.randn(B, B, dtype=dtype), torch.randn(B, B, dtype=dtype)
            t0 = time.perf_counter()
            torch.mm(a, b)
        elif what == "quit":
            break
        else:
            raise ValueError(f"unknown request {what}")
        seconds = time.perf_counter() - t0
        if what in ("forward", "conv"):
            seconds /= repeat
        print(json.dumps({"what": what, "seconds": seconds}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["count", "forward", "heun", "serve"])
    p.add_argument("inputs", nargs="?")
    p.add_argument("output", nargs="?")
    p.add_argument("--nfe", type=int, default=35)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.mode == "count":
        net = make_net()
        n = sum(p.numel() for p in net.parameters())
        print(json.dumps({"parameters": n, "forward_flops_per_image": count_flops(net.model)}))
    elif a.mode == "serve":
        serve()
    else:
        if not a.inputs or not a.output:
            p.error(f"{a.mode} needs IN and OUT")
        tensors = read_tensors(a.inputs)
        net = make_net()
        load_weights(net, tensors)
        net.eval()
        with torch.no_grad():
            if a.mode == "forward":
                out = net(tensors["x"], tensors["sigma"])
            else:
                out = heun_sample(net, tensors["x"].double(), a.nfe)
        write_tensors(a.output, {"out": out})


if __name__ == "__main__":
    main()
