"""vaemf's Adam (every fit's optimiser) is torch's Adam, step for step, reads its checkpoints,
and spares a fit torch.optim's import of torch._dynamo."""
import torch

from napari_vaemf.core.optim import Adam


def _params(seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(5, 3, generator=g).requires_grad_(), torch.randn(3, generator=g).requires_grad_()]


def _run(opt_cls, params, steps=25, lr=0.05):
    opt = opt_cls(params, lr=lr)
    for i in range(steps):
        if i == 10:
            opt.param_groups[0]["lr"] = lr / 3  # a schedule changes the rate between steps
        opt.zero_grad(set_to_none=True)
        loss = sum(((p - 0.3) ** 4).sum() + p.sin().sum() for p in params)
        loss.backward()
        opt.step()
    return opt


def test_same_updates_as_torch_adam_and_interchangeable_state():
    ours, ref = _params(0), _params(0)
    a, b = _run(Adam, ours), _run(torch.optim.Adam, ref)
    for p, q in zip(ours, ref):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    # a torch state dict continues in ours exactly as in torch (checkpoints of either kind)
    c = Adam(ours, lr=0.01)
    c.load_state_dict(b.state_dict())
    b.load_state_dict(a.state_dict())
    assert float(c.state[0]["step"]) == 25 and c.param_groups[0]["lr"] == b.param_groups[0]["lr"]


def test_fits_do_not_import_torch_dynamo():
    """torch.optim's optimisers import torch._dynamo when made (1.5-2.3 s per process, paid
    again by every Dask worker): a VAE fit and an exact fit in a fresh process must not."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from napari_vaemf.core.progress import drive\n"
        "from napari_vaemf.core.vae import VAEConfig\n"
        "from napari_vaemf.core.vae.fit import Fit\n"
        "from napari_vaemf.core.exact.config import ExactConfig\n"
        "from napari_vaemf.core.exact.fit import ExactFit\n"
        "x = (np.random.default_rng(0).random((400, 8)) < 0.3).astype(np.int8)\n"
        "drive(Fit(x, 'binary', VAEConfig(latents=1, epochs=1)).train(), bar=False)\n"
        "drive(ExactFit(x, 'binary', ExactConfig(latents=1, epochs=1)).train(), bar=False)\n"
        "assert 'torch' in sys.modules\n"
        "print('torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
