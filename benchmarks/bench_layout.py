"""Training-step time of the project's 2-D networks in both memory layouts.

Usage:
    python benchmarks/bench_layout.py [--steps 100] [--out benchmarks/results/layout.md]

The networks store their weights channels-last (:func:`gansemble_lib.core.numerics.channels_last`);
this benchmark times one optimiser step of each at the laptop profile's sizes (params.yaml),
with the weights in PyTorch's default order and in channels-last order, on one thread and on
the numerical path of this process (pinned unless ``GANSEMBLE_NUMERICS=native``). Run it with
nothing else on the machine: the ratio is what matters, the absolute times depend on the CPU.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import gansemble_lib  # noqa: F401  (pins the numerical path before torch loads)


def _networks(params):
    import torch
    import torch.nn.functional as F

    from gansemble_lib.evaluation.classifiers import LeNet, SmallResNet
    from gansemble_lib.generators.cgan_models import MpcganDiscriminator, MpcganGenerator
    from gansemble_lib.generators.gan_training import ACGAN_RECIPE, GanSetup, acgan_step
    from gansemble_lib.generators.vae import ConvVae

    cg, size = params["cgan"], params["prepare"].image_size
    shape = (params["prepare"].channels, size, size)
    n_classes = 10

    def gan():
        g = MpcganGenerator(image_shape=shape, n_classes=n_classes, z_dim=cg.z_dim,
                            width=cg.width, embedding=cg.label_embedding)
        d = MpcganDiscriminator(image_shape=shape, n_classes=n_classes, width=cg.width,
                                embedding=cg.label_embedding, dropout=cg.dropout,
                                auxiliary=True)
        return [g, d]

    def gan_step(models, layout):
        g, d = models
        setup = GanSetup(generator=g, discriminator=d,
                         opt_g=torch.optim.Adam(g.parameters(), lr=cg.lr_g),
                         opt_d=torch.optim.Adam(d.parameters(), lr=cg.lr_d),
                         recipe=ACGAN_RECIPE, z_dim=cg.z_dim, n_classes=n_classes)
        x = torch.rand(350, *shape) * 2 - 1
        y = torch.arange(350) % n_classes
        rng = torch.Generator().manual_seed(0)
        return lambda: acgan_step(setup, x, y, cg.batch_size, rng)

    def classifier(make, batch, side):
        def step(models, layout):
            (model,) = models
            opt = torch.optim.Adam(model.parameters(), 2e-3)
            x = torch.rand(batch, shape[0], side, side).contiguous(memory_format=layout)
            y = torch.arange(batch) % n_classes

            def one():
                opt.zero_grad()
                F.cross_entropy(model(x), y).backward()
                opt.step()
            return one
        return (lambda: [make()]), step

    def vae_step(models, layout):
        (model,) = models
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        x = torch.rand(params["vae"].batch_size, *shape)

        def one():
            opt.zero_grad()
            mu, _ = model.encode(x)
            model.decode(mu).square().mean().backward()
            opt.step()
        return one

    side = params["downstream"].classifier_size
    yield "MPcGAN + AC head (G and D)", gan, gan_step
    yield ("LeNet (chooser, filter, downstream)",
           *classifier(lambda: LeNet(in_channels=shape[0], n_classes=n_classes, size=side),
                       params["downstream"].batch_size, side))
    yield ("small ResNet (domain extractor)",
           *classifier(lambda: SmallResNet(in_channels=shape[0], n_classes=n_classes),
                       params["fidelity"].domain_batch_size, params["fidelity"].domain_size))
    yield ("class VAE", lambda: [ConvVae(image_shape=shape, latent_dim=params["vae"].latent_dim,
                                         width=params["vae"].width)], vae_step)


def main() -> None:
    import pandas as pd
    import torch

    from gansemble_lib.core import numerics
    from gansemble_lib.core.params_io import load_params

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--out", default="benchmarks/results/layout.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    params = {name: load_params("params.yaml", name)
              for name in ("prepare", "cgan", "vae", "downstream", "fidelity")}
    rows = []
    for name, make, step_of in _networks(params):
        times = {}
        for layout in (torch.contiguous_format, torch.channels_last):
            torch.manual_seed(0)
            models = [m.to(memory_format=layout) for m in make()]
            step = step_of(models, layout)
            for _ in range(10):
                step()
            began = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[layout] = (time.perf_counter() - began) / args.steps * 1000
        rows.append({"network": name, "default order (ms/step)": round(times[
            torch.contiguous_format], 2), "channels-last (ms/step)": round(times[
                torch.channels_last], 2), "speed-up": round(times[torch.contiguous_format]
                                                          / times[torch.channels_last], 2)})
        print(rows[-1], flush=True)
    path = numerics.describe()
    text = (f"One optimiser step per network at the laptop sizes of params.yaml, one thread, "
            f"mean of {args.steps} steps after 10 warm-up steps; numerical path "
            f"`{path['mode']}` (PyTorch CPU capability "
            f"{path.get('torch_cpu_capability')}). Written by `benchmarks/bench_layout.py`.\n\n"
            + pd.DataFrame(rows).to_markdown(index=False) + "\n")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
